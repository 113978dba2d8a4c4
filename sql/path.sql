-- medup.upgrade_path over the shipped catalog.
\set SHOW_CONTEXT never

-- The doc's example, 3.1.2 -> 4.3.15.  The doc says 3.3.0 -> 4.0.4 ->
-- 4.1.12 -> 4.2.6 -> 4.3.x; with today's catalog the latest patches are
-- 3.3.1 and 4.1.18 (backports published after the doc), and 3.2 has
-- releases too, so Medplum's own rule stops at 3.2.33.  Only 3.3.1 (v1),
-- 4.1.18 (v2-v12) and the target are forced by the manifest.
SELECT * FROM medup.upgrade_path('3.1.2', '4.3.15');
SELECT * FROM medup.upgrade_path('3.1.2', '4.3.15', required_only => true);

-- Across every minor of the catalog: from the first release to the newest.
SELECT step, version, crosses_major, required, medup.format_migrations(migrations) AS migrations
  FROM medup.upgrade_path('3.0.0', 'latest');
SELECT step, version, required, medup.format_migrations(migrations) AS migrations, reason
  FROM medup.upgrade_path('3.0.0', 'latest', required_only => true);

-- Every migration above from_version is run exactly once on a path, by a
-- stop inside its [server_version, required_before) range.
WITH path AS (SELECT * FROM medup.upgrade_path('3.0.0', 'latest')),
     ran AS (SELECT unnest(migrations) AS data_version, version FROM path)
SELECT count(*) AS migrations_run,
       count(DISTINCT r.data_version) AS distinct_migrations,
       bool_and(r.version >= d.server_version
                AND (d.required_before IS NULL OR r.version < d.required_before)) AS all_in_range
  FROM ran r JOIN medup.data_migration d USING (data_version);
WITH path AS (SELECT * FROM medup.upgrade_path('3.0.0', 'latest', required_only => true)),
     ran AS (SELECT unnest(migrations) AS data_version, version FROM path)
SELECT count(*) AS migrations_run,
       bool_and(r.version >= d.server_version
                AND (d.required_before IS NULL OR r.version < d.required_before)) AS all_in_range
  FROM ran r JOIN medup.data_migration d USING (data_version);

-- Mid-minor start: 4.1.2 still owes v7-v12, so 4.1.18 becomes a stop.
SELECT * FROM medup.upgrade_path('4.1.2', '4.2');
-- Already past them: no stop in the current minor.
SELECT * FROM medup.upgrade_path('4.1.12', '4.2');
-- Same minor, a version the catalog does not list, a backport suffix.
SELECT * FROM medup.upgrade_path('4.1.13-custom', '4.1.18-1');
-- Minor targets resolve to their latest patch; "latest" to the newest.
SELECT version FROM medup.upgrade_path('4.4.0', '5.0') ORDER BY step DESC LIMIT 1;
SELECT version FROM medup.upgrade_path('4.4.0', 'v5.0') ORDER BY step DESC LIMIT 1;
SELECT version FROM medup.upgrade_path('5.2.0', ' LATEST ') ORDER BY step DESC LIMIT 1;
-- Crossing a major on the last step.
SELECT * FROM medup.upgrade_path('4.5.2', '5.0.0');
-- Nothing to do.
SELECT count(*) FROM medup.upgrade_path('4.2.6', '4.2.6');
SELECT count(*) FROM medup.upgrade_path('4.2.6-1', '4.2.6');

-- status()'s next step (next_deploy(), one query on the hot path) is the
-- first stop upgrade_path() gives toward the newest release: from every
-- known release having run what it can, and from the server version of
-- every migration with that migration done.  check() uses upgrade_path()
-- itself for its skipped_minor rule.
WITH starts AS (
    SELECT r.version AS here,
           coalesce((SELECT max(d.data_version) FROM medup.data_migration d
                      WHERE d.server_version <= r.version), 0) AS done
      FROM medup.release r
    UNION
    SELECT d.server_version, d.data_version FROM medup.data_migration d),
answers AS (
    SELECT here, done, medup.next_deploy(here, done) AS next_step,
           -- upgrade_path()'s stops without their prices, which this does not need
           (SELECT p.version FROM medup.path_stops(here, 'latest') p WHERE p.step = 1) AS first_stop
      FROM starts)
SELECT count(*) AS starts, count(*) FILTER (WHERE next_step IS NOT DISTINCT FROM first_stop) AS agree,
       count(DISTINCT first_stop) AS distinct_first_stops
  FROM answers;

-- A newer catalog changes the answer without a new medup.
SELECT medup.load_releases('[{"version": "5.3.0"}, {"version": "5.3.1"}]');
SELECT medup.load_data_migrations('{"v54": {"serverVersion": "5.2.13", "requiredBefore": "5.3.1"}}');
SELECT step, version, required, migrations, reason FROM medup.upgrade_path('5.2.4', '5.3.1');
DELETE FROM medup.release_loaded;
DELETE FROM medup.data_migration_loaded;

-- Errors: 22023 with a hint, 22P02 for a malformed version, 22004 for a
-- NULL.  Each call on its own; its SQLSTATE, message, DETAIL and HINT.
CREATE FUNCTION pg_temp.error_of(statement text,
    OUT code text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END $$;
\x on
SELECT format('upgrade_path(%L, %L)', c, t) AS call, e.*
  FROM (VALUES (1, '4.3.15', '4.1.12'), (2, '4.1.12', '4.1.14'), (3, '4.1.12', '9.0.0'),
               (4, '4.1.12', '4.9'), (5, '4.1.12', '4.x'), (6, '4.1', '4.2.6'),
               (7, '4.1.12', NULL), (8, NULL, '4.2.6')) AS v(n, c, t),
       pg_temp.error_of(format('SELECT * FROM medup.upgrade_path(%L, %L)', c, t)) e
 ORDER BY n;
\x off

-- A manifest that no known release can satisfy is reported, not papered over.
SELECT medup.load_data_migrations('{"v13": {"serverVersion": "4.2.7", "requiredBefore": "4.3.0"}}');
SELECT * FROM medup.upgrade_path('4.2.0', '4.3.15');
DELETE FROM medup.data_migration_loaded;
-- An empty catalog.
BEGIN;
DELETE FROM medup.release_shipped;
SELECT * FROM medup.upgrade_path('4.2.0', 'latest');
ROLLBACK;
