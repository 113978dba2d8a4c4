/*
 * medup 0.1 -> 0.2: the steps on what holds state (tables, the version
 * type).  The update script is built from sql/updates/prologue.sql, this
 * file, then the code of sql/install/ and the shipped catalog: functions,
 * views and grants need nothing here.  A change to a STATE block of
 * sql/install/ needs its step here, leaving the object as a fresh install
 * creates it (columns in the same order: add new ones at the end).
 */

-- Medplum's schema versions and the first release that reached each.
CREATE TABLE medup.schema_version_shipped (
    schema_version integer PRIMARY KEY CHECK (schema_version > 0),
    server_version medup.version NOT NULL UNIQUE
);

-- What each Medplum server's healthcheck said at the last probe.
CREATE TABLE medup.server (
    url           text PRIMARY KEY,     -- the healthcheck URL, credentials masked
    state         text NOT NULL CHECK (state IN ('ok', 'not_ok', 'unreachable', 'error')),
    version       medup.version,        -- the last version it reported
    version_since timestamptz,          -- first probe that saw this version
    last_seen_at  timestamptz,          -- last answer that carried a version
    probed_at     timestamptz NOT NULL,
    detail        text                  -- why it is not ok
);

-- New kinds of event: deploys, the servers' probes, catalog refreshes.
ALTER TABLE medup.event DROP CONSTRAINT event_kind_check;
ALTER TABLE medup.event ADD CONSTRAINT event_kind_check CHECK (kind IN (
    'sampling_started', 'migration_started', 'migration_retried',
    'migration_completed', 'migration_failed', 'migration_cancelled',
    'schema_changed', 'lock_taken', 'lock_released',
    'stall_started', 'stall_ended', 'invalid_index',
    'deploy', 'server_ok', 'server_not_ok', 'server_unreachable',
    'server_error', 'catalog_refreshed'));

-- When Medplum last wrote the running job: a rewrite is progress.
ALTER TABLE medup.sample ADD COLUMN job_updated_at timestamptz;

-- Time a running migration's job spent with no Medplum server connected.
CREATE TABLE medup.job_downtime (
    database_name name NOT NULL DEFAULT current_database(),
    job_id        uuid NOT NULL,
    downtime      interval NOT NULL,
    PRIMARY KEY (database_name, job_id)
);
SELECT pg_catalog.pg_extension_config_dump('medup.job_downtime', '');

-- medup.medplum_schema is superuser-only from 0.2, but a setting another
-- role made under 0.1 (ALTER DATABASE/ROLE ... SET, when it was a user
-- setting) stays in force and steers what medup reads: name each one.
DO $$
DECLARE
    s record;
BEGIN
    FOR s IN SELECT coalesce(pg_catalog.format('database %I', d.datname), 'every database') AS db,
                    coalesce(pg_catalog.format('role %I', r.rolname), 'every role') AS role, c.setting
               FROM pg_catalog.pg_db_role_setting x
               LEFT JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) x.setdatabase
               LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) x.setrole,
                    pg_catalog.unnest(x.setconfig) AS c(setting)
              WHERE pg_catalog.starts_with(c.setting, 'medup.medplum_schema=') LOOP
        RAISE WARNING '% applies to % and %', s.setting, s.db, s.role
            USING DETAIL = 'From medup 0.2 only superusers may set it, but a setting made earlier by another role stays in force.',
                  HINT = 'Keep it only if a superuser made it; otherwise remove it with ALTER DATABASE ... RESET medup.medplum_schema or ALTER ROLE ... RESET medup.medplum_schema.';
    END LOOP;
END
$$;
