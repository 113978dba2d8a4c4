-- Estimates: what each post-deploy migration does (the catalog), what it
-- will cost on a database (statistics, never a scan), and how the rates
-- learned from the database's own jobs move the estimate toward the truth.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
\set ECHO none
\i test/medplum.sql
\set ECHO all
SET client_min_messages = notice;

-- The catalog: every migration of the manifest has its work, and Medplum's
-- reindex migrations (v1, v3, v8, v11, v23, v26, v29) are the reindexes.
SELECT count(*) AS manifest, count(w.data_version) AS with_work,
       array_agg(d.data_version ORDER BY d.data_version) FILTER (WHERE w.kind = 'reindex') AS reindexes
  FROM medup.data_migration d LEFT JOIN medup.migration_work w USING (data_version);
-- How sure it is: v51-v53 have rival versions, v47 is a guess too.
SELECT confidence, medup.format_migrations(array_agg(data_version)) AS migrations
  FROM medup.migration_work GROUP BY 1 ORDER BY medup.confidence_rank(confidence);
-- The index builds, by kind, and how sure.
SELECT kind, count(*) AS builds, count(*) FILTER (WHERE confidence <> 'confirmed') AS not_confirmed
  FROM medup.migration_index GROUP BY 1 ORDER BY 1;
SELECT data_version, summary FROM medup.migration_work WHERE data_version IN (4, 31, 52, 53) ORDER BY 1;

-- A 4.3.12 database (schema version 97) that has completed v1-v22, with no
-- job history at all: every rate is a default.  ServiceRequest has 9,000
-- rows, a third each at "__version" 7, 8 and 10: v23 (a reindex of
-- ServiceRequest and Task, rows at "__version" <= 8) rewrites 6,000 of
-- them; Task is all at 10 (none).  Patient: 2,000 rows, half at 7, 10 of
-- them soft-deleted (deleted rows are never reindexed), rows of about
-- 1 kB (a heap over 1 MB).
CALL medplum_fixture.create_tables('est_db', '4.3.12', 97, 22);
CALL medplum_fixture.create_resource_table('est_db', 'ServiceRequest', 9000, '{7,8,10}');
CALL medplum_fixture.create_resource_table('est_db', 'Task', 3000, '{10}');
CALL medplum_fixture.create_resource_table('est_db', 'Patient', 2000, '{7,10}', 200, 1000);
ANALYZE est_db."ServiceRequest", est_db."Task", est_db."Patient", est_db."AsyncJob";
SET medup.medplum_schema = 'est_db';

-- What the statistics say (no scan): rows, and the __version distribution.
SELECT table_name, live_rows, analyzed, version_values, round(deleted_share::numeric, 3) AS deleted_share
  FROM medup.read_table_stats() WHERE table_name IN ('ServiceRequest', 'Task', 'Patient') ORDER BY 1;

-- Before any history: default rates, a range 100 times wide.
SELECT stop, migration, kind, confidence, est_work, est_rows_to_rewrite, est_low, est_high,
       est_rate_source, est_basis
  FROM medup.estimate('4.3.15') ORDER BY migration;
-- The sum is the whole way.
SELECT count(*) AS migrations, sum(est_low) AS est_low, sum(est_high) AS est_high
  FROM medup.estimate('4.3.15');

-- The history arrives: a completed reindex (v11) timed 40,000 rows of
-- Patient in 32 s, 1,250 rows/s.  The rate is learned, the range narrows
-- to a single measurement halved and doubled (a rate measured on one table
-- carries over to another only that well), and holds the time 6,000 rows
-- take at that rate (4.8 s).
CALL medplum_fixture.write_job('est_db', '4.1.12', md5('est-v11')::uuid, 11, 'completed',
  '2026-09-01 02:00:00+00', '2026-09-01 02:00:32+00',
  medplum_fixture.parameters(medplum_fixture.reindex_done('Patient', 40000, 32000)),
  '2026-09-01 02:00:32+00');
SELECT work, round(rate_low) AS rate_low, round(rate_high) AS rate_high, unit, source
  FROM medup.estimate_rates() WHERE work = 'reindex';
SELECT migration, est_low, est_high, est_rate_source,
       est_low <= interval '4.8 s' AND interval '4.8 s' <= est_high AS holds_the_truth,
       round(extract(epoch FROM est_high) / extract(epoch FROM est_low), 2) AS high_over_low
  FROM medup.estimate('4.3.15') WHERE migration = 23;
