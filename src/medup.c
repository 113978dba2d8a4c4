/*
 * medup.c
 *		Module entry point: settings.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "medup.h"

PG_MODULE_MAGIC;

#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

char	   *medup_medplum_schema = NULL;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomStringVariable("medup.medplum_schema",
							   "Schema that holds Medplum's tables.",
							   "medup reads \"DatabaseMigration\" and \"AsyncJob\" from this schema.",
							   &medup_medplum_schema,
							   "public",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	MarkGUCPrefixReserved("medup");
}
