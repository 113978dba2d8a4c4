------------------------------------------------------------------------
-- Access, as an allow-list
--
-- medup_reader (a Grafana login, a DBA's monitoring role) may call the
-- answers and read the views, and nothing else: it needs no privilege on
-- Medplum's tables, because medup reads them as their owner
-- (src/plan_cache.c).  Every function starts callable by nobody but medup's
-- owner; each grant below names one function and why.  This list is the
-- one place grants are made, so an update script re-applies it whole.
------------------------------------------------------------------------

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'medup_reader') THEN
        CREATE ROLE medup_reader NOLOGIN;
    END IF;
END
$$;

-- PostgreSQL grants EXECUTE on a new function to PUBLIC: take that back
-- from every function, internal ones (cached_query, take_sample, the loaders,
-- the readers' helpers) included, and from any added later to this file's
-- parts without a grant here.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA medup FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA medup FROM medup_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA medup FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA medup FROM medup_reader;
GRANT USAGE ON SCHEMA medup TO PUBLIC;

-- The version type: its support functions must stay callable by everyone
-- who may use the type.
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
    medup.base(medup.version),
    medup.version_range(medup.version, medup.version),
    medup.version_range(medup.version, medup.version, text),
    medup.version_multirange(), medup.version_multirange(medup.version_range),
    medup.version_multirange(medup.version_range[])
    TO PUBLIC;

-- The answers.
GRANT EXECUTE ON FUNCTION
    medup.status(text),
    medup."check"(text, text, text),
    medup.gate(text, text, text),
    medup.upgrade_path(medup.version, text, boolean),
    medup.lowest_server_version(integer, integer),
    medup.fleet_check(text, text),
    medup.fleet_gate(text, text)
    TO medup_reader;
-- The functions behind the views: PostgreSQL checks EXECUTE on a view's
-- functions as the role reading the view.
GRANT EXECUTE ON FUNCTION
    medup.read_jobs(boolean, integer),
    medup.read_migrations(integer),
    medup.read_migration_row(),
    medup.read_progress(boolean),
    medup.read_invalid_indexes(),
    medup.read_durations(),
    medup.read_sampling(),
    medup.last_sample_at(text),
    medup.migration_time(medup.job),
    medup.read_migration_states(),
    medup.target_rows(text, text),
    medup.read_fleet(text),
    medup.read_clusters(text),
    medup.target_key(),
    medup.remote_active(),
    medup.medplum_schema(),
    medup.server_option(name, text)
    TO medup_reader;
-- What upgrade_path() (not SECURITY DEFINER: it reads only medup's
-- catalog) calls with the reader's rights.
GRANT EXECUTE ON FUNCTION
    medup.resolve_target(text),
    medup.latest_patch(integer, integer),
    medup.stop_reason(medup.version, boolean, text, boolean),
    medup.format_migrations(integer[]),
    medup.path_stops(medup.version, text, boolean)
    TO medup_reader;
-- The estimates (45-estimate.sql): estimate() and the priced
-- upgrade_path() run with the reader's rights; what they read beyond
-- medup's catalog comes through the SECURITY DEFINER readers, which return
-- statistics of "__version" and "deleted", table sizes, and the counts and
-- durations Medplum wrote into its jobs' output, nothing else.
GRANT EXECUTE ON FUNCTION
    medup.estimate(text, text),
    medup.estimate_migrations(integer[], integer, integer, integer, uuid),
    medup.estimate_context(),
    medup.estimate_rates(medup.table_stat[]),
    medup.default_rates(),
    medup.read_table_stats(),
    medup.read_job_steps(uuid),
    medup.expand_tables(text[], medup.table_stat[]),
    medup.eligible_share(integer, double precision, double precision, integer[], double precision[], integer[]),
    medup.confidence_levels(),
    medup.confidence_rank(text),
    medup.format_count(double precision),
    medup.build_work(double precision, bigint),
    medup.medplum_schema()
    TO medup_reader;
-- What the servers view calls with the reader's rights.
GRANT EXECUTE ON FUNCTION
    medup.server_freshness(),
    medup.setting_interval(text)
    TO medup_reader;

-- The views, and medup's own tables to read (never to write: sampling,
-- retention and the loaders stay with medup's owner, the worker and cron).
GRANT SELECT ON medup.release, medup.data_migration, medup.schema_version,
                medup.migrations, medup.jobs, medup.progress, medup.invalid_indexes,
                medup.history, medup.timeline, medup.durations, medup.sampling,
                medup.sample, medup.event, medup.sampler, medup.job_downtime,
                medup.release_shipped, medup.release_loaded,
                medup.data_migration_shipped, medup.data_migration_loaded,
                medup.schema_version_shipped,
                medup.migration_work, medup.migration_index,
                medup.migration_work_shipped, medup.migration_work_loaded,
                medup.migration_index_shipped, medup.migration_index_loaded, medup.index_build,
                medup.servers, medup.server,
                medup.targets, medup.target, medup.fleet, medup.clusters
    TO medup_reader;

-- Makes again, during an update, a grant a DBA had made on medup's code
-- (sql/updates/epilogue.sql).  Callable by no role, and refused outside
-- ALTER EXTENSION medup UPDATE.
CREATE FUNCTION medup.restore_grant(statement text) RETURNS void
    LANGUAGE c STRICT VOLATILE
    AS 'MODULE_PATHNAME', 'medup_restore_grant';
COMMENT ON FUNCTION medup.restore_grant(text) IS 'Makes again, during an update, a grant a DBA had made on medup''s code.';
REVOKE ALL ON FUNCTION medup.restore_grant(text) FROM PUBLIC;
