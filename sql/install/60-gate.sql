------------------------------------------------------------------------
-- The deploy gate
------------------------------------------------------------------------

/*
 * Why rolling back from current to target is refused, or NULL inside
 * Medplum's rollback window (4.x on): the target must be the latest patch
 * of the previous minor, and none of the current minor's post-deploy
 * migrations may have been applied (completed; a running one has not).
 * rollback_to: that latest patch; closed_by: the migration that closed
 * the window.
 */
CREATE FUNCTION medup.rollback_refusal(current medup.version, target medup.version,
                                       data_version integer, OUT reason text,
                                       OUT rollback_to medup.version, OUT closed_by integer)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    closer_server medup.version;
BEGIN
    rollback_to := (SELECT max(r.version) FROM release r
                     WHERE (major(r.version), minor(r.version)) < (major(current), minor(current)));
    SELECT d.data_version, d.server_version INTO closed_by, closer_server
      FROM data_migration d
     WHERE d.server_version >= format('%s.%s.0', major(current), minor(current))::medup.version
       AND d.data_version <= rollback_refusal.data_version
     ORDER BY d.data_version LIMIT 1;
    reason := CASE
        WHEN major(current) < 4 OR major(target) < 4 THEN
            'Medplum documents rollbacks from 4.0 on only.'
        WHEN target <> rollback_to THEN
            format('Medplum supports rolling back only to the latest patch of the previous minor, %s.', rollback_to)
        WHEN closed_by IS NOT NULL THEN
            format('Post-deploy migration v%s of %s.%s (server %s) has been applied: it closed the rollback window, and the previous minor cannot run on this database any more.',
                   closed_by, major(current), minor(current), closer_server)
        END;
END
$$;
COMMENT ON FUNCTION medup.rollback_refusal(medup.version,medup.version,integer) IS 'Why a rollback is refused, or NULL inside Medplum''s rollback window.';

/*
 * The pending migrations (after data_version) that must complete before
 * target can start, grouped by required_before: what (a sentence),
 * runners (for each group, the latest release that can run it) and needs
 * (the lowest server version any group needs).  Medplum checks only the
 * next migration; the later ones would stop a later deploy.
 */
CREATE FUNCTION medup.due_before(target medup.version, data_version integer, running integer,
                                 OUT what text, OUT runners medup.version[], OUT needs medup.version)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
BEGIN
    SELECT string_agg(format('%s must complete before %s (on a server at %s or later%s)',
                             format_migrations(g.numbers), g.required_before, g.needs,
                             CASE WHEN g.numbers @> ARRAY[running] THEN format('; v%s is running now', running) ELSE '' END),
                      '; ' ORDER BY g.required_before),
           array_agg(g.runner ORDER BY g.required_before) FILTER (WHERE g.runner IS NOT NULL),
           min(g.needs)
      INTO what, runners, needs
      FROM (SELECT d.required_before, max(d.server_version) AS needs,
                   array_agg(d.data_version ORDER BY d.data_version) AS numbers,
                   (SELECT max(r.version) FROM release r
                     WHERE r.version >= max(d.server_version) AND r.version < d.required_before) AS runner
              FROM data_migration d
             WHERE d.data_version > due_before.data_version AND d.required_before <= target
             GROUP BY d.required_before) g;
END
$$;
COMMENT ON FUNCTION medup.due_before(medup.version,integer,integer) IS 'The pending migrations that must complete before a target version can start, grouped by required_before.';

/*
 * medup.check(target [, current]): one row per rule, in order.  The rules
 * are one table, each row a rule: its name, whether a failure ends the
 * check, its severity and SQLSTATE, whether it passed, and its texts.  The
 * facts the rules need are gathered first; the typed columns say which
 * target and current version were used and which versions a rule names
 * (the stops a skipped minor misses, the versions that run the pending
 * migrations, the rollback target), so that nothing reads them back out of
 * the messages.  current defaults to the lowest server version the
 * database can be running (its schema and data versions both bound it).
 */
