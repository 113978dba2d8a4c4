-- medup.take_sample() without the worker (as pg_cron would call it), the events
-- it derives, retention, and the history views.
\set SHOW_CONTEXT never
\pset null '(null)'

-- A copy of the mid-4.1 fixture that this test moves forward.
CREATE SCHEMA mp_audit;
CREATE TABLE mp_audit."DatabaseMigration" AS SELECT * FROM mp_mid_4_1."DatabaseMigration";
CREATE TABLE mp_audit."AsyncJob" (LIKE mp_mid_4_1."AsyncJob" INCLUDING ALL);
INSERT INTO mp_audit."AsyncJob" SELECT * FROM mp_mid_4_1."AsyncJob";
CREATE TABLE mp_audit."AsyncJob_History" (LIKE mp_mid_4_1."AsyncJob_History" INCLUDING ALL);
SET medup.medplum_schema = 'mp_audit';

SELECT worker_running, last_sample_at IS NULL AS never_sampled FROM medup.status();
SELECT medup.take_sample();
SELECT kind, data_version, detail FROM medup.event ORDER BY event_id;
-- Nothing changed: a second sample adds a row and no event.  (By the
-- deprecated name medup.sample(), which the worker still calls: the same.)
SELECT medup.sample();
SELECT count(*) AS samples, count(DISTINCT state) AS states FROM medup.sample;
SELECT count(*) AS events FROM medup.event;
SELECT last_sample_at IS NOT NULL AS sampled FROM medup.status();
-- Nothing moved between those two samples; a rewrite of the running job
-- (a reindex writes its cursor every 50,000 rows, without a count) is
-- progress, and so is the job's own counters moving.
SELECT progress_changed_at = sampled_at AS moved, job_updated_at IS NOT NULL AS job_updated_known
  FROM medup.sample ORDER BY sampled_at DESC LIMIT 1;
CALL medplum_fixture.write_job('mp_audit', '4.1.12', medplum_fixture.job_id('mp_mid_4_1', 11), 11,
  'accepted', NULL, '2025-06-01 09:13:55.902+00',
  medplum_fixture.parameters(medplum_fixture.reindex_done('Task', 1843200, 4870310),
                             medplum_fixture.reindex_done('ServiceRequest', 412650, 1503227),
                             medplum_fixture.reindex_running('Communication', '2023-12-01 08:00:13.517+00')));
SELECT medup.take_sample();
SELECT progress_changed_at = sampled_at AS moved, rows_done FROM medup.sample ORDER BY sampled_at DESC LIMIT 1;
SELECT running_step FROM medup.status();
-- Downtime is not migration time: while the job runs, a sample that finds
-- no Medplum server connected adds its interval to the job's downtime, and
-- the job's duration leaves it out.  With a server connected (this session
-- plays one) nothing is added.
DELETE FROM medup.job_downtime;
SET application_name = 'medplum-server';
SELECT medup.take_sample();
SELECT count(*) AS downtime_rows FROM medup.job_downtime;
RESET application_name;
SELECT pg_sleep(0.3);
SELECT medup.take_sample();
SELECT job_id = medplum_fixture.job_id('mp_mid_4_1', 11) AS running_job, downtime >= '0.3 s' AS counted
  FROM medup.job_downtime;
SELECT duration = now() - requested_at - (SELECT downtime FROM medup.job_downtime) AS less_downtime
  FROM medup.migrations WHERE data_version = 11;

-- Medplum completes v11 and starts v12: both are recorded, once.
CALL medplum_fixture.complete_job('mp_audit', '4.1.12', medplum_fixture.job_id('mp_mid_4_1', 11), 11,
  '2025-06-01 07:08:02.270+00', '2025-06-01 09:59:58.041+00');
CALL medplum_fixture.write_job('mp_audit', '4.1.12', '00000000-0000-0000-0000-000000000012', 12,
  'accepted', '2025-06-01 10:00:00.117+00', now());
SELECT medup.take_sample();
SELECT medup.take_sample();
SELECT kind, data_version, detail FROM medup.event WHERE kind <> 'sampling_started' ORDER BY event_id;
-- The failed attempt, then a deploy.
CALL medplum_fixture.write_job('mp_audit', '4.1.12', '00000000-0000-0000-0000-000000000012', 12,
  'error', '2025-06-01 10:00:00.117+00', now(),
  medplum_fixture.parameters(VARIADIC medplum_fixture.custom_failure('4.1.12', 'canceling statement due to statement timeout')),
  now());
UPDATE mp_audit."DatabaseMigration" SET version = 94;
SELECT medup.take_sample();
SELECT kind, data_version, detail FROM medup.event WHERE event_id > 3 ORDER BY event_id;

