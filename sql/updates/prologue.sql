\echo Use "ALTER EXTENSION medup UPDATE" to load this file. \quit

/*
 * medup's update scripts are built by the Makefile, in this order:
 *
 *   sql/updates/prologue.sql     this file: drops medup's code
 *   sql/updates/B/NN-name.sql    release B's own steps on what holds state
 *   the install parts' code      the files of sql/install without their STATE blocks
 *   the shipped catalog          replaced; what the DBA loaded is left alone
 *   sql/updates/epilogue.sql     your grants on medup's code made again
 *
 * so that an update creates the same functions, views, types and grants as
 * CREATE EXTENSION, from the same source.
 *
 * Code is dropped here: every view, every function but those of the
 * version type's STATE block (its input, output, comparison and aggregate
 * support, which the type, operators, operator classes and aggregates use),
 * and every type that is neither a base type nor a table's row type nor
 * used by a column.  Nothing is dropped with CASCADE: an object of your own
 * that uses medup's code (a view on medup.status(), say) stops the update
 * with an error naming it, rather than vanish with it.
 */

-- No sample while the update runs: a sample (the worker's too) tries this
-- lock first (see medup.take_sample()) and is skipped, and counted, rather than
-- failing on the functions and views being replaced.  A sample already
-- running is waited for, 15 s at most (the worker's samples end within
-- 10): anyone may take an advisory lock, and a session that holds it
-- longer makes the update fail, naming that session, instead of wait
-- forever.
DO $$
DECLARE
    holder record;
BEGIN
    FOR attempt IN 1 .. 150 LOOP
        IF pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('medup.sample'), 0) THEN
            RETURN;
        END IF;
        PERFORM pg_catalog.pg_sleep(0.1);
    END LOOP;
    SELECT l.pid, a.usename, a.application_name INTO holder
      FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid OPERATOR(pg_catalog.=) l.pid
     WHERE l.locktype OPERATOR(pg_catalog.=) 'advisory' AND l.granted
       AND l.classid OPERATOR(pg_catalog.=) pg_catalog.hashtext('medup.sample')::pg_catalog.oid
       AND l.objid OPERATOR(pg_catalog.=) 0 AND l.objsubid OPERATOR(pg_catalog.=) 2
       AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d
                                               WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
     LIMIT 1;
    RAISE EXCEPTION 'medup cannot be updated while session % (role %, application_name %) holds medup''s sampler lock',
                    coalesce(holder.pid::text, 'unknown'), coalesce(holder.usename::text, 'unknown'),
                    coalesce(pg_catalog.quote_literal(holder.application_name), 'unknown')
        USING ERRCODE = 'lock_not_available',
              DETAIL = 'The update waited 15 s for advisory lock (hashtext(''medup.sample''), 0), which keeps samples out while medup''s functions are replaced.',
              HINT = pg_catalog.format('Find out why that session holds it; end it with SELECT pg_terminate_backend(%s) if it should not, then run ALTER EXTENSION medup UPDATE again.',
                                       coalesce(holder.pid::text, 'pid'));
END
$$;

/*
 * Grants you made on medup's functions and views to roles of your own go
 * with the objects dropped below: keep them for the epilogue
 * (sql/updates/epilogue.sql), which makes them again.  PUBLIC's and
 * medup_reader's are medup's allow-list (sql/install/90-access.sql) and
 * the owner's are its own: those are not kept.  Kept for this
 * transaction only, in a setting of its own.
 */
SELECT pg_catalog.set_config('medup_update.grants', coalesce(pg_catalog.json_agg(g)::text, '[]'), true)
  FROM (
    WITH member AS (
        SELECT d.classid, d.objid
          FROM pg_catalog.pg_depend d
         WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass
           AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'medup')
           AND d.deptype = 'e'
    ), code (kind, object, owner, acl) AS (
        SELECT 'FUNCTION',
               pg_catalog.format('%s.%I(%s)', p.pronamespace::regnamespace, p.proname,
                                 pg_catalog.oidvectortypes(p.proargtypes)),
               p.proowner, p.proacl
          FROM member m JOIN pg_catalog.pg_proc p ON p.oid = m.objid
         WHERE m.classid = 'pg_catalog.pg_proc'::regclass AND p.proacl IS NOT NULL
        UNION ALL
        SELECT 'TABLE', pg_catalog.format('%s.%I', c.relnamespace::regnamespace, c.relname),
               c.relowner, c.relacl
          FROM member m JOIN pg_catalog.pg_class c ON c.oid = m.objid
         WHERE m.classid = 'pg_catalog.pg_class'::regclass AND c.relkind = 'v' AND c.relacl IS NOT NULL
    )
    SELECT code.kind, code.object, a.privilege_type AS privilege, r.rolname AS grantee,
           a.is_grantable AS grantable
      FROM code CROSS JOIN LATERAL pg_catalog.aclexplode(code.acl) a
      JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
     WHERE a.grantee <> code.owner AND r.rolname <> 'medup_reader'
     ORDER BY 1, 2, 4, 3
  ) g;

/*
 * Triggers on medup's tables are code too (the install parts create them
 * again): drop them first, before the functions they call.
 */
