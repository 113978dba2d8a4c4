-- medup.status() and the views over every Medplum era and state in the
-- fixtures (sql/fixtures.sql runs first).
\set SHOW_CONTEXT never
\pset null '(null)'

-- The one-row answer, for each fixture schema.
CREATE TEMP TABLE schemas(name text, ord serial);
INSERT INTO schemas(name) VALUES ('mp_not_medplum'), ('mp_no_migration_table'),
    ('mp_pre_3_3'), ('mp_v3_3'), ('mp_v3_3_failed'), ('mp_skipped'), ('mp_fresh_4_0'), ('mp_mid_4_1'),
    ('mp_failed_retry'), ('mp_failed'), ('mp_malformed'), ('mp_type_failed'), ('mp_reused'),
    ('mp_custom_running'), ('mp_completing'), ('mp_rollback_open'), ('mp_rollback_closed'),
    ('mp_first_boot'), ('mp_outcome'), ('mp_up_to_date');
SELECT s.name, st.state, st.schema_version, st.data_version, st.first_boot,
       medup.format_migrations(st.pending_migrations) AS pending,
       st.running_migration AS running, st.failed_migration AS failed,
       st.malformed_jobs AS malformed, st.server_version_range, st.next_step
  FROM schemas s,
       LATERAL (SELECT (r).* FROM (SELECT medup.status() AS r
                                     FROM set_config('medup.medplum_schema', s.name, false)) x) st
 ORDER BY s.ord;
RESET medup.medplum_schema;

-- The advice, problems and errors, one schema at a time, expanded.
\x on
SET medup.medplum_schema = 'mp_not_medplum';
SELECT state, problem, advice FROM medup.status();
SET medup.medplum_schema = 'mp_first_boot';
SELECT state, latest_data_version, advice FROM medup.status();
SET medup.medplum_schema = 'mp_mid_4_1';
SELECT state, running_migration, running_job, running_since, progress, running_step,
       migration_lock_held, blocked_by, advice FROM medup.status();
SET medup.medplum_schema = 'mp_failed';
SELECT state, failed_migration, last_error, advice FROM medup.status();
SET medup.medplum_schema = 'mp_failed_retry';
SELECT state, running_migration, failed_migration, advice FROM medup.status();
SET medup.medplum_schema = 'mp_malformed';
SELECT state, malformed_jobs, problem, advice FROM medup.status();
SET medup.medplum_schema = 'mp_up_to_date';
SELECT state, data_version, latest_data_version, pending_migrations, advice FROM medup.status();
-- 3.3-4.0: a failed reindex type ended the job in error, with no top-level
-- error; only the admin action runs it again.
SET medup.medplum_schema = 'mp_v3_3_failed';
SELECT state, failed_migration, last_error, advice FROM medup.status();
-- 3.3.x and 3.2.27+ share schema version 85: with v1 pending and no job
-- yet, medup cannot tell them apart and takes the lower.
CALL medplum_fixture.create_tables('mp_v3_3_idle', '3.3.1', 85, 0);
SET medup.medplum_schema = 'mp_v3_3_idle';
SELECT state, server_version_range, advice FROM medup.status();
SET client_min_messages = warning;
DROP SCHEMA mp_v3_3_idle CASCADE;
RESET client_min_messages;
-- A running reindex with a failed type: flagged at once, not counted as
-- running; the running type shows its cursor.
SET medup.medplum_schema = 'mp_type_failed';
SELECT state, running_migration, running_step, running_steps_done, running_rows_done,
       last_error, advice FROM medup.status();
-- A custom migration running: it has written nothing yet.
SET medup.medplum_schema = 'mp_custom_running';
SELECT state, running_migration, running_step, running_job_updated_at FROM medup.status();
-- 4.3.13+: the error is in an OperationOutcome.
SET medup.medplum_schema = 'mp_outcome';
SELECT state, failed_migration, last_error FROM medup.status();
-- First boot: the schema version (100: 5.0.6 or later) bounds the server
-- from below, and Medplum skips its start-up check, so nothing from above.
SET medup.medplum_schema = 'mp_first_boot';
SELECT state, first_boot, server_version_range, next_step FROM medup.status();
\x off

