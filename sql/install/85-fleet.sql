------------------------------------------------------------------------
-- The fleet: every target at once
--
-- The remote targets are read concurrently (read_targets(), 47-targets.sql),
-- each bounded by medup.target_timeout; then each answer is decided on its
-- snapshot by the same status() and check() as this database's.  A target
-- that cannot be read is a row with its error, never a failed fleet.
------------------------------------------------------------------------

/*
 * What a shard's jobs are: Medplum keeps every data-migration AsyncJob of
 * a sharded deployment in the global database, and the job does not say
 * which shard it migrates (medup found no such field).  So a job running
 * in the global database, for a migration a shard has not completed, is
 * "running, shard not named" for that shard: medup never guesses.
 * Returns the lowest such migration, or NULL.
 */
CREATE FUNCTION medup.global_running_for(global_facts jsonb, shard_data_version integer)
RETURNS integer
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    running integer;
BEGIN
    IF global_facts IS NULL OR shard_data_version IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM medup.snapshot_set(global_facts);
    SELECT min(j.data_version) INTO running
      FROM medup.snapshot_jobs(true, NULL) j
     WHERE j.status IN ('accepted', 'active') AND j.data_version > shard_data_version;
    PERFORM medup.snapshot_set(NULL);
    RETURN running;
END
$$;
COMMENT ON FUNCTION medup.global_running_for(jsonb,integer) IS 'The job running in a global database that may be moving a shard.';

/*
 * One row per target: this database first, then the remote ones by name.
 * cluster: NULL for all targets, or only that cluster's.
 */
CREATE FUNCTION medup.read_fleet(of_cluster text DEFAULT NULL)
RETURNS TABLE (name text, cluster text, role text, reachable boolean, state text,
               schema_version integer, data_version integer, running_migration integer,
               failed_migration integer, next_step medup.version,
               server_version_range medup.version_range, advice text,
               error_code text, error text, read_in interval)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    t      record;
    s      record;
    glob   jsonb;
    names  text[];
    read   jsonb[];
    began  timestamptz;
    shard_job integer;
    local_too boolean := false;
BEGIN
    -- This database, unless it only monitors others: not Medplum, with
    -- remote targets registered.
    IF read_fleet.of_cluster IS NULL THEN
        began := clock_timestamp();
        SELECT * INTO s FROM medup.status();
        local_too := s.state <> 'not_medplum' OR NOT EXISTS (SELECT FROM medup.target);
    END IF;
    IF local_too THEN
        RETURN QUERY SELECT current_database()::text, NULL::text, 'standalone'::text, true,
                            s.state, s.schema_version, s.data_version, s.running_migration,
                            s.failed_migration, s.next_step, s.server_version_range, s.advice,
                            NULL::text, NULL::text, clock_timestamp() - began;
    END IF;
    names := ARRAY(SELECT g.name FROM medup.target g
                    WHERE read_fleet.of_cluster IS NULL OR g.cluster = read_fleet.of_cluster ORDER BY g.name);
    IF cardinality(names) = 0 THEN
        RETURN;
    END IF;
    read := ARRAY(SELECT to_jsonb(r) FROM medup.read_targets(names, 'row') r);
    FOR t IN SELECT f.*, g.cluster, g.role
               FROM unnest(read) x,
                    jsonb_to_record(x) AS f(target text, facts jsonb, error_code text, error text,
                                            error_hint text, elapsed interval)
               JOIN medup.target g ON g.name = f.target
              ORDER BY f.target LOOP
        IF t.facts IS NULL THEN
            RETURN QUERY SELECT t.target, t.cluster, t.role, t.error_code NOT LIKE '08%',
                                'unreadable'::text, NULL::integer, NULL::integer, NULL::integer,
                                NULL::integer, NULL::medup.version, NULL::medup.version_range,
                                concat_ws(' ', t.error, t.error_hint), t.error_code, t.error, t.elapsed;
            CONTINUE;
        END IF;
        PERFORM medup.snapshot_set(t.facts);
        SELECT * INTO s FROM medup.status();
        PERFORM medup.snapshot_set(NULL);
        shard_job := NULL;
        IF t.role = 'shard' AND s.running_migration IS NULL THEN
            glob := (SELECT x->'facts' FROM unnest(read) x JOIN medup.target g ON g.name = x->>'target'
                      WHERE g.cluster = t.cluster AND g.role = 'global' AND x->'facts' <> 'null' LIMIT 1);
            shard_job := medup.global_running_for(glob, s.data_version);
        END IF;
        RETURN QUERY SELECT t.target, t.cluster, t.role, true,
                            CASE WHEN shard_job IS NOT NULL AND s.state IN ('pending', 'up_to_date')
                                 THEN 'migrating' ELSE s.state END,
                            s.schema_version, s.data_version,
                            coalesce(s.running_migration, shard_job), s.failed_migration,
                            s.next_step, s.server_version_range,
                            CASE WHEN shard_job IS NOT NULL
                                 THEN format('Running, shard not named: a job for post-deploy migration v%s runs in the global database of cluster "%s", and Medplum''s job does not say which shard it migrates; this shard has completed v%s. Wait until the global database''s job completes and this shard''s data version moves, then check again.',
                                             shard_job, t.cluster, s.data_version)
                                 ELSE s.advice END,
                            NULL::text, NULL::text, t.elapsed;
    END LOOP;
