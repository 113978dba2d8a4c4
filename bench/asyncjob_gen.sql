--
-- asyncjob_gen.sql: a Medplum-shaped schema with a big "AsyncJob" table, to
-- measure medup's reads against realistic volumes.
--
--   psql -v schema=bench_1m -v rows=1000000 -f bench/asyncjob_gen.sql DBNAME
--
-- State: "DatabaseMigration" version 125, dataVersion 20.  52 data-migration
-- jobs: v1..v20 completed, most after one or two failed or cancelled
-- attempts; v21 failed once and is now active with reindex progress.  The
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

CREATE TABLE "DatabaseMigration" (
  id integer PRIMARY KEY,
  version integer NOT NULL,
  "dataVersion" integer NOT NULL,
  "firstBoot" boolean NOT NULL DEFAULT false
);
INSERT INTO "DatabaseMigration" VALUES (1, 125, 20, false);

-- Keys and indexes come after the load (faster); the result is the same.
CREATE TABLE "AsyncJob" (
  id uuid NOT NULL,
  content text NOT NULL,
  "lastUpdated" timestamptz NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  "projectId" uuid,
  "__version" integer,
  compartments uuid[] NOT NULL,
  type text,
  status text,
  "_source" text,
  "_profile" text[]
);
CREATE TABLE "AsyncJob_History" (
  id uuid,
  "versionId" uuid NOT NULL,
  content text NOT NULL,
  "lastUpdated" timestamptz NOT NULL
);

