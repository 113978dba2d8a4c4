/*
 * worker.c
 *		The background workers that sample Medplum's migrations.
 *
 * A launcher (a static worker, started once recovery is finished) reads
 * medup.databases and keeps one sampling worker running per listed
 * database that exists.  A sampling worker connects to its database and,
 * every medup.naptime, calls medup.sample(): the same SQL function a DBA
 * or pg_cron may call, so there is one code path.
 *
 * Why a launcher: a worker for a database that does not exist would fail
 * at connection and be restarted, logging every time.  The launcher checks
 * first, logs a missing database once, and starts its worker when it
 * appears; it also follows medup.databases on SIGHUP.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "medup.h"

#define MEDUP_MAX_DATABASES 32

/*
 * How long one sample may take.  A function's SET statement_timeout does
 * not arm the timer (only a client's top-level statement does), so the
 * worker arms it itself; this is its one source.
 */
#define SAMPLE_TIMEOUT_MS (10 * 1000)

/* What each sampling worker publishes, for medup.worker_pid(). */
typedef struct MedupWorkerSlot
{
	Oid			database;
	pid_t		pid;
} MedupWorkerSlot;

typedef struct MedupShared
{
	slock_t		mutex;
	MedupWorkerSlot slots[MEDUP_MAX_DATABASES];
} MedupShared;

static MedupShared *medup_shared = NULL;

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

PGDLLEXPORT void medup_launcher_main(Datum main_arg);
PGDLLEXPORT void medup_worker_main(Datum main_arg);

PG_FUNCTION_INFO_V1(medup_worker_pid);

/* ---------- shared memory ---------- */

static void
medup_shmem_request(void)
{
#if PG_VERSION_NUM >= 150000
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(MAXALIGN(sizeof(MedupShared)));
}

