-- Property: any valid JSON with the same content gives the same answers.
-- Every data-migration job of every fixture is written again at random
-- (whitespace between tokens, key order, keys with escaped characters),
-- and status(), check(), medup.migrations and medup.jobs must answer
-- exactly as on Medplum's own compact JSON.  Fixed seeds: the same
-- variants every run.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- Whitespace JSON allows between tokens: none most of the time.
CREATE FUNCTION pg_temp.ws() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT (ARRAY['', '', '', ' ', '  ', E'\n', E'\t', E'\r\n  '])[1 + floor(random() * 8)::int] $$;

-- A key as JSON text, sometimes with one letter written as \uXXXX.
CREATE FUNCTION pg_temp.key(k text) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    i integer := 1 + floor(random() * length(k))::int;
BEGIN
    IF random() < 0.3 AND substr(k, i, 1) ~ '[A-Za-z]' THEN
        RETURN '"' || substr(k, 1, i - 1) || '\u' || lpad(to_hex(ascii(substr(k, i, 1))), 4, '0')
               || substr(k, i + 1) || '"';
    END IF;
    RETURN to_json(k)::text;
END $$;

-- j written again: same content, random layout and key order.
CREATE FUNCTION pg_temp.reserialize(j jsonb) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    CASE jsonb_typeof(j)
    WHEN 'object' THEN
        RETURN '{' || pg_temp.ws() || coalesce((
            SELECT string_agg(pg_temp.key(e.key) || pg_temp.ws() || ':' || pg_temp.ws()
                              || pg_temp.reserialize(e.value), pg_temp.ws() || ',' || pg_temp.ws()
                              ORDER BY e.r)
              FROM (SELECT key, value, random() AS r FROM jsonb_each(j)) e), '') || pg_temp.ws() || '}';
    WHEN 'array' THEN
        RETURN '[' || pg_temp.ws() || coalesce((
            SELECT string_agg(pg_temp.reserialize(a.value), pg_temp.ws() || ',' || pg_temp.ws() ORDER BY a.n)
              FROM jsonb_array_elements(j) WITH ORDINALITY a(value, n)), '') || pg_temp.ws() || ']';
    ELSE
        RETURN j::text;
    END CASE;
END $$;

-- Everything medup answers about one schema, with the schema's name taken
-- out (it is in some texts) and the time of the call left out.
CREATE FUNCTION pg_temp.answers(s text) RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    st jsonb;
    target text;
BEGIN
    PERFORM set_config('medup.medplum_schema', s, true);
    SELECT to_jsonb(x) - 'checked_at' - 'medplum_schema', coalesce(x.next_step::text, 'latest')
      INTO st, target FROM medup.status() x;
    RETURN replace(jsonb_build_object(
        'status', st,
        'check', (SELECT jsonb_agg(to_jsonb(c)) FROM medup.check(target) c),
        'migrations', (SELECT jsonb_agg(to_jsonb(m) ORDER BY m.data_version) FROM medup.migrations m),
        'jobs', (SELECT jsonb_agg(to_jsonb(j) ORDER BY j.job_id, j.parse_error) FROM medup.jobs j))::text,
        s, '<schema>')::jsonb;
END $$;

-- Copy n of schema s, its jobs written again from seed n.
CREATE FUNCTION pg_temp.rewritten(s text, n integer) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    copy text := s || '_variant' || n;
BEGIN
    PERFORM setseed(n / 10.0);
    EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE; CREATE SCHEMA %I', copy, copy);
    EXECUTE format('CREATE TABLE %I."DatabaseMigration" AS SELECT * FROM %I."DatabaseMigration"', copy, s);
    EXECUTE format('CREATE TABLE %I."AsyncJob" (LIKE %I."AsyncJob" INCLUDING ALL)', copy, s);
    EXECUTE format($q$INSERT INTO %I."AsyncJob" SELECT * FROM %I."AsyncJob" ORDER BY id$q$, copy, s);
    -- status() estimates a running migration's time left from the tables'
    -- statistics: the same statistics on both sides.
    EXECUTE format('ANALYZE %I."AsyncJob"; ANALYZE %I."AsyncJob"', s, copy);
    EXECUTE format($q$UPDATE %I."AsyncJob" SET content = pg_temp.reserialize(content::jsonb)
                       WHERE content ~ '^\{.*\}$' AND content LIKE '%%data-migration%%'
                         AND id IN (SELECT id FROM %I."AsyncJob" ORDER BY id)$q$, copy, copy);
    RETURN copy;
