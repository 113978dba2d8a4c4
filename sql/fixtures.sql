--
-- fixtures: Medplum databases of every era and state, one schema each,
-- built with the shared definition of Medplum's tables (test/medplum.sql,
-- read relative to the directory pg_regress runs in: the repository).
-- Independent of medup.  Every id and time is fixed, so the output does not
-- change from run to run.  Numbers in the names refer to the points of the
-- issue that made medup read Medplum as it really is.
--
SET client_min_messages = warning;
\set ECHO none
\i test/medplum.sql
\set ECHO all
DROP SCHEMA IF EXISTS mp_not_medplum, mp_no_migration_table, mp_pre_3_3, mp_v3_3, mp_v3_3_failed,
  mp_skipped, mp_fresh_4_0, mp_mid_4_1, mp_failed_retry, mp_failed, mp_malformed, mp_type_failed,
  mp_reused, mp_custom_running, mp_completing, mp_rollback_open, mp_rollback_closed,
  mp_first_boot, mp_outcome, mp_up_to_date CASCADE;

-- mp_not_medplum: an unrelated application schema.
CREATE SCHEMA mp_not_medplum;
CREATE TABLE mp_not_medplum.orders (id integer PRIMARY KEY, customer text NOT NULL);
INSERT INTO mp_not_medplum.orders SELECT i, 'customer ' || i % 7 FROM generate_series(1, 25) i;

-- mp_no_migration_table: "AsyncJob" of 5.0.10 but no "DatabaseMigration".
CALL medplum_fixture.create_tables('mp_no_migration_table', '5.0.10', 100, 2);
DROP TABLE mp_no_migration_table."DatabaseMigration";
CALL medplum_fixture.complete_migrations('mp_no_migration_table', 2, '2026-01-13 21:06:44.357+00', '5.0.10');

-- mp_pre_3_3: 3.1.12, before the data-migration framework (and before
-- "AsyncJob" had type/status): bulk exports only.
CALL medplum_fixture.create_tables('mp_pre_3_3', '3.1.12', 70, 0);
CALL medplum_fixture.add_other_jobs('mp_pre_3_3', '3.1.12', 15, '2024-09-02 08:00+00', '2024-12-20 17:00+00');

-- mp_v3_3 (1, 2): 3.3.1, no "firstBoot"; v1, a reindex, runs: Patient
-- done, Observation past its first 50,000 rows (cursor only, no count).
CALL medplum_fixture.create_tables('mp_v3_3', '3.3.1', 85, 0);
CALL medplum_fixture.add_other_jobs('mp_v3_3', '3.3.1', 40, '2025-01-06 07:00+00', '2025-02-11 20:00+00');
CALL medplum_fixture.start_job('mp_v3_3', '3.3.1', 1, '2025-02-11 21:04:17.318+00');
CALL medplum_fixture.write_job('mp_v3_3', '3.3.1', medplum_fixture.job_id('mp_v3_3', 1), 1, 'accepted',
  '2025-02-11 21:04:17.318+00', '2025-02-11 21:19:40.902+00',
  medplum_fixture.parameters(medplum_fixture.reindex_done('Patient', 48211, 301877),
                             medplum_fixture.reindex_running('Observation', '2023-04-18 09:12:55.031+00')));

-- mp_v3_3_failed (7): 3.3.1, v1 ended in error: one resource type failed
-- (Medplum went on with the next), no top-level error.
CALL medplum_fixture.create_tables('mp_v3_3_failed', '3.3.1', 85, 0);
CALL medplum_fixture.start_job('mp_v3_3_failed', '3.3.1', 1, '2025-02-11 21:04:17.318+00');
CALL medplum_fixture.write_job('mp_v3_3_failed', '3.3.1', medplum_fixture.job_id('mp_v3_3_failed', 1), 1,
  'error', '2025-02-11 21:04:17.318+00', '2025-02-11 23:40:02.115+00',
  medplum_fixture.parameters(medplum_fixture.reindex_done('Patient', 48211, 301877),
    medplum_fixture.reindex_failed('3.3.1', 'Observation', 'canceling statement due to statement timeout',
                                   '2022-11-02 17:45:10.220+00'),
    medplum_fixture.reindex_done('Encounter', 120433, 988012)),
  '2025-02-11 23:40:02.115+00');

