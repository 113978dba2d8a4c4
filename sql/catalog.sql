-- The catalog: what medup ships, and what a DBA loads on top.
SET search_path = medup, public;
\set SHOW_CONTEXT never

-- Shipped data: the latest patch of every minor must match the table in
-- Medplum's facts (3.1.12 and 3.3.1 are backports, 4.5.0 was withdrawn).
SELECT major(version) || '.' || minor(version) AS minor, max(version) AS latest,
       count(*) AS releases
  FROM release GROUP BY major(version), minor(version)
 ORDER BY min(version);

-- The manifest: one row per migration, contiguous from v1.
SELECT count(*) AS migrations, min(data_version), max(data_version),
       bool_and(data_version = rn) AS contiguous
  FROM (SELECT data_version, row_number() OVER (ORDER BY data_version) AS rn
          FROM data_migration) d;
SELECT data_version, server_version, required_before, source
  FROM data_migration WHERE data_version IN (1, 12, 28, 29, 32, 33, 50, 53)
 ORDER BY data_version;

-- Every migration's server_version is a release medup knows, so every
-- migration can be run by some stop of a path.
SELECT d.data_version, d.server_version FROM data_migration d
 WHERE NOT EXISTS (SELECT FROM release r WHERE r.version = d.server_version);

-- Schema versions: the facts' list, each reached by a known release, and
-- a later schema version never by an earlier release.
SELECT schema_version, server_version FROM schema_version ORDER BY schema_version;
SELECT s.schema_version FROM schema_version s
 WHERE NOT EXISTS (SELECT FROM release r WHERE r.version = s.server_version);
SELECT count(*) AS out_of_order FROM schema_version a JOIN schema_version b
    ON a.schema_version < b.schema_version AND a.server_version >= b.server_version;

-- The lowest server version a database can be running: the higher of what
-- the schema version and the last completed migration each tell.
SELECT s AS schema_version, d AS data_version, lowest_server_version(s, d)
  FROM (VALUES (NULL, NULL),  -- nothing known
               (69, 0),       -- before the first listed schema version
               (70, 0),       -- exactly listed: 3.1.6
               (83, 0),       -- unlisted: the listed one below (3.1.6)
               (86, 1),       -- 4.0.2 against v1 (3.3.0): schema wins
               (89, 0),       -- fresh 4.1 install: 4.1.0
               (89, 12),      -- v12 needs 4.1.12: data wins
               (93, 12),      -- both say 4.1.12
               (99, 29),      -- unlisted 99: 98 (4.4.3), v29 (4.5.2) wins
               (100, 12),     -- first boot of 5.0.x at v12: schema wins (5.0.6)
               (150, 0),      -- newer than the list: still at least 5.0.6
               (NULL, 32),    -- data version alone: v32 (5.0.11)
               (100, 999)     -- a migration medup does not know: schema alone
       ) AS t(s, d);

-- The loaded layers are extension configuration tables (kept by pg_dump);
-- the shipped layers are not.
SELECT unnest(extconfig)::regclass AS dumped FROM pg_extension
 WHERE extname = 'medup' ORDER BY 1::text;

-- load_releases: a new release, and a date for a shipped one.
SELECT load_releases('[{"version": "5.3.0", "released_on": "2026-12-01"},
                       {"version": "v5.2.13", "released_on": "2026-11-20", "source": "GitHub release v5.2.13"},
                       {"version": "5.3.1-1"}]');
SELECT version, released_on,
       CASE WHEN source ~ '^loaded by \S+ on \d{4}-\d\d-\d\d$' THEN '(loaded by <user> on <date>)'
            ELSE source END AS source
  FROM release WHERE version >= '5.2.13' ORDER BY version;
SELECT count(*) AS shipped_5_2_13 FROM release_shipped WHERE version = '5.2.13';
-- Loading again updates in place, and a missing date keeps the known one.
SELECT load_releases('[{"version": "5.3.0"}]');
SELECT version, released_on FROM release WHERE version = '5.3.0';
SELECT load_releases('[]');

-- Bad release documents: nothing changes, the error names the element.
SELECT load_releases('{"version": "5.3.0"}');
SELECT load_releases('[{"version": "5.4.0"}, "5.4.1"]');
SELECT load_releases('[{"version": "5.4.0"}, {"version": "5.4"}]');
SELECT load_releases('[{"version": "5.4.0"}, {"version": 5}]');
SELECT load_releases('[{"version": "5.4.0"}, {"released_on": "2026-12-01"}]');
SELECT load_releases('[{"version": "5.4.0"}, {"version": "5.4.1", "released_on": "2026-13-45"}]');
SELECT load_releases('[{"version": "5.4.0"}, {"version": "5.4.1", "releasedOn": "2026-12-01"}]');
SELECT load_releases('[{"version": "5.4.0"}, {"version": "5.4.0-1"}]');
SELECT load_releases('[{"version": "5.4.0"}, {"version": "5.4.1", "source": 7}]');
SELECT load_releases(NULL);
SELECT count(*) AS left_behind FROM release WHERE version >= '5.4.0';

-- load_data_migrations: Medplum's manifest format, extra keys ignored.
SELECT load_data_migrations('{"v54": {"serverVersion": "5.3.0", "requiredBefore": "5.4.0"},
                              "v55": {"serverVersion": "5.3.0", "note": "ignored"},
                              "v53": {"serverVersion": "5.2.4", "requiredBefore": "5.3.0"}}');
SELECT data_version, server_version, required_before, source LIKE 'loaded by %' AS loaded
  FROM data_migration WHERE data_version >= 53 ORDER BY data_version;
SELECT load_data_migrations('{}');

-- Bad manifests: nothing changes, the error names the entry.
SELECT load_data_migrations('[1]');
SELECT load_data_migrations('{"v56": {"serverVersion": "5.3.1"}, "56": {"serverVersion": "5.3.1"}}');
SELECT load_data_migrations('{"v56": {"serverVersion": "5.3.1"}, "v0": {"serverVersion": "5.3.1"}}');
SELECT load_data_migrations('{"v56": {"serverVersion": "5.3.1"}, "v57": "5.3.1"}');
SELECT load_data_migrations('{"v56": {"serverVersion": "5.3.1"}, "v57": {"requiredBefore": "5.4.0"}}');
SELECT load_data_migrations('{"v56": {"serverVersion": "5.3.1"}, "v57": {"serverVersion": "5.3.x"}}');
SELECT load_data_migrations('{"v56": {"serverVersion": "5.3.1"}, "v57": {"serverVersion": "5.3.1", "requiredBefore": "5.3.1-1"}}');
SELECT load_data_migrations('{"v56": {"serverVersion": "5.3.1"}, "v99999999999": {"serverVersion": "5.3.1"}}');
SELECT count(*) AS left_behind FROM data_migration WHERE data_version >= 56;

-- Back to the shipped catalog for the tests that follow.
DELETE FROM release_loaded;
DELETE FROM data_migration_loaded;
SELECT count(*) AS releases FROM release;
\set SHOW_CONTEXT errors
RESET search_path;
