-- medup.check() and medup.gate(): every rule, every error, and Medplum's
-- own answers on retry, first boot and rollback.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- The scenarios are sql/fixtures.sql's (built with test/medplum.sql, the
-- shared definition of Medplum's tables by era), and a few more built here
-- the same way.
-- mp_ready: 4.1.12 finished everything it runs (v12, schema version 93).
CALL medplum_fixture.create_tables('mp_ready', '4.1.12', 93, 12);
CALL medplum_fixture.complete_migrations('mp_ready', 12, '2025-02-11 21:04:17.318+00');
-- mp_first_boot_4_1: a fresh 4.1.12 install in first-boot mode at v5.
CALL medplum_fixture.create_tables('mp_first_boot_4_1', '4.1.12', 93, 5, first_boot => true);
CALL medplum_fixture.complete_migrations('mp_first_boot_4_1', 5, '2025-06-02 08:00:00.113+00', '4.1.12', first_boot => true);
-- mp_rollback_failed: 4.3.15 over a finished 4.2.6; v13 failed (an
-- OperationOutcome, as 4.3.13+ writes it).
CALL medplum_fixture.create_tables('mp_rollback_failed', '4.3.15', 97, 12);
CALL medplum_fixture.write_job('mp_rollback_failed', '4.3.15', medplum_fixture.job_id('mp_rollback_failed', 13), 13,
  'error', '2025-11-10 21:02:33.190+00', '2025-11-10 21:03:50.004+00',
  medplum_fixture.parameters(VARIADIC medplum_fixture.custom_failure('4.3.15', 'deadlock detected')),
  '2025-11-10 21:03:50.004+00');
-- mp_first_boot_4_3: a fresh 4.3.15 install in first-boot mode at v20.
CALL medplum_fixture.create_tables('mp_first_boot_4_3', '4.3.15', 97, 20, first_boot => true);
CALL medplum_fixture.complete_migrations('mp_first_boot_4_3', 20, '2025-11-12 10:00:00.271+00', '4.3.15', first_boot => true);
-- mp_first_boot_4_3_0: a fresh 4.3.12 install in first-boot mode at v22.
CALL medplum_fixture.create_tables('mp_first_boot_4_3_0', '4.3.12', 97, 22, first_boot => true);
CALL medplum_fixture.complete_migrations('mp_first_boot_4_3_0', 22, '2025-10-20 07:00:00.402+00', '4.3.12', first_boot => true);
-- mp_on_5_0: 5.0.15 deployed over a finished 4.5.2 (v29), v30 not started.
CALL medplum_fixture.create_tables('mp_on_5_0', '5.0.15', 100, 29);
-- mp_failed_5_1: on 5.1.20, v33 (no required_before) failed.
CALL medplum_fixture.create_tables('mp_failed_5_1', '5.1.20', 100, 32);
CALL medplum_fixture.write_job('mp_failed_5_1', '5.1.20', medplum_fixture.job_id('mp_failed_5_1', 33), 33,
  'error', '2026-03-02 21:00:00.512+00', '2026-03-02 21:44:09.031+00',
  medplum_fixture.parameters(VARIADIC medplum_fixture.custom_failure('5.1.20', 'out of shared memory')),
  '2026-03-02 21:44:09.031+00');
-- mp_on_5_2: 5.2.4 over a 5.1.x that had done v32 only; v33 (5.1.7, no
-- required_before) runs under 5.2.4.
CALL medplum_fixture.create_tables('mp_on_5_2', '5.2.4', 100, 32);
CALL medplum_fixture.start_job('mp_on_5_2', '5.2.4', 33, '2026-08-11 21:00:00.118+00');
-- mp_ancient: 3.1.2, before schema version 70 (reached at 3.1.6); its
-- exact schema version is not known, any lower one tells the same.
CALL medplum_fixture.create_tables('mp_ancient', '3.1.2', 65, 0);

-- What the gate decides, one line per rule that did not pass.
CREATE FUNCTION pg_temp.verdict(target text, current text DEFAULT NULL)
RETURNS TABLE (rule text, severity text, code text, message text, versions medup.version[])
LANGUAGE sql AS $$
  SELECT rule, severity, code, message, versions FROM medup.check(target, current) WHERE NOT ok
$$;

-- Safe: 4.1.x finished everything (v12), going to 4.2.6.
SET medup.medplum_schema = 'mp_ready';
SELECT rule, ok, severity, code, message, detail FROM medup.check('4.2.6');
SELECT medup.gate('4.2.6');
SELECT medup.gate('4.2', current => '4.1.18');
-- The typed columns: the versions used, inferred or given.
SELECT DISTINCT target_version, current_version, current_inferred FROM medup.check('4.2');
SELECT DISTINCT target_version, current_version, current_inferred FROM medup.check('4.2', '4.1.18');
-- A jump over 4.2: skipped minor, and v13-v28 would have to complete first
-- (Medplum checks only the next one); versions names the stops.
SELECT medup.gate('4.4.3');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM pg_temp.verdict('4.4.3', '4.2.6');
-- Crossing a major: a warning, not an error.
UPDATE mp_ready."DatabaseMigration" SET version = 98, "dataVersion" = 29;
SELECT medup.gate('5.0.15', current => '4.5.2');
-- Given, but older than the database shows: used, with a warning.
SELECT medup.gate('4.5.2', current => '4.4.3');
UPDATE mp_ready."DatabaseMigration" SET version = 93, "dataVersion" = 12;

