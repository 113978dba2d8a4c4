-- NOTIFY medup_events: every event medup records is sent, as JSON, when
-- its transaction commits.  The payload here; delivery (after commit,
-- never on rollback, from the worker too) in test/t/006_notify.pl.
\set SHOW_CONTEXT never
\pset null '(null)'

-- One trigger sends every event, whoever records it.
SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'medup.event'::regclass;

BEGIN;
DELETE FROM medup.event;
DELETE FROM medup.sample;
CREATE TEMP TABLE sent (e medup.event, payload json);
-- Before any sample: versions unknown.
INSERT INTO medup.event (event_at, kind, detail)
VALUES ('2026-03-01 10:00:00+00', 'catalog_refreshed', 'releases: 2 new');
INSERT INTO sent SELECT e, medup.event_payload(e)::json FROM medup.event e;
-- After a sample: the newest sample's schema and data versions.
INSERT INTO medup.sample (sampled_at, state, schema_version, data_version, running_migration, failed_migration)
VALUES ('2026-03-01 10:00:05+00', 'migrating', 93, 9, 10, NULL),
       ('2026-03-01 10:00:15+00', 'failed', 93, 10, NULL, 11);
INSERT INTO medup.event (event_at, kind, data_version, detail)
VALUES ('2026-03-01 10:00:15+00', 'migration_failed', 11,
        'Unable to run data migration: canceling statement due to "statement timeout"');
INSERT INTO sent SELECT e, medup.event_payload(e)::json FROM medup.event e WHERE e.kind = 'migration_failed';

-- Keys in this order, and what each holds.
SELECT (SELECT array_agg(k) FROM json_object_keys(payload) k) AS keys FROM sent LIMIT 1;
SELECT payload->>'target' = current_database() AS target_is_database, payload->>'kind' AS kind,
       payload->'migration' AS migration, payload->'versions' AS versions, payload->>'detail' AS detail,
       (payload->>'event_id')::bigint = (e).event_id AS event_id,
       (payload->>'at')::timestamptz = (e).event_at AS "at"
  FROM sent ORDER BY (e).event_id;

-- NOTIFY refuses 8000 bytes or more: a long detail is cut, and says so,
-- whatever its characters (ASCII, multibyte, JSON escapes, a mix).
SELECT what, octet_length(p) < 8000 AS fits, octet_length(p) > 7000 AS keeps_most,
       p::json->>'detail_truncated' AS truncated,
       starts_with(d, p::json->>'detail') AS prefix
  FROM (VALUES ('ascii', repeat('x', 20000)),
               ('multibyte', repeat('é€', 5000)),
               ('escapes', repeat(E'\x01', 5000)),
               ('mixed', repeat('a"é', 2000) || repeat(E'\n', 3000) || repeat('b', 9000)),
               ('just over', repeat('y', 7900))) v(what, d),
       LATERAL (SELECT medup.event_payload(jsonb_populate_record(NULL::medup.event, jsonb_build_object(
                    'event_id', 1, 'event_at', '2026-03-01 10:00:00+00', 'database_name', current_database(),
                    'kind', 'migration_failed', 'data_version', 11, 'detail', d)))) x(p);
-- A short detail is left whole.
SELECT medup.event_payload(jsonb_populate_record(NULL::medup.event, jsonb_build_object(
           'event_id', 2, 'event_at', '2026-03-01 10:00:00+00', 'database_name', current_database(),
           'kind', 'deploy', 'detail', 'https://***@medplum.example.com: 5.0.9 -> 5.0.10')))::json
       ->> 'detail_truncated' AS truncated;
ROLLBACK;

-- The payload function is medup's own: nobody else may call it.
SELECT has_function_privilege('medup_reader', 'medup.event_payload(medup.event)', 'EXECUTE') AS reader_may_call;
