--
-- fixtures: Medplum-shaped databases, one schema per era or state.
--
-- Independent of medup: plain tables and data only.  Every id and timestamp
-- is fixed (md5(...)::uuid for ids, literal or derived times, JSON times
-- printed in UTC), so the output does not change from run to run.
-- Helpers live in pg_temp and vanish with the session.
--
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS mp_not_medplum, mp_first_boot, mp_old_era, mp_mid_4_1,
  mp_failed_retry, mp_failed, mp_up_to_date, mp_malformed, mp_skipped,
  mp_no_migration_table, mp_pre_3_3 CASCADE;
CREATE SCHEMA mp_not_medplum;
CREATE SCHEMA mp_first_boot;
CREATE SCHEMA mp_old_era;
CREATE SCHEMA mp_mid_4_1;
CREATE SCHEMA mp_failed_retry;
CREATE SCHEMA mp_failed;
CREATE SCHEMA mp_up_to_date;
CREATE SCHEMA mp_malformed;
CREATE SCHEMA mp_skipped;
CREATE SCHEMA mp_no_migration_table;
CREATE SCHEMA mp_pre_3_3;

--
-- The data-migration manifest with the history of one fleet: when it
-- deployed the release that ran each migration, how long the migration ran,
-- and its steps (resource types for a reindex, SQL labels for custom SQL).
-- Migrations of one deployment run one after another, 2 s apart.
--
DROP TABLE IF EXISTS pg_temp.dm_plan;
CREATE TEMP TABLE dm_plan (
  v integer PRIMARY KEY,
  server_version text NOT NULL,
  deployed timestamptz NOT NULL,
  duration interval NOT NULL,
  kind text NOT NULL CHECK (kind IN ('reindex', 'sql')),
  steps text[] NOT NULL
);
INSERT INTO dm_plan VALUES
 (1, '3.3.0', '2025-02-11 21:04:17.318+00', '00:06:12.415', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "AsyncJob_type_idx" ON "AsyncJob" ("type")', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "AsyncJob_status_idx" ON "AsyncJob" ("status")']),
 (2, '4.1.0', '2025-04-15 20:41:09.552+00', '01:48:20.907', 'reindex', ARRAY['Patient', 'Practitioner', 'RelatedPerson']),
 (3, '4.1.0', '2025-04-15 20:41:09.552+00', '00:41:07.342', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "Observation___sharedTokens_idx" ON "Observation" USING gin ("__sharedTokens")']),
 (4, '4.1.0', '2025-04-15 20:41:09.552+00', '00:04:51.226', 'sql', ARRAY['ALTER TABLE "Observation" ALTER COLUMN "__sharedTokensText" SET STATISTICS 500', 'ANALYZE "Observation"']),
 (5, '4.1.0', '2025-04-15 20:41:09.552+00', '03:12:44.618', 'reindex', ARRAY['Encounter', 'Condition', 'Procedure']),
 (6, '4.1.1', '2025-04-29 20:37:48.004+00', '01:05:33.051', 'reindex', ARRAY['Task', 'ServiceRequest']),
 (7, '4.1.3', '2025-04-29 20:37:48.004+00', '00:02:18.930', 'sql', ARRAY['DROP INDEX CONCURRENTLY IF EXISTS "Observation_code_idx"', 'DROP INDEX CONCURRENTLY IF EXISTS "Observation_code_text_idx"']),
 (8, '4.1.8', '2025-05-20 21:02:55.871+00', '00:27:45.119', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "DocumentReference____tag_idx" ON "DocumentReference" USING gin ("___tag")']),
 (9, '4.1.8', '2025-05-20 21:02:55.871+00', '02:20:10.533', 'reindex', ARRAY['DocumentReference', 'Media']),
 (10, '4.1.9', '2025-05-27 20:55:30.126+00', '01:32:02.874', 'sql', ARRAY['VACUUM (ANALYZE) "Observation"', 'VACUUM (ANALYZE) "Observation_History"']),
 (11, '4.1.12', '2025-06-01 07:08:02.270+00', '02:51:55.730', 'reindex', ARRAY['Observation', 'DiagnosticReport', 'Encounter', 'MedicationRequest']),
 (12, '4.1.12', '2025-06-01 07:08:02.270+00', '03:16:40.215', 'reindex', ARRAY['Observation', 'ServiceRequest', 'Task']),
 (13, '4.3.0', '2025-08-19 20:48:13.640+00', '00:58:12.006', 'reindex', ARRAY['Coverage', 'ExplanationOfBenefit']),
 (14, '4.3.0', '2025-08-19 20:48:13.640+00', '00:12:40.613', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "Task___ownerIdentifier_idx" ON "Task" USING gin ("__ownerIdentifier")']),
 (15, '4.3.0', '2025-08-19 20:48:13.640+00', '00:03:09.822', 'sql', ARRAY['ALTER TABLE "Patient" VALIDATE CONSTRAINT "Patient_projectId_not_null"']),
 (16, '4.3.2', '2025-08-19 20:48:13.640+00', '04:26:51.304', 'reindex', ARRAY['Questionnaire', 'QuestionnaireResponse']),
 (17, '4.3.2', '2025-08-19 20:48:13.640+00', '00:33:02.518', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "QuestionnaireResponse_authored_idx" ON "QuestionnaireResponse" ("authored")']),
 (18, '4.3.4', '2025-09-16 20:52:36.905+00', '01:11:29.447', 'reindex', ARRAY['Appointment', 'Slot', 'Schedule']),
 (19, '4.3.6', '2025-09-16 20:52:36.905+00', '00:51:18.032', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "Communication_sent_idx" ON "Communication" ("sent")', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "Communication_received_idx" ON "Communication" ("received")']),
 (20, '4.3.6', '2025-09-16 20:52:36.905+00', '02:02:37.781', 'reindex', ARRAY['Communication']),
 (21, '4.3.9', '2025-10-14 21:10:51.433+00', '01:25:09.350', 'sql', ARRAY['REINDEX INDEX CONCURRENTLY "Observation___sharedTokens_idx"']),
 (22, '4.3.11', '2025-10-14 21:10:51.433+00', '07:44:18.266', 'reindex', ARRAY['AuditEvent']),
 (23, '4.3.11', '2025-10-14 21:10:51.433+00', '01:58:03.941', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "AuditEvent_recorded_idx" ON "AuditEvent" ("recorded")']),
 (24, '4.3.12', '2025-10-14 21:10:51.433+00', '00:09:44.170', 'reindex', ARRAY['Organization', 'Location', 'HealthcareService']),
 (25, '4.3.12', '2025-10-14 21:10:51.433+00', '00:02:41.508', 'sql', ARRAY['UPDATE "Project" SET "__version" = 11 WHERE "__version" < 11']),
 (26, '4.3.12', '2025-10-14 21:10:51.433+00', '00:21:07.093', 'reindex', ARRAY['Device', 'DeviceRequest']),
 (27, '4.3.12', '2025-10-14 21:10:51.433+00', '00:37:55.664', 'sql', ARRAY['DROP INDEX CONCURRENTLY IF EXISTS "Task_code_idx"', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "Task___code_idx" ON "Task" USING gin ("__code")']),
 (28, '4.3.14', '2025-11-04 21:01:07.782+00', '03:40:26.815', 'reindex', ARRAY['MedicationRequest', 'MedicationAdministration', 'MedicationDispense']),
 (29, '4.5.2', '2025-12-02 21:14:26.019+00', '02:14:50.076', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "Observation_projectId_lastUpdated_idx" ON "Observation" ("projectId", "lastUpdated")', 'ANALYZE "Observation"']),
 (30, '5.0.0', '2026-01-13 21:06:44.357+00', '02:47:13.329', 'reindex', ARRAY['Patient']),
 (31, '5.0.0', '2026-01-13 21:06:44.357+00', '00:48:36.012', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "Patient___nameTrgm_idx" ON "Patient" USING gin ("__nameTrgm" gin_trgm_ops)']),
 (32, '5.0.11', '2026-01-13 21:06:44.357+00', '00:06:55.408', 'sql', ARRAY['VACUUM (ANALYZE) "Patient"']),
 (33, '5.1.7', '2026-02-10 20:58:19.860+00', '00:44:02.917', 'reindex', ARRAY['CarePlan', 'CareTeam', 'Goal']),
 (34, '5.1.9', '2026-02-10 20:58:19.860+00', '01:03:27.705', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "Encounter_period_range_idx" ON "Encounter" USING gist ("period_range")']),
 (35, '5.1.10', '2026-02-10 20:58:19.860+00', '03:05:51.164', 'reindex', ARRAY['Encounter']),
 (36, '5.1.12', '2026-02-10 20:58:19.860+00', '00:02:05.039', 'sql', ARRAY['DROP INDEX CONCURRENTLY IF EXISTS "Encounter_period_idx"']),
 (37, '5.1.12', '2026-02-10 20:58:19.860+00', '01:29:40.382', 'reindex', ARRAY['Consent', 'Provenance']),
 (38, '5.1.13', '2026-03-17 21:03:52.147+00', '00:22:19.655', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "Provenance_recorded_idx" ON "Provenance" ("recorded")']),
 (39, '5.1.23', '2026-03-17 21:03:52.147+00', '00:56:44.471', 'reindex', ARRAY['Claim', 'ClaimResponse']),
 (40, '5.1.24', '2026-03-17 21:03:52.147+00', '01:12:31.090', 'sql', ARRAY['UPDATE "Claim" SET "__version" = 12 WHERE "__version" < 12']),
 (41, '5.1.27', '2026-04-21 20:49:05.594+00', '00:38:16.226', 'reindex', ARRAY['Immunization', 'AllergyIntolerance']),
 (42, '5.1.30', '2026-04-21 20:49:05.594+00', '00:08:49.903', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "Immunization_occurrence_idx" ON "Immunization" ("occurrence")']),
 (43, '5.1.32', '2026-04-21 20:49:05.594+00', '02:33:05.017', 'reindex', ARRAY['DiagnosticReport']),
 (44, '5.1.33', '2026-04-21 20:49:05.594+00', '01:46:12.708', 'sql', ARRAY['REINDEX TABLE CONCURRENTLY "DiagnosticReport"']),
 (45, '5.1.37', '2026-05-26 21:11:38.276+00', '00:03:58.321', 'reindex', ARRAY['Subscription', 'Bot']),
 (46, '5.1.39', '2026-05-26 21:11:38.276+00', '00:02:26.184', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "Subscription_status_idx" ON "Subscription" ("status")']),
 (47, '5.1.40', '2026-05-26 21:11:38.276+00', '09:12:44.052', 'reindex', ARRAY['Observation']),
 (48, '5.1.42', '2026-06-30 20:57:21.913+00', '00:11:03.516', 'sql', ARRAY['ANALYZE "Observation"', 'ANALYZE "Observation_History"']),
 (49, '5.1.43', '2026-06-30 20:57:21.913+00', '00:17:31.240', 'reindex', ARRAY['ValueSet', 'CodeSystem', 'ConceptMap']),
 (50, '5.1.44', '2026-06-30 20:57:21.913+00', '00:04:12.879', 'sql', ARRAY['DROP INDEX CONCURRENTLY IF EXISTS "Observation___sharedTokens_idx"']),
 (51, '5.2.1', '2026-08-04 21:05:40.688+00', '01:21:08.643', 'reindex', ARRAY['Task']),
 (52, '5.2.2', '2026-08-04 21:05:40.688+00', '00:19:40.055', 'sql', ARRAY['CREATE INDEX CONCURRENTLY IF NOT EXISTS "Task_authoredOn_idx" ON "Task" ("authoredOn")']),
 (53, '5.2.4', '2026-08-04 21:05:40.688+00', '02:58:36.917', 'reindex', ARRAY['Patient', 'Person']);

-- When each migration was requested and finished, chaining those of one
-- deployment (v12 is requested at 2025-06-01T10:00:00.000Z).
CREATE TEMP VIEW dm_schedule AS
SELECT p.*, t.request_time, t.request_time + p.duration AS transaction_time
FROM dm_plan p,
LATERAL (SELECT p.deployed
           + coalesce(sum(q.duration), interval '0') + count(q.v) * interval '2 s'
         FROM dm_plan q WHERE q.deployed = p.deployed AND q.v < p.v) t(request_time);

-- A deterministic pseudo-random number 0 .. 2^32-1.
CREATE FUNCTION pg_temp.h(t text) RETURNS bigint LANGUAGE sql IMMUTABLE
AS $$ SELECT ('x' || substr(md5(t), 1, 8))::bit(32)::bigint $$;

-- FHIR instant as Medplum writes it: UTC, milliseconds, 'Z'.
CREATE FUNCTION pg_temp.iso(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

-- The output of a completed migration: its time split over its steps.
CREATE FUNCTION pg_temp.dm_output(p_v integer) RETURNS text LANGUAGE sql STABLE AS $$
  WITH s AS (
    SELECT p.kind, st.label, st.ord, 1 + pg_temp.h(p_v || '/' || st.label) % 9 AS w,
           extract(epoch FROM p.duration) * 995 AS budget_ms
    FROM pg_temp.dm_plan p, unnest(p.steps) WITH ORDINALITY st(label, ord)
    WHERE p.v = p_v),
  ms AS (SELECT s.*, round(budget_ms * w / sum(w) OVER ())::bigint AS ms FROM s)
  SELECT '{"resourceType":"Parameters","parameter":[' || string_agg(
    CASE kind
    WHEN 'reindex' THEN
      '{"name":"result","part":[{"name":"resourceType","valueCode":' || to_json(label)
      || '},{"name":"count","valueInteger":' || ms * (800 + pg_temp.h(label) % 3200) / 1000
      || '},{"name":"elapsedTime","valueQuantity":{"value":' || ms || ',"unit":"ms"}}]}'
    ELSE
      '{"name":' || to_json(label) || ',"part":[{"name":"durationMs","valueInteger":' || ms || '}]}'
    END, ',' ORDER BY ord) || ']}'
  FROM ms
$$;

-- Medplum's tables.  Before release 3.2.26 "AsyncJob" had no type/status.
CREATE PROCEDURE pg_temp.create_database_migration(s text, p_version integer,
    p_data_version integer, p_first_boot boolean) LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TABLE %I."DatabaseMigration" (
      id integer PRIMARY KEY,
      version integer NOT NULL,
      "dataVersion" integer NOT NULL,
      "firstBoot" boolean NOT NULL DEFAULT false)', s);
  EXECUTE format('INSERT INTO %I."DatabaseMigration" VALUES (1, $1, $2, $3)', s)
    USING p_version, p_data_version, p_first_boot;
END $$;

CREATE PROCEDURE pg_temp.create_async_job(s text, with_type_status boolean)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TABLE %I."AsyncJob" (
      id uuid PRIMARY KEY,
      content text NOT NULL,
      "lastUpdated" timestamptz NOT NULL,
      deleted boolean NOT NULL DEFAULT false,
      "projectId" uuid,
      "__version" integer,
      compartments uuid[] NOT NULL,%s
      "_source" text,
      "_profile" text[])', s,
    CASE WHEN with_type_status THEN ' type text, status text,' ELSE '' END);
  IF with_type_status THEN
    EXECUTE format('CREATE INDEX "AsyncJob_type_idx" ON %I."AsyncJob" (type)', s);
    EXECUTE format('CREATE INDEX "AsyncJob_status_idx" ON %I."AsyncJob" (status)', s);
  END IF;
  EXECUTE format('CREATE INDEX "AsyncJob_lastUpdated_idx" ON %I."AsyncJob" ("lastUpdated")', s);
  EXECUTE format('CREATE TABLE %I."AsyncJob_History" (
      id uuid,
      "versionId" uuid PRIMARY KEY,
      content text NOT NULL,
      "lastUpdated" timestamptz NOT NULL)', s);
END $$;

-- Store one AsyncJob version: the current row, and its copy in the history.
-- "__version" (Medplum's row format) is 13 today, 7 in the old era.
CREATE PROCEDURE pg_temp.add_job(s text, p_id uuid, p_version_id uuid,
    p_last_updated timestamptz, p_project uuid, p_type text, p_status text,
    p_content text, p_current boolean DEFAULT true) LANGUAGE plpgsql AS $$
BEGIN
  IF p_current AND EXISTS (SELECT FROM pg_attribute
      WHERE attrelid = format('%I."AsyncJob"', s)::regclass AND attname = 'type') THEN
    EXECUTE format('INSERT INTO %I."AsyncJob" (id, content, "lastUpdated", "projectId",
        "__version", compartments, type, status) VALUES ($1, $2, $3, $4, 13, $5, $6, $7)', s)
      USING p_id, p_content, p_last_updated, p_project,
            CASE WHEN p_project IS NULL THEN '{}' ELSE ARRAY[p_project] END, p_type, p_status;
  ELSIF p_current THEN
    EXECUTE format('INSERT INTO %I."AsyncJob" (id, content, "lastUpdated", "projectId",
        "__version", compartments) VALUES ($1, $2, $3, $4, 7, $5)', s)
      USING p_id, p_content, p_last_updated, p_project,
            CASE WHEN p_project IS NULL THEN '{}' ELSE ARRAY[p_project] END;
  END IF;
  EXECUTE format('INSERT INTO %I."AsyncJob_History" VALUES ($1, $2, $3, $4)', s)
    USING p_id, p_version_id, p_content, p_last_updated;
END $$;

-- A data-migration job (attempt n of migration v), in the facts' JSON form.
-- transactionTime is set once the job completed or failed (not on cancel).
-- Its first version ("accepted", at requestTime) is kept in the history too.
CREATE PROCEDURE pg_temp.add_dm_job(s text, p_v integer, attempt integer,
    p_status text, request_time timestamptz, transaction_time timestamptz,
    last_updated timestamptz, output text) LANGUAGE plpgsql AS $$
DECLARE
  jid uuid := md5(format('%s/data-migration/v%s/%s', s, p_v, attempt))::uuid;
  head text;
BEGIN
  head := '{"resourceType":"AsyncJob","id":"' || jid || '","meta":{"versionId":"%s","lastUpdated":"%s"},"type":"data-migration","status":"%s","request":"data-migration-v'
    || p_v || '","dataVersion":' || p_v || ',"minServerVersion":"'
    || (SELECT server_version FROM pg_temp.dm_plan WHERE v = p_v)
    || '","requestTime":"' || pg_temp.iso(request_time) || '"';
  CALL pg_temp.add_job(s, jid, md5(jid || '/accepted')::uuid, request_time, NULL,
    'data-migration', 'accepted',
    format(head, md5(jid || '/accepted')::uuid, pg_temp.iso(request_time), 'accepted') || '}',
    false);
  CALL pg_temp.add_job(s, jid, md5(jid || '/' || p_status)::uuid, last_updated, NULL,
    'data-migration', p_status,
    format(head, md5(jid || '/' || p_status)::uuid, pg_temp.iso(last_updated), p_status)
      || coalesce(',"transactionTime":"' || pg_temp.iso(transaction_time) || '"', '')
      || coalesce(',"output":' || output, '') || '}');
END $$;

-- Migrations v1..upto, each completed on its first attempt.
CREATE PROCEDURE pg_temp.add_completed_dm_jobs(s text, upto integer)
LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM pg_temp.dm_schedule WHERE v <= upto ORDER BY v LOOP
    CALL pg_temp.add_dm_job(s, r.v, 1, 'completed', r.request_time,
      r.transaction_time, r.transaction_time, pg_temp.dm_output(r.v));
  END LOOP;
END $$;

-- n other jobs (bulk export, async batch, reindex), spread over [t0, t1].
-- The last three are still accepted/active; older ones mostly completed.
CREATE FUNCTION pg_temp.other_jobs(s text, n integer, t0 timestamptz, t1 timestamptz)
RETURNS TABLE (id uuid, version_id uuid, last_updated timestamptz, project_id uuid,
               type text, status text, content text)
LANGUAGE sql STABLE AS $$
  WITH g AS (
    SELECT i, md5(s || '/job/' || i)::uuid AS id,
           md5(s || '/job/' || i || '/version')::uuid AS version_id,
           md5('project/' || i % 3)::uuid AS project_id,
           CASE WHEN i % 20 < 12 THEN NULL WHEN i % 20 < 17 THEN 'batch' ELSE 'reindex' END AS type,
           CASE WHEN i > n - 2 THEN 'active' WHEN i = n - 2 THEN 'accepted'
                WHEN i % 97 = 13 THEN 'cancelled' WHEN i % 23 IN (5, 17) THEN 'error'
                ELSE 'completed' END AS status,
           date_trunc('milliseconds', t0 + (t1 - t0) * (i::float8 / (n + 1))) AS request_time,
           interval '1 ms' * (1500 + pg_temp.h(s || '/took/' || i) % 900000) AS took,
           (ARRAY['canceling statement due to statement timeout',
                  'terminating connection due to administrator command',
                  'Connection terminated unexpectedly',
                  'duplicate key value violates unique constraint "Observation_pkey"'])[1 + i % 4] AS err
    FROM generate_series(1, n) i),
  j AS (
    SELECT g.*,
      date_trunc('milliseconds', CASE status WHEN 'accepted' THEN request_time
        WHEN 'active' THEN request_time + took / 2 ELSE request_time + took END) AS last_updated,
      CASE WHEN status IN ('completed', 'error') THEN request_time + took END AS transaction_time,
      CASE WHEN type = 'batch' THEN 'https://example.org/fhir/R4'
           WHEN type = 'reindex' THEN 'https://example.org/admin/super/reindex'
           WHEN i % 3 = 0 THEN 'https://example.org/fhir/R4/$export?_type=Patient,Observation,Encounter&_since=2024-01-01T00:00:00Z'
           WHEN i % 3 = 1 THEN 'https://example.org/fhir/R4/Patient/$export'
           ELSE 'https://example.org/fhir/R4/Group/' || md5('group/' || i % 7)::uuid || '/$export' END AS request,
      CASE
      WHEN status = 'error' AND type = 'reindex' THEN
        '{"resourceType":"Parameters","parameter":[{"name":"result","part":[{"name":"resourceType","valueCode":"Observation"},{"name":"count","valueInteger":'
        || (i * 37) % 50000 || '},{"name":"error","valueString":' || to_json(err) || '}]},{"name":"error","valueString":' || to_json(err) || '}]}'
      WHEN status = 'error' THEN
        '{"resourceType":"Parameters","parameter":[{"name":"error","valueString":' || to_json(err) || '}]}'
      WHEN status = 'completed' AND type IS NULL THEN
        '{"resourceType":"Parameters","parameter":[' || (SELECT string_agg(
          '{"name":"output","part":[{"name":"type","valueCode":"' || t || '"},{"name":"url","valueUri":"https://storage.example.org/binary/'
          || md5(id || t)::uuid || '.ndjson"}]}', ',') FROM unnest(ARRAY['Patient', 'Observation', 'Encounter']) t) || ']}'
      WHEN status = 'completed' AND type = 'batch' THEN
        '{"resourceType":"Parameters","parameter":[{"name":"results","valueReference":{"reference":"Binary/' || md5(id || '/bundle')::uuid || '"}}]}'
      WHEN status = 'completed' THEN
        '{"resourceType":"Parameters","parameter":[{"name":"result","part":[{"name":"resourceType","valueCode":"Patient"},{"name":"count","valueInteger":'
        || (i * 53) % 20000 || '},{"name":"elapsedTime","valueQuantity":{"value":' || extract(epoch FROM took)::bigint * 1000 || ',"unit":"ms"}}]}]}'
      WHEN status = 'active' AND type = 'reindex' THEN
        '{"resourceType":"Parameters","parameter":[{"name":"result","part":[{"name":"resourceType","valueCode":"Patient"},{"name":"count","valueInteger":2000},{"name":"nextTimestamp","valueDateTime":"2024-03-02T08:15:44.120Z"}]}]}'
      END AS output
    FROM g)
  SELECT id, version_id, last_updated, project_id, type, status,
    '{"resourceType":"AsyncJob","id":"' || id || '","meta":{"versionId":"' || version_id
    || '","lastUpdated":"' || pg_temp.iso(last_updated)
    || '","author":{"reference":"Practitioner/' || md5('author/' || i % 5)::uuid
    || '"},"project":"' || project_id || '","compartment":[{"reference":"Project/' || project_id || '"}]}'
    || coalesce(',"type":"' || type || '"', '') || ',"status":"' || status
    || '","requestTime":"' || pg_temp.iso(request_time) || '"'
    || coalesce(',"transactionTime":"' || pg_temp.iso(transaction_time) || '"', '')
    || ',"request":"' || request || '"' || coalesce(',"output":' || output, '') || '}'
  FROM j
$$;

CREATE PROCEDURE pg_temp.add_other_jobs(s text, n integer, t0 timestamptz, t1 timestamptz)
LANGUAGE plpgsql AS $$
DECLARE j record;
BEGIN
  FOR j IN SELECT * FROM pg_temp.other_jobs(s, n, t0, t1) LOOP
    CALL pg_temp.add_job(s, j.id, j.version_id, j.last_updated, j.project_id,
                         j.type, j.status, j.content);
  END LOOP;
END $$;

--
-- mp_not_medplum: an unrelated application schema, no Medplum tables.
--
SET search_path = mp_not_medplum;
CREATE TABLE orders (id integer PRIMARY KEY, customer text NOT NULL, total numeric(10,2) NOT NULL);
INSERT INTO orders SELECT i, 'customer ' || i % 7, (i * 13.37)::numeric(10,2) FROM generate_series(1, 25) i;

--
-- mp_first_boot: a brand-new install, first start still catching up.
--
CALL pg_temp.create_database_migration('mp_first_boot', 0, 0, true);
CALL pg_temp.create_async_job('mp_first_boot', true);

--
-- mp_old_era: before release 3.2.26 ("AsyncJob" lacks type/status), no data
-- migration done; 20 bulk export / batch / reindex jobs, and one v1
-- data-migration job, active, that only the JSON content shows.
--
CALL pg_temp.create_database_migration('mp_old_era', 52, 0, false);
CALL pg_temp.create_async_job('mp_old_era', false);
CALL pg_temp.add_other_jobs('mp_old_era', 20, '2024-06-03 08:00+00', '2024-11-28 17:00+00');
CALL pg_temp.add_dm_job('mp_old_era', 1, 1, 'active', '2024-12-02 21:04:17.318+00', NULL,
  '2024-12-02 21:06:40.502+00',
  '{"resourceType":"Parameters","parameter":[{"name":"CREATE INDEX CONCURRENTLY IF NOT EXISTS \"AsyncJob_type_idx\" ON \"AsyncJob\" (\"type\")","part":[{"name":"durationMs","valueInteger":141977}]}]}');

--
-- mp_mid_4_1: a 4.1.x deployment half-way: v1..v10 completed, v11 (a
-- reindex) active with 3 resource types done and one in progress, and 2000
-- other jobs of the project's users.
--
CALL pg_temp.create_database_migration('mp_mid_4_1', 112, 10, false);
CALL pg_temp.create_async_job('mp_mid_4_1', true);
CALL pg_temp.add_other_jobs('mp_mid_4_1', 2000, '2025-01-06 07:00+00', '2025-06-01 06:55+00');
CALL pg_temp.add_completed_dm_jobs('mp_mid_4_1', 10);
CALL pg_temp.add_dm_job('mp_mid_4_1', 11, 1, 'active', '2025-06-01 07:08:02.270+00', NULL,
  '2025-06-01 09:12:40.118+00',
  '{"resourceType":"Parameters","parameter":['
  '{"name":"result","part":[{"name":"resourceType","valueCode":"Observation"},{"name":"count","valueInteger":1843200},{"name":"elapsedTime","valueQuantity":{"value":4870310,"unit":"ms"}}]},'
  '{"name":"result","part":[{"name":"resourceType","valueCode":"DiagnosticReport"},{"name":"count","valueInteger":412650},{"name":"elapsedTime","valueQuantity":{"value":1503227,"unit":"ms"}}]},'
  '{"name":"result","part":[{"name":"resourceType","valueCode":"Encounter"},{"name":"count","valueInteger":265118},{"name":"elapsedTime","valueQuantity":{"value":640914,"unit":"ms"}}]},'
  '{"name":"result","part":[{"name":"resourceType","valueCode":"MedicationRequest"},{"name":"count","valueInteger":96000},{"name":"nextTimestamp","valueDateTime":"2023-11-07T14:22:31.907Z"}]}]}');

--
-- mp_failed_retry: 4.1.12, v1..v11 completed; v12's first attempt hit the
-- statement timeout, a second attempt is running.
--
CALL pg_temp.create_database_migration('mp_failed_retry', 114, 11, false);
CALL pg_temp.create_async_job('mp_failed_retry', true);
CALL pg_temp.add_completed_dm_jobs('mp_failed_retry', 11);
CALL pg_temp.add_dm_job('mp_failed_retry', 12, 1, 'error', '2025-06-01 10:00:00+00',
  '2025-06-01 11:42:17.664+00', '2025-06-01 11:42:17.664+00',
  '{"resourceType":"Parameters","parameter":['
  '{"name":"result","part":[{"name":"resourceType","valueCode":"Observation"},{"name":"count","valueInteger":7340000},{"name":"error","valueString":"canceling statement due to statement timeout"}]},'
  '{"name":"error","valueString":"canceling statement due to statement timeout"}]}');
CALL pg_temp.add_dm_job('mp_failed_retry', 12, 2, 'active', '2025-06-02 08:15:00+00', NULL,
  '2025-06-02 09:47:31.205+00',
  '{"resourceType":"Parameters","parameter":['
  '{"name":"result","part":[{"name":"resourceType","valueCode":"Observation"},{"name":"count","valueInteger":11264000},{"name":"nextTimestamp","valueDateTime":"2024-08-19T03:41:09.336Z"}]}]}');

--
-- mp_failed: 4.1.12, v1..v11 completed; v12 was cancelled once, then its
-- latest attempt failed (disk full).
--
CALL pg_temp.create_database_migration('mp_failed', 114, 11, false);
CALL pg_temp.create_async_job('mp_failed', true);
CALL pg_temp.add_completed_dm_jobs('mp_failed', 11);
CALL pg_temp.add_dm_job('mp_failed', 12, 1, 'cancelled', '2025-06-01 10:00:00+00', NULL,
  '2025-06-01 10:21:13.505+00',
  '{"resourceType":"Parameters","parameter":['
  '{"name":"result","part":[{"name":"resourceType","valueCode":"Observation"},{"name":"count","valueInteger":2048000},{"name":"nextTimestamp","valueDateTime":"2022-05-30T11:02:57.440Z"}]}]}');
CALL pg_temp.add_dm_job('mp_failed', 12, 2, 'error', '2025-06-01 10:35:42.019+00',
  '2025-06-01 13:08:55.387+00', '2025-06-01 13:08:55.387+00',
  '{"resourceType":"Parameters","parameter":['
  '{"name":"result","part":[{"name":"resourceType","valueCode":"Observation"},{"name":"count","valueInteger":21504117},{"name":"elapsedTime","valueQuantity":{"value":8341626,"unit":"ms"}}]},'
  '{"name":"result","part":[{"name":"resourceType","valueCode":"ServiceRequest"},{"name":"count","valueInteger":1104000},{"name":"error","valueString":"could not extend file \"base/16401/2619.3\": No space left on device"}]},'
  '{"name":"error","valueString":"could not extend file \"base/16401/2619.3\": No space left on device"}]}');

--
-- mp_up_to_date: a 5.2.x deployment with every known migration (v1..v53)
-- completed.
--
CALL pg_temp.create_database_migration('mp_up_to_date', 130, 53, false);
CALL pg_temp.create_async_job('mp_up_to_date', true);
CALL pg_temp.add_completed_dm_jobs('mp_up_to_date', 53);

--
-- mp_malformed: v1..v3 completed; two v4 jobs medup must survive: one whose
-- content was cut off (not JSON), one whose dataVersion is a string.
--
CALL pg_temp.create_database_migration('mp_malformed', 105, 3, false);
CALL pg_temp.create_async_job('mp_malformed', true);
CALL pg_temp.add_completed_dm_jobs('mp_malformed', 3);
CALL pg_temp.add_job('mp_malformed', md5('mp_malformed/data-migration/v4/four')::uuid,
  md5('mp_malformed/data-migration/v4/four/version')::uuid, '2025-04-16 00:12:03.117+00',
  NULL, 'data-migration', 'accepted',
  '{"resourceType":"AsyncJob","id":"' || md5('mp_malformed/data-migration/v4/four')::uuid
  || '","meta":{"versionId":"' || md5('mp_malformed/data-migration/v4/four/version')::uuid
  || '","lastUpdated":"2025-04-16T00:12:03.117Z"},"type":"data-migration","status":"accepted","request":"data-migration-v4","dataVersion":"four","minServerVersion":"4.1.0","requestTime":"2025-04-16T00:12:03.117Z"}');
CALL pg_temp.add_job('mp_malformed', md5('mp_malformed/data-migration/v4/cut')::uuid,
  md5('mp_malformed/data-migration/v4/cut/version')::uuid, '2025-04-16 00:31:47.902+00',
  NULL, 'data-migration', 'active',
  '{"resourceType":"AsyncJob","type":"data-migration","status":"act');

--
-- mp_skipped: a 4.0.4 deployment (only v1 done), about to get 4.2.6 and so
-- skip 4.1.
--
CALL pg_temp.create_database_migration('mp_skipped', 100, 1, false);
CALL pg_temp.create_async_job('mp_skipped', true);
CALL pg_temp.add_completed_dm_jobs('mp_skipped', 1);

--
-- mp_no_migration_table: "AsyncJob" (with type/status) but no
-- "DatabaseMigration": v1, v2 completed and a few other jobs.
--
CALL pg_temp.create_async_job('mp_no_migration_table', true);
CALL pg_temp.add_other_jobs('mp_no_migration_table', 12, '2025-03-03 09:00+00', '2025-04-14 18:00+00');
CALL pg_temp.add_completed_dm_jobs('mp_no_migration_table', 2);

--
-- mp_pre_3_3: a 3.1.x deployment, before the data-migration framework:
-- "AsyncJob" has type/status, but no data-migration job exists.
--
CALL pg_temp.create_database_migration('mp_pre_3_3', 45, 0, false);
CALL pg_temp.create_async_job('mp_pre_3_3', true);
CALL pg_temp.add_other_jobs('mp_pre_3_3', 15, '2024-09-02 08:00+00', '2024-12-20 17:00+00');

--
-- What was built, per schema: the migration row, jobs, data-migration jobs
-- by their JSON, contents that are not JSON, and the latest job of the
-- highest dataVersion.
--
CREATE FUNCTION pg_temp.json_ok(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN PERFORM t::jsonb; RETURN true; EXCEPTION WHEN others THEN RETURN false; END $$;

CREATE FUNCTION pg_temp.summary() RETURNS TABLE (schema name, version integer,
    "dataVersion" integer, "firstBoot" boolean, has_type boolean, jobs bigint,
    dm_jobs bigint, not_json bigint, history bigint, last_dm text)
LANGUAGE plpgsql AS $$
BEGIN
  FOR schema IN SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mp\_%' ORDER BY 1 LOOP
    version := NULL; "dataVersion" := NULL; "firstBoot" := NULL; has_type := NULL;
    jobs := NULL; dm_jobs := NULL; not_json := NULL; history := NULL; last_dm := NULL;
    IF to_regclass(format('%I."DatabaseMigration"', schema)) IS NOT NULL THEN
      EXECUTE format('SELECT version, "dataVersion", "firstBoot" FROM %I."DatabaseMigration"', schema)
        INTO version, "dataVersion", "firstBoot";
    END IF;
    IF to_regclass(format('%I."AsyncJob"', schema)) IS NOT NULL THEN
      has_type := EXISTS (SELECT FROM pg_attribute WHERE attname = 'type'
        AND attrelid = format('%I."AsyncJob"', schema)::regclass);
      EXECUTE format($q$
        WITH c AS (SELECT CASE WHEN pg_temp.json_ok(content) THEN content::jsonb END AS j
                   FROM %1$I."AsyncJob"),
             dm AS (SELECT j->>'dataVersion' AS v, j->>'status' AS status,
                           j->>'requestTime' AS rt FROM c WHERE j->>'type' = 'data-migration')
        SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM dm),
               (SELECT count(*) FROM c WHERE j IS NULL),
               (SELECT count(*) FROM %1$I."AsyncJob_History"),
               (SELECT 'v' || v || ' ' || status FROM dm WHERE v ~ '^\d+$'
                ORDER BY v::int DESC, rt DESC LIMIT 1)$q$, schema)
        INTO jobs, dm_jobs, not_json, history, last_dm;
    END IF;
    RETURN NEXT;
  END LOOP;
END $$;

SELECT * FROM pg_temp.summary();

RESET search_path;
RESET client_min_messages;
