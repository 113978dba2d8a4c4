-- medup_reader: every answer, no privilege on Medplum's tables.
\set SHOW_CONTEXT never
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = 'medup_reader';
CREATE ROLE medup_dba LOGIN IN ROLE medup_reader;
SET ROLE medup_dba;
SET medup.medplum_schema = 'mp_failed_retry';
SELECT count(*) FROM mp_failed_retry."AsyncJob";
SELECT state, data_version, running_migration FROM medup.status();
SELECT count(*) FROM medup.migrations;
SELECT count(*) FROM medup.jobs;
SELECT count(*) FROM medup.invalid_indexes;
SELECT count(*) FROM medup.progress;
SELECT count(*) FROM medup.upgrade_path('4.1.2', 'latest');
SELECT count(*) FROM medup.check('4.1.18');
SELECT medup.gate('4.1.18');
-- The loaders and sampling (it writes medup's tables) stay with the owner.
SELECT medup.load_releases('[]');
SELECT medup.sample();
-- It runs any SQL it is given: for medup's own functions only.
SELECT * FROM medup.cached_query('SELECT 1', NULL) AS t(x integer);
SELECT count(*) >= 0 AS can_read_history FROM medup.history;
RESET ROLE;
-- A role without medup_reader can use the type but not the answers.
CREATE ROLE nobody_special;
SET ROLE nobody_special;
SELECT '4.1.12-1'::medup.version = '4.1.12' AS type_works;
SELECT * FROM medup.status();
RESET ROLE;
-- Every SECURITY DEFINER function has a fixed search_path, with pg_temp
-- last so that a session's temporary tables cannot stand in for medup's.
SELECT p.proname FROM pg_proc p
 WHERE p.pronamespace = 'medup'::regnamespace AND p.prosecdef
   AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%pg_temp');
SELECT count(*) > 0 AS has_definer_functions FROM pg_proc p
 WHERE p.pronamespace = 'medup'::regnamespace AND p.prosecdef;
DROP ROLE medup_dba, nobody_special;
RESET medup.medplum_schema;