-- mp_skipped (1): 4.0.4 with v1 done, no "firstBoot"; about to get 4.2.6
-- and so skip 4.1.
CALL medplum_fixture.create_tables('mp_skipped', '4.0.4', 86, 1);
CALL medplum_fixture.complete_migrations('mp_skipped', 1, '2025-02-11 21:04:17.318+00');

-- mp_fresh_4_0: a fresh 4.0.4 install: Medplum 3.3-4.0 sets "dataVersion"
-- straight to its latest migration, and runs no job.
CALL medplum_fixture.create_tables('mp_fresh_4_0', '4.0.4', 86, 1);

-- mp_mid_4_1 (2, 7): 4.1.12, v1..v10 done, v11 (a reindex) runs: two
-- types done, the third past 50,000 rows; 2000 bulk exports beside it.
CALL medplum_fixture.create_tables('mp_mid_4_1', '4.1.12', 93, 10);
CALL medplum_fixture.add_other_jobs('mp_mid_4_1', '4.1.12', 2000, '2025-01-06 07:00+00', '2025-06-01 06:55+00');
CALL medplum_fixture.complete_migrations('mp_mid_4_1', 10, '2025-02-11 21:04:17.318+00');
CALL medplum_fixture.start_job('mp_mid_4_1', '4.1.12', 11, '2025-06-01 07:08:02.270+00');
CALL medplum_fixture.write_job('mp_mid_4_1', '4.1.12', medplum_fixture.job_id('mp_mid_4_1', 11), 11,
  'accepted', '2025-06-01 07:08:02.270+00', '2025-06-01 09:12:40.118+00',
  medplum_fixture.parameters(medplum_fixture.reindex_done('Task', 1843200, 4870310),
                             medplum_fixture.reindex_done('ServiceRequest', 412650, 1503227),
                             medplum_fixture.reindex_running('Communication', '2023-11-07 14:22:31.907+00')));

-- mp_failed_retry (3, 7): 4.1.12, v1..v11 done; v12 (custom) failed once
-- (error and stack), and a new job, created by the restart, runs: a custom
-- migration writes nothing until it ends.
CALL medplum_fixture.create_tables('mp_failed_retry', '4.1.12', 93, 11);
CALL medplum_fixture.complete_migrations('mp_failed_retry', 11, '2025-02-11 21:04:17.318+00');
CALL medplum_fixture.start_job('mp_failed_retry', '4.1.12', 12, '2025-06-01 10:00:00+00');
CALL medplum_fixture.write_job('mp_failed_retry', '4.1.12', medplum_fixture.job_id('mp_failed_retry', 12, 1), 12,
  'error', '2025-06-01 10:00:00+00', '2025-06-01 11:42:17.664+00',
  medplum_fixture.parameters(VARIADIC medplum_fixture.custom_failure('4.1.12', 'canceling statement due to statement timeout')),
  '2025-06-01 11:42:17.664+00');
CALL medplum_fixture.start_job('mp_failed_retry', '4.1.12', 12, '2025-06-02 08:15:00+00', 2);

-- mp_failed (3): 4.1.12, v1..v11 done; v12 was cancelled once, then its
-- latest attempt failed after its first action (disk full).
CALL medplum_fixture.create_tables('mp_failed', '4.1.12', 93, 11);
CALL medplum_fixture.complete_migrations('mp_failed', 11, '2025-02-11 21:04:17.318+00');
CALL medplum_fixture.start_job('mp_failed', '4.1.12', 12, '2025-06-01 10:00:00+00');
CALL medplum_fixture.write_job('mp_failed', '4.1.12', medplum_fixture.job_id('mp_failed', 12, 1), 12,
  'cancelled', '2025-06-01 10:00:00+00', '2025-06-01 10:21:13.505+00');