-- What a sample holds: counters, no JSON, no resource contents.
SELECT state, schema_version, data_version, running_migration, failed_migration,
       rows_done, steps_done, stalled
  FROM medup.sample ORDER BY sampled_at;
SELECT string_agg(format_type(atttypid, atttypmod), ', ' ORDER BY attnum) AS column_types
  FROM pg_attribute WHERE attrelid = 'medup.sample'::regclass AND attnum > 0;

-- The views over the history.
SELECT state, data_version, running_migration, rows_done FROM medup.history ORDER BY "time";
SELECT data_version, started IS NOT NULL AS started, finished IS NOT NULL AS finished,
       attempts_seen, failures, last_event
  FROM medup.timeline ORDER BY data_version;
-- The timeline's duration leaves out the downtime of the migration's jobs.
INSERT INTO medup.event (event_at, kind, data_version, job_id, detail) VALUES
    ('2025-06-01 10:00:00+00', 'migration_started', 99, '00000000-0000-0000-0000-000000000099', 'test'),
    ('2025-06-01 13:00:00+00', 'migration_completed', 99, '00000000-0000-0000-0000-000000000099', 'test');
INSERT INTO medup.job_downtime (job_id, downtime) VALUES ('00000000-0000-0000-0000-000000000099', '00:40:00');
SELECT data_version, duration FROM medup.timeline WHERE data_version = 99;
DELETE FROM medup.event WHERE data_version = 99;
DELETE FROM medup.job_downtime WHERE job_id = '00000000-0000-0000-0000-000000000099';

-- Every sample, event and counter names its target: this database's are
-- under its name, the name status() and medup.fleet give the local target.
SELECT (SELECT count(*) FROM medup.sample WHERE target = current_database()) AS local_samples,
       (SELECT count(*) FROM medup.sample) AS samples,
       (SELECT count(*) FROM medup.event WHERE target = current_database()) AS local_events,
       (SELECT count(*) FROM medup.event) AS events,
       (SELECT bool_and(target = current_database()) FROM medup.sampler) AS sampler_local,
       (SELECT bool_and(target = current_database()) FROM medup.job_downtime) AS downtime_local;
