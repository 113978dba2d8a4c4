
/*
 * The grants the prologue kept, made again on the objects of the same
 * name and arguments.  One whose object this release no longer has (a
 * function whose arguments changed, say) is named in a WARNING: make it
 * again on the new object.  medup.restore_grant() keeps them out of
 * pg_init_privs, so pg_dump still dumps them as yours (src/grants.c).
 */
DO $$
DECLARE
    kept      record;
    statement text;
BEGIN
    FOR kept IN
        SELECT * FROM pg_catalog.json_to_recordset(
                   pg_catalog.current_setting('medup_update.grants', true)::json)
               AS g(kind text, object text, privilege text, grantee text, grantable boolean)
    LOOP
        statement := pg_catalog.format('GRANT %s ON %s %s TO %I%s', kept.privilege, kept.kind,
                                       kept.object, kept.grantee,
                                       CASE WHEN kept.grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        IF (kept.kind = 'FUNCTION' AND pg_catalog.to_regprocedure(kept.object) IS NULL)
           OR (kept.kind = 'TABLE' AND pg_catalog.to_regclass(kept.object) IS NULL) THEN
            RAISE WARNING 'medup % no longer exists: your grant was not made again', kept.object
                USING DETAIL = pg_catalog.format('The grant was: %s', statement),
                      HINT = 'Grant the privilege again on what replaced it (see CHANGELOG.md).';
        ELSE
            PERFORM medup.restore_grant(statement);
        END IF;
    END LOOP;
END
$$;
