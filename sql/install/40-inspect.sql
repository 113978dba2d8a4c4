------------------------------------------------------------------------
-- Inspection: reading Medplum's state, read-only and without waiting
--
-- Every function that reads Medplum's tables or other sessions' activity
-- is SECURITY DEFINER with a fixed search_path, and exposes only migration
-- fields: never AsyncJob contents beyond them, never query texts.  The SQL
-- on Medplum's tables runs through cached_query() as the table's owner,
-- with a short lock_timeout: a lock held on a Medplum table is reported,
-- not waited for, so medup can never queue behind (and then block) a
-- migration.
------------------------------------------------------------------------

CREATE TYPE medup.version_range AS RANGE (subtype = medup.version);
COMMENT ON TYPE medup.version_range IS 'A range of Medplum server versions';
COMMENT ON FUNCTION medup.version_range(medup.version,medup.version) IS 'Constructs a medup.version_range.';
COMMENT ON FUNCTION medup.version_range(medup.version,medup.version,text) IS 'Constructs a medup.version_range.';
COMMENT ON FUNCTION medup.version_multirange() IS 'Constructs a medup.version_multirange.';
COMMENT ON FUNCTION medup.version_multirange(medup.version_range) IS 'Constructs a medup.version_multirange.';
COMMENT ON FUNCTION medup.version_multirange(medup.version_range[]) IS 'Constructs a medup.version_multirange.';

/* The pid of the medup launcher when it watches this database, or NULL (not preloaded, not listed). */
CREATE FUNCTION medup.worker_pid() RETURNS integer
    AS 'MODULE_PATHNAME', 'medup_worker_pid' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION medup.worker_pid() IS 'The pid of medup''s launcher when it watches this database.';

/*
 * Run SQL built at run time with a plan kept for the session (src/plan_cache.c):
 * for reading Medplum's tables, whose schema is a setting.  The SQL runs as
 * the owner of the relation named first (Medplum's app role), with a fixed
 * search_path, never as medup's owner.  Internal: only medup's own
 * functions may call it.
 */
