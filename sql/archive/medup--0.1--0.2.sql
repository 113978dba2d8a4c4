\echo Use "ALTER EXTENSION medup UPDATE" to load this file. \quit

/*
 * medup's update scripts are built by the Makefile, in this order:
 *
 *   sql/updates/prologue.sql     this file: drops medup's code
 *   sql/updates/medup--A--B.sql  the release's own steps on what holds state
  *   the install parts' code      the files of sql/install without their STATE blocks
 *   the shipped catalog          replaced; what the DBA loaded is left alone
 *
 * so that an update creates the same functions, views, types and grants as
 * CREATE EXTENSION, from the same source.
 *
 * Code is dropped here: every view, every function but those of the
 * version type's STATE block (its input, output, comparison and aggregate
 * support, which the type, operators, operator classes and aggregates use),
 * and every type that is neither a base type nor a table's row type nor
 * used by a column.  Nothing is dropped with CASCADE: an object of your own
 * that uses medup's code (a view on medup.status(), say) stops the update
 * with an error naming it, rather than vanish with it.
 */

-- No sample while the update runs: a sample (the worker's too) tries this
-- lock first (see medup.sample()) and is skipped, and counted, rather than
-- failing on the functions and views being replaced.  A sample already
-- running is waited for.
SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('medup.sample'), 0);

DO $$
DECLARE
    drop_statement text;
    dependents     text;
BEGIN
    FOR drop_statement IN
        WITH member AS (
            SELECT d.classid, d.objid
              FROM pg_catalog.pg_depend d
             WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass
               AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e
                                  WHERE e.extname = 'medup')
               AND d.deptype = 'e'
        )
        -- Views, newest first: a view may use an older one.
        (SELECT format('DROP VIEW %s.%I', c.relnamespace::regnamespace, c.relname)
           FROM member m JOIN pg_catalog.pg_class c ON c.oid = m.objid
          WHERE m.classid = 'pg_catalog.pg_class'::regclass AND c.relkind = 'v'
          ORDER BY c.oid DESC)
        UNION ALL
        -- Functions no type, operator, operator class or aggregate uses,
        -- and that belong to no type (a range type's constructors).
        (SELECT format('DROP FUNCTION %s.%I(%s)', p.pronamespace::regnamespace, p.proname,
                       pg_catalog.pg_get_function_identity_arguments(p.oid))
           FROM member m JOIN pg_catalog.pg_proc p ON p.oid = m.objid
          WHERE m.classid = 'pg_catalog.pg_proc'::regclass AND p.prokind <> 'a'
            AND NOT EXISTS (
                SELECT FROM pg_catalog.pg_depend u
                 WHERE u.refclassid = 'pg_catalog.pg_proc'::regclass AND u.refobjid = p.oid
                   AND (u.classid IN ('pg_catalog.pg_type'::regclass, 'pg_catalog.pg_operator'::regclass,
                                      'pg_catalog.pg_amproc'::regclass, 'pg_catalog.pg_aggregate'::regclass)
                        OR (u.classid = 'pg_catalog.pg_proc'::regclass
                            AND (SELECT a.prokind FROM pg_catalog.pg_proc a WHERE a.oid = u.objid) = 'a')))
            AND NOT EXISTS (
                SELECT FROM pg_catalog.pg_depend i
                 WHERE i.classid = 'pg_catalog.pg_proc'::regclass AND i.objid = p.oid
                   AND i.deptype = 'i')
          ORDER BY p.oid DESC)
        UNION ALL
        -- Composite, range, enum and domain types no column of medup's
        -- tables uses, newest first.  (A column of the DBA's own makes the
        -- drop fail, below, naming it.)
        (SELECT format('DROP TYPE %s.%I', t.typnamespace::regnamespace, t.typname)
           FROM member m JOIN pg_catalog.pg_type t ON t.oid = m.objid
          WHERE m.classid = 'pg_catalog.pg_type'::regclass
            AND t.typtype IN ('c', 'r', 'e', 'd')
            AND (t.typtype <> 'c'
                 OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')
            AND NOT EXISTS (
                SELECT FROM member mt
                  JOIN pg_catalog.pg_class r ON r.oid = mt.objid
                  JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid
                 WHERE mt.classid = 'pg_catalog.pg_class'::regclass AND r.relkind IN ('r', 'p')
                   AND a.attnum > 0 AND NOT a.attisdropped
                   AND a.atttypid IN (t.oid, t.typarray))
          ORDER BY t.oid DESC)
    LOOP
        BEGIN
            EXECUTE drop_statement;
        EXCEPTION WHEN dependent_objects_still_exist THEN
            GET STACKED DIAGNOSTICS dependents = PG_EXCEPTION_DETAIL;
            RAISE EXCEPTION 'medup cannot be updated while objects of yours use its code'
                USING ERRCODE = 'dependent_objects_still_exist',
                      DETAIL = dependents,
                      HINT = 'Drop or change them so that they no longer use medup''s functions, views or types, run ALTER EXTENSION medup UPDATE again, then put them back.';
        END;
    END LOOP;
END
$$;

/*
 * Grants are an allow-list: what medup's tables and kept functions granted
 * to PUBLIC and medup_reader is revoked here, and the access part grants
 * again exactly what this release allows.  Grants to other roles are left
 * as they are.
 */
REVOKE ALL ON ALL TABLES IN SCHEMA medup FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA medup FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'medup_reader') THEN
        REVOKE ALL ON ALL TABLES IN SCHEMA medup FROM medup_reader;
        REVOKE ALL ON ALL FUNCTIONS IN SCHEMA medup FROM medup_reader;
    END IF;
END
$$;
/*
 * medup 0.1 -> 0.2: the steps on what holds state (tables, the version
 * type).  The update script is built from sql/updates/prologue.sql, this
 * file, then the code of sql/install/ and the shipped catalog: functions,
 * views and grants need nothing here.  A change to a STATE block of
 * sql/install/ needs its step here, leaving the object as a fresh install
 * creates it (columns in the same order: add new ones at the end).
 */

-- Medplum's schema versions and the first release that reached each.
CREATE TABLE medup.schema_version_shipped (
    schema_version integer PRIMARY KEY CHECK (schema_version > 0),
    server_version medup.version NOT NULL UNIQUE
);

-- What each Medplum server's healthcheck said at the last probe.
CREATE TABLE medup.server (
    url           text PRIMARY KEY,     -- the healthcheck URL, credentials masked
    state         text NOT NULL CHECK (state IN ('ok', 'not_ok', 'unreachable', 'error')),
    version       medup.version,        -- the last version it reported
    version_since timestamptz,          -- first probe that saw this version
    last_seen_at  timestamptz,          -- last answer that carried a version
    probed_at     timestamptz NOT NULL,
    detail        text                  -- why it is not ok
);

-- New kinds of event: deploys, the servers' probes, catalog refreshes.
ALTER TABLE medup.event DROP CONSTRAINT event_kind_check;
ALTER TABLE medup.event ADD CONSTRAINT event_kind_check CHECK (kind IN (
    'sampling_started', 'migration_started', 'migration_retried',
    'migration_completed', 'migration_failed', 'migration_cancelled',
    'schema_changed', 'lock_taken', 'lock_released',
    'stall_started', 'stall_ended', 'invalid_index',
    'deploy', 'server_ok', 'server_not_ok', 'server_unreachable',
    'server_error', 'catalog_refreshed'));

-- When Medplum last wrote the running job: a rewrite is progress.
ALTER TABLE medup.sample ADD COLUMN job_updated_at timestamptz;

-- Time a running migration's job spent with no Medplum server connected.
CREATE TABLE medup.job_downtime (
    database_name name NOT NULL DEFAULT current_database(),
    job_id        uuid NOT NULL,
    downtime      interval NOT NULL,
    PRIMARY KEY (database_name, job_id)
);
SELECT pg_catalog.pg_extension_config_dump('medup.job_downtime', '');

-- medup.medplum_schema is superuser-only from 0.2, but a setting another
-- role made under 0.1 (ALTER DATABASE/ROLE ... SET, when it was a user
-- setting) stays in force and steers what medup reads: name each one.
DO $$
DECLARE
    s record;
BEGIN
    FOR s IN SELECT coalesce(pg_catalog.format('database %I', d.datname), 'every database') AS db,
                    coalesce(pg_catalog.format('role %I', r.rolname), 'every role') AS role, c.setting
               FROM pg_catalog.pg_db_role_setting x
               LEFT JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) x.setdatabase
               LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) x.setrole,
                    pg_catalog.unnest(x.setconfig) AS c(setting)
              WHERE pg_catalog.starts_with(c.setting, 'medup.medplum_schema=') LOOP
        RAISE WARNING '% applies to % and %', s.setting, s.db, s.role
            USING DETAIL = 'From medup 0.2 only superusers may set it, but a setting made earlier by another role stays in force.',
                  HINT = 'Keep it only if a superuser made it; otherwise remove it with ALTER DATABASE ... RESET medup.medplum_schema or ALTER ROLE ... RESET medup.medplum_schema.';
    END LOOP;
END
$$;
------------------------------------------------------------------------
-- The medup.version type
------------------------------------------------------------------------


CREATE FUNCTION medup.major(medup.version) RETURNS integer
    AS 'MODULE_PATHNAME', 'version_major' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION medup.minor(medup.version) RETURNS integer
    AS 'MODULE_PATHNAME', 'version_minor' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION medup.patch(medup.version) RETURNS integer
    AS 'MODULE_PATHNAME', 'version_patch' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION medup.base(medup.version) RETURNS medup.version
    AS 'MODULE_PATHNAME', 'version_base' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION medup.base(medup.version) IS
    'The version without its suffix: what Medplum compares';

------------------------------------------------------------------------
-- The catalog: Medplum releases and the post-deploy migration manifest
--
-- Each has two layers.  The *_shipped tables hold what this medup release
-- knows and belong to the extension: an upgrade of medup may refresh them.
-- The *_loaded tables hold what the DBA loaded with medup.load_releases()
-- and medup.load_data_migrations(); they are configuration tables, so
-- pg_dump keeps them, and a loaded row wins over a shipped one.  Keeping
-- the layers apart is what lets a dump restore cleanly: CREATE EXTENSION
-- refills the shipped layer and the dump refills the loaded one, with no
-- row in both.
------------------------------------------------------------------------


CREATE VIEW medup.release AS
    SELECT version, released_on, source
      FROM medup.release_loaded
    UNION ALL
    SELECT s.version, s.released_on, s.source
      FROM medup.release_shipped s
     WHERE NOT EXISTS (SELECT FROM medup.release_loaded l WHERE l.version = s.version);
COMMENT ON VIEW medup.release IS
    'Medplum releases known to medup: shipped with medup, or loaded with medup.load_releases()';


CREATE VIEW medup.data_migration AS
    SELECT data_version, server_version, required_before, source
      FROM medup.data_migration_loaded
    UNION ALL
    SELECT s.data_version, s.server_version, s.required_before, 'medup'
      FROM medup.data_migration_shipped s
     WHERE NOT EXISTS (SELECT FROM medup.data_migration_loaded l
                        WHERE l.data_version = s.data_version);
COMMENT ON VIEW medup.data_migration IS
    'Medplum''s post-deploy migration manifest: migration data_version runs on a server at server_version <= version < required_before';

/*
 * Medplum's schema versions: the "version" column of "DatabaseMigration"
 * (the last pre-deploy migration applied) and the first release that
 * reached each.  Shipped only: Medplum publishes no document of them to
 * load, and a schema version newer than the list still bounds the server
 * from below by the newest listed entry.
 */

CREATE VIEW medup.schema_version AS
    SELECT schema_version, server_version FROM medup.schema_version_shipped;
COMMENT ON VIEW medup.schema_version IS
    'Medplum''s schema versions ("DatabaseMigration".version) and the first release that reached each';

