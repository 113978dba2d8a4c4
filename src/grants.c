/*
 * grants.c
 *		Grants a DBA made on medup's code, made again after an update.
 *
 * An update drops medup's functions and views and creates them again
 * (sql/updates/prologue.sql), and their grants go with them.  The prologue
 * keeps the grants made to other roles than medup's own; the update's
 * epilogue makes each again through medup_restore_grant().
 *
 * Why C: inside an extension script every GRANT is recorded in
 * pg_init_privs as the extension's own initial privilege.  A DBA's grant
 * recorded there would look like medup's to pg_dump, which dumps only what
 * differs from the initial privileges: the grant would be lost by a dump
 * and restore, and an updated install would differ from a fresh one.  So
 * the grant runs as if outside the script, the way the DBA made it.
 */
#include "postgres.h"

#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(medup_restore_grant);

/* The statement must be one GRANT of privileges, nothing else. */
static void
check_one_grant(const char *statement)
{
	List	   *parsed = raw_parser(statement, RAW_PARSE_DEFAULT);
	RawStmt    *raw;

	if (list_length(parsed) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("medup can restore one GRANT statement at a time")));
	raw = linitial_node(RawStmt, parsed);
	if (!IsA(raw->stmt, GrantStmt) || !castNode(GrantStmt, raw->stmt)->is_grant)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("medup restores GRANT statements only")));
}

/*
 * medup.restore_grant(statement text): runs one GRANT during ALTER
 * EXTENSION medup UPDATE without recording it as medup's initial
 * privilege.  Refused anywhere else.
 */
Datum
medup_restore_grant(PG_FUNCTION_ARGS)
{
	char	   *statement;
	bool		was_creating = creating_extension;

	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();
	if (!creating_extension || CurrentExtensionObject != get_extension_oid("medup", true))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("medup.restore_grant() runs only inside ALTER EXTENSION medup UPDATE")));

	statement = text_to_cstring(PG_GETARG_TEXT_PP(0));
	check_one_grant(statement);

	SPI_connect();
	creating_extension = false;
	PG_TRY();
	{
		if (SPI_execute(statement, false, 0) < 0)
			elog(ERROR, "could not run \"%s\"", statement);
	}
	PG_FINALLY();
	{
		creating_extension = was_creating;
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_VOID();
}
