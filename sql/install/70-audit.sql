------------------------------------------------------------------------
-- The audit trail: samples, events and what they tell
--
-- medup.take_sample() takes one sample: status() plus PostgreSQL's live
-- progress, compared with the previous sample of this database, in one
-- transaction.  Events are derived from that comparison, so a sample that
-- dies half-way (a crash, a kill) leaves neither its row nor its events,
-- and the next sample derives them again: none lost, none doubled.  The
-- background worker calls the same function every medup.naptime; without
-- the worker, pg_cron or cron can call it.
------------------------------------------------------------------------

-- STATE: kept by update scripts; a change here needs a step in sql/updates/
CREATE TABLE medup.sample (
    sampled_at          timestamptz NOT NULL,
    database_name       name NOT NULL DEFAULT current_database(),
    state               text NOT NULL,
    schema_version      integer,
    data_version        integer,
    first_boot          boolean,
    running_migration   integer,
    job_id              uuid,
    steps_done          integer,
    rows_done           bigint,
    progress            real,
    command             text,
    phase               text,
    blocks_done         bigint,
    blocks_total        bigint,
    tuples_done         bigint,
    tuples_total        bigint,
    lock_pid            integer,
    blocked_pids        integer[],
    failed_migration    integer,
    invalid_indexes     integer,
    progress_changed_at timestamptz,
    stalled             boolean NOT NULL DEFAULT false,
    job_updated_at      timestamptz,
    invalid_index_set   text,               -- md5 of the invalid indexes' names
    -- the Medplum database sampled: this one (its name) or a remote target's name
    target              text NOT NULL DEFAULT current_database(),
    error               text,               -- state 'unreachable': why (SQLSTATE: message)
    PRIMARY KEY (target, sampled_at)
);
CREATE INDEX sample_sampled_at_idx ON medup.sample (sampled_at);
COMMENT ON TABLE medup.sample IS
    'One row per sample and target: Medplum''s migration state and PostgreSQL''s live progress';

CREATE TABLE medup.event (
    event_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_at       timestamptz NOT NULL,
    database_name  name NOT NULL DEFAULT current_database(),
    kind           text NOT NULL CHECK (kind IN (
                       'sampling_started', 'migration_started', 'migration_retried',
                       'migration_completed', 'migration_failed', 'migration_cancelled',
                       'schema_changed', 'lock_taken', 'lock_released',
                       'stall_started', 'stall_ended', 'invalid_index',
                       'deploy', 'server_ok', 'server_not_ok', 'server_unreachable',
                       'server_error', 'catalog_refreshed', 'data_version_jump',
                       'events_suppressed', 'target_unreachable', 'target_reachable')),
    data_version   integer,
    job_id         uuid,
    detail         text,
    target         text NOT NULL DEFAULT current_database()   -- the target it is about
);
CREATE INDEX event_event_at_idx ON medup.event (event_at);
CREATE INDEX event_migration_idx ON medup.event (target, data_version, event_at);
COMMENT ON TABLE medup.event IS 'One row per change medup saw between two samples';

-- What each target's sampling has done: skipped samples are counted here.
CREATE TABLE medup.sampler (
    database_name  name NOT NULL,
    samples        bigint NOT NULL DEFAULT 0,
    skipped        bigint NOT NULL DEFAULT 0,
    last_outcome   text,
    last_sample_at timestamptz,
    last_skip_at   timestamptz,
    last_retention_at timestamptz,
    events_suppressed bigint NOT NULL DEFAULT 0,    -- over the cap: see cap_events()
    target         text PRIMARY KEY DEFAULT current_database()
);

-- Time a running migration's job spent with no Medplum server connected
-- to the database (a restart, a redeploy, an outage): downtime, not
-- migration time.  Medplum reuses the job after a restart, with its first
-- requestTime, so the job's own times include it.
CREATE TABLE medup.job_downtime (
    database_name name NOT NULL DEFAULT current_database(),
    job_id        uuid NOT NULL,
    downtime      interval NOT NULL,
    target        text NOT NULL DEFAULT current_database(),
    PRIMARY KEY (target, job_id)
);