/*
 * The lowest server version that can run on a database at this schema
 * version and data version.  Both bound it from below: the schema version
 * through the first release that reached it (or the newest listed schema
 * version below it), the data version through the serverVersion of the
 * last completed migration (0: none completed).  NULL when neither tells.
 */
CREATE FUNCTION medup.lowest_server_version(schema_version integer, data_version integer)
RETURNS medup.version
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, medup, pg_temp
AS $$
BEGIN
    RETURN greatest(
        (SELECT s.server_version FROM schema_version_shipped s
          WHERE s.schema_version <= lowest_server_version.schema_version
          ORDER BY s.schema_version DESC LIMIT 1),
        (SELECT d.server_version FROM data_migration d
          WHERE d.data_version = lowest_server_version.data_version));
END
$$;

CREATE FUNCTION medup._document_error(document_name text, detail text, hint text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'invalid % document', document_name
        USING ERRCODE = 'invalid_parameter_value', DETAIL = detail, HINT = hint;
END
$$;

/*
 * Read one version out of a catalog document, or raise an error that names
 * the element at fault.  Used by both loaders.
 */
CREATE FUNCTION medup._document_version(document_name text, element text,
                                        field text, value jsonb, mandatory boolean)
RETURNS medup.version
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
BEGIN
    IF value IS NULL OR jsonb_typeof(value) = 'null' THEN
        IF mandatory THEN
            PERFORM _document_error(document_name, format('Element %s has no "%s".', element, field),
                                    'Every element needs a version such as "4.1.12".');
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(value) <> 'string' THEN
        PERFORM _document_error(document_name,
            format('In element %s, "%s" is %s, not a string.', element, field, value::text),
            'Write versions as JSON strings, such as "4.1.12".');
    END IF;
    RETURN (value #>> '{}')::medup.version;
EXCEPTION
    WHEN invalid_text_representation THEN
        PERFORM _document_error(document_name,
            format('In element %s, "%s" is not a Medplum version: %s.', element, field, value::text),
            'A version has the form MAJOR.MINOR.PATCH, such as "4.1.12".');
END
$$;


/*
 * medup.load_releases('[{"version": "5.3.0", "released_on": "2026-12-01"}, ...]')
 *
 * Adds or updates releases.  The whole document is checked before anything
 * is written: one bad element and nothing changes.  Returns the number of
 * releases added or updated.
 */
CREATE FUNCTION medup.load_releases(document jsonb)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    element     jsonb;
    position    integer := 0;
    label       text;
    unknown_key text;
    new_version medup.version;
    new_date    date;
    versions    medup.version[] := '{}';
    dates       date[] := '{}';
    sources     text[] := '{}';
BEGIN
    IF document IS NULL OR jsonb_typeof(document) <> 'array' THEN
        PERFORM _document_error('release', 'The document must be a JSON array of objects.',
            'Pass a document such as ''[{"version": "5.3.0", "released_on": "2026-12-01"}]''.');
    END IF;

    FOR element IN SELECT value FROM jsonb_array_elements(document)
    LOOP
        position := position + 1;
        label := format('%s (%s)', position, left(element::text, 80));
        IF jsonb_typeof(element) <> 'object' THEN
            PERFORM _document_error('release', format('Element %s is not an object.', label),
                'Each element is an object with "version" and, optionally, "released_on" and "source".');
        END IF;
        SELECT k INTO unknown_key FROM jsonb_object_keys(element) k
         WHERE k NOT IN ('version', 'released_on', 'source') LIMIT 1;
        IF FOUND THEN
            PERFORM _document_error('release', format('Element %s has an unknown key "%s".', label, unknown_key),
                'The keys are "version", "released_on" and "source".');
        END IF;

        new_version := _document_version('release', label, 'version', element -> 'version', true);
        IF new_version = ANY (versions) THEN
            PERFORM _document_error('release', format('Element %s repeats version %s.', label, new_version),
                'List each release once.');
        END IF;

        new_date := NULL;
        IF jsonb_typeof(element -> 'released_on') = 'string' THEN
            BEGIN
                new_date := (element ->> 'released_on')::date;
            EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
                NULL;   -- reported just below
            END;
        END IF;
        IF new_date IS NULL AND coalesce(jsonb_typeof(element -> 'released_on'), 'null') <> 'null' THEN
            PERFORM _document_error('release',
                format('In element %s, "released_on" is not a date: %s.', label, element -> 'released_on'),
                'Write dates as "YYYY-MM-DD".');
        END IF;
        IF coalesce(jsonb_typeof(element -> 'source'), 'string') NOT IN ('string', 'null') THEN
            PERFORM _document_error('release', format('In element %s, "source" is not a string.', label),
                'Describe where the release is known from, such as "GitHub release v5.3.0".');
        END IF;

        versions := versions || new_version;
        dates := dates || new_date;
        sources := sources || coalesce(element ->> 'source',
                                       format('loaded by %s on %s', session_user, to_char(current_date, 'YYYY-MM-DD')));
    END LOOP;

    INSERT INTO release_loaded AS r (version, released_on, source)
    SELECT * FROM unnest(versions, dates, sources)
    ON CONFLICT (version) DO UPDATE
        SET released_on = coalesce(EXCLUDED.released_on, r.released_on),
            source = EXCLUDED.source,
            loaded_at = now();
    RETURN cardinality(versions);
END
$$;

/*
 * medup.load_data_migrations('{"v1": {"serverVersion": "3.3.0", "requiredBefore": "4.0.0"}, ...}')
 *
 * Takes Medplum's own manifest format (data-version-manifest.json).  Keys
 * Medplum may add to an entry beyond serverVersion and requiredBefore are
 * ignored, so a newer manifest still loads.  Checked whole before anything
 * is written.  Returns the number of migrations added or updated.
 */
CREATE FUNCTION medup.load_data_migrations(document jsonb)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    entry        record;
    label        text;
    numbers      integer[] := '{}';
    servers      medup.version[] := '{}';
    befores      medup.version[] := '{}';
    server_ver   medup.version;
    before_ver   medup.version;
    source_text  text := format('loaded by %s on %s', session_user, to_char(current_date, 'YYYY-MM-DD'));
BEGIN
    IF document IS NULL OR jsonb_typeof(document) <> 'object' THEN
        PERFORM _document_error('data migration', 'The document must be a JSON object keyed by migration, such as "v1".',
            'Pass Medplum''s data-version-manifest.json, such as ''{"v1": {"serverVersion": "3.3.0", "requiredBefore": "4.0.0"}}''.');
    END IF;

    FOR entry IN SELECT key, value FROM jsonb_each(document) ORDER BY key
    LOOP
        label := format('"%s"', entry.key);
        IF entry.key !~ '^v[1-9][0-9]{0,8}$' THEN
            PERFORM _document_error('data migration', format('Key %s is not a migration name.', label),
                'Migrations are named "v" followed by their number, such as "v12".');
        END IF;
        IF jsonb_typeof(entry.value) <> 'object' THEN
            PERFORM _document_error('data migration', format('Element %s is not an object.', label),
                'Each migration is an object with "serverVersion" and, optionally, "requiredBefore".');
        END IF;
        server_ver := _document_version('data migration', label, 'serverVersion',
                                        entry.value -> 'serverVersion', true);
        before_ver := _document_version('data migration', label, 'requiredBefore',
                                        entry.value -> 'requiredBefore', false);
        IF before_ver <= server_ver THEN
            PERFORM _document_error('data migration',
                format('In element %s, "requiredBefore" (%s) is not after "serverVersion" (%s).',
                       label, before_ver, server_ver),
                'A migration must be able to run on at least one server version.');
        END IF;
        numbers := numbers || substr(entry.key, 2)::integer;
        servers := servers || server_ver;
        befores := befores || before_ver;
    END LOOP;

    INSERT INTO data_migration_loaded AS m (data_version, server_version, required_before, source)
    SELECT n, s, b, source_text FROM unnest(numbers, servers, befores) AS u(n, s, b)
    ON CONFLICT (data_version) DO UPDATE
        SET server_version = EXCLUDED.server_version,
            required_before = EXCLUDED.required_before,
            source = EXCLUDED.source,
            loaded_at = now();
    RETURN cardinality(numbers);
END
$$;

------------------------------------------------------------------------
-- Upgrade paths
------------------------------------------------------------------------

/* "v2-v12, v15": a readable list of migration numbers. */
CREATE FUNCTION medup.format_migrations(numbers integer[])
RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sorted integer[] := numbers;
    parts  text[] := '{}';
    first  integer;
    i      integer;
BEGIN
    FOR i IN 2 .. coalesce(cardinality(numbers), 0) LOOP
        IF numbers[i] IS NULL OR numbers[i] <= numbers[i - 1] THEN
            sorted := ARRAY(SELECT DISTINCT n FROM unnest(numbers) n WHERE n IS NOT NULL ORDER BY 1);
            EXIT;
        END IF;
    END LOOP;
    FOR i IN 1 .. coalesce(cardinality(sorted), 0) LOOP
        IF first IS NULL THEN
            first := sorted[i];
        END IF;
        IF i = cardinality(sorted) OR sorted[i + 1] <> sorted[i] + 1 THEN
            parts := parts || CASE WHEN first = sorted[i] THEN 'v' || first
                                   ELSE 'v' || first || '-v' || sorted[i] END;
            first := NULL;
        END IF;
    END LOOP;
    RETURN nullif(array_to_string(parts, ', '), '');
END
$$;

/* The latest known release of a minor, or NULL. */
CREATE FUNCTION medup.latest_patch(major integer, minor integer)
RETURNS medup.version
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, medup, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN (
    SELECT max(version) FROM release
     WHERE medup.major(version) = $1 AND medup.minor(version) = $2);
END
$$;

/*
 * Turn what the DBA typed as a target into a known release: 'latest', a
 * minor such as '4.3' (its latest patch), or a full version the catalog
 * lists.
 */
CREATE FUNCTION medup.resolve_target(target text)
RETURNS medup.version
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    newest   medup.version := (SELECT max(version) FROM release);
    parts    text[];
    resolved medup.version;
BEGIN
    IF newest IS NULL THEN
        RAISE EXCEPTION 'the release catalog is empty'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Load Medplum''s releases with medup.load_releases().';
    END IF;
    IF target IS NULL THEN
        RAISE EXCEPTION 'target version must not be null'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Give a version such as ''4.3.15'', a minor such as ''4.3'', or ''latest''.';
    END IF;
    IF lower(btrim(target)) = 'latest' THEN
        RETURN newest;
    END IF;

    parts := regexp_match(btrim(target), '^[vV]?(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$');
    IF parts IS NOT NULL THEN
        resolved := latest_patch(parts[1]::integer, parts[2]::integer);
        IF resolved IS NULL THEN
            RAISE EXCEPTION 'no release of Medplum %.% is known', parts[1], parts[2]
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('The newest release medup knows is %s.', newest),
                      HINT = 'Load newer releases with medup.load_releases(), or pick a known minor.';
        END IF;
        RETURN resolved;
    END IF;

    resolved := target::medup.version;
    IF resolved > newest THEN
        RAISE EXCEPTION 'target version % is newer than every release medup knows', resolved
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The newest release medup knows is %s.', newest),
                  HINT = 'Load newer releases with medup.load_releases() and, if it has new migrations, Medplum''s manifest with medup.load_data_migrations().';
    END IF;
    IF NOT EXISTS (SELECT FROM release WHERE version = resolved) THEN
        RAISE EXCEPTION 'target version % is not a known Medplum release', resolved
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The latest known release of %s.%s is %s.',
                                  major(resolved), minor(resolved),
                                  coalesce(latest_patch(major(resolved), minor(resolved))::text, 'none')),
                  HINT = 'Pick a released version, or load it with medup.load_releases() if it was released after this catalog.';
    END IF;
    RETURN resolved;
END
$$;

/* The sentence in upgrade_path's reason column. */
CREATE FUNCTION medup.stop_reason(stop medup.version, is_target boolean,
                                  forcing text, crosses_major boolean)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT concat_ws('; ',
        CASE WHEN is_target THEN 'the target' END,
        CASE WHEN forcing IS NOT NULL THEN 'required by the manifest: ' || forcing END,
        CASE WHEN NOT is_target AND forcing IS NULL
             THEN format('Medplum''s rule: no minor version is skipped (latest patch of %s.%s)',
                         medup.major(stop), medup.minor(stop)) END,
        CASE WHEN crosses_major
             THEN 'major version: update application code for breaking changes first' END)
$$;

/*
 * medup.upgrade_path(from_version, to_version [, required_only])
 *
 * Every deploy from from_version to to_version, in order.  The stops follow
 * Medplum's rule (the latest patch of every minor in between, then the
 * target); a stop is "required" where the migration manifest alone forces
 * it: some post-deploy migration must run on server_version <= v <
 * required_before and no later stop is in that range.  The latest patch of
 * the current minor becomes a stop only when the manifest requires it.
 *
 * from_version is assumed to have finished every migration it can run;
 * medup.status() tells whether that is so.
 */
CREATE FUNCTION medup.upgrade_path(from_version medup.version, to_version text,
                                   required_only boolean DEFAULT false,
                                   OUT step integer, OUT version medup.version,
                                   OUT crosses_major boolean, OUT required boolean,
                                   OUT migrations integer[], OUT reason text)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    target      medup.version := resolve_target(to_version);
    candidates  medup.version[];
    forced      boolean[];
    forcing     text[];
    -- The pending migrations, in order: read once, then plain array work.
    numbers     integer[];
    lows        medup.version[];
    grp         record;
    n           integer;
    k           integer;
    next_migration integer := 1;
    first_stop  integer;
    last_stop   integer;
    last_forced integer := 0;
    previous    medup.version := from_version;
BEGIN
    IF from_version IS NULL THEN
        RAISE EXCEPTION 'current version must not be null'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Give the version the Medplum server runs now, such as ''4.1.12''.';
    END IF;
    IF from_version > target THEN
        RAISE EXCEPTION 'cannot downgrade Medplum from % to %', from_version, target
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Post-deploy migrations cannot be undone, and Medplum does not support running an older server on a newer database.',
                  HINT = 'Pick a target at or after the current version.';
    END IF;
    IF from_version = target THEN
        RETURN;
    END IF;

    -- Candidate stops: the current minor's latest patch (kept only if
    -- forced), the latest patch of each minor in between, the target.
    SELECT array_agg(v ORDER BY v) INTO candidates
      FROM (SELECT max(r.version) AS v
              FROM release r
             WHERE r.version > from_version AND r.version < target
               AND (major(r.version), minor(r.version)) < (major(target), minor(target))
             GROUP BY major(r.version), minor(r.version)) latest;
    candidates := coalesce(candidates, '{}') || target;
    n := cardinality(candidates);
    forced := array_fill(false, ARRAY[n]);
    forcing := array_fill(NULL::text, ARRAY[n]);

    SELECT array_agg(d.data_version ORDER BY d.server_version, d.data_version),
           array_agg(d.server_version ORDER BY d.server_version, d.data_version)
      INTO numbers, lows
      FROM data_migration d
     WHERE d.server_version > from_version AND d.server_version <= target;

    -- Migrations sharing an upper bound form one range, [highest
    -- server_version among them, required_before), that some stop must
    -- fall in.  Choosing the last stop of each range, ranges taken by
    -- their end, gives the fewest forced stops (interval stabbing).
    FOR grp IN
        SELECT d.required_before AS hi, max(d.server_version) AS lo,
               array_agg(d.data_version ORDER BY d.data_version) AS nums
          FROM data_migration d
         WHERE d.server_version > from_version AND d.server_version <= target
         GROUP BY d.required_before
         ORDER BY d.required_before NULLS LAST
    LOOP
        first_stop := NULL;
        last_stop := NULL;
        FOR k IN 1 .. n LOOP
            IF first_stop IS NULL AND candidates[k] >= grp.lo THEN
                first_stop := k;
            END IF;
            IF grp.hi IS NULL OR candidates[k] < grp.hi THEN
                last_stop := k;
            END IF;
        END LOOP;
        IF first_stop IS NULL OR last_stop IS NULL OR first_stop > last_stop THEN
            RAISE EXCEPTION 'no known release can run post-deploy migration %', format_migrations(grp.nums)
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = format('It needs a server at %s <= version < %s, and the release catalog has no such version on this path.',
                                      grp.lo, coalesce(grp.hi::text, 'any')),
                      HINT = 'Load the missing releases with medup.load_releases().';
        END IF;
        IF last_forced < first_stop THEN
            last_forced := last_stop;
            forced[last_stop] := true;
        END IF;
        IF grp.hi IS NOT NULL AND grp.hi <= target THEN
            forcing[last_forced] := concat_ws('; ', forcing[last_forced],
                format('%s must finish before %s is deployed, on %s or later',
                       format_migrations(grp.nums), grp.hi, grp.lo));
        END IF;
    END LOOP;

    step := 0;
    FOR k IN 1 .. n LOOP
        CONTINUE WHEN k < n AND NOT forced[k]
                      AND (required_only
                           OR (major(candidates[k]), minor(candidates[k])) = (major(from_version), minor(from_version)));
        version := candidates[k];
        step := step + 1;
        crosses_major := major(version) > major(previous);
        required := forced[k];
        -- The migrations this stop runs: those not run by the previous
        -- one (numbers is ordered by server_version, so one pass in all).
        migrations := '{}';
        WHILE next_migration <= coalesce(cardinality(numbers), 0)
              AND lows[next_migration] <= version LOOP
            migrations := migrations || numbers[next_migration];
            next_migration := next_migration + 1;
        END LOOP;
        reason := stop_reason(version, k = n, forcing[k], crosses_major);
        RETURN NEXT;
        previous := version;
    END LOOP;
