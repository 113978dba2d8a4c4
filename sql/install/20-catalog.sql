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

-- STATE: kept by update scripts; a change here needs a step in sql/updates/
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
-- END STATE

CREATE VIEW medup.release AS
    SELECT version, released_on, source
      FROM medup.release_loaded
    UNION ALL
    SELECT s.version, s.released_on, s.source
      FROM medup.release_shipped s
     WHERE NOT EXISTS (SELECT FROM medup.release_loaded l WHERE l.version = s.version);
COMMENT ON VIEW medup.release IS
    'Medplum releases known to medup: shipped with medup, or loaded with medup.load_releases()';

-- STATE: kept by update scripts; a change here needs a step in sql/updates/
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
-- END STATE

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
-- STATE: kept by update scripts; a change here needs a step in sql/updates/
CREATE TABLE medup.schema_version_shipped (
    schema_version integer PRIMARY KEY CHECK (schema_version > 0),
    server_version medup.version NOT NULL UNIQUE
);
-- END STATE

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
COMMENT ON FUNCTION medup.lowest_server_version(integer,integer) IS 'The lowest server version that can run on a database at this schema and data version.';

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
COMMENT ON FUNCTION medup._document_error(text,text,text) IS 'Raises a loader''s 22023 error naming the document element at fault.';

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
COMMENT ON FUNCTION medup._document_version(text,text,text,jsonb,boolean) IS 'Reads one version out of a catalog document element, or raises naming the element.';


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
    -- Repeats, in one pass over all of them (a search per element would
    -- make a long document take quadratic time): the first element that
    -- repeats an earlier one is named.
    SELECT r.ord, r.v INTO position, new_version
      FROM (SELECT v, ord, row_number() OVER (PARTITION BY v ORDER BY ord) AS nth
              FROM unnest(versions) WITH ORDINALITY AS u(v, ord)) r
     WHERE r.nth = 2 ORDER BY r.ord LIMIT 1;
    IF FOUND THEN
        PERFORM _document_error('release',
            format('Element %s repeats version %s.',
                   format('%s (%s)', position, left((document -> (position - 1))::text, 80)), new_version),
            'List each release once.');
    END IF;

    INSERT INTO release_loaded AS r (version, released_on, source)
    SELECT * FROM unnest(versions, dates, sources)
    ON CONFLICT (version) DO UPDATE
        SET released_on = coalesce(EXCLUDED.released_on, r.released_on),
            source = EXCLUDED.source,
            loaded_at = now();
    RETURN cardinality(versions);
END
$$;
COMMENT ON FUNCTION medup.load_releases(jsonb) IS 'Loads Medplum releases into the catalog.';

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
COMMENT ON FUNCTION medup.load_data_migrations(jsonb) IS 'Loads Medplum''s post-deploy migration manifest into the catalog.';

