--
-- medplum.sql: Medplum's tables and AsyncJob rows as each release writes
-- them.  The one definition every test layer uses (pg_regress through
-- sql/fixtures.sql, the TAP tests, the demo, the benchmark).
-- Plain SQL, no psql commands, independent of medup: it creates the schema
-- medplum_fixture with the functions below and one table (plan), and
-- nothing else.  It leaves client_min_messages at warning for the session.
--
-- Details not in the facts about Medplum, made up and never read by medup:
-- meta.author's value, the stack text, errSearchRequest's value, the SQL
-- labels of custom migrations' steps, the resource types of reindexes;
-- whether v33 and later are reindex or custom migrations (custom here).
--
-- Eras (what changes between them, from Medplum's source, v3.3.0 to v5.0.10):
--   3.3   3.3.0-4.0.x   "DatabaseMigration" without "firstBoot"; job keys
--                       have requestTime before dataVersion; a failure is
--                       a top-level "error" only
--   4.1   4.1.0-4.2.x   "firstBoot"; failures carry "error" and "stack";
--                       failed reindex types "errSearchRequest" from 4.2.0
--   4.3   4.3.0-4.3.12  "projectId" is the system project
--   4.3.13 4.3.13-4.x   a failure is an OperationOutcome ("outcome")
--   5     5.x
-- "__version" (the row format): 1 up to 4.0.x, 7 in 4.1-4.2, 10 in 4.3, 11
-- in 4.4-5.0.9, 12 from 5.0.10.  Facts do not give it before 4.0.4: 1 is
-- assumed for 3.3.
--
-- Content is JSON.stringify output: compact, keys in Medplum's insertion
-- order, empty values left out.  Build it with obj()/arr()/str() below,
-- which do the same.
--
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS medplum_fixture CASCADE;
CREATE SCHEMA medplum_fixture;

-- A release as an integer array, suffix dropped: '4.1.12-1' -> {4,1,12}.
CREATE FUNCTION medplum_fixture.vnum(release text) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT string_to_array(split_part(ltrim(release, 'v'), '-', 1), '.')::integer[] $$;

CREATE FUNCTION medplum_fixture.era(release text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT CASE WHEN medplum_fixture.vnum(release) < '{3,3,0}' THEN 'pre-3.3'
                  WHEN medplum_fixture.vnum(release) < '{4,1,0}' THEN '3.3'
                  WHEN medplum_fixture.vnum(release) < '{4,3,0}' THEN '4.1'
                  WHEN medplum_fixture.vnum(release) < '{4,3,13}' THEN '4.3'
                  WHEN medplum_fixture.vnum(release) < '{5,0,0}' THEN '4.3.13'
                  ELSE '5' END $$;

-- "AsyncJob"."__version" written by a release.
CREATE FUNCTION medplum_fixture.row_format(release text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT CASE WHEN medplum_fixture.vnum(release) < '{4,1,0}' THEN 1
                  WHEN medplum_fixture.vnum(release) < '{4,3,0}' THEN 7
                  WHEN medplum_fixture.vnum(release) < '{4,4,0}' THEN 10
                  WHEN medplum_fixture.vnum(release) < '{5,0,10}' THEN 11
                  ELSE 12 END $$;

-- "AsyncJob"."projectId" of a system job: NULL before 4.3, then the system project.
CREATE FUNCTION medplum_fixture.system_project(release text) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT CASE WHEN medplum_fixture.vnum(release) >= '{4,3,0}'
                  THEN '65897e4f-7add-55f3-9b17-035b5a4e6d52'::uuid END $$;

-- FHIR instant as Medplum writes it: UTC, milliseconds, 'Z'.
CREATE FUNCTION medplum_fixture.iso(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

-- JSON.stringify pieces.  A NULL value leaves its key out (Medplum removes
-- empty values before writing).
CREATE FUNCTION medplum_fixture.str(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT to_json(t)::text $$;

CREATE FUNCTION medplum_fixture.obj(VARIADIC kv text[]) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT '{' || coalesce(string_agg(to_json(kv[i])::text || ':' || kv[i + 1], ',' ORDER BY i), '') || '}'
        FROM generate_series(1, coalesce(array_length(kv, 1), 0), 2) i
       WHERE kv[i + 1] IS NOT NULL $$;

CREATE FUNCTION medplum_fixture.arr(VARIADIC items text[]) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT '[' || coalesce(array_to_string(items, ','), '') || ']' $$;

--
-- Medplum's tables in schema s, as release left them, with the
-- "DatabaseMigration" row.  "firstBoot" exists from 4.1.0; "AsyncJob"'s
-- type and status columns from 3.2.26.  keys => false leaves out the
-- "AsyncJob" tables' primary keys and indexes, for a bulk load that calls
-- create_job_keys() after it.
--
CREATE PROCEDURE medplum_fixture.create_tables(s text, release text, schema_version integer,
                                               data_version integer, first_boot boolean DEFAULT false,
                                               keys boolean DEFAULT true)
LANGUAGE plpgsql AS $$
DECLARE
  has_first_boot boolean := medplum_fixture.vnum(release) >= '{4,1,0}';
  has_type boolean := medplum_fixture.vnum(release) >= '{3,2,26}';
BEGIN
  EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', s);
  EXECUTE format('CREATE TABLE %I."DatabaseMigration" (
      id integer PRIMARY KEY,
      version integer NOT NULL,
      "dataVersion" integer NOT NULL%s)', s,
    CASE WHEN has_first_boot THEN ', "firstBoot" boolean NOT NULL DEFAULT false' ELSE '' END);
  IF has_first_boot THEN
    EXECUTE format('INSERT INTO %I."DatabaseMigration" VALUES (1, $1, $2, $3)', s)
      USING schema_version, data_version, first_boot;
  ELSE
    EXECUTE format('INSERT INTO %I."DatabaseMigration" VALUES (1, $1, $2)', s)
      USING schema_version, data_version;
  END IF;
  EXECUTE format('CREATE TABLE %I."AsyncJob" (
      id uuid NOT NULL,
      content text NOT NULL,
      "lastUpdated" timestamptz NOT NULL,
      deleted boolean NOT NULL DEFAULT false,
      "projectId" uuid,
      "__version" integer NOT NULL,
      compartments uuid[] NOT NULL%s)', s,
    CASE WHEN has_type THEN ', type text, status text' ELSE '' END);
  EXECUTE format('CREATE TABLE %I."AsyncJob_History" (
      id uuid NOT NULL,
      "versionId" uuid NOT NULL,
      content text NOT NULL,
      "lastUpdated" timestamptz NOT NULL)', s);
  IF keys THEN
    CALL medplum_fixture.create_job_keys(s);
  END IF;
END $$;

CREATE PROCEDURE medplum_fixture.create_job_keys(s text)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %I."AsyncJob" ADD PRIMARY KEY (id)', s);
  EXECUTE format('ALTER TABLE %I."AsyncJob_History" ADD PRIMARY KEY ("versionId")', s);
  EXECUTE format('CREATE INDEX "AsyncJob_lastUpdated_idx" ON %I."AsyncJob" ("lastUpdated")', s);
  IF EXISTS (SELECT FROM pg_attribute WHERE attrelid = format('%I."AsyncJob"', s)::regclass
                AND attname = 'type' AND NOT attisdropped) THEN
    EXECUTE format('CREATE INDEX "AsyncJob_type_idx" ON %I."AsyncJob" (type)', s);
    EXECUTE format('CREATE INDEX "AsyncJob_status_idx" ON %I."AsyncJob" (status)', s);
  END IF;
END $$;

--
-- A resource table "t" with n rows, as Medplum's repository lays one out
-- (id, content, "lastUpdated", deleted, "projectId", "__version",
-- compartments; the search columns are left out), with its history and
-- references tables.  "__version" cycles through versions; every
-- deleted_every-th row is soft-deleted (0: none).  The content is made up
-- (a resource of about row_bytes with no data of anyone), never read by
-- medup: estimates read only PostgreSQL's statistics of these tables.
--
CREATE PROCEDURE medplum_fixture.create_resource_table(s text, t text, n integer,
    versions integer[] DEFAULT '{12}', deleted_every integer DEFAULT 0, row_bytes integer DEFAULT 400)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TABLE %I.%I (
      id uuid PRIMARY KEY,
      content text NOT NULL,
      "lastUpdated" timestamptz NOT NULL,
      deleted boolean NOT NULL DEFAULT false,
      "projectId" uuid,
      "__version" integer NOT NULL,
      compartments uuid[] NOT NULL)', s, t);
  EXECUTE format('CREATE TABLE %I.%I (id uuid NOT NULL, "versionId" uuid PRIMARY KEY, content text NOT NULL,
      "lastUpdated" timestamptz NOT NULL)', s, t || '_History');
  EXECUTE format('CREATE TABLE %I.%I ("resourceId" uuid NOT NULL, "targetId" uuid NOT NULL, code text NOT NULL)',
                 s, t || '_References');
  EXECUTE format($q$
    INSERT INTO %I.%I
    SELECT md5($1 || '/' || i)::uuid,
           format('{"resourceType":%%s,"id":"%%s","text":"%%s"}', to_json($1), md5($1 || '/' || i)::uuid,
                  repeat('x', greatest($5 - 120, 0))),
           timestamptz '2026-01-01 00:00+00' + i * interval '1 second',
           $4 > 0 AND i %% $4 = 0, md5('project/' || i %% 3)::uuid,
           $3[1 + i %% cardinality($3)], '{}'
      FROM generate_series(1, $2) i$q$, s, t)
  USING t, n, versions, deleted_every, row_bytes;
END $$;

--
-- A data-migration job's content as release writes it.  Keys in Medplum's
-- order: resourceType, type, status, request, dataVersion, requestTime
-- (3.3-4.0: requestTime first), minServerVersion, id, meta, then output
-- and transactionTime.  minServerVersion is the creating server's version,
-- suffix stripped.  meta.author's value is not in the facts; medup never
-- reads it.
--
CREATE FUNCTION medplum_fixture.job_content(release text, id uuid, status text, data_version integer,
    request_time timestamptz, last_updated timestamptz, output text DEFAULT NULL,
    transaction_time timestamptz DEFAULT NULL)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
  SELECT CASE WHEN medplum_fixture.era(release) = '3.3' THEN
    medplum_fixture.obj('resourceType', '"AsyncJob"', 'type', '"data-migration"',
      'status', medplum_fixture.str(status), 'request', medplum_fixture.str('data-migration-v' || data_version),
      'requestTime', medplum_fixture.str(medplum_fixture.iso(request_time)), 'dataVersion', data_version::text,
      'minServerVersion', medplum_fixture.str(split_part(release, '-', 1)), 'id', medplum_fixture.str(id::text),
      'meta', meta, 'output', output, 'transactionTime', medplum_fixture.str(medplum_fixture.iso(transaction_time)))
  ELSE
    medplum_fixture.obj('resourceType', '"AsyncJob"', 'type', '"data-migration"',
      'status', medplum_fixture.str(status), 'request', medplum_fixture.str('data-migration-v' || data_version),
      'dataVersion', data_version::text, 'requestTime', medplum_fixture.str(medplum_fixture.iso(request_time)),
      'minServerVersion', medplum_fixture.str(split_part(release, '-', 1)), 'id', medplum_fixture.str(id::text),
      'meta', meta, 'output', output, 'transactionTime', medplum_fixture.str(medplum_fixture.iso(transaction_time)))
  END
  FROM (SELECT medplum_fixture.obj('versionId', medplum_fixture.str(md5(id || '/' || last_updated)::uuid::text),
                                   'lastUpdated', medplum_fixture.str(medplum_fixture.iso(last_updated)),
                                   'author', '{"reference":"system"}') AS meta) m
$$;

--
-- Write one version of a data-migration job: the current row (inserted or
-- rewritten, as Medplum's repository does) and its copy in the history.
-- The job's creating release decides the row's shape.  A NULL request_time
-- keeps the job's own (a rewrite never changes it), or is now() for a new job.
--
CREATE PROCEDURE medplum_fixture.write_job(s text, release text, id uuid, data_version integer,
    status text, request_time timestamptz, last_updated timestamptz, output text DEFAULT NULL,
    transaction_time timestamptz DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
  content text;
  has_type boolean := EXISTS (SELECT FROM pg_attribute
                               WHERE attrelid = format('%I."AsyncJob"', s)::regclass
                                 AND attname = 'type' AND NOT attisdropped);
BEGIN
  IF request_time IS NULL THEN
    EXECUTE format('SELECT (content::jsonb->>''requestTime'')::timestamptz FROM %I."AsyncJob" WHERE id = $1', s)
      INTO request_time USING id;
    request_time := coalesce(request_time, now());
  END IF;
  content := medplum_fixture.job_content(release, id, status, data_version, request_time,
                                         last_updated, output, transaction_time);
  EXECUTE format('INSERT INTO %I."AsyncJob" (id, content, "lastUpdated", "projectId", "__version", compartments%s)
                  VALUES ($1, $2, $3, $4, $5, ''{}''%s)
                  ON CONFLICT (id) DO UPDATE SET content = EXCLUDED.content, "lastUpdated" = EXCLUDED."lastUpdated"%s',
                 s, CASE WHEN has_type THEN ', type, status' ELSE '' END,
                 CASE WHEN has_type THEN ', ''data-migration'', $6' ELSE '' END,
                 CASE WHEN has_type THEN ', status = EXCLUDED.status' ELSE '' END)
    USING id, content, last_updated, medplum_fixture.system_project(release),
          medplum_fixture.row_format(release), status;
  EXECUTE format('INSERT INTO %I."AsyncJob_History" VALUES ($1, $2, $3, $4)', s)
    USING id, md5(id || '/' || last_updated)::uuid, content, last_updated;
END $$;

-- A data-migration job as created: its first version, 'accepted', written
-- at request_time.  attempt: the migration's first job (1), its second...
CREATE PROCEDURE medplum_fixture.start_job(s text, release text, data_version integer,
    request_time timestamptz, attempt integer DEFAULT 1)
LANGUAGE plpgsql AS $$
BEGIN
  CALL medplum_fixture.write_job(s, release, medplum_fixture.job_id(s, data_version, attempt), data_version,
                                 'accepted', request_time, request_time);
END $$;

-- Medplum completes job id, of migration data_version: "DatabaseMigration"
-- raised to it, then the job written completed at completed_at with
-- completed_output()'s output.  A NULL request_time keeps the job's own.
CREATE PROCEDURE medplum_fixture.complete_job(s text, release text, id uuid, data_version integer,
    request_time timestamptz, completed_at timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('UPDATE %I."DatabaseMigration" SET "dataVersion" = $1', s) USING data_version;
  CALL medplum_fixture.write_job(s, release, id, data_version, 'completed', request_time, completed_at,
                                 medplum_fixture.completed_output(data_version), completed_at);
END $$;

--
-- output (a FHIR Parameters resource) and its entries.
--
CREATE FUNCTION medplum_fixture.parameters(VARIADIC entries text[]) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT medplum_fixture.obj('resourceType', '"Parameters"', 'parameter', medplum_fixture.arr(VARIADIC entries)) $$;

CREATE FUNCTION medplum_fixture.part(name text, value_key text, value text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT medplum_fixture.obj('name', medplum_fixture.str(name), value_key, value) $$;

-- A reindex resource type that finished: count and elapsedTime ("code", not "unit").
CREATE FUNCTION medplum_fixture.reindex_done(resource_type text, count bigint, ms bigint) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT medplum_fixture.obj('name', '"result"', 'part', medplum_fixture.arr(
         medplum_fixture.part('resourceType', 'valueCode', medplum_fixture.str(resource_type)),
         medplum_fixture.part('count', 'valueInteger', count::text),
         medplum_fixture.part('elapsedTime', 'valueQuantity',
                              medplum_fixture.obj('value', ms::text, 'code', '"ms"')))) $$;

-- A reindex resource type in progress: its cursor only, no count.
CREATE FUNCTION medplum_fixture.reindex_running(resource_type text, next_timestamp timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT medplum_fixture.obj('name', '"result"', 'part', medplum_fixture.arr(
         medplum_fixture.part('resourceType', 'valueCode', medplum_fixture.str(resource_type)),
         medplum_fixture.part('nextTimestamp', 'valueDateTime', medplum_fixture.str(medplum_fixture.iso(next_timestamp))))) $$;

-- A JavaScript stack for an error message (its lines are not in the facts; medup never shows it).
CREATE FUNCTION medplum_fixture.stack(error text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT medplum_fixture.str('Error: ' || error || E'\n    at runMigration (/usr/src/medplum/packages/server/dist/migrations/migrate.js)') $$;

-- A reindex resource type that failed: error, stack, errSearchRequest
-- (4.2.0+) and nextTimestamp (the epoch when no batch finished).  No count.
CREATE FUNCTION medplum_fixture.reindex_failed(release text, resource_type text, error text,
                                               next_timestamp timestamptz DEFAULT 'epoch') RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT medplum_fixture.obj('name', '"result"', 'part', medplum_fixture.arr(VARIADIC array_remove(ARRAY[
         medplum_fixture.part('resourceType', 'valueCode', medplum_fixture.str(resource_type)),
         medplum_fixture.part('error', 'valueString', medplum_fixture.str(error)),
         medplum_fixture.part('stack', 'valueString', medplum_fixture.stack(error)),
         CASE WHEN medplum_fixture.vnum(release) >= '{4,2,0}' THEN
           medplum_fixture.part('errSearchRequest', 'valueString',
             medplum_fixture.str(resource_type || '?_count=500&_sort=_lastUpdated&_lastUpdated=ge'
                                 || medplum_fixture.iso(next_timestamp))) END,
         medplum_fixture.part('nextTimestamp', 'valueDateTime', medplum_fixture.str(medplum_fixture.iso(next_timestamp)))],
       NULL))) $$;

-- An action of a custom (SQL) migration: durationMs, sometimes iterations.
CREATE FUNCTION medplum_fixture.custom_action(label text, ms bigint, iterations integer DEFAULT NULL) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT medplum_fixture.obj('name', medplum_fixture.str(label), 'part', medplum_fixture.arr(VARIADIC array_remove(ARRAY[
         medplum_fixture.part('durationMs', 'valueInteger', ms::text),
         medplum_fixture.part('iterations', 'valueInteger', iterations::text)], NULL))) $$;

-- The entries a custom migration's failure adds after its done actions:
-- "error" (3.3-4.0), "error" and "stack" (4.1-4.3.12), an OperationOutcome
-- named "outcome" (4.3.13+).
CREATE FUNCTION medplum_fixture.custom_failure(release text, error text) RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE medplum_fixture.era(release)
         WHEN '3.3' THEN ARRAY[medplum_fixture.part('error', 'valueString', medplum_fixture.str(error))]
         WHEN '4.1' THEN ARRAY[medplum_fixture.part('error', 'valueString', medplum_fixture.str(error)),
                               medplum_fixture.part('stack', 'valueString', medplum_fixture.stack(error))]
         WHEN '4.3' THEN ARRAY[medplum_fixture.part('error', 'valueString', medplum_fixture.str(error)),
                               medplum_fixture.part('stack', 'valueString', medplum_fixture.stack(error))]
         ELSE ARRAY[medplum_fixture.part('outcome', 'resource', medplum_fixture.obj(
                'resourceType', '"OperationOutcome"',
                'issue', medplum_fixture.arr(medplum_fixture.obj('severity', '"error"', 'code', '"exception"',
                    'details', medplum_fixture.obj('text', medplum_fixture.str(error))))))]
       END $$;

-- What a reindex migration records in first-boot mode: it completes at once.
CREATE FUNCTION medplum_fixture.skipped() RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT medplum_fixture.part('skipped', 'valueString', '"In firstBoot mode"') $$;

--
-- Medplum's post-deploy migrations as a fleet ran them: the release that
-- ran each (its manifest serverVersion), the kind (reindex: v1, v3, v8,
-- v11, v23, v26, v29 as of 5.0.10; the kind of v33+ is not in the facts and
-- taken as custom), the steps (resource types; for custom ones, labels:
-- Medplum's real SQL texts are not in the facts), and how long it took.
--
CREATE TABLE medplum_fixture.plan (
  v integer PRIMARY KEY,
  release text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('reindex', 'custom')),
  steps text[] NOT NULL,
  duration interval NOT NULL
);
INSERT INTO medplum_fixture.plan
SELECT v, release,
       CASE WHEN v IN (1, 3, 8, 11, 23, 26, 29) THEN 'reindex' ELSE 'custom' END,
       CASE WHEN v IN (1, 3, 8, 11, 23, 26, 29)
            THEN CASE v % 3 WHEN 0 THEN ARRAY['Patient', 'Observation', 'Encounter']
                            WHEN 1 THEN ARRAY['Task', 'ServiceRequest', 'Communication']
                            ELSE ARRAY['DocumentReference', 'DiagnosticReport', 'Condition'] END
            ELSE ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "v' || v || '_idx"', 'ANALYZE'] END,
       interval '1 second' * (180 + (v * 7919) % 9000)
  FROM (VALUES (1, '3.3.0'), (2, '4.1.0'), (3, '4.1.0'), (4, '4.1.0'), (5, '4.1.0'), (6, '4.1.1'),
               (7, '4.1.3'), (8, '4.1.8'), (9, '4.1.8'), (10, '4.1.9'), (11, '4.1.12'), (12, '4.1.12'),
               (13, '4.3.0'), (14, '4.3.0'), (15, '4.3.0'), (16, '4.3.2'), (17, '4.3.2'), (18, '4.3.4'),
               (19, '4.3.6'), (20, '4.3.6'), (21, '4.3.9'), (22, '4.3.11'), (23, '4.3.11'),
               (24, '4.3.12'), (25, '4.3.12'), (26, '4.3.12'), (27, '4.3.12'), (28, '4.3.14'),
               (29, '4.5.2'), (30, '5.0.0'), (31, '5.0.0'), (32, '5.0.11'), (33, '5.1.7'), (34, '5.1.9'),
               (35, '5.1.10'), (36, '5.1.12'), (37, '5.1.12'), (38, '5.1.13'), (39, '5.1.23'),
               (40, '5.1.24'), (41, '5.1.27'), (42, '5.1.30'), (43, '5.1.32'), (44, '5.1.33'),
               (45, '5.1.37'), (46, '5.1.39'), (47, '5.1.40'), (48, '5.1.42'), (49, '5.1.43'),
               (50, '5.1.44'), (51, '5.2.1'), (52, '5.2.2'), (53, '5.2.4')) m(v, release);

-- The job id of attempt n of migration v in schema s.
CREATE FUNCTION medplum_fixture.job_id(s text, v integer, attempt integer DEFAULT 1) RETURNS uuid
LANGUAGE sql IMMUTABLE
AS $$ SELECT md5(format('%s/data-migration/v%s/%s', s, v, attempt))::uuid $$;

-- The output of migration v completed normally: its time spread over its steps.
CREATE FUNCTION medplum_fixture.completed_output(v integer) RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT medplum_fixture.parameters(VARIADIC array_agg(
         CASE p.kind WHEN 'reindex'
              THEN medplum_fixture.reindex_done(st.step, ms * (700 + st.k * 311) / 1000, ms)
              ELSE medplum_fixture.custom_action(st.step, ms) END ORDER BY st.k))
        FROM medplum_fixture.plan p, unnest(p.steps) WITH ORDINALITY st(step, k),
             LATERAL (SELECT (extract(epoch FROM p.duration) * 1000 / cardinality(p.steps))::bigint) x(ms)
       WHERE p.v = completed_output.v $$;

--
-- Migrations v(from)..v(upto) completed, one after another from `start`,
-- each in one job created by the release that ran it (or by `release` for
-- all of them: a fresh install).  The history keeps the accepted version
-- and the completed one.  In first-boot mode reindex migrations complete at
-- once as skipped.
--
CREATE PROCEDURE medplum_fixture.complete_migrations(s text, upto integer, start timestamptz,
    release text DEFAULT NULL, first_boot boolean DEFAULT false, "from" integer DEFAULT 1)
LANGUAGE plpgsql AS $$
DECLARE
  p record;
  t timestamptz := start;
  took interval;
BEGIN
  FOR p IN SELECT * FROM medplum_fixture.plan WHERE v BETWEEN "from" AND upto ORDER BY v LOOP
    took := CASE WHEN first_boot THEN interval '0.137 s' ELSE p.duration END;
    CALL medplum_fixture.write_job(s, coalesce(release, p.release), medplum_fixture.job_id(s, p.v),
                                   p.v, 'accepted', t, t);
    CALL medplum_fixture.write_job(s, coalesce(release, p.release), medplum_fixture.job_id(s, p.v),
                                   p.v, 'completed', t, t + took,
                                   CASE WHEN first_boot AND p.kind = 'reindex'
                                        THEN medplum_fixture.parameters(medplum_fixture.skipped())
                                        ELSE medplum_fixture.completed_output(p.v) END,
                                   t + took);
    t := t + took + interval '2.048 s';
  END LOOP;
END $$;

--
-- n AsyncJobs of other kinds (bulk export), spread over [t0, t1]: type
-- NULL, status in the column and the JSON, some still running.  Their
-- content shape beyond the common keys is not in the facts.
--
CREATE PROCEDURE medplum_fixture.add_other_jobs(s text, release text, n integer, t0 timestamptz, t1 timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
  has_type boolean := EXISTS (SELECT FROM pg_attribute
                               WHERE attrelid = format('%I."AsyncJob"', s)::regclass
                                 AND attname = 'type' AND NOT attisdropped);
BEGIN
  EXECUTE format($q$
    INSERT INTO %1$I."AsyncJob" (id, content, "lastUpdated", "projectId", "__version", compartments%2$s)
    SELECT id, medplum_fixture.obj('resourceType', '"AsyncJob"', 'status', medplum_fixture.str(status),
             'request', medplum_fixture.str('https://medplum.example.org/fhir/R4/Patient/$export'),
             'requestTime', medplum_fixture.str(medplum_fixture.iso(at)), 'id', medplum_fixture.str(id::text),
             'meta', medplum_fixture.obj('versionId', medplum_fixture.str(md5(id::text)::uuid::text),
                                         'lastUpdated', medplum_fixture.str(medplum_fixture.iso(at)))),
           at, project, $4, ARRAY[project]%3$s
      FROM (SELECT md5($1 || '/job/' || i)::uuid AS id, md5('project/' || i %% 3)::uuid AS project,
                   date_trunc('milliseconds', $2 + ($3 - $2) * (i::float8 / ($5 + 1))) AS at,
                   CASE WHEN i > $5 - 2 THEN 'active' WHEN i %% 23 = 5 THEN 'error' ELSE 'completed' END AS status
              FROM generate_series(1, $5) i) g$q$,
    s, CASE WHEN has_type THEN ', type, status' ELSE '' END,
    CASE WHEN has_type THEN ', NULL, status' ELSE '' END)
  USING s, t0, t1, medplum_fixture.row_format(release), n;
END $$;
