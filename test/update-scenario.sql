--
-- An update from release :from to the current one, in a database of its
-- own (sql/update.sql runs it from every earlier release).  pg_regress
-- runs from the top of the tree.
--
SET client_min_messages = warning;
DROP DATABASE IF EXISTS medup_update;
CREATE DATABASE medup_update;
SELECT current_database() AS regress_database \gset
\c medup_update
SET client_min_messages = warning;
\set SHOW_CONTEXT never

-- Every property of every object of the extension, by name, one per row.
CREATE VIEW medup_objects (object, property, value) AS
WITH member AS (
    SELECT d.classid, d.objid, pg_describe_object(d.classid, d.objid, 0) AS object
      FROM pg_depend d
     WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
       AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'medup')
), rel AS (
    SELECT m.object, c.* FROM member m JOIN pg_class c ON c.oid = m.objid
     WHERE m.classid = 'pg_class'::regclass
), func AS (
    SELECT m.object, p.* FROM member m JOIN pg_proc p ON p.oid = m.objid
     WHERE m.classid = 'pg_proc'::regclass
)
SELECT object, 'member', '' FROM member
UNION ALL
SELECT object, 'definition', pg_get_functiondef(oid) FROM func WHERE prokind <> 'a'
UNION ALL
SELECT f.object, 'aggregate',
       concat_ws(' ', a.aggtransfn, a.aggcombinefn, a.aggsortop::regoperator,
                 a.aggtranstype::regtype, f.proparallel)
  FROM func f JOIN pg_aggregate a ON a.aggfnoid = f.oid
UNION ALL
SELECT object, 'privileges', coalesce(proacl, acldefault('f', proowner))::text FROM func
UNION ALL
SELECT object, 'relation', concat_ws(' ', relkind, relpersistence, reloptions::text) FROM rel
UNION ALL
SELECT object, 'privileges', coalesce(relacl, acldefault('r', relowner))::text FROM rel
UNION ALL
SELECT object, 'view', pg_get_viewdef(oid) FROM rel WHERE relkind = 'v'
UNION ALL
-- Columns in order: a column an update adds must come where a fresh
-- install has it.
SELECT r.object, 'column ' || row_number() OVER (PARTITION BY r.oid ORDER BY a.attnum),
       concat_ws(' ', quote_ident(a.attname), format_type(a.atttypid, a.atttypmod),
                 CASE WHEN a.attnotnull THEN 'not null' END, nullif(a.attidentity, ''),
                 nullif(a.attgenerated, ''), pg_get_expr(ad.adbin, ad.adrelid), a.attacl::text)
  FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
UNION ALL
SELECT r.object, 'constraint ' || c.conname, pg_get_constraintdef(c.oid)
  FROM rel r JOIN pg_constraint c ON c.conrelid = r.oid
UNION ALL
SELECT r.object, 'index ' || i.relname, pg_get_indexdef(i.oid)
  FROM rel r JOIN pg_index x ON x.indrelid = r.oid JOIN pg_class i ON i.oid = x.indexrelid
UNION ALL
SELECT r.object, 'sequence',
       concat_ws(' ', s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
                 s.seqcache, s.seqcycle)
  FROM rel r JOIN pg_sequence s ON s.seqrelid = r.oid
UNION ALL
SELECT m.object, 'type',
       concat_ws(' ', t.typtype, t.typlen, t.typalign, t.typstorage, t.typcategory,
                 t.typinput, t.typoutput, t.typreceive, t.typsend,
                 rg.rngsubtype::regtype, (SELECT opcname FROM pg_opclass WHERE oid = rg.rngsubopc))
  FROM member m JOIN pg_type t ON t.oid = m.objid
  LEFT JOIN pg_range rg ON rg.rngtypid = t.oid
 WHERE m.classid = 'pg_type'::regclass
UNION ALL
SELECT m.object, 'operator',
       concat_ws(' ', o.oprcode, o.oprcom::regoperator, o.oprnegate::regoperator,
                 o.oprrest, o.oprjoin, o.oprcanmerge, o.oprcanhash)
  FROM member m JOIN pg_operator o ON o.oid = m.objid
 WHERE m.classid = 'pg_operator'::regclass
