-- bench/estimate.sql: a Medplum-shaped database for bench/estimate.sh,
-- and the post-deploy-like work it runs.  Needs test/medplum.sql loaded
-- first.  Sizes come from psql variables (:scale, 1 = the default run).
--
-- The tables are Medplum's resource tables as test/medplum.sql lays them
-- out (id, content, "lastUpdated", deleted, "projectId", "__version",
-- compartments), with the search columns the chosen migrations index,
-- their _References tables (two references per resource), and the
-- HumanName lookup table.  Contents are made up: no data of anyone.
-- token_array_to_text() stands in for Medplum's function of that name
-- (its definition is not in the facts): an immutable join of the tokens.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE FUNCTION public.token_array_to_text(tokens text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string(tokens, ' ') $$;

CALL medplum_fixture.create_tables('public', '4.3.12', 97, 11);

-- A resource table with references, n rows, __version cycling through versions.
CREATE PROCEDURE bench_resource(t text, n integer, versions integer[], row_bytes integer) LANGUAGE plpgsql AS $$
BEGIN
  CALL medplum_fixture.create_resource_table('public', t, n, versions, 50, row_bytes);
  EXECUTE format('INSERT INTO %I SELECT id, md5(id::text || r)::uuid, $1 || ''.subject'' FROM %I, generate_series(1, 2) r',
                 t || '_References', t) USING t;
  EXECUTE format('CREATE INDEX ON %I ("resourceId")', t || '_References');
  EXECUTE format('CREATE INDEX ON %I ("lastUpdated")', t);
END $$;

-- First migrations, whose history the estimates learn from: v22 (GIN and
-- trigram GIN on ServiceRequest), v23 (reindex of ServiceRequest, Task:
-- rows at __version <= 8), v45 (a btree on Observation).
CALL bench_resource('ServiceRequest', 60000 * :scale, '{7,8,10}', 700);
-- (Search columns come with a volatile default: one rewrite of the table,
-- no dead rows.)
ALTER TABLE "ServiceRequest"
  ADD COLUMN "__reasonCode" text[] DEFAULT ARRAY['http://snomed.info/sct|' || (random() * 4095)::int, 'reason-' || (random() * 63)::int],
  ADD COLUMN "__reasonCodeText" text[] DEFAULT ARRAY['Reason number ' || (random() * 4095)::int, 'follow-up visit ' || (random() * 511)::int];
CALL bench_resource('Task', 30000 * :scale, '{8}', 600);
CALL bench_resource('Observation', 120000 * :scale, '{10}', 600);
ALTER TABLE "Observation" ADD COLUMN subject text DEFAULT 'Patient/' || md5('p' || (random() * 32767)::int)::uuid,
                          ADD COLUMN date timestamptz DEFAULT now() - random() * interval '2 years';

-- The migrations estimated from that history: v26 (reindex of Patient,
-- Person, Practitioner, RelatedPerson: rows at __version <= 9), v27
-- (their sort-column btrees), v12 (btrees on "encounter", a GIN and a
-- trigram GIN on ProjectMembership's identifiers), v17 (trigram GINs on
-- HumanName, a lookup table of short rows).
CALL bench_resource('Patient', 60000 * :scale, '{7,10}', 800);
CALL bench_resource('Person', 6000 * :scale, '{7}', 600);
CALL bench_resource('Practitioner', 6000 * :scale, '{7}', 600);
CALL bench_resource('RelatedPerson', 3000 * :scale, '{7}', 600);
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['Patient', 'Person', 'Practitioner', 'RelatedPerson'] LOOP
    EXECUTE format($q$ALTER TABLE %I ADD COLUMN "__familySort" text DEFAULT 'family' || (random() * 65535)::int,
                                     ADD COLUMN "__givenSort" text DEFAULT 'given' || (random() * 65535)::int,
                                     ADD COLUMN "__nameSort" text DEFAULT 'given' || (random() * 65535)::int || ' family' || (random() * 65535)::int$q$, t);
  END LOOP;
END $$;
CALL bench_resource('ProjectMembership', 20000 * :scale, '{12}', 500);
ALTER TABLE "ProjectMembership" ADD COLUMN "__identifier" text[] DEFAULT ARRAY['https://example.org/id|' || (random() * 1048575)::int],
  ADD COLUMN "__identifierText" text[] DEFAULT ARRAY['member ' || (random() * 1048575)::int || ' of project ' || (random() * 7)::int];
CALL bench_resource('AllergyIntolerance', 20000 * :scale, '{12}', 500);
CALL bench_resource('Immunization', 20000 * :scale, '{12}', 500);
ALTER TABLE "AllergyIntolerance" ADD COLUMN encounter text DEFAULT 'Encounter/' || md5(random()::text)::uuid;
ALTER TABLE "Immunization" ADD COLUMN encounter text DEFAULT 'Encounter/' || md5(random()::text)::uuid;
CREATE TABLE "HumanName" (id uuid PRIMARY KEY, "resourceId" uuid NOT NULL, name text, given text, family text);
INSERT INTO "HumanName"
SELECT md5(id::text || 'n')::uuid, id, "__nameSort", "__givenSort", "__familySort"
  FROM (SELECT id, "__nameSort", "__givenSort", "__familySort" FROM "Patient"
        UNION ALL SELECT id, "__nameSort", "__givenSort", "__familySort" FROM "Practitioner") p;

VACUUM ANALYZE;

/*
 * A reindex of type t as Medplum's ReindexJob does it, in SQL: pages of
 * 500 non-deleted rows at __version <= max_version, in "lastUpdated"
 * order with a cursor, each page in its own transaction: its references
 * deleted and written again, then every row written again with
 * INSERT ... ON CONFLICT (id) DO UPDATE of every column, __version set to
 * 12.  (Medplum also parses and re-extracts each resource in the server:
 * this is the database's share of the work.)  Returns rows and ms through
 * the table bench_reindexed.
 */
CREATE TABLE bench_reindexed (resource_type text, rows bigint, ms bigint);
CREATE PROCEDURE bench_reindex(t text, max_version integer) LANGUAGE plpgsql AS $$
DECLARE
  started timestamptz := clock_timestamp();
  cursor_at timestamptz := '-infinity';
  cursor_id uuid := '00000000-0000-0000-0000-000000000000';
  ids uuid[];
  done bigint := 0;
BEGIN
  LOOP
    EXECUTE format($q$SELECT array_agg(id ORDER BY "lastUpdated", id) FROM (
                        SELECT id, "lastUpdated" FROM %I
                         WHERE NOT deleted AND "__version" <= $1 AND ("lastUpdated", id) > ($2, $3)
                         ORDER BY "lastUpdated", id LIMIT 500) p$q$, t)
      INTO ids USING max_version, cursor_at, cursor_id;
    EXIT WHEN ids IS NULL;
    EXECUTE format('DELETE FROM %I WHERE "resourceId" = ANY ($1)', t || '_References') USING ids;
    EXECUTE format($q$INSERT INTO %I SELECT id, md5(id::text || r)::uuid, $2 || '.subject'
                        FROM unnest($1) id, generate_series(1, 2) r$q$, t || '_References') USING ids, t;
    EXECUTE format($q$INSERT INTO %1$I SELECT id, content, "lastUpdated", deleted, "projectId", 12, compartments
                        FROM %1$I WHERE id = ANY ($1)
                      ON CONFLICT (id) DO UPDATE SET content = EXCLUDED.content, "lastUpdated" = EXCLUDED."lastUpdated",
                          deleted = EXCLUDED.deleted, "projectId" = EXCLUDED."projectId",
                          "__version" = EXCLUDED."__version", compartments = EXCLUDED.compartments$q$, t) USING ids;
    EXECUTE format('SELECT "lastUpdated", id FROM %I WHERE id = $1', t) INTO cursor_at, cursor_id
      USING ids[cardinality(ids)];
    done := done + cardinality(ids);
    COMMIT;
  END LOOP;
  INSERT INTO bench_reindexed VALUES (t, done, (extract(epoch FROM clock_timestamp() - started) * 1000)::bigint);
  COMMIT;
END $$;