END
$$;
COMMENT ON FUNCTION medup.read_fleet(text) IS 'The rows of medup.fleet.';

CREATE VIEW medup.fleet AS SELECT * FROM medup.read_fleet();
COMMENT ON VIEW medup.fleet IS
    'Every target, read concurrently: its state, versions, running and failed migration, next step and server range, or why it could not be read';

/*
 * medup.fleet_check(version, cluster): check() on every target of the
 * cluster (every target when NULL), read concurrently; one row per target
 * that refuses, with the first failing error rule, and one per target that
 * passes (ok).  An unreadable target refuses with its error: nobody can
 * prove it safe.
 */
CREATE FUNCTION medup.fleet_check(version text, cluster text DEFAULT NULL)
RETURNS TABLE (target text, ok boolean, rule text, code text, message text, detail text, hint text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    t     record;
    fail  record;
    names text[];
BEGIN
    -- This database, unless it only monitors others (as in read_fleet()).
    IF fleet_check.cluster IS NULL
       AND (NOT EXISTS (SELECT FROM medup.target)
            OR (SELECT st.state FROM medup.status() st) <> 'not_medplum') THEN
        SELECT * INTO fail FROM medup.check(fleet_check.version) c
         WHERE NOT c.ok AND c.severity = 'error' LIMIT 1;
        RETURN QUERY SELECT current_database()::text, fail.rule IS NULL, fail.rule, fail.code,
                            fail.message, fail.detail, fail.hint;
    END IF;
    names := ARRAY(SELECT g.name FROM medup.target g
                    WHERE fleet_check.cluster IS NULL OR g.cluster = fleet_check.cluster ORDER BY g.name);
    IF fleet_check.cluster IS NOT NULL AND cardinality(names) = 0 THEN
        RAISE EXCEPTION 'cluster "%" has no targets', fleet_check.cluster
            USING ERRCODE = 'undefined_object', HINT = 'SELECT name, cluster FROM medup.targets lists them.';
    END IF;
    FOR t IN SELECT * FROM medup.read_targets(names, 'row') LOOP
        IF t.facts IS NULL THEN
            RETURN QUERY SELECT t.target, false, 'target_readable'::text, t.error_code,
                                t.error, t.error_detail, t.error_hint;
            CONTINUE;
        END IF;
        PERFORM medup.snapshot_set(t.facts);
        fail := NULL;
        SELECT * INTO fail FROM medup.check(fleet_check.version) c
         WHERE NOT c.ok AND c.severity = 'error' LIMIT 1;
        PERFORM medup.snapshot_set(NULL);
        RETURN QUERY SELECT t.target, fail.rule IS NULL, fail.rule, fail.code,
                            fail.message, fail.detail, fail.hint;
    END LOOP;
END
$$;
COMMENT ON FUNCTION medup.fleet_check(text,text) IS 'Each target''s first refusal of a version.';

/*
 * medup.fleet_gate(version, cluster): 'safe to deploy X on N targets', or
 * an error naming every target that refuses and why (SQLSTATE: the first
 * refusing target's).
 */
CREATE FUNCTION medup.fleet_gate(version text, cluster text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    refusals text;
    first    record;
    total    integer;
    refusing integer;
    answers  jsonb[];
BEGIN
    answers := ARRAY(SELECT to_jsonb(c) FROM medup.fleet_check(version, cluster) c);
    SELECT count(*), count(*) FILTER (WHERE NOT c.ok),
           string_agg(format('%s (%s, %s): %s', c.target, c.rule, c.code, c.message), '; '
                      ORDER BY c.target) FILTER (WHERE NOT c.ok)
      INTO total, refusing, refusals
      FROM unnest(answers) a, jsonb_to_record(a) AS c(target text, ok boolean, rule text, code text, message text);
    IF refusals IS NOT NULL THEN
        SELECT c.* INTO first
          FROM unnest(answers) a,
               jsonb_to_record(a) AS c(target text, ok boolean, rule text, code text, message text, detail text, hint text)
         WHERE NOT c.ok ORDER BY c.target LIMIT 1;
        RAISE EXCEPTION 'cannot deploy % to % of % targets%: %', version, refusing, total,
                        CASE WHEN cluster IS NOT NULL THEN format(' of cluster "%s"', cluster) ELSE '' END, refusals
            USING ERRCODE = first.code,
                  DETAIL = format('First refusal, target "%s": %s', first.target, coalesce(first.detail, first.message)),
                  HINT = coalesce(first.hint, 'Run medup.fleet_check() for every target''s answer.');
    END IF;
    RETURN format('safe to deploy %s on %s target%s%s', version, total,
                  CASE WHEN total = 1 THEN '' ELSE 's' END,
                  CASE WHEN cluster IS NOT NULL THEN format(' of cluster "%s"', cluster) ELSE '' END);
END
$$;
COMMENT ON FUNCTION medup.fleet_gate(text,text) IS 'Raises when any target refuses a version; else says it is safe on all.';
