-- medup.version under random input: 100,000 strings from a fixed seed, half
-- valid (prefixes, large numbers, suffixes up to the limit, white space),
-- half not (long suffixes, leading zeros, overflow, noise, truncation, bad
-- characters).  Each valid one must go out and back in unchanged, and the
-- type's hash, sort, grouping, joins and indexes must agree with its
-- numbers.  The output is counts and properties; the same seed gives the
-- same counts.  test/memcheck.sh runs this file under AddressSanitizer and
-- valgrind, with fewer inputs (the setting medup_test.version_inputs).
SELECT setseed(0.4242);
SELECT coalesce(nullif(current_setting('medup_test.version_inputs', true), ''), '100000')::int AS inputs \gset
CREATE TABLE version_fuzz_values (id int PRIMARY KEY, src text, v medup.version);
CREATE TEMP TABLE fuzz_check (property text, holds boolean);
CREATE TEMP TABLE fuzz_count (what text, n bigint);
SET fuzz.inputs = :inputs;
DO $$
DECLARE
    alnum  text := 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-';
    noise  text := '0123456789.-vV abc_+/' || chr(228) || chr(8364) || chr(9) || chr(10);
    s text; v medup.version; w medup.version; t text;
    n_ok int := 0; n_bad int := 0; kind int;
BEGIN
    FOR i IN 1..current_setting('fuzz.inputs')::int LOOP
        kind := i % 10;
        s := CASE
            WHEN kind <= 4 THEN
                (ARRAY['', 'v', 'V', '  ', E'\t'])[1 + floor(random() * 5)::int]
                || (ARRAY[0, 1, (random() * 20)::int, (random() * 2147483647)::int])[1 + floor(random() * 4)::int]
                || '.' || (random() * 100)::int || '.' || (random() * 10000)::int
                || CASE WHEN random() < 0.5 THEN ''
                        ELSE '-' || (SELECT string_agg(substr(alnum, 1 + floor(random() * length(alnum))::int, 1), '')
                                       FROM generate_series(1, 1 + floor(random() * 63)::int + i * 0)) END
                || (ARRAY['', ' ', E'\n'])[1 + floor(random() * 3)::int]
            WHEN kind = 5 THEN
                '4.1.12-' || repeat('x', 64 + floor(random() * 200)::int + i * 0)
            WHEN kind = 6 THEN
                (ARRAY['04.1.12', '4.01.2', '4.1.00', '2147483648.0.0', '0.2147483648.0',
                       '0.0.99999999999999999999', '-1.0.0', '4.-1.0', '2147483647.2147483647.2147483647'])
                    [1 + floor(random() * 9)::int]
            WHEN kind = 7 THEN
                (SELECT coalesce(string_agg(substr(noise, 1 + floor(random() * length(noise))::int, 1), ''), '')
                   FROM generate_series(1, floor(random() * 40)::int + i * 0))
            WHEN kind = 8 THEN
                (ARRAY['', 'v', '-', '4', '4.', '4.1', '4.1.', 'v4.1', '4..1', '.4.1.2', '4.1.2.', '4.1.2-', '4.1.2--'])
                    [1 + floor(random() * 13)::int]
            ELSE
                (ARRAY['4.1.2-a_b', '4.1.2-a b', '4.1.2-' || chr(228), '4.1.2+build', '4.1.2-' || repeat('z', 63),
                       '4.1.2-' || repeat('z', 64), '4.1.2-' || repeat('-', 63), '4.1.2-.'])
                    [1 + floor(random() * 8)::int]
            END;
        BEGIN
            v := s::medup.version;
        EXCEPTION WHEN invalid_text_representation THEN
            n_bad := n_bad + 1;
            CONTINUE;
        END;
        t := v::text;
        w := t::medup.version;
        IF NOT (v = w AND w::text = t AND medup.version_cmp(v, w) = 0
                AND medup.version_hash(v) = medup.version_hash(w)
                AND medup.version_send(v) = medup.version_send(w)
                AND NOT (v < w) AND NOT (v > w) AND v <= w AND v >= w AND NOT (v <> w)
                AND medup.base(v) = v
                AND medup.base(v)::text = format('%s.%s.%s', medup.major(v), medup.minor(v), medup.patch(v))) THEN
            RAISE EXCEPTION 'round trip failed for %: % -> %', quote_literal(s), t, w::text;
        END IF;
        INSERT INTO version_fuzz_values VALUES (i, s, v);
        n_ok := n_ok + 1;
    END LOOP;
    INSERT INTO fuzz_count VALUES ('valid inputs', n_ok), ('refused inputs', n_bad);
    INSERT INTO fuzz_check VALUES ('about half the inputs are valid, half refused',
                                   n_ok > 0.4 * (n_ok + n_bad) AND n_bad > 0.4 * (n_ok + n_bad));