CREATE FUNCTION medup.cached_query(source regclass, sql text, param integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'medup_cached_query_as_owner' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION medup.cached_query(regclass,text,integer) IS 'Runs SQL on Medplum''s tables with a plan kept for the session, as the table''s owner (src/plan_cache.c).';

/* The schema that holds Medplum's tables (setting medup.medplum_schema). */
CREATE FUNCTION medup.medplum_schema()
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- A remote target's schema while its facts are held (47-targets.sql).
    IF medup.remote_active() THEN
        RETURN medup.snapshot()->>'schema';
    END IF;
    -- PL/pgSQL: a SQL function with a SET clause is planned on every call.
    RETURN coalesce(nullif(current_setting('medup.medplum_schema', true), ''), 'public');
END
$$;
COMMENT ON FUNCTION medup.medplum_schema() IS 'The schema of Medplum''s tables (setting medup.medplum_schema).';

/* Which Medplum tables and columns exist: Medplum's schema changed over time. */
CREATE FUNCTION medup.medplum_tables(OUT schema_name text, OUT migration_table regclass,
                                     OUT job_table regclass, OUT job_has_type boolean,
                                     OUT job_has_status boolean, OUT migration_has_first_boot boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    schema_name := medup.medplum_schema();
    job_table := to_regclass(format('%I.%I', schema_name, 'AsyncJob'));
    migration_table := to_regclass(format('%I.%I', schema_name, 'DatabaseMigration'));
    -- "firstBoot" came with Medplum 4.1.0; 3.3.0-4.0.x lack it.  One index
    -- scan for the three columns: status() asks twice per call.
    SELECT coalesce(bool_or(a.attrelid = job_table AND a.attname = 'type'), false),
           coalesce(bool_or(a.attrelid = job_table AND a.attname = 'status'), false),
           coalesce(bool_or(a.attrelid = migration_table AND a.attname = 'firstBoot'), false)
      INTO job_has_type, job_has_status, migration_has_first_boot
      FROM pg_attribute a
     WHERE a.attrelid IN (job_table, migration_table)
       AND a.attname IN ('type', 'status', 'firstBoot') AND NOT a.attisdropped;
END
$$;
COMMENT ON FUNCTION medup.medplum_tables() IS 'Which of Medplum''s tables and columns exist in this era.';

/*
 * Every data-migration AsyncJob, parsed.  Only the migration fields leave
 * this function.  A row whose content is not valid JSON, or whose
 * dataVersion is not a number, is returned with parse_error set rather
 * than failing the whole answer.
 */
CREATE TYPE medup.job AS (job_id uuid, data_version integer, status text,
    requested_at timestamptz, finished_at timestamptz,
    last_updated timestamptz, min_server_version text,
    steps_done integer, steps_running integer, steps_failed integer,
    rows_done bigint, running_step text, error text, parse_error text);

CREATE FUNCTION medup.read_jobs(open_only boolean DEFAULT false,
                                for_version integer DEFAULT NULL)
RETURNS SETOF medup.job
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    t      record;
    source text;
    raw    record;
    parsed medup.job[];
    all_parsed boolean;
    bad    medup.job;
BEGIN
    -- A remote target's jobs while its facts are held (47-targets.sql).
    IF medup.remote_active() THEN
        RETURN QUERY SELECT * FROM medup.snapshot_jobs(open_only, for_version);
        RETURN;
    END IF;
    SELECT * INTO t FROM medplum_tables();
    IF t.job_table IS NULL THEN
        RETURN;
    END IF;
    -- Since Medplum 3.2.26 "type" is a column with an index; before, the
    -- JSON is all there is.
    -- open_only: the jobs that are not completed, which is all status()
    -- needs; the "status" column (with the type index) keeps that cheap.
    -- for_version: only the jobs that may be of that migration.  Failed
    -- attempts of long-completed migrations stay in the table forever, and
    -- status() must not parse them all every time.  job_may_be() (C, one
    -- pass over the text) leaves out only a row that plainly says
    -- "dataVersion" is another integer, whatever the spacing; any other row
    -- is kept, and the full parse below decides (and reports a malformed
    -- one).  So the filter never changes an answer, only saves parsing.
    -- It runs here, as medup, not in the SQL run as the table's owner.
    source := format('SELECT id, content, "lastUpdated" FROM %s WHERE NOT deleted AND %s%s',
                     t.job_table,
                     CASE WHEN t.job_has_type THEN $q$type = 'data-migration'$q$
                          ELSE $q$content LIKE '%"data-migration"%'$q$ END,
                     CASE WHEN open_only AND t.job_has_status
                          THEN $q$ AND status IS DISTINCT FROM 'completed'$q$ ELSE '' END,
                     '');
    -- Parse every row in one statement; only if some row is malformed,
    -- parse them one by one, so that the bad ones come back with
    -- parse_error instead of failing the answer.  A failure half-way must
    -- leave nothing in the result, so nothing is returned before every row
    -- has parsed.  status()'s few open jobs of one migration are kept in an
    -- array meanwhile; all jobs may be a million failed attempts, so for
    -- them a first pass keeps nothing, and the answer is parsed again as it
    -- streams out (the function's snapshot is the same for both).
    BEGIN
        IF for_version IS NOT NULL THEN
            SELECT array_agg(p) INTO parsed
              FROM medup.cached_query(t.job_table, source, NULL) AS j(id uuid, content text, "lastUpdated" timestamptz),
                   medup.parse_job(j.id, j.content, j."lastUpdated") p
             WHERE medup.job_may_be(j.content, for_version) AND p.job_id IS NOT NULL;
        ELSE
            PERFORM count(p.job_id)
               FROM medup.cached_query(t.job_table, source, NULL) AS j(id uuid, content text, "lastUpdated" timestamptz),
                    medup.parse_job(j.id, j.content, j."lastUpdated") p;
        END IF;
        all_parsed := true;
    EXCEPTION WHEN data_exception THEN
        all_parsed := false;
    END;
    IF all_parsed AND for_version IS NOT NULL THEN
        RETURN QUERY SELECT * FROM unnest(parsed) p
                      WHERE NOT open_only OR p.status IS DISTINCT FROM 'completed';
        RETURN;
    ELSIF all_parsed THEN
        RETURN QUERY
        SELECT p.* FROM medup.cached_query(t.job_table, source, NULL) AS j(id uuid, content text, "lastUpdated" timestamptz),
                        medup.parse_job(j.id, j.content, j."lastUpdated") p
         WHERE p.job_id IS NOT NULL AND (NOT open_only OR p.status IS DISTINCT FROM 'completed');
        RETURN;
    END IF;
    FOR raw IN SELECT * FROM medup.cached_query(t.job_table, source, NULL)
                          AS j(id uuid, content text, "lastUpdated" timestamptz)
                WHERE medup.job_may_be(j.content, for_version) LOOP
        BEGIN
            RETURN QUERY SELECT * FROM parse_job(raw.id, raw.content, raw."lastUpdated") p
                          WHERE p.job_id IS NOT NULL
                            AND (NOT open_only OR p.status IS DISTINCT FROM 'completed');
        EXCEPTION WHEN data_exception THEN
            bad.job_id := raw.id;
            bad.last_updated := raw."lastUpdated";
            bad.parse_error := SQLERRM;
            RETURN NEXT bad;
        END;
    END LOOP;
END
$$;
COMMENT ON FUNCTION medup.read_jobs(boolean,integer) IS 'The rows of medup.jobs for this database.';

/* Whether a job's text may be of that data migration (src/job.c): a filter that never changes an answer. */
CREATE FUNCTION medup.job_may_be(content text, data_version integer)
RETURNS boolean
AS 'MODULE_PATHNAME', 'medup_job_may_be' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION medup.job_may_be(text,integer) IS 'Whether a job''s text may be of a data migration (a filter that never changes an answer; src/job.c).';

/*
 * One job's migration fields (src/job.c), or NULL when the job is not a
 * data migration.  Progress lives in output.parameter[]: reindex steps are
 * "result" entries whose parts carry resourceType, count and elapsedTime
 * (done), nextTimestamp (running) or error; custom SQL steps are entries
 * with a durationMs part.  Content that is not JSON, or a malformed field,
 * raises a data exception.  Content medup does not read (NULL, over 1 MB,
 * nested over 64 levels) gives a row with only parse_error set: that is
 * why the function is not STRICT (it is NULL-safe in C), so that such a
 * row is reported instead of vanishing.
 */
CREATE FUNCTION medup.parse_job(id uuid, job text, last_updated timestamptz)
RETURNS medup.job
AS 'MODULE_PATHNAME', 'medup_parse_job_text' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION medup.parse_job(uuid,text,timestamp with time zone) IS 'One job''s migration fields (src/job.c), or NULL when it is not a data migration.';

/*
 * The "DatabaseMigration" row, or why it cannot be read: problem says it
 * in words, locked says whether a lock held by another session was the
 * reason (the other problems mean this is not Medplum's schema).
 * first_boot is false before Medplum 4.1.0, which has no first-boot mode.
 */
CREATE FUNCTION medup.read_migration_row(OUT schema_version integer, OUT data_version integer,
                                         OUT first_boot boolean, OUT problem text,
                                         OUT locked boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    t record;
    snap jsonb;
BEGIN
    locked := false;
    -- A remote target's row while its facts are held (47-targets.sql).
    IF medup.remote_active() THEN
        snap := medup.snapshot()->'row';
        schema_version := (snap->>'schema_version')::integer;
        data_version := (snap->>'data_version')::integer;
        first_boot := (snap->>'first_boot')::boolean;
        problem := snap->>'problem';
        locked := (snap->>'locked')::boolean;
        RETURN;
    END IF;
    SELECT * INTO t FROM medplum_tables();
    IF t.migration_table IS NULL THEN
        problem := 'no "DatabaseMigration" table';
        RETURN;
    END IF;
    SELECT r.version, r."dataVersion", r."firstBoot"
      INTO schema_version, data_version, first_boot
      FROM medup.cached_query(t.migration_table,
                              format('SELECT version, "dataVersion", %s FROM %s ORDER BY id LIMIT 1',
                                     CASE WHEN t.migration_has_first_boot THEN '"firstBoot"' ELSE 'false' END,
                                     t.migration_table), NULL)
           AS r(version integer, "dataVersion" integer, "firstBoot" boolean);
    IF schema_version IS NULL THEN
        problem := '"DatabaseMigration" is empty';
    END IF;
EXCEPTION
    WHEN lock_not_available THEN
        problem := '"DatabaseMigration" is locked by another session';
        locked := true;
    WHEN undefined_column OR datatype_mismatch THEN
        problem := '"DatabaseMigration" lacks the columns medup knows';
    WHEN insufficient_privilege THEN
        problem := '"DatabaseMigration" cannot be read by its own owner, as whom medup reads it';
END
$$;
COMMENT ON FUNCTION medup.read_migration_row() IS 'The "DatabaseMigration" row, or why it cannot be read.';

/*
 * How far one PostgreSQL operation is, 0-1, from its progress view's row.
 * Every phase has its own share, in the order PostgreSQL goes through
 * them, and only the counters of the current phase move inside it:
 * PostgreSQL restarts its counters at each phase (also at each sub-phase
 * of "building index: ..."), so within one operation the fraction only
 * moves forward.  A VACUUM that fills its dead-tuple memory goes back to
 * scanning the heap: its share follows the heap blocks scanned, which
 * never go back.  Shares are rough guesses of the time each phase takes.
 */
CREATE FUNCTION medup.phase_fraction(command text, phase text, blocks_done bigint,
                                     blocks_total bigint, tuples_done bigint,
                                     tuples_total bigint)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT least(1.0, greatest(0.0, w.start + w.share *
             CASE WHEN w.counter = 'tuples' AND coalesce(tuples_total, 0) > 0
                  THEN tuples_done::float8 / tuples_total
                  WHEN w.counter = 'blocks' AND coalesce(blocks_total, 0) > 0
                  THEN blocks_done::float8 / blocks_total
                  ELSE 0 END))
      FROM (SELECT * FROM (VALUES
            -- CREATE INDEX [CONCURRENTLY], REINDEX [CONCURRENTLY]
            ('index', 'initializing', 0.00, 0.00, NULL),
            ('index', 'waiting for writers before build', 0.01, 0.01, NULL),
            ('index', 'building index: scanning table', 0.02, 0.30, 'blocks'),
            ('index', 'building index: sorting live tuples', 0.32, 0.06, NULL),
            ('index', 'building index: sorting dead tuples', 0.38, 0.01, NULL),
            ('index', 'building index: loading tuples in tree', 0.39, 0.19, 'tuples'),
            ('index', 'building index', 0.02, 0.56, 'blocks'),
            ('index', 'waiting for writers before validation', 0.58, 0.02, NULL),
            ('index', 'index validation: scanning index', 0.60, 0.08, 'blocks'),
            ('index', 'index validation: sorting tuples', 0.68, 0.05, NULL),
            ('index', 'index validation: scanning table', 0.73, 0.22, 'blocks'),
            ('index', 'waiting for old snapshots', 0.95, 0.02, NULL),
            ('index', 'waiting for readers before marking dead', 0.97, 0.01, NULL),
            ('index', 'waiting for readers before dropping', 0.98, 0.01, NULL),
            -- VACUUM: the heap scan decides, whatever the phase
            ('vacuum', 'initializing', 0.00, 0.00, NULL),
            ('vacuum', 'scanning heap', 0.00, 0.90, 'blocks'),
            ('vacuum', 'vacuuming indexes', 0.00, 0.90, 'blocks'),
            ('vacuum', 'vacuuming heap', 0.00, 0.90, 'blocks'),
            ('vacuum', 'cleaning up indexes', 0.92, 0.00, NULL),
            ('vacuum', 'truncating heap', 0.95, 0.00, NULL),
            ('vacuum', 'performing final cleanup', 0.98, 0.00, NULL),
            -- ANALYZE
            ('analyze', 'initializing', 0.00, 0.00, NULL),
            ('analyze', 'acquiring sample rows', 0.00, 0.80, 'blocks'),
            ('analyze', 'acquiring inherited sample rows', 0.00, 0.80, 'blocks'),
            ('analyze', 'computing statistics', 0.80, 0.00, NULL),
            ('analyze', 'computing extended statistics', 0.90, 0.00, NULL),
            ('analyze', 'finalizing analyze', 0.95, 0.00, NULL))
            AS p(kind, phase, start, share, counter)
             WHERE p.kind = CASE WHEN command IN ('VACUUM', 'ANALYZE') THEN lower(command) ELSE 'index' END
               -- "building index: <sub-phase>" of another access method
               -- falls back on "building index".
               AND (p.phase = phase_fraction.phase
                    OR (p.phase = 'building index' AND phase_fraction.phase LIKE 'building index%'))
             ORDER BY p.phase = phase_fraction.phase DESC LIMIT 1) w
$$;
COMMENT ON FUNCTION medup.phase_fraction(text,text,bigint,bigint,bigint,bigint) IS 'How far one PostgreSQL operation is, 0-1, every phase weighted.';

/*
 * Who is Medplum's server: the one definition.  application_name is the
 * client's to choose, so a session counts only when its role is Medplum's
 * too: the owner of "DatabaseMigration" (Medplum's app role) or a role a
 * superuser lists in medup.medplum_roles (src/plan_cache.c) -- and it is named
 * what Medplum's servers name their sessions (since 3.2.18).  Everything
 * that reads sessions (progress, stall, downtime, blockers, the holder of
 * the migration lock) reads them through medplum_sessions().
 */
CREATE FUNCTION medup.medplum_application_name()
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ BEGIN RETURN 'medplum-server'; END $$;  -- the one place (remote targets' SQL takes it as a literal)
COMMENT ON FUNCTION medup.medplum_application_name() IS 'The application_name of Medplum''s server sessions (medplum-server).';

CREATE FUNCTION medup.medplum_role_ids(migration_table regclass)
RETURNS oid[]
AS 'MODULE_PATHNAME', 'medup_medplum_role_ids' LANGUAGE C STABLE;
COMMENT ON FUNCTION medup.medplum_role_ids(regclass) IS 'The roles whose sessions may be Medplum''s servers: the table owner and medup.medplum_roles.';

/* This database's sessions of Medplum's servers, as above.  Internal: it shows query texts. */
CREATE FUNCTION medup.medplum_sessions()
RETURNS TABLE (pid integer, state text, wait_event_type text, query_start timestamptz, query text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    -- medplum_tables()'s migration_table, without its look at the columns.
    roles oid[] := medup.medplum_role_ids(to_regclass(format('%I.%I', medup.medplum_schema(), 'DatabaseMigration')));
BEGIN
    RETURN QUERY
    SELECT a.pid, a.state, a.wait_event_type, a.query_start, a.query
      FROM pg_stat_activity a
     WHERE a.datname = current_database()
       AND a.application_name = medup.medplum_application_name()
       AND a.usesysid = ANY (roles);
END
$$;
COMMENT ON FUNCTION medup.medplum_sessions() IS 'This database''s sessions of Medplum''s servers (with query texts: owner only).';

/*
 * What PostgreSQL is doing for Medplum right now: index builds, vacuum and
 * analyze on Medplum's tables (those in medup.medplum_schema), and nothing
 * else: PostgreSQL shows other schemas' work only to their owners.  "fraction" is
 * phase-weighted: PostgreSQL restarts its counters at every phase, so a
 * plain done/total would jump back to zero.  No query text is shown.
 * medplum_only: only the work of Medplum's server sessions, which is what
 * status() and the samples count as a migration's progress (the database
 * owner may ANALYZE Medplum's tables too, and autovacuum does).
 */
/* This database's OID, as pg_locks and the progress views name it. */
CREATE FUNCTION medup.current_database_oid()
RETURNS oid
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT d.oid FROM pg_database d WHERE d.datname = current_database() $$;
COMMENT ON FUNCTION medup.current_database_oid() IS 'This database''s OID, as pg_locks and the progress views name it.';

CREATE FUNCTION medup.progress_reported()
RETURNS boolean
AS 'MODULE_PATHNAME', 'medup_progress_reported' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION medup.progress_reported() IS 'Whether a session of this database reports CREATE INDEX, VACUUM or ANALYZE progress now.';

CREATE FUNCTION medup.read_progress(medplum_only boolean DEFAULT false)
RETURNS TABLE (pid integer, command text, phase text, relation text, index_name text,
               fraction double precision, blocks_done bigint, blocks_total bigint,
               tuples_done bigint, tuples_total bigint, wait_event text,
               blocked_by integer[], application_name text, started_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    this_database oid;
BEGIN
    IF medup.remote_active() THEN
        RETURN QUERY SELECT * FROM medup.snapshot_progress();
        RETURN;
    END IF;
    -- The progress views are costly to set up; most of the time nothing
    -- runs, which progress_reported() tells cheaply (src/progress.c).
    IF NOT medup.progress_reported() THEN
        RETURN;
    END IF;
    this_database := medup.current_database_oid();
    RETURN QUERY
    WITH work AS (
        SELECT p.pid, p.command, p.phase, p.relid, p.index_relid,
               p.blocks_done, p.blocks_total, p.tuples_done, p.tuples_total
          FROM pg_stat_progress_create_index p
         WHERE p.datid = this_database
        UNION ALL
        SELECT v.pid, 'VACUUM', v.phase, v.relid, NULL,
               v.heap_blks_scanned, v.heap_blks_total, NULL, NULL
          FROM pg_stat_progress_vacuum v
         WHERE v.datid = this_database
        UNION ALL
        SELECT a.pid, 'ANALYZE', a.phase, a.relid, NULL,
               a.sample_blks_scanned, a.sample_blks_total, NULL, NULL
          FROM pg_stat_progress_analyze a
         WHERE a.datid = this_database
    )
    SELECT w.pid, w.command, w.phase, w.relid::regclass::text, w.index_relid::regclass::text,
           medup.phase_fraction(w.command, w.phase, w.blocks_done, w.blocks_total,
                                w.tuples_done, w.tuples_total),
           w.blocks_done, w.blocks_total, w.tuples_done, w.tuples_total,
           s.wait_event_type || ': ' || s.wait_event,
           pg_blocking_pids(w.pid), s.application_name, s.query_start
      FROM work w
      -- Per row of work: with nothing running, pg_stat_activity is not read.
      LEFT JOIN LATERAL (SELECT a.application_name, a.wait_event_type, a.wait_event, a.query_start
                           FROM pg_stat_activity a WHERE a.pid = w.pid) s ON true
      LEFT JOIN pg_class c ON c.oid = w.relid
     WHERE c.relnamespace = to_regnamespace(quote_ident(medup.medplum_schema()))
       AND (NOT medplum_only OR w.pid IN (SELECT m.pid FROM medup.medplum_sessions() m));
END
$$;
COMMENT ON FUNCTION medup.read_progress(boolean) IS 'The rows of medup.progress for this database (all sessions, or Medplum''s).';

/*
 * Indexes on Medplum's tables left invalid by a failed concurrent build,
 * with the statement that would rebuild them.  medup never runs it.
 * Indexes being built right now are invalid too, and are left out.
 * Medplum's tables are those in its schema owned by the owner of
 * "DatabaseMigration": on PostgreSQL 15 the database owner owns schema
 * public, and what it puts there is not Medplum's.
 */
CREATE FUNCTION medup.read_invalid_indexes()
RETURNS TABLE (table_name text, index_name text, definition text, size bigint, fix text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF medup.remote_active() THEN
        RETURN QUERY SELECT * FROM medup.snapshot_invalid_indexes();
        RETURN;
    END IF;
    -- An index dropped while it is read has no definition: it is gone.
    RETURN QUERY
    SELECT x.* FROM (
        SELECT t.relname::text AS tbl, c.relname::text AS idx, medup.index_definition(i.indexrelid) AS definition,
               pg_relation_size(i.indexrelid),
               format('REINDEX INDEX CONCURRENTLY %I.%I;', n.nspname, c.relname)
          FROM pg_index i
          JOIN pg_class c ON c.oid = i.indexrelid
          JOIN pg_class t ON t.oid = i.indrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE NOT i.indisvalid
           AND n.nspname = medup.medplum_schema()
           AND t.relowner = medup.medplum_owner()
           AND NOT EXISTS (SELECT FROM pg_stat_progress_create_index p
                            WHERE p.index_relid = i.indexrelid OR p.relid = i.indrelid)) x
     WHERE x.definition IS NOT NULL
     ORDER BY 1, 2;
END
$$;
COMMENT ON FUNCTION medup.read_invalid_indexes() IS 'The rows of medup.invalid_indexes for this database.';

/*
 * An index's definition, or NULL when it no longer exists.  medup reads
 * the catalogs without locking Medplum's indexes (a lock could hold up a
 * migration's DROP INDEX or REINDEX), so an index can be dropped while
 * pg_get_indexdef() reads it: it then fails with "cache lookup failed"
 * (XX000), which here means the index is gone, not that the sample
 * failed.
 */
CREATE FUNCTION medup.index_definition(index_oid oid)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN pg_get_indexdef(index_oid);
EXCEPTION WHEN internal_error THEN
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION medup.index_definition(oid) IS 'An index''s definition, or NULL when it was dropped while being read.';

/* The owner of "DatabaseMigration": Medplum's app role; NULL without the table. */
CREATE FUNCTION medup.medplum_owner()
RETURNS oid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT c.relowner FROM pg_class c
             WHERE c.oid = to_regclass(format('%I.%I', medup.medplum_schema(), 'DatabaseMigration')));
END
$$;
COMMENT ON FUNCTION medup.medplum_owner() IS 'The owner of "DatabaseMigration": Medplum''s app role.';

/* How many there are, cheaply: status() asks every time. */
CREATE FUNCTION medup.count_invalid_indexes()
RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF medup.remote_active() THEN
        RETURN jsonb_array_length(medup.snapshot()->'invalid');
    END IF;
    -- Almost always none: look at index builds in progress only when needed.
    IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                    WHERE NOT i.indisvalid
                      AND c.relnamespace = to_regnamespace(quote_ident(medup.medplum_schema()))
                      AND c.relowner = medup.medplum_owner()) THEN
        RETURN 0;
    END IF;
    RETURN (SELECT count(*)::integer FROM medup.read_invalid_indexes());
END
$$;
COMMENT ON FUNCTION medup.count_invalid_indexes() IS 'How many invalid indexes Medplum''s tables have, cheaply.';



/*
 * The sessions that Medplum's server sessions wait for on a lock: what
 * holds a migration back.  Only sessions waiting on a lock are asked for
 * their blockers.
 */
CREATE FUNCTION medup.medplum_blockers()
RETURNS integer[]
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF medup.remote_active() THEN
        RETURN CASE WHEN jsonb_typeof(medup.snapshot()->'blockers') = 'array'
                    THEN ARRAY(SELECT jsonb_array_elements_text(medup.snapshot()->'blockers')::integer) END;
    END IF;
    RETURN (SELECT array_agg(DISTINCT b ORDER BY b)
              FROM medup.medplum_sessions() a, unnest(pg_blocking_pids(a.pid)) b
             WHERE a.wait_event_type = 'Lock');
END
$$;
COMMENT ON FUNCTION medup.medplum_blockers() IS 'The sessions Medplum''s server sessions wait for on a lock.';

/* Whether any Medplum server is connected to this database (medplum_sessions()). */
CREATE FUNCTION medup.medplum_connected()
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF medup.remote_active() THEN
        RETURN (medup.snapshot()->>'connected')::boolean;
    END IF;
    RETURN EXISTS (SELECT FROM medup.medplum_sessions());
END
$$;
COMMENT ON FUNCTION medup.medplum_connected() IS 'Whether any Medplum server session is connected to this database.';

/*
 * Whether a Medplum server session is working on a migration now: running
 * a statement its API never issues (an index build, REINDEX, VACUUM,
 * ANALYZE, ALTER, CLUSTER), or a write that has run for 5 s or more (a
 * custom migration's batches; API writes take milliseconds), and not
 * waiting on a lock (that is "blocked").  A custom migration writes
 * nothing to its job until it ends: this is the sign it is alive.  The
 * query text is only matched here, never returned.
 */
CREATE FUNCTION medup.medplum_working()
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF medup.remote_active() THEN
        RETURN (medup.snapshot()->>'working')::boolean;
    END IF;
    RETURN EXISTS (
        SELECT FROM medup.medplum_sessions() a
         WHERE a.state = 'active'
           AND a.wait_event_type IS DISTINCT FROM 'Lock'
           AND (a.query ~* '^\s*(create|drop)\s+(unique\s+)?index|^\s*(reindex|vacuum|analyze|alter|cluster)\y'
                OR (a.query ~* '^\s*(update|insert|delete|with)\y'
                    AND a.query_start < now() - interval '5 seconds')));
END
$$;
COMMENT ON FUNCTION medup.medplum_working() IS 'Whether a Medplum server session is working on a migration now.';

/*
 * The session holding Medplum's pre-deploy migration lock (advisory lock
 * 1), with its role and application_name, and whether it is one of
 * Medplum's server sessions (medplum_sessions()): any other holder is not
 * Medplum migrating but something keeping Medplum from it.  SECURITY
 * DEFINER to see every session, like status(); it shows no query text.
 */
CREATE FUNCTION medup.migration_lock_holder(OUT pid integer, OUT role_name text,
                                            OUT application_name text, OUT is_medplum boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    snap jsonb;
BEGIN
    IF medup.remote_active() THEN
        snap := medup.snapshot();
        pid := (snap->>'lock_pid')::integer;
        role_name := snap->>'lock_role';
        application_name := snap->>'lock_application';
        -- A remote target's sessions are judged by their name only: its
        -- snapshot (47-targets.sql) does not yet carry their roles.
        is_medplum := application_name = medup.medplum_application_name();
        RETURN;
    END IF;
    SELECT l.pid INTO pid FROM pg_locks l
     WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = 1 AND l.objsubid = 1
       AND l.granted
       AND l.database = medup.current_database_oid()
     LIMIT 1;
    IF pid IS NOT NULL THEN
        SELECT a.usename, a.application_name INTO role_name, application_name
          FROM pg_stat_activity a WHERE a.pid = migration_lock_holder.pid;
        is_medplum := EXISTS (SELECT FROM medup.medplum_sessions() m WHERE m.pid = migration_lock_holder.pid);
    END IF;
END
$$;
COMMENT ON FUNCTION medup.migration_lock_holder() IS 'The session holding Medplum''s pre-deploy lock (advisory lock 1).';

/*
 * One row per data migration the catalog knows, like Medplum's admin
 * "Post-deploy Migrations" tab, from the "DatabaseMigration" row and the
 * jobs.  Migrations the database has but the catalog lacks are shown too.
 */
CREATE FUNCTION medup.read_migrations(db_data_version integer)
RETURNS TABLE (data_version integer, server_version medup.version,
               required_before medup.version, state text, job_id uuid,
               attempts integer, requested_at timestamptz, last_updated timestamptz,
               duration interval, steps_done integer, rows_done bigint, detail text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH jobs AS (
        SELECT j.*, j AS job, row_number() OVER (PARTITION BY j.data_version
                                       ORDER BY j.requested_at DESC NULLS LAST,
                                                j.last_updated DESC) AS newest_first,
               count(*) OVER (PARTITION BY j.data_version) AS attempts
          FROM medup.read_jobs() j
         WHERE j.data_version IS NOT NULL
    ),
    known AS (
        SELECT d.data_version, d.server_version, d.required_before FROM data_migration d
        UNION
        SELECT j.data_version, NULL, NULL FROM jobs j
         WHERE NOT EXISTS (SELECT FROM data_migration d WHERE d.data_version = j.data_version)
    )
    SELECT k.data_version, k.server_version, k.required_before,
           CASE
             WHEN k.data_version <= db_data_version THEN 'completed'
             WHEN j.status IN ('active', 'accepted') THEN 'running'
             WHEN j.status = 'error' THEN 'failed'
             WHEN j.status = 'cancelled' THEN 'cancelled'
             WHEN k.data_version = db_data_version::bigint + 1 THEN 'next'
             ELSE 'pending'
           END,
           j.job_id, coalesce(j.attempts, 0)::integer, j.requested_at, j.last_updated,
           medup.migration_time(j.job),
           j.steps_done, j.rows_done,
           concat_ws('; ',
             CASE WHEN j.running_step IS NOT NULL THEN 'running: ' || j.running_step END,
             CASE WHEN j.error IS NOT NULL THEN 'error: ' || j.error END,
             CASE WHEN k.server_version IS NULL THEN 'not in medup''s manifest: load a newer one with medup.load_data_migrations()' END)
      FROM known k
      LEFT JOIN jobs j ON j.data_version = k.data_version AND j.newest_first = 1
     ORDER BY k.data_version;
END
$$;
COMMENT ON FUNCTION medup.read_migrations(integer) IS 'The rows of medup.migrations for this database.';

