-- test/memcheck.sh, under valgrind in a single-user backend (postgres
-- --single -j: a statement ends at a semicolon followed by an empty line).
-- test/memcheck.sh fills in the directory it may write in.

CREATE EXTENSION medup;

SELECT setseed(0.31);

CREATE TABLE vg_vals (id int PRIMARY KEY, v medup.version);

DO $$ DECLARE s text; v medup.version; w medup.version; n_ok int := 0; n_bad int := 0;
BEGIN
  FOR i IN 1..3000 LOOP
    s := CASE i % 6
      WHEN 0 THEN format('%s%s.%s.%s', (ARRAY['', 'v', ' '])[1 + i % 3], i % 7, (random() * 100)::int, (random() * 2147483647)::int)
      WHEN 1 THEN format('%s.%s.%s-%s', i % 5, i % 11, i, repeat(substr('ab.c-9Z', 1 + i % 7, 1), 1 + i % 70))
      WHEN 2 THEN (ARRAY['04.1.2', '4.1', '', 'v', '4.1.2-', '2147483648.0.0', '4.1.2-a_b', '4.1.2 x'])[1 + i % 8]
      WHEN 3 THEN format('%s.%s.%s-%s ', i, i % 3, i % 4, md5(i::text))
      WHEN 4 THEN repeat(chr(48 + i % 10) || '.', 1 + i % 5)
      ELSE format('%s.%s.%s-%s', 2147483647, 0, i, repeat('x', 60 + i % 8)) END;
    BEGIN
      v := s::medup.version;
    EXCEPTION WHEN invalid_text_representation THEN
      n_bad := n_bad + 1; CONTINUE;
    END;
    w := v::text::medup.version;
    IF NOT (v = w AND v::text = w::text AND medup.version_hash(v) = medup.version_hash(w)
            AND medup.version_hash_extended(v, i) = medup.version_hash_extended(medup.base(w), i)
            AND medup.version_cmp(v, w) = 0 AND v <= w AND v >= w AND NOT v < w AND NOT v > w AND NOT v <> w
            AND medup.version_send(v) = medup.version_send(w)) THEN
      RAISE EXCEPTION 'round trip failed for %', s;
    END IF;
    INSERT INTO vg_vals VALUES (i, v);
    n_ok := n_ok + 1;
  END LOOP;
  RAISE WARNING 'vg: versions % valid, % refused', n_ok, n_bad;
END $$;

SELECT count(DISTINCT v), max(v), min(v), max(medup.major(v)), max(medup.minor(v)), max(medup.patch(v)), count(DISTINCT medup.base(v)) FROM vg_vals;

SET work_mem = '64kB';

SELECT count(*) FROM (SELECT v, lag(v) OVER (ORDER BY v) AS p FROM vg_vals) x WHERE p > v;

SET enable_sort = off;

SELECT count(*) FROM (SELECT v FROM vg_vals GROUP BY v) g;

RESET enable_sort;

SET enable_mergejoin = off;

SELECT count(*) FROM vg_vals a JOIN vg_vals b ON a.v = b.v;

RESET enable_mergejoin;

SET enable_hashjoin = off;

SELECT count(*) FROM vg_vals a JOIN vg_vals b ON a.v = b.v;

RESET enable_hashjoin;

RESET work_mem;

CREATE INDEX vg_vals_btree ON vg_vals (v);

CREATE INDEX vg_vals_hash ON vg_vals USING hash (v);

SET enable_seqscan = off;

SELECT count(*) FROM vg_vals WHERE v >= '1.0.0' AND v < '3.0.0';

SELECT count(*) FROM vg_vals WHERE v = '4.1.12';

RESET enable_seqscan;

COPY vg_vals TO '@VG@/vg_vals.bin' WITH (FORMAT binary);

CREATE TABLE vg_vals2 (LIKE vg_vals);

COPY vg_vals2 FROM '@VG@/vg_vals.bin' WITH (FORMAT binary);

DO $$ BEGIN
  IF (SELECT count(*) FILTER (WHERE a.v::text = b.v::text) FROM vg_vals a JOIN vg_vals2 b USING (id)) <> (SELECT count(*) FROM vg_vals) THEN
    RAISE EXCEPTION 'binary round trip differs';
  END IF;
  RAISE WARNING 'vg: binary COPY round trip ok';
