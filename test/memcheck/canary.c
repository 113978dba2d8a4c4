#include "postgres.h"
#include "fmgr.h"

PG_MODULE_MAGIC;
PG_FUNCTION_INFO_V1(memcheck_canary);

Datum
memcheck_canary(PG_FUNCTION_ARGS)
{
	volatile char *buf = malloc(8);
	char		c;

	memset((char *) buf, 'x', 8);
	c = buf[PG_GETARG_INT32(0)];	/* called with 8: one past the end */
	free((char *) buf);
	PG_RETURN_INT32(c);
}