END
$$;

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

/* The pid of this database's sampling worker, or NULL (not preloaded, not watched). */
CREATE FUNCTION medup.worker_pid() RETURNS integer
    AS 'MODULE_PATHNAME', 'medup_worker_pid' LANGUAGE C STABLE PARALLEL SAFE;

/*
 * Run SQL built at run time with a plan kept for the session (src/inspect.c):
 * for reading Medplum's tables, whose schema is a setting.  The SQL runs as
 * the owner of the relation named first (Medplum's app role), with a fixed
 * search_path, never as medup's owner.  Internal: only medup's own
 * functions may call it.
 */
CREATE FUNCTION medup.cached_query(source regclass, sql text, param integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'medup_cached_query_as_owner' LANGUAGE C VOLATILE;

/* The schema that holds Medplum's tables (setting medup.medplum_schema). */
CREATE FUNCTION medup.medplum_schema()
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- PL/pgSQL: a SQL function with a SET clause is planned on every call.
    RETURN coalesce(nullif(current_setting('medup.medplum_schema', true), ''), 'public');
END
$$;

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

/* Whether a job's text may be of that data migration (src/job.c): a filter that never changes an answer. */
CREATE FUNCTION medup.job_may_be(content text, data_version integer)
RETURNS boolean
AS 'MODULE_PATHNAME', 'medup_job_may_be' LANGUAGE C IMMUTABLE PARALLEL SAFE;

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
BEGIN
    locked := false;
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

/*
 * What PostgreSQL is doing for Medplum right now: index builds, vacuum and
 * analyze on Medplum's tables (those in medup.medplum_schema), and nothing
 * else: PostgreSQL shows other schemas' work only to their owners.  "fraction" is
 * phase-weighted: PostgreSQL restarts its counters at every phase, so a
 * plain done/total would jump back to zero.  No query text is shown.
 */
CREATE FUNCTION medup.read_progress()
RETURNS TABLE (pid integer, command text, phase text, relation text, index_name text,
               fraction double precision, blocks_done bigint, blocks_total bigint,
               tuples_done bigint, tuples_total bigint, wait_event text,
               blocked_by integer[], application_name text, started_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    -- The progress views are costly to set up; most of the time nothing
    -- runs, which their underlying function tells cheaply.
    IF NOT EXISTS (SELECT FROM pg_stat_get_progress_info('CREATE INDEX') p
                    WHERE p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
                   UNION ALL
                   SELECT FROM pg_stat_get_progress_info('VACUUM') p
                    WHERE p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
                   UNION ALL
                   SELECT FROM pg_stat_get_progress_info('ANALYZE') p
                    WHERE p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())) THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH work AS (
        SELECT p.pid, p.command, p.phase, p.relid, p.index_relid,
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
         WHERE a.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
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
     WHERE c.relnamespace = to_regnamespace(quote_ident(medup.medplum_schema()));
END
$$;

/*
 * Indexes on Medplum's tables left invalid by a failed concurrent build,
 * with the statement that would rebuild them.  medup never runs it.
 * Indexes being built right now are invalid too, and are left out.
 */
CREATE FUNCTION medup.read_invalid_indexes()
RETURNS TABLE (table_name text, index_name text, definition text, size bigint, fix text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT t.relname::text, c.relname::text, pg_get_indexdef(i.indexrelid),
           pg_relation_size(i.indexrelid),
           format('REINDEX INDEX CONCURRENTLY %I.%I;', n.nspname, c.relname)
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_class t ON t.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT i.indisvalid
       AND n.nspname = medup.medplum_schema()
       AND NOT EXISTS (SELECT FROM pg_stat_progress_create_index p
                        WHERE p.index_relid = i.indexrelid OR p.relid = i.indrelid)
     ORDER BY 1, 2;
END
$$;

/* How many there are, cheaply: status() asks every time. */
CREATE FUNCTION medup.count_invalid_indexes()
RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Almost always none: look at index builds in progress only when needed.
    IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                    WHERE NOT i.indisvalid
                      AND c.relnamespace = to_regnamespace(quote_ident(medup.medplum_schema()))) THEN
        RETURN 0;
    END IF;
    RETURN (SELECT count(*)::integer FROM medup.read_invalid_indexes());
END
$$;

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
    RETURN (SELECT array_agg(DISTINCT b ORDER BY b)
              FROM pg_stat_activity a, unnest(pg_blocking_pids(a.pid)) b
             WHERE a.datname = current_database()
               AND a.application_name = 'medplum-server'
               AND a.wait_event_type = 'Lock');
END
$$;

/* Whether any Medplum server (application_name 'medplum-server') is connected to this database. */
CREATE FUNCTION medup.medplum_connected()
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN EXISTS (SELECT FROM pg_stat_activity a
                    WHERE a.datname = current_database() AND a.application_name = 'medplum-server');
END
$$;

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
    RETURN EXISTS (
        SELECT FROM pg_stat_activity a
         WHERE a.datname = current_database()
           AND a.application_name = 'medplum-server'
           AND a.state = 'active'
           AND a.wait_event_type IS DISTINCT FROM 'Lock'
           AND (a.query ~* '^\s*(create|drop)\s+(unique\s+)?index|^\s*(reindex|vacuum|analyze|alter|cluster)\y'
                OR (a.query ~* '^\s*(update|insert|delete|with)\y'
                    AND a.query_start < now() - interval '5 seconds')));
END
$$;

/*
 * The session holding Medplum's pre-deploy migration lock (advisory lock
 * 1), with its role and application_name: Medplum's servers connect as
 * 'medplum-server' (since 3.2.18), so any other holder is not Medplum
 * migrating but something keeping Medplum from it.  SECURITY DEFINER to
 * see every session, like status(); it shows no query text.
 */
CREATE FUNCTION medup.migration_lock_holder(OUT pid integer, OUT role_name text,
                                            OUT application_name text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SELECT l.pid INTO pid FROM pg_locks l
     WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = 1 AND l.objsubid = 1
       AND l.granted
       AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
     LIMIT 1;
    IF pid IS NOT NULL THEN
        SELECT a.usename, a.application_name INTO role_name, application_name
          FROM pg_stat_activity a WHERE a.pid = migration_lock_holder.pid;
    END IF;
END
$$;

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
             WHEN k.data_version = db_data_version + 1 THEN 'next'
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

CREATE FUNCTION medup.status(
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
    OUT running_job_updated_at timestamptz, OUT servers jsonb)
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
BEGIN
    medplum_schema := medup.medplum_schema();
    checked_at := now();
    on_standby := pg_is_in_recovery();
    -- What PostgreSQL itself tells, in one statement: the pre-deploy lock,
    -- invalid indexes, the worker, the newest sample.
    SELECT h.pid, h.role_name, h.application_name, count_invalid_indexes(),
           medup.worker_pid() IS NOT NULL,
           (SELECT max(s.sampled_at) FROM sample s WHERE s.database_name = current_database())
      INTO migration_lock_pid, migration_lock_role, migration_lock_application, invalid_indexes,
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
        RETURN;
    END IF;
    problem := row_state.problem;
    schema_version := row_state.schema_version;
    data_version := row_state.data_version;
    first_boot := row_state.first_boot;

    -- The catalog's view of this data version, in one pass.
    SELECT max(d.data_version),
           coalesce(array_agg(d.data_version ORDER BY d.data_version)
                        FILTER (WHERE d.data_version > row_state.data_version), '{}'),
           max(d.required_before) FILTER (WHERE d.data_version = row_state.data_version + 1),
           max(d.server_version) FILTER (WHERE d.data_version = row_state.data_version + 1)
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
        open_jobs := ARRAY(SELECT j FROM read_jobs(true, row_state.data_version + 1) j);
    -- Only a lock: a cancel or a timeout is an error, not "locked".
    EXCEPTION WHEN lock_not_available THEN
        tables_locked := true;
        problem := concat_ws('; ', problem, '"AsyncJob" is locked by another session: job details are missing');
    END;
    -- The newest job of the next migration, and how many could not be read.
    SELECT * INTO next_job FROM unnest(open_jobs) j
     WHERE j.data_version = row_state.data_version + 1
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
        SELECT max(p.fraction) INTO progress FROM read_progress() p;
        blocked_by := medplum_blockers();
        SELECT h.rate, h.eta, h.stalled_since INTO rate, eta, stalled_since
          FROM history_estimates(running_job, progress) h;
    ELSIF next_job.status = 'error' THEN
        failed_migration := next_job.data_version;
        last_error := next_job.error;
    END IF;
    IF malformed_jobs > 0 THEN
        problem := concat_ws('; ', problem,
            format('%s data-migration job(s) could not be parsed: see medup.jobs', malformed_jobs));
    END IF;

    state := CASE
        WHEN migration_lock_held AND migration_lock_application = 'medplum-server' THEN 'pre_deploy_running'
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
        advice := format('Session %s (role %s, application_name %L) holds Medplum''s migration lock (advisory lock 1) but is not a Medplum server, which connects as ''medplum-server'': a deploy now would fail to take the lock. Find out why that session holds it, and end it with pg_terminate_backend(%s) if it should not.',
                         migration_lock_pid, migration_lock_role, migration_lock_application, migration_lock_pid);
    ELSE
        advice := status_advice(state, data_version, pending_migrations, running_migration,
                                coalesce(failed_migration, running_migration), migration_lock_pid,
                                blocked_by, next_step, latest_data_version, problem,
                                admin_runs_migrations(lower_ver), next_server <= lower_ver);
    END IF;
    -- What Medplum's servers said at their last /healthcheck
    -- (80-servers.sql); nothing more to do without servers.
    IF EXISTS (SELECT FROM server) THEN
        SELECT r.servers, r.advice INTO servers, server_advice
          FROM servers_report(server_version_range, data_version) r;
        advice := concat_ws(' ', advice, server_advice);
    END IF;
    IF on_standby THEN
        advice := advice || ' (Read on a standby: the migration lock and live progress belong to the primary and are not visible here.)';
    END IF;
END
$$;

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

CREATE VIEW medup.migrations AS
    SELECT m.data_version, m.server_version, m.required_before, m.state, m.job_id,
           m.attempts, m.requested_at, m.last_updated, m.duration,
           CASE WHEN m.state = 'running' THEN (SELECT max(p.fraction) FROM medup.read_progress() p) END
               AS progress,
           m.steps_done, m.rows_done, m.detail
      FROM medup.read_migrations((SELECT r.data_version FROM medup.read_migration_row() r)) m;
COMMENT ON VIEW medup.migrations IS
    'Every post-deploy migration medup knows, with its state in this database and its latest job';

CREATE VIEW medup.jobs AS SELECT * FROM medup.read_jobs();
COMMENT ON VIEW medup.jobs IS
    'Every data-migration AsyncJob, parsed: migration fields only';

CREATE VIEW medup.progress AS SELECT * FROM medup.read_progress();
COMMENT ON VIEW medup.progress IS
    'Index builds, vacuums and analyzes running now for Medplum, with a phase-weighted fraction done';

CREATE VIEW medup.invalid_indexes AS SELECT * FROM medup.read_invalid_indexes();
COMMENT ON VIEW medup.invalid_indexes IS
    'Indexes on Medplum''s tables left invalid by a failed concurrent build, and the statement that would rebuild them';

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
CREATE FUNCTION medup.check(target text, current text DEFAULT NULL)
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
BEGIN
    SELECT * INTO s FROM status();
    is_medplum := s.state <> 'not_medplum';
    readable := is_medplum AND s.data_version IS NOT NULL
                AND NOT coalesce(s.tables_locked, false);

    IF readable THEN
        BEGIN
            target_ver := resolve_target(target);
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
          FROM reported_version() r WHERE current IS NULL;
        inferred := current IS NULL AND reported_ver IS NULL;
        current_ver := coalesce(current::medup.version, reported_ver, shown);
        IF current_ver IS NULL THEN
            RAISE EXCEPTION 'cannot tell which Medplum version runs on this database'
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('Schema version %s and data version %s were reached by releases older than any medup knows, so any older server could be running.',
                                      s.schema_version, s.data_version),
                      HINT = format('Pass the running version: SELECT medup.gate(%L, current => ''3.1.2'').', target);
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
                                       FROM data_migration d WHERE d.data_version = s.data_version + 1), false);
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
              FROM upgrade_path(current_ver, target_ver::text) p
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
         CASE WHEN s.migration_lock_application = 'medplum-server'
              THEN 'a Medplum server is applying pre-deploy migrations'
              ELSE 'a session that is not a Medplum server holds Medplum''s migration lock' END,
         NULL,
         format('Session %s (role %s, application "%s") holds Medplum''s migration lock (advisory lock 1).%s',
                s.migration_lock_pid, s.migration_lock_role, s.migration_lock_application,
                CASE WHEN s.migration_lock_application IS DISTINCT FROM 'medplum-server'
                     THEN ' A Medplum server starting now would wait for it, then fail with "Failed to acquire migration lock".' ELSE '' END),
         CASE WHEN s.migration_lock_application = 'medplum-server'
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
                       s.data_version + 1, target_ver) END),
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
    refused    boolean := false;
    target_ver medup.version;
    current_ver medup.version;
