------------------------------------------------------------------------
-- The deploy gate
------------------------------------------------------------------------

/*
 * medup.check(target [, current]): one row per rule.  medup.gate() runs the
 * same rules and raises on the first failing error.  current defaults to
 * what the database tells: the lowest server version that can have
 * completed its dataVersion (stated in the "current_version" row).
 */
CREATE FUNCTION medup.check(target text, current text DEFAULT NULL)
RETURNS TABLE (rule text, ok boolean, severity text, message text, detail text,
               hint text, code text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    s           record;
    target_ver  medup.version;
    current_ver medup.version;
    missing     text;
    late        record;
    path_hint   text;
BEGIN
    SELECT * INTO s FROM status();

    rule := 'medplum_database'; severity := 'error'; code := '55000';
    ok := s.state <> 'not_medplum';
    message := CASE WHEN ok THEN 'this is a Medplum database' ELSE 'this is not a Medplum database' END;
    detail := CASE WHEN ok THEN format('Schema "%s", schema version %s, data version %s.',
                                       s.medplum_schema, s.schema_version, s.data_version)
                   ELSE s.problem || '.' END;
    hint := CASE WHEN NOT ok THEN 'Set medup.medplum_schema to the schema that holds Medplum''s tables.' END;
    RETURN NEXT;
    IF NOT ok THEN RETURN; END IF;

    rule := 'database_readable'; severity := 'error'; code := '55000';
    ok := s.data_version IS NOT NULL AND NOT s.tables_locked;
    message := CASE WHEN ok THEN 'Medplum''s tables were read' ELSE 'Medplum''s tables could not be read' END;
    detail := CASE WHEN NOT ok THEN s.problem || '.' END;
    hint := CASE WHEN NOT ok THEN 'A session holds a lock on Medplum''s tables, likely a migration: try again when it ends.' END;
    RETURN NEXT;
    IF NOT ok THEN RETURN; END IF;

    -- The target: a bad or unknown one ends the check.
    rule := 'target_known'; severity := 'error';
    BEGIN
        target_ver := resolve_target(target);
        ok := true; code := '22023';
        message := format('target %s is a known release', target_ver);
        detail := NULL; hint := NULL;
    EXCEPTION WHEN invalid_parameter_value OR invalid_text_representation
                   OR null_value_not_allowed OR object_not_in_prerequisite_state THEN
        GET STACKED DIAGNOSTICS message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                                hint = PG_EXCEPTION_HINT, code = RETURNED_SQLSTATE;
        ok := false;
        code := CASE WHEN code = '22P02' THEN '22P02' ELSE '22023' END;
    END;
    RETURN NEXT;
    IF NOT ok THEN RETURN; END IF;

    -- What runs now: given, or inferred from the database.
    rule := 'current_version'; severity := 'info'; code := '22023'; ok := true;
    IF current IS NOT NULL THEN
        current_ver := current::medup.version;
        message := format('current version %s', current_ver);
        detail := 'As given.';
    ELSE
        current_ver := lower(s.server_version_range);
        IF current_ver IS NULL THEN
            RAISE EXCEPTION 'cannot tell which Medplum version runs on this database'
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('The database has completed no post-deploy migration (data version %s), so any server before %s could be running.',
                                      s.data_version, coalesce(upper(s.server_version_range)::text, 'the newest')),
                      HINT = format('Pass the running version: SELECT medup.gate(%L, current => ''3.1.2'').', target);
        END IF;
        message := format('current version taken as %s', current_ver);
        detail := format('Inferred from the database: data version %s was completed by a server at %s or later%s. Pass current => ''x.y.z'' to be exact.',
                         s.data_version, current_ver,
                         CASE WHEN upper(s.server_version_range) IS NOT NULL
                              THEN format(', and the next migration refuses servers at %s or later', upper(s.server_version_range)) ELSE '' END);
    END IF;
    hint := NULL;
    RETURN NEXT;

    rule := 'downgrade'; severity := 'error'; code := '22023';
    ok := target_ver >= current_ver;
    message := CASE WHEN ok THEN 'not a downgrade' ELSE format('%s is older than the current %s', target_ver, current_ver) END;
    detail := CASE WHEN NOT ok THEN 'Post-deploy migrations cannot be undone, and Medplum does not support running an older server on a newer database.' END;
    hint := CASE WHEN NOT ok THEN 'Pick a target at or after the current version.' END;
    RETURN NEXT;
    IF NOT ok THEN RETURN; END IF;

    rule := 'failed_migration'; severity := 'error'; code := '55000';
    ok := s.failed_migration IS NULL;
    message := CASE WHEN ok THEN 'no post-deploy migration has failed'
                    ELSE format('post-deploy migration v%s failed', s.failed_migration) END;
    detail := CASE WHEN NOT ok THEN format('Its latest attempt ended in error: %s.', coalesce(s.last_error, 'no error text recorded')) END;
    hint := CASE WHEN NOT ok THEN 'Fix the cause, run the migration again from Medplum''s admin page or by restarting the server, and wait for it to complete. See SELECT * FROM medup.migrations;' END;
    RETURN NEXT;

    rule := 'migration_lock'; severity := 'error'; code := '55000';
    ok := NOT s.migration_lock_held;
    message := CASE WHEN ok THEN 'no pre-deploy migration is running'
                    ELSE 'a Medplum server is applying pre-deploy migrations' END;
    detail := CASE WHEN NOT ok THEN format('Session %s holds Medplum''s migration lock (advisory lock 1).', s.migration_lock_pid) END;
    hint := CASE WHEN NOT ok THEN 'Wait until that server has started, then check again.' END;
    RETURN NEXT;

    -- Every stop between current and target that is not deployed first.
    SELECT string_agg(format('%s (%s)', p.version,
                             CASE WHEN p.required THEN 'required by the manifest' ELSE 'Medplum''s rule' END),
                      ', ' ORDER BY p.step)
      INTO missing
      FROM upgrade_path(current_ver, target_ver::text) p
     WHERE p.version < target_ver;
    rule := 'skipped_minor'; severity := 'error'; code := '55000';
    ok := missing IS NULL;
    path_hint := format('See SELECT * FROM medup.upgrade_path(%L, %L);', current_ver::text, target_ver::text);
    message := CASE WHEN ok THEN 'no minor version is skipped'
                    ELSE format('deploying %s on %s skips versions that must be deployed first', target_ver, current_ver) END;
    detail := CASE WHEN NOT ok THEN format('Medplum must not skip a minor version. Missing: %s.', missing) END;
    hint := CASE WHEN NOT ok THEN format('Deploy each of them in order, waiting for their migrations, then %s. %s', target_ver, path_hint) END;
    RETURN NEXT;

    -- Every pending migration that must finish before target starts:
    -- Medplum checks only the next one; the later ones fail later.
    rule := 'pending_migrations'; severity := 'error'; code := '55000';
    SELECT string_agg(format('%s must complete before %s (on a server at %s or later%s)',
                             format_migrations(g.numbers), g.required_before, g.needs,
                             CASE WHEN g.numbers @> ARRAY[s.running_migration] THEN format('; v%s is running now', s.running_migration) ELSE '' END),
                      '; ' ORDER BY g.required_before) AS what,
           min(g.runner) AS first_runner, min(g.needs) AS first_needs
      INTO late
      FROM (SELECT d.required_before, max(d.server_version) AS needs,
                   array_agg(d.data_version ORDER BY d.data_version) AS numbers,
                   (SELECT max(r.version) FROM release r
                     WHERE r.version >= max(d.server_version) AND r.version < d.required_before) AS runner
              FROM data_migration d
             WHERE d.data_version > s.data_version AND d.required_before <= target_ver
             GROUP BY d.required_before) g;
    ok := late.what IS NULL;
    message := CASE WHEN ok THEN format('no pending post-deploy migration must complete before %s', target_ver)
                    ELSE format('post-deploy migrations must complete before %s can start', target_ver) END;
    detail := CASE WHEN NOT ok THEN format('Data version is %s. %s.', s.data_version, late.what) END;
    hint := CASE WHEN NOT ok THEN
                CASE WHEN s.running_migration IS NOT NULL AND current_ver >= late.first_needs
                     THEN format('Wait for the running migrations to complete on this server, then check again. %s', path_hint)
                     ELSE format('Deploy %s first and wait for its migrations to complete. %s',
                                 coalesce(late.first_runner::text, 'the versions that run them'), path_hint) END END;
    RETURN NEXT;

    rule := 'migration_running'; severity := 'warning'; code := '01000';
    ok := s.running_migration IS NULL;
    message := CASE WHEN ok THEN 'no post-deploy migration is running'
                    ELSE format('post-deploy migration v%s is running', s.running_migration) END;
    detail := CASE WHEN NOT ok THEN format('It started at %s. A deploy restarts the servers, and the migration starts over.', s.running_since) END;
    hint := CASE WHEN NOT ok THEN 'Deploy after it completes, unless a restart is what you want.' END;
    RETURN NEXT;

    rule := 'invalid_indexes'; severity := 'warning'; code := '01000';
    ok := coalesce(s.invalid_indexes, 0) = 0;
    message := CASE WHEN ok THEN 'no invalid index on Medplum''s tables'
                    ELSE format('%s invalid index(es) on Medplum''s tables', s.invalid_indexes) END;
    detail := CASE WHEN NOT ok THEN 'A concurrent index build failed and left them behind.' END;
    hint := CASE WHEN NOT ok THEN 'See SELECT * FROM medup.invalid_indexes; for the statements that rebuild them.' END;
    RETURN NEXT;

    rule := 'crosses_major'; severity := 'warning'; code := '01000';
    ok := major(target_ver) = major(current_ver);
    message := CASE WHEN ok THEN 'same major version'
                    ELSE format('%s crosses from major version %s to %s', target_ver, major(current_ver), major(target_ver)) END;
    detail := CASE WHEN NOT ok THEN 'A new major version of Medplum carries breaking changes.' END;
    hint := CASE WHEN NOT ok THEN 'Make sure the application code is ready for them before this deploy.' END;
    RETURN NEXT;
END
$$;

/*
 * medup.gate(target [, current]): succeeds with a short text, or raises the
 * first failing error rule, so that  psql -v ON_ERROR_STOP=1  stops a
 * deploy script.  Failing warnings are raised as WARNINGs first.
 */
CREATE FUNCTION medup.gate(target text, current text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    r          record;
    failure    record;
    target_ver medup.version;
    inferred   text;
BEGIN
    FOR r IN SELECT * FROM medup.check(target, current) LOOP
        IF r.ok THEN
            IF r.rule = 'target_known' THEN
                target_ver := substring(r.message from '^target (\S+) ');
            ELSIF r.rule = 'current_version' AND current IS NULL THEN
                inferred := format('The current version was taken as %s, inferred from the database; pass current => ''x.y.z'' to be exact.',
                                   substring(r.message from '(\S+)$'));
            END IF;
            CONTINUE;
        END IF;
        IF r.severity = 'warning' THEN
            RAISE WARNING '%', r.message USING DETAIL = r.detail, HINT = r.hint;
        ELSIF failure IS NULL THEN
            failure := r;
        END IF;
    END LOOP;
    IF failure IS NOT NULL THEN
        failure.message := format('cannot deploy %s: %s', coalesce(target_ver::text, target, '(no target)'), failure.message);
        IF failure.rule IN ('skipped_minor', 'pending_migrations', 'downgrade') THEN
            failure.detail := concat_ws(' ', failure.detail, inferred);
        END IF;
        IF failure.detail IS NULL THEN
            RAISE EXCEPTION '%', failure.message USING ERRCODE = failure.code, HINT = failure.hint;
        END IF;
        RAISE EXCEPTION '%', failure.message
            USING ERRCODE = failure.code, DETAIL = failure.detail, HINT = failure.hint;
    END IF;
    RETURN format('safe to deploy %s', target_ver);
END
$$;

