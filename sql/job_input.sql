-- Job content medup does not read whole: NULL, too big, too deep.  Each
-- gives parse_error for its own row; nothing crashes, nothing else fails.
\set SHOW_CONTEXT never
-- NULL anywhere: a row saying why, not a crash.
SELECT job_id, data_version, parse_error FROM medup.parse_job(NULL, NULL, NULL);
-- 0.1 declared parse_job(uuid, jsonb, timestamptz) without STRICT; the C
-- function behind it must be NULL-safe as well.
CREATE FUNCTION pg_temp.parse_job_0_1(id uuid, job jsonb, last_updated timestamptz)
RETURNS medup.job AS '$libdir/medup', 'medup_parse_job' LANGUAGE C IMMUTABLE;
SELECT job_id, parse_error FROM pg_temp.parse_job_0_1(NULL, NULL, NULL);
SELECT data_version, status, steps_done, parse_error
  FROM pg_temp.parse_job_0_1(NULL, '{"type":"data-migration","dataVersion":4,"status":"active","output":{"parameter":[{"name":"x","part":[{"name":"durationMs","valueInteger":5}]}]}}', NULL);
-- Not a data migration: no row.
SELECT medup.parse_job(NULL, '{"type":"reindex"}', NULL) IS NULL AS not_a_migration;

-- Over 1 MB: not parsed (the size is read before detoasting).
SELECT parse_error FROM medup.parse_job(NULL,
  '{"type":"data-migration","dataVersion":4,"pad":"' || repeat('x', 1024 * 1024) || '"}', NULL);
-- Just under it: parsed.
SELECT data_version, parse_error FROM medup.parse_job(NULL,
  '{"type":"data-migration","dataVersion":4,"pad":"' || repeat('x', 1024 * 1024 - 60) || '"}', NULL);
-- Nested deeper than 64 levels: not parsed (PostgreSQL's own parser would
-- fail the whole statement on a deep enough input).
SELECT parse_error FROM medup.parse_job(NULL,
  '{"type":"data-migration","dataVersion":4,"x":' || repeat('[', 200000) || repeat(']', 200000) || '}', NULL);
SELECT parse_error FROM medup.parse_job(NULL,
  '{"type":"data-migration","dataVersion":4,"x":' || repeat('[', 64) || repeat(']', 64) || '}', NULL);
SELECT data_version, parse_error FROM medup.parse_job(NULL,
  '{"type":"data-migration","dataVersion":4,"x":' || repeat('[', 63) || repeat(']', 63) || '}', NULL);
-- Brackets inside strings, escaped quotes included, are not nesting.
SELECT data_version, left(status, 3), length(status), parse_error FROM medup.parse_job(NULL,
  '{"type":"data-migration","dataVersion":4,"status":"a\"' || repeat('[', 100) || '"}', NULL);
-- Not JSON: the cast's own error, which read_jobs turns into parse_error.
SELECT medup.parse_job(NULL, '{"type":', NULL);

-- Counters stop at their maximum instead of wrapping negative.
SELECT rows_done, steps_done FROM medup.parse_job(NULL,
  '{"type":"data-migration","dataVersion":4,"status":"active","output":{"parameter":['
  || '{"name":"result","part":[{"name":"count","valueInteger":9223372036854775807},{"name":"elapsedTime","valueQuantity":{"value":1,"unit":"ms"}}]},'
  || '{"name":"result","part":[{"name":"count","valueInteger":9223372036854775807},{"name":"elapsedTime","valueQuantity":{"value":1,"unit":"ms"}}]}]}}', NULL);

-- Step errors: distinct ones in order, a message contained in another is
-- still its own, at most ten shown and the rest counted.
SELECT steps_failed, error FROM medup.parse_job(NULL,
  '{"type":"data-migration","dataVersion":4,"status":"error","output":{"parameter":['
  || '{"name":"error","valueString":"timeout on Patient"},'
  || '{"name":"error","valueString":"timeout"},'
  || '{"name":"error","valueString":"timeout on Patient"},'
  || '{"name":"result","part":[{"name":"error","valueString":"bad row"}]}]}}', NULL);
SELECT steps_failed, error FROM medup.parse_job(NULL,
  '{"type":"data-migration","dataVersion":4,"status":"error","output":{"parameter":['
  || (SELECT string_agg('{"name":"error","valueString":"error ' || i || '"}', ',')
        FROM generate_series(1, 13) i)
  || ',{"name":"error","valueString":"error 1"}]}}', NULL);

-- In medup.jobs: each such row reports itself, the others are read.
CREATE SCHEMA mp_hostile;
CREATE TABLE mp_hostile."AsyncJob" (LIKE mp_up_to_date."AsyncJob" INCLUDING ALL);
ALTER TABLE mp_hostile."AsyncJob" ALTER content DROP NOT NULL, ALTER "__version" DROP NOT NULL;
INSERT INTO mp_hostile."AsyncJob" (id, content, "lastUpdated", compartments, type, status)
VALUES (md5('hostile/ok')::uuid,
        '{"resourceType":"AsyncJob","type":"data-migration","status":"active","dataVersion":4}',
        '2025-04-16 00:12:03.117+00', '{}', 'data-migration', 'active'),
       (md5('hostile/null')::uuid, NULL,
        '2025-04-16 00:12:04.117+00', '{}', 'data-migration', 'active'),
       (md5('hostile/big')::uuid,
        '{"type":"data-migration","dataVersion":5,"pad":"' || repeat('x', 2 * 1024 * 1024) || '"}',
        '2025-04-16 00:12:05.117+00', '{}', 'data-migration', 'active'),
       (md5('hostile/deep')::uuid,
        '{"type":"data-migration","dataVersion":6,"x":' || repeat('[', 100000) || repeat(']', 100000) || '}',
        '2025-04-16 00:12:06.117+00', '{}', 'data-migration', 'active'),
       (md5('hostile/not-json')::uuid, '{"type":"data-migration",',
        '2025-04-16 00:12:07.117+00', '{}', 'data-migration', 'active');
SET medup.medplum_schema = 'mp_hostile';
SELECT job_id = md5('hostile/ok')::uuid AS ok_job, data_version, status, parse_error
  FROM medup.jobs ORDER BY last_updated;
-- status() with an unreadable job still answers.
SELECT state IS NOT NULL AS answers FROM medup.status();
RESET medup.medplum_schema;
DROP SCHEMA mp_hostile CASCADE;
