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
COMMENT ON FUNCTION medup.format_migrations(integer[]) IS 'A readable list of migration numbers ("v2-v12, v15").';

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
COMMENT ON FUNCTION medup.latest_patch(integer,integer) IS 'The latest known release of a minor.';

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
COMMENT ON FUNCTION medup.resolve_target(text) IS 'A target as typed (''latest'', a minor, a version) as a known release.';

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
COMMENT ON FUNCTION medup.stop_reason(medup.version,boolean,text,boolean) IS 'The sentence in upgrade_path()''s reason column.';

/*
 * medup.path_stops(from_version, to_version [, required_only])
 *
 * The stops of medup.upgrade_path() without their prices (45-estimate.sql
 * adds them): check() needs only these.
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
CREATE FUNCTION medup.path_stops(from_version medup.version, to_version text,
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
COMMENT ON FUNCTION medup.path_stops(medup.version,text,boolean) IS 'The stops of upgrade_path() without their prices.';

