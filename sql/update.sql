--
-- update: ALTER EXTENSION medup UPDATE from every earlier release keeps
-- what the DBA and the worker recorded and the grants the DBA made, and
-- leaves exactly the objects a fresh install creates.
--
-- Each in a database of its own (test/update-scenario.sql): the extension
-- is dropped and created again.
--
-- Every release can be installed, and updated to the current one.
SELECT version, superuser, relocatable, schema
  FROM pg_available_extension_versions WHERE name = 'medup' ORDER BY version;
SELECT source, target, path
  FROM pg_extension_update_paths('medup') WHERE path IS NOT NULL ORDER BY source, target;

\set from '0.1'
\i test/update-scenario.sql
\set from '0.2'
\i test/update-scenario.sql

-- What makes the grants again runs only inside the update.
SELECT medup.restore_grant('GRANT EXECUTE ON FUNCTION medup.status() TO PUBLIC');
