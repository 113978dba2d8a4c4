--
-- asyncjob_gen.sql: a Medplum-shaped schema with a big "AsyncJob" table, to
-- measure medup's reads against realistic volumes.
--
--   psql -f test/medplum.sql DBNAME     (Medplum's tables and jobs, once)
--   psql -v schema=bench_1m -v rows=1000000 -f bench/asyncjob_gen.sql DBNAME
--
-- State: a 4.3.9 server, "DatabaseMigration" version 95, dataVersion 20.
-- 52 data-migration jobs: v1..v20 completed, most after one or two failed
-- or cancelled attempts; v21 failed once and runs again.  The
-- other rows are bulk exports, async batches and reindex jobs (1-3 kB of
-- JSON each).  "AsyncJob_History" holds every version of the data-migration
-- jobs only.  Everything is deterministic: same arguments, same data.
--
\set ON_ERROR_STOP on
\if :{?schema}
\if :{?rows}
\else
\set missing true
\endif
\else
\set missing true
\endif
\if :{?missing}
DO $$ BEGIN RAISE 'usage: psql -v schema=NAME -v rows=N -f bench/asyncjob_gen.sql DBNAME'; END $$;
\endif

SET client_min_messages = warning;
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';

DROP SCHEMA IF EXISTS :"schema" CASCADE;
CREATE SCHEMA :"schema";
SET search_path = :"schema";

-- Medplum's tables as 4.3.9 leaves them (test/medplum.sql, loaded first);
-- keys and indexes come after the load (faster); the result is the same.
CALL medplum_fixture.create_tables(:'schema', '4.3.9', 95, 20, keys => false);

--
-- The data-migration jobs, with every version in the history: "accepted"
-- at requestTime, then the current one, shaped as the release that created
-- each wrote it (medplum_fixture.plan: the release and kind of each).
--
CREATE TEMP TABLE dm_jobs AS
-- v1..v20: one failed attempt, a cancelled one for even v, then the
-- completed one; v21 (a custom migration): one failed attempt, then the
-- running one, which writes nothing until it ends.
WITH attempts AS (
  SELECT p.*, a.n, a.n = last.n AS latest,
         CASE WHEN a.n < last.n AND a.n = 1 THEN 'error'
              WHEN a.n < last.n THEN 'cancelled'
              WHEN p.v = 21 THEN 'accepted' ELSE 'completed' END AS status
  FROM medplum_fixture.plan p,
  LATERAL (SELECT CASE WHEN p.v = 21 THEN 2 ELSE 2 + (p.v % 2 = 0)::int END) last(n),
  LATERAL generate_series(1, last.n) a(n)
  WHERE p.v <= 21),
timed AS (
  SELECT a.*, md5(format('%s/data-migration/v%s/%s', :'schema', v, n))::uuid AS id,
         timestamptz '2025-02-11 21:04:17.318+00' + (v - 1) * interval '11 days 3 hours'
           + (n - 1) * interval '7 hours 12 minutes 9.411 seconds' AS request_time,
         interval '1 second' * (240 + (v * 7919 + n * 104729) % 14000) AS took
  FROM attempts a),
out AS (
  SELECT t.*,
    CASE status
    WHEN 'completed' THEN medplum_fixture.completed_output(v)
    WHEN 'error' THEN CASE kind
      WHEN 'reindex' THEN medplum_fixture.parameters(
        medplum_fixture.reindex_done(steps[1], 41000 * v, 611000),
        medplum_fixture.reindex_failed(release, steps[2], 'canceling statement due to statement timeout'))
      ELSE medplum_fixture.parameters(VARIADIC
        medplum_fixture.custom_failure(release, 'canceling statement due to statement timeout')) END
    END AS output
  FROM timed t),
versions AS (
  SELECT o.*, x.version_status, x.is_current,
         date_trunc('milliseconds', CASE WHEN x.is_current THEN request_time + CASE status
              WHEN 'accepted' THEN took / 2 WHEN 'cancelled' THEN took / 5 ELSE took END
              ELSE request_time END) AS last_updated
  FROM out o, LATERAL (VALUES ('accepted', false), (o.status, true)) x(version_status, is_current))
SELECT id, md5(id || '/' || last_updated)::uuid AS version_id, last_updated, version_status AS status,
       is_current, release,
       medplum_fixture.job_content(release, id, version_status, v, request_time, last_updated,
         CASE WHEN is_current THEN output END,
         CASE WHEN is_current AND status IN ('completed', 'error') THEN last_updated END) AS content
FROM versions;

INSERT INTO "AsyncJob" (id, content, "lastUpdated", "projectId", "__version", compartments, type, status)
SELECT id, content, last_updated, medplum_fixture.system_project(release),
       medplum_fixture.row_format(release), '{}', 'data-migration', status
  FROM dm_jobs WHERE is_current;
INSERT INTO "AsyncJob_History" SELECT id, version_id, content, last_updated FROM dm_jobs;

--
-- Everything else: :rows minus the data-migration jobs, spread from
-- 2023-01-02 to 2025-10-14.  60 % bulk exports, 25 % async batch, 15 %
-- reindex (Medplum's type column is NULL for all of them: it is set only
-- for data migrations; their contents beyond the common keys are not in
-- medup's facts about Medplum); mostly completed, some failed or
-- cancelled, the newest still accepted or active.
--
SELECT greatest(:rows - (SELECT count(*) FROM "AsyncJob"), 0) AS other_rows \gset
-- "OFFSET 0" keeps each step a subquery of its own: its values are computed
-- once per row, not again at every place the next step uses them.
INSERT INTO "AsyncJob" (id, content, "lastUpdated", "projectId", "__version", compartments, type, status)
WITH g AS (
  SELECT i, md5(:'schema' || '/job/' || i)::uuid AS id,
         md5('project/' || i % 40)::uuid AS project_id,
         CASE WHEN i % 20 < 12 THEN NULL WHEN i % 20 < 17 THEN 'batch' ELSE 'reindex' END AS kind,
         CASE WHEN i > :other_rows - 60 AND i % 20 IN (0, 12, 17) THEN 'active'
              WHEN i > :other_rows - 60 AND i % 20 = 5 THEN 'accepted'
              WHEN i % 53 = 7 THEN 'cancelled' WHEN i % 13 = 4 THEN 'error'
              ELSE 'completed' END AS status,
         timestamptz '2023-01-02 00:00+00'
           + interval '1 millisecond' * (i * (88041600000 / (:other_rows + 1))) AS request_time,
         interval '1 millisecond' * (900 + (i * 7919) % 1800000) AS took,
         1 + (i * 31) % 8 AS k
  FROM generate_series(1::bigint, :other_rows) i OFFSET 0),
j AS (
  SELECT g.*, date_trunc('milliseconds', CASE status
           WHEN 'accepted' THEN request_time WHEN 'active' THEN request_time + took / 3
           WHEN 'cancelled' THEN request_time + took / 4 ELSE request_time + took END) AS last_updated,
         (ARRAY['Patient', 'Observation', 'Encounter', 'Condition', 'DiagnosticReport', 'MedicationRequest',
                'Procedure', 'Immunization', 'AllergyIntolerance', 'DocumentReference'])[1:k + 1] AS types,
         md5(id || '/sig') AS sig
  FROM g OFFSET 0),
t AS (
  SELECT j.*,
         to_char(last_updated AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS lu,
         to_char(request_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS rt
  FROM j OFFSET 0)
SELECT id, concat(
  '{"resourceType":"AsyncJob","id":"', id, '","meta":{"versionId":"', md5(id || '/v')::uuid,
  '","lastUpdated":"', lu, '","author":{"reference":"Practitioner/', md5('author/' || i % 300)::uuid,
  '","display":"Bulk Data Client ', i % 300, '"},"project":"', project_id,
  '","compartment":[{"reference":"Project/', project_id, '"}]}',
  ',"status":"', status, '","requestTime":"', rt, '"',
  CASE WHEN status IN ('completed', 'error') THEN concat(',"transactionTime":"', lu, '"') END,
  ',"request":"', CASE
    WHEN kind = 'batch' THEN 'https://fhir.example.org/fhir/R4'
    WHEN kind = 'reindex' THEN 'https://fhir.example.org/admin/super/reindex'
    WHEN i % 3 = 0 THEN concat('https://fhir.example.org/fhir/R4/$export?_type=', array_to_string(types, ','),
      '&_since=', to_char((request_time - interval '30 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
    WHEN i % 3 = 1 THEN 'https://fhir.example.org/fhir/R4/Patient/$export?_outputFormat=application%2Ffhir%2Bndjson'
    ELSE concat('https://fhir.example.org/fhir/R4/Group/', md5('group/' || i % 250)::uuid, '/$export') END,
  '","requestHeaders":{"Prefer":"respond-async","Accept":"application/fhir+json"}',
  CASE
  WHEN status = 'error' THEN concat(',"output":{"resourceType":"Parameters","parameter":[',
    CASE WHEN kind = 'reindex' THEN concat('{"name":"result","part":[{"name":"resourceType","valueCode":"',
      types[1], '"},{"name":"count","valueInteger":', i % 90000,
      '},{"name":"error","valueString":"canceling statement due to statement timeout"}]},') END,
    '{"name":"error","valueString":"', (ARRAY['canceling statement due to statement timeout',
      'terminating connection due to administrator command', 'Connection terminated unexpectedly',
      'could not serialize access due to concurrent update',
      'duplicate key value violates unique constraint \"Observation_pkey\"'])[1 + i % 5], '"}]}')
  WHEN status = 'completed' THEN concat(',"output":{"resourceType":"Parameters","parameter":[',
    (SELECT string_agg(CASE
      WHEN kind IS NULL THEN concat('{"name":"output","part":[{"name":"type","valueCode":"', r,
        '"},{"name":"url","valueUri":"https://storage.example.org/binary/', id, '/', r,
        '.ndjson?Expires=1767225600&Signature=', substr(sig, n::int, 24),
        '"},{"name":"count","valueInteger":', (i * n * 2731) % 500000, '}]}')
      WHEN kind = 'batch' THEN concat('{"name":"entry","part":[{"name":"status","valueString":"201 Created"},{"name":"location","valueUri":"',
        r, '/', id, '/_history/', n, '"},{"name":"lastModified","valueInstant":"', lu, '"}]}')
      ELSE concat('{"name":"result","part":[{"name":"resourceType","valueCode":"', r,
        '"},{"name":"count","valueInteger":', (i * n * 1523) % 2000000,
        '},{"name":"elapsedTime","valueQuantity":{"value":', (i * n * 37) % 3600000, ',"unit":"ms"}}]}')
      END, ',') FROM unnest(types) WITH ORDINALITY u(r, n)),
    ']}')
  WHEN status = 'active' AND kind = 'reindex' THEN concat(
    ',"output":{"resourceType":"Parameters","parameter":[{"name":"result","part":[{"name":"resourceType","valueCode":"',
    types[1], '"},{"name":"count","valueInteger":', i % 90000,
    '},{"name":"nextTimestamp","valueDateTime":"2024-07-30T12:00:41.507Z"}]}]}')
  END,
  '}'),
  last_updated, project_id, medplum_fixture.row_format('4.3.9'), ARRAY[project_id], NULL, status
FROM t;

CALL medplum_fixture.create_job_keys(:'schema');
DROP TABLE dm_jobs;
ANALYZE "DatabaseMigration", "AsyncJob", "AsyncJob_History";

RESET search_path;

-- The last line of output (bench/run.sh reads it): rows|data-migration jobs|size.
SELECT count(*) AS rows,
       count(*) FILTER (WHERE type = 'data-migration') AS data_migration_jobs,
       pg_size_pretty(pg_total_relation_size(format('%I."AsyncJob"', :'schema'))) AS size
FROM :"schema"."AsyncJob";