-- A reused job (restarted: same id and requestTime, output cleared) is one
-- attempt; a new job after a failure is another.
SET medup.medplum_schema = 'mp_reused';
SELECT data_version, state, attempts, detail FROM medup.migrations WHERE data_version = 23;
SET medup.medplum_schema = 'mp_failed_retry';
SELECT data_version, state, attempts FROM medup.migrations WHERE data_version = 12;
-- A failed reindex type is failed, not running; finished types keep their
-- counts; the job's error lists the type's error.
SET medup.medplum_schema = 'mp_type_failed';
SELECT data_version, status, steps_done, steps_running, steps_failed, rows_done, running_step, error
  FROM medup.jobs WHERE data_version = 26;
-- Each era's failure text, wherever Medplum put it.
CREATE FUNCTION pg_temp.failed_jobs(schema text) RETURNS SETOF medup.job LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('medup.medplum_schema', schema, true);
    RETURN QUERY SELECT (j::medup.job).* FROM (SELECT job_id, data_version, status, requested_at, finished_at,
        last_updated, min_server_version, steps_done, steps_running, steps_failed, rows_done,
        running_step, error, parse_error FROM medup.jobs WHERE status = 'error') j;
END $$;
SELECT f.schema, j.data_version, j.steps_done, j.steps_failed, j.error
  FROM (VALUES ('mp_v3_3_failed'), ('mp_failed'), ('mp_failed_retry'), ('mp_outcome')) f(schema),
       pg_temp.failed_jobs(f.schema) j
 ORDER BY 1, 2;

-- Live progress, phase by phase: a concurrent index build read every few
-- seconds never goes back, whatever PostgreSQL's counters do (they restart
-- at each phase and sub-phase).
SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total,
       round(medup.phase_fraction('CREATE INDEX CONCURRENTLY', phase, blocks_done, blocks_total,
                                  tuples_done, tuples_total)::numeric, 3) AS fraction
  FROM (VALUES (1, 'waiting for writers before build', 0, 0, 0, 0),
               (2, 'building index: scanning table', 60000, 100000, 0, 0),
               (3, 'building index: scanning table', 100000, 100000, 0, 0),
               (4, 'building index: sorting live tuples', 0, 0, 0, 12000000),
               (5, 'building index: loading tuples in tree', 100000, 100000, 1440000, 12000000),
               (6, 'building index: loading tuples in tree', 100000, 100000, 12000000, 12000000),
               (7, 'waiting for writers before validation', 0, 0, 0, 0),
               (8, 'index validation: scanning index', 3000, 40000, 0, 0),
               (9, 'index validation: sorting tuples', 0, 0, 0, 0),
               (10, 'index validation: scanning table', 50000, 100000, 0, 0),
               (11, 'waiting for old snapshots', 0, 0, 0, 0),
               (12, 'building index', 10, 20, 0, 0)) r(n, phase, blocks_done, blocks_total, tuples_done, tuples_total)
 ORDER BY n;
-- A vacuum that goes round its phases twice follows the heap blocks scanned.
SELECT phase, blocks_done, round(medup.phase_fraction('VACUUM', phase, blocks_done, 1000, NULL, NULL)::numeric, 3) AS fraction
  FROM (VALUES (1, 'scanning heap', 400), (2, 'vacuuming indexes', 400), (3, 'vacuuming heap', 400),
               (4, 'scanning heap', 700), (5, 'vacuuming indexes', 1000), (6, 'cleaning up indexes', 1000),
               (7, 'truncating heap', 1000)) r(n, phase, blocks_done)
 ORDER BY n;
SELECT medup.phase_fraction('CREATE INDEX', 'a phase medup does not know', 1, 2, 0, 0) AS unknown_phase;

-- The migrations view: the admin page's tab and more.
SET medup.medplum_schema = 'mp_failed_retry';
SELECT data_version, server_version, required_before, state, attempts, requested_at,
       CASE WHEN state = 'running' THEN '(still running)' ELSE duration::text END AS duration,
       steps_done, rows_done, detail
  FROM medup.migrations WHERE data_version BETWEEN 9 AND 15 ORDER BY data_version;
SET medup.medplum_schema = 'mp_failed';
SELECT data_version, state, attempts, detail FROM medup.migrations
 WHERE data_version BETWEEN 11 AND 13 ORDER BY data_version;
SET medup.medplum_schema = 'mp_mid_4_1';
SELECT data_version, state, attempts, steps_done, rows_done, detail FROM medup.migrations
 WHERE data_version BETWEEN 10 AND 12 ORDER BY data_version;
