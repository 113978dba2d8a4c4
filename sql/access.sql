-- medup_reader: every answer, no privilege on Medplum's tables.
\set SHOW_CONTEXT never
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = 'medup_reader';
CREATE ROLE medup_dba LOGIN IN ROLE medup_reader;
-- The schema to read is a superuser's choice, set before handing over.
SET medup.medplum_schema = 'mp_failed_retry';
SET ROLE medup_dba;
SELECT count(*) FROM mp_failed_retry."AsyncJob";
SELECT state, data_version, running_migration FROM medup.status();
SELECT count(*) FROM medup.migrations;
SELECT count(*) FROM medup.jobs;
SELECT count(*) FROM medup.invalid_indexes;
SELECT count(*) FROM medup.progress;
SELECT count(*) FROM medup.upgrade_path('4.1.2', 'latest');
SELECT count(*) FROM medup.check('4.1.18');
SELECT medup.gate('4.1.18');
-- Estimates: the statistics and the jobs' durations through medup's readers.
SELECT count(*) > 0 AS priced, bool_and(est_low <= est_high) AS ranges
  FROM medup.estimate('latest');
-- The loaders and sampling (it writes medup's tables) stay with the owner.
SELECT medup.load_releases('[]');
SELECT medup.load_migration_work('');
SELECT medup.take_sample();
-- It runs any SQL it is given: for medup's own functions only.
SELECT * FROM medup.cached_query('medup.sample'::regclass, 'SELECT 1', NULL) AS t(x integer);
SELECT count(*) >= 0 AS can_read_history FROM medup.history;
-- medup.medplum_schema steers what the readers read: superusers only, in
-- a SET and in ALTER ROLE/DATABASE ... SET alike.
SET medup.medplum_schema = 'pg_temp';
ALTER ROLE medup_dba SET medup.medplum_schema = 'pg_temp';
SHOW medup.medplum_schema;
RESET ROLE;
-- A role without medup_reader can use the type but not the answers.
CREATE ROLE nobody_special;
SET ROLE nobody_special;
SELECT '4.1.12-1'::medup.version = '4.1.12' AS type_works;
SELECT * FROM medup.status();
RESET ROLE;

-- The allow-list: what medup_reader may execute besides the type's
-- support functions (which PUBLIC may), and what PUBLIC may.
SELECT p.oid::regprocedure AS medup_reader_may_execute
  FROM pg_proc p
 WHERE p.pronamespace = 'medup'::regnamespace
   AND has_function_privilege('medup_reader', p.oid, 'EXECUTE')
   AND NOT has_function_privilege('nobody_special', p.oid, 'EXECUTE')
 ORDER BY p.oid::regprocedure::text;
SELECT count(*) AS public_may_execute,
       count(*) FILTER (WHERE p.proname LIKE 'version%' OR p.proname IN ('major', 'minor', 'patch', 'base'))
           AS of_which_the_type
  FROM pg_proc p
 WHERE p.pronamespace = 'medup'::regnamespace
   AND has_function_privilege('nobody_special', p.oid, 'EXECUTE');
-- medup_reader writes nothing of medup's.
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'medup'::regnamespace AND c.relkind IN ('r', 'v', 'S')
   AND (has_table_privilege('medup_reader', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
        OR has_table_privilege('nobody_special', c.oid, 'SELECT'));

-- cached_query() runs its SQL as the owner of the relation named, with
-- search_path and lock_timeout of its own, and gives the caller's back.
CREATE ROLE some_owner;
CREATE TABLE public.owned_by_someone (x integer);
ALTER TABLE public.owned_by_someone OWNER TO some_owner;
SET lock_timeout = '5s';
SET search_path = public, pg_catalog;
SELECT * FROM medup.cached_query('public.owned_by_someone'::regclass,
    'SELECT current_user::text, current_setting(''search_path''), current_setting(''lock_timeout'')', NULL)
    AS t(run_as text, search_path text, lock_timeout text);
SELECT current_user = session_user AS caller_again, current_setting('lock_timeout') AS lock_timeout,
       current_setting('search_path') AS search_path;
RESET lock_timeout;
RESET search_path;
DROP TABLE public.owned_by_someone;
DROP ROLE some_owner;

-- Every function that is not C has a fixed search_path, with pg_temp last
-- so that a session's temporary tables cannot stand in for medup's.
SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'medup'::regnamespace AND l.lanname IN ('sql', 'plpgsql')
   AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%pg_temp');
SELECT count(*) > 0 AS has_definer_functions FROM pg_proc p
 WHERE p.pronamespace = 'medup'::regnamespace AND p.prosecdef;

-- Medplum's tables are read as their owner, not as medup's owner: the
-- owner (Medplum's app role) puts a view in place of "DatabaseMigration"
-- whose column calls its own function, which records who ran it and tries
-- to make its role a superuser.  A superuser then calls status().
CREATE ROLE medplum_app;
CREATE SCHEMA mp_planted AUTHORIZATION medplum_app;
SET ROLE medplum_app;
CREATE TABLE mp_planted.ran_as (who name, superuser boolean, escalation text);
CREATE TABLE mp_planted.dm_real (id integer PRIMARY KEY, version integer NOT NULL,
                                 "dataVersion" integer NOT NULL, "firstBoot" boolean NOT NULL);
INSERT INTO mp_planted.dm_real VALUES (1, 105, 3, false);
CREATE FUNCTION mp_planted.spy(v anyelement) RETURNS anyelement LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO mp_planted.ran_as
    SELECT current_user, r.rolsuper, NULL FROM pg_roles r WHERE r.rolname = current_user;
    BEGIN
        ALTER ROLE medplum_app SUPERUSER;
    EXCEPTION WHEN OTHERS THEN
        -- The SQLSTATE (42501, insufficient_privilege), not the message:
        -- PostgreSQL 16 reworded it ("permission denied to alter role").
        INSERT INTO mp_planted.ran_as VALUES (current_user, NULL, SQLSTATE);
    END;
    RETURN v;
END $$;
CREATE VIEW mp_planted."DatabaseMigration" AS
    SELECT id, version, mp_planted.spy("dataVersion") AS "dataVersion", "firstBoot" FROM mp_planted.dm_real;
RESET ROLE;
SET medup.medplum_schema = 'mp_planted';
SELECT state, schema_version, data_version FROM medup.status();
SELECT DISTINCT who, superuser, escalation FROM mp_planted.ran_as ORDER BY escalation NULLS FIRST;
SELECT rolsuper FROM pg_roles WHERE rolname = 'medplum_app';
-- The same through a real table whose column type has an implicit cast
-- that runs the owner's code ("NOT deleted" casts to boolean): the cast
-- runs as the owner too.
SET ROLE medplum_app;
TRUNCATE mp_planted.ran_as;
CREATE TYPE mp_planted.sneaky AS (v boolean);
CREATE FUNCTION mp_planted.sneaky_to_bool(s mp_planted.sneaky) RETURNS boolean
    LANGUAGE sql AS $$ SELECT mp_planted.spy(s.v) $$;
CREATE CAST (mp_planted.sneaky AS boolean) WITH FUNCTION mp_planted.sneaky_to_bool(mp_planted.sneaky)
    AS IMPLICIT;
CREATE TABLE mp_planted."AsyncJob" (id uuid PRIMARY KEY, content text NOT NULL,
                                    "lastUpdated" timestamptz NOT NULL,
                                    deleted mp_planted.sneaky NOT NULL, type text, status text);
INSERT INTO mp_planted."AsyncJob"
VALUES (md5('planted')::uuid, '{"type":"data-migration","dataVersion":4,"status":"active"}',
        '2025-04-16 00:12:03.117+00', ROW(false), 'data-migration', 'active');
RESET ROLE;
SELECT data_version, status FROM medup.jobs;
SELECT DISTINCT who, superuser, escalation FROM mp_planted.ran_as ORDER BY escalation NULLS FIRST;
SELECT rolsuper FROM pg_roles WHERE rolname = 'medplum_app';
-- A column of a type medup does not expect: an answer, not an error.
SET ROLE medplum_app;
DROP VIEW mp_planted."DatabaseMigration";
CREATE TABLE mp_planted."DatabaseMigration" (id integer PRIMARY KEY, version integer NOT NULL,
                                             "dataVersion" mp_planted.sneaky NOT NULL,
                                             "firstBoot" boolean NOT NULL);
RESET ROLE;
SELECT state, problem FROM medup.status();
-- The owner cannot read its own table: an answer, not an error.
SET ROLE medplum_app;
DROP TABLE mp_planted."DatabaseMigration";
CREATE TABLE mp_planted."DatabaseMigration" (id integer PRIMARY KEY, version integer NOT NULL,
                                             "dataVersion" integer NOT NULL,
                                             "firstBoot" boolean NOT NULL);
INSERT INTO mp_planted."DatabaseMigration" VALUES (1, 105, 3, false);
REVOKE SELECT ON mp_planted."DatabaseMigration" FROM medplum_app;
RESET ROLE;
SELECT state, problem FROM medup.status();
RESET medup.medplum_schema;
SET client_min_messages = warning;
DROP SCHEMA mp_planted CASCADE;
RESET client_min_messages;

-- A "medup" schema that a non-superuser owns, or may create in, before
-- CREATE EXTENSION: refused, saying why.
\set regress_db :DBNAME
CREATE DATABASE medup_squat;
\c medup_squat
\set SHOW_CONTEXT never
CREATE ROLE squatter;
CREATE SCHEMA medup AUTHORIZATION squatter;
CREATE EXTENSION medup;
DROP SCHEMA medup;
CREATE SCHEMA medup;
GRANT CREATE ON SCHEMA medup TO squatter;
CREATE EXTENSION medup;
REVOKE CREATE ON SCHEMA medup FROM squatter;
CREATE EXTENSION medup;
SELECT n.nspname, pg_get_userbyid(n.nspowner) = current_user AS owned_by_installer
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'medup';
-- The update from 0.1 names the medup.medplum_schema settings that another
-- role may have made while it was a user setting.
DROP EXTENSION medup;
CREATE EXTENSION medup VERSION '0.1';
ALTER ROLE squatter IN DATABASE medup_squat SET medup.medplum_schema = 'elsewhere';
ALTER EXTENSION medup UPDATE;
ALTER ROLE squatter IN DATABASE medup_squat RESET medup.medplum_schema;
\c :regress_db
DROP DATABASE medup_squat;
DROP ROLE squatter;
DROP ROLE medup_dba, nobody_special, medplum_app;
RESET medup.medplum_schema;
