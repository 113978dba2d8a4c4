------------------------------------------------------------------------
-- Targets: the Medplum databases medup answers for
--
-- The local database is a target with no registration (its name is the
-- database's).  A remote one (Aurora, RDS, Cloud SQL, another cluster) is
-- reached through a foreign server and its user mapping, so credentials
-- stay where PostgreSQL keeps them: medup stores the server's name only.
--
-- Reading and deciding are split.  Reading a remote target is one
-- snapshot of its facts, read over dblink in two round trips (the shape
-- of its tables and the login's rights, then the facts in one query);
-- the readers of 40-inspect.sql return what the snapshot holds while it
-- is set (src/target.c), and status(), check(), gate() and the views
-- decide on it exactly as on the local database.  The remote sends rows
-- only: nothing it sends is run here, job texts go through parse_job()'s
-- limits, and every row is labelled with the target it was read from.
--
-- dblink is loaded lazily: medup does not require it, and a database
-- without remote targets never touches it.
------------------------------------------------------------------------

-- STATE: kept by update scripts; a change here needs a step in sql/updates/
CREATE TABLE medup.target (
    name           text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$'),
    server_name    name NOT NULL,
    cluster        text CHECK (cluster ~ '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$'),
    role           text NOT NULL DEFAULT 'standalone' CHECK (role IN ('standalone', 'global', 'shard')),
    medplum_schema text NOT NULL DEFAULT 'public',
    added_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (role = 'standalone' OR cluster IS NOT NULL)
);
COMMENT ON TABLE medup.target IS
    'Remote Medplum databases medup answers for, each through a foreign server (credentials stay in its user mapping)';
SELECT pg_catalog.pg_extension_config_dump('medup.target', '');
-- END STATE

/* The remote facts held for the answer being computed (src/target.c). */
CREATE FUNCTION medup.snapshot_set(facts jsonb) RETURNS void
    AS 'MODULE_PATHNAME', 'medup_snapshot_set' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION medup.snapshot_set(jsonb) IS 'Holds a remote target''s facts for the answer being computed (src/target.c).';
CREATE FUNCTION medup.snapshot() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'medup_snapshot' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION medup.snapshot() IS 'The remote facts held for the answer being computed.';
CREATE FUNCTION medup.remote_active() RETURNS boolean
    AS 'MODULE_PATHNAME', 'medup_remote_active' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION medup.remote_active() IS 'Whether the answer being computed is a remote target''s.';

/* The target whose answer is being computed: a remote one's name, or this database's. */
CREATE FUNCTION medup.target_key()
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF medup.remote_active() THEN
        RETURN medup.snapshot()->>'target';
    END IF;
    RETURN current_database()::text;
END
$$;
COMMENT ON FUNCTION medup.target_key() IS 'The target whose answer is being computed.';

/* Whether a target name means this database (NULL does). */
CREATE FUNCTION medup.is_local_target(target text)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN target IS NULL OR target = current_database()::text;
END
$$;
COMMENT ON FUNCTION medup.is_local_target(text) IS 'Whether a target name means this database.';

/*
 * The schema of the dblink extension, which must be installed in this
 * database to reach a remote target, and in a schema only superusers
 * control: medup calls its functions as a superuser.
 */
CREATE FUNCTION medup.dblink_schema()
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    schema_name text;
    schema_oid  oid;
    intruder    text;
BEGIN
    SELECT n.nspname, n.oid INTO schema_name, schema_oid
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'dblink';
    IF schema_name IS NULL THEN
        RAISE EXCEPTION 'remote targets need the dblink extension in this database'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'medup reads remote Medplum databases with dblink, which ships with PostgreSQL (on Debian in the postgresql-15 package).',
                  HINT = 'As a superuser: CREATE EXTENSION dblink;';
    END IF;
    -- Predefined roles (pg_*) cannot log in; their members are roles of
    -- their own and are checked as such.
    SELECT r.rolname INTO intruder FROM pg_roles r
     WHERE NOT r.rolsuper AND r.rolname !~ '^pg_'
       AND (has_schema_privilege(r.oid, schema_oid, 'USAGE')
            OR has_schema_privilege(r.oid, schema_oid, 'CREATE')
            OR r.oid = (SELECT n.nspowner FROM pg_namespace n WHERE n.oid = schema_oid))
     ORDER BY r.rolname LIMIT 1;
    IF intruder IS NOT NULL THEN
        RAISE EXCEPTION 'dblink is installed in schema "%", which role "%" may use', schema_name, intruder
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'medup keeps its connections to remote targets open while it reads them and calls dblink as a superuser: a role that may use dblink''s schema could send its own statements on them, or put its own functions in dblink''s place.',
                  HINT = 'Install dblink in a schema of its own that only superusers use: CREATE SCHEMA medup_dblink; ALTER EXTENSION dblink SET SCHEMA medup_dblink; (a new schema grants nothing to PUBLIC).';
    END IF;
    RETURN schema_name;
END
$$;
COMMENT ON FUNCTION medup.dblink_schema() IS 'The schema of the dblink extension, refused when other roles may use it (42501).';

/* A foreign server's option, or NULL (host, port, dbname, connect_timeout: never credentials). */
CREATE FUNCTION medup.server_option(server_name name, option_name text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT substr(o, length(option_name) + 2)
      FROM pg_foreign_server s, unnest(s.srvoptions) o
     WHERE s.srvname = server_name AND o LIKE option_name || '=%'
$$;
COMMENT ON FUNCTION medup.server_option(name,text) IS 'A foreign server''s option (never credentials).';

/*
 * Register a remote Medplum database.  server: a foreign server (CREATE
 * SERVER ... FOREIGN DATA WRAPPER dblink_fdw or postgres_fdw OPTIONS (host,
 * port, dbname, connect_timeout)) with a user mapping for medup's owner;
 * cluster and role place it in a sharded deployment (global database and
 * shards).  Nothing is read from the server here: medup.fleet shows
 * whether it answers.
 */
CREATE FUNCTION medup.add_target(name text, server name, cluster text DEFAULT NULL,
                                 role text DEFAULT 'standalone', medplum_schema text DEFAULT 'public')
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    owner_name name := (SELECT e.extowner::regrole::text FROM pg_extension e WHERE e.extname = 'medup');
    srv        oid := (SELECT s.oid FROM pg_foreign_server s WHERE s.srvname = server);
BEGIN
    IF name IS NULL OR name !~ '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid target name: %', coalesce(quote_literal(name), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A target name is 1 to 63 letters, digits, underscores, dots or dashes, starting with a letter, digit or underscore.',
                  HINT = 'Name it after the environment or shard, for example ''prod'' or ''prod-shard1''.';
    ELSIF name = current_database()::text THEN
        RAISE EXCEPTION 'target "%" is this database', name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'This database is a target without registration, under its own name.',
                  HINT = 'Give the remote target another name.';
    ELSIF role IS NULL OR role NOT IN ('standalone', 'global', 'shard') THEN
        RAISE EXCEPTION 'invalid target role: %', coalesce(quote_literal(role), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A target is ''standalone'', or the ''global'' database or a ''shard'' of a sharded Medplum.',
                  HINT = 'Pass role => ''standalone'', ''global'' or ''shard''.';
    ELSIF role <> 'standalone' AND cluster IS NULL THEN
        RAISE EXCEPTION 'a % target needs a cluster', role
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A shard reads its data-migration jobs from the global database of its cluster.',
                  HINT = 'Pass cluster => ''name'' for the global database and each of its shards.';
    ELSIF role = 'global' AND medup.cluster_global(cluster) IS NOT NULL THEN
        RAISE EXCEPTION 'cluster "%" has a global target already: "%"', cluster, medup.cluster_global(cluster)
            USING ERRCODE = 'duplicate_object',
                  DETAIL = 'A sharded Medplum has one global database, which holds the data-migration jobs of every shard.',
                  HINT = 'Drop that target first with medup.drop_target(), or register this database with role => ''shard''.';
    ELSIF srv IS NULL THEN
        RAISE EXCEPTION 'foreign server "%" does not exist', server
            USING ERRCODE = 'undefined_object',
                  HINT = 'CREATE SERVER ... FOREIGN DATA WRAPPER dblink_fdw OPTIONS (host ''...'', port ''5432'', dbname ''medplum'', connect_timeout ''3''); see the README, "Medplum on Aurora, RDS or Cloud SQL".';
    ELSIF medup.server_option(server, 'connect_timeout') IS NULL THEN
        RAISE EXCEPTION 'foreign server "%" has no connect_timeout', server
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Connecting is the one step medup cannot bound itself: without connect_timeout, an address that does not answer holds the fleet for minutes.',
                  HINT = format('ALTER SERVER %I OPTIONS (ADD connect_timeout ''3'');', server);
    ELSIF NOT EXISTS (SELECT FROM pg_user_mapping m
                       WHERE m.umserver = srv AND m.umuser IN (0, owner_name::regrole)) THEN
        RAISE EXCEPTION 'foreign server "%" has no user mapping for %', server, owner_name
            USING ERRCODE = 'undefined_object',
                  DETAIL = 'medup connects as the role that owns it; the user mapping holds the monitoring login and its password.',
                  HINT = format('CREATE USER MAPPING FOR %I SERVER %I OPTIONS (user ''medup_monitor'', password ''...'');', owner_name, server);
    END IF;
    PERFORM medup.dblink_schema();
    INSERT INTO medup.target (name, server_name, cluster, role, medplum_schema)
    VALUES (add_target.name, server, cluster, role, coalesce(medplum_schema, 'public'));
    RETURN name;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'target "%" already exists', name
        USING ERRCODE = 'duplicate_object', HINT = 'Drop it first with medup.drop_target(), or choose another name.';
END
$$;
COMMENT ON FUNCTION medup.add_target(text,name,text,text,text) IS 'Registers a remote Medplum database (through a dblink or postgres_fdw foreign server) as a target.';

CREATE FUNCTION medup.drop_target(name text)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
BEGIN
    DELETE FROM medup.target t WHERE t.name = drop_target.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'target "%" does not exist', name
            USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM medup.targets lists them.';
    END IF;
    RETURN name;
END
$$;
COMMENT ON FUNCTION medup.drop_target(text) IS 'Removes a remote target.';

/* Every target: this database first, then the registered ones. */
CREATE VIEW medup.targets AS
    SELECT current_database()::text AS name, 'local'::text AS kind, NULL::name AS server_name,
           NULL::text AS cluster, 'standalone'::text AS role,
           medup.medplum_schema() AS medplum_schema,
           NULL::text AS host, NULL::text AS port, current_database()::text AS dbname,
           NULL::timestamptz AS added_at
    UNION ALL
    SELECT t.name, 'remote', t.server_name, t.cluster, t.role, t.medplum_schema,
           medup.server_option(t.server_name, 'host'), medup.server_option(t.server_name, 'port'),
           medup.server_option(t.server_name, 'dbname'), t.added_at
      FROM medup.target t;
COMMENT ON VIEW medup.targets IS
    'The Medplum databases medup answers for: this one, and the remote ones registered with medup.add_target()';

/*
 * The remote SQL.  What the remote runs is plain SQL over PostgreSQL's
 * catalogs and Medplum's two tables, as the monitoring login: nothing of
 * medup needs to be installed there.  Its answers mirror, column for
 * column, the local readers of 40-inspect.sql.
 */

/* Round trip 1: session settings, the tables' shape, the login's rights. */
CREATE FUNCTION medup.remote_shape_sql(medplum_schema text, timeout_ms integer)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT format($q$
SELECT set_config('search_path', 'pg_catalog, pg_temp', false) AS s1,
       set_config('statement_timeout', '%s', false) AS s2,
       set_config('lock_timeout', '200ms', false) AS s3,
       set_config('application_name', 'medup', false) AS s4,
       current_user::text AS login, pg_is_in_recovery() AS in_recovery,
       current_setting('server_version_num')::integer AS server_version_num,
       n.oid IS NOT NULL AS has_schema,
       coalesce(has_schema_privilege(n.oid, 'USAGE'), false) AS schema_usable,
       m.oid IS NOT NULL AS has_migration_table, j.oid IS NOT NULL AS has_job_table,
       coalesce(has_table_privilege(m.oid, 'SELECT'), false) AS migration_readable,
       coalesce(has_table_privilege(j.oid, 'SELECT'), false) AS job_readable,
       pg_has_role('pg_monitor', 'MEMBER') AS monitor,
       EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = j.oid AND a.attname = 'type' AND NOT a.attisdropped) AS job_has_type,
       EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = j.oid AND a.attname = 'status' AND NOT a.attisdropped) AS job_has_status,
       EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = m.oid AND a.attname = 'firstBoot' AND NOT a.attisdropped) AS has_first_boot,
       (SELECT count(*) = 2 AND bool_and(a.atttypid = 'int4'::regtype)
          FROM pg_attribute a WHERE a.attrelid = m.oid AND a.attname IN ('version', 'dataVersion') AND NOT a.attisdropped)
       AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = m.oid AND a.attname = 'firstBoot'
                          AND NOT a.attisdropped AND a.atttypid <> 'bool'::regtype) AS migration_columns_ok
  FROM (SELECT NULL) one
  LEFT JOIN pg_namespace n ON n.nspname = %L
  LEFT JOIN pg_class m ON m.relnamespace = n.oid AND m.relname = 'DatabaseMigration'
  LEFT JOIN pg_class j ON j.relnamespace = n.oid AND j.relname = 'AsyncJob'
$q$, timeout_ms, medplum_schema)
$$;
COMMENT ON FUNCTION medup.remote_shape_sql(text,integer) IS 'The query that reads a remote target''s tables'' shape and the login''s rights.';

/*
 * Round trip 2: the facts, in one query.  with_row: the
 * "DatabaseMigration" row; jobs: 'none', 'row' (the open jobs that may be
 * of the migration after the row's data version, as status() reads
 * them), 'open' (every open job), 'all' (every data-migration job, for
 * the views); for_version: with 'open', the migration they may be of;
 * with_rest: the lock, the sessions, the invalid indexes, the progress.
 * The type and status filters run on the remote, and so does a text
 * filter that keeps every row medup.job_may_be() keeps (it leaves out
 * only a row whose text plainly gives "dataVersion" another integer, and
 * none it cannot judge); medup.job_may_be() then runs here on what came.
 * Job texts over parse_job()'s 1 MB limit are not sent, only their size.
 */
CREATE FUNCTION medup.remote_facts_sql(medplum_schema text, shape jsonb, with_row boolean,
                                       jobs text, for_version integer, with_rest boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    migration_table text := format('%I.%I', medplum_schema, 'DatabaseMigration');
    job_table       text := format('%I.%I', medplum_schema, 'AsyncJob');
    want            text;
    job_filter      text;
    ws              text := '[ \t\n\r]*';
BEGIN
    with_row := with_row AND (shape->>'has_migration_table')::boolean
                AND (shape->>'migration_columns_ok')::boolean;
    IF NOT (shape->>'has_job_table')::boolean THEN
        jobs := 'none';
    END IF;
    want := CASE jobs WHEN 'row' THEN CASE WHEN with_row THEN 'r."dataVersion" + 1' ELSE 'NULL' END
                      ELSE coalesce(for_version::text, 'NULL') END;
    job_filter := concat(
        CASE WHEN (shape->>'job_has_type')::boolean THEN $q$type = 'data-migration'$q$
             ELSE $q$content LIKE '%"data-migration"%'$q$ END,
        CASE WHEN jobs <> 'all' AND (shape->>'job_has_status')::boolean
             THEN $q$ AND status IS DISTINCT FROM 'completed'$q$ END,
        CASE WHEN jobs IN ('row', 'open') THEN format(
            $q$ AND ((%1$s) IS NULL OR content IS NULL OR octet_length(content) > 1048576
                 OR content !~ '"dataVersion"%2$s:%2$s-?[0-9]{1,9}([^0-9.eE]|$)'
                 OR content ~ ('"dataVersion"%2$s:%2$s0*' || (%1$s) || '([^0-9.eE]|$)')
                 OR content ~ '"dataVersion"%2$s:%2$s(?![ \t\n\r]|-?[0-9]{1,9}([^0-9.eE]|$))')$q$,
            want, ws) END);
    RETURN format($q$
SELECT %s AS version, %s AS "dataVersion", %s AS "firstBoot", %s AS jobs,
       %s AS lock_pid, %s AS lock_role, %s AS lock_application, %s AS blockers,
       %s AS connected, %s AS working, %s AS invalid, %s AS progress
  FROM (SELECT NULL) one %s %s
$q$,
        CASE WHEN with_row THEN 'r.version' ELSE 'NULL::integer' END,
        CASE WHEN with_row THEN 'r."dataVersion"' ELSE 'NULL::integer' END,
        CASE WHEN with_row THEN 'r."firstBoot"' ELSE 'NULL::boolean' END,
        CASE WHEN jobs = 'none' THEN 'NULL::json' ELSE format(
            $q$(SELECT coalesce(json_agg(json_build_object('id', j.id,
                      'content', CASE WHEN octet_length(j.content) <= 1048576 THEN j.content END,
                      'lastUpdated', j."lastUpdated", 'size', octet_length(j.content))), '[]')
                  FROM %s j WHERE NOT j.deleted AND %s)$q$, job_table, job_filter) END,
        CASE WHEN with_rest THEN 'lk.pid' ELSE 'NULL::integer' END,
        CASE WHEN with_rest THEN 'la.usename::text' ELSE 'NULL::text' END,
        CASE WHEN with_rest THEN 'la.application_name' ELSE 'NULL::text' END,
        CASE WHEN with_rest THEN format($q$(SELECT array_agg(DISTINCT b ORDER BY b)
              FROM pg_stat_activity a, unnest(pg_blocking_pids(a.pid)) b
             WHERE a.datname = current_database() AND a.application_name = %L
               AND a.wait_event_type = 'Lock')$q$, medup.medplum_application_name()) ELSE 'NULL::integer[]' END,
        CASE WHEN with_rest THEN format($q$EXISTS (SELECT FROM pg_stat_activity a
              WHERE a.datname = current_database() AND a.application_name = %L)$q$,
                                        medup.medplum_application_name())
             ELSE 'NULL::boolean' END,
        CASE WHEN with_rest THEN format($q$EXISTS (SELECT FROM pg_stat_activity a
              WHERE a.datname = current_database() AND a.application_name = %L
                AND a.state = 'active' AND a.wait_event_type IS DISTINCT FROM 'Lock'
                AND (a.query ~* '^\s*(create|drop)\s+(unique\s+)?index|^\s*(reindex|vacuum|analyze|alter|cluster)\y'
                     OR (a.query ~* '^\s*(update|insert|delete|with)\y'
                         AND a.query_start < now() - interval '5 seconds')))$q$,
                                        medup.medplum_application_name())
             ELSE 'NULL::boolean' END,
        CASE WHEN with_rest THEN format($q$(SELECT coalesce(json_agg(json_build_object(
                'table_name', t.relname, 'index_name', c.relname, 'definition', pg_get_indexdef(i.indexrelid),
                'size', pg_relation_size(i.indexrelid),
                'fix', format('REINDEX INDEX CONCURRENTLY %%I.%%I;', n.nspname, c.relname))), '[]')
              FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE NOT i.indisvalid AND n.nspname = %L
               AND NOT EXISTS (SELECT FROM pg_stat_progress_create_index p
                                WHERE p.index_relid = i.indexrelid OR p.relid = i.indrelid))$q$,
                medplum_schema) ELSE 'NULL::json' END,
        CASE WHEN with_rest THEN format($q$(SELECT coalesce(json_agg(json_build_object(
                'pid', w.pid, 'command', w.command, 'phase', w.phase, 'relation', w.relid::regclass::text,
                'index_name', w.index_relid::regclass::text, 'blocks_done', w.blocks_done,
                'blocks_total', w.blocks_total, 'tuples_done', w.tuples_done, 'tuples_total', w.tuples_total,
                'wait_event', s.wait_event_type || ': ' || s.wait_event, 'blocked_by', pg_blocking_pids(w.pid),
                'application_name', s.application_name, 'started_at', s.query_start)), '[]')
              FROM (SELECT p.pid, p.command, p.phase, p.relid, p.index_relid,
                           p.blocks_done, p.blocks_total, p.tuples_done, p.tuples_total
                      FROM pg_stat_progress_create_index p
                     WHERE p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
                    UNION ALL
                    SELECT v.pid, 'VACUUM', v.phase, v.relid, NULL,
                           v.heap_blks_scanned, v.heap_blks_total, NULL, NULL
                      FROM pg_stat_progress_vacuum v
                     WHERE v.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
                    UNION ALL
                    SELECT a.pid, 'ANALYZE', a.phase, a.relid, NULL,
                           a.sample_blks_scanned, a.sample_blks_total, NULL, NULL
                      FROM pg_stat_progress_analyze a
                     WHERE a.datid = (SELECT oid FROM pg_database WHERE datname = current_database())) w
              LEFT JOIN pg_stat_activity s ON s.pid = w.pid
              LEFT JOIN pg_class c ON c.oid = w.relid
              LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = %L)$q$, medplum_schema) ELSE 'NULL::json' END,
        CASE WHEN with_row THEN format($q$LEFT JOIN (SELECT version, "dataVersion", %s AS "firstBoot" FROM %s ORDER BY id LIMIT 1) r ON true$q$,
                                       CASE WHEN (shape->>'has_first_boot')::boolean THEN '"firstBoot"' ELSE 'false' END,
                                       migration_table) ELSE '' END,
        CASE WHEN with_rest THEN $q$LEFT JOIN LATERAL (SELECT l.pid FROM pg_locks l
              WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = 1 AND l.objsubid = 1 AND l.granted
                AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database()) LIMIT 1) lk ON true
            LEFT JOIN LATERAL (SELECT a.usename, a.application_name FROM pg_stat_activity a WHERE a.pid = lk.pid) la ON true$q$
             ELSE '' END);
END
$$;
COMMENT ON FUNCTION medup.remote_facts_sql(text,jsonb,boolean,text,integer,boolean) IS 'The query that reads a remote target''s facts in one round trip.';

/* The column list of the facts query, for dblink_get_result(). */
CREATE FUNCTION medup.remote_facts_columns()
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT 'version integer, "dataVersion" integer, "firstBoot" boolean, jobs json, lock_pid integer,
        lock_role text, lock_application text, blockers integer[], connected boolean, working boolean,
        invalid json, progress json'
$$;
COMMENT ON FUNCTION medup.remote_facts_columns() IS 'The column list of a remote target''s facts query.';

/*
 * After round trip 1: the login's missing rights as an error (42501, with
 * the GRANT to run on the target), or NULL.
 */
CREATE FUNCTION medup.remote_rights_problem(target text, medplum_schema text, shape jsonb,
                                            OUT message text, OUT hint text)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    login text := quote_ident(shape->>'login');
BEGIN
    IF (shape->>'has_schema')::boolean AND NOT (shape->>'schema_usable')::boolean THEN
        message := format('login %s of target "%s" may not use schema "%s"', login, target, medplum_schema);
        hint := format('On the target, as Medplum''s table owner: GRANT USAGE ON SCHEMA %I TO %s;', medplum_schema, login);
    ELSIF (shape->>'has_migration_table')::boolean AND NOT (shape->>'migration_readable')::boolean THEN
        message := format('login %s of target "%s" may not read %I."DatabaseMigration"', login, target, medplum_schema);
        hint := format('On the target, as Medplum''s table owner: GRANT SELECT ON %I."DatabaseMigration" TO %s;', medplum_schema, login);
    ELSIF (shape->>'has_job_table')::boolean AND NOT (shape->>'job_readable')::boolean THEN
        message := format('login %s of target "%s" may not read %I."AsyncJob"', login, target, medplum_schema);
        hint := format('On the target, as Medplum''s table owner: GRANT SELECT ON %I."AsyncJob" TO %s;', medplum_schema, login);
    ELSIF NOT (shape->>'monitor')::boolean THEN
        message := format('login %s of target "%s" is not a member of pg_monitor', login, target);
        hint := format('On the target, as a superuser (on RDS or Aurora, as the master user): GRANT pg_monitor TO %s;', login);
    END IF;
END
$$;
COMMENT ON FUNCTION medup.remote_rights_problem(text,text,jsonb) IS 'The remote login''s missing rights, with the GRANT to run.';

/*
 * The snapshot of one target from the answers of the facts queries: the
 * same fields, and the same problem texts, as the local readers give.
 */
CREATE FUNCTION medup.remote_snapshot(target text, medplum_schema text, shape jsonb,
                                      row_part jsonb, job_part jsonb, rest jsonb,
                                      row_locked boolean, jobs_locked boolean, jobs text,
                                      for_version integer)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    problem text;
BEGIN
    problem := CASE
        WHEN NOT (shape->>'has_migration_table')::boolean THEN 'no "DatabaseMigration" table'
        WHEN NOT (shape->>'migration_columns_ok')::boolean THEN '"DatabaseMigration" lacks the columns medup knows'
        WHEN row_locked THEN '"DatabaseMigration" is locked by another session'
        WHEN row_part->>'version' IS NULL THEN '"DatabaseMigration" is empty' END;
    RETURN jsonb_build_object(
        'target', target, 'schema', medplum_schema,
        'in_recovery', (shape->>'in_recovery')::boolean,
        'server_version_num', (shape->>'server_version_num')::integer,
        'row', jsonb_build_object('schema_version', row_part->'version',
                                  'data_version', row_part->'dataVersion',
                                  'first_boot', row_part->'firstBoot',
                                  'problem', problem, 'locked', row_locked),
        'has_job_table', (shape->>'has_job_table')::boolean,
        'jobs', coalesce(job_part->'jobs', '[]'), 'jobs_scope', jobs,
        'jobs_for_version', CASE WHEN jobs = 'row' THEN to_jsonb((row_part->>'dataVersion')::integer + 1)
                                 ELSE to_jsonb(for_version) END,
        'jobs_locked', jobs_locked,
        'lock_pid', rest->'lock_pid', 'lock_role', rest->'lock_role',
        'lock_application', rest->'lock_application', 'blockers', rest->'blockers',
        'connected', rest->'connected', 'working', rest->'working',
        'invalid', coalesce(rest->'invalid', '[]'), 'progress', coalesce(rest->'progress', '[]'));
END
$$;
COMMENT ON FUNCTION medup.remote_snapshot(text,text,jsonb,jsonb,jsonb,jsonb,boolean,boolean,text,integer) IS 'One remote target''s facts, as the local readers give them.';

/*
 * Read the facts of remote targets, concurrently: each target gets its
 * own connection (dblink, through its foreign server and the user mapping
 * of medup's owner), its queries are sent without waiting, and all are
 * polled until each has answered or its medup.target_timeout has passed
 * (superuser-only; also the remote statement_timeout).  Connecting is
 * the one blocking step, bounded by the server's connect_timeout.  One
 * row per target, in the order given: its snapshot, or the error that
 * kept it from being read (a target that does not answer in time is
 * 08006).  jobs: 'row' (what status() reads) or 'all' (the views).
 */
CREATE FUNCTION medup.read_targets(names text[], jobs text DEFAULT 'row')
RETURNS TABLE (target text, facts jsonb, error_code text, error text, error_detail text,
               error_hint text, elapsed interval)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    ds         text := medup.dblink_schema();
    timeout    interval := medup.setting_interval('medup.target_timeout');
    n          integer := coalesce(cardinality(names), 0);
    t          record;
    conn       text[];
    phase      text[];          -- shape, facts, row, rest, jobs; done, failed
    tschema    text[];
    shape      jsonb[];
    row_part   jsonb[];
    job_part   jsonb[];
    rest       jsonb[];
    row_locked boolean[];
    jobs_locked boolean[];
    job_scope  text[];
    started    timestamptz[];
    finished   timestamptz[];
    codes      text[];
    msgs       text[];
    details    text[];
    hints      text[];
    i          integer;
    next_i     integer;
    busy       integer;
    pending    integer;
    got        jsonb;
    rights     record;
    e_code     text;
    e_msg      text;
    e_detail   text;
    e_hint     text;
BEGIN
    -- Connections a cancelled earlier call left open in this session.
    FOR t IN EXECUTE format('SELECT c FROM unnest(%I.dblink_get_connections()) c WHERE c LIKE ''medup\_target\_%%''', ds) LOOP
        EXECUTE format('SELECT %I.dblink_disconnect($1)', ds) USING t.c;
    END LOOP;
    FOR i IN 1 .. n LOOP
        phase[i] := 'waiting';
    END LOOP;
    next_i := 1;
    LOOP
        -- Connect the next target (dblink connects synchronously), then
        -- look at those already asked: answers are taken while the next
        -- targets connect, so each target's time runs from its own start.
        IF next_i <= n THEN
            i := next_i;
            next_i := next_i + 1;
            conn[i] := 'medup_target_' || i;
            started[i] := clock_timestamp();
            row_locked[i] := false;
            jobs_locked[i] := false;
            job_scope[i] := jobs;
            BEGIN
                SELECT * INTO t FROM medup.target g WHERE g.name = names[i];
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'target "%" does not exist', names[i]
                        USING ERRCODE = 'undefined_object', HINT = 'SELECT name FROM medup.targets lists them.';
                ELSIF medup.server_option(t.server_name, 'connect_timeout') IS NULL THEN
                    RAISE EXCEPTION 'foreign server "%" of target "%" has no connect_timeout', t.server_name, t.name
                        USING ERRCODE = 'invalid_parameter_value',
                              HINT = format('ALTER SERVER %I OPTIONS (ADD connect_timeout ''3'');', t.server_name);
                END IF;
                tschema[i] := t.medplum_schema;
                -- A global database's jobs are its shards' too: read them all.
                IF jobs = 'row' AND t.role = 'global' THEN
                    job_scope[i] := 'open';
                END IF;
                phase[i] := 'connecting';
                EXECUTE format('SELECT %I.dblink_connect($1, $2)', ds) USING conn[i], t.server_name::text;
                EXECUTE format('SELECT %I.dblink_send_query($1, $2)', ds)
                    USING conn[i], medup.remote_shape_sql(t.medplum_schema,
                                                          (extract(epoch FROM timeout) * 1000)::integer);
                phase[i] := 'shape';
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS e_code = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
                                        e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
                codes[i] := e_code; msgs[i] := e_msg; details[i] := e_detail; hints[i] := e_hint;
                IF phase[i] = 'connecting' AND codes[i] = '08001' THEN
                    msgs[i] := format('could not connect to target "%s"', names[i]);
                END IF;
                phase[i] := 'failed';
                finished[i] := clock_timestamp();
            END;
        END IF;
        pending := n - next_i + 1;
        FOR i IN 1 .. n LOOP
            CONTINUE WHEN phase[i] IN ('done', 'failed', 'waiting');
            BEGIN
                EXECUTE format('SELECT %I.dblink_is_busy($1)', ds) INTO busy USING conn[i];
                -- Only a target still busy can have run out of time: an
                -- answer that waited for the others' connections counts.
                IF busy = 1 AND clock_timestamp() > started[i] + timeout THEN
                    RAISE EXCEPTION 'target "%" did not answer within medup.target_timeout (%)', names[i], timeout
                        USING ERRCODE = 'connection_failure',
                              HINT = 'Look at the target''s server and network; a superuser may raise medup.target_timeout.';
                END IF;
                IF busy = 1 THEN
                    pending := pending + 1;
                    CONTINUE;
                END IF;
                IF phase[i] = 'shape' THEN
                    EXECUTE format($q$SELECT to_jsonb(r) FROM %I.dblink_get_result($1) AS r(
                        s1 text, s2 text, s3 text, s4 text, login text, in_recovery boolean,
                        server_version_num integer, has_schema boolean, schema_usable boolean,
                        has_migration_table boolean, has_job_table boolean, migration_readable boolean,
                        job_readable boolean, monitor boolean, job_has_type boolean, job_has_status boolean,
                        has_first_boot boolean, migration_columns_ok boolean)$q$, ds)
                        INTO got USING conn[i];
                    shape[i] := got;
                    SELECT * INTO rights FROM medup.remote_rights_problem(names[i], tschema[i], got);
                    IF rights.message IS NOT NULL THEN
                        RAISE EXCEPTION '%', rights.message
                            USING ERRCODE = 'insufficient_privilege', HINT = rights.hint,
                                  DETAIL = 'medup''s remote login needs SELECT on "DatabaseMigration" and "AsyncJob" and membership in pg_monitor, and nothing more.';
                    END IF;
                    phase[i] := 'facts';
                ELSE
                    EXECUTE format('SELECT to_jsonb(r) FROM %I.dblink_get_result($1) AS r(%s)',
                                   ds, medup.remote_facts_columns()) INTO got USING conn[i];
                    IF phase[i] IN ('facts', 'row') THEN
                        row_part[i] := got;
                    END IF;
                    IF phase[i] IN ('facts', 'row', 'rest') THEN
                        rest[i] := got;
                    END IF;
                    IF phase[i] IN ('facts', 'jobs') THEN
                        job_part[i] := got;
                    END IF;
                    phase[i] := CASE phase[i] WHEN 'row' THEN 'jobs' WHEN 'rest' THEN 'jobs' ELSE 'done' END;
                END IF;
                -- The end of this query's results, before the next query.
                EXECUTE format('SELECT count(*) FROM %I.dblink_get_result($1) AS r(x text)', ds) USING conn[i];
                PERFORM medup.send_facts_query(ds, conn[i], tschema[i], shape[i], phase[i], job_scope[i],
                                               (row_part[i]->>'dataVersion')::integer + 1);
                IF phase[i] = 'done' THEN
                    finished[i] := clock_timestamp();
                ELSE
                    pending := pending + 1;
                END IF;
            EXCEPTION
                WHEN lock_not_available THEN
                    -- A lock on Medplum's tables: read the row and the
                    -- jobs apart, so that each is reported as the local
                    -- readers report it.
                    EXECUTE format('SELECT count(*) FROM %I.dblink_get_result($1) AS r(x text)', ds) USING conn[i];
                    IF phase[i] = 'facts' THEN
                        phase[i] := 'row';
                    ELSIF phase[i] = 'row' THEN
                        row_locked[i] := true;
                        job_scope[i] := CASE WHEN jobs = 'all' THEN 'all' ELSE 'open' END;
                        phase[i] := 'rest';
                    ELSE
                        jobs_locked[i] := true;
                        phase[i] := 'done';
                        finished[i] := clock_timestamp();
                        CONTINUE;
                    END IF;
                    PERFORM medup.send_facts_query(ds, conn[i], tschema[i], shape[i], phase[i], job_scope[i],
                                                   (row_part[i]->>'dataVersion')::integer + 1);
                    pending := pending + 1;
                WHEN query_canceled THEN
                    RAISE;
                WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS e_code = RETURNED_SQLSTATE, e_msg = MESSAGE_TEXT,
                                            e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
                    codes[i] := e_code; msgs[i] := e_msg; details[i] := e_detail; hints[i] := e_hint;
                    phase[i] := 'failed';
                    finished[i] := clock_timestamp();
            END;
        END LOOP;
        EXIT WHEN pending = 0;
        IF next_i > n THEN
            PERFORM pg_sleep(0.001);
        END IF;
    END LOOP;

    -- A remote that hangs is left to its statement_timeout: closing the
    -- connection is enough here.
    FOR i IN 1 .. n LOOP
        IF EXISTS (SELECT FROM medup.dblink_connections(ds) c WHERE c = conn[i]) THEN
            EXECUTE format('SELECT %I.dblink_disconnect($1)', ds) USING conn[i];
        END IF;
    END LOOP;

    FOR i IN 1 .. n LOOP
        target := names[i];
        facts := CASE WHEN phase[i] = 'done' THEN
            medup.remote_snapshot(names[i], tschema[i], shape[i], row_part[i], job_part[i], rest[i],
                                  row_locked[i], jobs_locked[i], job_scope[i], NULL) END;
        error_code := codes[i];
        -- The remote's texts are untrusted: bounded here.
        error := left(msgs[i], 1000);
        error_detail := left(nullif(details[i], ''), 1000);
        error_hint := left(nullif(hints[i], ''), 1000);
        elapsed := finished[i] - started[i];
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION medup.read_targets(text[],text) IS 'Reads the facts of remote targets, concurrently, each within medup.target_timeout.';

CREATE FUNCTION medup.dblink_connections(ds text)
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY EXECUTE format('SELECT unnest(%I.dblink_get_connections())', ds);
END
$$;
COMMENT ON FUNCTION medup.dblink_connections(text) IS 'The names of dblink''s open connections.';

/* Send the query of a phase of read_targets() (nothing for the others). */
CREATE FUNCTION medup.send_facts_query(ds text, conn text, medplum_schema text, shape jsonb,
                                       phase text, jobs text, for_version integer)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sql text;
BEGIN
    sql := CASE phase
        WHEN 'facts' THEN medup.remote_facts_sql(medplum_schema, shape, true, jobs, NULL, true)
        WHEN 'row' THEN medup.remote_facts_sql(medplum_schema, shape, true, 'none', NULL, true)
        WHEN 'rest' THEN medup.remote_facts_sql(medplum_schema, shape, false, 'none', NULL, true)
        WHEN 'jobs' THEN medup.remote_facts_sql(medplum_schema, shape, false,
                                                CASE WHEN jobs = 'row' THEN 'open' ELSE jobs END,
                                                CASE WHEN jobs = 'row' THEN for_version END, false)
        END;
    IF sql IS NOT NULL THEN
        EXECUTE format('SELECT %I.dblink_send_query($1, $2)', ds) USING conn, sql;
    END IF;
END
$$;
COMMENT ON FUNCTION medup.send_facts_query(text,text,text,jsonb,text,text,integer) IS 'Sends the query of one phase of read_targets().';

/* Raise a target's error as it was read: message, and DETAIL and HINT when there are. */
CREATE FUNCTION medup.raise_target_error(code text, message text, detail text, hint text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF detail IS NOT NULL AND hint IS NOT NULL THEN
        RAISE EXCEPTION '%', message USING ERRCODE = code, DETAIL = detail, HINT = hint;
    ELSIF detail IS NOT NULL THEN
        RAISE EXCEPTION '%', message USING ERRCODE = code, DETAIL = detail;
    ELSIF hint IS NOT NULL THEN
        RAISE EXCEPTION '%', message USING ERRCODE = code, HINT = hint;
    END IF;
    RAISE EXCEPTION '%', message USING ERRCODE = code;
END
$$;
COMMENT ON FUNCTION medup.raise_target_error(text,text,text,text) IS 'Raises a target''s error as it was read.';

/*
 * Hold the facts of one remote target for the answer being computed
 * (src/target.c), or raise the error that kept it from being read.
 * with_cluster: a shard is read with its cluster's global database, whose
 * jobs are the shard's (48-shards.sql), as status() and check() need.
 */
CREATE FUNCTION medup.use_target(name text, jobs text DEFAULT 'row', with_cluster boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    r       record;
    c       record;
    names   text[] := ARRAY[name];
    global  text;
    answers jsonb[];
BEGIN
    SELECT medup.cluster_global(t.cluster) INTO global FROM medup.target t
     WHERE t.name = use_target.name AND t.role = 'shard' AND with_cluster;
    IF global IS NOT NULL THEN
        names := names || global;
    END IF;
    -- Read concurrently: the target first, its global database (if any) second.
    answers := ARRAY(SELECT to_jsonb(x) FROM medup.read_targets(names, jobs) x);
    SELECT * INTO r FROM jsonb_to_record(answers[1])
        AS x(facts jsonb, error_code text, error text, error_detail text, error_hint text);
    IF r.error_code IS NOT NULL THEN
        PERFORM medup.raise_target_error(r.error_code, r.error, r.error_detail, r.error_hint);
    END IF;
    IF with_cluster THEN
        SELECT * INTO c FROM medup.target_answer_facts(name, r.facts, answers);
        IF c.error_code IS NOT NULL THEN
            PERFORM medup.raise_target_error(c.error_code, c.error, c.error_detail, c.error_hint);
        END IF;
        r.facts := c.answer_facts;
    END IF;
    PERFORM medup.snapshot_set(r.facts);
END
$$;
COMMENT ON FUNCTION medup.use_target(text,text,boolean) IS 'Holds the facts of one remote target for the answer being computed, or raises its error.';

/*
 * The views' rows of one remote target (medup.migrations, jobs, progress,
 * invalid_indexes, durations): its facts are read once (every
 * data-migration job for the readers of jobs), and the reader named
 * answers on them as it does for this database.  reader is one of those
 * five fixed names, never run otherwise.  SECURITY DEFINER: the
 * connection uses the user mapping of medup's owner.
 */
CREATE FUNCTION medup.target_rows(name text, reader text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
AS $$
BEGIN
    IF reader NOT IN ('read_migration_states', 'read_jobs', 'read_durations',
                      'read_progress', 'read_invalid_indexes') THEN
        RAISE EXCEPTION 'medup has no reader "%" for a target', reader
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Read a target through the views medup.migrations, medup.jobs, medup.durations, medup.progress and medup.invalid_indexes, filtered on their column target.';
    END IF;
    PERFORM medup.use_target(name, CASE WHEN reader IN ('read_progress', 'read_invalid_indexes')
                                        THEN 'row' ELSE 'all' END);
    RETURN QUERY EXECUTE format('SELECT * FROM medup.%I()', reader);
    PERFORM medup.snapshot_set(NULL);
END
$$;
COMMENT ON FUNCTION medup.target_rows(text,text) IS 'The rows of one of the target views (migrations, jobs, progress, invalid_indexes, durations) for one remote target.';

/*
 * The readers' side of a snapshot: what 40-inspect.sql's readers return
 * while a remote target's facts are held.  Each gives what the local
 * reader gives on the same database, and the tests compare them.
 */

/* read_jobs() on the snapshot: the same filters, parse_job()'s same limits. */
CREATE FUNCTION medup.snapshot_jobs(open_only boolean, for_version integer)
RETURNS SETOF medup.job
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    snap jsonb := medup.snapshot();
    raw  record;
    bad  medup.job;
BEGIN
    IF (snap->>'jobs_locked')::boolean THEN
        RAISE EXCEPTION 'canceling statement due to lock timeout'
            USING ERRCODE = 'lock_not_available',
                  DETAIL = format('"AsyncJob" of target "%s" is locked by another session.', snap->>'target');
    END IF;
    IF NOT (snap->>'has_job_table')::boolean THEN
        RETURN;
    END IF;
    -- What was read must cover what is asked: all jobs, or the open jobs
    -- that may be of one migration.
    IF snap->>'jobs_scope' <> 'all'
       AND (NOT open_only OR (snap->'jobs_for_version' <> 'null'
                              AND (snap->>'jobs_for_version')::integer IS DISTINCT FROM for_version)) THEN
        RAISE EXCEPTION 'the snapshot of target "%" does not hold these jobs', snap->>'target'
            USING ERRCODE = 'internal_error';
    END IF;
    FOR raw IN SELECT * FROM jsonb_to_recordset(snap->'jobs')
                          AS j(id uuid, content text, "lastUpdated" timestamptz, size bigint)
                WHERE medup.job_may_be(j.content, for_version) LOOP
        BEGIN
            IF raw.content IS NULL AND raw.size > 1048576 THEN
                -- Not sent: parse_job() would refuse it for its size.
                bad := NULL;
                bad.job_id := raw.id;
                bad.last_updated := raw."lastUpdated";
                bad.parse_error := format('job content is %s bytes, over medup''s limit of %s', raw.size, 1048576);
                RETURN NEXT bad;
                CONTINUE;
            END IF;
            RETURN QUERY SELECT * FROM parse_job(raw.id, raw.content, raw."lastUpdated") p
                          WHERE p.job_id IS NOT NULL
                            AND (NOT open_only OR p.status IS DISTINCT FROM 'completed');
        EXCEPTION WHEN data_exception THEN
            bad := NULL;
            bad.job_id := raw.id;
            bad.last_updated := raw."lastUpdated";
            bad.parse_error := SQLERRM;
            RETURN NEXT bad;
        END;
    END LOOP;
END
$$;
COMMENT ON FUNCTION medup.snapshot_jobs(boolean,integer) IS 'read_jobs() on a remote target''s facts.';

CREATE FUNCTION medup.snapshot_progress()
RETURNS TABLE (pid integer, command text, phase text, relation text, index_name text,
               fraction double precision, blocks_done bigint, blocks_total bigint,
               tuples_done bigint, tuples_total bigint, wait_event text,
               blocked_by integer[], application_name text, started_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.pid, p.command, p.phase, p.relation, p.index_name,
           medup.phase_fraction(p.command, p.phase, p.blocks_done, p.blocks_total,
                                p.tuples_done, p.tuples_total),
           p.blocks_done, p.blocks_total, p.tuples_done, p.tuples_total, p.wait_event,
           p.blocked_by, p.application_name, p.started_at
      FROM jsonb_to_recordset(medup.snapshot()->'progress')
           AS p(pid integer, command text, phase text, relation text, index_name text,
                blocks_done bigint, blocks_total bigint, tuples_done bigint, tuples_total bigint,
                wait_event text, blocked_by integer[], application_name text, started_at timestamptz)
$$;
COMMENT ON FUNCTION medup.snapshot_progress() IS 'read_progress() on a remote target''s facts.';

CREATE FUNCTION medup.snapshot_invalid_indexes()
RETURNS TABLE (table_name text, index_name text, definition text, size bigint, fix text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT i.table_name, i.index_name, i.definition, i.size, i.fix
      FROM jsonb_to_recordset(medup.snapshot()->'invalid')
           AS i(table_name text, index_name text, definition text, size bigint, fix text)
     ORDER BY 1, 2
$$;
COMMENT ON FUNCTION medup.snapshot_invalid_indexes() IS 'read_invalid_indexes() on a remote target''s facts.';
