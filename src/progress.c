/*
 * progress.c
 *		Whether any session of this database reports the progress of an
 *		index build, a vacuum or an analyze right now.
 *
 * medup.progress and status() read PostgreSQL's progress views, which are
 * costly to set up, while most of the time nothing runs.  Asking the
 * progress functions first (one call per command, each filling a
 * tuplestore with every backend) cost more than the rest of an empty
 * answer; this reads the same backend status entries once, without
 * building rows.  It tells only whether to look: the rows themselves still
 * come from the views, with their permission checks.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/backend_progress.h"
#include "utils/backend_status.h"

#include "medup.h"

PG_FUNCTION_INFO_V1(medup_progress_reported);

/* The status entry of the idx-th backend (1-based) in this transaction's snapshot. */
static LocalPgBackendStatus *
backend_entry(int idx)
{
#if PG_VERSION_NUM >= 170000
	return pgstat_get_local_beentry_by_index(idx);
#else
	return pgstat_fetch_stat_local_beentry(idx);
#endif
}

/*
 * medup.progress_reported() RETURNS boolean
 * True when a backend connected to this database reports CREATE INDEX,
 * VACUUM or ANALYZE progress (the commands medup.progress shows).
 */
Datum
medup_progress_reported(PG_FUNCTION_ARGS)
{
	int			backends = pgstat_fetch_stat_numbackends();

	for (int idx = 1; idx <= backends; idx++)
	{
		LocalPgBackendStatus *local = backend_entry(idx);
		PgBackendStatus *entry;

		CHECK_FOR_INTERRUPTS();
		if (local == NULL)
			continue;
		entry = &local->backendStatus;
		if (entry->st_databaseid != MyDatabaseId)
			continue;
		if (entry->st_progress_command == PROGRESS_COMMAND_CREATE_INDEX ||
			entry->st_progress_command == PROGRESS_COMMAND_VACUUM ||
			entry->st_progress_command == PROGRESS_COMMAND_ANALYZE)
			PG_RETURN_BOOL(true);
	}
	PG_RETURN_BOOL(false);
}
