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
 * Every sample has a sampler of its own: when each task last ran and what
 * it last logged come in a MedupTaskState that worker.c keeps in shared
 * memory, one per database.
 *
 * The network never stops sampling: the tasks of one round share one
 * medup.naptime, armed as their statement_timeout, so the next sample is
 * at most one naptime late whatever the servers do (the fetches end before
 * that timeout, as timed-out fetches: src/http.c).  A task left without
 * time stays due and goes first next round.
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "medup.h"

typedef struct PeriodicTask
{
	const char *name;			/* for the log */
	const char *function;		/* must exist: an older medup has none */
	const char *sql;
	int		   *interval;		/* seconds; 0 turns the task off */
} PeriodicTask;

static const PeriodicTask tasks[MEDUP_NETWORK_TASKS] = {
	{"probe of medup.servers", "medup.probe()",
	 "SELECT pg_catalog.count(*) FROM medup.probe()", &medup_probe_interval},
	{"catalog refresh", "medup.refresh_catalog()",
	 "SELECT pg_catalog.count(*) FROM medup.refresh_catalog()", &medup_refresh_interval},
};

/* Less than this left of the round, and a task waits for the next one. */
#define MIN_TASK_MS 500

static bool
task_due(int task, MedupTaskState *state)
{
	if (*tasks[task].interval <= 0)
		return false;
	return state->last_run[task] == 0 ||
		TimestampDifferenceExceeds(state->last_run[task], GetCurrentTimestamp(),
								   *tasks[task].interval * 1000);
}

/*
 * Run the task's SQL in a transaction of its own, within time_ms; returns
 * its count, or -1 when it does not exist.
 */
static int64
run_task(const PeriodicTask *task, long time_ms)
{
	int64		count = -1;
	char	   *check;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	enable_timeout_after(STATEMENT_TIMEOUT, (int) time_ms);
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
	disable_timeout(STATEMENT_TIMEOUT, false);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return count;
}

/* A failure is logged when it differs from the last one (NULL: it worked). */
static void
note_failure(int task, MedupTaskState *state, const char *dbname, const char *message)
{
	uint32		hash = message ? hash_bytes((const unsigned char *) message, strlen(message)) | 1 : 0;

	if (message != NULL && state->last_failure[task] != hash)
		ereport(LOG, errmsg("medup: %s in database \"%s\" failed: %s", tasks[task].name, dbname, message));
	else if (message == NULL && state->last_failure[task] != 0)
		ereport(LOG, errmsg("medup: %s in database \"%s\" works again", tasks[task].name, dbname));
	state->last_failure[task] = hash;
}

static void
run_or_log(int task, MedupTaskState *state, const char *dbname, long time_ms)
{
	MemoryContext context = CurrentMemoryContext;

	PG_TRY();
	{
		int64		count = run_task(&tasks[task], time_ms);

		if (count > 0 && tasks[task].interval == &medup_refresh_interval)
			ereport(LOG, errmsg("medup: the catalog of database \"%s\" gained " INT64_FORMAT " new or changed entries",
								dbname, count));
		note_failure(task, state, dbname, NULL);
	}
	PG_CATCH();
	{
		char	   *message = medup_worker_recover(context);

		/* Cancelled by the launcher for a DBA's command: no failure of the task. */
		if (medup_sampler_gives_way())
			state->last_run[task] = 0;	/* still due */
		else if (!TimestampDifferenceExceeds(state->last_run[task], GetCurrentTimestamp(), time_ms))
			note_failure(task, state, dbname, message);
		else
			note_failure(task, state, dbname,
						 psprintf("%s (it has at most medup.naptime, %d s, so as not to delay the next sample)",
								  message, medup_naptime));
		pfree(message);
	}
	PG_END_TRY();
}

/*
 * Called by the sampler after its sample, outside its transaction: the due
 * tasks, the longest waiting first, within one naptime in all.
 */
void
medup_worker_network_tasks(const char *dbname, MedupTaskState *state)
{
	TimestampTz round_end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														medup_naptime * 1000L);
	bool		done[MEDUP_NETWORK_TASKS] = {false};

	for (;;)
	{
		int			next = -1;
		long		time_ms;

		CHECK_FOR_INTERRUPTS();
		if (medup_sampler_gives_way())
			return;
		for (int i = 0; i < MEDUP_NETWORK_TASKS; i++)
		{
			if (!done[i] && task_due(i, state) &&
				(next < 0 || state->last_run[i] < state->last_run[next]))
				next = i;
		}
		if (next < 0)
			return;
		done[next] = true;
		time_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), round_end);
		if (time_ms < MIN_TASK_MS)
			return;				/* still due: first in the next round */
		state->last_run[next] = GetCurrentTimestamp();
		run_or_log(next, state, dbname, time_ms);
	}
}