SELECT count(*) AS rows, bool_and(target = current_database()) AS local FROM medup.history;
SELECT data_version, target = current_database() AS local FROM medup.timeline ORDER BY data_version;
-- Another target's samples, events and downtime (the worker records those
-- of remote targets the same way) stay apart: this database's next sample
-- compares with its own previous one (no event: nothing changed here, while
-- the other target's newer sample is at another data version), history
-- and the timeline keep one series per target, and the other target's
-- downtime of the same job is not this database's.
INSERT INTO medup.sample (sampled_at, target, state, schema_version, data_version, rows_done, job_id)
VALUES (clock_timestamp(), 'regress_other', 'migrating', 90, 3, 100, '00000000-0000-0000-0000-000000000012'),
       (clock_timestamp() + interval '1 second', 'regress_other', 'migrating', 90, 3, 160, '00000000-0000-0000-0000-000000000012');
INSERT INTO medup.event (event_at, target, kind, data_version, job_id, detail) VALUES
    ('2025-06-01 10:00:00+00', 'regress_other', 'migration_started', 12, '00000000-0000-0000-0000-000000000012', 'test'),
    ('2025-06-01 10:30:00+00', 'regress_other', 'migration_completed', 12, '00000000-0000-0000-0000-000000000012', 'test');
INSERT INTO medup.job_downtime (target, job_id, downtime)
VALUES ('regress_other', '00000000-0000-0000-0000-000000000012', '00:10:00');
SELECT max(event_id) AS events_before FROM medup.event \gset
SELECT medup.take_sample();
SELECT count(*) AS new_events FROM medup.event WHERE event_id > :events_before;
SELECT target = current_database() AS local, count(*) AS samples, max(rows_since_last) AS rows_since_last
  FROM medup.history GROUP BY 1 ORDER BY 1;
SELECT target = current_database() AS local, data_version, attempts_seen, failures, duration, last_event
  FROM medup.timeline ORDER BY 1, 2;
SELECT target = current_database() AS local, count(*) AS jobs, max(downtime) < '1 minute' AS short
  FROM medup.job_downtime GROUP BY 1 ORDER BY 1;
SELECT payload::json->>'target' AS target, payload::json->'versions' AS versions
  FROM medup.event e, medup.event_payload(e) payload
 WHERE e.target = 'regress_other' ORDER BY e.event_id LIMIT 1;
DELETE FROM medup.sample WHERE target = 'regress_other';
DELETE FROM medup.event WHERE target = 'regress_other';
DELETE FROM medup.job_downtime WHERE target = 'regress_other';

-- Not Medplum: nothing is recorded, the outcome is kept.
SET medup.medplum_schema = 'mp_not_medplum';
SELECT medup.take_sample();
SELECT database_name = current_database() AS this_db, samples, skipped, last_outcome
  FROM medup.sampler;
SET medup.medplum_schema = 'mp_audit';

-- Retention: only what is older than medup.retention / medup.event_retention
-- goes, in batches.
INSERT INTO medup.sample (sampled_at, state)
SELECT now() - interval '40 days' - i * interval '1 minute', 'up_to_date'
  FROM generate_series(1, 5) i;
INSERT INTO medup.event (event_at, kind, detail)
SELECT now() - interval '400 days' - i * interval '1 minute', 'lock_taken', 'old'
  FROM generate_series(1, 3) i;
SELECT count(*) FILTER (WHERE sampled_at < now() - interval '30 days') AS old_samples,
       count(*) FILTER (WHERE sampled_at >= now() - interval '30 days') AS recent_samples
  FROM medup.sample;
SELECT medup.apply_retention(batch => 2) AS removed;
SELECT medup.apply_retention() AS removed;
SELECT medup.apply_retention() AS removed;
SELECT count(*) FILTER (WHERE sampled_at < now() - interval '30 days') AS old_samples,
       count(*) FILTER (WHERE sampled_at >= now() - interval '30 days') AS recent_samples
  FROM medup.sample;
SELECT count(*) FILTER (WHERE detail = 'old') AS old_events, count(*) AS events FROM medup.event;
-- Retention keeps up: a pass that deletes a whole batch (1,000 rows) is
-- followed by another at the next sample, not a minute later; a pass that
-- deletes less waits its minute again.
INSERT INTO medup.sample (sampled_at, state)
SELECT now() - interval '40 days' - i * interval '1 second', 'up_to_date'
  FROM generate_series(1, 3500) i;
UPDATE medup.sampler SET last_retention_at = NULL WHERE target = current_database();
CREATE TEMP TABLE retention_passes (pass integer, old_samples bigint, waits boolean);
DO $$
BEGIN
    FOR pass IN 1 .. 5 LOOP
        PERFORM medup.take_sample();
        INSERT INTO retention_passes
        SELECT pass, (SELECT count(*) FROM medup.sample WHERE sampled_at < now() - interval '30 days'),
               (SELECT last_retention_at IS NOT NULL FROM medup.sampler WHERE target = current_database());
    END LOOP;
END
$$;
SELECT * FROM retention_passes ORDER BY pass;
-- Waiting: old rows that come now stay until the next minute.
INSERT INTO medup.sample (sampled_at, state) VALUES (now() - interval '40 days', 'up_to_date');
SELECT medup.take_sample();
SELECT count(*) AS old_samples_kept FROM medup.sample WHERE sampled_at < now() - interval '30 days';
DELETE FROM medup.sample WHERE sampled_at < now() - interval '30 days';
-- How long each completed migration took here (from the jobs, no history needed).
SET medup.medplum_schema = 'mp_up_to_date';
SELECT count(*) AS completed, min(data_version), max(data_version),
       bool_and(duration > interval '0') AS all_positive
  FROM medup.durations;
SELECT data_version, server_version, attempts, duration FROM medup.durations
 WHERE data_version IN (1, 12, 53) ORDER BY data_version;

-- The settings, with their defaults.
SELECT name, setting, unit, context FROM pg_settings WHERE name LIKE 'medup.%' ORDER BY name;

-- The worker's databases (none listed here): medup_reader may read them.
SET ROLE medup_reader;
SELECT count(*) AS watched FROM medup.sampling;
SELECT target FROM medup.sampling;
SELECT count(*) AS completed, bool_and(target = current_database()) AS local FROM medup.durations;
RESET ROLE;

RESET medup.medplum_schema;
DELETE FROM medup.sample;
DELETE FROM medup.event;
DELETE FROM medup.sampler;
DROP SCHEMA mp_audit CASCADE;
-- medup's duration settings as intervals, their defaults from their one
-- definition in C; names outside medup's settings are refused.
SELECT medup.setting_interval('medup.naptime') = current_setting('medup.naptime')::interval AS naptime_as_set,
       medup.setting_interval('medup.stall_after') AS stall_after,
       medup.setting_interval('medup.retention') AS retention,
       medup.setting_interval('medup.event_retention') AS event_retention,
       medup.setting_interval(NULL) AS no_name;
SELECT medup.setting_interval('statement_timeout');
SELECT medup.setting_interval('medup.no_such_setting');
