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
COMMENT ON FUNCTION medup.http_get(text) IS 'Fetches one configured URL (src/http.c).';

/*
 * GET several URLs a superuser configured at once: one row per URL, in
 * order, with the URL that answered (masked) and the body, or the error a
 * fetch of it alone would raise (sqlstate, message).
 */
CREATE FUNCTION medup.http_get_all(urls text[])
RETURNS TABLE (url text, answered_url text, body text, sqlstate text, error text)
AS 'MODULE_PATHNAME', 'medup_http_get_all' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION medup.http_get_all(text[]) IS 'Fetches several configured URLs at once (src/http.c).';

/* One answer of http_get_all() as JSON; invalid JSON raises 22P02 naming the URL. */
CREATE FUNCTION medup.parse_answer(shown text, body text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'medup_parse_answer' LANGUAGE C IMMUTABLE STRICT;
COMMENT ON FUNCTION medup.parse_answer(text,text) IS 'One answer of http_get_all() as JSON; 22P02 when it is not JSON.';

/* The healthcheck URL of every server in medup.servers. */
CREATE FUNCTION medup.server_urls()
RETURNS text[]
AS 'MODULE_PATHNAME', 'medup_server_urls' LANGUAGE C STABLE;
COMMENT ON FUNCTION medup.server_urls() IS 'The healthcheck URL of every server in medup.servers.';

/* A URL with the user name and password libcurl reads in it shown as ***; NULL for a URL medup refuses to show or fetch. */
CREATE FUNCTION medup.masked_url(url text)
RETURNS text
AS 'MODULE_PATHNAME', 'medup_masked_url' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION medup.masked_url(text) IS 'A URL with its credentials shown as ***.';

CREATE FUNCTION medup.refuse_fetch_under_medplum_lock()
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, medup, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'
                  AND l.database = current_database_oid()
                  AND c.relnamespace = to_regnamespace(quote_ident(medplum_schema()))) THEN
        RAISE EXCEPTION 'medup does not fetch over the network while this transaction holds a lock on Medplum''s tables'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A fetch may take seconds, and a migration would wait behind the lock all that time.',
                  HINT = 'Call it in a transaction of its own.';
    END IF;
END
$$;
COMMENT ON FUNCTION medup.refuse_fetch_under_medplum_lock() IS 'Refuses a fetch (55000) while the transaction holds a lock on Medplum''s tables.';

------------------------------------------------------------------------
-- Servers
------------------------------------------------------------------------

-- STATE: kept by update scripts; a change here needs a step in sql/updates/
CREATE TABLE medup.server (
    url           text PRIMARY KEY,     -- the healthcheck URL, credentials masked
    state         text NOT NULL CHECK (state IN ('ok', 'not_ok', 'unreachable', 'error')),
    version       medup.version,        -- the last version it reported
    version_since timestamptz,          -- first probe that saw this version
    last_seen_at  timestamptz,          -- last answer that carried a version
    probed_at     timestamptz NOT NULL,
    detail        text                  -- why it is not ok
);
-- END STATE
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
COMMENT ON FUNCTION medup.server_freshness() IS 'How recent a reported version must be to count.';

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
COMMENT ON FUNCTION medup.reported_version() IS 'The lowest version Medplum''s servers reported recently, and each server''s.';

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
                    WHERE d.data_version = servers_report.data_version::bigint + 1);
    SELECT jsonb_agg(jsonb_build_object(
               'url', s.url, 'state', s.state, 'version', s.version::text,
               'last_seen_at', s.last_seen_at, 'fresh', coalesce(s.last_seen_at > fresh_after, false),
               'in_range', CASE WHEN s.version IS NOT NULL AND allowed IS NOT NULL
                                THEN s.version <@ allowed END) ORDER BY s.url),
           string_agg(CASE
               WHEN s.version >= upper(allowed) THEN format(
                   '%s runs %s: it would refuse to start after a restart, as migration v%s must complete on a server before %s.',
                   s.url, s.version, servers_report.data_version::bigint + 1, upper(allowed))
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
            data_version::bigint + 1, lowest_url, lowest, next_needs));
    END IF;
END
$$;
COMMENT ON FUNCTION medup.servers_report(medup.version_range,integer) IS 'The servers as status() shows them, and advice for those out of range.';

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
COMMENT ON FUNCTION medup.read_healthcheck(text,jsonb) IS 'What one healthcheck answer says; 22023 on a wrong shape.';

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
COMMENT ON FUNCTION medup.record_probe(text,text,medup.version,text) IS 'Records one probe''s outcome, with events for what changed.';

/*
 * medup.probe(): ask every server in medup.servers for its /healthcheck
 * now, all at once, record what each said (medup.servers, events) and
 * return it.  A server that cannot be reached or answers badly is
 * recorded as such; the others are still probed, and servers that are
 * down cost one timeout in all, not one each.  No fetch outlasts the
 * statement's own timeout (it ends as a timed-out fetch, recorded); a
 * cancel stops it.
 */
