-- Remote targets without a remote: registering them, the errors that
-- guard them, this database as a target, and a target that is down (the
-- TAP test test/t/015_targets.pl reads real remote clusters).
\set SHOW_CONTEXT never
\set VERBOSITY default
\pset null '(null)'
SET client_min_messages = warning;

-- This database is a target under its own name, with no registration.
SELECT name, kind, server_name, cluster, role, medplum_schema FROM medup.targets;
SELECT (SELECT to_jsonb(s) - 'checked_at' FROM medup.status(current_database()) s)
     = (SELECT to_jsonb(s) - 'checked_at' FROM medup.status() s) AS same_answer;

-- Without dblink in this database.
SELECT medup.add_target('prod', 'nosuch');
CREATE SERVER medplum_down FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '127.0.0.1', port '1', dbname 'medplum', connect_timeout '2');
CREATE EXTENSION postgres_fdw;
CREATE SERVER medplum_down FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '127.0.0.1', port '1', dbname 'medplum', connect_timeout '2');
CREATE SERVER medplum_no_timeout FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '127.0.0.1', port '1', dbname 'medplum');
-- No user mapping for medup's owner (the error names it: SQLSTATE only here).
\set VERBOSITY sqlstate
SELECT medup.add_target('prod', 'medplum_down');
\set VERBOSITY default
CREATE USER MAPPING FOR CURRENT_USER SERVER medplum_down OPTIONS (user 'medup_monitor', password 'secret');
SELECT medup.add_target('prod', 'medplum_down');
-- dblink where every role may use it: refused.
CREATE EXTENSION dblink;
SELECT medup.add_target('prod', 'medplum_down');
CREATE SCHEMA medup_dblink;
ALTER EXTENSION dblink SET SCHEMA medup_dblink;

-- Bad input.
SELECT medup.add_target('bad name!', 'medplum_down');
SELECT medup.add_target(NULL, 'medplum_down');
SELECT medup.add_target(current_database(), 'medplum_down');
SELECT medup.add_target('prod', 'medplum_down', role => 'replica');
SELECT medup.add_target('prod', 'medplum_down', role => 'shard');
SELECT medup.add_target('prod', 'nosuch');
SELECT medup.add_target('prod', 'medplum_no_timeout');
SELECT medup.drop_target('nosuch');
SELECT * FROM medup.status('nosuch');

-- A target that is down: an error for it alone, a row in the fleet.
SELECT medup.add_target('prod', 'medplum_down');
SELECT medup.add_target('prod', 'medplum_down');
SELECT medup.add_target('shard1', 'medplum_down', 'c1', 'shard');
-- One global database per cluster; a cluster's range needs all its targets.
SELECT medup.add_target('global1', 'medplum_down', 'c1', 'global');
SELECT medup.add_target('global2', 'medplum_down', 'c1', 'global');
SELECT * FROM medup.clusters;
SELECT name, kind, server_name, cluster, role, medplum_schema, host, port, dbname FROM medup.targets;
SELECT state FROM medup.status('prod');
SELECT * FROM medup.check('4.2.6', target => 'prod');
SELECT medup.gate('4.2.6', target => 'prod');
SELECT count(*) FROM medup.jobs WHERE target = 'prod';
-- A filter on another target reads neither this database nor prod.
SELECT count(*) FROM medup.migrations WHERE target = 'nosuch';
SELECT name, cluster, role, reachable, state, error_code, error FROM medup.fleet;
SELECT * FROM medup.fleet_check('4.2.6', 'c1');
SELECT medup.fleet_gate('4.2.6');
SELECT medup.fleet_gate('4.2.6', 'nosuch');
-- This database only watches others: it is not in the fleet, and no
-- snapshot of a target outlives its answer.
SELECT count(*) FROM medup.fleet WHERE name = current_database();
SELECT medup.remote_active();