UNION ALL
SELECT m.object, 'operator class',
       concat_ws(' ', c.opcdefault, c.opcintype::regtype,
                 (SELECT string_agg(format('%s %s', p.amopstrategy, p.amopopr::regoperator), ', '
                                    ORDER BY p.amopstrategy)
                    FROM pg_amop p WHERE p.amopfamily = c.opcfamily),
                 (SELECT string_agg(format('%s %s', p.amprocnum, p.amproc::regprocedure), ', '
                                    ORDER BY p.amprocnum)
                    FROM pg_amproc p WHERE p.amprocfamily = c.opcfamily))
  FROM member m JOIN pg_opclass c ON c.oid = m.objid
 WHERE m.classid = 'pg_opclass'::regclass
UNION ALL
SELECT m.object, 'comment' || coalesce(' on column ' || nullif(d.objsubid, 0), ''), d.description
  FROM member m JOIN pg_description d ON d.classoid = m.classid AND d.objoid = m.objid
UNION ALL
SELECT m.object, 'initial privileges' || coalesce(' of column ' || nullif(i.objsubid, 0), ''),
       concat_ws(' ', i.privtype, i.initprivs::text)
  FROM member m JOIN pg_init_privs i ON i.classoid = m.classid AND i.objoid = m.objid
UNION ALL
SELECT 'schema medup', 'privileges', nspacl::text FROM pg_namespace WHERE nspname = 'medup'
UNION ALL
SELECT 'extension medup', 'configuration table',
       concat_ws(' ', c.config::regclass, e.extcondition[c.n])
  FROM pg_extension e, unnest(e.extconfig) WITH ORDINALITY c(config, n)
 WHERE e.extname = 'medup';

-- The catalog medup ships (PL/pgSQL: a view would hold the extension).
CREATE FUNCTION shipped_catalog() RETURNS TABLE (catalog text, row_text text)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT 'release', r::text FROM medup.release_shipped r
        UNION ALL SELECT 'data_migration', d::text FROM medup.data_migration_shipped d
        UNION ALL SELECT 'schema_version', s::text FROM medup.schema_version_shipped s;
END
$$;

-- What a fresh install of the current version creates.
CREATE EXTENSION medup;
SELECT extversion FROM pg_extension WHERE extname = 'medup';
CREATE TABLE fresh_install AS SELECT * FROM medup_objects;
CREATE TABLE fresh_catalog AS SELECT * FROM shipped_catalog();
-- (the kinds of object it describes)
SELECT DISTINCT split_part(object, ' ', 1) AS kind FROM fresh_install ORDER BY 1;
DROP EXTENSION medup;

-- The release updated from, as it shipped, in use: a Medplum database part-way through its
-- post-deploy migrations, sampled; a loaded release and migration; a
-- reader; a table of the DBA's own that uses the version type.
-- (pg_regress runs from the top of the tree)
\set ECHO none
\i test/medplum.sql
\i test/sample-medplum.sql
\set ECHO all
CREATE EXTENSION medup VERSION :'from';
SELECT medup.load_releases('[{"version": "5.3.0", "released_on": "2026-12-01"},
                             {"version": "5.2.13", "released_on": "2026-11-20"}]');
SELECT medup.load_data_migrations('{"v54": {"serverVersion": "5.3.0"}}');
SELECT medup.sample();
-- v10 completes, as Medplum's server records it.
UPDATE "DatabaseMigration" SET "dataVersion" = 10;
CALL medplum_fixture.write_job('public', '4.1.12', md5('sample-v10-retry')::uuid, 10, 'completed',
  '2026-11-26 02:00:00+00', '2026-11-28 06:00:00+00',
  medplum_fixture.parameters(medplum_fixture.custom_action('ANALYZE "Observation"', 1200)),
  '2026-11-28 06:00:00+00');
