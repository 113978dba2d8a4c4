------------------------------------------------------------------------
-- A "medup" schema that existed before CREATE EXTENSION
--
-- CREATE EXTENSION uses a "medup" schema that already exists.  If a role
-- other than a superuser owns it, or may create objects in it, that role
-- could rename it away or plant its own medup.status() or medup.sample(),
-- which the worker and DBAs then call as superusers.  Install scripts only:
-- an update runs in the schema the extension already owns.
------------------------------------------------------------------------

DO $$
DECLARE
    squatter name;
BEGIN
    SELECT r.rolname INTO squatter
      FROM pg_catalog.pg_namespace n
      JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
     WHERE n.nspname OPERATOR(pg_catalog.=) 'medup' AND NOT r.rolsuper;
    IF squatter IS NULL THEN
        SELECT r.rolname INTO squatter
          FROM pg_catalog.pg_namespace n,
               pg_catalog.aclexplode(n.nspacl) a
          JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
         WHERE n.nspname OPERATOR(pg_catalog.=) 'medup'
           AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE' AND NOT r.rolsuper
         LIMIT 1;
    END IF;
    IF squatter IS NOT NULL THEN
        RAISE EXCEPTION 'schema "medup" already exists and role "%" can change it', squatter
            USING ERRCODE = 'duplicate_schema',
                  DETAIL = 'medup''s functions run as a superuser, in the worker too; a role that owns or may create objects in their schema could make them run its own code.',
                  HINT = 'Check what schema "medup" holds, drop or rename it, then run CREATE EXTENSION medup again: it creates the schema itself.';
    END IF;
END
$$;

