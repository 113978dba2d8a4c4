/*
 * plan_cache.c
 *		A plan cache for the session: the SQL that reads Medplum's tables,
 *		planned once per distinct text and run as each table's owner.
 *
 * Medplum's tables live in a schema chosen by a setting, so the SQL that
 * reads them is built at run time.  PL/pgSQL's EXECUTE plans such SQL
 * again on every call, and planning a query on "AsyncJob" (several
 * indexes, statistics) costs more than running it.  medup.cached_query()
 * keeps one prepared plan per distinct SQL text for the life of the
 * backend; PostgreSQL's plan cache replans it if the table changes.
 *
 * It runs whatever SQL it is given, so only medup's own SECURITY DEFINER
 * functions may call it (EXECUTE is revoked from everyone else).
 *
 * Those functions run as medup's owner, a superuser, but the SQL that
 * reads a Medplum table runs as that table's owner (Medplum's app role),
 * the way PostgreSQL's VACUUM, ANALYZE, CREATE INDEX and REFRESH
 * MATERIALIZED VIEW run a table owner's expressions: the user id switched
 * with SECURITY_RESTRICTED_OPERATION and search_path pinned to
 * "pg_catalog, pg_temp" (and lock_timeout set: below).  Whatever the owner planted in or around its
 * table (a view in its place, a column type with an implicit cast, a
 * function) then runs with the owner's privileges and no more, and no
 * grant on Medplum's tables is needed.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"
#include "utils/varlena.h"

#include "medup.h"

/*
 * How long a read of Medplum's tables waits for a lock: a lock held on one
 * is reported (lock_not_available), never waited for, so medup can never
 * queue behind a migration and then block it.  The one place this is set.
 */
#define MEDPLUM_LOCK_TIMEOUT "200ms"

/* Rows fetched from the cursor at a time. */
#define FETCH_BATCH 1000

/* A handful of distinct queries per schema; more is a misuse. */
#define MEDUP_CACHED_PLANS 32

typedef struct MedupCachedQuery
{
	char	   *sql;			/* in TopMemoryContext */
	SPIPlanPtr	plan;			/* kept with SPI_keepplan */
	uint64		last_used;
} CachedQueryPlan;

static CachedQueryPlan cached_plans[MEDUP_CACHED_PLANS];
static uint64 use_counter = 0;

PG_FUNCTION_INFO_V1(medup_cached_query);
PG_FUNCTION_INFO_V1(medup_cached_query_as_owner);

/*
 * The plan for sql, prepared now if it is new; when every slot is taken, the
 * least recently used plan goes.
 */
static SPIPlanPtr
plan_for(const char *sql)
{
	static Oid	argtypes[1] = {INT4OID};
	CachedQueryPlan *slot = &cached_plans[0];
	SPIPlanPtr	plan;

	use_counter++;
	for (int i = 0; i < MEDUP_CACHED_PLANS; i++)
	{
		if (cached_plans[i].sql != NULL && strcmp(cached_plans[i].sql, sql) == 0)
		{
			cached_plans[i].last_used = use_counter;
			return cached_plans[i].plan;
		}
		if (cached_plans[i].last_used < slot->last_used)
			slot = &cached_plans[i];
	}

	plan = SPI_prepare(sql, 1, argtypes);
	if (plan == NULL)
		elog(ERROR, "medup: could not prepare a query: %s", SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "medup: could not keep a query plan");

	if (slot->sql != NULL)
	{
		SPI_freeplan(slot->plan);
		pfree(slot->sql);
	}
	slot->sql = MemoryContextStrdup(TopMemoryContext, sql);
	slot->plan = plan;
	slot->last_used = use_counter;
	return plan;
}

/* The column definition list must match what the query returns. */
static void
check_row_type(TupleDesc expected, TupleDesc got)
{
	if (expected->natts != got->natts)
		ereport(ERROR,
				errcode(ERRCODE_DATATYPE_MISMATCH),
				errmsg("medup.cached_query: the query returns %d columns, the caller expects %d",
					   got->natts, expected->natts));
	for (int i = 0; i < expected->natts; i++)
	{
		if (TupleDescAttr(expected, i)->atttypid != TupleDescAttr(got, i)->atttypid)
			ereport(ERROR,
					errcode(ERRCODE_DATATYPE_MISMATCH),
					errmsg("medup.cached_query: column %d is %s, the caller expects %s", i + 1,
						   format_type_be(TupleDescAttr(got, i)->atttypid),
						   format_type_be(TupleDescAttr(expected, i)->atttypid)));
	}
}

