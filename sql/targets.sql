-- Remote targets without a remote: registering them, the errors that
-- guard them, this database as a target, and a target that is down (the
-- TAP test test/t/006_targets.pl reads real remote clusters).
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
SELECT medup.read_targets(ARRAY['prod']);
SELECT medup.snapshot();
RESET ROLE;

-- The setting is a superuser's.
SELECT name, setting, unit, context FROM pg_settings WHERE name = 'medup.target_timeout';

SELECT medup.drop_target('prod'), medup.drop_target('shard1');
SELECT count(*) FROM medup.target;
DROP SERVER medplum_down CASCADE;
DROP SERVER medplum_no_timeout;
DROP EXTENSION dblink;
DROP EXTENSION postgres_fdw;
DROP SCHEMA medup_dblink;
RESET client_min_messages;
