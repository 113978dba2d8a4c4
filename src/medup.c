/*
 * medup.c
 *		Module entry point: settings, and the workers when preloaded.
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "medup.h"

PG_MODULE_MAGIC;

#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/* Read by SQL through current_setting(), like the retention settings below. */
static char *medup_medplum_schema = NULL;
char	   *medup_databases = NULL;
int			medup_naptime = 10;

/* Read by SQL through current_setting(); kept here for their definitions. */
static int	medup_retention = 30 * 86400;
static int	medup_event_retention = 365 * 86400;
static int	medup_stall_after = 30 * 60;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomStringVariable("medup.medplum_schema",
							   "Schema that holds Medplum's tables.",
							   "medup reads \"DatabaseMigration\" and \"AsyncJob\" from this schema.",
							   &medup_medplum_schema, "public",
							   PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("medup.databases",
							   "Databases the medup worker samples, comma-separated.",
							   "Each must have the medup extension installed.",
							   &medup_databases, "",
							   PGC_SIGHUP, GUC_LIST_INPUT, NULL, NULL, NULL);
	DefineCustomIntVariable("medup.naptime",
							"Time between two samples.",
							NULL,
							&medup_naptime, 10, 1, 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("medup.retention",
							"How long samples are kept.",
							NULL,
							&medup_retention, 30 * 86400, 3600, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("medup.event_retention",
							"How long events are kept.",
							NULL,
							&medup_event_retention, 365 * 86400, 3600, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("medup.stall_after",
							"A running migration without progress for this long is stalled.",
							NULL,
							&medup_stall_after, 30 * 60, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	MarkGUCPrefixReserved("medup");

	if (process_shared_preload_libraries_in_progress)
		medup_register_workers();
}