CREATE FUNCTION medup.check(version text, current text DEFAULT NULL, target text DEFAULT NULL)
RETURNS TABLE (rule text, ok boolean, severity text, message text, detail text,
               hint text, code text, target_version medup.version,
               current_version medup.version, current_inferred boolean,
               versions medup.version[])
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    s             record;
    is_medplum    boolean;
    readable      boolean;
    target_ok     boolean;
    err_message   text;            -- why the target was refused
    err_detail    text;
    err_hint      text;
    err_code      text;
    target_ver    medup.version;
    current_ver   medup.version;
    inferred      boolean := current IS NULL;   -- from the database
    reported_ver  medup.version;   -- what Medplum's servers report (80-servers.sql)
    reported_from text;
    shown         medup.version;   -- the lowest server the database shows
    same_minor    boolean;         -- a redeploy or a later patch of the current minor
    failed_server medup.version;   -- the server version the failed migration needs
    retries       boolean;         -- the target runs the failed migration again
    medplum_says_no boolean;       -- Medplum's own start-up check would refuse the target
    is_rollback   boolean;
    rollback_to   medup.version;   -- the latest patch of the previous minor
    closer        integer;         -- the current minor's migration that closed the window
    rollback_ok   boolean;
    racing        boolean;         -- a migration of the current minor runs during a rollback
    rollback_why  text;
    missing       text;            -- stops between current and target
    missing_stops medup.version[];
    late          text;            -- pending migrations due before target
    late_runners  medup.version[]; -- the versions that run them
    late_needs    medup.version;
    path_hint     text;
    first_boot_on boolean;
    own_snapshot  boolean := false;   -- reading a remote target (47-targets.sql)
