/*
 * The session's one remembered answer (src/memo.c): status() keeps the
 * running migration's time left there, for at most 60 s while its key
 * stays the same.  Internal.
 */
CREATE FUNCTION medup.memo_get(key text)
RETURNS text
AS 'MODULE_PATHNAME', 'medup_memo_get' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION medup.memo_put(key text, value text)
RETURNS void
AS 'MODULE_PATHNAME', 'medup_memo_put' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION medup.memo_get(text) IS 'What the session remembered for a key, at most 60 s old (status()''s time left).';
COMMENT ON FUNCTION medup.memo_put(text, text) IS 'Remembers one answer for the session (status()''s time left).';

CREATE FUNCTION medup.status(target text DEFAULT NULL,
    OUT state text, OUT schema_version integer, OUT data_version integer,
    OUT latest_data_version integer, OUT first_boot boolean,
    OUT pending_migrations integer[], OUT running_migration integer,
    OUT running_job uuid, OUT running_since timestamptz, OUT progress double precision,
    OUT running_step text, OUT failed_migration integer, OUT last_error text,
    OUT migration_lock_held boolean, OUT migration_lock_pid integer,
    OUT blocked_by integer[], OUT invalid_indexes integer,
    OUT malformed_jobs integer, OUT server_version_range medup.version_range,
    OUT next_step medup.version, OUT advice text, OUT medplum_schema text,
    OUT problem text, OUT on_standby boolean, OUT checked_at timestamptz,
    OUT running_steps_done integer, OUT running_rows_done bigint,
    OUT rate double precision, OUT eta timestamptz, OUT stalled_since timestamptz,
    OUT worker_running boolean, OUT last_sample_at timestamptz, OUT tables_locked boolean,
    OUT migration_lock_role text, OUT migration_lock_application text,
    OUT running_job_updated_at timestamptz, OUT servers jsonb,
    OUT est_time_left_low interval, OUT est_time_left_high interval)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    row_state  record;
    next_job   medup.job;
    open_jobs  medup.job[];
    lower_ver  medup.version;
    upper_ver  medup.version;
    server_advice text;
    next_server medup.version;
    remote     boolean;        -- answering for a remote target (47-targets.sql)
    own_snapshot boolean := false;
    lock_is_medplum boolean;
    memo_key   text;
    memo       text;
    shard      jsonb;          -- a shard's view of its global database (48-shards.sql)