-- More history: v8 timed two more types, at 1,000 and 1,500 rows/s.  The
-- range is what was measured, widened by half either way: it never claims
-- more than the spread of its measurements.
CALL medplum_fixture.write_job('est_db', '4.1.8', md5('est-v8')::uuid, 8, 'completed',
  '2026-08-01 02:00:00+00', '2026-08-01 03:00:00+00',
  medplum_fixture.parameters(medplum_fixture.reindex_done('Observation', 100000, 100000),
                             medplum_fixture.reindex_done('Encounter', 30000, 20000),
                             medplum_fixture.reindex_done('Flag', 12, 5)),
  '2026-08-01 03:00:00+00');
SELECT work, round(rate_low) AS rate_low, round(rate_high) AS rate_high, source
  FROM medup.estimate_rates() WHERE work = 'reindex';
SELECT migration, est_low, est_high,
       est_low <= interval '4.8 s' AND interval '4.8 s' <= est_high AS holds_the_truth,
       round(extract(epoch FROM est_high) / extract(epoch FROM est_low), 2) AS high_over_low
  FROM medup.estimate('4.3.15') WHERE migration = 23;

-- Index builds learn from custom actions' durationMs: the action named by
-- its CREATE INDEX statement, the index known to the catalog (v27's
-- "Patient___nameSort_idx", a btree), the table's heap now.  (Below 1 MB
-- of heap a build is all fixed cost: not learned from.)  The kinds not
-- measured move their defaults by as much.
CALL medplum_fixture.write_job('est_db', '4.3.12', md5('est-v22')::uuid, 22, 'completed',
  '2026-09-02 02:00:00+00', '2026-09-02 02:00:01+00',
  medplum_fixture.parameters(medplum_fixture.custom_action(
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS "Patient___nameSort_idx" ON "Patient" ("__nameSort")', 100)),
  '2026-09-02 02:00:01+00');
SELECT pg_relation_size('est_db."Patient"') >= 1048576 AS patient_over_1mb;
SELECT work, round(rate_low) AS rate_low, round(rate_high) AS rate_high, source
  FROM medup.estimate_rates() WHERE work LIKE 'build%' ORDER BY 1;

-- An index that exists and is valid costs nothing (Medplum skips it); an
-- invalid one (a failed concurrent build) is built again.
SELECT est_index_builds, est_work FROM medup.estimate('4.3.15') WHERE migration = 27;
CREATE INDEX "Patient___familySort_idx" ON est_db."Patient" (id);
CREATE UNIQUE INDEX CONCURRENTLY "Patient___givenSort_idx" ON est_db."Patient" (deleted);
SELECT est_index_builds, est_work FROM medup.estimate('4.3.15') WHERE migration = 27;

-- A custom migration writes its actions' durations only when it ends; the
-- index builds the worker's samples watched count as soon as they are
-- valid.  Here the samples (every 10 s) saw a build on Patient for 2
-- minutes, much slower than v22's: the range spans both.  The invalid one
-- does not count, nor one seen for less than three naptimes (too short to
-- time from samples).
INSERT INTO medup.index_build (index_name, table_name, first_seen, last_seen)
VALUES ('Patient___familySort_idx', 'Patient', now() - interval '3 min', now() - interval '1 min'),
       ('Patient___givenSort_idx', 'Patient', now() - interval '3 min', now() - interval '1 min'),
       ('Patient___nameSort_idx', 'Patient', now() - interval '20 s', now());
SELECT work, round(rate_low) AS rate_low, round(rate_high) AS rate_high, source
  FROM medup.estimate_rates() WHERE work = 'build_btree';
DELETE FROM medup.index_build;

-- A running reindex: the types its job has finished cost nothing, and
-- status() shows the migration's time left next to its eta.
UPDATE est_db."DatabaseMigration" SET "dataVersion" = 22;
CALL medplum_fixture.write_job('est_db', '4.3.12', md5('est-v23')::uuid, 23, 'accepted',
  '2026-10-01 02:00:00+00', '2026-10-01 02:10:00+00',
  medplum_fixture.parameters(medplum_fixture.reindex_running('ServiceRequest', '2026-05-01 00:00+00')));
SELECT state, running_migration, est_time_left_low, est_time_left_high FROM medup.status();
-- The session remembers that time left for the running job as it read it
-- (src/memo.c): a change the job's row does not show, here newer
-- knowledge of v23 (100 to 200 s more), is not seen while the job stays
-- as it was (for up to a minute); a fresh estimate sees it.
SELECT * FROM medup.load_migration_work(
  E'23\treindex\tconfirmed\tServiceRequest,Task\t8\teligible\t0\t0\t100\t200\ta reindex, then a wait\n');
SELECT s.est_time_left_low, s.est_time_left_high, e.est_low AS fresh_low, e.est_high AS fresh_high
  FROM medup.status() s, medup.estimate_migrations('{23}', 22, NULL, 23, md5('est-v23')::uuid) e;
-- The job moves on (ServiceRequest done): the time left is computed
-- again at once, with all that changed.
CALL medplum_fixture.write_job('est_db', '4.3.12', md5('est-v23')::uuid, 23, 'accepted',
  '2026-10-01 02:00:00+00', '2026-10-01 02:20:00+00',
  medplum_fixture.parameters(medplum_fixture.reindex_done('ServiceRequest', 6000, 5000)));
SELECT s.state, s.running_migration, s.est_time_left_low, s.est_time_left_high,
       (s.est_time_left_low, s.est_time_left_high) = (e.est_low, e.est_high) AS fresh
  FROM medup.status() s, medup.estimate_migrations('{23}', 22, NULL, 23, md5('est-v23')::uuid) e;
DELETE FROM medup.migration_work_loaded;
SELECT migration, est_work, est_low, est_high, est_basis FROM medup.estimate('4.3.15') WHERE migration = 23;
-- Completed: costs nothing, wherever the path starts.
UPDATE est_db."DatabaseMigration" SET "dataVersion" = 23;
SELECT stop, migration, est_work, est_low, est_high, est_basis
  FROM medup.estimate('4.3.15', '4.1.12') WHERE migration IN (12, 22, 23) ORDER BY migration;
-- upgrade_path prices each stop the same way.
SELECT step, version, migrations, est_tables, est_live_rows, est_index_builds, est_rows_to_rewrite,
       est_duration_low, est_duration_high, est_confidence
  FROM medup.upgrade_path('4.1.12', '4.3.15');

-- First boot: Medplum completes the reindexes of the running server's
-- migrations at once.
UPDATE est_db."DatabaseMigration" SET "dataVersion" = 22, "firstBoot" = true;
DELETE FROM est_db."AsyncJob" WHERE id = md5('est-v23')::uuid;
SELECT migration, est_work, est_low, est_high, est_basis FROM medup.estimate('4.3.15')
 WHERE kind = 'reindex' ORDER BY migration;
UPDATE est_db."DatabaseMigration" SET "firstBoot" = false;

-- Every estimate built on a guess says so.
SELECT migration, confidence, est_basis FROM medup.estimate('latest')
 WHERE confidence IN ('uncertain', 'guess') ORDER BY migration;

-- Statistics only of integer "__version" and boolean "deleted" columns
-- are read (medup reads them as a superuser): a "__version" of another
-- type (here a domain) is not, and every row counts, which it says.
CREATE DOMAIN est_db.row_format AS integer;
CALL medplum_fixture.create_resource_table('est_db', 'AllergyIntolerance', 500, '{12}');
ALTER TABLE est_db."AllergyIntolerance" ALTER COLUMN "__version" TYPE est_db.row_format;
ANALYZE est_db."AllergyIntolerance";
SELECT data_version, est_rows_to_rewrite, est_basis FROM medup.estimate_migrations('{11}');

-- Loading newer knowledge: the same TSV shape as the shipped files.
SELECT * FROM medup.load_migration_work(
  E'# a comment\ndata_version\tkind\tconfidence\ttables\tmax_version\trewrites\tscans\tstatements\tfixed_low\tfixed_high\tsummary\n'
  || E'53\tcustom\tlikely\tObservation\t\tnone\t0\t0\t0\t0\tone index build, per the release notes\n',
  E'data_version\ttable_name\tindex_name\tkind\tconfidence\n53\tObservation\tObservation_new_idx\tbtree\tlikely\n');
SELECT data_version, kind, confidence, summary, source LIKE 'loaded by %' AS loaded FROM medup.migration_work WHERE data_version = 53;
SELECT data_version, table_name, index_name, kind FROM medup.migration_index WHERE data_version = 53;
-- One bad line and nothing changes.
SELECT * FROM medup.load_migration_work(E'52\tcustom\tsure\t\t\tnone\t0\t0\t0\t0\tx\n');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM medup.load_migration_work(E'52\tcustom\tlikely\n');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM medup.load_migration_work(E'52\tcustom\tlikely\t\t\tnone\t0\t0\t0\t0\tx\n',
                                        E'51\tLogin\tLogin_x_idx\tbtree\tlikely\n');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) AS loaded FROM medup.migration_work_loaded;
DELETE FROM medup.migration_work_loaded;
DELETE FROM medup.migration_index_loaded;

-- Errors.
SELECT * FROM medup.estimate(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM medup.estimate('4.3.15', '4.4.0');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SET medup.medplum_schema = 'no_such_schema';
SELECT * FROM medup.estimate('4.3.15');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- With the current version given, a database without Medplum's tables
-- gets an estimate of what needs no tables.
SELECT migration, est_work, est_low, est_high FROM medup.estimate('5.0.0', '4.5.2');
RESET medup.medplum_schema;
DROP SCHEMA est_db CASCADE;
