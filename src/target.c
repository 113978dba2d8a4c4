/*
 * target.c
 *		The facts of a remote target, held for the answer being computed.
 *
 * medup decides (state, advice, gate rules) in the same SQL for every
 * target; only reading differs.  For the local database the readers of
 * 40-inspect.sql read PostgreSQL and Medplum's tables; for a remote target
 * 47-targets.sql reads one snapshot over dblink and hands it here, and the
 * same readers return what the snapshot holds instead.
 *
 * The snapshot lives in TopMemoryContext for as long as one answer takes:
 * it is cleared when the (sub)transaction that set it aborts, and at the
 * end of every transaction, so that no later local answer can ever read a
 * remote target's facts.  Only medup's own functions may set it (EXECUTE is
 * revoked from everyone else).
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "medup.h"

PG_FUNCTION_INFO_V1(medup_snapshot_set);
PG_FUNCTION_INFO_V1(medup_snapshot);
PG_FUNCTION_INFO_V1(medup_remote_active);

/* How long reading one remote target may take (superuser-only). */
int			medup_target_timeout = 5000;

static Jsonb *snapshot = NULL;
static SubTransactionId snapshot_subid = InvalidSubTransactionId;
static bool callbacks_registered = false;

static void
clear_snapshot(void)
{
	if (snapshot != NULL)
		pfree(snapshot);
	snapshot = NULL;
	snapshot_subid = InvalidSubTransactionId;
}

static void
snapshot_xact_callback(XactEvent event, void *arg)
{
	clear_snapshot();
}

/* An aborted subtransaction takes the snapshot it set with it. */
static void
snapshot_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	if (snapshot == NULL || mySubid != snapshot_subid)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
		clear_snapshot();
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		snapshot_subid = parentSubid;
}

void
medup_define_target_settings(void)
{
	DefineCustomIntVariable("medup.target_timeout",
							"How long reading one remote target may take, connection included.",
							"A target that has not answered by then is reported with an error; targets are read concurrently.",
							&medup_target_timeout, 5000, 100, 10 * 60 * 1000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
}

/* medup.snapshot_set(facts jsonb): hold a target's facts; NULL clears them. */
Datum
medup_snapshot_set(PG_FUNCTION_ARGS)
{
	Jsonb	   *facts;

	clear_snapshot();
	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();
	if (!callbacks_registered)
	{
		RegisterXactCallback(snapshot_xact_callback, NULL);
		RegisterSubXactCallback(snapshot_subxact_callback, NULL);
		callbacks_registered = true;
	}
	facts = PG_GETARG_JSONB_P(0);
	snapshot = MemoryContextAlloc(TopMemoryContext, VARSIZE(facts));
	memcpy(snapshot, facts, VARSIZE(facts));
	snapshot_subid = GetCurrentSubTransactionId();
	PG_RETURN_VOID();
}

/* medup.snapshot(): the facts held, or NULL when answering for this database. */
Datum
medup_snapshot(PG_FUNCTION_ARGS)
{
	Jsonb	   *copy;

	if (snapshot == NULL)
		PG_RETURN_NULL();
	copy = palloc(VARSIZE(snapshot));
	memcpy(copy, snapshot, VARSIZE(snapshot));
	PG_RETURN_JSONB_P(copy);
}

/* medup.remote_active(): whether the answer being computed is a remote target's. */
Datum
medup_remote_active(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(snapshot != NULL);
}