BEGIN
    -- A remote target: read its facts once; every reader below then
    -- returns them, and everything else is decided as for this database.
    IF target IS NOT NULL AND target <> current_database()::text THEN
        PERFORM medup.use_target(target, with_cluster => true);
        own_snapshot := true;
    END IF;
    remote := medup.remote_active();
    medplum_schema := medup.medplum_schema();
    checked_at := now();
    on_standby := CASE WHEN remote THEN (medup.snapshot()->>'in_recovery')::boolean
                       ELSE pg_is_in_recovery() END;
    -- What PostgreSQL itself tells, in one statement: the pre-deploy lock,
    -- invalid indexes, the worker, the newest sample.
    SELECT h.pid, h.role_name, h.application_name, h.is_medplum, count_invalid_indexes(),
           medup.worker_pid() IS NOT NULL AND NOT remote,
           medup.last_sample_at(medup.target_key())
      INTO migration_lock_pid, migration_lock_role, migration_lock_application, lock_is_medplum,
           invalid_indexes,
           worker_running, last_sample_at
      FROM migration_lock_holder() h;
    migration_lock_held := migration_lock_pid IS NOT NULL;

    SELECT * INTO row_state FROM read_migration_row();
    tables_locked := row_state.locked;
    IF row_state.problem IS NOT NULL AND NOT row_state.locked THEN
        state := 'not_medplum';
        problem := format('schema "%s": %s', medplum_schema, row_state.problem);
        advice := format('No Medplum database in schema "%s": set medup.medplum_schema to the schema that holds "DatabaseMigration" and "AsyncJob".',
                         medplum_schema);
        IF own_snapshot THEN
            PERFORM medup.snapshot_set(NULL);
        END IF;
        RETURN;
    END IF;
    problem := row_state.problem;
    schema_version := row_state.schema_version;
    data_version := row_state.data_version;
    first_boot := row_state.first_boot;

    -- The catalog's view of this data version, in one pass.  "dataVersion"
    -- is Medplum's to write, up to 2^31 - 1: its next is counted in bigint.
    SELECT max(d.data_version),
           coalesce(array_agg(d.data_version ORDER BY d.data_version)
                        FILTER (WHERE d.data_version > row_state.data_version), '{}'),
           max(d.required_before) FILTER (WHERE d.data_version = row_state.data_version::bigint + 1),
           max(d.server_version) FILTER (WHERE d.data_version = row_state.data_version::bigint + 1)
      INTO latest_data_version, pending_migrations, upper_ver, next_server
      FROM data_migration d;
    IF data_version IS NULL THEN
        pending_migrations := NULL;
    ELSE
        -- The schema version and the data version both bound the running
        -- server from below.  From above, the next migration's
        -- requiredBefore, except in first-boot mode, where Medplum skips
        -- its start-up check, or where a server already started past it
        -- (4.3+ without strict checks).
        lower_ver := lowest_server_version(schema_version, data_version);
        IF first_boot OR upper_ver <= lower_ver THEN
            upper_ver := NULL;
        END IF;
        server_version_range := version_range(lower_ver, upper_ver, '[)');
        next_step := next_deploy(lower_ver, data_version);
    END IF;

    -- Only the jobs that are not completed matter here: medup.jobs has all.
    BEGIN
        -- No migration follows v2^31 - 1: no job can be the next one.
        IF row_state.data_version IS DISTINCT FROM 2147483647 THEN
            open_jobs := ARRAY(SELECT j FROM read_jobs(true, row_state.data_version + 1) j);
        END IF;
    -- Only a lock: a cancel or a timeout is an error, not "locked".
    EXCEPTION WHEN lock_not_available THEN
        tables_locked := true;
        problem := concat_ws('; ', problem, '"AsyncJob" is locked by another session: job details are missing');
    END;
    -- The newest job of the next migration, and how many could not be read.
    SELECT * INTO next_job FROM unnest(open_jobs) j
     WHERE j.data_version = row_state.data_version::bigint + 1
     ORDER BY j.requested_at DESC NULLS LAST, j.last_updated DESC LIMIT 1;
    malformed_jobs := (SELECT count(*) FROM unnest(open_jobs) j WHERE j.parse_error IS NOT NULL);

    IF next_job.status IN ('active', 'accepted') THEN
        running_migration := next_job.data_version;
        running_job := next_job.job_id;
        running_since := next_job.requested_at;
        running_step := coalesce(next_job.running_step,
                                 CASE WHEN next_job.steps_done = 0 AND next_job.steps_failed = 0
                                      THEN 'no step recorded yet: Medplum writes a reindex''s resource type after its first 50,000 rows, and a custom migration''s steps when it ends' END);
        running_steps_done := next_job.steps_done;
        running_rows_done := next_job.rows_done;
        running_job_updated_at := next_job.last_updated;
        -- A failed resource type: Medplum goes on with the others and
        -- marks the job error only at the end.
        last_error := next_job.error;
        SELECT max(p.fraction) INTO progress FROM read_progress(true) p;
        blocked_by := medplum_blockers();
        -- Rate, ETA and stall from the worker's samples of this target.
        SELECT h.rate, h.eta, h.stalled_since INTO rate, eta, stalled_since
          FROM history_estimates(running_job, progress) h;
        IF NOT remote THEN
            -- The whole migration's time left, from the estimate model
            -- (45-estimate.sql): a reindex's types not done yet, a custom
            -- migration's index builds not done yet.  It reads this
            -- database's statistics: none for a remote target yet.
            -- It costs milliseconds (every completed job's output, the
            -- tables' statistics), so the session remembers it for these
            -- facts of the running job, for at most 60 s (memo.c).
            memo_key := concat_ws('|', 'time_left', current_database(), medplum_schema, data_version,
                                  first_boot, running_job, running_job_updated_at, running_steps_done,
                                  running_rows_done, running_step);
            memo := medup.memo_get(memo_key);
            IF memo IS NOT NULL THEN
                est_time_left_low := nullif(split_part(memo, '|', 1), '')::interval;
                est_time_left_high := nullif(split_part(memo, '|', 2), '')::interval;
            ELSE
                BEGIN
                    SELECT e.est_low, e.est_high INTO est_time_left_low, est_time_left_high
                      FROM estimate_migrations(ARRAY[running_migration], data_version,
                                               CASE WHEN first_boot THEN running_migration END,
                                               running_migration, running_job) e;
                    PERFORM medup.memo_put(memo_key, concat(est_time_left_low, '|', est_time_left_high));
                EXCEPTION WHEN lock_not_available THEN
                    NULL;   -- no estimate this time, rather than no status
                END;
            END IF;
        END IF;
    ELSIF next_job.status = 'error' THEN
        failed_migration := next_job.data_version;
        last_error := next_job.error;
    END IF;
    IF malformed_jobs > 0 THEN
        problem := concat_ws('; ', problem,
            format('%s data-migration job(s) could not be parsed: see medup.jobs', malformed_jobs));
    END IF;

    state := CASE
        WHEN migration_lock_held AND lock_is_medplum THEN 'pre_deploy_running'
        WHEN migration_lock_held THEN 'blocked'
        WHEN data_version IS NULL OR tables_locked THEN 'blocked'
        WHEN failed_migration IS NOT NULL THEN 'failed'
        WHEN running_migration IS NOT NULL AND last_error IS NOT NULL THEN 'failing'
        WHEN running_migration IS NOT NULL AND blocked_by IS NOT NULL THEN 'blocked'
        WHEN running_migration IS NOT NULL AND stalled_since IS NOT NULL THEN 'stalled'
        WHEN first_boot THEN 'first_boot'
        WHEN running_migration IS NOT NULL THEN 'migrating'
        WHEN cardinality(pending_migrations) > 0 THEN 'pending'
        ELSE 'up_to_date' END;
    IF migration_lock_held AND state = 'blocked' THEN
        problem := concat_ws('; ', problem,
            format('pid %s (role %s, application_name %L) holds Medplum''s migration lock and is not a Medplum server',
                   migration_lock_pid, migration_lock_role, migration_lock_application));
        advice := format('Session %s (role %s, application_name %L) holds Medplum''s migration lock (advisory lock 1) but is not a Medplum server, which connects as %L with Medplum''s role: a deploy now would fail to take the lock. Find out why that session holds it, and end it with pg_terminate_backend(%s) if it should not.',
                         migration_lock_pid, migration_lock_role, migration_lock_application,
                         medplum_application_name(), migration_lock_pid);
    ELSE
        advice := status_advice(state, data_version, pending_migrations, running_migration,
                                coalesce(failed_migration, running_migration), migration_lock_pid,
                                blocked_by, next_step, latest_data_version, problem,
                                admin_runs_migrations(lower_ver), next_server <= lower_ver);
    END IF;
    -- A shard: its data-migration jobs are in its cluster's global
    -- database, which does not say which shard a job migrates
    -- (48-shards.sql).  A job there for a migration this shard has not
    -- completed is this shard's running migration, "shard not named".
    shard := CASE WHEN remote THEN medup.snapshot()->'shard' END;
    IF shard->>'running' IS NOT NULL AND running_migration IS NULL
       AND state IN ('pending', 'up_to_date', 'first_boot') THEN
        running_migration := (shard->>'running')::integer;
        running_job := (shard->>'job_id')::uuid;
        running_since := (shard->>'requested_at')::timestamptz;
        running_job_updated_at := (shard->>'updated_at')::timestamptz;
        advice := concat_ws(' ', CASE WHEN state = 'first_boot' THEN advice END,
                            shard_running_advice(running_migration, shard->>'cluster',
                                                 shard->>'global', data_version));
        IF state <> 'first_boot' THEN
            state := 'migrating';
        END IF;
    END IF;
    -- A global database with shards: the job it takes as its own may be a
    -- shard's, and the job does not say (48-shards.sql).
    IF remote AND shard IS NULL AND coalesce(running_migration, failed_migration) IS NOT NULL THEN
        advice := concat_ws(' ', advice, global_job_advice(medup.target_key(),
                                                    coalesce(running_migration, failed_migration)));
    END IF;
    -- What Medplum's servers said at their last /healthcheck
    -- (80-servers.sql); nothing more to do without servers.
    IF NOT remote AND EXISTS (SELECT FROM server) THEN
        SELECT r.servers, r.advice INTO servers, server_advice
          FROM servers_report(server_version_range, data_version) r;
        advice := concat_ws(' ', advice, server_advice);
    END IF;
    IF on_standby THEN
        advice := advice || ' (Read on a standby: the migration lock and live progress belong to the primary and are not visible here.)';
    END IF;
    IF own_snapshot THEN
        PERFORM medup.snapshot_set(NULL);
    END IF;
END
$$;
COMMENT ON FUNCTION medup.status(text) IS 'Where this database (or a target) stands in Medplum''s upgrade: one row.';

/*
 * The next version to deploy toward the newest release, given the lowest
 * server version that can run on this database.  The same first stop
 * upgrade_path() would give, without building the whole path: the current
 * minor's latest patch while a pending migration needs a newer patch of
 * this minor (and must finish before the next minor), else the latest
 * patch of the next minor.
 */
CREATE FUNCTION medup.next_deploy(lowest medup.version, data_version integer)
RETURNS medup.version
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    here       medup.version := lowest;
    this_minor medup.version;
    next_minor medup.version;
BEGIN
    IF here IS NULL THEN
        -- Nothing completed: the server predates the first migration.
        here := (SELECT max(r.version) FROM release r
                  WHERE r.version < (SELECT min(d.server_version) FROM data_migration d));
    END IF;
    -- The latest patch of this minor and of the next one, in one pass.
    SELECT max(m.latest) FILTER (WHERE m.mj = major(here) AND m.mn = minor(here)),
           (array_agg(m.latest ORDER BY m.mj, m.mn)
                FILTER (WHERE (m.mj, m.mn) > (major(here), minor(here))))[1]
      INTO this_minor, next_minor
      FROM (SELECT major(r.version) AS mj, minor(r.version) AS mn, max(r.version) AS latest
              FROM release r
             WHERE r.version >= medup.base(here)
             GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 2) m;
    IF this_minor > here AND EXISTS (
            SELECT FROM data_migration d
             WHERE d.data_version > next_deploy.data_version
               AND d.server_version > here AND d.server_version <= this_minor
               AND d.required_before <= coalesce(next_minor, this_minor)) THEN
        RETURN this_minor;
    END IF;
    RETURN coalesce(next_minor, nullif(this_minor, here));
END
$$;
COMMENT ON FUNCTION medup.next_deploy(medup.version,integer) IS 'The next version to deploy toward the newest release.';

/*
 * Who runs post-deploy migrations for a server at least this version:
 * before 4.1.0 only the super-admin action (a restart does nothing), from
 * 4.1.0 the server itself at start-up, unless its config turns them off.
 */
CREATE FUNCTION medup.admin_runs_migrations(lowest medup.version)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ BEGIN RETURN coalesce(lowest < '4.1.0'::medup.version, true); END $$;
COMMENT ON FUNCTION medup.admin_runs_migrations(medup.version) IS 'Whether an era runs post-deploy migrations only through the super-admin action (before 4.1.0).';

/* How to run migration v (again) in this era: the end of some advice. */
CREATE FUNCTION medup.run_advice(v integer, admin_only boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN CASE WHEN admin_only
      THEN format('run v%s with the button "Run Pending Data Migration" of Medplum''s Super Admin page (it calls POST /admin/super/migrate): before Medplum 4.1 only that runs it, a restart does not', v)
      ELSE format('restart or redeploy this version, or a later patch of this minor (Medplum fixes broken migrations in patches), and it runs v%s, unless its config turns post-deploy migrations off (database.runMigrations = false, disableRunPostDeployMigrations); the Start button on /admin/super/asyncjob, tab "Post-deploy Migrations", runs it too', v)
    END;
END
$$;
COMMENT ON FUNCTION medup.run_advice(integer,boolean) IS 'How to run a migration (again) in this era: the end of some advice.';

/*
 * The one sentence status() ends with: what the DBA should do now.  These
 * helpers are PL/pgSQL: a SQL function with a SET clause is planned again
 * at every call, and status() is hot.
 * admin_only: this era runs migrations only through the admin action;
 * can_run_next: the running server may run the next migration already.
 */
CREATE FUNCTION medup.status_advice(state text, data_version integer, pending integer[],
                                    running integer, failed integer, lock_pid integer,
                                    blocked_by integer[], next_step medup.version,
                                    latest integer, problem text, admin_only boolean,
                                    can_run_next boolean)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN CASE state
      WHEN 'pre_deploy_running' THEN
        format('A Medplum server (pid %s) holds the migration lock and is applying pre-deploy migrations: wait until it has started before deploying anything.', lock_pid)
      WHEN 'blocked' THEN
        CASE WHEN blocked_by IS NOT NULL
             THEN format('Post-deploy migration v%s is waiting for a lock held by pid %s: let that session finish or end it.', running, array_to_string(blocked_by, ', '))
             ELSE format('medup could not read Medplum''s tables (%s): try again, and look for the session holding the lock.', problem) END
      WHEN 'failed' THEN
        format('Post-deploy migration v%s failed: fix the cause in last_error, then %s.  Deploy no newer minor until it completes.',
               failed, medup.run_advice(failed, admin_only))
      WHEN 'failing' THEN
        format('Post-deploy migration v%s has a failed resource type (last_error): Medplum goes on with the others and will mark the job failed when it ends.  Fix the cause now; when the job has ended, %s.',
               running, medup.run_advice(running, admin_only))
      WHEN 'first_boot' THEN
        format('A fresh install is catching up on post-deploy migrations (%s pending, run one at a time): wait until those this server runs have completed before the next deploy.', medup.format_migrations(pending))
      WHEN 'stalled' THEN
        format('Post-deploy migration v%s has made no progress medup can see for a while (no job rewrite, no PostgreSQL progress, no Medplum session working on it): check the Medplum server''s logs and medup.progress for what it waits on.', running)
      WHEN 'migrating' THEN
        format('Post-deploy migration v%s is running: wait until it completes, then check again before deploying %s.',
               running, coalesce(next_step::text, 'a newer version'))
      WHEN 'pending' THEN
        CASE WHEN can_run_next
             THEN format('Post-deploy migrations %s are not complete and none is running, although this server can run v%s: %s.',
                         medup.format_migrations(pending), data_version + 1, medup.run_advice(data_version + 1, admin_only))
             ELSE format('Post-deploy migrations %s are not complete and none is running: deploy %s next, which runs %s.',
                         medup.format_migrations(pending), coalesce(next_step::text, 'the next release'),
                         CASE WHEN cardinality(pending) = 1 THEN 'it' ELSE 'those it can' END) END
      WHEN 'up_to_date' THEN
        CASE WHEN data_version > latest
             THEN format('This database has completed v%s, newer than medup''s manifest (v%s): load Medplum''s current manifest with medup.load_data_migrations().', data_version, latest)
             WHEN next_step IS NULL THEN 'Every known post-deploy migration is complete and no newer release is known.'
             ELSE format('Every known post-deploy migration is complete: %s is the next deploy toward the newest release.', next_step) END
    END;
END
$$;
COMMENT ON FUNCTION medup.status_advice(text,integer,integer[],integer,integer,integer,integer[],medup.version,integer,text,boolean,boolean) IS 'The sentence status() ends with: what to do now.';

/* medup.migrations of the target being answered for. */
CREATE FUNCTION medup.read_migration_states()
RETURNS TABLE (data_version integer, server_version medup.version, required_before medup.version,
               state text, job_id uuid, attempts integer, requested_at timestamptz,
               last_updated timestamptz, duration interval, progress double precision,
               steps_done integer, rows_done bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
    SELECT m.data_version, m.server_version, m.required_before, m.state, m.job_id,
           m.attempts, m.requested_at, m.last_updated, m.duration,
           CASE WHEN m.state = 'running' THEN (SELECT max(p.fraction) FROM medup.read_progress(true) p) END,
           m.steps_done, m.rows_done, m.detail
      FROM medup.read_migrations((SELECT r.data_version FROM medup.read_migration_row() r)) m
$$;
COMMENT ON FUNCTION medup.read_migration_states() IS 'The rows of medup.migrations for the target being answered for.';

/*
 * The views: this database's rows, then each remote target's (column
 * target, last).  A filter on target reads only that target: this
 * database's rows are not computed for another name, and a remote target
 * is read only when its row of medup.target passes the filter.  A remote
 * target that cannot be read raises its error (medup.fleet shows every
 * target without raising).
 */
CREATE VIEW medup.migrations AS
    SELECT m.*, current_database()::text AS target FROM medup.read_migration_states() m
    UNION ALL
    SELECT m.*, t.name FROM medup.target t,
           LATERAL medup.target_rows(t.name, 'read_migration_states')
             AS m(data_version integer, server_version medup.version, required_before medup.version,
                  state text, job_id uuid, attempts integer, requested_at timestamptz,
                  last_updated timestamptz, duration interval, progress double precision,
                  steps_done integer, rows_done bigint, detail text);
COMMENT ON VIEW medup.migrations IS
    'Every post-deploy migration medup knows, with its state in each target and its latest job';

CREATE VIEW medup.jobs AS
    SELECT j.*, current_database()::text AS target FROM medup.read_jobs() j
    UNION ALL
    SELECT j.*, t.name FROM medup.target t,
           LATERAL medup.target_rows(t.name, 'read_jobs')
             AS j(job_id uuid, data_version integer, status text, requested_at timestamptz,
                  finished_at timestamptz, last_updated timestamptz, min_server_version text,
                  steps_done integer, steps_running integer, steps_failed integer,
                  rows_done bigint, running_step text, error text, parse_error text);
COMMENT ON VIEW medup.jobs IS
    'Every data-migration AsyncJob of each target, parsed: migration fields only';

CREATE VIEW medup.progress AS
    SELECT p.*, current_database()::text AS target FROM medup.read_progress() p
    UNION ALL
    SELECT p.*, t.name FROM medup.target t,
           LATERAL medup.target_rows(t.name, 'read_progress')
             AS p(pid integer, command text, phase text, relation text, index_name text,
                  fraction double precision, blocks_done bigint, blocks_total bigint,
                  tuples_done bigint, tuples_total bigint, wait_event text,
                  blocked_by integer[], application_name text, started_at timestamptz);
COMMENT ON VIEW medup.progress IS
    'Index builds, vacuums and analyzes running now for Medplum in each target, with a phase-weighted fraction done';

CREATE VIEW medup.invalid_indexes AS
    SELECT i.*, current_database()::text AS target FROM medup.read_invalid_indexes() i
    UNION ALL
    SELECT i.*, t.name FROM medup.target t,
           LATERAL medup.target_rows(t.name, 'read_invalid_indexes')
             AS i(table_name text, index_name text, definition text, size bigint, fix text);
COMMENT ON VIEW medup.invalid_indexes IS
    'Indexes on Medplum''s tables left invalid by a failed concurrent build in each target, and the statement that would rebuild them';