-- Retry after a failure, 4.1+: redeploying the current version or a later
-- patch of the minor retries it (a WARNING says how); a newer minor stays
-- refused.
SET medup.medplum_schema = 'mp_failed';
SELECT medup.gate('4.1.18');
SELECT medup.gate('4.1.12', current => '4.1.12');
SELECT medup.gate('4.2.6');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM pg_temp.verdict('4.2.6', '4.1.18');
-- A patch too old to run v12 (it needs 4.1.12) does not retry it.
SELECT rule, severity, message, detail FROM medup.check('4.1.10', '4.1.9') WHERE rule = 'failed_migration';
-- Where Medplum's own check (the next migration only) would let a newer
-- minor start, the DETAILs say that medup is stricter, and why.
SET medup.medplum_schema = 'mp_failed_5_1';
SELECT rule, detail FROM medup.check('5.2.13', '5.1.20') WHERE rule IN ('failed_migration', 'pending_migrations');
-- The same in 5.x, the error an OperationOutcome.
SET medup.medplum_schema = 'mp_outcome';
SELECT medup.gate('5.0.15');
SELECT * FROM pg_temp.verdict('5.1.44', '5.0.15');

-- A running job one of whose resource types failed ('failing'): the
-- warning says the job will end in error.
SET medup.medplum_schema = 'mp_type_failed';
SELECT medup.gate('4.3.15');

-- Retry on 3.3-4.0: the admin action, not a restart.  Inferred from schema
-- version 85, the current version is 3.2.27, so 3.3.1 counts as a newer
-- minor; given as 3.3.1, it is a redeploy.
SET medup.medplum_schema = 'mp_v3_3_failed';
SELECT * FROM pg_temp.verdict('3.3.1');
SELECT medup.gate('3.3.1', current => '3.3.1');
SELECT medup.gate('4.0.4', current => '3.3.1');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- First boot, 5.x: the current version comes from the schema version; a
-- patch of the current minor runs the pending migrations itself (Medplum
-- skips its start-up check), with current inferred or given.
SET medup.medplum_schema = 'mp_first_boot';
SELECT rule, ok, message, detail FROM medup.check('5.0.15')
 WHERE rule IN ('current_version', 'pending_migrations');
SELECT medup.gate('5.0.15', current => '5.0.10');
-- A newer minor is refused until first boot ends: stricter than Medplum.
SELECT * FROM pg_temp.verdict('5.1.44', '5.0.15');
SELECT medup.gate('5.1.44', current => '5.0.15');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- First boot, 4.1-4.2, 4.3.0-4.3.12 and 4.3.13+.
SET medup.medplum_schema = 'mp_first_boot_4_1';
SELECT medup.gate('4.1.18');
SELECT * FROM pg_temp.verdict('4.2.6');
SET medup.medplum_schema = 'mp_first_boot_4_3_0';
SELECT medup.gate('4.3.15');
SET medup.medplum_schema = 'mp_first_boot_4_3';
SELECT rule, ok, message FROM medup.check('4.3.15') WHERE rule IN ('current_version', 'pending_migrations');
SELECT * FROM pg_temp.verdict('4.4.3');
-- 3.3-4.0 have no first boot: a fresh install sets the data version to
-- the latest it knows.  4.0.4 at v1 goes on to 4.1.18, not straight to 4.2.6.
SET medup.medplum_schema = 'mp_skipped';
SELECT medup.gate('4.1.18');
SELECT medup.gate('4.2.6', current => '4.0.4');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- Rollback, 4.x: to the latest patch of the previous minor, while none of
-- the current minor's post-deploy migrations is applied.  v13 runs: the
-- rollback must come first, and a warning says so.
SET medup.medplum_schema = 'mp_rollback_open';
SELECT rule, ok, message, detail, versions FROM medup.check('4.2.6', current => '4.3.15')
 WHERE rule = 'downgrade';
