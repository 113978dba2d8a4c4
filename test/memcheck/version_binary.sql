-- test/memcheck.sh, under AddressSanitizer: binary COPY out and back in, and
-- malformed binary input (psql variables copyfile, recvfile).
CREATE TEMP TABLE mc_check (name text, ok boolean);
-- Binary COPY round trip: version_send out, version_recv back.
COPY mc_vals (id, v) TO :'copyfile' WITH (FORMAT binary);
CREATE TABLE mc_vals2 (id int PRIMARY KEY, v medup.version);
COPY mc_vals2 FROM :'copyfile' WITH (FORMAT binary);
INSERT INTO mc_check
SELECT 'binary COPY round trip', count(*) = (SELECT count(*) FROM mc_vals)
       AND count(*) FILTER (WHERE a.v::text = b.v::text AND a.v = b.v) = count(*)
  FROM mc_vals a JOIN mc_vals2 b USING (id);
-- version_recv on malformed messages: valid, long suffix, negative,
-- truncated, bad suffix bytes, random bytes.  A bytea column COPYed out in
-- binary is exactly the bytes version_recv gets when COPYed back in.
CREATE TABLE mc_recv (v medup.version);
SET mc.recvfile = :'recvfile';
DO $$
DECLARE
    f text := current_setting('mc.recvfile');
    b bytea; n_ok int := 0; n_bad int := 0;
BEGIN
    PERFORM setseed(0.17);
    FOR i IN 1..3000 LOOP
        b := CASE i % 6
            WHEN 0 THEN int4send((random() * 10)::int) || int4send((random() * 10)::int) || int4send((random() * 10)::int)
            WHEN 1 THEN int4send(4) || int4send(1) || int4send(12) || convert_to('-' || repeat('a', floor(random() * 70)::int), 'UTF8')
            WHEN 2 THEN int4send(-(1 + (random() * 5)::int)) || int4send(1) || int4send(2)
            WHEN 3 THEN substr(int4send(4) || int4send(1) || int4send(12), 1, floor(random() * 12)::int)
            WHEN 4 THEN int4send(4) || int4send(1) || int4send(12)
                        || (ARRAY['\x2d'::bytea, '\x2d00'::bytea, '\x2dff'::bytea, '\x61'::bytea, '\x2d2e2d'::bytea])[1 + floor(random() * 5)::int]
            ELSE (SELECT coalesce(string_agg(set_byte('\x00'::bytea, 0, floor(random() * 256)::int), ''::bytea), ''::bytea)
                    FROM generate_series(1, floor(random() * 30)::int + i * 0))
            END;
        EXECUTE format('COPY (SELECT %L::bytea) TO %L WITH (FORMAT binary)', b, f);
        BEGIN
            EXECUTE format('COPY mc_recv FROM %L WITH (FORMAT binary)', f);
            n_ok := n_ok + 1;
        EXCEPTION WHEN invalid_binary_representation OR protocol_violation THEN
            n_bad := n_bad + 1;
        END;
    END LOOP;
    RAISE NOTICE 'binary messages: % accepted, % refused', n_ok, n_bad;
    INSERT INTO mc_check VALUES ('version_recv accepts and refuses', n_ok > 500 AND n_bad > 1000);
END
$$;
INSERT INTO mc_check SELECT 'received values round-trip', bool_and(v::text::medup.version = v AND length(v::text) <= 10 * 3 + 2 + 64) FROM mc_recv;
SELECT name, ok FROM mc_check ORDER BY name;
DROP TABLE mc_vals, mc_vals2, mc_recv;
DO $$ BEGIN
    IF EXISTS (SELECT FROM mc_check WHERE ok IS NOT TRUE) THEN
        RAISE EXCEPTION 'binary checks failed';
    END IF;
END $$;
