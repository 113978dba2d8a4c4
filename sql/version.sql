-- medup.version: parsing, output, ordering, equality with suffixes, errors.
-- The test database's search_path does not include medup: the operators and
-- max()/min() must be found anyway.
SHOW search_path;

-- Accepted forms; output keeps the suffix and drops the "v".
SELECT v::medup.version AS parsed
  FROM (VALUES ('4.1.12'), ('v4.1.12'), ('V4.1.12'), ('4.1.12-1'),
               ('5.1.44-abc1234'), ('  3.3.0  '), ('0.0.0'),
               ('2147483647.0.0'), ('4.1.12-rc.1')) AS t(v);

-- Accessors and the suffix-free base.
SELECT medup.major(v), medup.minor(v), medup.patch(v), medup.base(v)
  FROM (VALUES ('5.1.44-abc1234'::medup.version), ('10.20.30')) AS t(v);

-- Medplum's rule: the suffix takes no part in comparison.
SELECT '4.1.12-1'::medup.version = '4.1.12' AS backport_equals_release,
       '4.1.12-1'::medup.version <> '4.1.12' AS differs,
       'v4.1.12'::medup.version = '4.1.12-abc1234' AS any_suffix_equal,
       '4.1.12-1'::medup.version < '4.1.13' AS before_next_patch;

-- Numeric, not textual, ordering.
SELECT '4.10.0'::medup.version > '4.9.9' AS minor_numeric,
       '10.0.0'::medup.version > '9.99.99' AS major_numeric,
       '4.1.2'::medup.version < '4.1.10' AS patch_numeric,
       '4.1.12'::medup.version <= '4.1.12-9' AS le_equal,
       '4.1.12'::medup.version >= '4.1.12-9' AS ge_equal;

-- ORDER BY, DISTINCT, max(), min(), GROUP BY on a table in public.
CREATE TABLE deploys (v medup.version);
INSERT INTO deploys VALUES ('4.1.12'), ('4.1.12-1'), ('4.10.0'), ('4.9.1'),
                           ('3.3.1'), ('v4.2.6'), ('10.0.0'), (NULL);
SELECT v FROM deploys ORDER BY v NULLS FIRST, v::text;
SELECT count(DISTINCT v) AS distinct_versions FROM deploys;
SELECT max(v), min(v) FROM deploys;
SELECT medup.major(v) AS major, max(v) FROM deploys WHERE v IS NOT NULL
 GROUP BY 1 ORDER BY 1;

-- The DBA's filter, with medup not on the search_path.
SELECT v FROM deploys WHERE v >= '4.1.0' AND v < '5.0.0' ORDER BY v, v::text;

-- Hash and merge joins and a hash aggregate agree with btree equality.
CREATE TABLE targets (v medup.version);
INSERT INTO targets VALUES ('4.1.12'), ('4.2.6-3');
SET enable_mergejoin = off; SET enable_nestloop = off;
SELECT d.v AS deployed, t.v AS target FROM deploys d JOIN targets t ON d.v = t.v
 ORDER BY d.v, d.v::text;
RESET enable_mergejoin; SET enable_hashjoin = off;
SELECT d.v AS deployed, t.v AS target FROM deploys d JOIN targets t ON d.v = t.v
 ORDER BY d.v, d.v::text;
RESET enable_hashjoin; RESET enable_nestloop;
SET enable_sort = off;
SELECT v, count(*) FROM deploys WHERE v IS NOT NULL GROUP BY v ORDER BY v;
RESET enable_sort;

-- Btree and hash indexes are used and give the same answers.
CREATE TABLE many AS
  SELECT format('%s.%s.%s', i % 7, i % 13, i % 101)::medup.version AS v
    FROM generate_series(1, 5000) i;
CREATE INDEX many_btree ON many (v);
CREATE INDEX many_hash ON many USING hash (v);
ANALYZE many;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM many WHERE v >= '4.1.0';
SELECT count(*) FROM many WHERE v >= '4.1.0';
SET enable_bitmapscan = off; SET enable_indexscan = on;
DROP INDEX many_btree;
EXPLAIN (COSTS OFF) SELECT count(*) FROM many WHERE v = '1.1.1-7';
SELECT count(*) FROM many WHERE v = '1.1.1-7';
RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_indexscan;
-- The same counts without any index.
SELECT count(*) FILTER (WHERE (medup.major(v), medup.minor(v), medup.patch(v)) >= (4, 1, 0))
           AS at_least_4_1_0,
       count(*) FILTER (WHERE v::text = '1.1.1') AS exactly_1_1_1
  FROM many;

-- Hashes of equal versions are equal, whatever the suffix.
SELECT medup.version_hash('4.1.12') = medup.version_hash('4.1.12-1') AS hash_eq,
       medup.version_hash_extended('4.1.12', 7) = medup.version_hash_extended('4.1.12-abc', 7) AS hash_ext_eq,
       medup.version_hash('4.1.12') <> medup.version_hash('4.1.13') AS hash_differs;

-- Binary COPY round trip (send/recv) keeps the suffix.
CREATE TABLE copied (v medup.version);
DO $$
DECLARE f text := format('/tmp/medup_version_%s.bin', pg_backend_pid());
BEGIN
    EXECUTE format('COPY deploys TO %L WITH (FORMAT binary)', f);
    EXECUTE format('COPY copied FROM %L WITH (FORMAT binary)', f);
END $$;
SELECT v::text FROM copied ORDER BY v NULLS FIRST, v::text;
SELECT medup.version_send('5.1.44-abc1234');

-- Bad input: 22P02 and a message naming the type and the input, never a
-- wrap-around, with one DETAIL.  Each input is cast on its own; its
-- message is shown with the quoted input written <input>, which keeps the
-- 10 kB inputs' messages short.
CREATE FUNCTION pg_temp.cast_error(input text, OUT code text, OUT message text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM input::medup.version;
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
END $$;
CREATE TEMP TABLE bad AS
SELECT n, input, e.*
  FROM unnest(ARRAY['4.1', '4.x.0', '-1.0.0', '99999999999.0.0', '2147483648.0.0', '', 'v',
                    '4.1.12-', '4.1.12 1', '4.1.12+build', '04.1.12', '4.1.12.1', '4..12',
                    '4.1.12-' || repeat('a', 64), repeat('9', 10240), '1.' || repeat('9', 10240) || '.0',
                    '1.2.' || repeat('1', 10240), '1.2.3-' || repeat('a', 10240)])
       WITH ORDINALITY AS t(input, n),
       pg_temp.cast_error(input) e;
SELECT CASE WHEN length(input) <= 20 THEN quote_literal(input)
            ELSE format('%L... (%s characters)', left(input, 8), length(input)) END AS input,
       code, replace(message, format('"%s"', input), '<input>') AS message
  FROM bad ORDER BY n;
SELECT detail, count(*) FROM bad GROUP BY detail;
-- The longest suffix accepted: 63 characters.
SELECT ('4.1.12-' || repeat('a', 63))::medup.version;

DROP TABLE deploys, targets, many, copied, bad;
