------------------------------------------------------------------------
-- Estimates: what each post-deploy migration will cost on this database
--
-- What each migration does is catalog data (migration_work, and its index
-- builds in migration_index), shipped and loadable like the releases.  The
-- work it means here comes from PostgreSQL's statistics (pg_class,
-- pg_stat_all_tables, pg_stats of "__version" and "deleted"): no scan of
-- Medplum's tables, ever.  The rates come from this database's own history
-- first (the durations Medplum wrote into completed jobs: elapsedTime per
-- reindexed type, durationMs per custom action), else from documented
-- default rates with a wide range.  Every number is a range (low, high),
-- named est_..., and says where its rate came from and how sure the
-- catalog is of what the migration does.
------------------------------------------------------------------------

-- STATE: kept by update scripts; a change here needs a step in sql/updates/
CREATE TABLE medup.migration_work_shipped (
    data_version integer PRIMARY KEY CHECK (data_version > 0),
    kind         text NOT NULL CHECK (kind IN ('reindex', 'custom')),
    confidence   text NOT NULL CHECK (confidence IN ('confirmed', 'likely', 'uncertain', 'guess')),
    tables       text[] NOT NULL,
    max_version  integer,
    rewrites     text NOT NULL CHECK (rewrites IN ('eligible', 'all', 'some', 'none')),
    scans        integer NOT NULL CHECK (scans >= 0),
    statements   integer NOT NULL CHECK (statements >= 0),
    fixed_low    interval NOT NULL,
    fixed_high   interval NOT NULL,
    summary      text NOT NULL,
    CHECK (fixed_low >= interval '0' AND fixed_high >= fixed_low),
    CHECK ((kind = 'reindex') = (rewrites = 'eligible') AND (rewrites = 'eligible') = (max_version IS NOT NULL))
);

CREATE TABLE medup.migration_work_loaded (
    data_version integer PRIMARY KEY CHECK (data_version > 0),
    kind         text NOT NULL CHECK (kind IN ('reindex', 'custom')),
    confidence   text NOT NULL CHECK (confidence IN ('confirmed', 'likely', 'uncertain', 'guess')),
    tables       text[] NOT NULL,
    max_version  integer,
    rewrites     text NOT NULL CHECK (rewrites IN ('eligible', 'all', 'some', 'none')),
    scans        integer NOT NULL CHECK (scans >= 0),
    statements   integer NOT NULL CHECK (statements >= 0),
    fixed_low    interval NOT NULL,
    fixed_high   interval NOT NULL,
    summary      text NOT NULL,
    source       text NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (fixed_low >= interval '0' AND fixed_high >= fixed_low),
    CHECK ((kind = 'reindex') = (rewrites = 'eligible') AND (rewrites = 'eligible') = (max_version IS NOT NULL))
);
SELECT pg_catalog.pg_extension_config_dump('medup.migration_work_loaded', '');

CREATE TABLE medup.migration_index_shipped (
    data_version integer NOT NULL CHECK (data_version > 0),
    table_name   text NOT NULL,
    index_name   text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('btree', 'gin', 'gin_trgm', 'gist')),
    confidence   text NOT NULL CHECK (confidence IN ('confirmed', 'likely', 'uncertain', 'guess')),
    PRIMARY KEY (data_version, index_name)
);
-- estimate_rates() looks builds up by the index name Medplum's durations
-- carry: without this, every look-up reads the whole catalog.
CREATE INDEX ON medup.migration_index_shipped (index_name);

CREATE TABLE medup.migration_index_loaded (
    data_version integer NOT NULL CHECK (data_version > 0),
    table_name   text NOT NULL,
    index_name   text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('btree', 'gin', 'gin_trgm', 'gist')),
    confidence   text NOT NULL CHECK (confidence IN ('confirmed', 'likely', 'uncertain', 'guess')),
    source       text NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (data_version, index_name)
);
SELECT pg_catalog.pg_extension_config_dump('medup.migration_index_loaded', '');

-- Index builds on Medplum's tables the samples saw while a migration ran:
-- from the first sample that saw one to the last.  A custom migration
-- writes its actions' durations only when it ends; these give rates while
-- it runs.
CREATE TABLE medup.index_build (
    database_name name NOT NULL DEFAULT current_database(),
    index_name    text NOT NULL,
    table_name    text NOT NULL,
    first_seen    timestamptz NOT NULL,
    last_seen     timestamptz NOT NULL,
    PRIMARY KEY (database_name, index_name, first_seen)
);
SELECT pg_catalog.pg_extension_config_dump('medup.index_build', '');
-- END STATE

CREATE VIEW medup.migration_work AS
    SELECT data_version, kind, confidence, tables, max_version, rewrites, scans, statements,
           fixed_low, fixed_high, summary, source
      FROM medup.migration_work_loaded
    UNION ALL
    SELECT s.data_version, s.kind, s.confidence, s.tables, s.max_version, s.rewrites, s.scans,
           s.statements, s.fixed_low, s.fixed_high, s.summary, 'medup'
      FROM medup.migration_work_shipped s
     -- The loaded migrations as one array, read once (few or none): as a
     -- NOT EXISTS, the planner probed the loaded table once per row.
     WHERE s.data_version <> ALL (ARRAY(SELECT l.data_version FROM medup.migration_work_loaded l));
COMMENT ON VIEW medup.migration_work IS
    'What each Medplum post-deploy migration does, for estimates: shipped with medup, or loaded with medup.load_migration_work()';

-- A migration's index builds come from one layer: loading a migration's
-- builds replaces all the shipped ones of that migration.
CREATE VIEW medup.migration_index AS
    SELECT data_version, table_name, index_name, kind, confidence, source
      FROM medup.migration_index_loaded
    UNION ALL
    SELECT s.data_version, s.table_name, s.index_name, s.kind, s.confidence, 'medup'
      FROM medup.migration_index_shipped s
     WHERE s.data_version <> ALL (ARRAY(SELECT l.data_version FROM medup.migration_index_loaded l
                                        UNION SELECT w.data_version FROM medup.migration_work_loaded w));
COMMENT ON VIEW medup.migration_index IS
    'The index builds (CREATE INDEX CONCURRENTLY) of each Medplum post-deploy migration';

/*
 * The confidence levels, most sure first, each with its rank (1 the
 * surest): the least sure of several is their greatest rank.
 */
CREATE FUNCTION medup.confidence_levels(OUT confidence text, OUT rank integer)
RETURNS SETOF record
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- PL/pgSQL: a SQL function with a SET clause is planned on every call.
    RETURN QUERY SELECT l.confidence, l.rank::integer
                   FROM unnest(ARRAY['confirmed', 'likely', 'uncertain', 'guess'])
                        WITH ORDINALITY AS l(confidence, rank);
END
$$;
COMMENT ON FUNCTION medup.confidence_levels() IS 'The catalog''s confidence levels with their ranks, most sure first.';

CREATE FUNCTION medup.confidence_rank(confidence text)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT l.rank FROM medup.confidence_levels() l WHERE l.confidence = confidence_rank.confidence);
END
$$;
COMMENT ON FUNCTION medup.confidence_rank(text) IS 'Orders the catalog''s confidence levels, most sure first.';