END
$$;
RESET fuzz.inputs;
INSERT INTO fuzz_check SELECT 'hash is the low 32 bits of hash_extended(v, 0)', count(*) = 0 FROM version_fuzz_values
 WHERE (medup.version_hash_extended(v, 0) & 4294967295) <> (medup.version_hash(v)::bigint & 4294967295);
INSERT INTO fuzz_check SELECT 'a seeded hash ignores the suffix',
       bool_and(medup.version_hash_extended(v, 42) = medup.version_hash_extended(medup.base(v), 42)) FROM version_fuzz_values;
SET work_mem = '64kB';   -- sorts and hashes spill to disk
INSERT INTO fuzz_check SELECT 'ORDER BY is ordered', count(*) = 0
  FROM (SELECT v, lag(v) OVER (ORDER BY v) AS p FROM version_fuzz_values) x WHERE p > v;
INSERT INTO fuzz_check SELECT 'ORDER BY agrees with (major, minor, patch)', count(*) = 0 FROM (
    SELECT row_number() OVER (ORDER BY v, id) a,
           row_number() OVER (ORDER BY medup.major(v), medup.minor(v), medup.patch(v), id) b
      FROM version_fuzz_values) x WHERE a <> b;
SET enable_sort = off;
INSERT INTO fuzz_count SELECT 'groups (hash aggregate)', count(*) FROM (SELECT v FROM version_fuzz_values GROUP BY v) g;
RESET enable_sort; SET enable_hashagg = off;
INSERT INTO fuzz_count SELECT 'groups (sort)', count(*) FROM (SELECT v FROM version_fuzz_values GROUP BY v) g;
RESET enable_hashagg;
INSERT INTO fuzz_count SELECT 'groups (distinct major, minor, patch)',
       count(DISTINCT (medup.major(v), medup.minor(v), medup.patch(v))) FROM version_fuzz_values;
INSERT INTO fuzz_check SELECT 'hash and sort grouping agree with the numbers', count(DISTINCT n) = 1
  FROM fuzz_count WHERE what LIKE 'groups %';
SET enable_mergejoin = off; SET enable_nestloop = off;
INSERT INTO fuzz_count SELECT 'join rows (hash join)', count(*)
  FROM version_fuzz_values a JOIN version_fuzz_values b ON a.v = b.v AND a.id % 97 = 0;
RESET enable_mergejoin; SET enable_hashjoin = off;
INSERT INTO fuzz_count SELECT 'join rows (merge join)', count(*)
  FROM version_fuzz_values a JOIN version_fuzz_values b ON a.v = b.v AND a.id % 97 = 0;
RESET enable_hashjoin; RESET enable_nestloop;
INSERT INTO fuzz_check SELECT 'hash and merge joins agree', count(DISTINCT n) = 1 FROM fuzz_count WHERE what LIKE 'join rows %';
RESET work_mem;
SELECT max(v) AS mx, min(v) AS mn, count(*) FILTER (WHERE v BETWEEN '1.0.0' AND '2000.0.0') AS ranged,
       count(*) FILTER (WHERE v = (SELECT v FROM version_fuzz_values ORDER BY id LIMIT 1)) AS eq
  FROM version_fuzz_values \gset seq_
CREATE INDEX ON version_fuzz_values (v);
CREATE INDEX ON version_fuzz_values USING hash (v);
SET enable_seqscan = off; SET enable_bitmapscan = off;
INSERT INTO fuzz_check SELECT 'a btree index scan finds what a sequential scan does', count(*) = :seq_ranged
  FROM version_fuzz_values WHERE v BETWEEN '1.0.0' AND '2000.0.0';
SET enable_indexscan = off; SET enable_bitmapscan = on;
INSERT INTO fuzz_check SELECT 'a hash index (bitmap) scan finds what a sequential scan does', count(*) = :seq_eq
  FROM version_fuzz_values WHERE v = (SELECT v FROM version_fuzz_values ORDER BY id LIMIT 1);
RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_indexscan;
INSERT INTO fuzz_check SELECT 'max() and min() agree with a sequential scan', max(v) = :'seq_mx' AND min(v) = :'seq_mn'
  FROM version_fuzz_values;
SELECT what, n FROM fuzz_count ORDER BY what;
SELECT property, holds FROM fuzz_check ORDER BY property;
-- (For test/memcheck.sh, which runs this file with psql -v ON_ERROR_STOP=1.)
DO $$ BEGIN
    IF EXISTS (SELECT FROM fuzz_check WHERE holds IS NOT TRUE) THEN
        RAISE EXCEPTION 'a property of medup.version does not hold';
    END IF;
END $$;
-- version_binary uses the values.
