/*
 * worker.c
 *		The launcher and the samplers that sample Medplum's migrations.
 *
 * The launcher (a static worker, started once recovery is finished) holds
 * no database connection.  It reads medup.databases, looks the databases
 * up in pg_database every medup.naptime, and starts a sampler for each
 * database that exists and is due: a dynamic worker that connects to that
 * one database, calls medup.sample() (the same SQL function a DBA or
 * pg_cron may call, so there is one code path) and runs the network tasks
 * when they are due (periodic.c).  At most medup.max_samplers run at once;
 * the others wait for a free one, longest waiting first.
 *
 * A sampler stays, idle between samples, while no database waits for one
 * (every watched database has its sampler), for at most an hour; then, or
 * as soon as a database waits, it exits after its sample and the launcher
 * starts the next.  So:
 * - Fifty databases need medup.max_samplers worker slots, not fifty, and
 *   one or two databases pay a backend start an hour, not one per sample
 *   (measured: bench/run.sh).
 * - A process connected to a database makes DROP DATABASE, ALTER DATABASE
 *   RENAME and CREATE DATABASE ... TEMPLATE wait for it and fail after 5 s.
 *   A sampler, idle or mid-sample, gives way to such a command: see
 *   database_claimed() and watch_samplers().  The database is sampled
 *   again as soon as it exists again (looked up by name every naptime).
 *
 * What must outlive a sampler (what its samplers last logged, when a
 * network task last ran, the counters medup.sampling shows) lives in
 * shared memory, one entry per watched database, kept by the launcher.
 */
#include "postgres.h"

#include <sys/resource.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "commands/extension.h"
#include "commands/dbcommands.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
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

/* Databases medup.databases may list; more are logged once and left out. */
#define MEDUP_MAX_DATABASES 500

/*
 * A shortage of samplers is over once no database has been late for this
 * many naptimes: the launcher then logs its end, and medup.sampling's
 * late_now (medup.fleet's sampling_late) turns false.
 */
#define SHORTAGE_OVER_NAPTIMES 10

/* One watched database: what the launcher and its samplers share. */
typedef struct MedupDatabase
{
	char		name[NAMEDATALEN];	/* "" : a free entry */
	Oid			oid;			/* as last looked up; InvalidOid: missing */
	bool		warned_missing; /* "does not exist" was logged */
	pid_t		sampler_pid;	/* the sampler connected now, or 0 */
	Oid			sampler_dboid;	/* the database it is connected to */
	bool		give_way;		/* the launcher asked it to give up its sample */
	int64		gave_way;		/* samples given up or put off for a DBA's command */
	TimestampTz last_start;		/* when its last sampler was started */
	TimestampTz due_at;			/* when its next sample is due; 0: not found */
	uint32		last_outcome;	/* hash of what its samplers last logged; 0: nothing */
	int64		samplers;		/* samplers started */
	int64		late;			/* started more than a naptime after they were due */
	TimestampTz last_late_at;
	int64		cpu_us;			/* CPU of its samplers' samples, start-up included */
	int64		cpu_samples;	/* samples cpu_us is the CPU of */
	MedupTaskState tasks;		/* the network tasks' memory (periodic.c) */
} MedupDatabase;

typedef struct MedupShared
{
	slock_t		mutex;
	pid_t		launcher_pid;
	bool		database_waits; /* a due database has no sampler: idle ones leave */
	MedupDatabase databases[MEDUP_MAX_DATABASES];
} MedupShared;

static MedupShared *medup_shared = NULL;

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

PGDLLEXPORT void medup_launcher_main(Datum main_arg);
PGDLLEXPORT void medup_sampler_main(Datum main_arg);

PG_FUNCTION_INFO_V1(medup_worker_pid);
PG_FUNCTION_INFO_V1(medup_sampling);

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

/* The entry of a watched database, or NULL.  The caller holds the mutex. */
static MedupDatabase *
entry_of(const char *name)
{
	for (int i = 0; i < MEDUP_MAX_DATABASES; i++)
	{
		if (medup_shared->databases[i].name[0] != '\0' &&
			strcmp(medup_shared->databases[i].name, name) == 0)
			return &medup_shared->databases[i];
	}
	return NULL;
}

/*
 * medup.worker_pid(): the pid of the medup launcher when it watches this
 * database (it starts the samplers), or NULL: not preloaded, not listed.
 */