END $$;

CREATE TABLE vg_recv (v medup.version);

DO $$ DECLARE b bytea; n_ok int := 0; n_bad int := 0;
BEGIN
  FOR i IN 1..60 LOOP
    b := CASE i % 6
      WHEN 0 THEN int4send(i) || int4send(1) || int4send(2)
      WHEN 1 THEN int4send(4) || int4send(1) || int4send(12) || convert_to('-' || repeat('a', i), 'UTF8')
      WHEN 2 THEN int4send(-i) || int4send(1) || int4send(2)
      WHEN 3 THEN substr(int4send(4) || int4send(1) || int4send(12), 1, i % 12)
      WHEN 4 THEN int4send(4) || int4send(1) || int4send(12) || '\x2dff'::bytea
      ELSE decode(md5(i::text), 'hex') END;
    EXECUTE format('COPY (SELECT %L::bytea) TO %L WITH (FORMAT binary)', b, '@VG@/vg_recv.bin');
    BEGIN
      EXECUTE format('COPY vg_recv FROM %L WITH (FORMAT binary)', '@VG@/vg_recv.bin');
      n_ok := n_ok + 1;
    EXCEPTION WHEN invalid_binary_representation OR protocol_violation THEN
      n_bad := n_bad + 1;
    END;
  END LOOP;
  RAISE WARNING 'vg: binary messages % accepted, % refused', n_ok, n_bad;
END $$;

SELECT count(*) FROM medup.upgrade_path('3.1.2', '4.3.15');

SELECT count(*) FROM medup.upgrade_path('3.1.2', '4.3.15', required_only => true);

SELECT count(*) FROM medup.upgrade_path('3.0.0', 'latest');

SELECT count(*) FROM medup.upgrade_path('4.1.2', '4.3');

SELECT count(*) FROM medup.upgrade_path('4.1.12-1', 'v4.2.6');

DO $$ DECLARE n int := 0;
BEGIN
  FOR t IN 1..6 LOOP
    BEGIN
      PERFORM * FROM medup.upgrade_path((ARRAY['4.3.0', '4.1.2', '4.1.2', '3.1.2', '4.1.2', '9.9.9'])[t],
                                        (ARRAY['4.1.0', '9.0.0', '4.77', 'nonsense', NULL, 'latest'])[t]);
    EXCEPTION WHEN OTHERS THEN n := n + 1;
    END;
  END LOOP;
  RAISE WARNING 'vg: upgrade_path refused % of 6', n;
END $$;

SELECT medup.load_releases('[{"version": "5.3.0", "released_on": "2026-12-01"}, {"version": "v5.2.13", "released_on": "2026-11-20", "source": "GitHub"}, {"version": "5.3.1-1"}]');

SELECT medup.load_releases('[{"version": "5.3.0", "released_on": "2026-12-02"}]');

SELECT medup.load_data_migrations('{"v1": {"serverVersion": "3.3.0", "requiredBefore": "4.0.0", "note": "ignored"}, "v90": {"serverVersion": "5.3.0"}}');

DO $$ DECLARE n int := 0;
BEGIN
  FOR t IN 1..6 LOOP
    BEGIN
      CASE t
        WHEN 1 THEN PERFORM medup.load_releases('[{"version": "5.3"}]');
        WHEN 2 THEN PERFORM medup.load_releases('{"version": "5.3.0"}');
        WHEN 3 THEN PERFORM medup.load_data_migrations('{"v91": {"serverVersion": "x"}}');
        WHEN 4 THEN PERFORM medup.load_data_migrations('[1, 2]');
        WHEN 5 THEN PERFORM medup.load_data_migrations('{"other": {"serverVersion": "5.3.0"}}');
        ELSE PERFORM medup.load_releases('[{"version": "5.4.0", "released_on": "not a date"}]');
      END CASE;
    EXCEPTION WHEN OTHERS THEN n := n + 1;
    END;
  END LOOP;
  RAISE WARNING 'vg: loaders refused % of 6', n;
END $$;

SELECT count(*) FROM medup.upgrade_path('5.2.0', 'latest');

SELECT state FROM medup.status();

DELETE FROM medup.release_loaded;

DELETE FROM medup.data_migration_loaded;

DROP TABLE vg_vals, vg_vals2, vg_recv;

DROP EXTENSION medup;