CALL medplum_fixture.start_job('mp_failed', '4.1.12', 12, '2025-06-01 10:35:42.019+00', 2);
CALL medplum_fixture.write_job('mp_failed', '4.1.12', medplum_fixture.job_id('mp_failed', 12, 2), 12,
  'error', '2025-06-01 10:35:42.019+00', '2025-06-01 13:08:55.387+00',
  medplum_fixture.parameters(VARIADIC
    ARRAY[medplum_fixture.custom_action('CREATE INDEX CONCURRENTLY IF NOT EXISTS "v12_idx"', 8341626)]
    || medplum_fixture.custom_failure('4.1.12', 'could not extend file "base/16401/2619.3": No space left on device')),
  '2025-06-01 13:08:55.387+00');

-- mp_malformed: v1..v3 done; two v4 jobs medup must survive: one whose
-- dataVersion is a string, one whose content was cut off.
CALL medplum_fixture.create_tables('mp_malformed', '4.1.0', 89, 3);
CALL medplum_fixture.complete_migrations('mp_malformed', 3, '2025-04-15 20:41:09.552+00');
CALL medplum_fixture.start_job('mp_malformed', '4.1.0', 4, '2025-04-16 00:12:03.117+00');
UPDATE mp_malformed."AsyncJob" SET content = replace(content, '"dataVersion":4', '"dataVersion":"four"')
 WHERE id = medplum_fixture.job_id('mp_malformed', 4);
INSERT INTO mp_malformed."AsyncJob" (id, content, "lastUpdated", "__version", compartments, type, status)
VALUES (medplum_fixture.job_id('mp_malformed', 4, 2), '{"resourceType":"AsyncJob","type":"data-migration","status":"acc',
        '2025-04-16 00:31:47.902+00', 7, '{}', 'data-migration', 'accepted');

-- mp_type_failed (6): 4.3.12 (system project), v1..v25 done; v26, a
-- reindex, runs on: Task done, ServiceRequest failed (its cursor at the
-- epoch), Communication in progress.  The job will end in error.
CALL medplum_fixture.create_tables('mp_type_failed', '4.3.12', 97, 25);
CALL medplum_fixture.complete_migrations('mp_type_failed', 25, '2025-02-11 21:04:17.318+00');
CALL medplum_fixture.start_job('mp_type_failed', '4.3.12', 26, '2025-10-15 03:30:12.804+00');
CALL medplum_fixture.write_job('mp_type_failed', '4.3.12', medplum_fixture.job_id('mp_type_failed', 26), 26,
  'accepted', '2025-10-15 03:30:12.804+00', '2025-10-15 05:02:51.377+00',
  medplum_fixture.parameters(medplum_fixture.reindex_done('Task', 950114, 2730005),
    medplum_fixture.reindex_failed('4.3.12', 'ServiceRequest', 'value too long for type character varying(255)'),
    medplum_fixture.reindex_running('Communication', '2024-07-30 12:00:41.660+00')));

-- mp_reused (7): 4.3.12, v1..v22 done; v23 (a reindex), created by 4.3.11,
-- was restarted by the deploy of 4.3.12: the same job (id, requestTime,
-- the rest of its fields) is reused, its output cleared, and the reindex
-- resumed from its cursor.  One attempt.
CALL medplum_fixture.create_tables('mp_reused', '4.3.12', 97, 22);
CALL medplum_fixture.complete_migrations('mp_reused', 22, '2025-02-11 21:04:17.318+00');
CALL medplum_fixture.start_job('mp_reused', '4.3.11', 23, '2025-10-14 21:11:03.512+00');
CALL medplum_fixture.write_job('mp_reused', '4.3.11', medplum_fixture.job_id('mp_reused', 23), 23,
  'accepted', '2025-10-14 21:11:03.512+00', '2025-10-14 23:40:19.006+00',
  medplum_fixture.parameters(medplum_fixture.reindex_running('Patient', '2022-03-01 10:00:00+00')));
