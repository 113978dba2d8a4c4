-- Medplum's servers and the catalog refresh, as far as no HTTP server is
-- needed (test/t/003_http.pl plays the servers): settings, URL rules,
-- what a healthcheck answer means, the servers view, access.
\set VERBOSITY default
\set SHOW_CONTEXT never

-- Credentials in URLs are never shown: libcurl's parser finds them.  A URL
-- libcurl would not read as it is written (one slash after the scheme, an
-- unencoded "/", "?", "#" or "@" in a password, an "@" after the host) is
-- not shown at all (NULL), and never fetched.
SELECT u AS url, medup.masked_url(u) FROM (VALUES
    ('https://medplum:s3cret@api.example.com/'), ('http://token@10.0.0.1:8103'),
    ('http://medplum:pw%2F%3F%23%40@10.0.0.1:8103/'), ('file:///etc/passwd'),
    ('https://api.example.com/healthcheck?x=a@b'), ('not a url'), ('user:pw@host/path'),
    ('http:/user:s3cret@10.0.0.1/'), ('http:///user:s3cret@10.0.0.1/'),
    ('http://user:s3/cret@10.0.0.1/'), ('http://user:123/s3cret@10.0.0.1/'),
    ('http://user:s3?cret@10.0.0.1/'), ('http://user:s3#cret@10.0.0.1/'),
    ('http://user:s3@cret@10.0.0.1/')) v(u);

-- The URL settings belong to superusers: nobody else may aim the server's
-- network access, or read them.
CREATE ROLE servers_dba LOGIN IN ROLE medup_reader;
SET ROLE servers_dba;
SET medup.servers = 'http://10.0.0.1:8103';
SET medup.manifest_url = 'http://169.254.169.254/latest/meta-data';
SET medup.http_max_kb = '1GB';
SET medup.http_max_bytes = '1GB';
-- Reading it is refused (42501); by SQLSTATE, as 16 reworded the message.
DO $$
BEGIN
    PERFORM current_setting('medup.servers');
    RAISE NOTICE 'medup.servers was read';
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'reading medup.servers is refused: SQLSTATE %', SQLSTATE;
END $$;
ALTER ROLE servers_dba SET medup.releases_url = 'http://127.0.0.1:5432';
-- Probes, refreshes and the fetch itself stay with the owner.
SELECT * FROM medup.probe();
SELECT * FROM medup.refresh_catalog();
SELECT * FROM medup.http_get('https://api.github.com/repos/medplum/medplum/releases?per_page=100');
SELECT count(*) FROM medup.servers;
RESET ROLE;

-- medup.http_max_kb's deprecated name: a WARNING naming the new one, and
-- while it is set, it is the limit (test/t/003_http.pl fetches with it).
SHOW medup.http_max_kb;
SHOW medup.http_max_bytes;
SET medup.http_max_bytes = '64kB';
SHOW medup.http_max_bytes;
RESET medup.http_max_bytes;
-- A URL with credentials, set where every role can read it (ALTER ROLE or
-- ALTER DATABASE ... SET: pg_db_role_setting), is worth a WARNING that does
-- not repeat the value; without credentials, no WARNING.
ALTER ROLE servers_dba SET medup.servers = 'http://medplum:s3cret@10.0.0.1:8103';
ALTER ROLE servers_dba SET medup.servers = 'http://10.0.0.1:8103';
ALTER ROLE servers_dba RESET medup.servers;

-- Only configured URLs are fetched, whoever calls.
SELECT * FROM medup.http_get('http://user:pw@127.0.0.1:1/anything');
SELECT * FROM medup.http_get(NULL);

-- A probe records every server, whatever happens to each; a refused
-- connection is "unreachable", a URL that is not http(s) an "error".
SET medup.servers = 'http://medplum:s3cret@127.0.0.1:1/, file:///etc/passwd,,  ';
SELECT medup.server_urls();
SELECT * FROM medup.probe();
SELECT url, state, version, fresh, detail, probed_at IS NOT NULL AS probed FROM medup.servers ORDER BY url;
SELECT kind, detail FROM medup.event WHERE kind LIKE 'server_%' ORDER BY event_id;
-- Probed again, same state: no new event.
SELECT count(*) FROM medup.probe();
SELECT count(*) FROM medup.event WHERE kind LIKE 'server_%';
-- A server taken out of the setting is forgotten.
SET medup.servers = 'file:///etc/passwd';
SELECT url, state FROM medup.probe();
SELECT url FROM medup.servers;
RESET medup.servers;
SELECT count(*) FROM medup.probe();
SELECT count(*) FROM medup.servers;

