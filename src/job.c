/*
 * job.c
 *		Reading a data-migration AsyncJob's JSON: the migration fields only.
 *
 * status() parses the jobs that matter on every call, so this is C: a
 * walk over the jsonb, with no executor set up per job.  Values are
 * converted with PostgreSQL's own input functions, so a malformed field
 * raises the same data exception a SQL cast would, and the caller reports
 * the job as unreadable.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(medup_parse_job);

/* The columns of medup.job, in order. */
enum
{
	JOB_ID, JOB_DATA_VERSION, JOB_STATUS, JOB_REQUESTED_AT, JOB_FINISHED_AT,
	JOB_LAST_UPDATED, JOB_MIN_SERVER_VERSION, JOB_STEPS_DONE, JOB_STEPS_RUNNING,
	JOB_STEPS_FAILED, JOB_ROWS_DONE, JOB_RUNNING_STEP, JOB_ERROR, JOB_PARSE_ERROR,
	JOB_NATTS
};

static JsonbValue *
field(JsonbContainer *object, const char *key)
{
	JsonbValue	k;

	if (object == NULL || !JsonContainerIsObject(object))
		return NULL;
	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	return findJsonbValueFromContainer(object, JB_FOBJECT, &k);
}

/* The container behind a value that is an object or an array, or NULL. */
static JsonbContainer *
container(JsonbValue *v)
{
	return (v != NULL && v->type == jbvBinary) ? v->val.binary.data : NULL;
}

/* A scalar as text, as ->> gives it; NULL for null, objects and arrays. */
static char *
scalar_text(JsonbValue *v)
{
	if (v == NULL)
		return NULL;
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		default:
			return NULL;
	}
}

/* The part of a FHIR Parameters entry named name, or NULL. */
static JsonbContainer *
part_named(JsonbContainer *parts, const char *name)
{
	if (parts == NULL || !JsonContainerIsArray(parts))
		return NULL;
	for (uint32 i = 0; i < JsonContainerSize(parts); i++)
	{
		JsonbValue *part = getIthJsonbValueFromContainer(parts, i);
		char	   *part_name = scalar_text(field(container(part), "name"));

		if (part_name != NULL && strcmp(part_name, name) == 0)
			return container(part);
	}
	return NULL;
}

static void
append_distinct(StringInfo list, const char *item)
{
	if (item == NULL || strstr(list->data, item) != NULL)
		return;
	if (list->len > 0)
		appendStringInfoString(list, "; ");
	appendStringInfoString(list, item);
}

/*
 * medup.parse_job(id uuid, job jsonb, last_updated timestamptz) RETURNS medup.job
 * NULL when the job is not a data migration.
 */
Datum
medup_parse_job(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(1);
	JsonbContainer *job = &jb->root;
	Datum		values[JOB_NATTS];
	bool		nulls[JOB_NATTS];
	TupleDesc	tupdesc;
	char	   *text;
	JsonbContainer *parameters;
	int32		done = 0,
				running = 0,
				failed = 0;
	int64		rows = 0;
	bool		have_rows = false;
	StringInfoData running_steps,
				errors;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "medup.parse_job must return a composite type");
	text = scalar_text(field(job, "type"));
	if (text == NULL || strcmp(text, "data-migration") != 0)
		PG_RETURN_NULL();

	memset(nulls, true, sizeof(nulls));
	values[JOB_ID] = PG_GETARG_DATUM(0);
	nulls[JOB_ID] = PG_ARGISNULL(0);
	values[JOB_LAST_UPDATED] = PG_GETARG_DATUM(2);
	nulls[JOB_LAST_UPDATED] = PG_ARGISNULL(2);

	if ((text = scalar_text(field(job, "dataVersion"))) != NULL)
	{
		values[JOB_DATA_VERSION] = DirectFunctionCall1(int4in, CStringGetDatum(text));
		nulls[JOB_DATA_VERSION] = false;
	}
	if ((text = scalar_text(field(job, "status"))) != NULL)
	{
		values[JOB_STATUS] = CStringGetTextDatum(text);
		nulls[JOB_STATUS] = false;
	}
	if ((text = scalar_text(field(job, "requestTime"))) != NULL)
	{
		values[JOB_REQUESTED_AT] = DirectFunctionCall3(timestamptz_in, CStringGetDatum(text),
													   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
		nulls[JOB_REQUESTED_AT] = false;
	}
	if ((text = scalar_text(field(job, "transactionTime"))) != NULL)
	{
		values[JOB_FINISHED_AT] = DirectFunctionCall3(timestamptz_in, CStringGetDatum(text),
													  ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
		nulls[JOB_FINISHED_AT] = false;
	}
	if ((text = scalar_text(field(job, "minServerVersion"))) != NULL)
	{
		values[JOB_MIN_SERVER_VERSION] = CStringGetTextDatum(text);
		nulls[JOB_MIN_SERVER_VERSION] = false;
	}

	/* Progress: output.parameter[], a FHIR Parameters resource. */
	initStringInfo(&running_steps);
	initStringInfo(&errors);
	parameters = container(field(container(field(job, "output")), "parameter"));
	if (parameters != NULL && JsonContainerIsArray(parameters))
	{
		for (uint32 i = 0; i < JsonContainerSize(parameters); i++)
		{
			JsonbContainer *param = container(getIthJsonbValueFromContainer(parameters, i));
			char	   *name = scalar_text(field(param, "name"));
			JsonbContainer *parts = container(field(param, "part"));
			JsonbContainer *count = part_named(parts, "count");
			JsonbValue *count_value = field(count, "valueInteger");
			JsonbContainer *error = part_named(parts, "error");

			if (part_named(parts, "elapsedTime") || part_named(parts, "durationMs"))
				done++;
			if (count_value != NULL && count_value->type == jbvNumeric)
			{
				rows += DatumGetInt64(DirectFunctionCall1(numeric_int8,
														  NumericGetDatum(count_value->val.numeric)));
				have_rows = true;
			}
			if (part_named(parts, "nextTimestamp"))
			{
				char	   *resource = scalar_text(field(part_named(parts, "resourceType"), "valueCode"));
				char	   *so_far = scalar_text(count_value);

				running++;
				if (running_steps.len > 0)
					appendStringInfoString(&running_steps, ", ");
				appendStringInfo(&running_steps, "%s (%s rows so far)",
								 resource ? resource : "", so_far ? so_far : "?");
			}
			if (error != NULL || (name != NULL && strcmp(name, "error") == 0))
			{
				char	   *message = scalar_text(field(param, "valueString"));

				failed++;
				append_distinct(&errors, message ? message : scalar_text(field(error, "valueString")));
			}
		}
	}
	values[JOB_STEPS_DONE] = Int32GetDatum(done);
	values[JOB_STEPS_RUNNING] = Int32GetDatum(running);
	values[JOB_STEPS_FAILED] = Int32GetDatum(failed);
	nulls[JOB_STEPS_DONE] = nulls[JOB_STEPS_RUNNING] = nulls[JOB_STEPS_FAILED] = false;
	if (have_rows)
	{
		values[JOB_ROWS_DONE] = Int64GetDatum(rows);
		nulls[JOB_ROWS_DONE] = false;
	}
	if (running_steps.len > 0)
	{
		values[JOB_RUNNING_STEP] = CStringGetTextDatum(running_steps.data);
		nulls[JOB_RUNNING_STEP] = false;
	}
	if (errors.len > 0)
	{
		values[JOB_ERROR] = CStringGetTextDatum(errors.data);
		nulls[JOB_ERROR] = false;
	}

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