SELECT medup.sample();
CREATE ROLE regress_update_reader LOGIN IN ROLE medup_reader;
-- Grants of the DBA's own on medup's code: a function and a view to a role
-- of its own, one with the right to pass it on.
CREATE ROLE regress_update_grafana;
GRANT EXECUTE ON FUNCTION medup.latest_patch(integer, integer) TO regress_update_grafana;
GRANT SELECT ON medup.history TO regress_update_grafana WITH GRANT OPTION;
CREATE TABLE deploys (version medup.version PRIMARY KEY, deployed_on date);
INSERT INTO deploys VALUES ('4.1.12', '2025-06-01'), ('4.1.18', '2026-09-20');
CREATE TABLE before_update AS
    SELECT (SELECT count(*) FROM medup.sample) AS samples,
           (SELECT string_agg(kind || coalesce(' v' || data_version, ''), ', ' ORDER BY event_id)
              FROM medup.event) AS events,
           (SELECT max(event_id) FROM medup.event) AS last_event_id,
           (SELECT samples FROM medup.sampler) AS sampler_samples;
SELECT samples, events FROM before_update;

-- A view of the DBA's own on medup's code stops the update, naming it;
-- nothing is dropped with it.
CREATE VIEW my_status AS SELECT state FROM medup.status();
ALTER EXTENSION medup UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'medup';
DROP VIEW my_status;
-- So does a column of the DBA's own typed with one of medup's code types.
CREATE TABLE my_ranges (allowed medup.version_range);
ALTER EXTENSION medup UPDATE;
DROP TABLE my_ranges;

ALTER EXTENSION medup UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'medup';

-- The state is kept.
SELECT version, released_on FROM medup.release WHERE version IN ('5.3.0', '5.2.13') ORDER BY 1;
SELECT data_version, server_version, required_before FROM medup.data_migration WHERE data_version = 54;
SELECT (SELECT count(*) FROM medup.sample) = samples AS samples_kept,
       (SELECT string_agg(kind || coalesce(' v' || data_version, ''), ', ' ORDER BY event_id)
          FROM medup.event) = events AS events_kept,
       (SELECT samples FROM medup.sampler) = sampler_samples AS sampler_kept
  FROM before_update;
SELECT max(version) AS newest_deploy FROM deploys;
-- The shipped catalog is this release's, beside what was loaded.
SELECT * FROM (SELECT * FROM shipped_catalog() EXCEPT ALL SELECT * FROM fresh_catalog) d
UNION ALL
SELECT * FROM (SELECT * FROM fresh_catalog EXCEPT ALL SELECT * FROM shipped_catalog()) d;
-- Sampling goes on where it was, and so do the event ids.
SELECT medup.sample();
SELECT (SELECT count(*) FROM medup.sample) = samples + 1 AS sampled,
       (SELECT last_value FROM medup.event_event_id_seq) >= last_event_id AS event_ids_go_on
  FROM before_update;
-- The DBA's grants are made again, as the DBA's (not medup's initial
-- privileges: pg_dump dumps them), and the reader still reads.  (From 0.1
-- they are lost: 0.1 -> 0.2, as it shipped, drops them.  Kept from 0.2 on.)
SELECT has_function_privilege('regress_update_grafana', 'medup.latest_patch(integer, integer)', 'EXECUTE') AS status_granted,
       has_table_privilege('regress_update_grafana', 'medup.history', 'SELECT WITH GRANT OPTION') AS history_granted;
SELECT count(*) AS grafana_in_init_privs
  FROM pg_init_privs i, aclexplode(i.initprivs) a
 WHERE a.grantee = 'regress_update_grafana'::regrole;
REVOKE EXECUTE ON FUNCTION medup.latest_patch(integer, integer) FROM regress_update_grafana;
REVOKE SELECT ON medup.history FROM regress_update_grafana CASCADE;
SET ROLE regress_update_reader;
SELECT state, data_version FROM medup.status();
SELECT count(*) > 0 AS reads_history FROM medup.history;
RESET ROLE;

-- The objects are those of a fresh install, property by property: both
-- differences are empty.
SELECT 'only after the update' AS "where", * FROM (
    SELECT * FROM medup_objects EXCEPT SELECT * FROM fresh_install) d
UNION ALL
SELECT 'only in a fresh install', * FROM (
    SELECT * FROM fresh_install EXCEPT SELECT * FROM medup_objects) d
ORDER BY 2, 3, 1;

\c :regress_database
SET client_min_messages = warning;
DROP DATABASE medup_update;
DROP ROLE regress_update_reader;
DROP ROLE regress_update_grafana;