/* Lines of a tab-separated document, without comments, blank lines and the header line. */
CREATE FUNCTION medup._tsv_lines(document text, header text)
RETURNS TABLE (line_number integer, fields text[])
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT l.n::integer, string_to_array(l.line, E'\t')
      FROM regexp_split_to_table(document, E'\r?\n') WITH ORDINALITY AS l(line, n)
     WHERE l.line !~ '^\s*(#|$)' AND split_part(l.line, E'\t', 1) <> header
$$;
COMMENT ON FUNCTION medup._tsv_lines(text,text) IS 'The lines of a tab-separated document, without comments, blank lines and header.';

/*
 * medup.load_migration_work(work [, indexes])
 *
 * Loads what migrations do from documents in the shape of the shipped
 * files sql/install/catalog/migration_work.tsv and migration_indexes.tsv
 * (tab-separated, '#' comments, a header line), such as
 * pg_read_file('/path/migration_work.tsv').  Checked whole first: one bad
 * line and nothing changes.  A loaded migration replaces the shipped row,
 * and its index builds replace the shipped ones (none, if the indexes
 * document has none for it).  Returns the migrations and index builds loaded.
 */
CREATE FUNCTION medup.load_migration_work(work text, indexes text DEFAULT NULL,
                                          OUT migrations integer, OUT index_builds integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    l        record;
    f        text[];
    label    text;
    source_text text := format('loaded by %s on %s', session_user, to_char(current_date, 'YYYY-MM-DD'));
BEGIN
    IF work IS NULL THEN
        PERFORM _document_error('migration work', 'The document is NULL.',
            'Pass the text of a file shaped like sql/install/catalog/migration_work.tsv.');
    END IF;
    CREATE TEMP TABLE IF NOT EXISTS pg_temp.medup_work_in (LIKE medup.migration_work_shipped INCLUDING CONSTRAINTS) ON COMMIT DROP;
    CREATE TEMP TABLE IF NOT EXISTS pg_temp.medup_index_in (LIKE medup.migration_index_shipped INCLUDING CONSTRAINTS) ON COMMIT DROP;
    DELETE FROM pg_temp.medup_work_in;
    DELETE FROM pg_temp.medup_index_in;
    FOR l IN SELECT * FROM _tsv_lines(work, 'data_version') LOOP
        f := l.fields;
        label := format('line %s', l.line_number);
        IF cardinality(f) <> 11 THEN
            PERFORM _document_error('migration work', format('%s has %s fields, not 11.', label, cardinality(f)),
                'The fields are data_version, kind, confidence, tables, max_version, rewrites, scans, statements, fixed_low, fixed_high, summary, separated by tabs.');
        END IF;
        BEGIN
            INSERT INTO pg_temp.medup_work_in VALUES (
                f[1]::integer, f[2], f[3],
                CASE WHEN f[4] = '' THEN '{}' ELSE string_to_array(f[4], ',') END,
                nullif(f[5], '')::integer, f[6], f[7]::integer, f[8]::integer,
                make_interval(secs => f[9]::float8), make_interval(secs => f[10]::float8), f[11]);
        EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN
            PERFORM _document_error('migration work', format('%s: %s.', label, SQLERRM),
                'See the header of sql/install/catalog/migration_work.tsv for each field''s values.');
        END;
    END LOOP;
    FOR l IN SELECT * FROM _tsv_lines(coalesce(indexes, ''), 'data_version') LOOP
        f := l.fields;
        label := format('line %s', l.line_number);
        IF cardinality(f) <> 5 THEN
            PERFORM _document_error('migration index', format('%s has %s fields, not 5.', label, cardinality(f)),
                'The fields are data_version, table_name, index_name, kind, confidence, separated by tabs.');
        END IF;
        BEGIN
            INSERT INTO pg_temp.medup_index_in VALUES (f[1]::integer, f[2], f[3], f[4], f[5]);
        EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN
            PERFORM _document_error('migration index', format('%s: %s.', label, SQLERRM),
                'See the header of sql/install/catalog/migration_indexes.tsv for each field''s values.');
        END;
    END LOOP;
    SELECT min(i.data_version) INTO l FROM pg_temp.medup_index_in i
     WHERE NOT EXISTS (SELECT FROM pg_temp.medup_work_in w WHERE w.data_version = i.data_version);
    IF l.min IS NOT NULL THEN
        PERFORM _document_error('migration index',
            format('Index builds of v%s are given, but the work document has no line for v%s.', l.min, l.min),
            'Load a migration''s index builds together with its line of migration work.');
    END IF;

    DELETE FROM migration_index_loaded WHERE data_version IN (SELECT w.data_version FROM pg_temp.medup_work_in w);
    INSERT INTO migration_work_loaded AS m
    SELECT w.*, source_text FROM pg_temp.medup_work_in w
    ON CONFLICT (data_version) DO UPDATE
        SET kind = EXCLUDED.kind, confidence = EXCLUDED.confidence, tables = EXCLUDED.tables,
            max_version = EXCLUDED.max_version, rewrites = EXCLUDED.rewrites, scans = EXCLUDED.scans,
            statements = EXCLUDED.statements, fixed_low = EXCLUDED.fixed_low,
            fixed_high = EXCLUDED.fixed_high, summary = EXCLUDED.summary,
            source = EXCLUDED.source, loaded_at = now();
    GET DIAGNOSTICS migrations = ROW_COUNT;
    INSERT INTO migration_index_loaded SELECT i.*, source_text FROM pg_temp.medup_index_in i;
    GET DIAGNOSTICS index_builds = ROW_COUNT;
END
$$;
COMMENT ON FUNCTION medup.load_migration_work(text,text) IS 'Loads what each migration does (the estimates'' catalog), in the shipped files'' shape.';

/*
 * What PostgreSQL's statistics say about each table of Medplum's schema:
 * rows (reltuples; the stats collector's live rows when never analyzed),
 * heap size, and the distribution of "__version" and "deleted" from
 * pg_stats.  No scan of any table.  SECURITY DEFINER: pg_stats shows a
 * column's values only to who may read it.  The values are read only from
 * columns of the built-in types integer and boolean, so no output function
 * of a type the table's owner made runs here, as a superuser.
 */
CREATE TYPE medup.table_stat AS (table_name text, live_rows double precision, heap_bytes bigint,
    is_resource boolean, analyzed boolean, deleted_share double precision,
    version_null_share double precision, version_values integer[],
    version_shares double precision[], version_bounds integer[]);

CREATE FUNCTION medup.read_table_stats()
RETURNS SETOF medup.table_stat
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- pg_statistic directly, not the pg_stats view (which checks column
    -- privileges row by row): the slot of kind 1 holds the most common
    -- values, of kind 2 the histogram.  The values are read as text, which
    -- runs their type's output function: only integer and boolean columns
    -- are joined.
    RETURN QUERY
    SELECT c.relname::text,
           CASE WHEN c.reltuples >= 0 THEN c.reltuples::float8
                ELSE greatest(coalesce(pg_stat_get_live_tuples(c.oid), 0), 0)::float8 END,
           -- Statistics, like reltuples: pg_relation_size() would take a
           -- lock on the table and wait behind a migration's ALTER.
           c.relpages::bigint * current_setting('block_size')::bigint,
           EXISTS (SELECT FROM pg_attribute r WHERE r.attrelid = c.oid AND r.attname = '__version'
                                                AND NOT r.attisdropped),
           sv.stanullfrac IS NOT NULL,
           coalesce((SELECT sum(f) FROM unnest((CASE 1 WHEN sd.stakind1 THEN sd.stavalues1::text WHEN sd.stakind2 THEN sd.stavalues2::text WHEN sd.stakind3 THEN sd.stavalues3::text WHEN sd.stakind4 THEN sd.stavalues4::text WHEN sd.stakind5 THEN sd.stavalues5::text END)::boolean[], CASE 1 WHEN sd.stakind1 THEN sd.stanumbers1 WHEN sd.stakind2 THEN sd.stanumbers2 WHEN sd.stakind3 THEN sd.stanumbers3 WHEN sd.stakind4 THEN sd.stanumbers4 WHEN sd.stakind5 THEN sd.stanumbers5 END) AS x(b, f) WHERE x.b), 0)::float8,
           sv.stanullfrac::float8,
           (CASE 1 WHEN sv.stakind1 THEN sv.stavalues1::text WHEN sv.stakind2 THEN sv.stavalues2::text WHEN sv.stakind3 THEN sv.stavalues3::text WHEN sv.stakind4 THEN sv.stavalues4::text WHEN sv.stakind5 THEN sv.stavalues5::text END)::integer[],
           (CASE 1 WHEN sv.stakind1 THEN sv.stanumbers1 WHEN sv.stakind2 THEN sv.stanumbers2 WHEN sv.stakind3 THEN sv.stanumbers3 WHEN sv.stakind4 THEN sv.stanumbers4 WHEN sv.stakind5 THEN sv.stanumbers5 END)::float8[],
           (CASE 2 WHEN sv.stakind1 THEN sv.stavalues1::text WHEN sv.stakind2 THEN sv.stavalues2::text WHEN sv.stakind3 THEN sv.stavalues3::text WHEN sv.stakind4 THEN sv.stavalues4::text WHEN sv.stakind5 THEN sv.stavalues5::text END)::integer[]
      FROM pg_class c
      LEFT JOIN pg_attribute v ON v.attrelid = c.oid AND v.attname = '__version' AND NOT v.attisdropped
                              AND v.atttypid = 'pg_catalog.int4'::regtype
      LEFT JOIN pg_attribute d ON d.attrelid = c.oid AND d.attname = 'deleted' AND NOT d.attisdropped
                              AND d.atttypid = 'pg_catalog.bool'::regtype
      LEFT JOIN pg_statistic sv ON sv.starelid = c.oid AND sv.staattnum = v.attnum AND NOT sv.stainherit
      LEFT JOIN pg_statistic sd ON sd.starelid = c.oid AND sd.staattnum = d.attnum AND NOT sd.stainherit
     -- The schema in a subquery, not a variable: a query without parameters
     -- is planned once per session, where one with a parameter was planned
     -- again at every call (its custom plan looked cheaper).
     WHERE c.relnamespace = (SELECT to_regnamespace(quote_ident(medup.medplum_schema())))
       AND c.relkind IN ('r', 'p');
END
$$;
COMMENT ON FUNCTION medup.read_table_stats() IS 'The statistics of Medplum''s tables the estimates use.';

/*
 * The share of a table's rows a reindex rewrites: not deleted, and
 * "__version" at most max_version or NULL (before 4.4, NULL meant never
 * reindexed; v24 turned NULL into -1).  From pg_stats: the most common
 * values, then the histogram for the rest, assuming "deleted" independent
 * of "__version".  NULL without statistics of "__version".
 */
CREATE FUNCTION medup.eligible_share(max_version integer, deleted_share double precision,
                                     null_share double precision, mc_values integer[],
                                     mc_shares double precision[], bounds integer[])
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    common  double precision := 0;
    below   double precision := 0;
    rest    double precision;
    buckets integer := coalesce(cardinality(bounds), 0) - 1;
    i       integer;
BEGIN
    IF null_share IS NULL THEN
        RETURN NULL;
    END IF;
    FOR i IN 1 .. coalesce(cardinality(mc_values), 0) LOOP
        common := common + mc_shares[i];
        IF mc_values[i] <= max_version THEN
            below := below + mc_shares[i];
        END IF;
    END LOOP;
    rest := greatest(0, 1 - null_share - common);
    IF buckets >= 1 THEN
        IF max_version >= bounds[buckets + 1] THEN
            below := below + rest;
        ELSIF max_version >= bounds[1] THEN
            -- whole buckets below, and the one it falls in counted half
            i := (SELECT count(*) FROM unnest(bounds) b WHERE b <= max_version);
            below := below + rest * (i - 0.5) / buckets;
        END IF;
    END IF;
    RETURN least(1, (null_share + below) * (1 - coalesce(deleted_share, 0)));
END
$$;
COMMENT ON FUNCTION medup.eligible_share(integer,double precision,double precision,integer[],double precision[],integer[]) IS 'The share of a table''s rows a reindex rewrites, from pg_statistic.';

/*
 * The migration fields of data-migration jobs' output that estimates
 * learn from: each reindexed type's count and elapsedTime, and each custom
 * action's durationMs with the index it built (the name in its SQL text;
 * the text itself is not returned).  Completed and running jobs only; a
 * job medup's parser does not read whole (over 1 MB, nested deeper than
 * 64 levels, not JSON) is left out (medup.jobs reports it).  only_job:
 * that job's alone (a running migration's done types), the others not parsed.
 */
CREATE FUNCTION medup.read_job_steps(only_job uuid DEFAULT NULL)
RETURNS TABLE (job_id uuid, data_version integer, status text, resource_type text,
               index_name text, rows bigint, ms bigint, done boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    t      record;
    raw    record;
    source text;
    ids    uuid[];
    jobs   jsonb[];
BEGIN
    SELECT * INTO t FROM medplum_tables();
    IF t.job_table IS NULL THEN
        RETURN;
    END IF;
    source := format('SELECT id, content, "lastUpdated" FROM %s WHERE NOT deleted AND %s%s', t.job_table,
                     CASE WHEN t.job_has_type THEN $q$type = 'data-migration'$q$
                          ELSE $q$content LIKE '%"data-migration"%'$q$ END,
                     CASE WHEN t.job_has_status THEN $q$ AND status IN ('completed', 'accepted', 'active')$q$
                          ELSE '' END);
    -- The jobs as jsonb, all in one statement.  Only what medup's own
    -- bounded parser reads whole (src/job.c: at most 1 MB, 64 levels deep)
    -- is parsed again as jsonb; should one of those still fail the cast,
    -- they are cast again one by one, and that one is left out.
    BEGIN
        SELECT coalesce(array_agg(j.id), '{}'), coalesce(array_agg(j.job), '{}') INTO ids, jobs
          FROM (SELECT r.id, r.content::jsonb AS job
                  FROM medup.cached_query(t.job_table, source, NULL)
                       AS r(id uuid, content text, "lastUpdated" timestamptz)
                 WHERE r.id IS NOT DISTINCT FROM coalesce(only_job, r.id) AND r.content IS NOT NULL
                   AND (medup.parse_job(r.id, r.content, r."lastUpdated")).parse_error IS NULL
                OFFSET 0) j;   -- each job cast once
    EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
        ids := '{}';
        jobs := '{}';
        FOR raw IN SELECT * FROM medup.cached_query(t.job_table, source, NULL)
                              AS r(id uuid, content text, "lastUpdated" timestamptz)
                    WHERE r.id IS NOT DISTINCT FROM coalesce(only_job, r.id) LOOP
            BEGIN
                CONTINUE WHEN (medup.parse_job(raw.id, raw.content, raw."lastUpdated")).parse_error IS NOT NULL
                              OR raw.content IS NULL;
                jobs := array_append(jobs, raw.content::jsonb);
                ids := array_append(ids, raw.id);
            EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
                CONTINUE;
            END;
        END LOOP;
    END;
    RETURN QUERY
    SELECT x.id, (x.job ->> 'dataVersion')::numeric::integer, x.job ->> 'status',
           f.type_part ->> 'valueCode',
           (regexp_match(p ->> 'name', '^\s*create\s+(?:unique\s+)?index\s+(?:concurrently\s+)?(?:if\s+not\s+exists\s+)?"([^"]+)"', 'i'))[1],
           CASE WHEN jsonb_typeof(f.count_part -> 'valueInteger') = 'number'
                THEN (f.count_part ->> 'valueInteger')::numeric::bigint END,
           s.ms, s.ms IS NOT NULL
      FROM unnest(ids, jobs) AS x(id, job),
           jsonb_array_elements(x.job #> '{output,parameter}') p,
           -- The first part of each name, in one pass over the parts.
           LATERAL (SELECT (array_agg(q) FILTER (WHERE q ->> 'name' = 'resourceType'))[1] AS type_part,
                           (array_agg(q) FILTER (WHERE q ->> 'name' = 'count'))[1] AS count_part,
                           (array_agg(q) FILTER (WHERE q ->> 'name' = 'elapsedTime'))[1] AS elapsed_part,
                           (array_agg(q) FILTER (WHERE q ->> 'name' = 'durationMs'))[1] AS duration_part
                      FROM jsonb_array_elements(p -> 'part') q) f,
           -- A reindexed type's elapsedTime, else a custom action's durationMs.
           LATERAL (SELECT coalesce(
                        CASE WHEN jsonb_typeof(f.elapsed_part #> '{valueQuantity,value}') = 'number'
                             THEN (f.elapsed_part #>> '{valueQuantity,value}')::numeric::bigint END,
                        CASE WHEN f.duration_part IS NOT NULL
                                  AND (jsonb_typeof(p -> 'valueInteger') = 'number'
                                       OR jsonb_typeof(f.duration_part -> 'valueInteger') = 'number')
                             THEN (coalesce(f.duration_part ->> 'valueInteger', p ->> 'valueInteger'))::numeric::bigint END)
                    AS ms) s
     -- A job of another shape has no steps (the filter is on the job
     -- alone: it runs before its parameters are read).
     WHERE (jsonb_typeof(x.job) <> 'object' OR jsonb_typeof(x.job -> 'dataVersion') <> 'number'
            OR x.job ->> 'status' NOT IN ('completed', 'accepted', 'active')
            OR jsonb_typeof(x.job #> '{output,parameter}') <> 'array') IS NOT TRUE
       AND jsonb_typeof(p) = 'object' AND jsonb_typeof(coalesce(p -> 'part', '[]')) = 'array';
EXCEPTION
    WHEN lock_not_available THEN
        RETURN;   -- no history this time: the defaults answer
END
$$;
COMMENT ON FUNCTION medup.read_job_steps(uuid) IS 'The counts and durations Medplum wrote into its data-migration jobs, for the estimates.';

/*
 * Called by medup.take_sample() while a migration runs: each index build on
 * Medplum's tables in progress now extends the row of the same build (seen
 * within the last three naptimes) or starts one.  Rows older than
 * medup.event_retention go, a few at a time.
 */
CREATE FUNCTION medup.note_index_builds(seen_at timestamptz)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    b      record;
    recent interval := 3 * setting_interval('medup.naptime');
BEGIN
    FOR b IN SELECT i.relname::text AS index_name, t.relname::text AS table_name
               FROM pg_stat_progress_create_index p
               JOIN pg_class i ON i.oid = p.index_relid
               JOIN pg_class t ON t.oid = p.relid
              WHERE p.datid = medup.current_database_oid()
                AND t.relnamespace = to_regnamespace(quote_ident(medplum_schema())) LOOP
        UPDATE index_build x SET last_seen = seen_at
         WHERE x.database_name = current_database() AND x.index_name = b.index_name
           AND x.last_seen >= seen_at - recent;
        IF NOT FOUND THEN
            INSERT INTO index_build (index_name, table_name, first_seen, last_seen)
            VALUES (b.index_name, b.table_name, seen_at, seen_at)
            ON CONFLICT DO NOTHING;
        END IF;
    END LOOP;
    DELETE FROM index_build WHERE ctid = ANY (ARRAY(
        SELECT x.ctid FROM index_build x
         WHERE x.last_seen < now() - setting_interval('medup.event_retention') LIMIT 100));
END
$$;
COMMENT ON FUNCTION medup.note_index_builds(timestamp with time zone) IS 'Records the index builds a running migration makes, for the estimates (medup.index_build).';

/*
 * The work of one index build on a table, in row-equivalents: its rows
 * (each row's keys are extracted, sorted, inserted) plus its heap in kB
 * (the heap is read twice, whatever the index).  Measured on
 * bench/estimate.sh's tables, neither alone carries over from a table of
 * wide rows to a lookup table of short ones; the sum does.
 */
CREATE FUNCTION medup.build_work(live_rows double precision, heap_bytes bigint)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ BEGIN RETURN coalesce(live_rows, 0) + coalesce(heap_bytes, 0) / 1024.0; END $$;
COMMENT ON FUNCTION medup.build_work(double precision,bigint) IS 'The work of one index build on a table, in row-equivalents: its rows plus its heap in kB.';

/*
 * The default rates, when this database has no history of that kind of
 * work: wide ranges, because they are not measured here.  rate_low gives
 * the long end of an estimate, rate_high the short one.  Units: rows per
 * second (reindex, rewrite), heap bytes per second (scan), row-equivalents
 * per second (build_*: a build reads the table's heap twice and works on
 * each row's keys, so its work is the table's rows plus its heap in kB,
 * medup.build_work()), statements per second (statement), and seconds of
 * fixed cost per index build (build_overhead: waiting for older
 * transactions, catalog work).
 */
CREATE FUNCTION medup.default_rates()
RETURNS TABLE (work text, rate_low double precision, rate_high double precision, unit text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY VALUES ('reindex',        200::float8,   20000::float8,    'rows/s'),
           ('rewrite',        2000,          100000,           'rows/s'),
           ('scan',           50e6,          1e9,              'bytes/s'),
           ('build_btree',    10000,         1000000,          'row-equivalents/s'),
           ('build_gin',      3000,          500000,           'row-equivalents/s'),
           ('build_gin_trgm', 1000,          200000,           'row-equivalents/s'),
           ('build_gist',     2000,          200000,           'row-equivalents/s'),
           ('statement',      1,             200,              'statements/s'),
           ('build_overhead', 2,             0.01,             's per build');
END
$$;
COMMENT ON FUNCTION medup.default_rates() IS 'The default rates of each kind of work, used where this database has no history.';

/*
 * The rates estimates use: learned from this database's completed jobs
 * where it has them, else the defaults.  A reindex's rate is rows per
 * second over the types Medplum timed (count / elapsedTime); an index
 * build's is row-equivalents per second of the custom actions that built
 * an index medup's catalog knows (build_work() of its table now / durationMs),
 * on tables of at least 1 MB (below that, fixed costs dominate).  The
 * range is the spread of what was measured, widened by half either way,
 * or a single measurement halved and doubled: a rate measured on some
 * tables carries over to others only that well (bench/estimate.sh).  Index kinds without a
 * measurement of their own take their default moved by how far the
 * measured kinds are from theirs.
 */
CREATE FUNCTION medup.estimate_rates(stats medup.table_stat[] DEFAULT NULL)
RETURNS TABLE (work text, rate_low double precision, rate_high double precision, unit text,
               source text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH steps AS (SELECT * FROM medup.read_job_steps() s WHERE s.done AND s.ms > 0),
    tables AS (SELECT * FROM unnest(coalesce(stats, ARRAY(SELECT t FROM medup.read_table_stats() t)))),
    -- Builds the samples watched, now valid, seen over at least three
    -- naptimes: a build ran from up to a naptime before its first sample
    -- to up to one after its last, so half of each is added.
    watched AS (
        SELECT DISTINCT ON (w.index_name) w.index_name,
               extract(epoch FROM w.last_seen - w.first_seen) + extract(epoch FROM medup.setting_interval('medup.naptime')) AS seconds
          FROM medup.index_build w
          JOIN pg_class c ON c.relname = w.index_name
                         AND c.relnamespace = to_regnamespace(quote_ident(medup.medplum_schema()))
          JOIN pg_index x ON x.indexrelid = c.oid AND x.indisvalid
         WHERE w.database_name = current_database()
           AND w.last_seen - w.first_seen >= 3 * medup.setting_interval('medup.naptime')
         ORDER BY w.index_name, w.last_seen DESC
    ),
    -- The catalog's index builds that the steps or the samples name, once
    -- each (an array, not a join: the catalog's views then read only these).
    known AS (SELECT DISTINCT ON (m.index_name) m.index_name, m.kind, m.table_name
                FROM medup.migration_index m
               WHERE m.index_name = ANY (ARRAY(SELECT s.index_name FROM steps s
                                               UNION SELECT w.index_name FROM watched w))
               ORDER BY m.index_name, m.data_version),
    observed AS (
        SELECT 'reindex' AS work, s.rows::float8 * 1000 / s.ms AS rate, s.data_version, s.rows::float8 AS amount
          FROM steps s
         WHERE s.resource_type IS NOT NULL AND s.rows >= 500
        UNION ALL
        SELECT 'build_' || i.kind, medup.build_work(t.live_rows, t.heap_bytes) * 1000 / s.ms, s.data_version,
               medup.build_work(t.live_rows, t.heap_bytes)
          FROM steps s
          JOIN known i ON i.index_name = s.index_name
          JOIN tables t ON t.table_name = i.table_name
         WHERE t.heap_bytes >= 1048576
        UNION ALL
        SELECT 'build_' || i.kind, medup.build_work(t.live_rows, t.heap_bytes) / w.seconds, NULL,
               medup.build_work(t.live_rows, t.heap_bytes)
          FROM watched w
          JOIN known i ON i.index_name = w.index_name
          JOIN tables t ON t.table_name = i.table_name
         WHERE t.heap_bytes >= 1048576
    ),
    learned AS (
        SELECT o.work, count(*) AS n,
               sum(o.amount) / sum(o.amount / o.rate) AS pooled,
               min(o.rate) AS lowest, max(o.rate) AS highest,
               concat_ws(' and ', medup.format_migrations(array_agg(DISTINCT o.data_version)),
                         CASE WHEN bool_or(o.data_version IS NULL) THEN 'builds the samples watched' END) AS migrations
          FROM observed o GROUP BY o.work
    ),
    -- How far measured index builds are from their defaults (geometric mean).
    shift AS (
        SELECT exp(avg(ln(l.pooled / sqrt(d.rate_low * d.rate_high)))) AS factor,
               string_agg(l.work, ', ' ORDER BY l.work) AS kinds
          FROM learned l JOIN medup.default_rates() d ON d.work = l.work
         WHERE l.work LIKE 'build\_%'
    )
    SELECT d.work,
           CASE WHEN l.n > 1 THEN least(l.lowest, l.pooled) / 1.5 WHEN l.n = 1 THEN l.pooled / 2
                WHEN d.work LIKE 'build\_%' AND d.work <> 'build_overhead' AND s.factor IS NOT NULL
                THEN d.rate_low * s.factor ELSE d.rate_low END,
           CASE WHEN l.n > 1 THEN greatest(l.highest, l.pooled) * 1.5 WHEN l.n = 1 THEN l.pooled * 2
                WHEN d.work LIKE 'build\_%' AND d.work <> 'build_overhead' AND s.factor IS NOT NULL
                THEN d.rate_high * s.factor ELSE d.rate_high END,
           d.unit,
           CASE WHEN l.n IS NOT NULL
                THEN format('learned: %s measured in %s (this database)', l.n, l.migrations)
                WHEN d.work LIKE 'build\_%' AND d.work <> 'build_overhead' AND s.factor IS NOT NULL
                THEN format('default, scaled by this database''s %s builds', s.kinds)
                ELSE 'default' END
      FROM medup.default_rates() d
      LEFT JOIN learned l ON l.work = d.work
      CROSS JOIN shift s;
END
$$;
COMMENT ON FUNCTION medup.estimate_rates(medup.table_stat[]) IS 'The rates estimates use: learned from this database''s completed jobs, else the defaults.';

/* The tables a migration's table patterns name, among those that exist. */
CREATE FUNCTION medup.expand_tables(patterns text[], stats medup.table_stat[])
RETURNS SETOF medup.table_stat
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT t.* FROM unnest(stats) t
     WHERE EXISTS (SELECT FROM unnest(patterns) p
                    WHERE p = t.table_name
                       OR (p = '*' AND t.is_resource)
                       OR (p IN ('*_History', '*_References')
                           AND t.table_name LIKE '%' || substr(p, 2)
                           AND EXISTS (SELECT FROM unnest(stats) r
                                        WHERE r.is_resource
                                          AND r.table_name || substr(p, 2) = t.table_name)))
       AND NOT ('-' || t.table_name = ANY (patterns));
END
$$;
COMMENT ON FUNCTION medup.expand_tables(text[],medup.table_stat[]) IS 'The tables a migration''s table patterns name, among those that exist.';

CREATE TYPE medup.migration_estimate AS (data_version integer, kind text, confidence text,
    est_work text, est_tables integer, est_live_rows bigint, est_heap_bytes bigint,
    est_index_builds integer, est_rows_to_rewrite bigint, est_low interval, est_high interval,
    est_rate_source text, est_basis text);

/*
 * What this database knows that changes an estimate: the data version
 * (completed migrations cost nothing), first boot (the migrations the
 * running server has, up to skip_reindex_upto, skip their reindex), and
 * the running migration with its job (what it has done already costs
 * nothing).  All NULL outside a Medplum database.
 */
CREATE FUNCTION medup.estimate_context(OUT data_version integer, OUT lowest medup.version,
                                       OUT skip_reindex_upto integer, OUT running integer,
                                       OUT running_job uuid)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM read_migration_row();
    IF r.data_version IS NULL THEN
        RETURN;
    END IF;
    data_version := r.data_version;
    lowest := lowest_server_version(r.schema_version, r.data_version);
    IF r.first_boot THEN
        skip_reindex_upto := (SELECT max(d.data_version) FROM data_migration d
                               WHERE d.server_version <= lowest);
    END IF;
    BEGIN
        -- No migration follows v2^31 - 1, the most "dataVersion" can say.
        SELECT j.data_version, j.job_id INTO running, running_job
          FROM read_jobs(true, least(r.data_version, 2147483646) + 1) j
         WHERE j.data_version = r.data_version::bigint + 1 AND j.status IN ('active', 'accepted')
         ORDER BY j.requested_at DESC NULLS LAST, j.last_updated DESC LIMIT 1;
    EXCEPTION WHEN lock_not_available THEN
        NULL;   -- no running job known: it is priced whole
    END;
END
$$;
COMMENT ON FUNCTION medup.estimate_context() IS 'What this database knows that changes an estimate: data version, first boot, running migration.';

/* "1,234,567" */
CREATE FUNCTION medup.format_count(n double precision)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ BEGIN RETURN to_char(round(n), 'FM999,999,999,999,999,990'); END $$;
COMMENT ON FUNCTION medup.format_count(double precision) IS 'A count written with thousands separators.';

/*
 * What each of these migrations will cost on this database, as a range of
 * durations.  completed_upto: the database's data version (migrations up
 * to it cost nothing); skip_reindex_upto: first boot skips these
 * migrations' reindexes; running, running_job: the types a running
 * reindex has done, and the indexes a running custom migration has built,
 * cost nothing.  Only statistics are read, never Medplum's rows.
 *
 * One statement prices them all (a loop per migration cost a millisecond
 * or more each at the path's length): each distinct list of table
 * patterns is expanded once, the tables and index builds of every
 * migration are summed in one pass each, and the helpers that cost a call
 * (build_work(), the confidence levels) run once per table or level, not per
 * index build.
 */
CREATE FUNCTION medup.estimate_migrations(numbers integer[], completed_upto integer DEFAULT NULL,
                                          skip_reindex_upto integer DEFAULT NULL,
                                          running integer DEFAULT NULL, running_job uuid DEFAULT NULL)
RETURNS SETOF medup.migration_estimate
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    stats      medup.table_stat[] := ARRAY(SELECT s FROM read_table_stats() s);
    -- Valid indexes of Medplum's schema: Medplum skips those (idempotentCreateIndex).
    existing   text[] := ARRAY(SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                                WHERE c.relnamespace = to_regnamespace(quote_ident(medplum_schema()))
                                  AND i.indisvalid);
    done_types text[] := '{}';
BEGIN
    IF running_job IS NOT NULL THEN
        done_types := ARRAY(SELECT s.resource_type FROM read_job_steps(running_job) s
                             WHERE s.done AND s.resource_type IS NOT NULL);
    END IF;
    RETURN QUERY
    WITH wanted AS (
        SELECT n AS data_version, w.kind, w.confidence, coalesce(n <= completed_upto, false) AS completed
          FROM unnest(numbers) n LEFT JOIN migration_work w ON w.data_version = n
    ),
    -- The migrations to price, once each: in the catalog, not completed.
    -- A first boot skips a reindex (Medplum completes it at once).
    priced AS (
        SELECT w.*, coalesce(w.kind = 'reindex' AND w.data_version <= skip_reindex_upto, false) AS skipped
          FROM migration_work w
         WHERE w.data_version = ANY (numbers) AND NOT coalesce(w.data_version <= completed_upto, false)
    ),
    rate AS (SELECT * FROM estimate_rates(stats)),
    -- The rates every migration may use, in one row: (work)_low gives the
    -- long end of an estimate, (work)_high the short one.
    unit_rate AS (
        SELECT max(r.rate_low) FILTER (WHERE r.work = 'reindex') AS reindex_low,
               max(r.rate_high) FILTER (WHERE r.work = 'reindex') AS reindex_high,
               max(r.rate_low) FILTER (WHERE r.work = 'rewrite') AS rewrite_low,
               max(r.rate_high) FILTER (WHERE r.work = 'rewrite') AS rewrite_high,
               max(r.rate_low) FILTER (WHERE r.work = 'scan') AS scan_low,
               max(r.rate_high) FILTER (WHERE r.work = 'scan') AS scan_high,
               max(r.rate_low) FILTER (WHERE r.work = 'statement') AS statement_low,
               max(r.rate_high) FILTER (WHERE r.work = 'statement') AS statement_high,
               max(r.rate_low) FILTER (WHERE r.work = 'build_overhead') AS overhead_low,
               max(r.rate_high) FILTER (WHERE r.work = 'build_overhead') AS overhead_high
          FROM rate r
    ),
    levels AS (SELECT * FROM confidence_levels()),
    -- The tables each distinct list of patterns names, expanded once.
    expanded AS MATERIALIZED (
        SELECT p.tables, x.*
          FROM (SELECT DISTINCT m.tables FROM priced m) p, expand_tables(p.tables, stats) x
    ),
    -- Each migration's tables: their rows and heap, and the rows it rewrites.
    worked AS (
        SELECT m.data_version, count(*)::integer AS tables, sum(x.live_rows) AS live_rows,
               sum(x.heap_bytes)::bigint AS heap_bytes,
               sum(x.live_rows * CASE m.rewrites
                   WHEN 'eligible' THEN coalesce(eligible_share(m.max_version, x.deleted_share,
                                                   x.version_null_share, x.version_values,
                                                   x.version_shares, x.version_bounds), 1)
                   WHEN 'none' THEN 0 ELSE 1 END) AS rewrite_high,
               count(*) FILTER (WHERE m.rewrites = 'eligible' AND NOT x.analyzed AND x.live_rows > 0) AS unanalyzed
          FROM priced m JOIN expanded x ON x.tables = m.tables
         WHERE m.data_version IS DISTINCT FROM running OR NOT x.table_name = ANY (done_types)
         GROUP BY m.data_version
    ),
    -- The index builds still to do, on which tables.
    builds AS (
        SELECT i.* FROM migration_index i
         WHERE i.data_version = ANY (numbers) AND i.data_version IN (SELECT m.data_version FROM priced m)
           AND NOT i.index_name = ANY (existing)
    ),
    build_tables AS (
        SELECT x.table_name, x.heap_bytes, build_work(x.live_rows, x.heap_bytes) AS work
          FROM unnest(stats) x WHERE x.table_name IN (SELECT i.table_name FROM builds i)
    ),
    -- Each migration's builds, the heap each reads, their time at both
    -- rates of their kind (a build on a table that does not exist: none).
    built AS (
        SELECT i.data_version, count(*)::integer AS builds,
               sum(coalesce(x.heap_bytes, 0))::bigint AS bytes,
               sum(coalesce(x.work, 0) / r.rate_high) AS low_s,
               sum(coalesce(x.work, 0) / r.rate_low) AS high_s,
               array_agg(DISTINCT 'build_' || i.kind) FILTER (WHERE x.heap_bytes > 0) AS kinds,
               max(l.rank) AS least_sure
          FROM builds i
          LEFT JOIN build_tables x ON x.table_name = i.table_name
          LEFT JOIN rate r ON r.work = 'build_' || i.kind
          LEFT JOIN levels l ON l.confidence = i.confidence
         GROUP BY i.data_version
    ),
    -- What each priced migration will cost, and the words for it.
    priced_rows AS (
        SELECT m.data_version, m.kind, s.confidence,
               coalesce(nullif(concat_ws('; ',
                   CASE WHEN m.rewrites = 'eligible'
                        THEN format('reindex %s of %s rows in %s', format_count(s.rows_to_rewrite),
                                    format_count(s.live_rows), s.tables_text)
                        WHEN m.rewrites = 'all' THEN format('rewrite %s rows in %s', format_count(s.live_rows), s.tables_text)
                        WHEN m.rewrites = 'some' THEN format('rewrite up to %s rows in %s', format_count(s.live_rows), s.tables_text) END,
                   CASE WHEN s.builds > 0 THEN format('%s index builds over %s of heap', s.builds, pg_size_pretty(s.build_bytes)) END,
                   CASE WHEN m.scans > 0 THEN format('%s scan(s) of %s', m.scans, pg_size_pretty(s.heap_bytes)) END,
                   CASE WHEN m.statements > 0 THEN format('%s catalog statements', m.statements) END,
                   CASE WHEN m.fixed_high > interval '0' THEN 'fixed work' END), ''),
                   'none left on this database'),
               s.tables, round(s.live_rows)::bigint, s.heap_bytes, s.builds, s.rows_to_rewrite,
               make_interval(secs => round(CASE WHEN m.skipped THEN 0 ELSE c.low_s END::numeric, 3)::float8),
               make_interval(secs => round(CASE WHEN m.skipped THEN 0 ELSE c.high_s END::numeric, 3)::float8),
               (SELECT string_agg(format('%s: %s', u.work, src.source), '; ' ORDER BY u.work)
                  FROM (SELECT DISTINCT work FROM unnest(c.used) work) u LEFT JOIN rate src ON src.work = u.work
                 WHERE NOT m.skipped),
               CASE WHEN m.skipped THEN 'skipped: Medplum completes a reindex at once in first-boot mode'
               ELSE nullif(concat_ws('; ',
                   CASE s.confidence
                       WHEN 'guess' THEN 'built on a guess: what this migration does is not known for sure (see its summary in medup.migration_work)'
                       WHEN 'uncertain' THEN 'built on the likelier of rival versions of this migration' END,
                   CASE WHEN s.unanalyzed > 0 THEN format('%s table(s) without usable statistics of "__version" (never analyzed, or not an integer column): every row counted', s.unanalyzed) END,
                   CASE WHEN m.data_version = running AND cardinality(done_types) > 0 THEN format('running: %s type(s) done', cardinality(done_types)) END,
                   CASE WHEN m.rewrites = 'some' THEN 'rewrites the rows a condition picks: from none to all of them' END,
                   CASE WHEN m.fixed_high > interval '0' THEN format('a fixed %s to %s independent of your data', m.fixed_low, m.fixed_high) END),
                   '') END
          FROM priced m
          LEFT JOIN worked t ON t.data_version = m.data_version
          LEFT JOIN built b ON b.data_version = m.data_version
          LEFT JOIN levels lm ON lm.confidence = m.confidence
          LEFT JOIN levels lb ON lb.rank = b.least_sure
          CROSS JOIN unit_rate r
          -- No table or no build: zero.
          CROSS JOIN LATERAL (SELECT
                   coalesce(t.tables, 0) AS tables, coalesce(t.live_rows, 0) AS live_rows,
                   coalesce(t.heap_bytes, 0) AS heap_bytes, coalesce(t.rewrite_high, 0) AS rewrite_high,
                   coalesce(t.unanalyzed, 0) AS unanalyzed,
                   coalesce(t.tables, 0) || CASE WHEN t.tables = 1 THEN ' table' ELSE ' tables' END AS tables_text,
                   coalesce(b.builds, 0) AS builds, coalesce(b.bytes, 0) AS build_bytes,
                   coalesce(b.low_s, 0) AS build_low_s, coalesce(b.high_s, 0) AS build_high_s,
                   CASE WHEN b.least_sure > lm.rank THEN lb.confidence ELSE m.confidence END AS confidence,
                   CASE WHEN m.skipped THEN 0 ELSE round(coalesce(t.rewrite_high, 0))::bigint END AS rows_to_rewrite) s
          -- The range, and the kinds of work it used (for their rates'
          -- sources).  'some' rewrites an unknown share of the rows: none at
          -- the low end, all at the high end.
          CROSS JOIN LATERAL (SELECT
                   extract(epoch FROM m.fixed_low) + s.build_low_s
                     + s.builds * r.overhead_high
                     + m.statements / r.statement_high
                     + m.scans * s.heap_bytes / r.scan_high
                     + CASE m.rewrites WHEN 'eligible' THEN s.rewrite_high / r.reindex_high
                                       WHEN 'all' THEN s.rewrite_high / r.rewrite_high
                                       ELSE 0 END AS low_s,
                   extract(epoch FROM m.fixed_high) + s.build_high_s
                     + s.builds * r.overhead_low
                     + m.statements / r.statement_low
                     + m.scans * s.heap_bytes / r.scan_low
                     + CASE m.rewrites WHEN 'eligible' THEN s.rewrite_high / r.reindex_low
                                       WHEN 'none' THEN 0
                                       ELSE s.rewrite_high / r.rewrite_low END AS high_s,
                   CASE WHEN s.builds > 0 THEN coalesce(b.kinds, '{}') || 'build_overhead'::text ELSE '{}' END
                     || CASE WHEN m.statements > 0 THEN '{statement}'::text[] ELSE '{}' END
                     || CASE WHEN m.scans > 0 AND s.heap_bytes > 0 THEN '{scan}'::text[] ELSE '{}' END
                     || CASE m.rewrites WHEN 'eligible' THEN '{reindex}'::text[] WHEN 'none' THEN '{}'
                                        ELSE '{rewrite}'::text[] END AS used) c
    )
    -- Each migration asked for: completed, not in the catalog, or priced.
    SELECT x.* FROM (
        SELECT m.data_version, m.kind, m.confidence, 'none: completed in this database', 0, 0::bigint,
               0::bigint, 0, 0::bigint, interval '0', interval '0', NULL::text, 'completed'
          FROM wanted m WHERE m.completed
        UNION ALL
        SELECT m.data_version, NULL, NULL, 'unknown', NULL, NULL, NULL, NULL, NULL, interval '0', NULL, NULL,
               format('v%s is not in medup''s catalog of migration work: load it with medup.load_migration_work(); no upper bound', m.data_version)
          FROM wanted m WHERE NOT m.completed AND m.kind IS NULL
        UNION ALL
        SELECT e.* FROM wanted m JOIN priced_rows e ON e.data_version = m.data_version
         WHERE NOT m.completed
    ) x
    ORDER BY x.data_version;
END
$$;
COMMENT ON FUNCTION medup.estimate_migrations(integer[],integer,integer,integer,uuid) IS 'What each of some migrations will cost on this database, as a range of durations.';

/*
 * medup.estimate(target_version [, current])
 *
 * One row per post-deploy migration between this database and the target,
 * with the stop that runs it and what it will cost here: the tables, rows
 * and heap it works on, the index builds still to do, the rows a reindex
 * rewrites, and est_low .. est_high, the range its duration should fall
 * in.  Migrations the current server still has to run come first, at
 * stop = current.  Sum the rows for the whole way:
 *   SELECT sum(est_low), sum(est_high) FROM medup.estimate('latest');
 */
CREATE FUNCTION medup.estimate(target_version text, current text DEFAULT NULL)
RETURNS TABLE (stop medup.version, migration integer, kind text, confidence text,
               est_work text, est_tables integer, est_live_rows bigint, est_heap_bytes bigint,
               est_index_builds integer, est_rows_to_rewrite bigint,
               est_low interval, est_high interval, est_rate_source text, est_basis text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    ctx   record;
    here  medup.version;
BEGIN
    SELECT * INTO ctx FROM estimate_context();
    here := coalesce(current::medup.version, ctx.lowest);
    IF here IS NULL THEN
        RAISE EXCEPTION 'the current Medplum version is not known'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('No readable "DatabaseMigration" in schema "%s" tells it.', medplum_schema()),
                  HINT = 'Pass it: medup.estimate(''5.2'', current => ''5.0.15'').';
    END IF;
    RETURN QUERY
    WITH path AS (
        -- what the current server still runs here, then each stop
        SELECT here AS stop, d.data_version
          FROM data_migration d
         WHERE d.server_version <= here AND d.data_version > ctx.data_version
        UNION ALL
        SELECT p.version, unnest(p.migrations) FROM path_stops(here, target_version) p
    ),
    priced AS (
        SELECT * FROM estimate_migrations(ARRAY(SELECT p.data_version FROM path p),
                                          ctx.data_version, ctx.skip_reindex_upto,
                                          ctx.running, ctx.running_job)
    )
    SELECT p.stop, e.data_version, e.kind, e.confidence, e.est_work, e.est_tables, e.est_live_rows,
           e.est_heap_bytes, e.est_index_builds, e.est_rows_to_rewrite, e.est_low, e.est_high,
           e.est_rate_source, e.est_basis
      FROM path p JOIN priced e ON e.data_version = p.data_version
     ORDER BY p.stop, e.data_version;
END
$$;
COMMENT ON FUNCTION medup.estimate(text,text) IS 'What each post-deploy migration between the database and a target version will cost here.';

/*
 * medup.upgrade_path(from_version, to_version [, required_only])
 *
 * The stops of path_stops() (30-path.sql), each priced on this database:
 * the tables its migrations work on, their live rows and heap, the index
 * builds still to do, the rows reindexes rewrite, the range its
 * migrations' durations should fall in (est_duration_low, _high; a
 * migration this database has completed costs nothing), the sources of
 * the rates and the least sure confidence among its migrations.
 */
CREATE FUNCTION medup.upgrade_path(from_version medup.version, to_version text,
                                   required_only boolean DEFAULT false,
                                   OUT step integer, OUT version medup.version,
                                   OUT crosses_major boolean, OUT required boolean,
                                   OUT migrations integer[], OUT reason text,
                                   OUT est_tables integer, OUT est_live_rows bigint,
                                   OUT est_heap_bytes bigint, OUT est_index_builds integer,
                                   OUT est_rows_to_rewrite bigint,
                                   OUT est_duration_low interval, OUT est_duration_high interval,
                                   OUT est_rate_source text, OUT est_confidence text)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
-- The planner takes each set-returning function for 1000 rows: this
-- query of a dozen stops would look costly enough to be compiled (JIT),
-- which takes hundreds of times longer than running it.
SET jit = off
AS $$
BEGIN
    -- The stops first: a bad version or catalog raises before anything is
    -- read (the prices are read for the first stop, which needs them: a
    -- path without stops reads nothing).  All the stops' migrations are
    -- priced in one call, then summed per stop.
    RETURN QUERY
    WITH stops AS MATERIALIZED (SELECT * FROM path_stops(from_version, to_version, required_only)),
    priced AS MATERIALIZED (
        SELECT e.* FROM estimate_context() ctx,
               estimate_migrations(ARRAY(SELECT m FROM stops s, unnest(s.migrations) m),
                                   ctx.data_version, ctx.skip_reindex_upto, ctx.running, ctx.running_job) e
    ),
    levels AS (SELECT * FROM confidence_levels())
    SELECT s.step, s.version, s.crosses_major, s.required, s.migrations, s.reason, p.*
      FROM stops s
      CROSS JOIN LATERAL (
          SELECT coalesce(sum(e.est_tables), 0)::integer, coalesce(sum(e.est_live_rows), 0)::bigint,
                 coalesce(sum(e.est_heap_bytes), 0)::bigint, coalesce(sum(e.est_index_builds), 0)::integer,
                 coalesce(sum(e.est_rows_to_rewrite), 0)::bigint, coalesce(sum(e.est_low), interval '0'),
                 CASE WHEN bool_or(e.est_high IS NULL) THEN NULL ELSE coalesce(sum(e.est_high), interval '0') END,
                 (SELECT string_agg(DISTINCT src, '; ')
                    FROM priced e2, regexp_split_to_table(e2.est_rate_source, '; ') src
                   WHERE e2.data_version = ANY (s.migrations)),
                 (SELECT l.confidence FROM levels l WHERE l.rank = max(c.rank))
            FROM priced e LEFT JOIN levels c ON c.confidence = e.confidence
           WHERE e.data_version = ANY (s.migrations)) p
     ORDER BY s.step;
END
$$;
COMMENT ON FUNCTION medup.upgrade_path(medup.version,text,boolean) IS 'The versions to deploy, in order, from one version to a target, with what each stop costs here.';
