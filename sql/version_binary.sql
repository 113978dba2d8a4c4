-- medup.version's binary form: version_fuzz's values out by binary COPY
-- and back in (version_send, version_recv), then 1,200 binary messages
-- from a fixed seed, well-formed and not (long suffix, negative numbers,
-- truncated, bad suffix bytes, random bytes), each of which version_recv
-- must take or refuse with an error.  The files go to the server's data
-- directory.  test/memcheck.sh runs this file under
-- AddressSanitizer and valgrind, with fewer messages under valgrind (the
-- setting medup_test.binary_messages).
CREATE TEMP TABLE fuzz_check (property text, holds boolean);
CREATE TEMP TABLE fuzz_count (what text, n bigint);
SELECT current_setting('data_directory') || '/medup_version_fuzz.bin' AS fuzz_file \gset
COPY version_fuzz_values (id, v) TO :'fuzz_file' WITH (FORMAT binary);
CREATE TEMP TABLE received (id int PRIMARY KEY, v medup.version);
COPY received FROM :'fuzz_file' WITH (FORMAT binary);
INSERT INTO fuzz_check
SELECT 'binary COPY gives every value back', count(*) = (SELECT count(*) FROM version_fuzz_values)
       AND count(*) FILTER (WHERE a.v::text = b.v::text AND a.v = b.v) = count(*)
  FROM version_fuzz_values a JOIN received b USING (id);
-- A bytea column COPYed out in binary is exactly the bytes version_recv
-- gets when the file is COPYed back into a medup.version column.
CREATE TEMP TABLE received_messages (v medup.version);
SELECT setseed(0.17);
SELECT coalesce(nullif(current_setting('medup_test.binary_messages', true), ''), '1200')::int AS messages \gset
SET fuzz.messages = :messages;
DO $$
DECLARE
    f text := current_setting('data_directory') || '/medup_version_message.bin';
    b bytea; n_ok int := 0; n_bad int := 0;
BEGIN
    FOR i IN 1..current_setting('fuzz.messages')::int LOOP
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
            EXECUTE format('COPY received_messages FROM %L WITH (FORMAT binary)', f);
            n_ok := n_ok + 1;
        EXCEPTION WHEN invalid_binary_representation OR protocol_violation THEN
            n_bad := n_bad + 1;
        END;
    END LOOP;
    INSERT INTO fuzz_count VALUES ('messages taken', n_ok), ('messages refused', n_bad);
END
$$;
INSERT INTO fuzz_check SELECT 'version_recv takes the well-formed messages and refuses the others',
       (SELECT n FROM fuzz_count WHERE what = 'messages taken') > :messages / 6
       AND (SELECT n FROM fuzz_count WHERE what = 'messages refused') > :messages / 3;
RESET fuzz.messages;
INSERT INTO fuzz_check SELECT 'every value taken goes out as text and back in unchanged',
       bool_and(v::text::medup.version = v AND v::text = v::text::medup.version::text
                AND length(v::text) <= 10 * 3 + 2 + 64)
  FROM received_messages;
SELECT what, n FROM fuzz_count ORDER BY what;
SELECT property, holds FROM fuzz_check ORDER BY property;
DROP TABLE version_fuzz_values;
-- (For test/memcheck.sh, which runs this file with psql -v ON_ERROR_STOP=1.)
DO $$ BEGIN
    IF EXISTS (SELECT FROM fuzz_check WHERE holds IS NOT TRUE) THEN
        RAISE EXCEPTION 'a property of medup.version''s binary form does not hold';
    END IF;
END $$;