BEGIN
    -- A remote target: its facts are read once and every rule below is
    -- decided on them as on this database's.
    IF target IS NOT NULL AND target <> current_database()::text THEN
        PERFORM medup.use_target(target, with_cluster => true);
        own_snapshot := true;
    END IF;
    SELECT * INTO s FROM status();
    is_medplum := s.state <> 'not_medplum';
    readable := is_medplum AND s.data_version IS NOT NULL
                AND NOT coalesce(s.tables_locked, false);

    IF readable THEN
        BEGIN
            target_ver := resolve_target($1);
            target_ok := true;
        EXCEPTION WHEN invalid_parameter_value OR invalid_text_representation
                       OR null_value_not_allowed OR object_not_in_prerequisite_state THEN
            target_ok := false;
            GET STACKED DIAGNOSTICS err_message = MESSAGE_TEXT, err_detail = PG_EXCEPTION_DETAIL,
                                    err_hint = PG_EXCEPTION_HINT, err_code = RETURNED_SQLSTATE;
        END;
    END IF;

    IF target_ok THEN
        -- status() bounds the range by lowest_server_version(): one answer.
        shown := lower(s.server_version_range);
        -- Not given: a version the servers reported recently beats inferring it.
        SELECT r.version, r.source INTO reported_ver, reported_from
          FROM reported_version() r WHERE current IS NULL AND NOT medup.remote_active();
        inferred := current IS NULL AND reported_ver IS NULL;
        current_ver := coalesce(current::medup.version, reported_ver, shown);
        IF current_ver IS NULL THEN
            RAISE EXCEPTION 'cannot tell which Medplum version runs on this database'
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('Schema version %s and data version %s were reached by releases older than any medup knows, so any older server could be running.',
                                      s.schema_version, s.data_version),
                      HINT = format('Pass the running version: SELECT medup.gate(%L, current => ''3.1.2'').', $1);
        END IF;
        first_boot_on := coalesce(s.first_boot, false);
        is_rollback := target_ver < current_ver;
        same_minor := NOT is_rollback
                      AND (major(target_ver), minor(target_ver)) = (major(current_ver), minor(current_ver));
        IF s.failed_migration IS NOT NULL THEN
            failed_server := (SELECT d.server_version FROM data_migration d
                               WHERE d.data_version = s.failed_migration);
        END IF;
        retries := same_minor AND target_ver >= coalesce(failed_server, target_ver);
        -- Medplum checks only the next migration: at or past its
        -- server_version and its required_before, a server refuses to start.
        medplum_says_no := coalesce((SELECT d.server_version <= target_ver AND d.required_before <= target_ver
                                       FROM data_migration d WHERE d.data_version = s.data_version::bigint + 1), false);
        path_hint := format('See SELECT * FROM medup.upgrade_path(%L, %L);', current_ver::text, target_ver::text);

        IF is_rollback THEN
            SELECT * INTO rollback_why, rollback_to, closer
              FROM rollback_refusal(current_ver, target_ver, s.data_version);
            rollback_ok := rollback_why IS NULL;
            racing := s.running_migration IS NOT NULL AND EXISTS (
                SELECT FROM data_migration d
                 WHERE d.data_version = s.running_migration
                   AND d.server_version >= format('%s.%s.0', major(current_ver), minor(current_ver))::medup.version);
        ELSE
            SELECT string_agg(format('%s (%s)', p.version,
                                     CASE WHEN p.required THEN 'required by the manifest' ELSE 'Medplum''s rule' END),
                              ', ' ORDER BY p.step) AS what,
                   array_agg(p.version ORDER BY p.step)
              INTO missing, missing_stops
              FROM path_stops(current_ver, target_ver::text) p
             WHERE p.version < target_ver;
        END IF;

        SELECT * INTO late, late_runners, late_needs
          FROM due_before(target_ver, s.data_version, s.running_migration);
    END IF;

    RETURN QUERY
    WITH rules (position, rule, stops, uses_current, severity, code, ok,
                pass_message, fail_message, pass_detail, fail_detail, fail_hint, versions) AS (VALUES
        (1, 'medplum_database', true, false, 'error', '55000', is_medplum,
         'this is a Medplum database', 'this is not a Medplum database',
         format('Schema "%s", schema version %s, data version %s.', s.medplum_schema, s.schema_version, s.data_version),
         coalesce(s.problem, 'No Medplum tables were found') || '.',
         'Set medup.medplum_schema to the schema that holds Medplum''s tables.',
         NULL::medup.version[]),

        (2, 'database_readable', true, false, 'error', '55000', readable,
         'Medplum''s tables were read', 'Medplum''s tables could not be read',
         NULL, coalesce(s.problem, '"DatabaseMigration" gave no data version') || '.',
         'A session holds a lock on Medplum''s tables, likely a migration: try again when it ends.',
         NULL),

        (3, 'target_known', true, false, 'error',
         CASE WHEN err_code = '22P02' THEN '22P02' ELSE '22023' END, target_ok,
         format('target %s is a known release', target_ver), err_message,
         NULL,
         coalesce(nullif(err_detail, ''), 'The target is looked up in medup''s release catalog (medup.release).'),
         coalesce(nullif(err_hint, ''), 'Give a version such as ''4.3.15'', a minor such as ''4.3'', or ''latest''.'),
         CASE WHEN target_ok THEN ARRAY[target_ver] END),

        -- What runs now: given, reported by the servers, or inferred from
        -- the database.  Given or reported but older than the database
        -- shows, it is used, with a warning.
        (4, 'current_version', false, false,
         CASE WHEN inferred OR shown IS NULL OR current_ver >= shown THEN 'info' ELSE 'warning' END, '01000',
         inferred OR shown IS NULL OR current_ver >= shown,
         format('current version %s %s', CASE WHEN inferred THEN 'taken as' WHEN current IS NULL THEN 'reported as'
                                              ELSE 'given as' END, current_ver),
         format('current version %s is older than this database shows', current_ver),
         CASE WHEN inferred THEN format(
             'Inferred from the database: schema version %s and data version %s were reached by a server at %s or later%s. Pass current => ''x.y.z'' to be exact.',
             s.schema_version, s.data_version, current_ver,
             CASE WHEN first_boot_on THEN ' (first boot: the schema version tells, the data version is still catching up)' ELSE '' END)
              WHEN current IS NULL THEN format('Taken from %s.', reported_from)
              ELSE 'As given.' END,
         format('Schema version %s and data version %s were reached by a server at %s or later. medup uses %s%s.',
                s.schema_version, s.data_version, shown, current_ver,
                CASE WHEN current IS NULL THEN format(', taken from %s', reported_from) ELSE ' as given' END),
         'Check the version the servers run: GET /healthcheck answers it.',
         ARRAY[current_ver]),

        -- A rollback: to the latest patch of the previous minor only, while
        -- none of the current minor's post-deploy migrations is applied.
        (5, 'downgrade', true, true, 'error', '22023', NOT is_rollback OR rollback_ok,
         CASE WHEN is_rollback THEN format('rolling back to %s is within Medplum''s rollback window', target_ver)
              ELSE 'not a downgrade' END,
         format('%s is older than the current %s', target_ver, current_ver),
         CASE WHEN is_rollback THEN format('No post-deploy migration of %s.%s has been applied, so %s, the latest patch of the previous minor, can run on this database.',
                                           major(current_ver), minor(current_ver), target_ver) END,
         rollback_why,
         CASE WHEN major(current_ver) < 4 OR major(target_ver) < 4 OR rollback_to IS NULL
              THEN 'Pick a target at or after the current version.'
              WHEN closer IS NOT NULL
              THEN format('Fix forward: deploy a patch of %s.%s or a later version.', major(current_ver), minor(current_ver))
              ELSE format('Roll back to %s instead, or pick a target at or after the current version.', rollback_to) END,
         CASE WHEN is_rollback THEN ARRAY[rollback_to] END),

        -- After a failure, redeploying this minor retries (how depends on
        -- the era); a rollback leaves the migration behind.  Anything else
        -- must wait until the migration completes.
        (6, 'failed_migration', false, false,
         CASE WHEN retries OR is_rollback THEN 'warning' ELSE 'error' END,
         CASE WHEN retries OR is_rollback THEN '01000' ELSE '55000' END,
         s.failed_migration IS NULL,
         'no post-deploy migration has failed',
         format('post-deploy migration v%s failed%s', s.failed_migration,
                CASE WHEN retries THEN format(': deploying %s retries it', target_ver)
                     WHEN is_rollback THEN format(': %s leaves it pending', target_ver) ELSE '' END),
         NULL,
         concat_ws(' ', format('Its latest attempt ended in error: %s.', coalesce(s.last_error, 'no error text recorded')),
                   CASE WHEN retries THEN format('To run it again: %s.',
                                                 run_advice(s.failed_migration, admin_runs_migrations(target_ver)))
                        WHEN same_minor THEN format('%s cannot run it again: v%s needs a server at %s or later.',
                                                    target_ver, s.failed_migration, failed_server)
                        WHEN NOT is_rollback AND NOT medplum_says_no THEN format(
                            'Medplum itself would start %s and retry v%s there; medup is stricter: Medplum fixes broken migrations in patches of their own minor, so retry it on %s.%s first.',
                            target_ver, s.failed_migration, major(current_ver), minor(current_ver)) END),
         CASE WHEN retries THEN format('If the error is a bug in the migration, the latest patch of %s.%s, %s, may carry the fix. Watch it with SELECT * FROM medup.migrations;',
                                          major(target_ver), minor(target_ver), latest_patch(major(target_ver), minor(target_ver)))
              WHEN is_rollback THEN 'Run it again after the rollback, when you deploy this minor again.'
              ELSE format('Fix the cause, then %s; deploy nothing newer until it completes.',
                          run_advice(s.failed_migration, admin_runs_migrations(current_ver))) END,
         NULL),

        -- Held by a session that is not a Medplum server, lock 1 would
        -- make the next server give up at start-up just the same.
        (7, 'migration_lock', false, false, 'error', '55000', NOT s.migration_lock_held,
         'no pre-deploy migration is running',
         CASE WHEN s.state = 'pre_deploy_running'
              THEN 'a Medplum server is applying pre-deploy migrations'
              ELSE 'a session that is not a Medplum server holds Medplum''s migration lock' END,
         NULL,
         format('Session %s (role %s, application "%s") holds Medplum''s migration lock (advisory lock 1).%s',
                s.migration_lock_pid, s.migration_lock_role, s.migration_lock_application,
                CASE WHEN s.state IS DISTINCT FROM 'pre_deploy_running'
                     THEN ' A Medplum server starting now would wait for it, then fail with "Failed to acquire migration lock".' ELSE '' END),
         CASE WHEN s.state = 'pre_deploy_running'
              THEN 'Wait until that server has started, then check again.'
              ELSE 'Find out why that session holds it; end it if it should not, then check again.' END,
         NULL),

        -- Every stop between current and target that is not deployed first.
        (8, 'skipped_minor', false, true, 'error', '55000', missing IS NULL,
         'no minor version is skipped',
         format('deploying %s on %s skips versions that must be deployed first', target_ver, current_ver),
         NULL, format('Medplum must not skip a minor version. Missing: %s.', missing),
         format('Deploy each of them in order, waiting for their migrations, then %s. %s', target_ver, path_hint),
         missing_stops),

        -- In first boot Medplum skips its start-up check: a patch of the
        -- current minor runs the pending migrations itself.  A newer minor
        -- is refused until first boot ends, stricter than Medplum.
        (9, 'pending_migrations', false, true, 'error', '55000',
         late IS NULL OR (first_boot_on AND same_minor),
         CASE WHEN late IS NULL THEN format('no pending post-deploy migration must complete before %s', target_ver)
              ELSE format('first boot: %s runs the pending post-deploy migrations itself', target_ver) END,
         format('post-deploy migrations must complete before %s can start', target_ver),
         CASE WHEN late IS NOT NULL THEN format(
             'Data version is %s. %s. Medplum skips its start-up version check while "firstBoot" is true, and %s can run every one of them.',
             s.data_version, late, target_ver) END,
         concat_ws(' ', format('Data version is %s. %s.', s.data_version, late),
                   CASE WHEN first_boot_on THEN format(
                       'Medplum itself would start %s now, as it skips its start-up version check while "firstBoot" is true; medup is stricter: %s''s code assumes these migrations complete, and they are still running on a fresh install.',
                       target_ver, target_ver)
                        WHEN NOT medplum_says_no THEN format(
                       'Medplum itself checks only the next one, v%s, and would start %s; medup checks them all: the later ones would then run on a server their required_before rules out.',
                       s.data_version::bigint + 1, target_ver) END),
         CASE WHEN first_boot_on
              THEN format('Let first boot finish on %s.%s (status() leaves the first_boot state when the server''s latest migration completes), then check again. %s',
                          major(current_ver), minor(current_ver), path_hint)
              WHEN s.running_migration IS NOT NULL AND current_ver >= late_needs
              THEN format('Wait for the running migrations to complete on this server, then check again. %s', path_hint)
              ELSE format('Deploy %s first and wait for its migrations to complete. %s',
                          coalesce(late_runners[1]::text, 'the versions that run them'), path_hint) END,
         late_runners),

        -- A rollback must beat a running migration of the current minor:
        -- once it completes, the window is closed.
        (10, 'migration_running', false, false, 'warning', '01000', s.running_migration IS NULL,
         'no post-deploy migration is running',
         format('post-deploy migration v%s is running', s.running_migration),
         NULL,
         format('It started at %s.%s A deploy stops it: %s', s.running_since,
                CASE WHEN s.state = 'failing' THEN format(' A resource type failed (%s): Medplum goes on with the others and marks the job failed at the end.', s.last_error) ELSE '' END,
                CASE WHEN racing
                     THEN format('%s does not run it, but if it completes before the rollback, the rollback window is closed.', target_ver)
                     WHEN target_ver >= '4.1.0'::medup.version
                     THEN 'the new servers take up the same job at start-up (a reindex resumes from its cursor, a custom migration runs its statements again).'
                     ELSE 'a 3.3-4.0 server does not take it up again; it must be run again from the Super Admin page.' END),
         CASE WHEN racing THEN 'Roll back now, or cancel the job first (AsyncJob/$cancel) to keep the window open.'
              ELSE 'Deploy after it completes, unless a restart is what you want.' END,
         NULL),

        (11, 'invalid_indexes', false, false, 'warning', '01000', coalesce(s.invalid_indexes, 0) = 0,
         'no invalid index on Medplum''s tables',
         format('%s invalid index(es) on Medplum''s tables', s.invalid_indexes),
         NULL, 'A concurrent index build failed and left them behind.',
         'See SELECT * FROM medup.invalid_indexes; for the statements that rebuild them.',
         NULL),

        (12, 'crosses_major', false, false, 'warning', '01000', major(target_ver) = major(current_ver),
         'same major version',
         format('%s crosses from major version %s to %s', target_ver, major(current_ver), major(target_ver)),
         NULL, 'A new major version of Medplum carries breaking changes.',
         'Make sure the application code is ready for them before this deploy.',
         NULL))
    SELECT r.rule, r.ok, r.severity,
           CASE WHEN r.ok THEN r.pass_message ELSE r.fail_message END,
           CASE WHEN r.ok THEN r.pass_detail
                WHEN r.uses_current AND inferred THEN concat_ws(' ', r.fail_detail,
                    format('The current version was taken as %s, inferred from the database; pass current => ''x.y.z'' to be exact.', current_ver))
                ELSE r.fail_detail END,
           CASE WHEN NOT r.ok THEN r.fail_hint END,
           r.code, target_ver, current_ver, inferred, r.versions
      FROM rules r
     WHERE NOT EXISTS (SELECT FROM rules e WHERE e.stops AND NOT e.ok AND e.position < r.position)
     ORDER BY r.position;
    IF own_snapshot THEN
        PERFORM medup.snapshot_set(NULL);
    END IF;