SELECT pg_catalog.pg_extension_config_dump('medup.sample', '');
SELECT pg_catalog.pg_extension_config_dump('medup.event', '');
SELECT pg_catalog.pg_extension_config_dump('medup.event_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('medup.job_downtime', '');
-- END STATE

/*
 * When the worker last sampled a target and reached it (a sample of a
 * target that could not be read does not count): status() and
 * medup.fleet say it.
 */
CREATE FUNCTION medup.last_sample_at(target text)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- PL/pgSQL: a SQL function with a SET clause is planned on every call
    -- (status() calls this every time).
    RETURN (SELECT max(s.sampled_at) FROM medup.sample s
             WHERE s.target = last_sample_at.target AND s.state <> 'unreachable');
END
$$;
COMMENT ON FUNCTION medup.last_sample_at(text) IS 'When the worker last sampled a target and reached it.';

/*
 * The background worker's sampling, from shared memory (src/worker.c): one
 * row per database in medup.databases, whether it exists now, the sampler
 * sampling it now, how many samplers it had, how many of them started more
 * than a naptime late (too few samplers or worker slots: the launcher logs
 * it once), a sampler's CPU time, its backend start included, and how many
 * samples were given up or put off for a DBA's DROP DATABASE, ALTER
 * DATABASE or CREATE DATABASE ... TEMPLATE of the database, and whether
 * it was late within the naptimes the launcher still counts as a shortage
 * (late_now: src/worker.c, SHORTAGE_OVER_NAPTIMES).  Empty
 * when medup is not preloaded; counters start again at a server restart.
 */
CREATE FUNCTION medup.read_sampling(
    OUT database_name name, OUT database_exists boolean, OUT sampler_pid integer,
    OUT last_started_at timestamptz, OUT samplers bigint, OUT late bigint,
    OUT last_late_at timestamptz, OUT cpu_ms_per_sample double precision,
    OUT gave_way bigint, OUT late_now boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'medup_sampling' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION medup.read_sampling() IS 'The rows of medup.sampling, from shared memory.';
CREATE VIEW medup.sampling AS
    SELECT s.*, s.database_name::text AS target FROM medup.read_sampling() s;
COMMENT ON VIEW medup.sampling IS
    'One row per database the background worker watches: its samplers, late samples, CPU per sample, samples given up for a DBA''s command';

/*
 * How long a job has been migrating: from its requestTime to its end (or
 * now), less the downtime the samples saw.  Without samples (no worker,
 * or older than medup.retention) the downtime is unknown and counted in.
 */
CREATE FUNCTION medup.migration_time(job medup.job)
RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
    SELECT CASE WHEN job.status IN ('active', 'accepted') THEN now()
                ELSE coalesce(job.finished_at, job.last_updated) END
           - job.requested_at
           - coalesce((SELECT d.downtime FROM job_downtime d
                        WHERE d.target = medup.target_key() AND d.job_id = job.job_id),
                      interval '0')
$$;
COMMENT ON FUNCTION medup.migration_time(medup.job) IS 'How long a job has been migrating, less the downtime the samples saw.';

/*
 * One of medup's duration settings as an interval.  In C: a call loads
 * medup.so, which defines the settings with their defaults, so SQL repeats
 * none of them.
 */
CREATE FUNCTION medup.setting_interval(name text)
RETURNS interval
AS 'MODULE_PATHNAME', 'medup_setting_interval'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION medup.setting_interval(text) IS 'One of medup''s duration settings as an interval.';

/*
 * Rate and ETA of the running job, from the samples of the last 15 minutes
 * (at most the last 200):
 *   rate: rows the job reports done (output.parameter counts) per second;
 *   eta:  when PostgreSQL's current operation for it (index build, vacuum)
 *         reaches 100% at the pace its phase-weighted fraction moved.
 * NULL when fewer than two samples show movement.  stalled_since comes
 * from the newest sample, when it is recent.
 */
CREATE FUNCTION medup.history_estimates(job uuid, fraction double precision,
                                        OUT rate double precision, OUT eta timestamptz,
                                        OUT stalled_since timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    -- The newest samples first, through the primary key, with a bound (the
    -- last 200 samples: 15 minutes at the default naptime).  A plain filter
    -- on time and job would leave the cached generic plan to guess, and a
    -- month of history makes a bad guess expensive.
    WITH last_ones AS (
        SELECT s.sampled_at, s.rows_done, s.progress, s.job_id
          FROM sample s
         WHERE s.target = medup.target_key()
         ORDER BY s.sampled_at DESC LIMIT 200
    ), recent AS (
        SELECT l.sampled_at, l.rows_done, l.progress
          FROM last_ones l
         WHERE l.job_id = job AND l.sampled_at > now() - interval '15 minutes'
    ), span AS (
        SELECT (max(rows_done) - min(rows_done))::float8
                 / nullif(extract(epoch FROM max(sampled_at) - min(sampled_at)), 0) AS rows_per_s,
               regr_slope(progress, extract(epoch FROM sampled_at)) AS fraction_per_s
          FROM recent
    ), newest AS (
        SELECT s.sampled_at, s.stalled, s.progress_changed_at, s.job_id
          FROM sample s WHERE s.target = medup.target_key()
         ORDER BY s.sampled_at DESC LIMIT 1
    )
    SELECT nullif(span.rows_per_s, 0),
           CASE WHEN span.fraction_per_s > 0 AND fraction IS NOT NULL
                THEN now() + make_interval(secs => (1 - fraction) / span.fraction_per_s) END,
           (SELECT n.progress_changed_at FROM newest n
             WHERE n.stalled AND n.job_id = job
               AND n.sampled_at > now() - 3 * setting_interval('medup.naptime'))
        INTO rate, eta, stalled_since
      FROM span;
END
$$;
COMMENT ON FUNCTION medup.history_estimates(uuid,double precision) IS 'Rate and ETA of the running job, from the samples of the last 15 minutes.';

/* Make this statement end within the worker's time for a sample, unless it ends sooner (src/medup.c). */
CREATE FUNCTION medup.bound_sample()
RETURNS void
AS 'MODULE_PATHNAME', 'medup_bound_sample' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION medup.bound_sample() IS 'Arms the worker''s time limit around a sample taken by hand (src/medup.c).';

/*
 * Take one sample of this database, then of the remote targets registered
 * here (medup.target), all read at once.  Returns what it did for this
 * database: 'sampled', 'skipped: ...' (a lock on Medplum's tables, or
 * another session holding medup's sampler lock; counted in medup.sampler),
 * 'not_medplum', 'standby'.  A database that is not Medplum's (medup
 * beside a managed Medplum database) still samples its remote targets.
 */
CREATE FUNCTION medup.take_sample()
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    -- The sampler's advisory lock: two keys (this, 0), which never collide
    -- with Medplum's single-key lock 1.  sql/updates/prologue.sql takes it
    -- too, by the same expression: it must take the lock of the release it
    -- updates, before that release's code is gone.
    sampler_lock constant integer := hashtext('medup.sample');
    outcome  text;
    retention_due boolean;
    retention_batch constant integer := 1000;
BEGIN
    IF pg_is_in_recovery() THEN
        RETURN 'standby';
    END IF;
    -- Bounded however it is called: by the worker, by hand, by pg_cron.
    PERFORM bound_sample();
    -- One sampler at a time per database: a manual call never races the
    -- worker.  Two-key advisory locks never collide with Medplum's
    -- single-key lock 1.  Anyone may take an advisory lock, though: a
    -- session holding this one keeps samples from being taken, so each
    -- skip is counted, and the outcome names the session.
    IF NOT pg_try_advisory_xact_lock(sampler_lock, 0) THEN
        outcome := format('skipped: session %s holds medup''s sampler lock',
                          coalesce((SELECT l.pid::text FROM pg_locks l
                                     WHERE l.locktype = 'advisory' AND l.granted
                                       AND l.classid = sampler_lock::oid
                                       AND l.objid = 0 AND l.objsubid = 2
                                       AND l.database = current_database_oid()
                                     LIMIT 1), 'unknown'));
        PERFORM count_outcome(current_database(), outcome);
        RETURN outcome;
    END IF;

    outcome := sample_target(current_database());
    IF outcome = 'sampled' THEN
        -- Retention once a minute keeps most samples cheap.  A pass that
        -- deleted a whole batch may have left more: the next sample goes
        -- on, so retention keeps up with any number of targets and any
        -- naptime (a batch a sample, where sampling writes one row per
        -- target), and catches up after retention is shortened.
        retention_due := NOT EXISTS (SELECT FROM sampler m WHERE m.target = current_database()::text
                                        AND m.last_retention_at > now() - interval '1 minute');
        IF retention_due AND apply_retention(retention_batch) < retention_batch THEN
            UPDATE sampler m SET last_retention_at = now() WHERE m.target = current_database()::text;
        END IF;
    END IF;
    IF EXISTS (SELECT FROM target) THEN
        PERFORM sample_remote_targets();
    END IF;
    RETURN outcome;
END
$$;

/* Count a sample's outcome in medup.sampler: a sample, a skip, or neither (not_medplum, unreachable: ...). */
CREATE FUNCTION medup.count_outcome(for_target text, outcome text)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
    INSERT INTO sampler AS m (database_name, target, samples, skipped, last_outcome, last_sample_at, last_skip_at)
    VALUES (current_database(), for_target,
            CASE WHEN outcome = 'sampled' THEN 1 ELSE 0 END,
            CASE WHEN outcome LIKE 'skipped%' THEN 1 ELSE 0 END, outcome,
            CASE WHEN outcome = 'sampled' THEN clock_timestamp() END,
            CASE WHEN outcome LIKE 'skipped%' THEN clock_timestamp() END)
    ON CONFLICT (target) DO UPDATE
        SET samples = m.samples + EXCLUDED.samples, skipped = m.skipped + EXCLUDED.skipped,
            last_outcome = EXCLUDED.last_outcome,
            last_sample_at = coalesce(EXCLUDED.last_sample_at, m.last_sample_at),
            last_skip_at = coalesce(EXCLUDED.last_skip_at, m.last_skip_at)
$$;

/*
 * Sample one target: this database, or a remote target whose facts are
 * held (use_target()/snapshot_set(): status() and the readers then answer
 * for it).  One row in medup.sample, compared with the previous sample of
 * the same target that reached it, and the events in between.  Returns
 * 'sampled', 'not_medplum' or 'skipped: ...', counted in medup.sampler.
 */
CREATE FUNCTION medup.sample_target(for_target text)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    s        record;
    prev     sample;
    cur      sample;
    live     record;
    outcome  text;
    last_event bigint;
    was_unreachable boolean;
    remote   boolean := remote_active();
    stall_after interval := setting_interval('medup.stall_after');
BEGIN
    SELECT * INTO s FROM status();
    IF s.state = 'not_medplum' THEN
        outcome := 'not_medplum';
    ELSIF s.tables_locked THEN
        outcome := 'skipped: ' || s.problem;
    END IF;
    IF outcome IS NOT NULL THEN
        PERFORM count_outcome(for_target, outcome);
        RETURN outcome;
    END IF;

    -- The previous sample that reached the target: events compare with
    -- what was last seen there, not with a spell of unreachability.
    SELECT * INTO prev FROM sample p
     WHERE p.target = for_target AND p.state <> 'unreachable'
     ORDER BY p.sampled_at DESC LIMIT 1;
    was_unreachable := (SELECT p.state = 'unreachable' FROM sample p WHERE p.target = for_target
                         ORDER BY p.sampled_at DESC LIMIT 1);
    -- PostgreSQL's own counters, while a migration runs.
    SELECT NULL::text AS command, NULL::text AS phase, NULL::float8 AS fraction,
           NULL::bigint AS blocks_done, NULL::bigint AS blocks_total,
           NULL::bigint AS tuples_done, NULL::bigint AS tuples_total INTO live;
    IF s.running_migration IS NOT NULL THEN
        SELECT p.command, p.phase, p.fraction, p.blocks_done, p.blocks_total, p.tuples_done, p.tuples_total
          INTO live FROM read_progress(true) p ORDER BY p.fraction DESC NULLS LAST LIMIT 1;
        -- The index builds it runs, for estimates' rates (45-estimate.sql,
        -- which keeps this database's).
        IF NOT remote AND (live.command LIKE 'CREATE INDEX%' OR live.command LIKE 'REINDEX%') THEN
            PERFORM note_index_builds(clock_timestamp());
        END IF;
    END IF;

    -- The new row, column by column by name: it does not depend on the
    -- order of the table's columns, which an update may extend.
    cur.sampled_at := clock_timestamp();
    cur.database_name := current_database();
    cur.target := for_target;
    cur.state := s.state;
    cur.schema_version := s.schema_version;
    cur.data_version := s.data_version;
    cur.first_boot := s.first_boot;
    cur.running_migration := s.running_migration;
    cur.job_id := s.running_job;
    cur.job_updated_at := s.running_job_updated_at;
    cur.steps_done := s.running_steps_done;
    cur.rows_done := s.running_rows_done;
    cur.progress := s.progress;
    cur.command := live.command;
    cur.phase := live.phase;
    cur.blocks_done := live.blocks_done;
    cur.blocks_total := live.blocks_total;
    cur.tuples_done := live.tuples_done;
    cur.tuples_total := live.tuples_total;
    cur.lock_pid := s.migration_lock_pid;
    cur.blocked_pids := s.blocked_by;
    cur.failed_migration := s.failed_migration;
    cur.invalid_indexes := s.invalid_indexes;
    IF s.invalid_indexes > 0 THEN
        cur.invalid_index_set := (SELECT md5(string_agg(i.table_name || '.' || i.index_name, ',' ORDER BY 1))
                                    FROM read_invalid_indexes() i);
    END IF;
    -- Progress moved when anything medup can see moved: the job's counters
    -- or a rewrite of it (a reindex rewrites its job every 50,000 rows),
    -- PostgreSQL's phase and counters, or a Medplum session working on it
    -- (a custom migration writes nothing until it ends).
    cur.progress_changed_at := CASE
        WHEN prev.sampled_at IS NOT NULL
             AND (cur.job_id, cur.job_updated_at, cur.steps_done, cur.rows_done, cur.phase,
                  cur.blocks_done, cur.tuples_done)
                 IS NOT DISTINCT FROM
                 (prev.job_id, prev.job_updated_at, prev.steps_done, prev.rows_done, prev.phase,
                  prev.blocks_done, prev.tuples_done)
             AND NOT (cur.running_migration IS NOT NULL AND medplum_working())
        THEN prev.progress_changed_at ELSE cur.sampled_at END;
    cur.stalled := cur.running_migration IS NOT NULL
                   AND cur.sampled_at - cur.progress_changed_at >= stall_after;
    INSERT INTO sample SELECT cur.*;
    -- The running job's time since the previous sample is downtime when no
    -- Medplum server is connected: the migration cannot be moving.  A gap
    -- longer than stall_after (no sampling for a while) is not known to be.
    IF cur.job_id = prev.job_id AND cur.sampled_at - prev.sampled_at <= stall_after
       AND NOT medplum_connected() THEN
        INSERT INTO job_downtime AS d (target, job_id, downtime)
        VALUES (for_target, cur.job_id, cur.sampled_at - prev.sampled_at)
        ON CONFLICT (target, job_id) DO UPDATE SET downtime = d.downtime + EXCLUDED.downtime;
    END IF;

    -- Most samples see no change: compare first, derive events only then.
    IF prev.sampled_at IS NULL OR was_unreachable
       OR (cur.schema_version, cur.data_version, cur.job_id, cur.failed_migration,
           cur.lock_pid, cur.stalled, cur.invalid_index_set)
          IS DISTINCT FROM
          (prev.schema_version, prev.data_version, prev.job_id, prev.failed_migration,
           prev.lock_pid, prev.stalled, prev.invalid_index_set) THEN
        last_event := (SELECT max(e.event_id) FROM event e);
        IF was_unreachable THEN
            INSERT INTO event (target, event_at, kind, data_version, detail)
            VALUES (for_target, cur.sampled_at, 'target_reachable', cur.data_version,
                    format('target "%s" answers again: state %s, schema version %s, data version %s',
                           for_target, cur.state, cur.schema_version, cur.data_version));
        END IF;
        PERFORM record_events(prev, cur, s.last_error);
        PERFORM cap_events(coalesce(last_event, 0), cur.sampled_at, for_target);
    END IF;
    PERFORM count_outcome(for_target, 'sampled');
    RETURN 'sampled';
END
$$;
COMMENT ON FUNCTION medup.take_sample() IS 'Takes one sample into medup.sample and derives its events.';

/*
 * A remote target that could not be read: a sample with its error (state
 * 'unreachable', SQLSTATE and message in "error"), and a
 * target_unreachable event when it was reachable (or never sampled) before.
 */
CREATE FUNCTION medup.sample_unreachable(for_target text, code text, message text)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    cur  sample;
    prev sample;
BEGIN
    SELECT * INTO prev FROM sample p WHERE p.target = for_target ORDER BY p.sampled_at DESC LIMIT 1;
    cur.sampled_at := clock_timestamp();
    cur.database_name := current_database();
    cur.target := for_target;
    cur.state := 'unreachable';
    cur.stalled := false;
    cur.error := left(format('%s: %s', code, message), 1000);
    INSERT INTO sample SELECT cur.*;
    IF prev.state IS DISTINCT FROM 'unreachable' THEN
        INSERT INTO event (target, event_at, kind, data_version, detail)
        VALUES (for_target, cur.sampled_at, 'target_unreachable', prev.data_version,
                format('target "%s" cannot be read: %s', for_target, cur.error));
    END IF;
    PERFORM count_outcome(for_target, 'unreachable: ' || cur.error);
    RETURN 'unreachable';
END
$$;

/*
 * Sample every remote target registered here, after this database's
 * sample and in the same transaction: all are read at once
 * (read_targets(), one connection each), each bounded by
 * medup.target_timeout and by 80% of medup.naptime, whichever is shorter,
 * so that one hung target never holds the next sample.  A target that
 * cannot be read is a sample with its error, never an ERROR that loses
 * this database's sample; so is one whose sample fails here.
 */
CREATE FUNCTION medup.sample_remote_targets()
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    names   text[] := ARRAY(SELECT t.name FROM target t ORDER BY t.name);
    r       record;
    e_code  text;
    e_msg   text;
    n       integer := 0;
    timeout_setting text := current_setting('medup.target_timeout');
BEGIN
    PERFORM set_config('medup.target_timeout',
                       (extract(epoch FROM least(setting_interval('medup.target_timeout'),
                                                 greatest(interval '100 ms',
                                                          0.8 * setting_interval('medup.naptime'))))
                        * 1000)::bigint::text || 'ms', true);
    BEGIN
        FOR r IN SELECT * FROM read_targets(names, 'all') LOOP
            n := n + 1;
            BEGIN
                IF r.error_code IS NOT NULL THEN
                    PERFORM sample_unreachable(r.target, r.error_code, r.error);
                ELSE
                    PERFORM snapshot_set(r.facts);
                    PERFORM sample_target(r.target);
                    PERFORM snapshot_set(NULL);
                END IF;
            EXCEPTION WHEN OTHERS THEN
                -- (the subtransaction's abort clears the snapshot)
                GET STACKED DIAGNOSTICS e_code = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT;
                PERFORM sample_unreachable(r.target, e_code, e_msg);
            END;
        END LOOP;
    EXCEPTION WHEN query_canceled THEN
        -- The sample's own time ran out (connecting is bounded by each
        -- server's connect_timeout only): the targets not sampled yet are
        -- samples with that error, and this database's sample is kept.  A
        -- cancel asked for is obeyed.
        GET STACKED DIAGNOSTICS e_msg = MESSAGE_TEXT;
        IF e_msg NOT LIKE '%statement timeout%' THEN
            RAISE;
        END IF;
        FOR i IN 1 .. coalesce(cardinality(names), 0) LOOP
            CONTINUE WHEN EXISTS (SELECT FROM sample p WHERE p.target = names[i]
                                     AND p.sampled_at >= statement_timestamp());
            PERFORM sample_unreachable(names[i], '57014', 'not read within the sample''s time (' || e_msg || ')');
        END LOOP;
    WHEN OTHERS THEN
        -- Nothing could be read (dblink missing or unsafe, ...): each
        -- target is a sample with that error.
        GET STACKED DIAGNOSTICS e_code = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT;
        n := 0;
        FOR i IN 1 .. coalesce(cardinality(names), 0) LOOP
            PERFORM sample_unreachable(names[i], e_code, e_msg);
            n := n + 1;
        END LOOP;
    END;
    PERFORM snapshot_set(NULL);
    PERFORM set_config('medup.target_timeout', timeout_setting, true);
    RETURN n;
END
$$;

/*
 * take_sample()'s name until 0.3, deprecated: it was also the table's name.
 * Kept for the DBA's cron jobs and for the worker, which calls it by this
 * name so that it also samples a database whose extension is not updated
 * yet (every release has it).  It will go when no supported release lacks
 * take_sample().
 */
CREATE FUNCTION medup.sample()
RETURNS text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$ SELECT medup.take_sample() $$;
COMMENT ON FUNCTION medup.sample() IS 'take_sample()''s old name, kept for the worker and older scripts.';

/* The events between two samples (prev is all NULL on the first one). */
CREATE FUNCTION medup.record_events(prev medup.sample, cur medup.sample, last_error text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    at      timestamptz := cur.sampled_at;
    old_job record;
    latest  integer;
BEGIN
    IF prev.sampled_at IS NULL THEN
        INSERT INTO event (target, event_at, kind, data_version, job_id, detail)
        VALUES (cur.target, at, 'sampling_started', cur.data_version, cur.job_id,
                format('state %s, schema version %s, data version %s', cur.state,
                       cur.schema_version, cur.data_version));
        RETURN;
    END IF;

    IF cur.schema_version IS DISTINCT FROM prev.schema_version THEN
        INSERT INTO event (target, event_at, kind, detail)
        VALUES (cur.target, at, 'schema_changed', format('schema version %s -> %s: a deploy applied pre-deploy migrations',
                                             prev.schema_version, cur.schema_version));
    END IF;

    -- Completions come from "dataVersion", the authority: one event per
    -- migration of medup's manifest in between.  Versions beyond the
    -- manifest are not trusted (Medplum's app role writes "dataVersion",
    -- up to 2^31 - 1): they are one event naming the range, so the number
    -- of events and their cost never depend on the value.
    IF cur.data_version > prev.data_version THEN
        latest := (SELECT max(d.data_version) FROM data_migration d);
        INSERT INTO event (target, event_at, kind, data_version, job_id, detail)
        SELECT cur.target, at, 'migration_completed', m.data_version, m.job_id,
               format('v%s completed%s', m.data_version,
                      coalesce(' in ' || date_trunc('second', m.duration)::text, ''))
          FROM read_migrations(cur.data_version) m
         WHERE m.data_version > prev.data_version AND m.data_version <= least(cur.data_version, latest)
         ORDER BY m.data_version;
        IF cur.data_version > coalesce(latest, 0) THEN
            INSERT INTO event (target, event_at, kind, detail)
            VALUES (cur.target, at, 'data_version_jump',
                    format('data version %s -> %s: %s beyond medup''s manifest (v%s), so not counted as migrations; if Medplum really ran them, load its current manifest with medup.load_data_migrations()',
                           prev.data_version, cur.data_version,
                           CASE WHEN greatest(prev.data_version, latest)::bigint + 1 = cur.data_version
                                THEN format('v%s is', cur.data_version)
                                ELSE format('v%s-v%s are', greatest(prev.data_version, latest)::bigint + 1, cur.data_version) END,
                           coalesce(latest, 0)));
        END IF;
    END IF;

    IF cur.job_id IS NOT NULL AND cur.job_id IS DISTINCT FROM prev.job_id THEN
        INSERT INTO event (target, event_at, kind, data_version, job_id, detail)
        SELECT cur.target, at,
               CASE WHEN m.attempts > 1 THEN 'migration_retried' ELSE 'migration_started' END,
               cur.running_migration, cur.job_id,
               format('v%s, attempt %s', cur.running_migration, m.attempts)
          FROM read_migrations(cur.data_version) m
         WHERE m.data_version = cur.running_migration;
    END IF;

    IF cur.failed_migration IS NOT NULL
       AND cur.failed_migration IS DISTINCT FROM prev.failed_migration THEN
        INSERT INTO event (target, event_at, kind, data_version, detail)
        VALUES (cur.target, at, 'migration_failed', cur.failed_migration, coalesce(last_error, 'no error text recorded'));
    END IF;

    -- A job that was running and now is neither running nor done: cancelled?
    IF prev.job_id IS NOT NULL AND prev.job_id IS DISTINCT FROM cur.job_id THEN
        SELECT j.status INTO old_job FROM read_jobs() j WHERE j.job_id = prev.job_id;
        IF old_job.status = 'cancelled' THEN
            INSERT INTO event (target, event_at, kind, data_version, job_id, detail)
            VALUES (cur.target, at, 'migration_cancelled', prev.running_migration, prev.job_id,
                    format('v%s was cancelled', prev.running_migration));
        END IF;
    END IF;

    IF cur.lock_pid IS NOT NULL AND prev.lock_pid IS NULL THEN
        INSERT INTO event (target, event_at, kind, detail)
        VALUES (cur.target, at, 'lock_taken', format('pid %s took Medplum''s migration lock: pre-deploy migrations are running', cur.lock_pid));
    ELSIF cur.lock_pid IS NULL AND prev.lock_pid IS NOT NULL THEN
        INSERT INTO event (target, event_at, kind, detail)
        VALUES (cur.target, at, 'lock_released', format('pid %s released Medplum''s migration lock', prev.lock_pid));
    END IF;

    IF cur.stalled AND NOT prev.stalled THEN
        INSERT INTO event (target, event_at, kind, data_version, job_id, detail)
        VALUES (cur.target, at, 'stall_started', cur.running_migration, cur.job_id,
                format('no progress since %s', cur.progress_changed_at));
    ELSIF prev.stalled AND NOT cur.stalled THEN
        INSERT INTO event (target, event_at, kind, data_version, job_id, detail)
        VALUES (cur.target, at, 'stall_ended', prev.running_migration, prev.job_id,
                format('stalled for %s', date_trunc('second', at - prev.progress_changed_at)));
    END IF;

    -- One event per change of the set, naming a few: the set is as large
    -- as Medplum's app role makes it.
    IF cur.invalid_index_set IS DISTINCT FROM prev.invalid_index_set AND cur.invalid_indexes > 0 THEN
        INSERT INTO event (target, event_at, kind, detail)
        SELECT cur.target, at, 'invalid_index',
               format('%s invalid index(es) on Medplum''s tables: %s%s', cur.invalid_indexes,
                      string_agg(format('%s on %s (%s)', i.index_name, i.table_name, i.fix), ', '),
                      CASE WHEN cur.invalid_indexes > 5 THEN ', ...: see medup.invalid_indexes' ELSE '' END)
          FROM (SELECT * FROM read_invalid_indexes() LIMIT 5) i;
    END IF;
END
$$;
COMMENT ON FUNCTION medup.record_events(medup.sample,medup.sample,text) IS 'Records the events between two samples.';

/*
 * Keep medup.event bounded whatever Medplum's tables say: a sample writes
 * at most 100 events (more than the manifest has migrations), and at most 1,000 a day reach the table for each
 * target.  The events this sample wrote past either cap (those after
 * event id "after", at "at") are taken back, counted in
 * medup.sampler.events_suppressed, and said once a day by one
 * events_suppressed event.  Retention deletes far faster than that.
 */
CREATE FUNCTION medup.cap_events(after bigint, at timestamptz, for_target text DEFAULT current_database())
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    per_sample constant integer := 100;
    per_day    constant integer := 1000;
    written    integer;
    earlier    integer;
    allowed    integer;
    removed    integer;
BEGIN
    SELECT count(*) INTO written FROM event e
     WHERE e.event_id > after AND e.event_at = at AND e.target = for_target;
    -- Counted up to the cap only: the cost is bounded too.
    SELECT count(*) INTO earlier FROM (
        SELECT FROM event e
         WHERE e.event_at > at - interval '1 day' AND e.event_id <= after
           AND e.target = for_target
           -- the probes' events have their own bound: the servers a superuser lists
           AND e.kind NOT LIKE 'server\_%' AND e.kind NOT IN ('deploy', 'catalog_refreshed')
         LIMIT per_day) r;
    allowed := greatest(0, least(per_sample, per_day - earlier));
    IF written <= allowed THEN
        RETURN 0;
    END IF;
    DELETE FROM event e
     WHERE e.event_id > after AND e.event_at = at AND e.target = for_target
       AND e.event_id NOT IN (SELECT k.event_id FROM event k
                               WHERE k.event_id > after AND k.event_at = at
                                 AND k.target = for_target
                               ORDER BY k.event_id LIMIT allowed);
    GET DIAGNOSTICS removed = ROW_COUNT;
    UPDATE sampler m SET events_suppressed = m.events_suppressed + removed
     WHERE m.target = for_target;
    IF NOT FOUND THEN
        INSERT INTO sampler (database_name, target, events_suppressed) VALUES (current_database(), for_target, removed);
    END IF;
    IF NOT EXISTS (SELECT FROM event e WHERE e.kind = 'events_suppressed'
                      AND e.event_at > at - interval '1 day'
                      AND e.target = for_target) THEN
        INSERT INTO event (event_at, target, kind, detail)
        VALUES (at, for_target, 'events_suppressed',
                format('medup.event takes at most %s events per sample and %s a day from the samples of this database: later ones are counted in medup.sampler.events_suppressed, not written, until a day after this one.  So many changes in Medplum''s tables are not a migration: look at what writes "DatabaseMigration" and "AsyncJob".',
                       per_sample, per_day));
    END IF;
    RETURN removed;
END
$$;
COMMENT ON FUNCTION medup.cap_events(bigint,timestamp with time zone,text) IS 'Keeps the events of a sample and of a day under their caps, counting the rest in medup.sampler.';
COMMENT ON FUNCTION medup.count_outcome(text,text) IS 'Counts a sample''s outcome for a target in medup.sampler.';
COMMENT ON FUNCTION medup.sample_target(text) IS 'Samples one target (this database, or the remote target whose facts are held) and records its events.';
COMMENT ON FUNCTION medup.sample_unreachable(text,text,text) IS 'Records a remote target that could not be read: a sample with its error, an event when it was reachable before.';
COMMENT ON FUNCTION medup.sample_remote_targets() IS 'Samples every remote target registered here, read at once, after this database''s sample.';

/*
 * Delete what is older than medup.retention (samples) and
 * medup.event_retention (events), a small batch at a time so that no
 * sample ever does a long delete.  take_sample() calls it once a minute
 * (medup.sampler.last_retention_at), and at every sample while a pass
 * deletes a whole batch.  Returns the rows deleted from both tables.
 */
CREATE FUNCTION medup.apply_retention(batch integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    removed integer;
    more    integer;
BEGIN
    DELETE FROM sample WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM sample
         WHERE sampled_at < now() - setting_interval('medup.retention')
         LIMIT batch));
    GET DIAGNOSTICS removed = ROW_COUNT;
    DELETE FROM event WHERE event_id = ANY (ARRAY(
        SELECT event_id FROM event
         WHERE event_at < now() - setting_interval('medup.event_retention')
         ORDER BY event_id LIMIT batch));
    GET DIAGNOSTICS more = ROW_COUNT;
    RETURN removed + more;
END
$$;
COMMENT ON FUNCTION medup.apply_retention(integer) IS 'Deletes samples and events past medup.retention and medup.event_retention, at most batch rows each.';

CREATE VIEW medup.history AS
    SELECT s.sampled_at AS "time", s.database_name, s.state, s.schema_version, s.data_version,
           s.running_migration, s.steps_done, s.rows_done, s.progress, s.command, s.phase,
           s.blocks_done, s.blocks_total, s.tuples_done, s.tuples_total,
           s.rows_done - lag(s.rows_done) OVER w AS rows_since_last,
           (s.rows_done - lag(s.rows_done) OVER w)
               / nullif(extract(epoch FROM s.sampled_at - lag(s.sampled_at) OVER w), 0) AS rows_per_second,
           s.lock_pid, cardinality(s.blocked_pids) AS blocked, s.failed_migration,
           s.invalid_indexes, s.stalled, s.target, s.error
      FROM medup.sample s
    WINDOW w AS (PARTITION BY s.target, s.job_id ORDER BY s.sampled_at);
COMMENT ON VIEW medup.history IS
    'One row per sample, with a "time" column for Grafana';

CREATE VIEW medup.timeline AS
    SELECT e.database_name, e.data_version,
           min(e.event_at) FILTER (WHERE e.kind IN ('migration_started', 'migration_retried')) AS started,
           max(e.event_at) FILTER (WHERE e.kind = 'migration_completed') AS finished,
           max(e.event_at) FILTER (WHERE e.kind = 'migration_completed')
             - min(e.event_at) FILTER (WHERE e.kind IN ('migration_started', 'migration_retried'))
             -- downtime is not migration time
             - coalesce((SELECT sum(d.downtime) FROM medup.job_downtime d
                          WHERE d.target = e.target
                            AND d.job_id IN (SELECT x.job_id FROM medup.event x
                                              WHERE x.target = e.target
                                                AND x.data_version = e.data_version)),
                        interval '0') AS duration,
           count(*) FILTER (WHERE e.kind IN ('migration_started', 'migration_retried')) AS attempts_seen,
           count(*) FILTER (WHERE e.kind = 'migration_failed') AS failures,
           count(*) FILTER (WHERE e.kind = 'stall_started') AS stalls,
           (array_agg(e.kind ORDER BY e.event_at DESC, e.event_id DESC))[1] AS last_event,
           e.target
      FROM medup.event e
     WHERE e.data_version IS NOT NULL AND (e.kind LIKE 'migration_%' OR e.kind LIKE 'stall_%')
     GROUP BY e.database_name, e.target, e.data_version;
COMMENT ON VIEW medup.timeline IS
    'One row per migration medup watched: when it started and finished, attempts, failures and stalls, from medup.event';

/*
 * How long each completed migration took in this database, from its
 * jobs: the best guess for the next environment (staging, then
 * production).  Needs no history: AsyncJob keeps the times.
 */
CREATE FUNCTION medup.read_durations()
RETURNS TABLE (data_version integer, server_version medup.version, attempts integer,
               started timestamptz, finished timestamptz, duration interval,
               rows_done bigint, rows_per_second double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT j.data_version, d.server_version,
           count(*) OVER (PARTITION BY j.data_version)::integer,
           j.requested_at, coalesce(j.finished_at, j.last_updated),
           migration_time(j),
           j.rows_done,
           j.rows_done / nullif(extract(epoch FROM migration_time(j)), 0)::float8
      FROM read_jobs() j
      LEFT JOIN data_migration d USING (data_version)
     WHERE j.status = 'completed'
     ORDER BY j.data_version, j.requested_at;
END
$$;
COMMENT ON FUNCTION medup.read_durations() IS 'The rows of medup.durations.';

CREATE VIEW medup.durations AS
    SELECT d.*, current_database()::text AS target FROM medup.read_durations() d
    UNION ALL
    SELECT d.*, t.name FROM medup.target t,
           LATERAL medup.target_rows(t.name, 'read_durations')
             AS d(data_version integer, server_version medup.version, attempts integer,
                  started timestamptz, finished timestamptz, duration interval,
                  rows_done bigint, rows_per_second double precision);
COMMENT ON VIEW medup.durations IS
    'How long each completed post-deploy migration took in each target';

/*
 * Every event is also sent as NOTIFY medup_events, so that any client can
 * LISTEN rather than poll medup.event.  NOTIFY is transactional: the
 * payload goes out when the transaction that recorded the event commits,
 * and never if it rolls back (a sample that dies sends nothing, and the
 * next one derives the event again).
 *
 * The payload is one JSON object, keys in this order: target (the
 * database the event is about), kind, migration (the data version, or
 * null), versions (the schema and data version of the newest sample),
 * detail, event_id and at.  Nothing else: medup's detail texts name
 * migrations, versions, indexes, masked URLs and Medplum's error texts,
 * never a resource's content.  NOTIFY refuses payloads of 8000 bytes or
 * more: a longer detail is cut, and "detail_truncated" says so (the whole
 * text stays in medup.event, under event_id).
 */
CREATE FUNCTION medup.event_payload(e medup.event)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    max_bytes constant integer := 7999;
    target    text := e.target;
    versions  json;
    detail    text := e.detail;
    payload   text;
    excess    integer;
    detail_bytes integer;
BEGIN
    SELECT json_build_object('schema', s.schema_version, 'data', s.data_version) INTO versions
      FROM sample s WHERE s.target = e.target
     ORDER BY s.sampled_at DESC LIMIT 1;
    -- Cut the detail by its average bytes per character in JSON (escapes
    -- and multibyte characters count more): one pass for uniform text, a
    -- few for mixed; after ten the detail goes whole.
    FOR pass IN 1 .. 11 LOOP
        payload := json_build_object('target', target, 'kind', e.kind, 'migration', e.data_version,
                                     'versions', versions, 'detail', detail,
                                     'event_id', e.event_id, 'at', e.event_at)::text;
        IF detail IS DISTINCT FROM e.detail THEN
            payload := left(payload, -1) || ',"detail_truncated":true}';
        END IF;
        excess := octet_length(payload) - max_bytes;
        EXIT WHEN excess <= 0;
        detail_bytes := octet_length(to_json(detail)::text) - 2;
        detail := CASE WHEN pass < 10 AND detail_bytes > excess
                       THEN left(detail, greatest(((detail_bytes - excess - 32)::float8
                                                   * length(detail) / detail_bytes)::integer, 0))
                       ELSE '' END;
    END LOOP;
    RETURN payload;
END
$$;
COMMENT ON FUNCTION medup.event_payload(medup.event) IS
    'The JSON that NOTIFY medup_events sends for an event';

CREATE FUNCTION medup.notify_event()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, medup, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('medup_events', event_payload(NEW));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION medup.notify_event() IS 'Trigger function: NOTIFY medup_events for each event recorded.';
-- A trigger, so that every event is sent, whoever records it (samples,
-- probes, catalog refreshes).  It is code: an update drops it with the
-- functions (sql/updates/prologue.sql) and this creates it again.
CREATE TRIGGER event_notify AFTER INSERT ON medup.event
    FOR EACH ROW EXECUTE FUNCTION medup.notify_event();
