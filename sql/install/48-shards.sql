------------------------------------------------------------------------
-- Sharded Medplum: a shard's jobs are in its cluster's global database
--
-- Medplum keeps every system AsyncJob of a sharded deployment, the
-- data-migration jobs included, in the global database, while each shard
-- has its own "DatabaseMigration" row (its own dataVersion and start-up
-- check).  Which shard a job migrates is in the job queue's data only
-- (its target, {kind: 'shard', shardId}, in Redis); the AsyncJob row
-- carries no shard (Medplum's packages/server/src/workers/base.ts and
-- migrations/data/types.ts: "The job's work target is intentionally
-- unrelated to the AsyncJob's location").  So a job running in the global
-- database for a migration a shard has not completed is "running, shard
-- not named" for that shard: medup never guesses which shard it is.
--
-- A shard's answer is its own facts plus, under the key 'shard' of its
-- snapshot, what the global database says about it; status() decides on
-- both (50-status.sql), and so status(), check(), gate(), medup.fleet and
-- fleet_check() answer for a shard the same way.
------------------------------------------------------------------------

/* The global target of a cluster, or NULL. */
CREATE FUNCTION medup.cluster_global(cluster text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.name FROM medup.target t WHERE t.cluster = cluster_global.cluster AND t.role = 'global'
     ORDER BY t.name LIMIT 1
$$;
COMMENT ON FUNCTION medup.cluster_global(text) IS 'The global target of a cluster, or NULL.';

/*
 * A shard's facts with its cluster's global facts folded in: the lowest
 * migration after the shard's data version that has a job running in the
 * global database, and that job.  global_facts: the global target's
 * snapshot (its open jobs).
 */
CREATE FUNCTION medup.shard_snapshot(shard_facts jsonb, cluster text, global_name text, global_facts jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    shard_version integer := (shard_facts->'row'->>'data_version')::integer;
    running medup.job;
BEGIN
    IF shard_version IS NOT NULL THEN
        PERFORM medup.snapshot_set(global_facts);
        BEGIN
            SELECT * INTO running FROM medup.snapshot_jobs(true, NULL) j
             WHERE j.status IN ('accepted', 'active') AND j.data_version > shard_version
             ORDER BY j.data_version, j.requested_at DESC NULLS LAST, j.last_updated DESC LIMIT 1;
        EXCEPTION WHEN OTHERS THEN
            PERFORM medup.snapshot_set(NULL);
            RAISE;
        END;
        PERFORM medup.snapshot_set(NULL);
    END IF;
    RETURN shard_facts || jsonb_build_object('shard', jsonb_build_object(
        'cluster', cluster, 'global', global_name,
        'running', running.data_version, 'job_id', running.job_id,
        'requested_at', running.requested_at, 'updated_at', running.last_updated));
END
$$;
COMMENT ON FUNCTION medup.shard_snapshot(jsonb,text,text,jsonb) IS 'A shard''s facts with the job running in its global database for a migration it has not completed.';

/*
 * What a target's answer is decided on: its facts as read, or for a
 * shard, with its cluster's global facts folded in.  answers: what
 * read_targets() gave, as jsonb rows, the global target's among them.
 * A shard whose cluster has no global target (55000), or whose global
 * target could not be read (its error), gets that error instead.
 */
CREATE FUNCTION medup.target_answer_facts(target text, facts jsonb, answers jsonb[],
                                          OUT answer_facts jsonb, OUT error_code text, OUT error text,
                                          OUT error_detail text, OUT error_hint text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    t      record;
    global text;
    g      jsonb;
    why    text := 'Medplum keeps the data-migration jobs of every shard in the global database of its cluster, and the shard''s "dataVersion" in the shard: without the global database medup cannot tell whether a migration runs for this shard.';
BEGIN
    answer_facts := facts;
    SELECT * INTO t FROM medup.target x WHERE x.name = target_answer_facts.target;
    IF facts IS NULL OR t.role IS DISTINCT FROM 'shard' THEN
        RETURN;
    END IF;
    global := medup.cluster_global(t.cluster);
    IF global IS NULL THEN
        error_code := '55000';
        error := format('cluster "%s" of shard "%s" has no global target', t.cluster, t.name);
        error_detail := why;
        error_hint := format('Register the cluster''s global database: SELECT medup.add_target(''%s-global'', ''server'', cluster => %L, role => ''global'');',
                             t.cluster, t.cluster);
        RETURN;
    END IF;
    SELECT a INTO g FROM unnest(answers) a WHERE a->>'target' = global LIMIT 1;
    IF g IS NULL OR g->'facts' IS NULL OR g->'facts' = 'null' THEN
        error_code := coalesce(g->>'error_code', '55000');
        error := format('the global database of cluster "%s", target "%s", could not be read: %s',
                        t.cluster, global, coalesce(g->>'error', 'it was not read'));
        error_detail := why;
        error_hint := coalesce(g->>'error_hint',
                               format('See SELECT name, error FROM medup.fleet WHERE cluster = %L;', t.cluster));
        RETURN;
    END IF;
    answer_facts := medup.shard_snapshot(facts, t.cluster, global, g->'facts');
END
$$;
COMMENT ON FUNCTION medup.target_answer_facts(text,jsonb,jsonb[]) IS 'The facts a target''s answer is decided on (a shard''s with its global database''s), or why a shard''s jobs cannot be read.';

/* The advice for a shard behind a job running in its global database. */
CREATE FUNCTION medup.shard_running_advice(running integer, cluster text, global text, data_version integer)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN format('Running, shard not named: a job for post-deploy migration v%s runs in the global database of cluster "%s" (target "%s"), and Medplum''s job does not say which shard it migrates; this shard has completed v%s. Wait until the global database''s job completes and this shard''s data version moves, then check again.',
                  running, cluster, global, data_version);
END
$$;
COMMENT ON FUNCTION medup.shard_running_advice(integer,text,text,integer) IS 'The advice for a shard behind a job running in its global database: running, shard not named.';

/*
 * The note for a global database's own job: Medplum's data-migration job
 * does not say which database of the cluster it migrates, so a job the
 * global target takes as its own (the next migration after its data
 * version) may be a shard's at the same data version.  NULL unless target
 * is a global target with shards registered.
 */
CREATE FUNCTION medup.global_job_advice(target text, migration integer)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('Shard not named: Medplum''s job for post-deploy migration v%s does not say which database of cluster "%s" it migrates; medup takes it as this global database''s own, but it may be the job of shard %s. SELECT name, state, data_version FROM medup.fleet WHERE cluster = %L; shows which databases have not completed v%s.',
                  migration, g.cluster, string_agg(format('"%s"', s.name), ', ' ORDER BY s.name), g.cluster, migration)
      FROM medup.target g JOIN medup.target s ON s.cluster = g.cluster AND s.role = 'shard'
     WHERE g.name = global_job_advice.target AND g.role = 'global'
     GROUP BY g.cluster
$$;
COMMENT ON FUNCTION medup.global_job_advice(text,integer) IS 'The note for a global database''s running or failed job: it may be a shard''s, since the job does not name its database.';
