/*
 * periodic.c
 *		The sampling worker's network tasks: probing medup.servers every
 *		medup.probe_interval and refreshing the catalog every
 *		medup.refresh_interval.
 *
 * Each runs medup.probe() or medup.refresh_catalog(), the functions a DBA
 * calls, in a transaction of its own: never inside the sample's, so no
 * lock on Medplum's tables is held while a transfer waits on the network.
 * A failure is logged once until it changes, and the worker goes on.
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "medup.h"

typedef struct PeriodicTask
{
	const char *name;			/* for the log */
	const char *function;		/* must exist: an older medup has none */
	const char *sql;
	int		   *interval;		/* seconds; 0 turns the task off */
	TimestampTz last_run;
	char	   *last_failure;	/* in TopMemoryContext */
} PeriodicTask;

static PeriodicTask tasks[] = {
	{"probe of medup.servers", "medup.probe()",
	 "SELECT pg_catalog.count(*) FROM medup.probe()", &medup_probe_interval, 0, NULL},
	{"catalog refresh", "medup.refresh_catalog()",
	 "SELECT pg_catalog.count(*) FROM medup.refresh_catalog()", &medup_refresh_interval, 0, NULL},
};

static bool
task_due(PeriodicTask *task)
{
	TimestampTz now = GetCurrentTimestamp();

	if (*task->interval <= 0)
		return false;
	if (task->last_run != 0 &&
		!TimestampDifferenceExceeds(task->last_run, now, *task->interval * 1000))
		return false;
	task->last_run = now;
	return true;
}

/* Run the task's SQL in a transaction of its own; returns its count, or -1 when it does not exist. */
static int64
run_task(PeriodicTask *task)
{
	int64		count = -1;
	char	   *check;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	check = psprintf("SELECT pg_catalog.to_regprocedure('%s') IS NOT NULL", task->function);
	if (SPI_execute(check, true, 1) == SPI_OK_SELECT && SPI_processed == 1 &&
		strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "t") == 0)
	{
		bool		isnull;

		pgstat_report_activity(STATE_RUNNING, task->sql);
		if (SPI_execute(task->sql, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "%s returned no row", task->sql);
		count = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return count;
}

static void
note_failure(PeriodicTask *task, const char *dbname, const char *message)
{
	if (message != NULL &&
		(task->last_failure == NULL || strcmp(task->last_failure, message) != 0))
		ereport(LOG, errmsg("medup: %s in database \"%s\" failed: %s", task->name, dbname, message));
	else if (message == NULL && task->last_failure != NULL)
		ereport(LOG, errmsg("medup: %s in database \"%s\" works again", task->name, dbname));
	if (task->last_failure != NULL)
		pfree(task->last_failure);
	task->last_failure = message ? MemoryContextStrdup(TopMemoryContext, message) : NULL;
}

static void
run_or_log(PeriodicTask *task, const char *dbname)
{
	MemoryContext context = CurrentMemoryContext;

	PG_TRY();
	{
		int64		count = run_task(task);

		if (count > 0 && task->interval == &medup_refresh_interval)
			ereport(LOG, errmsg("medup: the catalog of database \"%s\" gained " INT64_FORMAT " new or changed entries",
								dbname, count));
		note_failure(task, dbname, NULL);
	}
	PG_CATCH();
	{
		char	   *message = medup_worker_recover(context);

		note_failure(task, dbname, message);
		pfree(message);
	}
	PG_END_TRY();
}

/* Called by the sampling worker after each sample, outside its transaction. */
void
medup_worker_network_tasks(const char *dbname)
{
	for (int i = 0; i < (int) lengthof(tasks); i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (task_due(&tasks[i]))
			run_or_log(&tasks[i], dbname);
	}
}
