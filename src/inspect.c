/*
 * inspect.c
 *		Reading Medplum's tables with plans kept for the session.
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
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

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

/* The plan for sql, prepared now if it is new (the least used one goes). */
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
 * medup.cached_query(sql text, param integer) RETURNS SETOF record
 * Runs sql, read-only, with $1 = param, from a plan kept for the session.
 */
Datum
medup_cached_query(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *sql;
	Datum		values[1];
	char		nulls[1];
	MemoryContext caller_context;
	Tuplestorestate *store;
	TupleDesc	expected;
	int			ret;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0 || rsinfo->expectedDesc == NULL)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("medup.cached_query must be called in FROM with a column definition list"));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("medup.cached_query needs a query"));

	sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	values[0] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	nulls[0] = PG_ARGISNULL(1) ? 'n' : ' ';

	/* The result lives in the caller's per-query memory. */
	caller_context = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	expected = CreateTupleDescCopy(rsinfo->expectedDesc);
	store = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(caller_context);

	SPI_connect();
	ret = SPI_execute_plan(plan_for(sql), values, nulls, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "medup.cached_query: not a SELECT (%s)", SPI_result_code_string(ret));
	check_row_type(expected, SPI_tuptable->tupdesc);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		CHECK_FOR_INTERRUPTS();
		tuplestore_puttuple(store, SPI_tuptable->vals[i]);
	}
	SPI_finish();

	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = expected;
	return (Datum) 0;
}