CALL medplum_fixture.write_job('mp_reused', '4.3.11', medplum_fixture.job_id('mp_reused', 23), 23,
  'accepted', '2025-10-14 21:11:03.512+00', '2025-10-15 06:02:44.951+00');
CALL medplum_fixture.write_job('mp_reused', '4.3.11', medplum_fixture.job_id('mp_reused', 23), 23,
  'accepted', '2025-10-14 21:11:03.512+00', '2025-10-15 06:31:09.418+00',
  medplum_fixture.parameters(medplum_fixture.reindex_running('Patient', '2023-08-14 16:21:07.299+00')));

-- mp_custom_running (2): 4.3.12, v1..v26 done; v27, a custom migration,
-- runs and has written nothing since it was created.
CALL medplum_fixture.create_tables('mp_custom_running', '4.3.12', 97, 26);
CALL medplum_fixture.complete_migrations('mp_custom_running', 26, '2025-02-11 21:04:17.318+00');
CALL medplum_fixture.start_job('mp_custom_running', '4.3.12', 27, '2025-10-15 09:14:26.370+00');

-- mp_completing: the moment between Medplum raising "dataVersion" to 27
-- and marking job v27 completed.
CALL medplum_fixture.create_tables('mp_completing', '4.3.12', 97, 27);
CALL medplum_fixture.complete_migrations('mp_completing', 26, '2025-02-11 21:04:17.318+00');
CALL medplum_fixture.start_job('mp_completing', '4.3.12', 27, '2025-10-15 09:14:26.370+00');

-- mp_rollback_open (5): 4.3.15 deployed over 4.2.6 (schema version 97),
-- 4.1's migrations done, none of 4.3's applied yet: v13 runs.
CALL medplum_fixture.create_tables('mp_rollback_open', '4.3.15', 97, 12);
CALL medplum_fixture.complete_migrations('mp_rollback_open', 12, '2025-02-11 21:04:17.318+00');
CALL medplum_fixture.start_job('mp_rollback_open', '4.3.15', 13, '2025-11-10 21:02:33.190+00');

-- mp_rollback_closed (5): the same a while later: v13 applied, v14 runs.
CALL medplum_fixture.create_tables('mp_rollback_closed', '4.3.15', 97, 13);
CALL medplum_fixture.complete_migrations('mp_rollback_closed', 12, '2025-02-11 21:04:17.318+00');
CALL medplum_fixture.complete_migrations('mp_rollback_closed', 13, '2025-11-10 21:02:33.190+00', '4.3.15', "from" => 13);
CALL medplum_fixture.start_job('mp_rollback_closed', '4.3.15', 14, '2025-11-10 22:31:40.077+00');

-- mp_first_boot (4): a fresh 5.0.10 install, still in first-boot mode at
-- data version 12 (reindexes skipped), v13 running.
CALL medplum_fixture.create_tables('mp_first_boot', '5.0.10', 100, 12, first_boot => true);
CALL medplum_fixture.complete_migrations('mp_first_boot', 12, '2026-11-20 09:00:04.512+00', '5.0.10', first_boot => true);
CALL medplum_fixture.start_job('mp_first_boot', '5.0.10', 13, '2026-11-20 09:00:31.977+00');

-- mp_outcome (7): 5.0.10, v1..v30 done; v31 (custom) failed: its error is
-- an OperationOutcome (4.3.13+).
CALL medplum_fixture.create_tables('mp_outcome', '5.0.10', 100, 30);
CALL medplum_fixture.complete_migrations('mp_outcome', 30, '2025-02-11 21:04:17.318+00');
CALL medplum_fixture.start_job('mp_outcome', '5.0.10', 31, '2026-02-02 21:10:09.145+00');
CALL medplum_fixture.write_job('mp_outcome', '5.0.10', medplum_fixture.job_id('mp_outcome', 31), 31,
  'error', '2026-02-02 21:10:09.145+00', '2026-02-02 21:58:45.157+00',
  medplum_fixture.parameters(VARIADIC medplum_fixture.custom_failure('5.0.10',
    'could not create unique index "Patient___nameTrgm_idx"')),
  '2026-02-02 21:58:45.157+00');