-- What a healthcheck answer means (Medplum's key order).
SELECT * FROM medup.read_healthcheck('http://s/healthcheck',
    '{"ok":true,"version":"5.0.10-1a2b3c4","platform":"linux","runtime":"v22.11.0","postgres":true,"redis":true}');
SELECT * FROM medup.read_healthcheck('http://s/healthcheck',
    '{"ok":false,"version":"5.0.10-1a2b3c4","platform":"linux","runtime":"v22.11.0","postgres":false,"redis":true}');
SELECT * FROM medup.read_healthcheck('http://s/healthcheck', '{"ok":false}');
SELECT * FROM medup.read_healthcheck('http://s/healthcheck', '{"status":"up"}');
SELECT * FROM medup.read_healthcheck('http://s/healthcheck', '[true]');
SELECT * FROM medup.read_healthcheck('http://s/healthcheck', '{"ok":true,"version":"five"}');
SELECT * FROM medup.read_healthcheck('http://s/healthcheck', '{"ok":true}');

-- The reported version: only recent answers count, the lowest wins, and
-- the source says so.
INSERT INTO medup.server (url, state, version, version_since, last_seen_at, probed_at) VALUES
    ('http://a/healthcheck', 'ok', '5.0.11-9f8e7d6', now(), now(), now()),
    ('http://b/healthcheck', 'unreachable', '5.0.10-1a2b3c4', now(), now() - interval '1 minute', now()),
    ('http://c/healthcheck', 'ok', '4.3.15-aaaaaaa', now() - interval '1 day', now() - interval '1 hour', now());
SELECT url, fresh FROM medup.servers ORDER BY url;
SELECT * FROM medup.reported_version();
DELETE FROM medup.server WHERE url = 'http://b/healthcheck';
SELECT * FROM medup.reported_version();
DELETE FROM medup.server;
SELECT * FROM medup.reported_version();

-- What status() shows of the servers, against the range of server versions
-- the database allows: at data version 11, [4.1.12, 4.2.0) (v11 ran on
-- 4.1.12; v12, next, must complete before 4.2.0).
SELECT * FROM medup.servers_report('[4.1.12,4.2.0)', 11);
INSERT INTO medup.server (url, state, version, version_since, last_seen_at, probed_at) VALUES
    ('http://a/healthcheck', 'ok', '4.1.18-1a2b3c4', now(), now(), now()),
    ('http://b/healthcheck', 'unreachable', '4.1.12-aaaaaaa', now(), now() - interval '1 hour', now());
SELECT jsonb_pretty(jsonb_agg(e - 'last_seen_at')), min(advice) AS advice
  FROM medup.servers_report('[4.1.12,4.2.0)', 11), jsonb_array_elements(servers) e;
-- A server too new for the pending migration, one too old for the completed ones.
UPDATE medup.server SET version = '4.2.6-1a2b3c4' WHERE url = 'http://a/healthcheck';
UPDATE medup.server SET last_seen_at = now(), version = '4.1.3' WHERE url = 'http://b/healthcheck';
SELECT servers -> 0 -> 'in_range' AS a_in_range, servers -> 1 -> 'in_range' AS b_in_range, advice
  FROM medup.servers_report('[4.1.12,4.2.0)', 11);
-- A rolling deploy half done at data version 12 ([4.1.12, 4.4.0)): v13
-- needs 4.3.0, one server runs it, one does not yet.
UPDATE medup.server SET version = '4.3.15-1a2b3c4' WHERE url = 'http://a/healthcheck';
UPDATE medup.server SET version = '4.2.6-bbbbbbb' WHERE url = 'http://b/healthcheck';
SELECT advice FROM medup.servers_report('[4.1.12,4.4.0)', 12);
-- Unknown range (no Medplum data): versions shown, nothing judged.
SELECT servers -> 0 -> 'in_range' AS in_range, advice FROM medup.servers_report(NULL, NULL);
DELETE FROM medup.server;

-- status() and check() use what the servers reported.  mp_mid_4_1: 4.1.12's
-- database, v1..v10 done, v11 running: servers in [4.1.12, 4.2.0).
SET medup.medplum_schema = 'mp_mid_4_1';
SELECT state, server_version_range, servers FROM medup.status();
INSERT INTO medup.server (url, state, version, version_since, last_seen_at, probed_at) VALUES
    ('http://a/healthcheck', 'ok', '4.1.12-1a2b3c4', now(), now(), now()),
    ('http://b/healthcheck', 'ok', '4.2.6-bbbbbbb', now(), now(), now());
SELECT state, advice FROM medup.status();
SELECT jsonb_pretty(jsonb_agg(e - 'last_seen_at')) FROM medup.status(), jsonb_array_elements(servers) e;
-- Without current, the gate takes the lowest version the servers report.
SELECT rule, ok, severity, message, detail, current_version, current_inferred
  FROM medup.check('4.1.18') WHERE rule = 'current_version';
-- Given, it is used as given.
SELECT message, detail, current_inferred FROM medup.check('4.1.18', '4.1.12') WHERE rule = 'current_version';
-- A reported version older than the database shows is used, with a warning.
DELETE FROM medup.server WHERE url = 'http://b/healthcheck';
UPDATE medup.server SET version = '4.1.3';
SELECT ok, severity, message, detail FROM medup.check('4.1.18') WHERE rule = 'current_version';
-- Nothing reported recently: inferred from the database, as before.
UPDATE medup.server SET last_seen_at = now() - interval '1 hour';
SELECT message, current_version, current_inferred FROM medup.check('4.1.18') WHERE rule = 'current_version';
DELETE FROM medup.server;
RESET medup.medplum_schema;

-- GitHub's releases as a load_releases() document: drafts and prereleases
-- out, the publication date kept.
SELECT jsonb_pretty(medup.releases_document('http://gh/releases', '[
  {"tag_name":"v5.4.0","name":"v5.4.0","draft":true,"prerelease":false,"created_at":"2026-12-02T16:00:00Z","published_at":null},
  {"tag_name":"v5.3.1","name":"v5.3.1","draft":false,"prerelease":true,"created_at":"2026-12-05T16:00:00Z","published_at":"2026-12-05T17:03:12Z"},
  {"tag_name":"v5.3.0","name":"v5.3.0","draft":false,"prerelease":false,"created_at":"2026-12-01T16:00:00Z","published_at":"2026-12-01T17:03:12Z"}]'));
SELECT medup.releases_document('http://gh/releases', '[{"tag_name":"v5.3.0","draft":false,"prerelease":false,"published_at":"2026-12-01T17:03:12Z"}, 7]');
SELECT medup.releases_document('http://gh/releases', '[{"tag_name":5,"draft":false,"prerelease":false}]');
SELECT medup.releases_document('http://gh/releases', '[{"tag_name":"v5.3.0","draft":"no","prerelease":false}]');
SELECT medup.releases_document('http://gh/releases', '[{"tag_name":"v5.3.0","draft":false,"prerelease":false,"published_at":20261201}]');

-- Nothing configured, nothing fetched; a URL that is not http(s) is refused.
SET medup.releases_url = '';
SET medup.manifest_url = '';
SELECT * FROM medup.refresh_catalog();
SET medup.manifest_url = 'ftp://user:pw@example.com/manifest.json';
SELECT * FROM medup.refresh_catalog();
RESET medup.releases_url;
RESET medup.manifest_url;

-- No fetch while this transaction holds a lock on Medplum's tables.
CREATE SCHEMA servers_medplum;
CREATE TABLE servers_medplum."AsyncJob" (id uuid);
SET medup.medplum_schema = 'servers_medplum';
BEGIN;
SELECT count(*) FROM servers_medplum."AsyncJob";
SELECT * FROM medup.probe();
ROLLBACK;
SELECT count(*) FROM medup.probe();
RESET medup.medplum_schema;
DROP SCHEMA servers_medplum CASCADE;
DELETE FROM medup.event;
DROP ROLE servers_dba;