Datum
medup_worker_pid(PG_FUNCTION_ARGS)
{
	pid_t		pid = 0;
	char	   *name;

	if (medup_shared == NULL)
		PG_RETURN_NULL();
	name = get_database_name(MyDatabaseId);
	if (name == NULL)
		PG_RETURN_NULL();
	SpinLockAcquire(&medup_shared->mutex);
	if (entry_of(name) != NULL)
		pid = medup_shared->launcher_pid;
	SpinLockRelease(&medup_shared->mutex);
	if (pid == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(pid);
}

/*
 * medup.sampling(): one row per database the launcher watches, from shared
 * memory: what medup.sampling shows.  Empty when medup is not preloaded.
 */
Datum
medup_sampling(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MedupDatabase *copy;
	int			n = 0;

	InitMaterializedSRF(fcinfo, 0);
	if (medup_shared == NULL)
		PG_RETURN_VOID();
	/* Copied under the spinlock, formatted after it (palloc may fail). */
	copy = palloc(sizeof(MedupDatabase) * MEDUP_MAX_DATABASES);
	SpinLockAcquire(&medup_shared->mutex);
	for (int i = 0; i < MEDUP_MAX_DATABASES; i++)
	{
		if (medup_shared->databases[i].name[0] != '\0')
			copy[n++] = medup_shared->databases[i];
	}
	SpinLockRelease(&medup_shared->mutex);

	for (int i = 0; i < n; i++)
	{
		Datum		values[10];
		bool		nulls[10] = {false};
		NameData	name;

		namestrcpy(&name, copy[i].name);
		values[0] = NameGetDatum(&name);
		values[1] = BoolGetDatum(OidIsValid(copy[i].oid));
		values[2] = Int32GetDatum(copy[i].sampler_pid);
		nulls[2] = copy[i].sampler_pid == 0;
		values[3] = TimestampTzGetDatum(copy[i].last_start);
		nulls[3] = copy[i].last_start == 0;
		values[4] = Int64GetDatum(copy[i].samplers);
		values[5] = Int64GetDatum(copy[i].late);
		values[6] = TimestampTzGetDatum(copy[i].last_late_at);
		nulls[6] = copy[i].last_late_at == 0;
		values[7] = Float8GetDatum(copy[i].cpu_samples > 0
								   ? (double) copy[i].cpu_us / copy[i].cpu_samples / 1000.0 : 0);
		nulls[7] = copy[i].cpu_samples == 0;
		values[8] = Int64GetDatum(copy[i].gave_way);
		values[9] = BoolGetDatum(copy[i].last_late_at != 0 &&
								 !TimestampDifferenceExceeds(copy[i].last_late_at, GetCurrentTimestamp(),
															 SHORTAGE_OVER_NAPTIMES * medup_naptime * 1000L));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
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

/* The database a sampler samples (empty in the launcher), as last looked up. */
static char sampler_dbname[NAMEDATALEN];
static Oid	sampler_dboid = InvalidOid;

/*
 * Log what a database's sample said when it differs from what its
 * samplers said last: a database that is not Medplum, or a sample skipped
 * because another session holds a lock, is said once, not every naptime
 * (medup.sampler counts the skips).  Samplers come and go: the last one's
 * words are remembered in shared memory, as a hash.  The launcher speaks
 * here too, of a sample it puts off (start_due_samplers()).
 */
static void
note_outcome(const char *dbname, const char *outcome)
{
	uint32		hash = hash_bytes((const unsigned char *) outcome, strlen(outcome)) | 1;
	uint32		last = 0;
	MedupDatabase *db;

	SpinLockAcquire(&medup_shared->mutex);
	db = entry_of(dbname);
	if (db != NULL)
	{
		last = db->last_outcome;
		db->last_outcome = hash;
	}
	SpinLockRelease(&medup_shared->mutex);
	if (last == hash)
		return;
	if (strcmp(outcome, "sampled") == 0)
	{
		if (last != 0)
			ereport(LOG, errmsg("medup: sampling database \"%s\" again", dbname));
	}
	else
		ereport(LOG, errmsg("medup: database \"%s\": %s; checking again every %d s",
							dbname, outcome, medup_naptime));
}

/* ---------- giving way to a DBA ---------- */

/*
 * What a sampler says when it gives up its sample, or the launcher puts
 * one off, for a command that keeps connections out of the database.
 */
#define GAVE_WAY_OUTCOME \
	"sample given up: another session is dropping, renaming or copying the database (DROP DATABASE, ALTER DATABASE, CREATE DATABASE ... TEMPLATE)"

/* How often the launcher looks at the databases of running samplers. */
#define WATCH_MS 100

/*
 * Whether a command keeps new connections out of database dboid now.
 *
 * DROP DATABASE, ALTER DATABASE ... RENAME and ... SET TABLESPACE take
 * AccessExclusiveLock on the database object, CREATE DATABASE ... TEMPLATE
 * ShareLock on its template; then each waits up to 5 s for the processes
 * connected to it to go away (CountOtherDBBackends() in procarray.c, which
 * ends only autovacuum workers) and fails.  A connecting backend takes
 * RowExclusiveLock on the database, which conflicts with exactly those
 * (COMMENT or GRANT on a database take weaker locks, or none), so a
 * sampler asks for that lock without waiting, as if it were connecting
 * now, and lets it go at once.  A session lock: the launcher runs no
 * transaction.  Asked of the lock manager, one partition lock, never a
 * scan of pg_locks: a few microseconds.
 */
static bool
try_connecting_lock(Oid dboid)
{
	LOCKTAG		tag;

	SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, dboid, 0);
#if PG_VERSION_NUM >= 180000
	return LockAcquireExtended(&tag, RowExclusiveLock, true, true, false, NULL, false) != LOCKACQUIRE_NOT_AVAIL;
#else
	return LockAcquireExtended(&tag, RowExclusiveLock, true, true, false, NULL) != LOCKACQUIRE_NOT_AVAIL;
#endif
}

static void
release_connecting_lock(Oid dboid)
{
	LOCKTAG		tag;

	SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, dboid, 0);
	LockRelease(&tag, RowExclusiveLock, true);
}

static bool
database_claimed(Oid dboid)
{
	if (!try_connecting_lock(dboid))
		return true;
	release_connecting_lock(dboid);
	return false;
}

/*
 * Every WATCH_MS while samplers run: a sampler whose database a DBA's
 * command claims is asked to give up its sample (a flag, then SIGINT, a
 * query cancel, which every wait of a sample honours: a lock wait,
 * pg_sleep, a network transfer, a long scan).  Its sampler catches the
 * cancel, says so once (note_outcome()) and exits; the command, which
 * looks again every 100 ms, goes on.
 *
 * Why the launcher watches, and not the sampler itself: a sample runs
 * arbitrary SQL (PL/pgSQL, Medplum's tables, a lock wait), and nothing in
 * a backend runs code of ours while it waits but a signal handler, where
 * the lock manager may not be asked.  Why not bound every sample below the
 * command's 5 s: a lock wait, a big database or a slow remote target make
 * a sample as long as its own bound (10 s), and a bound of a second would
 * make samples fail on a busy database; giving way costs a sample only
 * when a DBA's command is under way.
 */
static void
watch_samplers(void)
{
	for (int i = 0; i < MEDUP_MAX_DATABASES; i++)
	{
		MedupDatabase *db = &medup_shared->databases[i];
		pid_t		pid;
		Oid			dboid;
		bool		signal = false;

		SpinLockAcquire(&medup_shared->mutex);
		pid = db->sampler_pid;
		dboid = db->sampler_dboid;
		SpinLockRelease(&medup_shared->mutex);
		if (pid == 0 || !OidIsValid(dboid) || !database_claimed(dboid))
			continue;
		SpinLockAcquire(&medup_shared->mutex);
		if (db->sampler_pid == pid && !db->give_way)
		{
			db->give_way = true;
			db->gave_way++;
			signal = true;
		}
		SpinLockRelease(&medup_shared->mutex);
		/* A sampler that ended meanwhile has cleared its pid: nobody else gets it. */
		if (signal)
			(void) kill(pid, SIGINT);
	}
}

/* A sample of this sampler's database put off for a DBA's command. */
static void
bump_gave_way(void)
{
	MedupDatabase *db;

	SpinLockAcquire(&medup_shared->mutex);
	db = entry_of(sampler_dbname);
	if (db != NULL)
		db->gave_way++;
	SpinLockRelease(&medup_shared->mutex);
}

/* Whether the launcher asked this sampler to give up its sample. */
bool
medup_sampler_gives_way(void)
{
	MedupDatabase *db;
	bool		give_way = false;

	if (medup_shared == NULL || sampler_dbname[0] == '\0')
		return false;
	SpinLockAcquire(&medup_shared->mutex);
	db = entry_of(sampler_dbname);
	if (db != NULL && db->sampler_pid == MyProcPid)
		give_way = db->give_way;
	SpinLockRelease(&medup_shared->mutex);
	return give_way;
}


/* ---------- the launcher ---------- */

/* The launcher's handles of the samplers it started, by entry. */
static BackgroundWorkerHandle *handles[MEDUP_MAX_DATABASES];

/* Whether a shortage of samplers or worker slots was logged, and is not over. */
static bool shortage_logged = false;

static void
forget_launcher(int code, Datum arg)
{
	SpinLockAcquire(&medup_shared->mutex);
	medup_shared->launcher_pid = 0;
	SpinLockRelease(&medup_shared->mutex);
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
name_in(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
	{
		if (strcmp((const char *) lfirst(lc), name) == 0)
			return true;
	}
	return false;
}

/*
 * Make the shared entries the databases of medup.databases: a new name
 * gets a free entry, an unlisted one's entry is freed (a sampler of it
 * that still runs finishes its one sample).  Counters of names that stay
 * are kept, also across a restart of the launcher.
 */
static void
sync_entries(List *names)
{
	ListCell   *lc;

	SpinLockAcquire(&medup_shared->mutex);
	for (int i = 0; i < MEDUP_MAX_DATABASES; i++)
	{
		MedupDatabase *db = &medup_shared->databases[i];

		if (db->name[0] != '\0' && !name_in(names, db->name))
			memset(db, 0, sizeof(MedupDatabase));
	}
	foreach(lc, names)
	{
		const char *name = (const char *) lfirst(lc);
		bool		added = entry_of(name) != NULL;

		for (int i = 0; i < MEDUP_MAX_DATABASES && !added; i++)
		{
			MedupDatabase *db = &medup_shared->databases[i];

			if (db->name[0] == '\0')
			{
				memset(db, 0, sizeof(MedupDatabase));
				strlcpy(db->name, name, NAMEDATALEN);
				added = true;
			}
		}
		if (!added)
		{
			SpinLockRelease(&medup_shared->mutex);
			ereport(WARNING,
					errmsg("medup watches at most %d databases; \"%s\" is left out",
						   MEDUP_MAX_DATABASES, name));
			SpinLockAcquire(&medup_shared->mutex);
		}
	}
	SpinLockRelease(&medup_shared->mutex);
}

/*
 * Look every watched database up in pg_database, in one scan: its OID now,
 * or InvalidOid when it does not exist or takes no connections.  The
 * launcher has no database of its own, so no index or relcache beyond the
 * shared catalogs: a plain scan, as the logical replication launcher does
 * for pg_subscription.  Looked up by name every naptime: a database dropped
 * and created again (a restore) has a new OID.
 */
static void
look_up_databases(void)
{
	MemoryContext caller_context = CurrentMemoryContext;
	Oid		   *found = palloc0(sizeof(Oid) * MEDUP_MAX_DATABASES);
	char	  (*names)[NAMEDATALEN] = palloc0(NAMEDATALEN * MEDUP_MAX_DATABASES);
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;

	SpinLockAcquire(&medup_shared->mutex);
	for (int i = 0; i < MEDUP_MAX_DATABASES; i++)
		strlcpy(names[i], medup_shared->databases[i].name, NAMEDATALEN);
	SpinLockRelease(&medup_shared->mutex);

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tuple = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database dbform = (Form_pg_database) GETSTRUCT(tuple);

		CHECK_FOR_INTERRUPTS();
		if (!dbform->datallowconn)
			continue;
		for (int i = 0; i < MEDUP_MAX_DATABASES; i++)
		{
			if (names[i][0] != '\0' && strcmp(NameStr(dbform->datname), names[i]) == 0)
				found[i] = dbform->oid;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	/* Commit leaves us in TopMemoryContext: go back, or the loop leaks there. */
	MemoryContextSwitchTo(caller_context);

	for (int i = 0; i < MEDUP_MAX_DATABASES; i++)
	{
		MedupDatabase *db = &medup_shared->databases[i];
		bool		log_missing = false;
		bool		log_back = false;

		if (names[i][0] == '\0')
			continue;
		SpinLockAcquire(&medup_shared->mutex);
		if (strcmp(db->name, names[i]) == 0)
		{
			db->oid = found[i];
			/* Found (again): due now.  Missing: nothing is due. */
			if (!OidIsValid(found[i]))
				db->due_at = 0;
			else if (db->due_at == 0)
				db->due_at = GetCurrentTimestamp();
			log_missing = !OidIsValid(found[i]) && !db->warned_missing;
			log_back = OidIsValid(found[i]) && db->warned_missing;
			db->warned_missing = !OidIsValid(found[i]);
		}
		SpinLockRelease(&medup_shared->mutex);
		if (log_missing)
			ereport(LOG,
					errmsg("medup: database \"%s\" in medup.databases does not exist; it will be watched once it does",
						   names[i]));
		if (log_back)
			ereport(LOG, errmsg("medup: database \"%s\" exists now; sampling it", names[i]));
	}
	pfree(found);
	pfree(names);
}

/* Whether entry i has a sampler, started by this launcher or an earlier one. */
static bool
sampler_running(int i)
{
	pid_t		pid;

	if (handles[i] != NULL)
	{
		if (GetBackgroundWorkerPid(handles[i], &pid) != BGWH_STOPPED)
			return true;
		pfree(handles[i]);
		handles[i] = NULL;
	}
	return medup_shared->databases[i].sampler_pid != 0;
}

/* Whether any sampler runs now. */
static bool
samplers_running(void)
{
	for (int i = 0; i < MEDUP_MAX_DATABASES; i++)
	{
		if (sampler_running(i))
			return true;
	}
	return false;
}

/* Register a sampler for entry i; false when no worker slot is free. */
static bool
start_sampler(int i, const char *name, Oid dboid)
{
	BackgroundWorker worker;
	MemoryContext old_context;
	bool		registered;

	fill_worker(&worker, "medup_sampler_main", "medup sampler");
	snprintf(worker.bgw_name, BGW_MAXLEN, "medup sampler for database %s", name);
	worker.bgw_restart_time = BGW_NEVER_RESTART;	/* the launcher starts the next */
	worker.bgw_notify_pid = MyProcPid;	/* its start and its end wake us */
	strlcpy(worker.bgw_extra, name, BGW_EXTRALEN);
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);	/* as looked up */
	/* The handle outlives this round of the launcher's loop. */
	old_context = MemoryContextSwitchTo(TopMemoryContext);
	registered = RegisterDynamicBackgroundWorker(&worker, &handles[i]);
	MemoryContextSwitchTo(old_context);
	if (!registered)
		handles[i] = NULL;
	return registered;
}

/*
 * A shortage (a database waiting for a sampler more than a naptime past its
 * due time: every sampler busy, or no worker slot free) is logged when it
 * begins, and its end once no database has been late for
 * SHORTAGE_OVER_NAPTIMES:
 * never every naptime.  medup.sampling counts the late samples per
 * database.
 */
static TimestampTz last_overdue_at = 0;

static void
note_shortage(TimestampTz now, bool no_slot)
{
	long		naptime_ms = medup_naptime * 1000L;
	const char *late = NULL;

	for (int i = 0; i < MEDUP_MAX_DATABASES && late == NULL; i++)
	{
		MedupDatabase *db = &medup_shared->databases[i];

		if (db->name[0] != '\0' && db->due_at != 0 && !sampler_running(i) &&
			TimestampDifferenceExceeds(db->due_at, now, naptime_ms))
			late = db->name;
	}
	if (late != NULL)
	{
		if (!shortage_logged)
			ereport(WARNING,
					errmsg("medup: database \"%s\" waits for a sampler past its naptime", late),
					no_slot
					? errdetail("No background worker slot is free (max_worker_processes = %d).",
								max_worker_processes)
					: errdetail("All %d samplers (medup.max_samplers) are busy.", medup_max_samplers),
					errhint("Raise %s, or medup.naptime.  medup.sampling counts the late samples; this is logged once, until every database has been sampled on time for ten naptimes.",
							no_slot ? "max_worker_processes" : "medup.max_samplers"));
		shortage_logged = true;
		last_overdue_at = now;
	}
	else if (shortage_logged &&
			 TimestampDifferenceExceeds(last_overdue_at, now, SHORTAGE_OVER_NAPTIMES * naptime_ms))
	{
		ereport(LOG, errmsg("medup: every watched database is sampled on time again"));
		shortage_logged = false;
	}
}

/*
 * Start samplers for the due databases, the longest waiting first, while
 * fewer than medup.max_samplers run.  Returns when the next one falls due
 * (0: none), for the launcher's sleep; a sampler's end wakes it too.
 */
static TimestampTz
start_due_samplers(void)
{
	TimestampTz now = GetCurrentTimestamp();
	long		naptime_ms = medup_naptime * 1000L;
	TimestampTz next_due = 0;
	int			running = 0;
	bool		no_slot = false;
	bool		looked_up = false;
	bool		waits = false;

	for (int i = 0; i < MEDUP_MAX_DATABASES; i++)
	{
		if (sampler_running(i))
			running++;
	}

	for (;;)
	{
		int			pick = -1;
		TimestampTz pick_due = 0;
		MedupDatabase *db;

		CHECK_FOR_INTERRUPTS();
		/* The due database that has waited longest, without a sampler. */
		for (int i = 0; i < MEDUP_MAX_DATABASES; i++)
		{
			TimestampTz due;

			db = &medup_shared->databases[i];
			if (db->name[0] == '\0' || db->due_at == 0 || sampler_running(i))
				continue;
			due = db->due_at;
			if (due > now)
			{
				if (next_due == 0 || due < next_due)
					next_due = due;
			}
			else if (pick < 0 || due < pick_due)
			{
				pick = i;
				pick_due = due;
			}
		}
		if (pick < 0 || running >= medup_max_samplers)
		{
			waits = pick >= 0;
			break;
		}
		/*
		 * Looked up again before the first sampler of a round starts: a
		 * database renamed or dropped since the last look-up would make its
		 * sampler fail to connect (FATAL "database ... does not exist").
		 */
		if (!looked_up)
		{
			look_up_databases();
			looked_up = true;
			continue;
		}
		db = &medup_shared->databases[pick];
		/*
		 * A DBA's command under way: a sampler would wait to connect, then
		 * fail or stand in its way.  Put off by a naptime, not late.
		 */
		if (database_claimed(db->oid))
		{
			SpinLockAcquire(&medup_shared->mutex);
			db->due_at = TimestampTzPlusMilliseconds(now, naptime_ms);
			db->gave_way++;
			SpinLockRelease(&medup_shared->mutex);
			note_outcome(db->name, GAVE_WAY_OUTCOME);
			if (next_due == 0 || db->due_at < next_due)
				next_due = db->due_at;
			continue;
		}
		if (!start_sampler(pick, db->name, db->oid))
		{
			/* No worker slot: try again in a second, or at a sampler's end. */
			no_slot = true;
			waits = true;
			if (next_due == 0 || next_due > TimestampTzPlusMilliseconds(now, 1000))
				next_due = TimestampTzPlusMilliseconds(now, 1000);
			break;
		}
		running++;
		SpinLockAcquire(&medup_shared->mutex);
		db->samplers++;
		/* Started more than a naptime after it was due: late. */
		if (TimestampDifferenceExceeds(pick_due, now, naptime_ms))
		{
			db->late++;
			db->last_late_at = now;
		}
		db->last_start = now;
		db->due_at = TimestampTzPlusMilliseconds(now, naptime_ms);
		SpinLockRelease(&medup_shared->mutex);
		if (next_due == 0 || TimestampTzPlusMilliseconds(now, naptime_ms) < next_due)
			next_due = TimestampTzPlusMilliseconds(now, naptime_ms);
	}
	/* Idle samplers leave after their next sample, freeing their slots. */
	SpinLockAcquire(&medup_shared->mutex);
	medup_shared->database_waits = waits;
	SpinLockRelease(&medup_shared->mutex);
	note_shortage(now, no_slot);
	return next_due;
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

void
medup_launcher_main(Datum main_arg)
{
	MemoryContext loop_context;
	TimestampTz next_lookup = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* Shared catalogs only: enough to look databases up, and in no database's way. */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("medup launcher");
	SpinLockAcquire(&medup_shared->mutex);
	medup_shared->launcher_pid = MyProcPid;
	SpinLockRelease(&medup_shared->mutex);
	before_shmem_exit(forget_launcher, 0);
	loop_context = AllocSetContextCreate(TopMemoryContext, "medup launcher loop",
										 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		TimestampTz next_due;
		TimestampTz wake;
		long		wait_ms;

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(loop_context);
		if (reload_if_asked())
			next_lookup = 0;
		if (next_lookup == 0 || GetCurrentTimestamp() >= next_lookup)
		{
			List	   *names = listed_databases();

			sync_entries(names);
			look_up_databases();
			next_lookup = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), medup_naptime * 1000L);
		}
		next_due = start_due_samplers();
		watch_samplers();
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(loop_context);

		/*
		 * Woken by SIGHUP, by a sampler starting or ending, or when one falls
		 * due; every WATCH_MS while samplers run, to watch them.
		 */
		wake = next_due != 0 && next_due < next_lookup ? next_due : next_lookup;
		wait_ms = Max(TimestampDifferenceMilliseconds(GetCurrentTimestamp(), wake), 1);
		if (samplers_running())
			wait_ms = Min(wait_ms, WATCH_MS);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 wait_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---------- the sampler ---------- */

/*
 * The session settings a sample depends on, set when the sampler connects
 * with the priority of a server override: above what ALTER DATABASE/ROLE
 * ... SET made (applied at connection), below medup's own SET clauses and
 * cached_query()'s.  The database owner may set any user-settable value on
 * the database; none of them may stop, slow down or change a sample.
 */
typedef struct PinnedSetting
{
	const char *name;
	const char *value;
} PinnedSetting;

static const PinnedSetting pinned_settings[] = {
	/* What its SQL calls: never an operator or function the owner planted. */
	{"search_path", "pg_catalog, pg_temp"},
	/* A sample writes its row, its events and its counters. */
	{"default_transaction_read_only", "off"},
	{"transaction_read_only", "off"},
	{"session_replication_role", "origin"},
	{"default_transaction_isolation", "read committed"},
	{"transaction_isolation", "read committed"},
	{"default_transaction_deferrable", "off"},
	/* Its own bounds: SAMPLE_TIMEOUT_MS, and cached_query()'s lock_timeout. */
	{"statement_timeout", "0"},
	{"lock_timeout", "0"},
	{"idle_in_transaction_session_timeout", "0"},
	{"idle_session_timeout", "0"},
#if PG_VERSION_NUM >= 170000
	{"transaction_timeout", "0"},
#endif
	{"exit_on_error", "off"},
	/* What its SQL and PL/pgSQL mean. */
	{"standard_conforming_strings", "on"},
	{"array_nulls", "on"},
	{"transform_null_equals", "off"},
	{"check_function_bodies", "on"},
	{"row_security", "on"},
	{"DateStyle", "ISO, MDY"},
	{"IntervalStyle", "postgres"},
	{"plpgsql.variable_conflict", "error"},
	{"plpgsql.extra_errors", "none"},
	{"plpgsql.extra_warnings", "none"},
	/* What it costs, and that it takes no worker slot beyond its own. */
	{"work_mem", "4MB"},
	{"jit", "off"},
	{"plan_cache_mode", "auto"},
	{"max_parallel_workers_per_gather", "0"},
#if PG_VERSION_NUM >= 160000
	{"debug_parallel_query", "off"},
#else
	{"force_parallel_mode", "off"},
#endif
	{"enable_seqscan", "on"},
	{"enable_indexscan", "on"},
	{"enable_indexonlyscan", "on"},
	{"enable_bitmapscan", "on"},
	{"enable_nestloop", "on"},
	{"enable_hashjoin", "on"},
	{"enable_mergejoin", "on"},
	{"enable_hashagg", "on"},
	{"enable_sort", "on"},
	{"enable_material", "on"},
	{"temp_tablespaces", ""},
	/* Who it is: a database-level application_name could name it medplum-server. */
	{"application_name", "medup sampler"},
	/*
	 * A sample need not wait for its WAL to reach disk: after a crash the
	 * next sample derives again whatever events the lost ones would have
	 * recorded.  Only the sampler's own commits are affected.
	 */
	{"synchronous_commit", "off"},
};

static void
pin_session_settings(void)
{
	for (int i = 0; i < (int) lengthof(pinned_settings); i++)
		SetConfigOption(pinned_settings[i].name, pinned_settings[i].value,
						PGC_SUSET, PGC_S_OVERRIDE);
}

/* Publish this sampler's pid in its database's entry; false: not watched, or one runs. */
static bool
claim_entry(void)
{
	MedupDatabase *db;
	bool		claimed = false;

	SpinLockAcquire(&medup_shared->mutex);
	db = entry_of(sampler_dbname);
	if (db != NULL && (db->sampler_pid == 0 || db->sampler_pid == MyProcPid))
	{
		db->sampler_pid = MyProcPid;
		db->sampler_dboid = MyDatabaseId;
		db->give_way = false;
		claimed = true;
	}
	SpinLockRelease(&medup_shared->mutex);
	return claimed;
}

/* At exit: the entry is free again. */
static void
release_entry(int code, Datum arg)
{
	MedupDatabase *db;

	SpinLockAcquire(&medup_shared->mutex);
	db = entry_of(sampler_dbname);
	if (db != NULL && db->sampler_pid == MyProcPid)
	{
		db->sampler_pid = 0;
		db->sampler_dboid = InvalidOid;
		db->give_way = false;
	}
	SpinLockRelease(&medup_shared->mutex);
}

/* This process's CPU so far, in microseconds (its start included). */
static int64
process_cpu_us(void)
{
	struct rusage usage;

	if (getrusage(RUSAGE_SELF, &usage) != 0)
		return 0;
	return (int64) (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000
		+ usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

/*
 * Count one sample's CPU in medup.sampling: what the process used since
 * the last one (the first: its start too).
 */
static void
count_sample_cpu(int64 *counted_us)
{
	int64		now_us = process_cpu_us();
	MedupDatabase *db;

	SpinLockAcquire(&medup_shared->mutex);
	db = entry_of(sampler_dbname);
	if (db != NULL && db->sampler_pid == MyProcPid)
	{
		db->cpu_us += now_us - *counted_us;
		db->cpu_samples++;
	}
	SpinLockRelease(&medup_shared->mutex);
	*counted_us = now_us;
}

/* Whether another session held the sampler's lock when this sample began. */
static volatile bool sampler_lock_held_elsewhere = false;

/*
 * One sample, in its own transaction.  statement_timeout is armed by hand:
 * outside a client connection nothing else arms it.
 */
static char *
sample_once(void)
{
	char	   *outcome;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "SELECT medup.sample()");
	enable_timeout_after(STATEMENT_TIMEOUT, SAMPLE_TIMEOUT_MS);

	if (SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'medup'",
					true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		char	   *value;
		bool		isnull;

		/*
		 * medup.sample() takes this lock too (again, for this transaction);
		 * whether it was free tells a failure from an ALTER EXTENSION medup
		 * UPDATE under way, which holds it while it replaces the functions
		 * this new process has yet to look up and compile.
		 */
		if (SPI_execute("SELECT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('medup.sample'), 0)",
						false, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "medup: could not try the sampler's lock");
		sampler_lock_held_elsewhere =
			!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (SPI_execute("SELECT medup.sample()", false, 1) != SPI_OK_SELECT ||
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
 * PG_TRY), so that the worker can log it and carry on.
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

/*
 * Whether medup is installed now, in a transaction of its own: a sample
 * that fails because DROP EXTENSION medup committed while it ran is no
 * failure to log.
 */
static bool
extension_installed(void)
{
	bool		installed;

	StartTransactionCommand();
	installed = OidIsValid(get_extension_oid("medup", true));
	CommitTransactionCommand();
	return installed;
}

/* A failed sample is logged (once while it fails the same way) and the sampler goes on. */
static void
sample_or_log(void)
{
	MemoryContext context = CurrentMemoryContext;

	PG_TRY();
	{
		char	   *outcome = sample_once();

		note_outcome(sampler_dbname, outcome);
		pfree(outcome);
	}
	PG_CATCH();
	{
		char	   *message = medup_worker_recover(context);

		/* The launcher's cancel: a DBA drops, renames or copies the database. */
		if (medup_sampler_gives_way())
			note_outcome(sampler_dbname, GAVE_WAY_OUTCOME);
		/* An update holds the lock and replaces what the sample calls: skipped. */
		else if (sampler_lock_held_elsewhere)
			note_outcome(sampler_dbname, "skipped: another session holds medup's sampler lock (an ALTER EXTENSION medup UPDATE?)");
		else if (!extension_installed())
			note_outcome(sampler_dbname, "the medup extension is not installed");
		else
			note_outcome(sampler_dbname, psprintf("sample failed: %s", message));
		pfree(message);
	}
	PG_END_TRY();
}

/* The network tasks, with their memory carried from one sampler to the next. */
static void
network_tasks(void)
{
	MedupTaskState state;
	MedupDatabase *db;

	SpinLockAcquire(&medup_shared->mutex);
	db = entry_of(sampler_dbname);
	if (db != NULL)
		state = db->tasks;
	SpinLockRelease(&medup_shared->mutex);
	if (db == NULL)
		return;
	medup_worker_network_tasks(sampler_dbname, &state);
	SpinLockAcquire(&medup_shared->mutex);
	db = entry_of(sampler_dbname);
	if (db != NULL)
		db->tasks = state;
	SpinLockRelease(&medup_shared->mutex);
}

/*
 * The network tasks catch their own failures (periodic.c); the launcher's
 * cancel may also land between two of them, or just after the sample's
 * commit: then the sampler exits quietly, its sample given up.
 */
static void
network_tasks_or_give_way(void)
{
	MemoryContext context = CurrentMemoryContext;

	PG_TRY();
	{
		network_tasks();
	}
	PG_CATCH();
	{
		if (!medup_sampler_gives_way())
			PG_RE_THROW();
		pfree(medup_worker_recover(context));
		note_outcome(sampler_dbname, GAVE_WAY_OUTCOME);
	}
	PG_END_TRY();
}

/* One sample of this sampler's database, and the network tasks that are due. */
static void
sample_round(void)
{
	if (RecoveryInProgress())
	{
		note_outcome(sampler_dbname, "standby, nothing is recorded until promotion");
		return;
	}
	sample_or_log();
	/* Probes and refreshes: their own transactions, after the sample's (periodic.c). */
	if (!medup_sampler_gives_way())
		network_tasks_or_give_way();
}

static char *read_database_settings_hash(void);

/*
 * The settings ALTER DATABASE/ROLE ... SET made for this database and the
 * sampler's role (the bootstrap superuser), as one hash: a session applies
 * them when it connects only, so when they change (medup.medplum_schema
 * set on the database, say), the sampler leaves and a fresh one applies
 * them.  One read of a small shared catalog, in its own transaction.
 * NULL when it fails (the launcher's cancel, say): then the sampler leaves.
 */
static char *
database_settings_hash(void)
{
	MemoryContext context = CurrentMemoryContext;
	char	   *hash = NULL;

	PG_TRY();
	{
		hash = read_database_settings_hash();
	}
	PG_CATCH();
	{
		pfree(medup_worker_recover(context));
		hash = NULL;
	}
	PG_END_TRY();
	return hash;
}

static char *
read_database_settings_hash(void)
{
	char	   *hash = NULL;
	char	   *query;

	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	query = psprintf("SELECT pg_catalog.md5(pg_catalog.string_agg(s.setdatabase OPERATOR(pg_catalog.||) ':' "
					 "OPERATOR(pg_catalog.||) s.setrole OPERATOR(pg_catalog.||) ':' "
					 "OPERATOR(pg_catalog.||) s.setconfig::pg_catalog.text, ',' "
					 "ORDER BY s.setdatabase, s.setrole)) "
					 "FROM pg_catalog.pg_db_role_setting s "
					 "WHERE s.setdatabase OPERATOR(pg_catalog.=) ANY ('{0,%u}'::pg_catalog.oid[]) "
					 "AND s.setrole OPERATOR(pg_catalog.=) ANY ('{0,%u}'::pg_catalog.oid[])",
					 MyDatabaseId, (Oid) BOOTSTRAP_SUPERUSERID);
	if (SPI_execute(query, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		char	   *value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		hash = MemoryContextStrdup(TopMemoryContext, value ? value : "none");
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	return hash ? hash : MemoryContextStrdup(TopMemoryContext, "none");
}

/* How long a sampler may stay: then a fresh one takes over (bounded caches). */
#define SAMPLER_STAYS_MS (60 * 60 * 1000L)

/*
 * Between two samples: wait, idle, until the next is due, and return true;
 * or return false, and the sampler exits, when it should make way: the
 * launcher asks it to give way to a DBA's command (its SIGINT sets the
 * latch), a database waits for a sampler, the database is no longer
 * watched or found, its settings changed, or the sampler has stayed an
 * hour.
 */
static bool
wait_for_next_sample(TimestampTz started, const char *settings_hash)
{
	char	   *now_hash = database_settings_hash();
	bool		same_settings = now_hash != NULL && settings_hash != NULL &&
		strcmp(now_hash, settings_hash) == 0;

	if (now_hash != NULL)
		pfree(now_hash);
	if (!same_settings)
		return false;
	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		TimestampTz due = 0;
		bool		stay;
		MedupDatabase *db;

		/* A cancel while idle cancels nothing (the launcher's is give_way). */
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		SpinLockAcquire(&medup_shared->mutex);
		db = entry_of(sampler_dbname);
		stay = db != NULL && db->sampler_pid == MyProcPid && !db->give_way &&
			db->due_at != 0 && !medup_shared->database_waits;
		if (stay)
		{
			due = db->due_at;
			if (now >= due)
				db->due_at = TimestampTzPlusMilliseconds(now, medup_naptime * 1000L);
		}
		SpinLockRelease(&medup_shared->mutex);
		if (!stay || TimestampDifferenceExceeds(started, now, SAMPLER_STAYS_MS))
			return false;
		if (now >= due)
			return true;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(TimestampDifferenceMilliseconds(now, due), 1000L), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

void
medup_sampler_main(Datum main_arg)
{
	MemoryContext round_context;
	TimestampTz started;
	char	   *settings_hash;
	int64		counted_us = 0;

	strlcpy(sampler_dbname, MyBgworkerEntry->bgw_extra, NAMEDATALEN);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/*
	 * The lock a connecting backend takes, taken first and held until
	 * connected: a DBA's command that holds the database now makes this
	 * sampler give way before it connects; one that comes later waits the
	 * few milliseconds until it is connected (and then watched), rather
	 * than leave it waiting in its connection for the command's end, to
	 * fail with FATAL "database ... does not exist".
	 */
	sampler_dboid = DatumGetObjectId(main_arg);
	if (OidIsValid(sampler_dboid) && !try_connecting_lock(sampler_dboid))
	{
		bump_gave_way();
		note_outcome(sampler_dbname, GAVE_WAY_OUTCOME);
		proc_exit(0);
	}
	BackgroundWorkerInitializeConnection(sampler_dbname, NULL, 0);
	if (OidIsValid(sampler_dboid))
		release_connecting_lock(sampler_dboid);
	/*
	 * It runs as the bootstrap superuser, with whatever the database's owner
	 * (ALTER DATABASE ... SET) and a superuser (ALTER ROLE ... SET) set for
	 * it: first of all, its own settings.
	 */
	pin_session_settings();

	if (!claim_entry())
	{
		ereport(DEBUG1, errmsg("medup: database \"%s\" is not watched, or already being sampled",
							   sampler_dbname));
		proc_exit(0);
	}
	before_shmem_exit(release_entry, 0);

	round_context = AllocSetContextCreate(TopMemoryContext, "medup sampler round",
										  ALLOCSET_DEFAULT_SIZES);
	started = GetCurrentTimestamp();
	settings_hash = database_settings_hash();
	do
	{
		MemoryContextSwitchTo(round_context);
		sample_round();
		count_sample_cpu(&counted_us);
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(round_context);
	} while (wait_for_next_sample(started, settings_hash));
	proc_exit(0);
}
