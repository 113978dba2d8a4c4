/*
 * compat.c
 *		The C symbols of medup 0.1 and 0.2, kept for the SQL that still
 *		names them.
 *
 * medup's exported symbols carry the prefix medup_ (a backend loads many
 * libraries into one namespace).  0.1 and 0.2 exported the version type's
 * functions without it, and their scripts, frozen in sql/archive/, create
 * functions that name those symbols: CREATE EXTENSION medup VERSION '0.1'
 * and the update from 0.1 to 0.2 still run them, and a database not yet
 * updated to 0.3 still calls them.  Each old name calls the function that
 * replaced it.  The update to 0.3 points the kept functions at the new
 * names (their CREATE OR REPLACE in sql/install/10-version.sql, which
 * every update runs again).
 */
#include "postgres.h"

#include "fmgr.h"

#define MEDUP_OLD_SYMBOL(name) \
	extern PGDLLEXPORT Datum medup_##name(PG_FUNCTION_ARGS); \
	PG_FUNCTION_INFO_V1(name); \
	Datum \
	name(PG_FUNCTION_ARGS) \
	{ \
		return medup_##name(fcinfo); \
	}

MEDUP_OLD_SYMBOL(version_in)
MEDUP_OLD_SYMBOL(version_out)
MEDUP_OLD_SYMBOL(version_recv)
MEDUP_OLD_SYMBOL(version_send)
MEDUP_OLD_SYMBOL(version_cmp)
MEDUP_OLD_SYMBOL(version_lt)
MEDUP_OLD_SYMBOL(version_le)
MEDUP_OLD_SYMBOL(version_eq)
MEDUP_OLD_SYMBOL(version_ne)
MEDUP_OLD_SYMBOL(version_ge)
MEDUP_OLD_SYMBOL(version_gt)
MEDUP_OLD_SYMBOL(version_hash)
MEDUP_OLD_SYMBOL(version_hash_extended)
MEDUP_OLD_SYMBOL(version_major)
MEDUP_OLD_SYMBOL(version_minor)
MEDUP_OLD_SYMBOL(version_patch)
MEDUP_OLD_SYMBOL(version_base)
MEDUP_OLD_SYMBOL(version_larger)
MEDUP_OLD_SYMBOL(version_smaller)