DO $$
DECLARE
    drop_statement text;
BEGIN
    FOR drop_statement IN
        SELECT pg_catalog.format('DROP TRIGGER %I ON %s', t.tgname, t.tgrelid::pg_catalog.regclass)
          FROM pg_catalog.pg_trigger t
          JOIN pg_catalog.pg_depend d
            ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
           AND d.objid OPERATOR(pg_catalog.=) t.tgrelid
           AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
           AND d.deptype OPERATOR(pg_catalog.=) 'e'
          JOIN pg_catalog.pg_extension e
            ON e.oid OPERATOR(pg_catalog.=) d.refobjid AND e.extname OPERATOR(pg_catalog.=) 'medup'
         WHERE NOT t.tgisinternal
    LOOP
        EXECUTE drop_statement;
    END LOOP;
END
$$;

DO $$
DECLARE
    drop_statement text;
    dependents     text;
BEGIN
    FOR drop_statement IN
        WITH member AS (
            SELECT d.classid, d.objid
              FROM pg_catalog.pg_depend d
             WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass
               AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e
                                  WHERE e.extname = 'medup')
               AND d.deptype = 'e'
        )
        -- Views, newest first: a view may use an older one.
        (SELECT format('DROP VIEW %s.%I', c.relnamespace::regnamespace, c.relname)
           FROM member m JOIN pg_catalog.pg_class c ON c.oid = m.objid
          WHERE m.classid = 'pg_catalog.pg_class'::regclass AND c.relkind = 'v'
          ORDER BY c.oid DESC)
        UNION ALL
        -- Functions no type, operator, operator class or aggregate uses,
        -- and that belong to no type (a range type's constructors).
        (SELECT format('DROP FUNCTION %s.%I(%s)', p.pronamespace::regnamespace, p.proname,
                       pg_catalog.pg_get_function_identity_arguments(p.oid))
           FROM member m JOIN pg_catalog.pg_proc p ON p.oid = m.objid
          WHERE m.classid = 'pg_catalog.pg_proc'::regclass AND p.prokind <> 'a'
            AND NOT EXISTS (
                SELECT FROM pg_catalog.pg_depend u
                 WHERE u.refclassid = 'pg_catalog.pg_proc'::regclass AND u.refobjid = p.oid
                   AND (u.classid IN ('pg_catalog.pg_type'::regclass, 'pg_catalog.pg_operator'::regclass,
                                      'pg_catalog.pg_amproc'::regclass, 'pg_catalog.pg_aggregate'::regclass)
                        OR (u.classid = 'pg_catalog.pg_proc'::regclass
                            AND (SELECT a.prokind FROM pg_catalog.pg_proc a WHERE a.oid = u.objid) = 'a')))
            AND NOT EXISTS (
                SELECT FROM pg_catalog.pg_depend i
                 WHERE i.classid = 'pg_catalog.pg_proc'::regclass AND i.objid = p.oid
                   AND i.deptype = 'i')
          ORDER BY p.oid DESC)
        UNION ALL
        -- Composite, range, enum and domain types no column of medup's
        -- tables uses, newest first.  (A column of the DBA's own makes the
        -- drop fail, below, naming it.)
        (SELECT format('DROP TYPE %s.%I', t.typnamespace::regnamespace, t.typname)
           FROM member m JOIN pg_catalog.pg_type t ON t.oid = m.objid
          WHERE m.classid = 'pg_catalog.pg_type'::regclass
            AND t.typtype IN ('c', 'r', 'e', 'd')
            AND (t.typtype <> 'c'
                 OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')
            AND NOT EXISTS (
                SELECT FROM member mt
                  JOIN pg_catalog.pg_class r ON r.oid = mt.objid
                  JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid
                 WHERE mt.classid = 'pg_catalog.pg_class'::regclass AND r.relkind IN ('r', 'p')
                   AND a.attnum > 0 AND NOT a.attisdropped
                   AND a.atttypid IN (t.oid, t.typarray))
          ORDER BY t.oid DESC)
    LOOP
        BEGIN
            EXECUTE drop_statement;
        EXCEPTION WHEN dependent_objects_still_exist THEN
            GET STACKED DIAGNOSTICS dependents = PG_EXCEPTION_DETAIL;
            RAISE EXCEPTION 'medup cannot be updated while objects of yours use its code'
                USING ERRCODE = 'dependent_objects_still_exist',
                      DETAIL = dependents,
                      HINT = 'Drop or change them so that they no longer use medup''s functions, views or types, run ALTER EXTENSION medup UPDATE again, then put them back.';
        END;
    END LOOP;
END
$$;

/*
 * Grants are an allow-list: what medup's tables and kept functions granted
 * to PUBLIC and medup_reader is revoked here, and the access part grants
 * again exactly what this release allows.  Grants to other roles are left
 * as they are.
 */
REVOKE ALL ON ALL TABLES IN SCHEMA medup FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA medup FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'medup_reader') THEN
        REVOKE ALL ON ALL TABLES IN SCHEMA medup FROM medup_reader;
        REVOKE ALL ON ALL FUNCTIONS IN SCHEMA medup FROM medup_reader;
    END IF;
END
$$;
