/*
 * medup: the SQL surface.
 *
 * Read top to bottom, this file is the reference of everything medup shows
 * in SQL: the version type, the release and migration catalog, and the
 * upgrade path.
 */
\echo Use "CREATE EXTENSION medup" to load this file. \quit

------------------------------------------------------------------------
-- The medup.version type
------------------------------------------------------------------------

CREATE TYPE medup.version;

CREATE FUNCTION medup.version_in(cstring) RETURNS medup.version
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION medup.version_out(medup.version) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION medup.version_recv(internal) RETURNS medup.version
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION medup.version_send(medup.version) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE medup.version (
    INPUT = medup.version_in,
    OUTPUT = medup.version_out,
    RECEIVE = medup.version_recv,
    SEND = medup.version_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = int4,
    STORAGE = plain
);
COMMENT ON TYPE medup.version IS
    'A Medplum server version, MAJOR.MINOR.PATCH[-suffix]; the suffix takes no part in comparison';

CREATE FUNCTION medup.version_cmp(medup.version, medup.version) RETURNS integer
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION medup.version_lt(medup.version, medup.version) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION medup.version_le(medup.version, medup.version) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION medup.version_eq(medup.version, medup.version) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION medup.version_ne(medup.version, medup.version) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION medup.version_ge(medup.version, medup.version) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION medup.version_gt(medup.version, medup.version) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION medup.version_hash(medup.version) RETURNS integer
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION medup.version_hash_extended(medup.version, bigint) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

/*
 * The comparison operators live in pg_catalog, which every search_path
 * includes, so that a DBA's  WHERE version >= '4.1.0'  works without
 * adding medup to the search_path.  They take medup.version on both sides,
 * so they cannot capture any other type's comparisons.
 */
