------------------------------------------------------------------------
-- Access: medup_reader may call all of this without any privilege on
-- Medplum's tables.  The catalog loaders stay with the owner.
------------------------------------------------------------------------

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'medup_reader') THEN
        CREATE ROLE medup_reader NOLOGIN;
    END IF;
END
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA medup FROM PUBLIC;
GRANT USAGE ON SCHEMA medup TO PUBLIC;
-- The type's support functions must stay callable by everyone who may use
-- the type.
GRANT EXECUTE ON FUNCTION
    medup.version_in(cstring), medup.version_out(medup.version),
    medup.version_recv(internal), medup.version_send(medup.version),
    medup.version_cmp(medup.version, medup.version),
    medup.version_lt(medup.version, medup.version), medup.version_le(medup.version, medup.version),
    medup.version_eq(medup.version, medup.version), medup.version_ne(medup.version, medup.version),
    medup.version_ge(medup.version, medup.version), medup.version_gt(medup.version, medup.version),
    medup.version_hash(medup.version), medup.version_hash_extended(medup.version, bigint),
    medup.version_larger(medup.version, medup.version), medup.version_smaller(medup.version, medup.version),
    medup.major(medup.version), medup.minor(medup.version), medup.patch(medup.version),
    medup.base(medup.version)
    TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA medup TO medup_reader;
REVOKE EXECUTE ON FUNCTION medup.load_releases(jsonb), medup.load_data_migrations(jsonb),
    medup.cached_query(text, integer)
    FROM medup_reader;
-- The network: probes and refreshes stay with the owner (or whom it grants
-- them to); the fetch itself is internal.
REVOKE EXECUTE ON FUNCTION medup.http_get(text), medup.server_urls(),
    medup.probe(), medup.refresh_catalog(), medup.fetch_releases(),
    medup.record_probe(text, text, medup.version, text)
    FROM medup_reader;
GRANT SELECT ON medup.servers, medup.server TO medup_reader;
GRANT SELECT ON medup.release, medup.data_migration, medup.schema_version, medup.migrations, medup.jobs,
                medup.progress, medup.invalid_indexes, medup.history, medup.timeline,
                medup.durations, medup.sample, medup.event, medup.sampler
    TO medup_reader;
-- Sampling writes medup's own tables: for the owner, the worker and cron.
REVOKE EXECUTE ON FUNCTION medup.sample(), medup.apply_retention(integer),
    medup.record_events(medup.sample, medup.sample, text) FROM medup_reader;
GRANT SELECT ON medup.release_shipped, medup.release_loaded,
                medup.data_migration_shipped, medup.data_migration_loaded,
                medup.schema_version_shipped
    TO medup_reader;