static void
medup_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	medup_shared = ShmemInitStruct("medup", sizeof(MedupShared), &found);
	if (!found)
	{
		memset(medup_shared, 0, sizeof(MedupShared));
		SpinLockInit(&medup_shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

static void
clear_my_slot(int code, Datum arg)
{
	SpinLockAcquire(&medup_shared->mutex);
	for (int i = 0; i < MEDUP_MAX_DATABASES; i++)
	{
		if (medup_shared->slots[i].pid == MyProcPid)
			medup_shared->slots[i].pid = 0;
	}
	SpinLockRelease(&medup_shared->mutex);
}

/* The slot of database's running worker, or -1.  The caller holds the mutex. */
static int
running_slot(Oid database)
{
	for (int i = 0; i < MEDUP_MAX_DATABASES; i++)
	{
		if (medup_shared->slots[i].pid != 0 && medup_shared->slots[i].database == database)
			return i;
	}
	return -1;
}

/* The pid of database's running worker, or 0. */
static pid_t
worker_of(Oid database)
{
	pid_t		pid = 0;
	int			slot;

	SpinLockAcquire(&medup_shared->mutex);
	slot = running_slot(database);
	if (slot >= 0)
		pid = medup_shared->slots[slot].pid;
	SpinLockRelease(&medup_shared->mutex);
	return pid;
}

/* Publish this worker's pid, or refuse to run twice for one database. */
static bool
claim_slot(void)
{
	bool		claimed = false;

	SpinLockAcquire(&medup_shared->mutex);
	if (running_slot(MyDatabaseId) < 0)
	{
		for (int i = 0; i < MEDUP_MAX_DATABASES && !claimed; i++)
		{
			if (medup_shared->slots[i].pid == 0)
			{
				medup_shared->slots[i].database = MyDatabaseId;
				medup_shared->slots[i].pid = MyProcPid;
				claimed = true;
			}
		}
	}
	SpinLockRelease(&medup_shared->mutex);
	return claimed;
}

/* medup.worker_pid(): the sampling worker of this database, or NULL. */
Datum
medup_worker_pid(PG_FUNCTION_ARGS)
{
	pid_t		pid = medup_shared != NULL ? worker_of(MyDatabaseId) : 0;

	if (pid == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(pid);
}

/* Re-read the configuration file if a SIGHUP asked for it; true if it did. */
static bool
reload_if_asked(void)
{
	if (!ConfigReloadPending)
		return false;
	ConfigReloadPending = false;
	ProcessConfigFile(PGC_SIGHUP);
	return true;
}

/* ---------- registration ---------- */

static void
fill_worker(BackgroundWorker *worker, const char *function, const char *type)
{
	memset(worker, 0, sizeof(BackgroundWorker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	strlcpy(worker->bgw_library_name, "medup", BGW_MAXLEN);
	strlcpy(worker->bgw_function_name, function, BGW_MAXLEN);
	strlcpy(worker->bgw_type, type, BGW_MAXLEN);
}

void
medup_register_workers(void)
{
	BackgroundWorker worker;

#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = medup_shmem_request;
#else
	medup_shmem_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = medup_shmem_startup;

	fill_worker(&worker, "medup_launcher_main", "medup launcher");
	strlcpy(worker.bgw_name, "medup launcher", BGW_MAXLEN);
	worker.bgw_restart_time = 10;
	RegisterBackgroundWorker(&worker);
}

/* ---------- the launcher ---------- */

typedef struct WatchedDatabase
{
	char		name[NAMEDATALEN];
	BackgroundWorkerHandle *handle;
	TimestampTz started_at;
	bool		warned_missing;
	bool		listed;
} WatchedDatabase;

static WatchedDatabase watched[MEDUP_MAX_DATABASES];
static int	n_watched = 0;

static WatchedDatabase *
find_watched(const char *name, bool add)
{
	for (int i = 0; i < n_watched; i++)
	{
		if (strcmp(watched[i].name, name) == 0)
			return &watched[i];
	}
	if (!add)
		return NULL;
	if (n_watched >= MEDUP_MAX_DATABASES)
	{
		ereport(WARNING,
				errmsg("medup watches at most %d databases; \"%s\" is left out",
					   MEDUP_MAX_DATABASES, name));
		return NULL;
	}
	memset(&watched[n_watched], 0, sizeof(WatchedDatabase));
	strlcpy(watched[n_watched].name, name, NAMEDATALEN);
	return &watched[n_watched++];
}

/*
 * The OID of a database that accepts connections, or InvalidOid.  The
 * launcher has no database of its own, so no index or relcache beyond the
 * shared catalogs: a plain scan of pg_database, as the logical replication
 * launcher does for pg_subscription.
 */
static Oid
database_oid(const char *name)
{
	Oid			found = InvalidOid;
	MemoryContext caller_context = CurrentMemoryContext;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tuple = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tuple);

		if (strcmp(NameStr(db->datname), name) == 0 && db->datallowconn)
			found = db->oid;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	/* Commit leaves us in TopMemoryContext: go back, or the loop leaks there. */
	MemoryContextSwitchTo(caller_context);
	return found;
}

/* Whether some worker, started by this launcher or an earlier one, runs for a database. */
static bool
database_has_worker(Oid database)
{
	return worker_of(database) != 0;
}

/* The names in medup.databases; an unparsable list is logged and taken as empty. */
static List *
listed_databases(void)
{
	char	   *list = pstrdup(medup_databases ? medup_databases : "");
	List	   *names = NIL;

	if (!SplitIdentifierString(list, ',', &names))
	{
		ereport(LOG, errmsg("medup.databases is not a valid list of database names: \"%s\"",
							medup_databases));
		names = NIL;
	}
	return names;
}

static bool
database_listed(const char *name)
{
	List	   *names = listed_databases();
	ListCell   *lc;

	foreach(lc, names)
	{
		if (strcmp((const char *) lfirst(lc), name) == 0)
			return true;
	}
	return false;
}

static bool
worker_alive(WatchedDatabase *db)
{
	pid_t		pid;

	if (db->handle == NULL)
		return false;
	return GetBackgroundWorkerPid(db->handle, &pid) != BGWH_STOPPED;
}

static void
start_worker(WatchedDatabase *db)
{
	BackgroundWorker worker;
	MemoryContext old_context;
	bool		registered;

	fill_worker(&worker, "medup_worker_main", "medup worker");
	snprintf(worker.bgw_name, BGW_MAXLEN, "medup worker for database %s", db->name);
	worker.bgw_restart_time = BGW_NEVER_RESTART;	/* the launcher restarts it */
	worker.bgw_notify_pid = MyProcPid;
	strlcpy(worker.bgw_extra, db->name, BGW_EXTRALEN);
	/* The handle outlives this round of the launcher's loop. */
	old_context = MemoryContextSwitchTo(TopMemoryContext);
	if (db->handle != NULL)
		pfree(db->handle);
	registered = RegisterDynamicBackgroundWorker(&worker, &db->handle);
	MemoryContextSwitchTo(old_context);
	if (!registered)
	{
		db->handle = NULL;
		ereport(WARNING,
				errmsg("medup could not start a worker for database \"%s\"", db->name),
				errhint("Raise max_worker_processes: medup needs one for its launcher and one per watched database."));
		return;
	}
	db->started_at = GetCurrentTimestamp();
}

/* Bring the running workers in line with medup.databases. */
static void
reconcile_workers(void)
{
	List	   *names = listed_databases();
	ListCell   *lc;

	for (int i = 0; i < n_watched; i++)
		watched[i].listed = false;

	foreach(lc, names)
	{
		WatchedDatabase *db = find_watched((const char *) lfirst(lc), true);
		Oid			oid;

		CHECK_FOR_INTERRUPTS();
		if (db == NULL)
			continue;
		db->listed = true;
		if (worker_alive(db))
			continue;
		oid = database_oid(db->name);
		if (!OidIsValid(oid))
		{
			if (!db->warned_missing)
				ereport(LOG,
						errmsg("medup: database \"%s\" in medup.databases does not exist; it will be watched once it does",
							   db->name));
			db->warned_missing = true;
			continue;
		}
		db->warned_missing = false;
		/* One started by an earlier launcher still runs. */
		if (database_has_worker(oid))
			continue;
		/* A worker that keeps dying is restarted at most once a naptime. */
		if (db->started_at != 0 &&
			!TimestampDifferenceExceeds(db->started_at, GetCurrentTimestamp(),
										medup_naptime * 1000))
			continue;
		start_worker(db);
	}

	/* Workers also leave by themselves when their database is unlisted. */
	for (int i = 0; i < n_watched; i++)
	{
		if (!watched[i].listed && worker_alive(&watched[i]))
		{
			TerminateBackgroundWorker(watched[i].handle);
			pfree(watched[i].handle);
			watched[i].handle = NULL;
		}
	}
	list_free(names);
}

void
medup_launcher_main(Datum main_arg)
{
	MemoryContext loop_context;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* Shared catalogs only: enough to look databases up. */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("medup launcher");
	loop_context = AllocSetContextCreate(TopMemoryContext, "medup launcher loop",
										 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		(void) reload_if_asked();
		MemoryContextSwitchTo(loop_context);
		reconcile_workers();
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(loop_context);

		/* Woken by SIGHUP, or by a worker starting or stopping. */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 medup_naptime * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---------- the sampling worker ---------- */

static char *last_outcome = NULL;

/*
 * Log what the sample said when it differs from last time: a database that
 * is not Medplum, or a sample skipped because another session holds a
 * lock, is said once, not every naptime (medup.sampler counts the skips).
 */
static void
note_outcome(const char *dbname, const char *outcome)
{
	if (last_outcome != NULL && strcmp(last_outcome, outcome) == 0)
		return;
	if (strcmp(outcome, "sampled") == 0)
	{
		if (last_outcome != NULL)
			ereport(LOG, errmsg("medup: sampling database \"%s\" again", dbname));
	}
	else
		ereport(LOG, errmsg("medup: database \"%s\": %s; checking again every %d s",
							dbname, outcome, medup_naptime));
	if (last_outcome != NULL)
		pfree(last_outcome);
	last_outcome = MemoryContextStrdup(TopMemoryContext, outcome);
}

/*
 * The worker's two statements are planned once and kept: a sample every
 * second must not pay for parsing and planning them each time.  The
 * sample's plan is made only once the extension exists; PostgreSQL's plan
 * cache replans it if the extension is dropped and created again.
 */
static SPIPlanPtr extension_plan = NULL;
static SPIPlanPtr sample_plan = NULL;

static SPIPlanPtr
kept_plan(SPIPlanPtr *plan, const char *sql)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	prepared = SPI_prepare(sql, 0, NULL);

		if (prepared == NULL || SPI_keepplan(prepared) != 0)
			elog(ERROR, "medup: could not prepare \"%s\": %s", sql,
				 SPI_result_code_string(SPI_result));
		*plan = prepared;
	}
	return *plan;
}

/*
 * One sample, in its own transaction.  statement_timeout is armed by hand:
 * outside a client connection nothing else arms it.
 */
static char *
sample_once(void)
{
	char	   *outcome = "no extension";

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "SELECT medup.sample()");
	enable_timeout_after(STATEMENT_TIMEOUT, SAMPLE_TIMEOUT_MS);

	if (SPI_execute_plan(kept_plan(&extension_plan,
								   "SELECT 1 FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'medup'"),
						 NULL, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		char	   *value;

		if (SPI_execute_plan(kept_plan(&sample_plan, "SELECT medup.sample()"),
							 NULL, NULL, false, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "medup.sample() returned no row");
		value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		outcome = MemoryContextStrdup(TopMemoryContext, value ? value : "no outcome");
	}
	else
		outcome = MemoryContextStrdup(TopMemoryContext,
									  "the medup extension is not installed");

	disable_timeout(STATEMENT_TIMEOUT, false);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return outcome;
}

/*
 * In a PG_CATCH block of a worker's own transaction: abort the transaction,
 * disarm the sample's statement_timeout, go back to idle and return the
 * error's message, allocated in context (the caller's context before the
 * PG_TRY), so that the worker can log it and carry on at the next naptime.
 */
char *
medup_worker_recover(MemoryContext context)
{
	ErrorData  *edata;
	char	   *message;

	HOLD_INTERRUPTS();
	MemoryContextSwitchTo(context);
	edata = CopyErrorData();
	FlushErrorState();
	disable_timeout(STATEMENT_TIMEOUT, false);
	AbortCurrentTransaction();
	pgstat_report_activity(STATE_IDLE, NULL);
	RESUME_INTERRUPTS();
	message = pstrdup(edata->message);
	FreeErrorData(edata);
	return message;
}

/* A failed sample is logged and skipped: the next naptime tries again. */
static void
sample_or_log(const char *dbname)
{
	MemoryContext context = CurrentMemoryContext;

	PG_TRY();
	{
		char	   *outcome = sample_once();

		note_outcome(dbname, outcome);
		pfree(outcome);
	}
	PG_CATCH();
	{
		char	   *message = medup_worker_recover(context);

		/* The same failure every naptime is logged once. */
		note_outcome(dbname, psprintf("sample failed: %s", message));
		pfree(message);
	}
	PG_END_TRY();
}

void
medup_worker_main(Datum main_arg)
{
	char		dbname[NAMEDATALEN];
	MemoryContext loop_context;
	uint32		wait_event = PG_WAIT_EXTENSION;

	strlcpy(dbname, MyBgworkerEntry->bgw_extra, NAMEDATALEN);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(dbname, NULL, 0);
	pgstat_report_appname("medup worker");

	/*
	 * The worker runs as the bootstrap superuser: no search_path that the
	 * database's owner could set (ALTER DATABASE ... SET search_path) may
	 * decide which operator or function its SQL calls.
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);

	/*
	 * A sample need not wait for its WAL to reach disk: after a crash the
	 * next sample derives again whatever events the lost ones would have
	 * recorded.  Only this worker's own commits are affected.
	 */
	SetConfigOption("synchronous_commit", "off", PGC_USERSET, PGC_S_SESSION);
#if PG_VERSION_NUM >= 170000
	wait_event = WaitEventExtensionNew("MedupNaptime");
#endif

	if (!claim_slot())
	{
		ereport(DEBUG1, errmsg("medup: database \"%s\" already has a worker", dbname));
		proc_exit(0);
	}
	before_shmem_exit(clear_my_slot, 0);

	loop_context = AllocSetContextCreate(TopMemoryContext, "medup worker loop",
										 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		TimestampTz next;
		long		wait_ms;

		CHECK_FOR_INTERRUPTS();
		(void) reload_if_asked();

		MemoryContextSwitchTo(loop_context);
		if (!database_listed(dbname))
		{
			ereport(LOG, errmsg("medup: database \"%s\" is no longer in medup.databases; its worker stops",
								dbname));
			proc_exit(0);
		}
		if (RecoveryInProgress())
			note_outcome(dbname, "standby, nothing is recorded until promotion");
		else
			sample_or_log(dbname);
		/* Probes and refreshes: their own transactions, after the sample's (periodic.c). */
		if (!RecoveryInProgress())
			medup_worker_network_tasks(dbname);
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(loop_context);

		/* Sleep out the naptime; SIGHUP wakes us to pick up a new one. */
		next = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), medup_naptime * 1000L);
		for (;;)
		{
			wait_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), next);
			if (wait_ms <= 0)
				break;
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 wait_ms, wait_event);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			if (reload_if_asked())
				next = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), medup_naptime * 1000L);
		}
	}
}
