-- medup.check() and medup.gate(): every rule, every error.
\set SHOW_CONTEXT never

-- Safe: 4.1.x finished everything (v12), going to 4.2.6.
CREATE SCHEMA mp_ready;
CREATE TABLE mp_ready."DatabaseMigration" AS SELECT * FROM mp_failed."DatabaseMigration";
UPDATE mp_ready."DatabaseMigration" SET "dataVersion" = 12;
CREATE TABLE mp_ready."AsyncJob" (LIKE mp_failed."AsyncJob" INCLUDING ALL);
SET medup.medplum_schema = 'mp_ready';
SELECT rule, ok, severity, code, message, detail FROM medup.check('4.2.6');
SELECT medup.gate('4.2.6');
SELECT medup.gate('4.2', current => '4.1.18');
-- The same database, a jump over 4.2: skipped minor, and v13-v28 would
-- have to complete first (Medplum checks only the next one).
SELECT medup.gate('4.4.3');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT rule, detail FROM medup.check('4.4.3', '4.2.6') WHERE NOT ok;
-- Crossing a major: a warning, not an error.
UPDATE mp_ready."DatabaseMigration" SET "dataVersion" = 29;
SELECT medup.gate('5.0.15', current => '4.5.2');

-- Pending migrations, with Medplum's own example: v12 pending, 4.2.6 target.
SET medup.medplum_schema = 'mp_failed_retry';
SELECT medup.gate('4.2.6');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT medup.gate('4.1.18');
-- A failed latest attempt.
SET medup.medplum_schema = 'mp_failed';
SELECT medup.gate('4.1.18');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- Skipped minor: 4.0.x straight to 4.2.6 names every missing stop.
SET medup.medplum_schema = 'mp_skipped';
SELECT medup.gate('4.2.6', current => '4.0.4');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- The migration lock held by another server.
SET medup.medplum_schema = 'mp_ready';
UPDATE mp_ready."DatabaseMigration" SET "dataVersion" = 12;
SELECT pg_advisory_lock(1);
\set VERBOSITY terse
SELECT medup.gate('4.2.6');
\set VERBOSITY default
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT detail ~ '^Session \d+ holds Medplum''s migration lock' AS names_the_session
  FROM medup.check('4.2.6') WHERE rule = 'migration_lock';
SELECT pg_advisory_unlock(1);
-- Downgrade, unknown target, malformed versions, no target.
SELECT medup.gate('4.1.12', current => '4.2.6');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT medup.gate('4.2.5');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT medup.gate('9.9.9');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT medup.gate('4.2.x');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT medup.gate('4.2.6', current => 'four');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT medup.gate(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- Nothing completed yet and no current given: medup asks for it.
SET medup.medplum_schema = 'mp_pre_3_3';
SELECT medup.gate('3.3.1');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT medup.gate('3.3.1', current => '3.2.33');
-- Not a Medplum database.
SET medup.medplum_schema = 'mp_not_medplum';
SELECT medup.gate('4.2.6');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT rule, ok, message FROM medup.check('4.2.6');

DROP SCHEMA mp_ready CASCADE;
RESET medup.medplum_schema;
