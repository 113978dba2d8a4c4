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

/*
 * Read one version out of a catalog document, or raise an error that names
 * the element at fault.  Used by both loaders.
 */
CREATE FUNCTION medup._document_version(document_name text, element text,
                                        field text, value jsonb, mandatory boolean)
RETURNS medup.version
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, medup
AS $$
BEGIN
    IF value IS NULL OR jsonb_typeof(value) = 'null' THEN
        IF mandatory THEN
            RAISE EXCEPTION 'invalid % document', document_name
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('Element %s has no "%s".', element, field),
                      HINT = 'Every element needs a version such as "4.1.12".';
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(value) <> 'string' THEN
        RAISE EXCEPTION 'invalid % document', document_name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('In element %s, "%s" is %s, not a string.',
                                  element, field, value::text),
                  HINT = 'Write versions as JSON strings, such as "4.1.12".';
    END IF;
    RETURN (value #>> '{}')::medup.version;
EXCEPTION
    WHEN invalid_text_representation THEN
        RAISE EXCEPTION 'invalid % document', document_name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('In element %s, "%s" is not a Medplum version: %s.',
                                  element, field, value::text),
                  HINT = 'A version has the form MAJOR.MINOR.PATCH, such as "4.1.12".';
END
$$;

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
 * medup.load_releases('[{"version": "5.3.0", "released_on": "2026-12-01"}, ...]')
 *
 * Adds or updates releases.  The whole document is checked before anything
 * is written: one bad element and nothing changes.  Returns the number of
 * releases added or updated.
 */
CREATE FUNCTION medup.load_releases(document jsonb)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, medup
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
SET search_path = pg_catalog, medup
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
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT string_agg(CASE WHEN first = last THEN 'v' || first
                           ELSE 'v' || first || '-v' || last END, ', ' ORDER BY first)
      FROM (SELECT min(n) AS first, max(n) AS last
              FROM (SELECT n, n - row_number() OVER (ORDER BY n) AS run
                      FROM (SELECT DISTINCT unnest(numbers) AS n) d) r
             GROUP BY run) runs
$$;

/* The latest known release of a minor, or NULL. */
CREATE FUNCTION medup.latest_patch(major integer, minor integer)
RETURNS medup.version
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, medup
AS $$
    SELECT max(version) FROM release
     WHERE medup.major(version) = $1 AND medup.minor(version) = $2
$$;

/*
 * Turn what the DBA typed as a target into a known release: 'latest', a
 * minor such as '4.3' (its latest patch), or a full version the catalog
 * lists.
 */
CREATE FUNCTION medup.resolve_target(target text)
RETURNS medup.version
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup
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
SET search_path = pg_catalog, medup
AS $$
    SELECT concat_ws('; ',
        CASE WHEN is_target THEN 'the target' END,
        CASE WHEN forcing IS NOT NULL THEN 'required by the manifest: ' || forcing END,
        CASE WHEN NOT is_target AND forcing IS NULL
             THEN format('Medplum''s rule: no minor version is skipped (latest patch of %s.%s)',
                         major(stop), minor(stop)) END,
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
SET search_path = pg_catalog, medup
AS $$
DECLARE
    target      medup.version := resolve_target(to_version);
    candidates  medup.version[];
    forced      boolean[];
    forcing     text[];
    m           record;
    first_stop  integer;
    last_stop   integer;
    last_forced integer := 0;
    n           integer;
    k           integer;
    previous    medup.version := from_version;
    ran_up_to   medup.version := from_version;
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

    -- Each pending migration with an upper bound at or before the target
    -- must be run by a stop inside [server_version, required_before).
    -- Choosing the last stop of each range, ranges taken by their end, gives
    -- the fewest forced stops (interval stabbing).
    FOR m IN
        -- Migrations sharing an upper bound form one range, from the
        -- highest server_version among them.
        SELECT max(d.server_version) AS lo, d.required_before AS hi,
               array_agg(d.data_version ORDER BY d.data_version) AS numbers
          FROM data_migration d
         WHERE d.server_version > from_version AND d.server_version <= target
         GROUP BY d.required_before
         ORDER BY d.required_before NULLS LAST
    LOOP
        SELECT min(i) FILTER (WHERE candidates[i] >= m.lo),
               max(i) FILTER (WHERE m.hi IS NULL OR candidates[i] < m.hi)
          INTO first_stop, last_stop
          FROM generate_subscripts(candidates, 1) i;
        IF first_stop IS NULL OR last_stop IS NULL OR first_stop > last_stop THEN
            RAISE EXCEPTION 'no known release can run post-deploy migration %', format_migrations(m.numbers)
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = format('It needs a server at %s <= version < %s, and the release catalog has no such version on this path.',
                                      m.lo, coalesce(m.hi::text, 'any')),
                      HINT = 'Load the missing releases with medup.load_releases().';
        END IF;
        IF last_forced < first_stop THEN
            last_forced := last_stop;
            forced[last_stop] := true;
        END IF;
        IF m.hi IS NOT NULL AND m.hi <= target THEN
            forcing[last_forced] := concat_ws('; ', forcing[last_forced],
                format('%s must finish before %s is deployed, on %s or later',
                       format_migrations(m.numbers), m.hi, m.lo));
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
        SELECT array_agg(d.data_version ORDER BY d.data_version) INTO migrations
          FROM data_migration d
         WHERE d.server_version > ran_up_to AND d.server_version <= version;
        migrations := coalesce(migrations, '{}');
        reason := stop_reason(version, k = n, forcing[k], crosses_major);
        RETURN NEXT;
        previous := version;
        ran_up_to := version;
    END LOOP;
END
$$;