/*
 * Run sql with $1 = param (NULL when param_null) from its kept plan, into a
 * tuplestore in the caller's per-query memory, checked against the
 * caller's column definition list.
 */
static void
run_cached_query(FunctionCallInfo fcinfo, const char *sql, Datum param, bool param_null)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[1];
	char		nulls[1];
	MemoryContext caller_context;
	Tuplestorestate *store;
	TupleDesc	expected;
	Portal		portal;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0 || rsinfo->expectedDesc == NULL)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("medup.cached_query must be called in FROM with a column definition list"));
	values[0] = param_null ? (Datum) 0 : param;
	nulls[0] = param_null ? 'n' : ' ';

	caller_context = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	expected = CreateTupleDescCopy(rsinfo->expectedDesc);
	store = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(caller_context);

	/*
	 * Through a cursor, a batch at a time: the tuplestore spills to disk
	 * past work_mem, so a table of a million jobs does not have to fit in
	 * memory twice.
	 */
	SPI_connect();
	portal = SPI_cursor_open(NULL, plan_for(sql), values, nulls, true);
	check_row_type(expected, portal->tupDesc);
	do
	{
		SPI_cursor_fetch(portal, true, FETCH_BATCH);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			CHECK_FOR_INTERRUPTS();
			tuplestore_puttuple(store, SPI_tuptable->vals[i]);
		}
		SPI_freetuptable(SPI_tuptable);
	} while (SPI_processed > 0);
	SPI_cursor_close(portal);
	SPI_finish();

	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = expected;
}

static char *
query_argument(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("medup.cached_query needs a query"));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* The owner of a relation, from the syscache (no SQL: status() is hot). */
static Oid
relation_owner(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				errcode(ERRCODE_UNDEFINED_TABLE),
				errmsg("relation with OID %u does not exist", relid));
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * medup.cached_query(source regclass, sql text, param integer) RETURNS SETOF record
 * Runs sql, read-only, with $1 = param, from a plan kept for the session,
 * as the owner of source (see the top of this file).  An error or a cancel
 * restores the user id and the settings through the (sub)transaction's
 * abort; success restores them here.
 */
Datum
medup_cached_query_as_owner(PG_FUNCTION_ARGS)
{
	char	   *sql;
	Oid			owner;
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("medup.cached_query needs the relation whose owner runs the query"));
	owner = relation_owner(PG_GETARG_OID(0));
	sql = query_argument(fcinfo, 1);

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("lock_timeout", MEDPLUM_LOCK_TIMEOUT, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	run_cached_query(fcinfo, sql, PG_GETARG_DATUM(2), PG_ARGISNULL(2));

	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return (Datum) 0;
}

/*
 * medup.cached_query(sql text, param integer), as 0.1 declared it: the same
 * as the caller.  0.2 no longer declares it.
 */
Datum
medup_cached_query(PG_FUNCTION_ARGS)
{
	char	   *sql = query_argument(fcinfo, 0);

	run_cached_query(fcinfo, sql, PG_GETARG_DATUM(1), PG_ARGISNULL(1));
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(medup_medplum_role_ids);

/*
 * medup.medplum_role_ids(migration_table regclass) RETURNS oid[]
 * The roles whose sessions may be Medplum's servers: the owner of
 * "DatabaseMigration" and the roles of the superuser-only setting
 * medup.medplum_roles that exist.  Empty without the table.
 */
Datum
medup_medplum_role_ids(PG_FUNCTION_ARGS)
{
	ArrayBuildState *roles = initArrayResult(OIDOID, CurrentMemoryContext, false);
	char	   *listed = pstrdup(medup_medplum_roles ? medup_medplum_roles : "");
	List	   *names = NIL;
	ListCell   *lc;

	if (!PG_ARGISNULL(0))
	{
		HeapTuple	tuple = SearchSysCache1(RELOID, PG_GETARG_DATUM(0));

		if (HeapTupleIsValid(tuple))
		{
			accumArrayResult(roles, ObjectIdGetDatum(((Form_pg_class) GETSTRUCT(tuple))->relowner),
							 false, OIDOID, CurrentMemoryContext);
			ReleaseSysCache(tuple);
		}
	}
	/* The setting's check hook accepted the list: it splits. */
	(void) SplitIdentifierString(listed, ',', &names);
	foreach(lc, names)
	{
		Oid			role = get_role_oid((const char *) lfirst(lc), true);

		if (OidIsValid(role))
			accumArrayResult(roles, ObjectIdGetDatum(role), false, OIDOID, CurrentMemoryContext);
	}
	PG_RETURN_DATUM(makeArrayResult(roles, CurrentMemoryContext));
}