-- medup_reader sees the targets, but reads no facts itself.
SET ROLE medup_reader;
SELECT name FROM medup.targets ORDER BY name;
SELECT cluster, targets, reachable FROM medup.clusters;
SELECT medup.read_targets(ARRAY['prod']);
SELECT medup.snapshot();
-- The views' reader of a remote target runs only the five readers it
-- serves: any other name is refused, before anything is read.
SELECT * FROM medup.target_rows('prod', 'read_targets') AS x(a text);
SELECT * FROM medup.target_rows('prod', 'pg_sleep(10); SELECT 1') AS x(a text);
RESET ROLE;

-- The worker's sample samples the registered targets too: one that cannot
-- be read is a sample with its error and one target_unreachable event, not
-- an ERROR, and this database's sample is taken all the same.
SELECT medup.take_sample() IS NOT NULL AS took_sample;
SELECT medup.take_sample() IS NOT NULL AS took_sample;
SELECT target, state, error FROM medup.sample WHERE target <> current_database() ORDER BY target, sampled_at;
SELECT target, kind, detail FROM medup.event WHERE target <> current_database() ORDER BY event_id;
SELECT target, samples, skipped, last_outcome FROM medup.sampler WHERE target <> current_database() ORDER BY target;
SELECT target, state, error FROM medup.history WHERE target = 'prod' LIMIT 1;

-- A target that answers: this very database over a connection (the
-- loopback as a remote), in a copy of the mid-4.1 fixture.
CREATE SCHEMA mp_tsample;
CREATE TABLE mp_tsample."DatabaseMigration" AS SELECT * FROM mp_mid_4_1."DatabaseMigration";
CREATE TABLE mp_tsample."AsyncJob" (LIKE mp_mid_4_1."AsyncJob" INCLUDING ALL);
INSERT INTO mp_tsample."AsyncJob" SELECT * FROM mp_mid_4_1."AsyncJob";
CREATE TABLE mp_tsample."AsyncJob_History" (LIKE mp_mid_4_1."AsyncJob_History" INCLUDING ALL);
DO $$
BEGIN
    EXECUTE format('CREATE SERVER medplum_loop FOREIGN DATA WRAPPER dblink_fdw OPTIONS (host %L, port %L, dbname %L, connect_timeout ''2'')',
                   split_part(current_setting('unix_socket_directories'), ',', 1),
                   current_setting('port'), current_database());
    EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER medplum_loop OPTIONS (user %L)', current_user);
END
$$;
SELECT medup.drop_target('shard1'), medup.drop_target('global1');
SELECT medup.add_target('loop', 'medplum_loop', medplum_schema => 'mp_tsample');
SELECT medup.take_sample() IS NOT NULL AS took_sample;
SELECT target, state, schema_version, data_version, running_migration, rows_done, error
  FROM medup.sample WHERE target = 'loop' ORDER BY sampled_at;
-- What the target's sample holds is what this database's own sample of
-- the same tables holds.
SET medup.medplum_schema = 'mp_tsample';
SELECT medup.take_sample();
RESET medup.medplum_schema;
SELECT (SELECT to_jsonb(s) - 'sampled_at' - 'target' - 'progress_changed_at'
          FROM medup.sample s WHERE target = 'loop' ORDER BY sampled_at DESC LIMIT 1)
     = (SELECT to_jsonb(s) - 'sampled_at' - 'target' - 'progress_changed_at'
          FROM medup.sample s WHERE target = current_database() ORDER BY sampled_at DESC LIMIT 1)
       AS same_sample;
DELETE FROM medup.sample WHERE target = current_database();
DELETE FROM medup.event WHERE target = current_database();
-- Progress on the target: v11 completes, v12 starts.  The events carry
-- the target; durations and timeline too.
CALL medplum_fixture.complete_job('mp_tsample', '4.1.12', medplum_fixture.job_id('mp_mid_4_1', 11), 11,
  '2025-06-01 07:08:02.270+00', '2025-06-01 09:59:58.041+00');
CALL medplum_fixture.write_job('mp_tsample', '4.1.12', '00000000-0000-0000-0000-000000000012', 12,
  'accepted', '2025-06-01 10:00:00.117+00', now());