BEGIN
    FOR r IN SELECT * FROM medup.check(target, current) LOOP
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
        RAISE EXCEPTION 'cannot deploy %: %', coalesce(target_ver::text, target, '(no target)'), failure.message
            USING ERRCODE = failure.code, DETAIL = failure.detail, HINT = failure.hint;
    END IF;
    RETURN format(CASE WHEN target_ver < current_ver THEN 'safe to roll back to %s' ELSE 'safe to deploy %s' END,
                  target_ver);
END
$$;
------------------------------------------------------------------------
-- The audit trail: samples, events and what they tell
--
-- medup.sample() takes one sample: status() plus PostgreSQL's live
-- progress, compared with the previous sample of this database, in one
-- transaction.  Events are derived from that comparison, so a sample that
-- dies half-way (a crash, a kill) leaves neither its row nor its events,
-- and the next sample derives them again: none lost, none doubled.  The
-- background worker calls the same function every medup.naptime; without
-- the worker, pg_cron or cron can call it.
------------------------------------------------------------------------


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
                        WHERE d.database_name = current_database() AND d.job_id = job.job_id),
                      interval '0')
$$;

/*
 * One of medup's duration settings as an interval.  In C: a call loads
 * medup.so, which defines the settings with their defaults, so SQL repeats
 * none of them.
 */
CREATE FUNCTION medup.setting_interval(name text)
RETURNS interval
AS 'MODULE_PATHNAME', 'medup_setting_interval'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

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
         WHERE s.database_name = current_database()
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
          FROM sample s WHERE s.database_name = current_database()
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

/*
 * Take one sample of this database.  Returns what it did: 'sampled',
 * 'skipped: ...' (a lock on Medplum's tables, or another session holding
 * medup's sampler lock; counted in medup.sampler), 'not_medplum', 'standby'.
 */
CREATE FUNCTION medup.sample()
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    s        record;
    prev     sample;
    cur      sample;
    live     record;
    job      record;
    outcome  text;
    retention_due boolean;
    stall_after interval := setting_interval('medup.stall_after');
BEGIN
    IF pg_is_in_recovery() THEN
        RETURN 'standby';
    END IF;
    -- One sampler at a time per database: a manual call never races the
    -- worker.  Two-key advisory locks never collide with Medplum's
    -- single-key lock 1.  Anyone may take an advisory lock, though: a
    -- session holding this one keeps samples from being taken, so each
    -- skip is counted, and the outcome names the session.
    IF NOT pg_try_advisory_xact_lock(hashtext('medup.sample'), 0) THEN
        outcome := format('skipped: session %s holds medup''s sampler lock',
                          coalesce((SELECT l.pid::text FROM pg_locks l
                                     WHERE l.locktype = 'advisory' AND l.granted
                                       AND l.classid = hashtext('medup.sample')::oid
                                       AND l.objid = 0 AND l.objsubid = 2
                                       AND l.database = (SELECT d.oid FROM pg_database d
                                                          WHERE d.datname = current_database())
                                     LIMIT 1), 'unknown'));
    ELSE
        SELECT * INTO s FROM status();
        IF s.state = 'not_medplum' THEN
            outcome := 'not_medplum';
        ELSIF s.tables_locked THEN
            outcome := 'skipped: ' || s.problem;
        END IF;
    END IF;
    IF outcome IS NOT NULL THEN
        INSERT INTO sampler AS m (database_name, skipped, last_outcome, last_skip_at)
        VALUES (current_database(), CASE WHEN outcome LIKE 'skipped%' THEN 1 ELSE 0 END, outcome,
                CASE WHEN outcome LIKE 'skipped%' THEN clock_timestamp() END)
        ON CONFLICT (database_name) DO UPDATE
            SET skipped = m.skipped + EXCLUDED.skipped, last_outcome = EXCLUDED.last_outcome,
                last_skip_at = coalesce(EXCLUDED.last_skip_at, m.last_skip_at);
        RETURN outcome;
    END IF;

    SELECT * INTO prev FROM sample p
     WHERE p.database_name = current_database()
     ORDER BY p.sampled_at DESC LIMIT 1;
    -- PostgreSQL's own counters, while a migration runs.
    SELECT NULL::text AS command, NULL::text AS phase, NULL::float8 AS fraction,
           NULL::bigint AS blocks_done, NULL::bigint AS blocks_total,
           NULL::bigint AS tuples_done, NULL::bigint AS tuples_total INTO live;
    IF s.running_migration IS NOT NULL THEN
        SELECT p.command, p.phase, p.fraction, p.blocks_done, p.blocks_total, p.tuples_done, p.tuples_total
          INTO live FROM read_progress() p ORDER BY p.fraction DESC NULLS LAST LIMIT 1;
    END IF;

    -- The new row, column by column by name: it does not depend on the
    -- order of the table's columns, which an update may extend.
    cur.sampled_at := clock_timestamp();
    cur.database_name := current_database();
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
        INSERT INTO job_downtime AS d (job_id, downtime)
        VALUES (cur.job_id, cur.sampled_at - prev.sampled_at)
        ON CONFLICT (database_name, job_id) DO UPDATE SET downtime = d.downtime + EXCLUDED.downtime;
    END IF;

    -- Most samples see no change: compare first, derive events only then.
    IF prev.sampled_at IS NULL
       OR (cur.schema_version, cur.data_version, cur.job_id, cur.failed_migration,
           cur.lock_pid, cur.stalled, cur.invalid_indexes)
          IS DISTINCT FROM
          (prev.schema_version, prev.data_version, prev.job_id, prev.failed_migration,
           prev.lock_pid, prev.stalled, prev.invalid_indexes) THEN
        PERFORM record_events(prev, cur, s.last_error);
    END IF;
    -- Retention once a minute is plenty, and keeps most samples cheap.
    retention_due := NOT EXISTS (SELECT FROM sampler m WHERE m.database_name = current_database()
                                    AND m.last_retention_at > now() - interval '1 minute');
    IF retention_due THEN
        PERFORM apply_retention();
    END IF;

    INSERT INTO sampler AS m (database_name, samples, last_outcome, last_sample_at, last_retention_at)
    VALUES (current_database(), 1, 'sampled', cur.sampled_at, CASE WHEN retention_due THEN now() END)
    ON CONFLICT (database_name) DO UPDATE
        SET samples = m.samples + 1, last_outcome = 'sampled', last_sample_at = EXCLUDED.last_sample_at,
            last_retention_at = coalesce(EXCLUDED.last_retention_at, m.last_retention_at);
    RETURN 'sampled';
