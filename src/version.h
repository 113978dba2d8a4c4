/*
 * version.h
 *		The medup.version type: a Medplum server version.
 *
 * Medplum versions are MAJOR.MINOR.PATCH with an optional suffix after a
 * dash (backport builds "4.1.12-1", commit builds "5.1.44-abc1234").  The
 * server compares versions with the suffix removed, and so does medup: the
 * suffix is kept only so that output shows what the user gave.
 */
#ifndef MEDUP_VERSION_H
#define MEDUP_VERSION_H

#include "postgres.h"
#if PG_VERSION_NUM >= 160000
#include "varatt.h"				/* VARSIZE, SET_VARSIZE: in postgres.h until 16 */
#endif

/* Longest suffix kept, dash included; a git describe suffix is far shorter. */
#define MEDUP_VERSION_MAX_SUFFIX 64

typedef struct MedupVersion
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int32		major;
	int32		minor;
	int32		patch;
	char		suffix[FLEXIBLE_ARRAY_MEMBER];	/* not NUL-terminated */
} MedupVersion;

#define MEDUP_VERSION_SUFFIX_LEN(v) \
	(VARSIZE(v) - offsetof(MedupVersion, suffix))

#define DatumGetMedupVersionP(X)	((MedupVersion *) PG_DETOAST_DATUM(X))
#define PG_GETARG_MEDUP_VERSION_P(n) DatumGetMedupVersionP(PG_GETARG_DATUM(n))
#define PG_RETURN_MEDUP_VERSION_P(x) PG_RETURN_POINTER(x)

extern int	medup_version_compare(const MedupVersion *a, const MedupVersion *b);

#endif							/* MEDUP_VERSION_H */