-- Every catalog migration has exactly one row; completed up to dataVersion.
SELECT state, count(*), min(data_version), max(data_version)
  FROM medup.migrations GROUP BY state ORDER BY min(data_version);

-- The jobs view: data-migration jobs only, thousands of others left out.
SELECT count(*) AS jobs, count(DISTINCT data_version) AS versions,
       count(*) FILTER (WHERE status = 'completed') AS completed
  FROM medup.jobs;
SELECT (SELECT count(*) FROM mp_mid_4_1."AsyncJob") AS all_jobs_in_table;
-- Before 3.2.26: no type/status columns, read from the JSON (no
-- data-migration job exists before 3.3.0).
SET medup.medplum_schema = 'mp_pre_3_3';
SELECT count(*) AS jobs FROM medup.jobs;
-- 3.3-4.0: no "firstBoot", requestTime before dataVersion.
SET medup.medplum_schema = 'mp_v3_3';
SELECT data_version, status, min_server_version, steps_done, running_step, parse_error FROM medup.jobs;
-- Malformed content is reported per row, not fatal.
SET medup.medplum_schema = 'mp_malformed';
SELECT data_version, status, parse_error IS NOT NULL AS malformed,
       left(parse_error, 40) AS parse_error
  FROM medup.jobs ORDER BY data_version NULLS LAST, parse_error;
-- Only migration fields leave medup: no content, no request URLs.
SELECT attname FROM pg_attribute
 WHERE attrelid = 'medup.jobs'::regclass AND attnum > 0 ORDER BY attnum;

-- Live progress: nothing runs in this test, so nothing shows.
SELECT count(*) AS running_now FROM medup.progress;

-- Invalid indexes: a failed concurrent build leaves one behind.
SET medup.medplum_schema = 'mp_up_to_date';
SELECT count(*) FROM medup.invalid_indexes;
CREATE UNIQUE INDEX CONCURRENTLY "AsyncJob_status_unique" ON mp_up_to_date."AsyncJob" (status);
SELECT table_name, index_name, fix FROM medup.invalid_indexes;
SELECT invalid_indexes FROM medup.status();
-- Its definition; an index that no longer exists has none, and is left
-- out (one dropped while medup reads it, as a migration may do).
SELECT medup.index_definition('mp_up_to_date."AsyncJob_status_unique"'::regclass);
SELECT medup.index_definition(0) IS NULL AS gone_has_no_definition;
DROP INDEX mp_up_to_date."AsyncJob_status_unique";

-- The pre-deploy migration lock (advisory lock 1), held by this session:
-- as a Medplum server would, then as something else, which is named.
SET application_name = 'medplum-server';
SELECT pg_advisory_lock(1);
SELECT state, migration_lock_held, migration_lock_pid = pg_backend_pid() AS held_by_us,
       migration_lock_role = current_user AS role_named, migration_lock_application
  FROM medup.status();
SET application_name = 'psql';
SELECT state, migration_lock_pid = pg_backend_pid() AS held_by_us,
       migration_lock_role = current_user AS role_named, migration_lock_application,
       replace(replace(problem, pg_backend_pid()::text, 'PID'), current_user, 'ROLE') AS problem,
       replace(replace(advice, pg_backend_pid()::text, 'PID'), current_user, 'ROLE') AS advice
  FROM medup.status();
SELECT pg_advisory_unlock(1);
RESET application_name;
SELECT state, migration_lock_held FROM medup.status();

-- "DatabaseMigration" without the columns medup knows: not Medplum as far
-- as medup can tell, and no error.
CREATE SCHEMA mp_odd;
CREATE TABLE mp_odd."DatabaseMigration" (id integer PRIMARY KEY, version integer);
INSERT INTO mp_odd."DatabaseMigration" VALUES (1, 5);
SET medup.medplum_schema = 'mp_odd';
SELECT state, problem FROM medup.status();
-- An empty one.
TRUNCATE mp_odd."DatabaseMigration";
CREATE TABLE mp_odd."AsyncJob" (id uuid);
ALTER TABLE mp_odd."DatabaseMigration" ADD "dataVersion" integer, ADD "firstBoot" boolean;
SELECT state, problem FROM medup.status();
DROP SCHEMA mp_odd CASCADE;
-- A schema that does not exist.
SET medup.medplum_schema = 'no such schema';
SELECT state, problem FROM medup.status();
RESET medup.medplum_schema;
