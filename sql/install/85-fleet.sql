------------------------------------------------------------------------
-- The fleet: every target at once
--
-- The remote targets are read concurrently (read_targets(), 47-targets.sql),
-- each bounded by medup.target_timeout; then each answer is decided on its
-- snapshot by the same status() and check() as this database's.  A target
-- that cannot be read is a row with its error, never a failed fleet.
------------------------------------------------------------------------

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
    c      record;
    names  text[];
    read   jsonb[];
    began  timestamptz;
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
        -- A shard is decided with its cluster's global database (48-shards.sql).
        SELECT * INTO c FROM medup.target_answer_facts(t.target, t.facts, read);
        PERFORM medup.snapshot_set(c.answer_facts);
        SELECT * INTO s FROM medup.status();
        PERFORM medup.snapshot_set(NULL);
        IF c.error_code IS NOT NULL THEN
            -- The shard answered, its jobs could not be read: its own
            -- versions and range, and why its state is unknown.
            RETURN QUERY SELECT t.target, t.cluster, t.role, true, 'unreadable'::text,
                                s.schema_version, s.data_version, NULL::integer, NULL::integer,
                                s.next_step, s.server_version_range,
                                concat_ws(' ', c.error, c.error_hint), c.error_code, c.error, t.elapsed;
            CONTINUE;
        END IF;
        RETURN QUERY SELECT t.target, t.cluster, t.role, true, s.state,
                            s.schema_version, s.data_version, s.running_migration, s.failed_migration,
                            s.next_step, s.server_version_range, s.advice,
                            NULL::text, NULL::text, t.elapsed;
    END LOOP;
END
$$;
COMMENT ON FUNCTION medup.read_fleet(text) IS 'The rows of medup.fleet.';

/*
 * Beside each target's answer, how the background worker keeps up with it:
 * its last sample that reached it (as status() says), and whether the
 * database that samples it (this one: remote targets are sampled by this
 * database's sampler) is late now, as medup.sampling says: late within the
 * naptimes the launcher still counts as a shortage of samplers or worker
 * slots (it logs its start and end once, src/worker.c).  NULL when the
 * worker does not watch this database.
 */
CREATE VIEW medup.fleet AS
    SELECT f.*, medup.last_sample_at(f.name) AS last_sample_at,
           (SELECT w.late_now FROM medup.read_sampling() w
             WHERE w.database_name = current_database()) AS sampling_late
      FROM medup.read_fleet() f;
COMMENT ON VIEW medup.fleet IS
    'Every target, read concurrently: its state, versions, running and failed migration, next step and server range, or why it could not be read; its last sample, and whether its sampling runs late';

/*
 * A cluster's server_version_range: the intersection of its targets'
 * ranges (a Medplum server opens the global database and every shard),
 * empty when they disagree, and which target bounds each end.
 */