SELECT medup.gate('4.2.6', current => '4.3.15');
-- Not the latest patch of the previous minor, two minors back, a patch of
-- the current minor: refused, versions names the rollback target.
SELECT medup.gate('4.2.4', current => '4.3.15');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM pg_temp.verdict('4.1.18', '4.3.15');
SELECT * FROM pg_temp.verdict('4.3.12', '4.3.15');
-- v13 applied: closed, and the error names it.
SET medup.medplum_schema = 'mp_rollback_closed';
SELECT medup.gate('4.2.6', current => '4.3.15');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- v13 failed: not applied, the rollback leaves it behind, with a warning.
SET medup.medplum_schema = 'mp_rollback_failed';
SELECT medup.gate('4.2.6', current => '4.3.15');
-- 5.0 back to 4.5.2 while v30 is not applied: crossing a major warns.
SET medup.medplum_schema = 'mp_on_5_0';
SELECT medup.gate('4.5.2', current => '5.0.15');
-- Back to 5.1.44 while v33 (a 5.1 migration) runs: the window is open
-- (5.2 has applied none), and 5.1.44 takes v33 up again.
SET medup.medplum_schema = 'mp_on_5_2';
SELECT medup.gate('5.1.44', current => '5.2.4');
-- Before 4.x, no rollback at all.
SET medup.medplum_schema = 'mp_skipped';
SELECT medup.gate('3.3.1', current => '4.0.4');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- The migration lock held by another server.
SET medup.medplum_schema = 'mp_ready';
SELECT pg_advisory_lock(1);
\set VERBOSITY terse
SELECT medup.gate('4.2.6');
\set VERBOSITY default
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT detail ~ '^Session \d+ \(role \w+, application "pg_regress/gate"\) holds Medplum''s migration lock' AS names_the_session,
       hint FROM medup.check('4.2.6') WHERE rule = 'migration_lock';
-- Held by a Medplum server: its pre-deploy migrations run.
SET application_name = 'medplum-server';
\set VERBOSITY terse
SELECT medup.gate('4.2.6');
\set VERBOSITY default
SELECT hint FROM medup.check('4.2.6') WHERE rule = 'migration_lock';
RESET application_name;
SELECT pg_advisory_unlock(1);
-- An index a failed concurrent build left invalid: a warning.
CREATE TABLE mp_ready."Observation" (id integer);
INSERT INTO mp_ready."Observation" VALUES (1), (1);
CREATE UNIQUE INDEX CONCURRENTLY "Observation_id_idx" ON mp_ready."Observation" (id);
SELECT medup.gate('4.2.6');
DROP TABLE mp_ready."Observation";
-- Unknown target, malformed versions, no target.
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
-- Nothing tells the version (a schema version older than medup knows, no
-- migration done) and no current given: medup asks for it.
SET medup.medplum_schema = 'mp_ancient';
SELECT medup.gate('3.3.1');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT medup.gate('3.3.1', current => '3.2.33');
-- 3.1.12 at schema version 70: at least 3.1.6, so 3.2 comes first.
SET medup.medplum_schema = 'mp_pre_3_3';
SELECT * FROM pg_temp.verdict('3.3.1');
-- Not a Medplum database.
SET medup.medplum_schema = 'mp_not_medplum';
SELECT medup.gate('4.2.6');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT rule, ok, message FROM medup.check('4.2.6');

-- Every failing row, in every scenario and for targets of every kind,
-- carries a DETAIL and a HINT (gate() raises them), an error row an error
-- SQLSTATE and a warning 01000; and which SQLSTATE each rule gave (the lock,
-- the invalid index and the unreadable tables are above and in
-- test/t/010_deploy_gate.pl).
CREATE FUNCTION pg_temp.failing_rows() RETURNS TABLE (schema text, target text, rule text,
                                                      severity text, code text, complete boolean)
LANGUAGE plpgsql AS $$
BEGIN
  FOREACH schema IN ARRAY ARRAY['mp_ready', 'mp_failed', 'mp_failed_5_1', 'mp_outcome', 'mp_v3_3_failed', 'mp_type_failed',
                                'mp_first_boot', 'mp_first_boot_4_1', 'mp_first_boot_4_3_0', 'mp_first_boot_4_3',
                                'mp_skipped', 'mp_rollback_open', 'mp_rollback_closed', 'mp_rollback_failed',
                                'mp_on_5_0', 'mp_pre_3_3', 'mp_not_medplum'] LOOP
    PERFORM set_config('medup.medplum_schema', schema, false);
    FOREACH target IN ARRAY ARRAY['3.3.1', '4.0.4', '4.1.18', '4.2.4', '4.2.6', '4.4.3', '5.0.15', '5.2.13', '9.9.9', '4.2.x'] LOOP
      RETURN QUERY SELECT schema, target, c.rule, c.severity, c.code,
                          c.detail IS NOT NULL AND c.hint IS NOT NULL
                          AND ((c.severity = 'error' AND c.code IN ('55000', '22023', '22P02'))
                               OR (c.severity = 'warning' AND c.code = '01000'))
                     FROM medup.check(target) c WHERE NOT c.ok;
    END LOOP;
  END LOOP;
END $$;
CREATE TEMP TABLE failing AS SELECT * FROM pg_temp.failing_rows();
SELECT schema, target, rule FROM failing WHERE NOT complete;
SELECT DISTINCT rule, severity, code FROM failing ORDER BY 1, 2, 3;

DROP SCHEMA mp_ready, mp_failed_5_1, mp_on_5_2, mp_first_boot_4_1, mp_first_boot_4_3_0, mp_first_boot_4_3, mp_rollback_failed, mp_on_5_0, mp_ancient CASCADE;
RESET medup.medplum_schema;
RESET client_min_messages;