SELECT medup.take_sample() IS NOT NULL AS took_sample;
SELECT target, kind, data_version, detail FROM medup.event WHERE target = 'loop' ORDER BY event_id;
SELECT target, data_version, last_event FROM medup.timeline WHERE target = 'loop' ORDER BY data_version;
-- The target goes away and comes back: one event each way, and no event
-- of a change that did not happen (the comparison skips the gap).
ALTER SERVER medplum_loop OPTIONS (SET port '1');
SELECT medup.take_sample() IS NOT NULL AS took_sample;
SELECT medup.take_sample() IS NOT NULL AS took_sample;
DO $$ BEGIN EXECUTE format('ALTER SERVER medplum_loop OPTIONS (SET port %L)', current_setting('port')); END $$;
SELECT medup.take_sample() IS NOT NULL AS took_sample;
SELECT target, kind, data_version, regexp_replace(detail, 'Is the server.*', '...', 's') AS detail
  FROM medup.event WHERE target = 'loop' ORDER BY event_id;
SELECT state, data_version, running_migration, error IS NOT NULL AS has_error
  FROM medup.sample WHERE target = 'loop' ORDER BY sampled_at;
SELECT last_sample_at = (SELECT max(sampled_at) FROM medup.sample WHERE target = 'loop') AS last_sample_is_loops
  FROM medup.status('loop');
-- The fleet: each target's last sample that reached it (none for prod,
-- which is down), and sampling_late unknown, since the worker does not
-- watch this database (medup.databases is empty here).
SELECT f.name, f.last_sample_at IS NOT DISTINCT FROM
                 (SELECT max(sampled_at) FROM medup.sample s WHERE s.target = f.name AND s.state <> 'unreachable')
                 AS last_sample_is_newest_reached,
       f.last_sample_at IS NULL AS never_reached, f.sampling_late
  FROM medup.fleet f ORDER BY f.name;
-- Downtime per target: no Medplum server is connected to the target while
-- its v12 job runs, so the time between its samples is downtime, its own.
SELECT target, count(*) AS jobs FROM medup.job_downtime WHERE target <> current_database() GROUP BY 1;
-- Rate and stall of the target's running job come from the worker's
-- samples of the target, as for this database: 6,000 rows in the minute
-- between two samples, then a sample that finds it stalled.
DELETE FROM medup.sample WHERE target = 'loop';
INSERT INTO medup.sample (target, sampled_at, state, job_id, rows_done, stalled, progress_changed_at)
VALUES ('loop', now() - interval '70 s', 'migrating', '00000000-0000-0000-0000-000000000012', 1000, false, now() - interval '70 s'),
       ('loop', now() - interval '10 s', 'migrating', '00000000-0000-0000-0000-000000000012', 7000, false, now() - interval '10 s');
SELECT state, running_migration, rate AS rows_per_second, stalled_since FROM medup.status('loop');
INSERT INTO medup.sample (target, sampled_at, state, job_id, rows_done, stalled, progress_changed_at)
VALUES ('loop', now(), 'stalled', '00000000-0000-0000-0000-000000000012', 7000, true, '2025-06-01 10:05:00+00');
SELECT state, running_migration, stalled_since = '2025-06-01 10:05:00+00' AS stalled_since_its_last_progress
  FROM medup.status('loop');
SELECT medup.drop_target('loop');
DELETE FROM medup.sample WHERE target <> current_database();
DELETE FROM medup.event WHERE target <> current_database();
DELETE FROM medup.sampler WHERE target <> current_database();
DELETE FROM medup.job_downtime WHERE target <> current_database();
DROP SERVER medplum_loop CASCADE;
DROP SCHEMA mp_tsample CASCADE;

-- The setting is a superuser's.
SELECT name, setting, unit, context FROM pg_settings WHERE name = 'medup.target_timeout';

SELECT medup.drop_target('prod');
SELECT count(*) FROM medup.target;
DROP SERVER medplum_down CASCADE;
DROP SERVER medplum_no_timeout;
DROP EXTENSION dblink;
DROP EXTENSION postgres_fdw;
DROP SCHEMA medup_dblink;
RESET client_min_messages;