-- mp_up_to_date: 5.2.4 with every known migration (v1..v53) done.
CALL medplum_fixture.create_tables('mp_up_to_date', '5.2.4', 100, 53);
CALL medplum_fixture.complete_migrations('mp_up_to_date', 53, '2025-02-11 21:04:17.318+00');

--
-- What was built, per schema: the "DatabaseMigration" row and columns,
-- the "AsyncJob" columns of the era, and the data-migration jobs.
--
CREATE FUNCTION pg_temp.json_ok(t text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN PERFORM t::json; RETURN true; EXCEPTION WHEN others THEN RETURN false; END $$;

CREATE FUNCTION pg_temp.summary() RETURNS TABLE (schema name, migration_row text, job_columns text,
    jobs bigint, dm_jobs bigint, not_json bigint, history bigint, last_dm text)
LANGUAGE plpgsql AS $$
BEGIN
  FOR schema IN SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mp\_%' ORDER BY 1 LOOP
    migration_row := NULL; job_columns := NULL; jobs := NULL; dm_jobs := NULL;
    not_json := NULL; history := NULL; last_dm := NULL;
    IF to_regclass(format('%I."DatabaseMigration"', schema)) IS NOT NULL THEN
      EXECUTE format('SELECT row_to_json(d)::text FROM %I."DatabaseMigration" d', schema) INTO migration_row;
    END IF;
    IF to_regclass(format('%I."AsyncJob"', schema)) IS NOT NULL THEN
      job_columns := (SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
                       WHERE attrelid = format('%I."AsyncJob"', schema)::regclass AND attnum > 4);
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

-- The shapes, checked against the facts: the keys of every data-migration
-- job in the order they were written (json keeps it), per creating release's
-- era, with the row format and project of each era.
SELECT medplum_fixture.era(j.content::jsonb->>'minServerVersion') AS era,
       (SELECT string_agg(k, ',') FROM json_object_keys(j.content::json) k) AS keys,
       j."__version", j."projectId", count(*) AS jobs
  FROM (SELECT * FROM mp_up_to_date."AsyncJob" UNION ALL SELECT * FROM mp_first_boot."AsyncJob"
        UNION ALL SELECT * FROM mp_failed."AsyncJob") j
 WHERE j.type = 'data-migration'
 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3;
-- Compact JSON: no space outside strings, in every fixture.
SELECT count(*) AS jobs_with_spaces
  FROM (SELECT content FROM mp_up_to_date."AsyncJob" UNION ALL SELECT content FROM mp_mid_4_1."AsyncJob") j
 WHERE regexp_replace(content, '"([^"\\]|\\.)*"', '', 'g') ~ '\s';
-- Each era's output entries: a finished, a running and a failed reindex
-- type, and a custom migration's failure.
SELECT e.era,
       medplum_fixture.reindex_done('Patient', 120, 3000) AS done,
       medplum_fixture.reindex_running('Patient', '2024-01-01 00:00+00') AS running,
       medplum_fixture.reindex_failed(e.release, 'Patient', 'boom') AS failed,
       array_to_string(medplum_fixture.custom_failure(e.release, 'boom'), ',') AS custom_failure
  FROM (VALUES ('3.3', '3.3.0'), ('4.1', '4.1.0'), ('4.2', '4.2.6'), ('4.3', '4.3.12'), ('4.3.13', '4.3.13')) e(era, release)
\gx
-- The reused job: one id, four versions, one requestTime, the output
-- cleared at the restart.
SELECT "lastUpdated", content::jsonb->>'requestTime' AS request_time,
       content::jsonb->'output' IS NULL AS no_output
  FROM mp_reused."AsyncJob_History" WHERE id = medplum_fixture.job_id('mp_reused', 23)
 ORDER BY "lastUpdated";

RESET client_min_messages;
