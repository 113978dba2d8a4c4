-- test/memcheck.sh, under AddressSanitizer: 100k version inputs, valid and
-- not, each valid one out and back in; the results go to mc_check.
SELECT setseed(0.4242);
CREATE TEMP TABLE mc_check (name text, ok boolean);
CREATE TABLE mc_vals (id int PRIMARY KEY, src text, v medup.version);
-- 100k inputs: half valid (prefixes, big numbers, suffixes up to the limit,
-- whitespace), half not (long suffixes, leading zeros, overflow, noise,
-- truncation, bad characters).  Each valid one goes out and back in.
DO $$
DECLARE
    alnum  text := 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-';
    noise  text := '0123456789.-vV abc_+/' || chr(228) || chr(8364) || chr(9) || chr(10);
    s text; v medup.version; w medup.version; t text;
    n_ok int := 0; n_bad int := 0; kind int;
BEGIN
    FOR i IN 1..100000 LOOP
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
        IF s IS NULL THEN
            RAISE EXCEPTION 'generator produced NULL at %', i;
        END IF;
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
        INSERT INTO mc_vals VALUES (i, s, v);
        n_ok := n_ok + 1;
    END LOOP;
    RAISE NOTICE 'inputs: % valid, % refused', n_ok, n_bad;
    INSERT INTO mc_check VALUES ('a mix of valid and refused inputs', n_ok > 40000 AND n_bad > 40000);
END
$$;
INSERT INTO mc_check SELECT 'hash = low 32 bits of hash_extended(v, 0)', count(*) = 0 FROM mc_vals
 WHERE (medup.version_hash_extended(v, 0) & 4294967295) <> (medup.version_hash(v)::bigint & 4294967295);
INSERT INTO mc_check SELECT 'seeded hash ignores the suffix', bool_and(medup.version_hash_extended(v, 42) = medup.version_hash_extended(medup.base(v), 42)) FROM mc_vals;
SET work_mem = '64kB';   -- sorts and hashes spill to disk
INSERT INTO mc_check SELECT 'ORDER BY is ordered', count(*) = 0 FROM (SELECT v, lag(v) OVER (ORDER BY v) AS p FROM mc_vals) x WHERE p > v;
INSERT INTO mc_check SELECT 'ORDER BY agrees with (major, minor, patch)', count(*) = 0 FROM (
    SELECT row_number() OVER (ORDER BY v, id) a,
           row_number() OVER (ORDER BY medup.major(v), medup.minor(v), medup.patch(v), id) b FROM mc_vals) x WHERE a <> b;
CREATE TEMP TABLE mc_counts (what text, n bigint);
SET enable_sort = off;
INSERT INTO mc_counts SELECT 'hash groups', count(*) FROM (SELECT v FROM mc_vals GROUP BY v) g;
RESET enable_sort; SET enable_hashagg = off;
INSERT INTO mc_counts SELECT 'sort groups', count(*) FROM (SELECT v FROM mc_vals GROUP BY v) g;
RESET enable_hashagg;
INSERT INTO mc_counts SELECT 'distinct', count(DISTINCT (medup.major(v), medup.minor(v), medup.patch(v))) FROM mc_vals;
INSERT INTO mc_check SELECT 'hash and sort grouping agree with the numbers', count(DISTINCT n) = 1 FROM mc_counts;
SET enable_mergejoin = off; SET enable_nestloop = off;
INSERT INTO mc_counts SELECT 'hash join', count(*) FROM mc_vals a JOIN mc_vals b ON a.v = b.v AND a.id % 97 = 0;
RESET enable_mergejoin; SET enable_hashjoin = off;
INSERT INTO mc_counts SELECT 'merge join', count(*) FROM mc_vals a JOIN mc_vals b ON a.v = b.v AND a.id % 97 = 0;
RESET enable_hashjoin; RESET enable_nestloop;
INSERT INTO mc_check SELECT 'hash and merge joins agree', count(DISTINCT n) = 1 FROM mc_counts WHERE what LIKE '% join';
RESET work_mem;
SELECT max(v) AS mx, min(v) AS mn, count(*) FILTER (WHERE v BETWEEN '1.0.0' AND '2000.0.0') AS ranged,
       count(*) FILTER (WHERE v = (SELECT v FROM mc_vals ORDER BY id LIMIT 1)) AS eq
  FROM mc_vals \gset seq_
CREATE INDEX mc_vals_btree ON mc_vals (v);
CREATE INDEX mc_vals_hash ON mc_vals USING hash (v);
SET enable_seqscan = off; SET enable_bitmapscan = off;
INSERT INTO mc_check SELECT 'btree index scan', count(*) = :seq_ranged FROM mc_vals WHERE v BETWEEN '1.0.0' AND '2000.0.0';
SET enable_indexscan = off; SET enable_bitmapscan = on;
INSERT INTO mc_check SELECT 'hash index (bitmap) scan', count(*) = :seq_eq FROM mc_vals WHERE v = (SELECT v FROM mc_vals ORDER BY id LIMIT 1);
RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_indexscan;
INSERT INTO mc_check SELECT 'max/min', max(v) = :'seq_mx' AND min(v) = :'seq_mn' FROM mc_vals;
SELECT name, ok FROM mc_check ORDER BY name;
DO $$ BEGIN
    IF EXISTS (SELECT FROM mc_check WHERE ok IS NOT TRUE) THEN
        RAISE EXCEPTION 'version checks failed';
    END IF;
END $$;