END
$$;
COMMENT ON FUNCTION medup."check"(text,text,text) IS 'Every deploy rule for a target version, one row each.';

/*
 * medup.gate(version [, current] [, target]): succeeds with a short text, or
 * raises the first failing error rule, so that  psql -v ON_ERROR_STOP=1
 * stops a deploy script.  Failing warnings are raised as WARNINGs first.
 * target: a remote target's name (47-targets.sql); this database when NULL.
 */
CREATE FUNCTION medup.gate(version text, current text DEFAULT NULL, target text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    r          record;
    failure    record;
    refused    boolean := false;
    target_ver medup.version;
    current_ver medup.version;
BEGIN
    FOR r IN SELECT * FROM medup.check(gate.version, current, target) LOOP
        target_ver := r.target_version;
        current_ver := r.current_version;
        CONTINUE WHEN r.ok;
        -- check() gives every failing row a DETAIL and a HINT.
        IF r.severity = 'warning' THEN
            RAISE WARNING '%', r.message USING DETAIL = r.detail, HINT = r.hint;
        ELSIF NOT refused THEN
            failure := r;
            refused := true;
        END IF;
    END LOOP;
    IF refused THEN
        RAISE EXCEPTION 'cannot deploy %: %', coalesce(target_ver::text, gate.version, '(no target)'), failure.message
            USING ERRCODE = failure.code, DETAIL = failure.detail, HINT = failure.hint;
    END IF;
    RETURN format(CASE WHEN target_ver < current_ver THEN 'safe to roll back to %s' ELSE 'safe to deploy %s' END,
                  target_ver);
END
$$;
COMMENT ON FUNCTION medup.gate(text,text,text) IS 'Raises when deploying a version is unsafe; else says it is safe.';