END
$$;

/* The events between two samples (prev is all NULL on the first one). */
CREATE FUNCTION medup.record_events(prev medup.sample, cur medup.sample, last_error text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    at      timestamptz := cur.sampled_at;
    old_job record;
BEGIN
    IF prev.sampled_at IS NULL THEN
        INSERT INTO event (event_at, kind, data_version, job_id, detail)
        VALUES (at, 'sampling_started', cur.data_version, cur.job_id,
                format('state %s, schema version %s, data version %s', cur.state,
                       cur.schema_version, cur.data_version));
        RETURN;
    END IF;

    IF cur.schema_version IS DISTINCT FROM prev.schema_version THEN
        INSERT INTO event (event_at, kind, detail)
        VALUES (at, 'schema_changed', format('schema version %s -> %s: a deploy applied pre-deploy migrations',
                                             prev.schema_version, cur.schema_version));
    END IF;

    -- Completions come from "dataVersion", the authority; every step counts.
    INSERT INTO event (event_at, kind, data_version, job_id, detail)
    SELECT at, 'migration_completed', v, j.job_id,
           format('v%s completed%s', v,
                  coalesce(' in ' || date_trunc('second', j.duration)::text, ''))
      FROM generate_series(prev.data_version + 1, cur.data_version) v
      LEFT JOIN LATERAL (SELECT m.job_id, m.duration FROM read_migrations(cur.data_version) m
                          WHERE m.data_version = v) j ON true
     WHERE cur.data_version > prev.data_version;

    IF cur.job_id IS NOT NULL AND cur.job_id IS DISTINCT FROM prev.job_id THEN
        INSERT INTO event (event_at, kind, data_version, job_id, detail)
        SELECT at,
               CASE WHEN m.attempts > 1 THEN 'migration_retried' ELSE 'migration_started' END,
               cur.running_migration, cur.job_id,
               format('v%s, attempt %s', cur.running_migration, m.attempts)
          FROM read_migrations(cur.data_version) m
         WHERE m.data_version = cur.running_migration;
    END IF;

    IF cur.failed_migration IS NOT NULL
       AND cur.failed_migration IS DISTINCT FROM prev.failed_migration THEN
        INSERT INTO event (event_at, kind, data_version, detail)
        VALUES (at, 'migration_failed', cur.failed_migration, coalesce(last_error, 'no error text recorded'));
    END IF;

    -- A job that was running and now is neither running nor done: cancelled?
    IF prev.job_id IS NOT NULL AND prev.job_id IS DISTINCT FROM cur.job_id THEN
        SELECT j.status INTO old_job FROM read_jobs() j WHERE j.job_id = prev.job_id;
        IF old_job.status = 'cancelled' THEN
            INSERT INTO event (event_at, kind, data_version, job_id, detail)
            VALUES (at, 'migration_cancelled', prev.running_migration, prev.job_id,
                    format('v%s was cancelled', prev.running_migration));
        END IF;
    END IF;

    IF cur.lock_pid IS NOT NULL AND prev.lock_pid IS NULL THEN
        INSERT INTO event (event_at, kind, detail)
        VALUES (at, 'lock_taken', format('pid %s took Medplum''s migration lock: pre-deploy migrations are running', cur.lock_pid));
    ELSIF cur.lock_pid IS NULL AND prev.lock_pid IS NOT NULL THEN
        INSERT INTO event (event_at, kind, detail)
        VALUES (at, 'lock_released', format('pid %s released Medplum''s migration lock', prev.lock_pid));
    END IF;

    IF cur.stalled AND NOT prev.stalled THEN
        INSERT INTO event (event_at, kind, data_version, job_id, detail)
        VALUES (at, 'stall_started', cur.running_migration, cur.job_id,
                format('no progress since %s', cur.progress_changed_at));
    ELSIF prev.stalled AND NOT cur.stalled THEN
        INSERT INTO event (event_at, kind, data_version, job_id, detail)
        VALUES (at, 'stall_ended', prev.running_migration, prev.job_id,
                format('stalled for %s', date_trunc('second', at - prev.progress_changed_at)));
    END IF;

    IF cur.invalid_indexes > coalesce(prev.invalid_indexes, 0) THEN
        INSERT INTO event (event_at, kind, detail)
        SELECT at, 'invalid_index', format('%s on %s is invalid: %s', i.index_name, i.table_name, i.fix)
          FROM read_invalid_indexes() i;
    END IF;
END
$$;

/*
 * Delete what is older than medup.retention (samples) and
 * medup.event_retention (events), a small batch per sample so that no
 * sample ever does a long delete.
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

CREATE VIEW medup.history AS
    SELECT s.sampled_at AS "time", s.database_name, s.state, s.schema_version, s.data_version,
           s.running_migration, s.steps_done, s.rows_done, s.progress, s.command, s.phase,
           s.blocks_done, s.blocks_total, s.tuples_done, s.tuples_total,
           s.rows_done - lag(s.rows_done) OVER w AS rows_since_last,
           (s.rows_done - lag(s.rows_done) OVER w)
               / nullif(extract(epoch FROM s.sampled_at - lag(s.sampled_at) OVER w), 0) AS rows_per_second,
           s.lock_pid, cardinality(s.blocked_pids) AS blocked, s.failed_migration,
           s.invalid_indexes, s.stalled
      FROM medup.sample s
    WINDOW w AS (PARTITION BY s.database_name, s.job_id ORDER BY s.sampled_at);
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
                          WHERE d.database_name = e.database_name
                            AND d.job_id IN (SELECT x.job_id FROM medup.event x
                                              WHERE x.database_name = e.database_name
                                                AND x.data_version = e.data_version)),
                        interval '0') AS duration,
           count(*) FILTER (WHERE e.kind IN ('migration_started', 'migration_retried')) AS attempts_seen,
           count(*) FILTER (WHERE e.kind = 'migration_failed') AS failures,
           count(*) FILTER (WHERE e.kind = 'stall_started') AS stalls,
           (array_agg(e.kind ORDER BY e.event_at DESC, e.event_id DESC))[1] AS last_event
      FROM medup.event e
     WHERE e.data_version IS NOT NULL AND (e.kind LIKE 'migration_%' OR e.kind LIKE 'stall_%')
     GROUP BY e.database_name, e.data_version;
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
CREATE VIEW medup.durations AS SELECT * FROM medup.read_durations();
COMMENT ON VIEW medup.durations IS
    'How long each completed post-deploy migration took in this database';
------------------------------------------------------------------------
-- What the database cannot know by itself: the version each Medplum
-- server runs (its /healthcheck), and the releases and migrations
-- published since medup was installed.
--
-- Every fetch goes through medup.http_get() (src/http.c), which takes
-- only URLs from superuser-only settings and enforces the network rules.
-- probe() and refresh_catalog() are SECURITY DEFINER so that the owner
-- may grant them; nothing else here reaches the network.  Neither reads
-- Medplum's tables, and both refuse to fetch while the calling
-- transaction holds a lock on them: a fetch may take seconds, and a
-- migration's ALTER TABLE would queue behind that lock.
------------------------------------------------------------------------

/* GET one URL a superuser configured: (the URL that answered, masked; the JSON; the next page). */
CREATE FUNCTION medup.http_get(url text, OUT answered_url text, OUT body jsonb, OUT next_url text)
RETURNS record
AS 'MODULE_PATHNAME', 'medup_http_get' LANGUAGE C VOLATILE STRICT;

/* The healthcheck URL of every server in medup.servers. */
CREATE FUNCTION medup.server_urls()
RETURNS text[]
AS 'MODULE_PATHNAME', 'medup_server_urls' LANGUAGE C STABLE;

/* A URL with its user:password@ shown as ***@. */
CREATE FUNCTION medup.masked_url(url text)
RETURNS text
AS 'MODULE_PATHNAME', 'medup_masked_url' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION medup.refuse_fetch_under_medplum_lock()
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND c.relnamespace = to_regnamespace(quote_ident(medplum_schema()))) THEN
        RAISE EXCEPTION 'medup does not fetch over the network while this transaction holds a lock on Medplum''s tables'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A fetch may take seconds, and a migration would wait behind the lock all that time.',
                  HINT = 'Call it in a transaction of its own.';
    END IF;
END
$$;

------------------------------------------------------------------------
-- Servers
------------------------------------------------------------------------

COMMENT ON TABLE medup.server IS
    'One row per server in medup.servers: what its /healthcheck said at the last probe';

/* How recent a reported version must be to count: three probe intervals, and at least five minutes. */
CREATE FUNCTION medup.server_freshness()
RETURNS interval
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN greatest(3 * medup.setting_interval('medup.probe_interval'), interval '5 minutes');
END
$$;

CREATE VIEW medup.servers AS
    SELECT s.url, s.state, s.version, s.version_since, s.last_seen_at, s.probed_at,
           coalesce(s.last_seen_at > (SELECT now() - medup.server_freshness()), false) AS fresh,
           s.detail
      FROM medup.server s;
COMMENT ON VIEW medup.servers IS
    'Medplum servers from medup.servers: state, reported version, when last seen, whether that is recent';

/*
 * The version the servers report, when one was seen recently: the lowest
 * if they differ (the one that holds migrations back), and where it comes
 * from.  NULL when no server answered recently.
 */