CREATE OPERATOR pg_catalog.< (
    LEFTARG = medup.version, RIGHTARG = medup.version, FUNCTION = medup.version_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR pg_catalog.<= (
    LEFTARG = medup.version, RIGHTARG = medup.version, FUNCTION = medup.version_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR pg_catalog.= (
    LEFTARG = medup.version, RIGHTARG = medup.version, FUNCTION = medup.version_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>), RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES
);
CREATE OPERATOR pg_catalog.<> (
    LEFTARG = medup.version, RIGHTARG = medup.version, FUNCTION = medup.version_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=), RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR pg_catalog.>= (
    LEFTARG = medup.version, RIGHTARG = medup.version, FUNCTION = medup.version_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<), RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR pg_catalog.> (
    LEFTARG = medup.version, RIGHTARG = medup.version, FUNCTION = medup.version_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

CREATE OPERATOR CLASS medup.version_ops
    DEFAULT FOR TYPE medup.version USING btree AS
        OPERATOR 1 pg_catalog.< ,
        OPERATOR 2 pg_catalog.<= ,
        OPERATOR 3 pg_catalog.= ,
        OPERATOR 4 pg_catalog.>= ,
        OPERATOR 5 pg_catalog.> ,
        FUNCTION 1 medup.version_cmp(medup.version, medup.version);

CREATE OPERATOR CLASS medup.version_hash_ops
    DEFAULT FOR TYPE medup.version USING hash AS
        OPERATOR 1 pg_catalog.= ,
        FUNCTION 1 medup.version_hash(medup.version),
        FUNCTION 2 medup.version_hash_extended(medup.version, bigint);

CREATE FUNCTION medup.version_larger(medup.version, medup.version) RETURNS medup.version
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION medup.version_smaller(medup.version, medup.version) RETURNS medup.version
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Beside the operators, for the same reason: max(version) must just work.
CREATE AGGREGATE pg_catalog.max(medup.version) (
    SFUNC = medup.version_larger, STYPE = medup.version,
    COMBINEFUNC = medup.version_larger, SORTOP = OPERATOR(pg_catalog.>),
    PARALLEL = SAFE
);
CREATE AGGREGATE pg_catalog.min(medup.version) (
    SFUNC = medup.version_smaller, STYPE = medup.version,
    COMBINEFUNC = medup.version_smaller, SORTOP = OPERATOR(pg_catalog.<),
    PARALLEL = SAFE
);

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

CREATE TABLE medup.release_shipped (
    version     medup.version PRIMARY KEY,
    released_on date,
    source      text NOT NULL
);

CREATE TABLE medup.release_loaded (
    version     medup.version PRIMARY KEY,
    released_on date,
    source      text NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('medup.release_loaded', '');

CREATE VIEW medup.release AS
    SELECT version, released_on, source
      FROM medup.release_loaded
    UNION ALL
    SELECT s.version, s.released_on, s.source
      FROM medup.release_shipped s
     WHERE NOT EXISTS (SELECT FROM medup.release_loaded l WHERE l.version = s.version);
COMMENT ON VIEW medup.release IS
    'Medplum releases known to medup: shipped with medup, or loaded with medup.load_releases()';

CREATE TABLE medup.data_migration_shipped (
    data_version    integer PRIMARY KEY CHECK (data_version > 0),
    server_version  medup.version NOT NULL,
    required_before medup.version CHECK (required_before > server_version)
);

CREATE TABLE medup.data_migration_loaded (
    data_version    integer PRIMARY KEY CHECK (data_version > 0),
    server_version  medup.version NOT NULL,
    required_before medup.version CHECK (required_before > server_version),
    source          text NOT NULL,
    loaded_at       timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('medup.data_migration_loaded', '');

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

CREATE FUNCTION medup._document_error(document_name text, detail text, hint text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
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
                                       format('loaded by %s on %s', session_user, current_date));
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
    source_text  text := format('loaded by %s on %s', session_user, current_date);
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
-- is SECURITY DEFINER with a fixed search_path, so that medup_reader needs
-- no privilege on Medplum's tables, and it exposes only migration fields:
-- never AsyncJob contents beyond them, never query texts.  Each one sets a
-- short lock_timeout: a lock held on a Medplum table is reported, not
-- waited for, so medup can never queue behind (and then block) a
-- migration.
------------------------------------------------------------------------

CREATE TYPE medup.version_range AS RANGE (subtype = medup.version);
COMMENT ON TYPE medup.version_range IS 'A range of Medplum server versions';

/* The pid of this database's sampling worker, or NULL (not preloaded, not watched). */
CREATE FUNCTION medup.worker_pid() RETURNS integer
    AS 'MODULE_PATHNAME', 'medup_worker_pid' LANGUAGE C STABLE PARALLEL SAFE;

/*
 * Run SQL built at run time with a plan kept for the session (src/inspect.c):
 * for reading Medplum's tables, whose schema is a setting.  Internal: only
 * medup's own functions may call it.
 */
CREATE FUNCTION medup.cached_query(sql text, param integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'medup_cached_query' LANGUAGE C VOLATILE;

/* The schema that holds Medplum's tables (setting medup.medplum_schema). */
CREATE FUNCTION medup.medplum_schema()
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce(nullif(current_setting('medup.medplum_schema', true), ''), 'public') $$;

/* Which Medplum tables and columns exist: Medplum's schema changed over time. */
CREATE FUNCTION medup.medplum_tables(OUT schema_name text, OUT migration_table regclass,
                                     OUT job_table regclass, OUT job_has_type boolean,
                                     OUT job_has_status boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SELECT s, to_regclass(format('%I.%I', s, 'DatabaseMigration')), j,
           EXISTS (SELECT FROM pg_attribute
                    WHERE attrelid = j AND attname = 'type' AND NOT attisdropped),
           EXISTS (SELECT FROM pg_attribute
                    WHERE attrelid = j AND attname = 'status' AND NOT attisdropped)
      FROM (SELECT medup.medplum_schema() AS s) x,
           LATERAL (SELECT to_regclass(format('%I.%I', x.s, 'AsyncJob')) AS j) y
      INTO schema_name, migration_table, job_table, job_has_type, job_has_status;
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
SET lock_timeout = '200ms'
SET statement_timeout = '10s'
AS $$
DECLARE
    t      record;
    source text;
    raw    record;
    parsed medup.job[];
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
    -- status() must not parse them all every time.  Medplum writes compact
    -- JSON, so a plain text search finds "dataVersion":N cheaply; a row
    -- the search cannot judge (no such key, or a string value) is kept, and
    -- the full parse below decides (and reports a malformed one).
    source := format('SELECT id, content, "lastUpdated" FROM %s WHERE NOT deleted AND %s%s%s',
                     t.job_table,
                     CASE WHEN t.job_has_type THEN $q$type = 'data-migration'$q$
                          ELSE $q$content LIKE '%"data-migration"%'$q$ END,
                     CASE WHEN open_only AND t.job_has_status
                          THEN $q$ AND status IS DISTINCT FROM 'completed'$q$ ELSE '' END,
                     CASE WHEN for_version IS NOT NULL
                          THEN $q$ AND (strpos(content, '"dataVersion":' || $1) > 0 OR strpos(content, '"dataVersion":"') > 0 OR strpos(content, '"dataVersion":') = 0)$q$
                          ELSE '' END);
    -- Parse every row in one statement; only if some row is malformed,
    -- parse them one by one, so that the bad ones come back with
    -- parse_error instead of failing the answer.  Collected into an array
    -- first: a failure half-way must leave nothing in the result.
    BEGIN
        SELECT array_agg(p) INTO parsed
          FROM medup.cached_query(source, for_version) AS j(id uuid, content text, "lastUpdated" timestamptz),
               medup.parse_job(j.id, j.content::jsonb, j."lastUpdated") p
         WHERE p.job_id IS NOT NULL;
        RETURN QUERY SELECT * FROM unnest(parsed) p
                      WHERE NOT open_only OR p.status IS DISTINCT FROM 'completed';
        RETURN;
    EXCEPTION WHEN data_exception THEN
        NULL;
    END;
    FOR raw IN SELECT * FROM medup.cached_query(source, for_version)
                          AS j(id uuid, content text, "lastUpdated" timestamptz) LOOP
        BEGIN
            RETURN QUERY SELECT * FROM parse_job(raw.id, raw.content::jsonb, raw."lastUpdated") p
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

/*
 * One job's migration fields (src/job.c), or NULL when the job is not a
 * data migration.  Progress lives in output.parameter[]: reindex steps are
 * "result" entries whose parts carry resourceType, count and elapsedTime
 * (done), nextTimestamp (running) or error; custom SQL steps are entries
 * with a durationMs part.  A malformed field raises a data exception.
 */
CREATE FUNCTION medup.parse_job(id uuid, job jsonb, last_updated timestamptz)
RETURNS medup.job
AS 'MODULE_PATHNAME', 'medup_parse_job' LANGUAGE C IMMUTABLE PARALLEL SAFE;

/* The "DatabaseMigration" row, or why it cannot be read. */
CREATE FUNCTION medup.read_migration_row(OUT schema_version integer, OUT data_version integer,
                                         OUT first_boot boolean, OUT problem text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
SET lock_timeout = '200ms'
SET statement_timeout = '10s'
AS $$
DECLARE
    t record;
BEGIN
    SELECT * INTO t FROM medplum_tables();
    IF t.migration_table IS NULL THEN
        problem := 'no "DatabaseMigration" table';
        RETURN;
    END IF;
    SELECT r.version, r."dataVersion", r."firstBoot"
      INTO schema_version, data_version, first_boot
      FROM medup.cached_query(format('SELECT version, "dataVersion", "firstBoot" FROM %s ORDER BY id LIMIT 1',
                                     t.migration_table), NULL)
           AS r(version integer, "dataVersion" integer, "firstBoot" boolean);
    IF schema_version IS NULL THEN
        problem := '"DatabaseMigration" is empty';
    END IF;
EXCEPTION
    WHEN lock_not_available THEN
        problem := '"DatabaseMigration" is locked by another session';
    WHEN undefined_column THEN
        problem := '"DatabaseMigration" lacks the columns medup knows';
END
$$;

/*
 * What PostgreSQL is doing for Medplum right now: index builds, vacuum and
 * analyze run by Medplum's sessions or on Medplum's tables.  "fraction" is
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
               -- [start, weight] of each phase of CREATE INDEX [CONCURRENTLY]
               -- and REINDEX: the build and the validation scan are the
               -- long ones.
               CASE
                 WHEN p.phase = 'initializing' THEN 0.0
                 WHEN p.phase LIKE 'waiting for writers before build' THEN 0.02
                 WHEN p.phase LIKE 'building index%' THEN 0.05
                 WHEN p.phase LIKE 'waiting for writers before validation' THEN 0.60
                 WHEN p.phase LIKE 'index validation: scanning index' THEN 0.62
                 WHEN p.phase LIKE 'index validation: sorting tuples' THEN 0.70
                 WHEN p.phase LIKE 'index validation: scanning table' THEN 0.75
                 ELSE 0.97 END AS phase_start,
               CASE
                 WHEN p.phase LIKE 'building index%' THEN 0.55
                 WHEN p.phase LIKE 'index validation: scanning index' THEN 0.08
                 WHEN p.phase LIKE 'index validation: sorting tuples' THEN 0.05
                 WHEN p.phase LIKE 'index validation: scanning table' THEN 0.22
                 ELSE 0.0 END AS phase_weight,
               p.blocks_done, p.blocks_total, p.tuples_done, p.tuples_total
          FROM pg_stat_progress_create_index p
         WHERE p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
        UNION ALL
        SELECT v.pid, 'VACUUM', v.phase, v.relid, NULL,
               CASE v.phase WHEN 'scanning heap' THEN 0.0 WHEN 'vacuuming indexes' THEN 0.60
                            WHEN 'vacuuming heap' THEN 0.70 WHEN 'initializing' THEN 0.0
                            ELSE 0.95 END,
               CASE v.phase WHEN 'scanning heap' THEN 0.60 WHEN 'vacuuming heap' THEN 0.25
                            ELSE 0.0 END,
               CASE v.phase WHEN 'vacuuming heap' THEN v.heap_blks_vacuumed ELSE v.heap_blks_scanned END,
               v.heap_blks_total, NULL, NULL
          FROM pg_stat_progress_vacuum v
         WHERE v.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
        UNION ALL
        SELECT a.pid, 'ANALYZE', a.phase, a.relid, NULL,
               CASE a.phase WHEN 'acquiring sample rows' THEN 0.0 WHEN 'initializing' THEN 0.0
                            ELSE 0.80 END,
               CASE a.phase WHEN 'acquiring sample rows' THEN 0.80 ELSE 0.0 END,
               a.sample_blks_scanned, a.sample_blks_total, NULL, NULL
          FROM pg_stat_progress_analyze a
         WHERE a.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
    )
    SELECT w.pid, w.command, w.phase, w.relid::regclass::text, w.index_relid::regclass::text,
           least(1.0, w.phase_start + w.phase_weight *
                 CASE WHEN coalesce(w.blocks_total, 0) > 0 THEN w.blocks_done::float8 / w.blocks_total
                      WHEN coalesce(w.tuples_total, 0) > 0 THEN w.tuples_done::float8 / w.tuples_total
                      ELSE 0 END),
           w.blocks_done, w.blocks_total, w.tuples_done, w.tuples_total,
           s.wait_event_type || ': ' || s.wait_event,
           pg_blocking_pids(w.pid), s.application_name, s.query_start
      FROM work w
      -- Per row of work: with nothing running, pg_stat_activity is not read.
      LEFT JOIN LATERAL (SELECT a.application_name, a.wait_event_type, a.wait_event, a.query_start
                           FROM pg_stat_activity a WHERE a.pid = w.pid) s ON true
      LEFT JOIN pg_class c ON c.oid = w.relid
     WHERE s.application_name = 'medplum-server'
        OR c.relnamespace = to_regnamespace(quote_ident(medup.medplum_schema()));
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

/* The session holding Medplum's pre-deploy migration lock (advisory lock 1). */
CREATE FUNCTION medup.migration_lock_holder()
RETURNS integer
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    RETURN (
    SELECT pid FROM pg_locks
     WHERE locktype = 'advisory' AND classid = 0 AND objid = 1 AND objsubid = 1
       AND granted
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
     LIMIT 1);
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
        SELECT j.*, row_number() OVER (PARTITION BY j.data_version
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
           CASE WHEN j.status IN ('active', 'accepted') THEN now() - j.requested_at
                ELSE coalesce(j.finished_at, j.last_updated) - j.requested_at END,
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
    OUT worker_running boolean, OUT last_sample_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
SET lock_timeout = '200ms'
SET statement_timeout = '10s'
AS $$
DECLARE
    row_state  record;
    next_job   medup.job;
    open_jobs  medup.job[];
    lower_ver  medup.version;
    upper_ver  medup.version;
BEGIN
    medplum_schema := medup.medplum_schema();
    checked_at := now();
    on_standby := pg_is_in_recovery();
    -- What PostgreSQL itself tells, in one statement: the pre-deploy lock,
    -- invalid indexes, the worker, the newest sample.
    SELECT migration_lock_holder(), count_invalid_indexes(), medup.worker_pid() IS NOT NULL,
           (SELECT max(s.sampled_at) FROM sample s WHERE s.database_name = current_database())
      INTO migration_lock_pid, invalid_indexes, worker_running, last_sample_at;
    migration_lock_held := migration_lock_pid IS NOT NULL;

    SELECT * INTO row_state FROM read_migration_row();
    IF row_state.problem IS NOT NULL AND row_state.problem NOT LIKE '%locked%' THEN
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
           max(d.server_version) FILTER (WHERE d.data_version = row_state.data_version),
           max(d.required_before) FILTER (WHERE d.data_version = row_state.data_version + 1)
      INTO latest_data_version, pending_migrations, lower_ver, upper_ver
      FROM data_migration d;
    IF data_version IS NULL THEN
        pending_migrations := NULL;
    ELSE
        server_version_range := version_range(lower_ver, upper_ver, '[)');
        next_step := next_deploy(lower_ver, data_version);
    END IF;

    -- Only the jobs that are not completed matter here: medup.jobs has all.
    BEGIN
        open_jobs := ARRAY(SELECT j FROM read_jobs(true, row_state.data_version + 1) j);
    EXCEPTION WHEN lock_not_available OR query_canceled THEN
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
        running_step := next_job.running_step;
        running_steps_done := next_job.steps_done;
        running_rows_done := next_job.rows_done;
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
        WHEN migration_lock_held THEN 'pre_deploy_running'
        WHEN data_version IS NULL OR problem LIKE '%locked%' THEN 'blocked'
        WHEN failed_migration IS NOT NULL THEN 'failed'
        WHEN running_migration IS NOT NULL AND blocked_by IS NOT NULL THEN 'blocked'
        WHEN running_migration IS NOT NULL AND stalled_since IS NOT NULL THEN 'stalled'
        WHEN first_boot THEN 'first_boot'
        WHEN running_migration IS NOT NULL THEN 'migrating'
        WHEN cardinality(pending_migrations) > 0 THEN 'pending'
        ELSE 'up_to_date' END;
    advice := status_advice(state, data_version, pending_migrations, running_migration,
                            failed_migration, migration_lock_pid, blocked_by, next_step,
                            latest_data_version, problem);
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

/* The one sentence status() ends with: what the DBA should do now. */
CREATE FUNCTION medup.status_advice(state text, data_version integer, pending integer[],
                                    running integer, failed integer, lock_pid integer,
                                    blocked_by integer[], next_step medup.version,
                                    latest integer, problem text)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT CASE state
      WHEN 'pre_deploy_running' THEN
        format('A Medplum server (pid %s) holds the migration lock and is applying pre-deploy migrations: wait until it has started before deploying anything.', lock_pid)
      WHEN 'blocked' THEN
        CASE WHEN blocked_by IS NOT NULL
             THEN format('Post-deploy migration v%s is waiting for a lock held by pid %s: let that session finish or end it.', running, array_to_string(blocked_by, ', '))
             ELSE format('medup could not read Medplum''s tables (%s): try again, and look for the session holding the lock.', problem) END
      WHEN 'failed' THEN
        format('Post-deploy migration v%s failed: fix the cause in last_error, then run it again from Medplum''s admin page (Super Admin, Post-deploy Migrations) or restart the server; deploy nothing newer until it completes.', failed)
      WHEN 'first_boot' THEN
        format('A fresh install is catching up on post-deploy migrations (%s left): wait until they complete before the next deploy.', coalesce(cardinality(pending), 0))
      WHEN 'stalled' THEN
        format('Post-deploy migration v%s has made no progress medup can see for a while: check the Medplum server''s logs and medup.progress for what it waits on.', running)
      WHEN 'migrating' THEN
        format('Post-deploy migration v%s is running: wait until it completes, then check again before deploying %s.',
               running, coalesce(next_step::text, 'a newer version'))
      WHEN 'pending' THEN
        format('Post-deploy migrations %s are not complete and none is running: deploy %s next, which runs %s.',
               medup.format_migrations(pending), coalesce(next_step::text, 'the next release'),
               CASE WHEN cardinality(pending) = 1 THEN 'it' ELSE 'those it can' END)
      WHEN 'up_to_date' THEN
        CASE WHEN data_version > latest
             THEN format('This database has completed v%s, newer than medup''s manifest (v%s): load Medplum''s current manifest with medup.load_data_migrations().', data_version, latest)
             WHEN next_step IS NULL THEN 'Every known post-deploy migration is complete and no newer release is known.'
             ELSE format('Every known post-deploy migration is complete: %s is the next deploy toward the newest release.', next_step) END
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
    ok := s.data_version IS NOT NULL AND (s.problem IS NULL OR s.problem NOT LIKE '%locked%');
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
    PRIMARY KEY (database_name, sampled_at)
);
CREATE INDEX sample_sampled_at_idx ON medup.sample (sampled_at);
COMMENT ON TABLE medup.sample IS
    'One row per sample and database: Medplum''s migration state and PostgreSQL''s live progress';

CREATE TABLE medup.event (
    event_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_at       timestamptz NOT NULL,
    database_name  name NOT NULL DEFAULT current_database(),
    kind           text NOT NULL CHECK (kind IN (
                       'sampling_started', 'migration_started', 'migration_retried',
                       'migration_completed', 'migration_failed', 'migration_cancelled',
                       'schema_changed', 'lock_taken', 'lock_released',
                       'stall_started', 'stall_ended', 'invalid_index')),
    data_version   integer,
    job_id         uuid,
    detail         text
);
CREATE INDEX event_event_at_idx ON medup.event (event_at);
CREATE INDEX event_migration_idx ON medup.event (database_name, data_version, event_at);
COMMENT ON TABLE medup.event IS 'One row per change medup saw between two samples';

-- What each database's sampling has done: skipped samples are counted here.
CREATE TABLE medup.sampler (
    database_name  name PRIMARY KEY,
    samples        bigint NOT NULL DEFAULT 0,
    skipped        bigint NOT NULL DEFAULT 0,
    last_outcome   text,
    last_sample_at timestamptz,
    last_skip_at   timestamptz,
    last_retention_at timestamptz
);

SELECT pg_catalog.pg_extension_config_dump('medup.sample', '');
SELECT pg_catalog.pg_extension_config_dump('medup.event', '');
SELECT pg_catalog.pg_extension_config_dump('medup.event_event_id_seq', '');

/* A duration setting as an interval; the default when medup is not loaded. */
CREATE FUNCTION medup.setting_interval(name text, fallback interval)
RETURNS interval
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce(nullif(current_setting(name, true), '')::interval, fallback) $$;

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
                                        OUT stalled_since timestamptz, OUT last_sample_at timestamptz)
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
               AND n.sampled_at > now() - 3 * setting_interval('medup.naptime', '10 s')),
           (SELECT n.sampled_at FROM newest n)
        INTO rate, eta, stalled_since, last_sample_at
      FROM span;
END
$$;

/*
 * Take one sample of this database.  Returns what it did: 'sampled',
 * 'skipped: ...' (a lock on Medplum's tables; counted in medup.sampler),
 * 'busy' (another sample is being taken), 'not_medplum', 'standby'.
 */
CREATE FUNCTION medup.sample()
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
SET lock_timeout = '200ms'
SET statement_timeout = '10s'
AS $$
DECLARE
    s        record;
    prev     sample;
    cur      sample;
    live     record;
    job      record;
    outcome  text;
    retention_due boolean;
    stall_after interval := setting_interval('medup.stall_after', '30 min');
BEGIN
    IF pg_is_in_recovery() THEN
        RETURN 'standby';
    END IF;
    -- One sampler at a time per database: a manual call never races the
    -- worker.  Two-key advisory locks never collide with Medplum's
    -- single-key lock 1.
    IF NOT pg_try_advisory_xact_lock(hashtext('medup.sample'), 0) THEN
        RETURN 'busy';
    END IF;

    SELECT * INTO s FROM status();
    IF s.state = 'not_medplum' THEN
        outcome := 'not_medplum';
    ELSIF s.problem LIKE '%locked%' THEN
        outcome := 'skipped: ' || s.problem;
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

    cur := ROW(clock_timestamp(), current_database(), s.state, s.schema_version, s.data_version,
               s.first_boot, s.running_migration, s.running_job, s.running_steps_done,
               s.running_rows_done, s.progress, live.command, live.phase, live.blocks_done,
               live.blocks_total, live.tuples_done, live.tuples_total, s.migration_lock_pid,
               s.blocked_by, s.failed_migration, s.invalid_indexes, NULL, false);
    -- Progress moved when anything that counts it changed.
    cur.progress_changed_at := CASE
        WHEN prev.sampled_at IS NOT NULL
             AND (cur.job_id, cur.steps_done, cur.rows_done, cur.phase, cur.blocks_done, cur.tuples_done)
                 IS NOT DISTINCT FROM
                 (prev.job_id, prev.steps_done, prev.rows_done, prev.phase, prev.blocks_done, prev.tuples_done)
        THEN prev.progress_changed_at ELSE cur.sampled_at END;
    cur.stalled := cur.running_migration IS NOT NULL
                   AND cur.sampled_at - cur.progress_changed_at >= stall_after;
    INSERT INTO sample SELECT cur.*;

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
         WHERE sampled_at < now() - setting_interval('medup.retention', '30 days')
         LIMIT batch));
    GET DIAGNOSTICS removed = ROW_COUNT;
    DELETE FROM event WHERE event_id = ANY (ARRAY(
        SELECT event_id FROM event
         WHERE event_at < now() - setting_interval('medup.event_retention', '365 days')
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
             - min(e.event_at) FILTER (WHERE e.kind IN ('migration_started', 'migration_retried')) AS duration,
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
           coalesce(j.finished_at, j.last_updated) - j.requested_at,
           j.rows_done,
           j.rows_done / nullif(extract(epoch FROM coalesce(j.finished_at, j.last_updated) - j.requested_at), 0)::float8
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
-- Access: medup_reader may call all of this without any privilege on
-- Medplum's tables.  The catalog loaders stay with the owner.
------------------------------------------------------------------------

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'medup_reader') THEN
        CREATE ROLE medup_reader NOLOGIN;
    END IF;
END
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA medup FROM PUBLIC;
GRANT USAGE ON SCHEMA medup TO PUBLIC;
-- The type's support functions must stay callable by everyone who may use
-- the type.
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
    medup.base(medup.version)
    TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA medup TO medup_reader;
REVOKE EXECUTE ON FUNCTION medup.load_releases(jsonb), medup.load_data_migrations(jsonb),
    medup.cached_query(text, integer)
    FROM medup_reader;
GRANT SELECT ON medup.release, medup.data_migration, medup.migrations, medup.jobs,
                medup.progress, medup.invalid_indexes, medup.history, medup.timeline,
                medup.durations, medup.sample, medup.event, medup.sampler
    TO medup_reader;
-- Sampling writes medup's own tables: for the owner, the worker and cron.
REVOKE EXECUTE ON FUNCTION medup.sample(), medup.apply_retention(integer),
    medup.record_events(medup.sample, medup.sample, text) FROM medup_reader;
GRANT SELECT ON medup.release_shipped, medup.release_loaded,
                medup.data_migration_shipped, medup.data_migration_loaded
    TO medup_reader;
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
