-- A Medplum-shaped sample database for the demo: a 4.1.x server part-way
-- through its post-deploy migrations (v1-v10 done, v11 running, a failed
-- first attempt of v11 behind it), beside other kinds of AsyncJob.
-- Written from Medplum's documented table shapes; no real data.

CREATE TABLE "DatabaseMigration" (
    id            integer PRIMARY KEY,
    version       integer NOT NULL,
    "dataVersion" integer NOT NULL,
    "firstBoot"   boolean NOT NULL DEFAULT false
);
INSERT INTO "DatabaseMigration" VALUES (1, 112, 10, false);

CREATE TABLE "AsyncJob" (
    id              uuid PRIMARY KEY,
    content         text NOT NULL,
    "lastUpdated"   timestamptz NOT NULL,
    deleted         boolean NOT NULL DEFAULT false,
    "projectId"     uuid,
    "__version"     integer,
    compartments    uuid[] NOT NULL,
    type            text,
    status          text
);
CREATE INDEX "AsyncJob_type_idx" ON "AsyncJob" (type);
CREATE INDEX "AsyncJob_status_idx" ON "AsyncJob" (status);

CREATE TABLE "AsyncJob_History" (
    id            uuid NOT NULL,
    "versionId"   uuid PRIMARY KEY,
    content       text NOT NULL,
    "lastUpdated" timestamptz NOT NULL
);

-- Completed migrations v1-v10, an hour or so each, a week apart.
INSERT INTO "AsyncJob" (id, content, "lastUpdated", compartments, type, status)
SELECT md5('sample-migration-' || v)::uuid,
       json_build_object(
         'resourceType', 'AsyncJob', 'id', md5('sample-migration-' || v)::uuid,
         'type', 'data-migration', 'status', 'completed',
         'request', 'data-migration-v' || v, 'dataVersion', v,
         'minServerVersion', CASE WHEN v = 1 THEN '3.3.0' WHEN v <= 5 THEN '4.1.0'
                                  WHEN v = 6 THEN '4.1.1' WHEN v = 7 THEN '4.1.3'
                                  WHEN v <= 9 THEN '4.1.8' ELSE '4.1.9' END,
         'requestTime', to_char(start_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         'transactionTime', to_char(start_at + interval '50 minutes', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         'output', json_build_object('resourceType', 'Parameters', 'parameter', json_build_array(
            json_build_object('name', 'result', 'part', json_build_array(
              json_build_object('name', 'resourceType', 'valueCode', 'Observation'),
              json_build_object('name', 'count', 'valueInteger', 120000 * v),
              json_build_object('name', 'elapsedTime', 'valueQuantity',
                                json_build_object('value', 3000000, 'unit', 'ms')))))))::text,
       start_at + interval '50 minutes', '{}', 'data-migration', 'completed'
  FROM generate_series(1, 10) v,
       LATERAL (SELECT timestamptz '2026-10-01 02:00:00+00' + (v - 1) * interval '7 days' AS start_at) t;

-- v11: a first attempt that failed, then the retry that is running now.
INSERT INTO "AsyncJob" (id, content, "lastUpdated", compartments, type, status) VALUES
(md5('sample-v11-failed')::uuid,
 '{"resourceType":"AsyncJob","id":"' || md5('sample-v11-failed')::uuid || '","type":"data-migration","status":"error","request":"data-migration-v11","dataVersion":11,"minServerVersion":"4.1.12","requestTime":"2026-11-25T02:00:00.000Z","transactionTime":"2026-11-25T02:41:00.000Z","output":{"resourceType":"Parameters","parameter":[{"name":"error","valueString":"canceling statement due to statement timeout"}]}}',
 '2026-11-25 02:41:00+00', '{}', 'data-migration', 'error'),
(md5('sample-v11-retry')::uuid,
 '{"resourceType":"AsyncJob","id":"' || md5('sample-v11-retry')::uuid || '","type":"data-migration","status":"active","request":"data-migration-v11","dataVersion":11,"minServerVersion":"4.1.12","requestTime":"2026-11-26T02:00:00.000Z","output":{"resourceType":"Parameters","parameter":[{"name":"result","part":[{"name":"resourceType","valueCode":"Patient"},{"name":"count","valueInteger":52000},{"name":"elapsedTime","valueQuantity":{"value":61000,"unit":"ms"}}]},{"name":"result","part":[{"name":"resourceType","valueCode":"Observation"},{"name":"count","valueInteger":410000},{"name":"nextTimestamp","valueDateTime":"2025-03-02T00:00:00.000Z"}]}]}}',
 '2026-11-26 03:10:00+00', '{}', 'data-migration', 'active');

-- Everyday jobs that share the table: bulk exports and batches.
INSERT INTO "AsyncJob" (id, content, "lastUpdated", compartments, type, status)
SELECT md5('sample-job-' || i)::uuid,
       '{"resourceType":"AsyncJob","id":"' || md5('sample-job-' || i)::uuid ||
       '","status":"completed","request":"https://medplum.example.org/fhir/R4/$export","requestTime":"2026-11-01T00:00:00.000Z"}',
       timestamptz '2026-11-01 00:00:00+00' + i * interval '10 minutes', '{}',
       CASE WHEN i % 3 = 0 THEN 'batch' ELSE NULL END, 'completed'
  FROM generate_series(1, 500) i;
ANALYZE "AsyncJob";