--
-- The data-migration jobs, with every version in the history: "accepted"
-- at requestTime, then the current one.
--
CREATE TEMP TABLE dm_jobs AS
WITH plan (v, server_version, kind, steps) AS (VALUES
  (1, '3.3.0', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "AsyncJob_type_idx" ON "AsyncJob" ("type")', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "AsyncJob_status_idx" ON "AsyncJob" ("status")']),
  (2, '4.1.0', 'reindex', ARRAY['Patient', 'Practitioner', 'RelatedPerson']),
  (3, '4.1.0', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "Observation___sharedTokens_idx" ON "Observation" USING gin ("__sharedTokens")']),
  (4, '4.1.0', 'sql', ARRAY['ALTER TABLE "Observation" ALTER COLUMN "__sharedTokensText" SET STATISTICS 500', 'ANALYZE "Observation"']),
  (5, '4.1.0', 'reindex', ARRAY['Encounter', 'Condition', 'Procedure']),
  (6, '4.1.1', 'reindex', ARRAY['Task', 'ServiceRequest']),
  (7, '4.1.3', 'sql', ARRAY['DROP INDEX CONCURRENTLY IF EXISTS "Observation_code_idx"']),
  (8, '4.1.8', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "DocumentReference____tag_idx" ON "DocumentReference" USING gin ("___tag")']),
  (9, '4.1.8', 'reindex', ARRAY['DocumentReference', 'Media']),
  (10, '4.1.9', 'sql', ARRAY['VACUUM (ANALYZE) "Observation"', 'VACUUM (ANALYZE) "Observation_History"']),
  (11, '4.1.12', 'reindex', ARRAY['Observation', 'DiagnosticReport', 'Encounter', 'MedicationRequest']),
  (12, '4.1.12', 'reindex', ARRAY['Observation', 'ServiceRequest', 'Task']),
  (13, '4.3.0', 'reindex', ARRAY['Coverage', 'ExplanationOfBenefit']),
  (14, '4.3.0', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "Task___ownerIdentifier_idx" ON "Task" USING gin ("__ownerIdentifier")']),
  (15, '4.3.0', 'sql', ARRAY['ALTER TABLE "Patient" VALIDATE CONSTRAINT "Patient_projectId_not_null"']),
  (16, '4.3.2', 'reindex', ARRAY['Questionnaire', 'QuestionnaireResponse']),
  (17, '4.3.2', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "QuestionnaireResponse_authored_idx" ON "QuestionnaireResponse" ("authored")']),
  (18, '4.3.4', 'reindex', ARRAY['Appointment', 'Slot', 'Schedule']),
  (19, '4.3.6', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "Communication_sent_idx" ON "Communication" ("sent")']),
  (20, '4.3.6', 'reindex', ARRAY['Communication']),
  (21, '4.3.9', 'reindex', ARRAY['Observation', 'DiagnosticReport', 'Encounter', 'AuditEvent'])),
-- v1..v20: one failed attempt, a cancelled one for even v, then the
-- completed one; v21: one failed attempt, then the active one.
attempts AS (
  SELECT p.*, a.n, a.n = last.n AS latest,
         CASE WHEN a.n < last.n AND a.n = 1 THEN 'error'
              WHEN a.n < last.n THEN 'cancelled'
              WHEN p.v = 21 THEN 'active' ELSE 'completed' END AS status
  FROM plan p,
  LATERAL (SELECT CASE WHEN p.v = 21 THEN 2 ELSE 2 + (p.v % 2 = 0)::int END) last(n),
  LATERAL generate_series(1, last.n) a(n)),
timed AS (
  SELECT a.*, md5(format('%s/data-migration/v%s/%s', :'schema', v, n))::uuid AS id,
         timestamptz '2025-02-11 21:04:17.318+00' + (v - 1) * interval '11 days 3 hours'
           + (n - 1) * interval '7 hours 12 minutes 9.411 seconds' AS request_time,
         interval '1 second' * (240 + (v * 7919 + n * 104729) % 14000) AS took
  FROM attempts a),
out AS (
  SELECT t.*,
    CASE status
    WHEN 'completed' THEN (SELECT string_agg(CASE kind
        WHEN 'reindex' THEN '{"name":"result","part":[{"name":"resourceType","valueCode":' || to_json(s)
          || '},{"name":"count","valueInteger":' || ms * (900 + v * 31 % 2500) / 1000
          || '},{"name":"elapsedTime","valueQuantity":{"value":' || ms || ',"unit":"ms"}}]}'
        ELSE '{"name":' || to_json(s) || ',"part":[{"name":"durationMs","valueInteger":' || ms || '}]}'
        END, ',' ORDER BY k)
      FROM unnest(steps) WITH ORDINALITY st(s, k),
      LATERAL (SELECT (extract(epoch FROM took) * 995 / cardinality(steps))::bigint) m(ms))
    WHEN 'error' THEN CASE kind WHEN 'reindex' THEN
        '{"name":"result","part":[{"name":"resourceType","valueCode":' || to_json(steps[1])
        || '},{"name":"count","valueInteger":' || 41000 * v || '},{"name":"error","valueString":"canceling statement due to statement timeout"}]},'
        ELSE '' END || '{"name":"error","valueString":"canceling statement due to statement timeout"}'
    WHEN 'active' THEN
        '{"name":"result","part":[{"name":"resourceType","valueCode":"Observation"},{"name":"count","valueInteger":9421877},{"name":"elapsedTime","valueQuantity":{"value":3601225,"unit":"ms"}}]},'
        '{"name":"result","part":[{"name":"resourceType","valueCode":"DiagnosticReport"},{"name":"count","valueInteger":1880213},{"name":"elapsedTime","valueQuantity":{"value":911734,"unit":"ms"}}]},'
        '{"name":"result","part":[{"name":"resourceType","valueCode":"Encounter"},{"name":"count","valueInteger":1207655},{"name":"elapsedTime","valueQuantity":{"value":587310,"unit":"ms"}}]},'
        '{"name":"result","part":[{"name":"resourceType","valueCode":"AuditEvent"},{"name":"count","valueInteger":5310000},{"name":"nextTimestamp","valueDateTime":"2024-02-17T06:51:28.004Z"}]}'
    END AS params
  FROM timed t),
versions AS (
  SELECT o.*, x.version_status, x.is_current,
         CASE WHEN x.is_current THEN request_time + CASE status WHEN 'active' THEN took / 2
              WHEN 'cancelled' THEN took / 5 ELSE took END
              ELSE request_time END AS last_updated
  FROM out o, LATERAL (VALUES ('accepted', false), (o.status, true)) x(version_status, is_current))
SELECT id, md5(id || '/' || version_status)::uuid AS version_id,
       date_trunc('milliseconds', last_updated) AS last_updated, version_status AS status, is_current,
       '{"resourceType":"AsyncJob","id":"' || id || '","meta":{"versionId":"'
       || md5(id || '/' || version_status)::uuid || '","lastUpdated":"'
       || to_char(last_updated AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
       || '"},"type":"data-migration","status":"' || version_status
       || '","request":"data-migration-v' || v || '","dataVersion":' || v
       || ',"minServerVersion":"' || server_version || '","requestTime":"'
       || to_char(request_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"'
       || CASE WHEN is_current AND status IN ('completed', 'error') THEN ',"transactionTime":"'
            || to_char(last_updated AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"' ELSE '' END
       || CASE WHEN is_current AND params IS NOT NULL
            THEN ',"output":{"resourceType":"Parameters","parameter":[' || params || ']}' ELSE '' END
       || '}' AS content
FROM versions;

INSERT INTO "AsyncJob" (id, content, "lastUpdated", "__version", compartments, type, status)
SELECT id, content, last_updated, 13, '{}', 'data-migration', status FROM dm_jobs WHERE is_current;
INSERT INTO "AsyncJob_History" SELECT id, version_id, content, last_updated FROM dm_jobs;

--
-- Everything else: :rows minus the data-migration jobs, spread from
-- 2023-01-02 to 2025-10-14.  60 % bulk exports (no type), 25 % async batch,
-- 15 % reindex; mostly completed, some failed or cancelled, the newest
-- still accepted or active.
--
SELECT greatest(:rows - (SELECT count(*) FROM "AsyncJob"), 0) AS other_rows \gset
-- "OFFSET 0" keeps each step a subquery of its own: its values are computed
-- once per row, not again at every place the next step uses them.
INSERT INTO "AsyncJob" (id, content, "lastUpdated", "projectId", "__version", compartments, type, status)
WITH g AS (
  SELECT i, md5(:'schema' || '/job/' || i)::uuid AS id,
         md5('project/' || i % 40)::uuid AS project_id,
         CASE WHEN i % 20 < 12 THEN NULL WHEN i % 20 < 17 THEN 'batch' ELSE 'reindex' END AS type,
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
  ',"type":"' || type || '"',
  ',"status":"', status, '","requestTime":"', rt, '"',
  CASE WHEN status IN ('completed', 'error') THEN concat(',"transactionTime":"', lu, '"') END,
  ',"request":"', CASE
    WHEN type = 'batch' THEN 'https://fhir.example.org/fhir/R4'
    WHEN type = 'reindex' THEN 'https://fhir.example.org/admin/super/reindex'
    WHEN i % 3 = 0 THEN concat('https://fhir.example.org/fhir/R4/$export?_type=', array_to_string(types, ','),
      '&_since=', to_char((request_time - interval '30 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
    WHEN i % 3 = 1 THEN 'https://fhir.example.org/fhir/R4/Patient/$export?_outputFormat=application%2Ffhir%2Bndjson'
    ELSE concat('https://fhir.example.org/fhir/R4/Group/', md5('group/' || i % 250)::uuid, '/$export') END,
  '","requestHeaders":{"Prefer":"respond-async","Accept":"application/fhir+json"}',
  CASE
  WHEN status = 'error' THEN concat(',"output":{"resourceType":"Parameters","parameter":[',
    CASE WHEN type = 'reindex' THEN concat('{"name":"result","part":[{"name":"resourceType","valueCode":"',
      types[1], '"},{"name":"count","valueInteger":', i % 90000,
      '},{"name":"error","valueString":"canceling statement due to statement timeout"}]},') END,
    '{"name":"error","valueString":"', (ARRAY['canceling statement due to statement timeout',
      'terminating connection due to administrator command', 'Connection terminated unexpectedly',
      'could not serialize access due to concurrent update',
      'duplicate key value violates unique constraint \"Observation_pkey\"'])[1 + i % 5], '"}]}')
  WHEN status = 'completed' THEN concat(',"output":{"resourceType":"Parameters","parameter":[',
    (SELECT string_agg(CASE
      WHEN type IS NULL THEN concat('{"name":"output","part":[{"name":"type","valueCode":"', r,
        '"},{"name":"url","valueUri":"https://storage.example.org/binary/', id, '/', r,
        '.ndjson?Expires=1767225600&Signature=', substr(sig, n::int, 24),
        '"},{"name":"count","valueInteger":', (i * n * 2731) % 500000, '}]}')
      WHEN type = 'batch' THEN concat('{"name":"entry","part":[{"name":"status","valueString":"201 Created"},{"name":"location","valueUri":"',
        r, '/', id, '/_history/', n, '"},{"name":"lastModified","valueInstant":"', lu, '"}]}')
      ELSE concat('{"name":"result","part":[{"name":"resourceType","valueCode":"', r,
        '"},{"name":"count","valueInteger":', (i * n * 1523) % 2000000,
        '},{"name":"elapsedTime","valueQuantity":{"value":', (i * n * 37) % 3600000, ',"unit":"ms"}}]}')
      END, ',') FROM unnest(types) WITH ORDINALITY u(r, n)),
    ']}')
  WHEN status = 'active' AND type = 'reindex' THEN concat(
    ',"output":{"resourceType":"Parameters","parameter":[{"name":"result","part":[{"name":"resourceType","valueCode":"',
    types[1], '"},{"name":"count","valueInteger":', i % 90000,
    '},{"name":"nextTimestamp","valueDateTime":"2024-07-30T12:00:41.507Z"}]}]}')
  END,
  '}'),
  last_updated, project_id, 13, ARRAY[project_id], type, status
FROM t;

ALTER TABLE "AsyncJob" ADD PRIMARY KEY (id);
ALTER TABLE "AsyncJob_History" ADD PRIMARY KEY ("versionId");
CREATE INDEX "AsyncJob_type_idx" ON "AsyncJob" (type);
CREATE INDEX "AsyncJob_status_idx" ON "AsyncJob" (status);
CREATE INDEX "AsyncJob_lastUpdated_idx" ON "AsyncJob" ("lastUpdated");
DROP TABLE dm_jobs;
ANALYZE "DatabaseMigration", "AsyncJob", "AsyncJob_History";

RESET search_path;

-- The last line of output (bench/run.sh reads it): rows|data-migration jobs|size.
SELECT count(*) AS rows,
       count(*) FILTER (WHERE type = 'data-migration') AS data_migration_jobs,
       pg_size_pretty(pg_total_relation_size(format('%I."AsyncJob"', :'schema'))) AS size
FROM :"schema"."AsyncJob";
