/*
 * memo.c
 *		One remembered answer for the session: what status() last computed
 *		as the running migration's time left, and for which facts.
 *
 * The time left comes from the estimate model (45-estimate.sql), which
 * reads every completed job's output and the statistics of Medplum's
 * tables: milliseconds, where the rest of status() takes a fraction of
 * one.  Its inputs move slowly (a job completes, ANALYZE runs) except the
 * running job itself, so status() keys the answer on the running job's
 * facts (its id, last update and progress) and the data version, and
 * recomputes it when the key changes or the answer is older than
 * MEMO_MAX_AGE_S, which bounds how late a change the key does not see
 * (new statistics, a loaded catalog, an index build of a custom migration
 * that writes its job only at its end) shows.  A sampler that stays
 * connected takes many samples a minute: it recomputes the time left once
 * a minute, or when the job moves on, not at every sample.  One entry: a
 * session asks about one Medplum schema at a time.
 *
 * Internal: EXECUTE is revoked from everyone but medup's owner
 * (90-access.sql).
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "medup.h"

/* The longest an answer is remembered while its key stays the same. */
#define MEMO_MAX_AGE_S 60

static char *memo_key = NULL;	/* in TopMemoryContext */
static char *memo_value = NULL; /* in TopMemoryContext */
static TimestampTz memo_at = 0;

PG_FUNCTION_INFO_V1(medup_memo_get);
PG_FUNCTION_INFO_V1(medup_memo_put);

/*
 * medup.memo_get(key text) RETURNS text
 * What was remembered for key, if it is at most MEMO_MAX_AGE_S old, else NULL.
 */
Datum
medup_memo_get(PG_FUNCTION_ARGS)
{
	char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (memo_key == NULL || strcmp(key, memo_key) != 0 ||
		TimestampDifferenceExceeds(memo_at, GetCurrentTimestamp(),
								   MEMO_MAX_AGE_S * 1000))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(memo_value));
}

/*
 * medup.memo_put(key text, value text) RETURNS void
 * Remember value for key, replacing what was remembered.
 */
Datum
medup_memo_put(PG_FUNCTION_ARGS)
{
	char	   *key = MemoryContextStrdup(TopMemoryContext, text_to_cstring(PG_GETARG_TEXT_PP(0)));
	char	   *value = MemoryContextStrdup(TopMemoryContext, text_to_cstring(PG_GETARG_TEXT_PP(1)));

	if (memo_key)
		pfree(memo_key);
	if (memo_value)
		pfree(memo_value);
	memo_key = key;
	memo_value = value;
	memo_at = GetCurrentTimestamp();
	PG_RETURN_VOID();
}