CREATE FUNCTION medup.reported_version(OUT version medup.version, OUT source text,
                                       OUT versions_differ boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
BEGIN
    SELECT min(s.version),
           string_agg(format('%s by %s', s.version, s.url), ', ' ORDER BY s.version, s.url),
           count(DISTINCT s.version) > 1
      INTO version, source, versions_differ
      FROM servers s
     WHERE s.fresh AND s.version IS NOT NULL;
    IF version IS NULL THEN
        source := NULL;
        versions_differ := NULL;
    ELSIF versions_differ THEN
        source := format('the lowest version the servers'' healthchecks report (%s)', source);
    ELSE
        source := format('what the servers'' healthcheck reports (%s)', source);
    END IF;
END
$$;

/*
 * The servers as status() shows them: one JSON object per server (url,
 * state, version, last_seen_at, fresh, in_range: inside the server
 * versions this database allows now), and advice when a server that
 * answered recently is outside that range, or holds the next migration
 * back.  Both NULL without servers.
 */
CREATE FUNCTION medup.servers_report(allowed medup.version_range, data_version integer,
                                     OUT servers jsonb, OUT advice text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    fresh_after timestamptz;
    next_needs  medup.version;
    lowest      medup.version;
    lowest_url  text;
    highest     medup.version;
BEGIN
    fresh_after := now() - server_freshness();
    next_needs := (SELECT d.server_version FROM data_migration d
                    WHERE d.data_version = servers_report.data_version + 1);
    SELECT jsonb_agg(jsonb_build_object(
               'url', s.url, 'state', s.state, 'version', s.version::text,
               'last_seen_at', s.last_seen_at, 'fresh', coalesce(s.last_seen_at > fresh_after, false),
               'in_range', CASE WHEN s.version IS NOT NULL AND allowed IS NOT NULL
                                THEN s.version <@ allowed END) ORDER BY s.url),
           string_agg(CASE
               WHEN s.version >= upper(allowed) THEN format(
                   '%s runs %s: it would refuse to start after a restart, as migration v%s must complete on a server before %s.',
                   s.url, s.version, servers_report.data_version + 1, upper(allowed))
               WHEN s.version < lower(allowed) THEN format(
                   '%s runs %s, older than %s, the lowest version this database''s completed migrations allow: deploy it forward.',
                   s.url, s.version, lower(allowed)) END,
               ' ' ORDER BY s.url) FILTER (WHERE s.last_seen_at > fresh_after),
           min(s.version) FILTER (WHERE s.last_seen_at > fresh_after),
           (array_agg(s.url ORDER BY s.version, s.url) FILTER (WHERE s.last_seen_at > fresh_after
                                                              AND s.version IS NOT NULL))[1],
           max(s.version) FILTER (WHERE s.last_seen_at > fresh_after)
      INTO servers, advice, lowest, lowest_url, highest
      FROM server s;
    -- A server older than the next migration's serverVersion holds it back
    -- while another could run it: Medplum's "cluster not compatible".
    IF lowest < next_needs AND highest >= next_needs
       AND NOT coalesce(lowest < lower(allowed), false) THEN   -- said above
        advice := concat_ws(' ', advice, format(
            'The servers run different versions: Medplum holds migration v%s back while %s runs %s, older than the %s it needs ("cluster not compatible"); finish the deploy.',
            data_version + 1, lowest_url, lowest, next_needs));
    END IF;
END
$$;

/* What one healthcheck answer says: state, version, detail.  Raises 22023 on a wrong shape. */
CREATE FUNCTION medup.read_healthcheck(shown text, answer jsonb,
                                       OUT state text, OUT version medup.version, OUT detail text)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(answer) IS DISTINCT FROM 'object' OR jsonb_typeof(answer -> 'ok') IS DISTINCT FROM 'boolean' THEN
        RAISE EXCEPTION 'the answer from % is not a Medplum healthcheck', shown
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It has no boolean "ok": %s', left(answer::text, 200)),
                  HINT = 'Point medup.servers at the base URL of Medplum''s API server, whose /healthcheck answers {"ok":true,"version":...}.';
    END IF;
    IF jsonb_typeof(answer -> 'version') = 'string' THEN
        BEGIN
            version := (answer ->> 'version')::medup.version;
        EXCEPTION WHEN invalid_text_representation THEN
            RAISE EXCEPTION 'the answer from % has a version medup cannot read: %', shown, answer ->> 'version'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'A Medplum version looks like "5.0.10-1a2b3c4".';
        END;
    ELSIF (answer -> 'ok')::boolean THEN
        RAISE EXCEPTION 'the answer from % has no version', shown
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Point medup.servers at Medplum''s API server; its /healthcheck names its version.';
    END IF;
    IF (answer -> 'ok')::boolean THEN
        state := 'ok';
    ELSE
        state := 'not_ok';
        -- Only the health flags: nothing else of the answer is kept.
        detail := coalesce('not healthy: ' || (SELECT string_agg(format('%s: %s', key, value), ', ' ORDER BY key)
                                                  FROM jsonb_each(answer)
                                                 WHERE jsonb_typeof(value) = 'boolean' AND key <> 'ok'),
                           'not healthy');
    END IF;
END
$$;

/* Record one probe's outcome, with events for what changed; returns the version it had before. */
CREATE FUNCTION medup.record_probe(shown text, new_state text, new_version medup.version, new_detail text)
RETURNS medup.version
LANGUAGE plpgsql
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    before server;
BEGIN
    SELECT * INTO before FROM server WHERE url = shown FOR UPDATE;
    IF before.state IS DISTINCT FROM new_state THEN
        INSERT INTO event (event_at, kind, detail)
        VALUES (now(), 'server_' || new_state,
                CASE WHEN strpos(new_detail, shown) > 0 THEN new_detail
                     ELSE format('%s: %s', shown, coalesce(new_detail, 'version ' || new_version::text, new_state)) END);
    END IF;
    -- Compared without the build suffix, as Medplum does.
    IF new_version IS NOT NULL AND before.version IS NOT NULL AND new_version <> before.version THEN
        INSERT INTO event (event_at, kind, detail)
        VALUES (now(), 'deploy', format('%s: %s -> %s', shown, before.version, new_version));
    END IF;

    INSERT INTO server AS s (url, state, version, version_since, last_seen_at, probed_at, detail)
    VALUES (shown, new_state, new_version, CASE WHEN new_version IS NOT NULL THEN now() END,
            CASE WHEN new_version IS NOT NULL THEN now() END, now(), new_detail)
    ON CONFLICT (url) DO UPDATE
        SET state = EXCLUDED.state,
            version = coalesce(EXCLUDED.version, s.version),
            version_since = CASE WHEN EXCLUDED.version IS NULL THEN s.version_since
                                 WHEN EXCLUDED.version = s.version THEN s.version_since
                                 ELSE now() END,
            last_seen_at = coalesce(EXCLUDED.last_seen_at, s.last_seen_at),
            probed_at = now(),
            detail = EXCLUDED.detail;
    RETURN before.version;
END
$$;

/*
 * medup.probe(): ask every server in medup.servers for its /healthcheck
 * now, record what each said (medup.servers, events) and return it.  A
 * server that cannot be reached or answers badly is recorded as such; the
 * others are still probed.  A cancel or statement_timeout stops it.
 */
CREATE FUNCTION medup.probe()
RETURNS TABLE (url text, state text, version medup.version, previous_version medup.version, detail text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    target  text;
    answer  record;
    seen    record;
    code    text;
    shown_urls text[] := '{}';
BEGIN
    PERFORM refuse_fetch_under_medplum_lock();
    FOREACH target IN ARRAY server_urls()
    LOOP
        url := masked_url(target);
        shown_urls := shown_urls || url;
        BEGIN
            SELECT * INTO answer FROM http_get(target);
            seen := read_healthcheck(answer.answered_url, answer.body);
            state := seen.state;
            version := seen.version;
            detail := seen.detail;
        EXCEPTION WHEN OTHERS THEN  -- a cancel is not caught: it stops the probe
            GET STACKED DIAGNOSTICS detail = MESSAGE_TEXT, code = RETURNED_SQLSTATE;
            state := CASE WHEN code LIKE '08%' THEN 'unreachable' ELSE 'error' END;
            version := NULL;
        END;
        previous_version := record_probe(url, state, version, detail);
        RETURN NEXT;
    END LOOP;
    -- A server taken out of medup.servers is forgotten.
    DELETE FROM server s WHERE s.url <> ALL (shown_urls);
END
$$;

------------------------------------------------------------------------
-- Catalog refresh
------------------------------------------------------------------------

/* Every release on every page of medup.releases_url (at most 100 pages), as GitHub lists them. */
CREATE FUNCTION medup.fetch_releases()
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    next_page text := nullif(current_setting('medup.releases_url'), '');
    page      record;
    pages     integer := 0;
    releases  jsonb := '[]';
BEGIN
    WHILE next_page IS NOT NULL
    LOOP
        pages := pages + 1;
        IF pages > 100 THEN
            RAISE EXCEPTION 'the releases at % go on for more than 100 pages', masked_url(current_setting('medup.releases_url'))
                USING ERRCODE = 'program_limit_exceeded',
                      HINT = 'Ask for more releases per page (per_page=100 on GitHub).';
        END IF;
        SELECT * INTO page FROM http_get(next_page);
        IF jsonb_typeof(page.body) <> 'array' THEN
            RAISE EXCEPTION 'the answer from % is not a list of releases', page.answered_url
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('It is a JSON %s, not an array.', jsonb_typeof(page.body)),
                      HINT = 'medup.releases_url must answer in the format of GitHub''s releases API.';
        END IF;
        releases := releases || page.body;
        next_page := page.next_url;
    END LOOP;
    RETURN releases;
END
$$;

/*
 * GitHub's releases as a medup.load_releases() document: drafts and
 * prereleases left out, published_at as the release date.  Every element
 * is checked; one of the wrong shape raises 22023 naming it.
 */
CREATE FUNCTION medup.releases_document(shown text, releases jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
DECLARE
    element  jsonb;
    position integer := 0;
    document jsonb := '[]';
    problem  text;
BEGIN
    FOR element IN SELECT value FROM jsonb_array_elements(releases)
    LOOP
        position := position + 1;
        problem := CASE
            WHEN jsonb_typeof(element) <> 'object' THEN 'is not an object'
            WHEN jsonb_typeof(element -> 'tag_name') IS DISTINCT FROM 'string' THEN 'has no string "tag_name"'
            WHEN jsonb_typeof(element -> 'draft') IS DISTINCT FROM 'boolean' THEN 'has no boolean "draft"'
            WHEN jsonb_typeof(element -> 'prerelease') IS DISTINCT FROM 'boolean' THEN 'has no boolean "prerelease"'
            WHEN coalesce(jsonb_typeof(element -> 'published_at'), 'null') NOT IN ('string', 'null')
                THEN '"published_at" is not a string' END;
        IF problem IS NOT NULL THEN
            RAISE EXCEPTION 'the releases from % are not in GitHub''s format', shown
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('Release %s (%s) %s.', position, left(element::text, 80), problem),
                      HINT = 'medup.releases_url must answer in the format of GitHub''s releases API.';
        END IF;
        CONTINUE WHEN (element ->> 'draft')::boolean OR (element ->> 'prerelease')::boolean;
        document := document || jsonb_build_array(jsonb_build_object(
            'version', element -> 'tag_name',
            'released_on', left(element ->> 'published_at', 10),
            'source', format('GitHub release %s', element ->> 'tag_name')));
    END LOOP;
    RETURN document;
END
$$;

/* "server 4.1.12 <= version < 4.2.0" for one manifest entry. */
CREATE FUNCTION medup.migration_range_text(entry jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('runs on %s <= version', entry ->> 'serverVersion')
           || coalesce(' < ' || (entry ->> 'requiredBefore'), '')
$$;

/*
 * medup.refresh_catalog(): fetch Medplum's releases and its post-deploy
 * migration manifest (medup.releases_url, medup.manifest_url), check
 * them whole, and load what is new or changed through the same loaders a
 * DBA uses, in this one transaction.  Returns one row per change; any
 * error and nothing changes.
 */
CREATE FUNCTION medup.refresh_catalog()
RETURNS TABLE (kind text, item text, change text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    releases_url text;
    manifest_url text;
    releases     jsonb := '[]';
    manifest     jsonb := '{}';
    known        jsonb;
    new_releases jsonb;
    changed      jsonb;
    summary      text;
    problem      text;
    source_name  text;
BEGIN
    PERFORM refuse_fetch_under_medplum_lock();
    -- masked_url() is C: calling it loads medup's library, which defines the settings.
    releases_url := masked_url(current_setting('medup.releases_url'));
    manifest_url := masked_url(current_setting('medup.manifest_url'));
    -- Everything is fetched before anything is written.
    IF releases_url <> '' THEN
        releases := releases_document(releases_url, fetch_releases());
    END IF;
    IF manifest_url <> '' THEN
        manifest := (http_get(current_setting('medup.manifest_url'))).body;
    END IF;

    -- Only what is new or changed goes to the loaders, compared as text so
    -- that a malformed element is never skipped: it reaches the loader,
    -- which refuses the whole document.
    SELECT coalesce(jsonb_agg(r ORDER BY ord), '[]') INTO new_releases
      FROM jsonb_array_elements(releases) WITH ORDINALITY AS e(r, ord)
     WHERE NOT EXISTS (SELECT FROM release k
                        WHERE k.version::text = regexp_replace(r ->> 'version', '^v', ''));
    SELECT jsonb_object_agg('v' || data_version,
                            jsonb_build_object('serverVersion', server_version::text,
                                               'requiredBefore', required_before::text))
      INTO known FROM data_migration;
    IF jsonb_typeof(manifest) = 'object' THEN
        SELECT coalesce(jsonb_object_agg(key, value), '{}') INTO changed
          FROM jsonb_each(manifest)
         WHERE (value ->> 'serverVersion') IS DISTINCT FROM (known -> key ->> 'serverVersion')
            OR (value ->> 'requiredBefore') IS DISTINCT FROM (known -> key ->> 'requiredBefore');
    ELSE
        changed := manifest;    -- the loader says what is wrong with it
    END IF;

    -- The same loaders a DBA uses; each checks its whole document.
    BEGIN
        source_name := format('the releases from %s', releases_url);
        PERFORM load_releases(new_releases);
        source_name := format('the manifest from %s', manifest_url);
        PERFORM load_data_migrations(changed);
    EXCEPTION WHEN invalid_parameter_value THEN
        GET STACKED DIAGNOSTICS problem = PG_EXCEPTION_DETAIL;
        RAISE EXCEPTION '% cannot be loaded', source_name
            USING ERRCODE = 'invalid_parameter_value', DETAIL = problem,
                  HINT = 'Nothing was changed.  medup.releases_url must answer in the format of GitHub''s releases API, medup.manifest_url with Medplum''s data-version-manifest.json.';
    END;

    RETURN QUERY
        SELECT 'release', regexp_replace(r ->> 'version', '^v', ''),
               'new' || coalesce(', released ' || (r ->> 'released_on'), '')
          FROM jsonb_array_elements(new_releases) WITH ORDINALITY AS e(r, ord)
         ORDER BY (regexp_replace(r ->> 'version', '^v', ''))::medup.version;
    RETURN QUERY
        SELECT 'migration', c.key,
               CASE WHEN known ? c.key
                    THEN format('changed from %s to %s', migration_range_text(known -> c.key),
                                migration_range_text(c.value))
                    ELSE format('new: %s', migration_range_text(c.value)) END
          FROM jsonb_each(changed) c
         ORDER BY substr(c.key, 2)::integer;

    summary := concat_ws(', ',
        CASE WHEN jsonb_array_length(new_releases) > 0
             THEN format('%s new release(s)', jsonb_array_length(new_releases)) END,
        CASE WHEN changed <> '{}' THEN format('%s new or changed migration(s)',
                                             (SELECT count(*) FROM jsonb_object_keys(changed))) END);
    IF summary <> '' THEN
        INSERT INTO event (event_at, kind, detail) VALUES (now(), 'catalog_refreshed', summary);
    END IF;
END
$$;
------------------------------------------------------------------------
-- Access, as an allow-list
--
-- medup_reader (a Grafana login, a DBA's monitoring role) may call the
-- answers and read the views, and nothing else: it needs no privilege on
-- Medplum's tables, because medup reads them as their owner
-- (src/inspect.c).  Every function starts callable by nobody but medup's
-- owner; each grant below names one function and why.  This list is the
-- one place grants are made, so an update script re-applies it whole.
------------------------------------------------------------------------

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'medup_reader') THEN
        CREATE ROLE medup_reader NOLOGIN;
    END IF;
END
$$;

-- PostgreSQL grants EXECUTE on a new function to PUBLIC: take that back
-- from every function, internal ones (cached_query, sample, the loaders,
-- the readers' helpers) included, and from any added later to this file's
-- parts without a grant here.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA medup FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA medup FROM medup_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA medup FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA medup FROM medup_reader;
GRANT USAGE ON SCHEMA medup TO PUBLIC;

-- The version type: its support functions must stay callable by everyone
-- who may use the type.
GRANT EXECUTE ON FUNCTION
    medup.version_in(cstring), medup.version_out(medup.version),
    medup.version_recv(internal), medup.version_send(medup.version),
    medup.version_cmp(medup.version, medup.version),
    medup.version_lt(medup.version, medup.version), medup.version_le(medup.version, medup.version),
    medup.version_eq(medup.version, medup.version), medup.version_ne(medup.version, medup.version),
    medup.version_ge(medup.version, medup.version), medup.version_gt(medup.version, medup.version),
    medup.version_hash(medup.version), medup.version_hash_extended(medup.version, bigint),
    medup.version_larger(medup.version, medup.version), medup.version_smaller(medup.version, medup.version),
    medup.major(medup.version), medup.minor(medup.version), medup.patch(medup.version),
    medup.base(medup.version),
    medup.version_range(medup.version, medup.version),
    medup.version_range(medup.version, medup.version, text),
    medup.version_multirange(), medup.version_multirange(medup.version_range),
    medup.version_multirange(medup.version_range[])
    TO PUBLIC;

-- The answers.
GRANT EXECUTE ON FUNCTION
    medup.status(),
    medup."check"(text, text),
    medup.gate(text, text),
    medup.upgrade_path(medup.version, text, boolean),
    medup.lowest_server_version(integer, integer)
    TO medup_reader;
-- The functions behind the views: PostgreSQL checks EXECUTE on a view's
-- functions as the role reading the view.
GRANT EXECUTE ON FUNCTION
    medup.read_jobs(boolean, integer),
    medup.read_migrations(integer),
    medup.read_migration_row(),
    medup.read_progress(),
    medup.read_invalid_indexes(),
    medup.read_durations(),
    medup.migration_time(medup.job)
    TO medup_reader;
-- What upgrade_path() (not SECURITY DEFINER: it reads only medup's
-- catalog) calls with the reader's rights.
GRANT EXECUTE ON FUNCTION
    medup.resolve_target(text),
    medup.latest_patch(integer, integer),
    medup.stop_reason(medup.version, boolean, text, boolean),
    medup.format_migrations(integer[])
    TO medup_reader;
-- What the servers view calls with the reader's rights.
GRANT EXECUTE ON FUNCTION
    medup.server_freshness(),
    medup.setting_interval(text)
    TO medup_reader;

-- The views, and medup's own tables to read (never to write: sampling,
-- retention and the loaders stay with medup's owner, the worker and cron).
GRANT SELECT ON medup.release, medup.data_migration, medup.schema_version,
                medup.migrations, medup.jobs, medup.progress, medup.invalid_indexes,
                medup.history, medup.timeline, medup.durations,
                medup.sample, medup.event, medup.sampler, medup.job_downtime,
                medup.release_shipped, medup.release_loaded,
                medup.data_migration_shipped, medup.data_migration_loaded,
                medup.schema_version_shipped,
                medup.servers, medup.server
    TO medup_reader;
DELETE FROM medup.release_shipped;
INSERT INTO medup.release_shipped VALUES ('3.0.0', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.0.1', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.0.2', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.0.3', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.0.4', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.0.5', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.0.6', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.0.7', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.0.8', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.0.9', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.0.10', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.0.11', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.0.12', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.0.13', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.1.0', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.1.1', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.1.2', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.1.3', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.1.4', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.1.5', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.1.6', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.1.7', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.1.8', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.1.9', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.1.10', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.1.11', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.1.12', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.2.0', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.2.1', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.2.2', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.2.3', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.2.4', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.2.5', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.2.6', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.2.7', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.2.8', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.2.9', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.2.10', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.2.11', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.2.12', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.2.13', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.2.14', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.2.15', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.2.16', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.2.17', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.2.18', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.2.19', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.2.20', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry; compare base in release PR #5533');
INSERT INTO medup.release_shipped VALUES ('3.2.21', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry; release PR #5533');
INSERT INTO medup.release_shipped VALUES ('3.2.22', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.2.23', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.2.24', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.2.25', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry; compare base in release PR #5698');
INSERT INTO medup.release_shipped VALUES ('3.2.26', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry; release PR #5698');
INSERT INTO medup.release_shipped VALUES ('3.2.27', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.2.28', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.2.29', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('3.2.30', NULL, 'published @medplum/core version list (as of 5.1.3); compare base in release PR #5926');
INSERT INTO medup.release_shipped VALUES ('3.2.31', NULL, 'published @medplum/core version list (as of 5.1.3); release PR #5926');
INSERT INTO medup.release_shipped VALUES ('3.2.32', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('3.2.33', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry; compare base in release PR #6025');
INSERT INTO medup.release_shipped VALUES ('3.3.0', '2025-02-21', 'published @medplum/core version list (as of 5.1.3); npm registry; release PR #6025');
INSERT INTO medup.release_shipped VALUES ('3.3.1', '2026-09-11', 'npm registry; release PR #10516');
INSERT INTO medup.release_shipped VALUES ('4.0.0', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('4.0.1', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('4.0.2', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('4.0.3', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('4.0.4', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.1.0', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('4.1.1', NULL, 'published @medplum/core version list (as of 5.1.3); data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('4.1.2', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.1.3', NULL, 'published @medplum/core version list (as of 5.1.3); data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('4.1.4', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.1.5', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.1.6', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('4.1.7', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.1.8', NULL, 'published @medplum/core version list (as of 5.1.3); data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('4.1.9', NULL, 'published @medplum/core version list (as of 5.1.3); data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('4.1.10', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.1.11', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.1.12', NULL, 'published @medplum/core version list (as of 5.1.3); data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('4.1.15', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.1.16', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.1.17', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.1.18', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('4.2.0', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.2.1', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.2.2', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.2.3', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.2.4', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.2.6', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('4.3.0', NULL, 'published @medplum/core version list (as of 5.1.3); data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('4.3.1', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.3.2', NULL, 'published @medplum/core version list (as of 5.1.3); compare base in release PR #6973; data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('4.3.3', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry; release PR #6973');
INSERT INTO medup.release_shipped VALUES ('4.3.4', NULL, 'published @medplum/core version list (as of 5.1.3); data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('4.3.5', NULL, 'published @medplum/core version list (as of 5.1.3); compare base in release PR #7080');
INSERT INTO medup.release_shipped VALUES ('4.3.6', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry; release PR #7080; data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('4.3.7', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.3.8', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.3.9', NULL, 'published @medplum/core version list (as of 5.1.3); data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('4.3.10', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('4.3.11', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry; data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('4.3.12', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry; data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('4.3.13', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('4.3.14', NULL, 'published @medplum/core version list (as of 5.1.3); data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('4.3.15', NULL, 'published @medplum/core version list (as of 5.1.3); compare base in release PR #7455');
INSERT INTO medup.release_shipped VALUES ('4.4.0', '2025-09-23', 'published @medplum/core version list (as of 5.1.3); release PR #7455');
INSERT INTO medup.release_shipped VALUES ('4.4.1', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.4.2', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('4.4.3', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry; compare base in release PR #7630');
INSERT INTO medup.release_shipped VALUES ('4.5.0', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('4.5.1', '2025-10-17', 'published @medplum/core version list (as of 5.1.3); npm registry; release PR #7630');
INSERT INTO medup.release_shipped VALUES ('4.5.2', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry; data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.0.0', '2025-11-04', 'published @medplum/core version list (as of 5.1.3); release PR #7762; data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.0.1', NULL, 'published @medplum/core version list (as of 5.1.3); release PR #7804');
INSERT INTO medup.release_shipped VALUES ('5.0.2', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry; release PR #7810');
INSERT INTO medup.release_shipped VALUES ('5.0.3', NULL, 'published @medplum/core version list (as of 5.1.3); release PR #7834');
INSERT INTO medup.release_shipped VALUES ('5.0.4', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('5.0.5', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('5.0.6', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('5.0.7', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('5.0.8', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('5.0.9', NULL, 'published @medplum/core version list (as of 5.1.3)');
INSERT INTO medup.release_shipped VALUES ('5.0.10', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('5.0.11', NULL, 'published @medplum/core version list (as of 5.1.3); data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.0.12', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('5.0.13', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('5.0.14', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('5.0.15', NULL, 'published @medplum/core version list (as of 5.1.3); compare base in release PR #8516');
INSERT INTO medup.release_shipped VALUES ('5.1.0', '2026-02-24', 'published @medplum/core version list (as of 5.1.3); release PR #8516');
INSERT INTO medup.release_shipped VALUES ('5.1.1', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry; compare base in release PR #8613');
INSERT INTO medup.release_shipped VALUES ('5.1.2', NULL, 'published @medplum/core version list (as of 5.1.3); release PR #8613');
INSERT INTO medup.release_shipped VALUES ('5.1.3', NULL, 'published @medplum/core version list (as of 5.1.3); npm registry');
INSERT INTO medup.release_shipped VALUES ('5.1.4', NULL, 'npm registry');
INSERT INTO medup.release_shipped VALUES ('5.1.5', NULL, 'npm registry');
INSERT INTO medup.release_shipped VALUES ('5.1.6', NULL, 'npm registry');
INSERT INTO medup.release_shipped VALUES ('5.1.7', NULL, 'data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.1.9', NULL, 'npm registry; data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.1.10', NULL, 'npm registry; data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.1.11', NULL, 'npm registry');
INSERT INTO medup.release_shipped VALUES ('5.1.12', NULL, 'compare base in release PR #9264; data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.1.13', NULL, 'npm registry; release PR #9264; data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.1.15', NULL, 'npm registry');
INSERT INTO medup.release_shipped VALUES ('5.1.17', NULL, 'npm registry');
INSERT INTO medup.release_shipped VALUES ('5.1.18', NULL, 'npm registry');
INSERT INTO medup.release_shipped VALUES ('5.1.21', NULL, 'npm registry');
INSERT INTO medup.release_shipped VALUES ('5.1.23', NULL, 'npm registry; data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.1.24', NULL, 'npm registry; data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.1.25', NULL, 'compare base in release PR #9815');
INSERT INTO medup.release_shipped VALUES ('5.1.26', NULL, 'npm registry; release PR #9815; api-evangelist/medplum changelog.yml (from GitHub releases)');
INSERT INTO medup.release_shipped VALUES ('5.1.27', NULL, 'api-evangelist/medplum changelog.yml (from GitHub releases); data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.1.28', NULL, 'npm registry; api-evangelist/medplum changelog.yml (from GitHub releases)');
INSERT INTO medup.release_shipped VALUES ('5.1.29', NULL, 'npm registry; api-evangelist/medplum changelog.yml (from GitHub releases)');
INSERT INTO medup.release_shipped VALUES ('5.1.30', NULL, 'npm registry; api-evangelist/medplum changelog.yml (from GitHub releases); data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.1.31', NULL, 'npm registry');
INSERT INTO medup.release_shipped VALUES ('5.1.32', NULL, 'compare base in release PR #10331; data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.1.33', NULL, 'release PR #10331; data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.1.34', '2026-08-27', 'release PR #10337');
INSERT INTO medup.release_shipped VALUES ('5.1.36', NULL, 'npm registry');
INSERT INTO medup.release_shipped VALUES ('5.1.37', NULL, 'npm registry; data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.1.38', NULL, 'npm registry');
INSERT INTO medup.release_shipped VALUES ('5.1.39', NULL, 'npm registry; data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.1.40', NULL, 'data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.1.42', NULL, 'data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.1.43', NULL, 'data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.1.44', NULL, 'data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.2.0', NULL, 'INFERRED: manifest requiredBefore 5.2.0 + 5.2.1..5.2.13 exist (no direct release record seen)');
INSERT INTO medup.release_shipped VALUES ('5.2.1', NULL, 'data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.2.2', NULL, 'data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.2.3', NULL, 'WEAK: manifest@cdd53c98 serverVersion for v53 (changed to 5.2.4 in eba57907); no release record seen');
INSERT INTO medup.release_shipped VALUES ('5.2.4', NULL, 'data-version-manifest.json serverVersion@eba57907/cdd53c98');
INSERT INTO medup.release_shipped VALUES ('5.2.13', NULL, 'npm registry');
DELETE FROM medup.data_migration_shipped;
INSERT INTO medup.data_migration_shipped VALUES (1, '3.3.0', '4.0.0');
INSERT INTO medup.data_migration_shipped VALUES (2, '4.1.0', '4.2.0');
INSERT INTO medup.data_migration_shipped VALUES (3, '4.1.0', '4.2.0');
INSERT INTO medup.data_migration_shipped VALUES (4, '4.1.0', '4.2.0');
INSERT INTO medup.data_migration_shipped VALUES (5, '4.1.0', '4.2.0');
INSERT INTO medup.data_migration_shipped VALUES (6, '4.1.1', '4.2.0');
INSERT INTO medup.data_migration_shipped VALUES (7, '4.1.3', '4.2.0');
INSERT INTO medup.data_migration_shipped VALUES (8, '4.1.8', '4.2.0');
INSERT INTO medup.data_migration_shipped VALUES (9, '4.1.8', '4.2.0');
INSERT INTO medup.data_migration_shipped VALUES (10, '4.1.9', '4.2.0');
INSERT INTO medup.data_migration_shipped VALUES (11, '4.1.12', '4.2.0');
INSERT INTO medup.data_migration_shipped VALUES (12, '4.1.12', '4.2.0');
INSERT INTO medup.data_migration_shipped VALUES (13, '4.3.0', '4.4.0');
INSERT INTO medup.data_migration_shipped VALUES (14, '4.3.0', '4.4.0');
INSERT INTO medup.data_migration_shipped VALUES (15, '4.3.0', '4.4.0');
INSERT INTO medup.data_migration_shipped VALUES (16, '4.3.2', '4.4.0');
INSERT INTO medup.data_migration_shipped VALUES (17, '4.3.2', '4.4.0');
INSERT INTO medup.data_migration_shipped VALUES (18, '4.3.4', '4.4.0');
INSERT INTO medup.data_migration_shipped VALUES (19, '4.3.6', '4.4.0');
INSERT INTO medup.data_migration_shipped VALUES (20, '4.3.6', '4.4.0');
INSERT INTO medup.data_migration_shipped VALUES (21, '4.3.9', '4.4.0');
INSERT INTO medup.data_migration_shipped VALUES (22, '4.3.11', '4.4.0');
INSERT INTO medup.data_migration_shipped VALUES (23, '4.3.11', '4.4.0');
INSERT INTO medup.data_migration_shipped VALUES (24, '4.3.12', '4.4.0');
INSERT INTO medup.data_migration_shipped VALUES (25, '4.3.12', '4.4.0');
INSERT INTO medup.data_migration_shipped VALUES (26, '4.3.12', '4.4.0');
INSERT INTO medup.data_migration_shipped VALUES (27, '4.3.12', '4.4.0');
INSERT INTO medup.data_migration_shipped VALUES (28, '4.3.14', '4.4.0');
INSERT INTO medup.data_migration_shipped VALUES (29, '4.5.2', '5.0.0');
INSERT INTO medup.data_migration_shipped VALUES (30, '5.0.0', '5.1.0');
INSERT INTO medup.data_migration_shipped VALUES (31, '5.0.0', '5.1.0');
INSERT INTO medup.data_migration_shipped VALUES (32, '5.0.11', '5.1.0');
INSERT INTO medup.data_migration_shipped VALUES (33, '5.1.7', NULL);
INSERT INTO medup.data_migration_shipped VALUES (34, '5.1.9', NULL);
INSERT INTO medup.data_migration_shipped VALUES (35, '5.1.10', NULL);
INSERT INTO medup.data_migration_shipped VALUES (36, '5.1.12', NULL);
INSERT INTO medup.data_migration_shipped VALUES (37, '5.1.12', NULL);
INSERT INTO medup.data_migration_shipped VALUES (38, '5.1.13', NULL);
INSERT INTO medup.data_migration_shipped VALUES (39, '5.1.23', NULL);
INSERT INTO medup.data_migration_shipped VALUES (40, '5.1.24', NULL);
INSERT INTO medup.data_migration_shipped VALUES (41, '5.1.27', NULL);
INSERT INTO medup.data_migration_shipped VALUES (42, '5.1.30', NULL);
INSERT INTO medup.data_migration_shipped VALUES (43, '5.1.32', NULL);
INSERT INTO medup.data_migration_shipped VALUES (44, '5.1.33', NULL);
INSERT INTO medup.data_migration_shipped VALUES (45, '5.1.37', NULL);
INSERT INTO medup.data_migration_shipped VALUES (46, '5.1.39', NULL);
INSERT INTO medup.data_migration_shipped VALUES (47, '5.1.40', NULL);
INSERT INTO medup.data_migration_shipped VALUES (48, '5.1.42', NULL);
INSERT INTO medup.data_migration_shipped VALUES (49, '5.1.43', '5.2.0');
INSERT INTO medup.data_migration_shipped VALUES (50, '5.1.44', '5.2.0');
INSERT INTO medup.data_migration_shipped VALUES (51, '5.2.1', NULL);
INSERT INTO medup.data_migration_shipped VALUES (52, '5.2.2', NULL);
INSERT INTO medup.data_migration_shipped VALUES (53, '5.2.4', '5.3.0');
DELETE FROM medup.schema_version_shipped;
INSERT INTO medup.schema_version_shipped VALUES (70, '3.1.6');
INSERT INTO medup.schema_version_shipped VALUES (84, '3.2.26');
INSERT INTO medup.schema_version_shipped VALUES (85, '3.2.27');
INSERT INTO medup.schema_version_shipped VALUES (86, '4.0.2');
INSERT INTO medup.schema_version_shipped VALUES (89, '4.1.0');
INSERT INTO medup.schema_version_shipped VALUES (91, '4.1.3');
INSERT INTO medup.schema_version_shipped VALUES (92, '4.1.8');
INSERT INTO medup.schema_version_shipped VALUES (93, '4.1.12');
INSERT INTO medup.schema_version_shipped VALUES (94, '4.2.6');
INSERT INTO medup.schema_version_shipped VALUES (95, '4.3.4');
INSERT INTO medup.schema_version_shipped VALUES (96, '4.3.11');
INSERT INTO medup.schema_version_shipped VALUES (97, '4.3.12');
INSERT INTO medup.schema_version_shipped VALUES (98, '4.4.3');
INSERT INTO medup.schema_version_shipped VALUES (100, '5.0.6');