END $$;

-- The text filter that spares status() parsing old jobs: false only when
-- the text plainly gives "dataVersion" another integer.
SELECT t.content, medup.job_may_be(t.content, 12) AS may_be_v12
  FROM (VALUES ('{"dataVersion":12}'), ('{"dataVersion":120}'), ('{"dataVersion":7}'),
               ('{ "dataVersion" :'||E'\n'||'7 }'), ('{"dataVersion": 12 }'), ('{"data\u0056ersion":7}'),
               ('{"dataVersion":"12"}'), ('{"dataVersion":1.2e1}'), ('{"dataVersion":12.0}'),
               ('{"request":"dataVersion","dataVersion":7}'), ('{"a":"\"dataVersion\":7","dataVersion":12}'),
               ('{"dataVersion":-7}'), ('{"dataVersion":99999999999}'), ('{}'), ('{"dataVersion"'), (NULL)) t(content);
-- Over medup's 1 MB limit: kept, and the parse reports it.
SELECT medup.job_may_be('{"dataVersion":7,"x":"' || repeat('x', 1100000) || '"}', 12) AS over_limit_kept;

-- Every Medplum fixture with data-migration jobs, three variants each.
CREATE TEMP TABLE property AS
SELECT f.s, n, pg_temp.rewritten(f.s, n) AS copy
  FROM (VALUES ('mp_v3_3'), ('mp_v3_3_failed'), ('mp_skipped'), ('mp_mid_4_1'), ('mp_failed_retry'),
               ('mp_failed'), ('mp_malformed'), ('mp_type_failed'), ('mp_reused'),
               ('mp_custom_running'), ('mp_completing'), ('mp_rollback_open'),
               ('mp_rollback_closed'), ('mp_first_boot'), ('mp_outcome'), ('mp_up_to_date')) f(s),
       generate_series(1, 3) n;
CREATE TEMP TABLE answers AS
SELECT p.*, pg_temp.answers(p.s) AS original, pg_temp.answers(p.copy) AS variant FROM property p;

-- The variants really differ from Medplum's text: spaces, key order, escapes.
SELECT count(*) AS jobs_rewritten,
       count(*) FILTER (WHERE r.content ~ '\s') > 0 AS with_whitespace,
       count(*) FILTER (WHERE r.content LIKE '%\\u00%') > 0 AS with_escaped_keys,
       count(*) FILTER (WHERE r.content LIKE '%"dataVersion" :%' OR r.content LIKE E'%"dataVersion"\n%'
                           OR r.content LIKE '%"dataVersion": %') > 0 AS spaced_data_version,
       count(*) FILTER (WHERE left(r.content, 16) <> left(o.content, 16)) > 0 AS reordered
  FROM mp_failed_variant1."AsyncJob" r JOIN mp_failed."AsyncJob" o USING (id)
 WHERE r.content <> o.content;

-- The answers: the same for every variant.
SELECT a.s, count(*) AS variants, a.original->'status'->>'state' AS state,
       bool_and(a.original->'status' = a.variant->'status') AS same_status,
       bool_and(a.original->'check' = a.variant->'check') AS same_check,
       bool_and(a.original->'migrations' = a.variant->'migrations') AS same_migrations,
       bool_and(a.original->'jobs' = a.variant->'jobs') AS same_jobs
  FROM answers a GROUP BY a.s, 3 ORDER BY a.s;

DO $$
DECLARE c text;
BEGIN
    FOR c IN SELECT copy FROM property LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', c);
    END LOOP;
END $$;
RESET medup.medplum_schema;
RESET client_min_messages;