CREATE FUNCTION medup.probe()
RETURNS TABLE (url text, state text, version medup.version, previous_version medup.version, detail text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, medup, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    answer  record;
    seen    record;
    code    text;
    shown_urls text[] := '{}';
BEGIN
    PERFORM refuse_fetch_under_medplum_lock();
    FOR answer IN SELECT a.*, a.ordinality AS position
                    FROM http_get_all(server_urls()) WITH ORDINALITY a
    LOOP
        url := coalesce(answer.url, format('(server %s of medup.servers: URL not shown)', answer.position));
        shown_urls := shown_urls || url;
        BEGIN
            IF answer.error IS NOT NULL THEN
                detail := answer.error;
                code := answer.sqlstate;
            ELSE
                seen := read_healthcheck(answer.answered_url, parse_answer(answer.answered_url, answer.body));
                state := seen.state;
                version := seen.version;
                detail := seen.detail;
            END IF;
        EXCEPTION WHEN OTHERS THEN  -- a cancel is not caught: it stops the probe
            GET STACKED DIAGNOSTICS detail = MESSAGE_TEXT, code = RETURNED_SQLSTATE;
        END;
        IF code IS NOT NULL THEN
            state := CASE WHEN code LIKE '08%' THEN 'unreachable' ELSE 'error' END;
            version := NULL;
            code := NULL;
        END IF;
        previous_version := record_probe(url, state, version, detail);
        RETURN NEXT;
    END LOOP;
    -- A server taken out of medup.servers is forgotten.
    DELETE FROM server s WHERE s.url <> ALL (shown_urls);
END
$$;
COMMENT ON FUNCTION medup.probe() IS 'Asks every server of medup.servers for its /healthcheck now.';

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
    bodies    jsonb[] := '{}';
BEGIN
    WHILE next_page IS NOT NULL
    LOOP
        pages := pages + 1;
        IF pages > 100 THEN
            RAISE EXCEPTION 'the releases at % go on for more than 100 pages',
                            coalesce(masked_url(current_setting('medup.releases_url')), 'medup.releases_url')
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
        bodies := bodies || page.body;
        next_page := page.next_url;
    END LOOP;
    -- Put together once: appending page after page would copy all of them each time.
    RETURN (SELECT coalesce(jsonb_agg(r.value ORDER BY b.page, r.position), '[]')
              FROM unnest(bodies) WITH ORDINALITY AS b(body, page),
                   jsonb_array_elements(b.body) WITH ORDINALITY AS r(value, position));
END
$$;
COMMENT ON FUNCTION medup.fetch_releases() IS 'Every release on every page of medup.releases_url.';

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
    bad record;
BEGIN
    -- Set at a time, linear in the number of releases: a releases list is
    -- as long as the server that sends it makes it.
    SELECT e.position, e.element, CASE
            WHEN jsonb_typeof(e.element) <> 'object' THEN 'is not an object'
            WHEN jsonb_typeof(e.element -> 'tag_name') IS DISTINCT FROM 'string' THEN 'has no string "tag_name"'
            WHEN jsonb_typeof(e.element -> 'draft') IS DISTINCT FROM 'boolean' THEN 'has no boolean "draft"'
            WHEN jsonb_typeof(e.element -> 'prerelease') IS DISTINCT FROM 'boolean' THEN 'has no boolean "prerelease"'
            WHEN coalesce(jsonb_typeof(e.element -> 'published_at'), 'null') NOT IN ('string', 'null')
                THEN '"published_at" is not a string' END AS problem
      INTO bad
      FROM jsonb_array_elements(releases) WITH ORDINALITY AS e(element, position)
     WHERE jsonb_typeof(e.element) <> 'object'
        OR jsonb_typeof(e.element -> 'tag_name') IS DISTINCT FROM 'string'
        OR jsonb_typeof(e.element -> 'draft') IS DISTINCT FROM 'boolean'
        OR jsonb_typeof(e.element -> 'prerelease') IS DISTINCT FROM 'boolean'
        OR coalesce(jsonb_typeof(e.element -> 'published_at'), 'null') NOT IN ('string', 'null')
     ORDER BY e.position LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'the releases from % are not in GitHub''s format', shown
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Release %s (%s) %s.', bad.position, left(bad.element::text, 80), bad.problem),
                  HINT = 'medup.releases_url must answer in the format of GitHub''s releases API.';
    END IF;
    RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'version', e.element -> 'tag_name',
                       'released_on', left(e.element ->> 'published_at', 10),
                       'source', format('GitHub release %s', e.element ->> 'tag_name'))
                       ORDER BY e.position), '[]')
              FROM jsonb_array_elements(releases) WITH ORDINALITY AS e(element, position)
             WHERE NOT (e.element ->> 'draft')::boolean AND NOT (e.element ->> 'prerelease')::boolean);
END
$$;
COMMENT ON FUNCTION medup.releases_document(text,jsonb) IS 'GitHub''s releases as a load_releases() document.';

/* "server 4.1.12 <= version < 4.2.0" for one manifest entry. */
CREATE FUNCTION medup.migration_range_text(entry jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('runs on %s <= version', entry ->> 'serverVersion')
           || coalesce(' < ' || (entry ->> 'requiredBefore'), '')
$$;
COMMENT ON FUNCTION medup.migration_range_text(jsonb) IS '"server 4.1.12 <= version < 4.2.0" for one manifest entry.';

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
    releases_url := coalesce(masked_url(current_setting('medup.releases_url')), 'medup.releases_url');
    manifest_url := coalesce(masked_url(current_setting('medup.manifest_url')), 'medup.manifest_url');
    -- Everything is fetched before anything is written.
    IF current_setting('medup.releases_url') <> '' THEN
        releases := releases_document(releases_url, fetch_releases());
    END IF;
    IF current_setting('medup.manifest_url') <> '' THEN
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
COMMENT ON FUNCTION medup.refresh_catalog() IS 'Fetches Medplum''s releases and manifest and loads what changed.';