CREATE FUNCTION medup.range_bounds(targets text[], ranges medup.version_range[],
                                   OUT server_version_range medup.version_range,
                                   OUT range_low medup.version, OUT range_high medup.version,
                                   OUT low_bound_by text, OUT high_bound_by text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
    WITH r AS (SELECT u.t, u.g FROM unnest(targets, ranges) AS u(t, g))
    SELECT (SELECT range_intersect_agg(r.g) FROM r),
           (SELECT max(lower(r.g)) FROM r), (SELECT min(upper(r.g)) FROM r),
           (SELECT r.t FROM r WHERE lower(r.g) IS NOT NULL ORDER BY lower(r.g) DESC, r.t LIMIT 1),
           (SELECT r.t FROM r WHERE upper(r.g) IS NOT NULL ORDER BY upper(r.g), r.t LIMIT 1)
$$;
COMMENT ON FUNCTION medup.range_bounds(text[],medup.version_range[]) IS 'The intersection of targets'' server version ranges, its ends and the targets that set them.';

/*
 * One row per cluster of the registered targets (all, or the one named):
 * its targets, whether all were read, the intersection of their
 * server_version_range and the targets that bound it.  Read concurrently,
 * decided as medup.fleet decides (a shard with its global database).
 */
CREATE FUNCTION medup.read_clusters(of_cluster text DEFAULT NULL)
RETURNS TABLE (cluster text, targets text[], unreadable text[], reachable boolean,
               server_version_range medup.version_range, range_low medup.version,
               range_high medup.version, low_bound_by text, high_bound_by text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    answers jsonb[];
BEGIN
    answers := ARRAY(SELECT to_jsonb(f) FROM medup.read_fleet(read_clusters.of_cluster) f WHERE f.cluster IS NOT NULL);
    RETURN QUERY
    WITH f AS (SELECT x.* FROM unnest(answers) a,
                      jsonb_to_record(a) AS x(name text, cluster text, server_version_range medup.version_range,
                                              error_code text)),
         g AS (SELECT f.cluster, array_agg(f.name ORDER BY f.name) AS targets,
                      coalesce(array_agg(f.name ORDER BY f.name) FILTER (WHERE f.error_code IS NOT NULL), '{}') AS unreadable,
                      bool_and(f.server_version_range IS NOT NULL) AS complete,
                      array_agg(f.name ORDER BY f.name) FILTER (WHERE f.server_version_range IS NOT NULL) AS named,
                      array_agg(f.server_version_range ORDER BY f.name) FILTER (WHERE f.server_version_range IS NOT NULL) AS ranges
                 FROM f GROUP BY f.cluster)
    SELECT g.cluster, g.targets, g.unreadable, cardinality(g.unreadable) = 0,
           CASE WHEN g.complete THEN b.server_version_range END,
           b.range_low, b.range_high, b.low_bound_by, b.high_bound_by
      FROM g, LATERAL medup.range_bounds(g.named, g.ranges) b
     ORDER BY g.cluster;
END
$$;
COMMENT ON FUNCTION medup.read_clusters(text) IS 'The rows of medup.clusters.';

CREATE VIEW medup.clusters AS SELECT * FROM medup.read_clusters();
COMMENT ON VIEW medup.clusters IS
    'Every cluster of registered targets (a global database and its shards): whether all were read, and the server versions that can run on all of them (empty when they disagree), with the target that bounds each end';

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
    t       record;
    c       record;
    b       record;
    fail    record;
    names   text[];
    answers jsonb[];
    ranged  jsonb[] := '{}';   -- each clustered target's server_version_range
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
    answers := ARRAY(SELECT to_jsonb(r) FROM medup.read_targets(names, 'row') r);
    FOR t IN SELECT x.*, g.cluster AS target_cluster
               FROM unnest(answers) a,
                    jsonb_to_record(a) AS x(target text, facts jsonb, error_code text, error text,
                                            error_detail text, error_hint text)
               JOIN medup.target g ON g.name = x.target LOOP
        IF t.facts IS NULL THEN
            RETURN QUERY SELECT t.target, false, 'target_readable'::text, t.error_code,
                                t.error, t.error_detail, t.error_hint;
            CONTINUE;
        END IF;
        -- A shard is decided with its cluster's global database (48-shards.sql).
        SELECT * INTO c FROM medup.target_answer_facts(t.target, t.facts, answers);
        IF c.error_code IS NOT NULL THEN
            RETURN QUERY SELECT t.target, false, 'target_readable'::text, c.error_code,
                                c.error, c.error_detail, c.error_hint;
            CONTINUE;
        END IF;
        PERFORM medup.snapshot_set(c.answer_facts);
        fail := NULL;
        SELECT * INTO fail FROM medup.check(fleet_check.version) ch
         WHERE NOT ch.ok AND ch.severity = 'error' LIMIT 1;
        IF t.target_cluster IS NOT NULL THEN
            ranged := ranged || jsonb_build_object('cluster', t.target_cluster, 'target', t.target,
                                                   'range', (SELECT st.server_version_range FROM medup.status() st));
        END IF;
        PERFORM medup.snapshot_set(NULL);
        RETURN QUERY SELECT t.target, fail.rule IS NULL, fail.rule, fail.code,
                            fail.message, fail.detail, fail.hint;
    END LOOP;
    -- A cluster whose targets share no server version: no Medplum server
    -- can start on all of them, whatever the version deployed.
    FOR b IN SELECT x.cluster, r.*,
                    string_agg(format('%s %s', x.target, x.range), ', ' ORDER BY x.target) AS listed
               FROM (SELECT y.* FROM unnest(ranged) a,
                            jsonb_to_record(a) AS y(cluster text, target text, range medup.version_range)) x,
                    LATERAL (SELECT * FROM medup.range_bounds(
                                 ARRAY(SELECT z->>'target' FROM unnest(ranged) z WHERE z->>'cluster' = x.cluster AND z->>'range' IS NOT NULL),
                                 ARRAY(SELECT (z->>'range')::medup.version_range FROM unnest(ranged) z
                                        WHERE z->>'cluster' = x.cluster AND z->>'range' IS NOT NULL))) r
              GROUP BY x.cluster, r.server_version_range, r.range_low, r.range_high, r.low_bound_by, r.high_bound_by
             HAVING isempty(r.server_version_range)
              ORDER BY x.cluster LOOP
        RETURN QUERY SELECT format('cluster %s', b.cluster), false, 'cluster_range'::text, '55000'::text,
            format('the targets of cluster "%s" share no server version', b.cluster),
            format('Target "%s" was reached by a server at %s or later, and target "%s" refuses a server at %s or later: no Medplum server can start on both, and a Medplum server opens the global database and every shard. Ranges: %s.',
                   b.low_bound_by, b.range_low, b.high_bound_by, b.range_high, b.listed),
            format('Bring target "%s" forward first (SELECT * FROM medup.status(%L) says what it waits for), or find out why target "%s" is ahead (a backup restored into it, a shard with database.runMigrations = false). SELECT * FROM medup.clusters; shows each cluster''s bounds.',
                   b.high_bound_by, b.high_bound_by, b.low_bound_by);
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
    -- Targets first, then the clusters whose targets share no version.
    SELECT count(*) FILTER (WHERE c.rule IS DISTINCT FROM 'cluster_range'),
           count(*) FILTER (WHERE NOT c.ok AND c.rule IS DISTINCT FROM 'cluster_range'),
           string_agg(format('%s (%s, %s): %s', c.target, c.rule, c.code, c.message), '; '
                      ORDER BY c.rule = 'cluster_range', c.target) FILTER (WHERE NOT c.ok)
      INTO total, refusing, refusals
      FROM unnest(answers) a, jsonb_to_record(a) AS c(target text, ok boolean, rule text, code text, message text);
    IF refusals IS NOT NULL THEN
        SELECT c.* INTO first
          FROM unnest(answers) a,
               jsonb_to_record(a) AS c(target text, ok boolean, rule text, code text, message text, detail text, hint text)
         WHERE NOT c.ok ORDER BY c.rule = 'cluster_range', c.target LIMIT 1;
        RAISE EXCEPTION 'cannot deploy % to % targets%: %', version,
                        CASE WHEN refusing > 0 THEN format('%s of %s', refusing, total) ELSE format('the %s', total) END,
                        CASE WHEN cluster IS NOT NULL THEN format(' of cluster "%s"', cluster) ELSE '' END, refusals
            USING ERRCODE = first.code,
                  DETAIL = format('First refusal, %s: %s',
                                  CASE WHEN first.rule = 'cluster_range' THEN first.target
                                       ELSE format('target "%s"', first.target) END,
                                  coalesce(first.detail, first.message)),
                  HINT = coalesce(first.hint, 'Run medup.fleet_check() for every target''s answer.');
    END IF;
    RETURN format('safe to deploy %s on %s target%s%s', version, total,
                  CASE WHEN total = 1 THEN '' ELSE 's' END,
                  CASE WHEN cluster IS NOT NULL THEN format(' of cluster "%s"', cluster) ELSE '' END);
END
$$;
COMMENT ON FUNCTION medup.fleet_gate(text,text) IS 'Raises when any target refuses a version; else says it is safe on all.';
