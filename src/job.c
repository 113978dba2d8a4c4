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

#include "access/detoast.h"
#include "access/htup_details.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#if PG_VERSION_NUM >= 160000
#include "varatt.h"				/* VARDATA_ANY, VARSIZE_ANY_EXHDR: in postgres.h until 16 */
#endif

PG_FUNCTION_INFO_V1(medup_parse_job);
PG_FUNCTION_INFO_V1(medup_parse_job_text);
PG_FUNCTION_INFO_V1(medup_job_may_be);

/*
 * What medup reads of one job.  Medplum's data-migration jobs are a few
 * kilobytes (one output entry per step) and nest about seven levels deep;
 * a job beyond these limits is reported with parse_error, not parsed, so
 * that one hostile or broken row cannot hold up a backend or the worker.
 */
#define MAX_JOB_BYTES		(1024 * 1024)
#define MAX_JOB_DEPTH		64
/* Distinct step errors kept in the "error" column; the rest are counted. */
#define MAX_KEPT_ERRORS		10

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
		char	   *part_name;

		CHECK_FOR_INTERRUPTS();
		part_name = scalar_text(field(container(part), "name"));

		if (part_name != NULL && strcmp(part_name, name) == 0)
			return container(part);
	}
	return NULL;
}

/* Counters stop at their maximum instead of wrapping round. */
static int32
add_saturating(int32 a, int32 b)
{
	int32		sum;

	return pg_add_s32_overflow(a, b, &sum) ? PG_INT32_MAX : sum;
}

static int64
add_saturating64(int64 a, int64 b)
{
	int64		sum;

	if (!pg_add_s64_overflow(a, b, &sum))
		return sum;
	return b > 0 ? PG_INT64_MAX : PG_INT64_MIN;
}

/*
 * The distinct error messages of a job's steps, in order, at most
 * MAX_KEPT_ERRORS of them: comparing each new one with those kept stays
 * linear in the number of steps.
 */
typedef struct ErrorList
{
	char	   *kept[MAX_KEPT_ERRORS];
	int			nkept;
	int32		not_shown;
} ErrorList;

static void
add_error(ErrorList *errors, char *message)
{
	if (message == NULL)
		return;
	for (int i = 0; i < errors->nkept; i++)
		if (strcmp(errors->kept[i], message) == 0)
			return;
	if (errors->nkept < MAX_KEPT_ERRORS)
		errors->kept[errors->nkept++] = message;
	else
		errors->not_shown = add_saturating(errors->not_shown, 1);
}

static char *
error_text(ErrorList *errors)
{
	StringInfoData text;

	if (errors->nkept == 0)
		return NULL;
	initStringInfo(&text);
	for (int i = 0; i < errors->nkept; i++)
		appendStringInfo(&text, "%s%s", i > 0 ? "; " : "", errors->kept[i]);
	if (errors->not_shown > 0)
		appendStringInfo(&text, " (%d more not shown)", errors->not_shown);
	return text.data;
}

/*
 * Whether JSON text opens more than limit arrays or objects inside each
 * other.  One pass, no recursion: PostgreSQL's JSON parser recurses and
 * would fail the whole statement on a deep enough input, not just this job.
 */
static bool
nests_deeper_than(const char *json, int len, int limit)
{
	int			depth = 0;
	bool		in_string = false;

	for (int i = 0; i < len; i++)
	{
		char		c = json[i];

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (in_string)
		{
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		}
		else if (c == '"')
			in_string = true;
		else if ((c == '[' || c == '{') && ++depth > limit)
			return true;
		else if (c == ']' || c == '}')
			depth--;
	}
	return false;
}

/* The result row, with the columns every row has: id and last_updated. */
static TupleDesc
job_row_start(FunctionCallInfo fcinfo, Datum *values, bool *nulls)
{
	TupleDesc	tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "medup.parse_job must return a composite type");
	memset(nulls, true, sizeof(bool) * JOB_NATTS);
	values[JOB_ID] = PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0);
	nulls[JOB_ID] = PG_ARGISNULL(0);
	values[JOB_LAST_UPDATED] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
	nulls[JOB_LAST_UPDATED] = PG_ARGISNULL(2);
	return tupdesc;
}

static Datum
job_row(TupleDesc tupdesc, Datum *values, bool *nulls)
{
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls));
}

/* A job medup does not read: only its id and why, in parse_error. */
static Datum
unreadable_job(FunctionCallInfo fcinfo, const char *why)
{
	Datum		values[JOB_NATTS];
	bool		nulls[JOB_NATTS];
	TupleDesc	tupdesc = job_row_start(fcinfo, values, nulls);

	values[JOB_PARSE_ERROR] = CStringGetTextDatum(why);
	nulls[JOB_PARSE_ERROR] = false;
	return job_row(tupdesc, values, nulls);
}

/*
 * Why the job argument (text or jsonb) is not read, or NULL.  The size is
 * taken from the header, before the value is detoasted.
 */
static const char *
content_problem(FunctionCallInfo fcinfo)
{
	Size		size;

	if (PG_ARGISNULL(1))
		return "job content is NULL";
	size = toast_raw_datum_size(PG_GETARG_DATUM(1)) - VARHDRSZ;
	if (size > MAX_JOB_BYTES)
		return psprintf("job content is %zu bytes, over medup's limit of %d",
						size, MAX_JOB_BYTES);
	return NULL;
}

static void
set_text(Datum *values, bool *nulls, int column, const char *text)
{
	if (text == NULL)
		return;
	values[column] = CStringGetTextDatum(text);
	nulls[column] = false;
}

/* A timestamp field: the same conversion as a cast to timestamptz. */
static void
set_timestamptz(Datum *values, bool *nulls, int column, const char *text)
{
	if (text == NULL)
		return;
	values[column] = DirectFunctionCall3(timestamptz_in, CStringGetDatum(text),
										 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	nulls[column] = false;
}

/* What a job's output says about its steps, added up over its entries. */
typedef struct Steps
{
	int32		done;
	int32		running;
	int32		failed;
	int64		rows;
	bool		have_rows;
	StringInfoData running_steps;
	ErrorList	errors;
} Steps;

/* The text of an OperationOutcome: its issues' details.text, joined. */
static char *
outcome_text(JsonbContainer *outcome)
{
	JsonbContainer *issues = container(field(outcome, "issue"));
	StringInfoData text;

	if (issues == NULL || !JsonContainerIsArray(issues))
		return NULL;
	initStringInfo(&text);
	for (uint32 i = 0; i < JsonContainerSize(issues); i++)
	{
		JsonbContainer *issue = container(getIthJsonbValueFromContainer(issues, i));
		char	   *detail = scalar_text(field(container(field(issue, "details")), "text"));

		CHECK_FOR_INTERRUPTS();
		if (detail == NULL)
			detail = scalar_text(field(issue, "diagnostics"));
		if (detail != NULL)
			appendStringInfo(&text, "%s%s", text.len > 0 ? "; " : "", detail);
	}
	return text.len > 0 ? text.data : NULL;
}

/*
 * One entry of output.parameter[].  A reindex resource type ("result") is
 * failed when it has an error part (its nextTimestamp then only says where
 * it stopped), done when it has its elapsedTime (its count adds to the
 * rows), else running, with its cursor (nextTimestamp) and no count.  A
 * custom migration's action is done (durationMs).  A failure of the job
 * itself is a top-level "error" (up to 4.3.12) or an OperationOutcome named
 * "outcome" (4.3.13+).
 */
static void
read_step(JsonbContainer *param, Steps *steps)
{
	char	   *name = scalar_text(field(param, "name"));
	JsonbContainer *parts = container(field(param, "part"));
	JsonbContainer *error = part_named(parts, "error");
	JsonbContainer *next = part_named(parts, "nextTimestamp");
	char	   *message = NULL;

	if (error != NULL)
		message = scalar_text(field(error, "valueString"));
	else if (name != NULL && strcmp(name, "error") == 0)
		message = scalar_text(field(param, "valueString"));
	else if (name != NULL && strcmp(name, "outcome") == 0)
		message = outcome_text(container(field(param, "resource")));
	if (error != NULL || message != NULL)
	{
		steps->failed = add_saturating(steps->failed, 1);
		add_error(&steps->errors, message);
	}
	else if (part_named(parts, "elapsedTime") || part_named(parts, "durationMs"))
	{
		JsonbValue *count = field(part_named(parts, "count"), "valueInteger");

		steps->done = add_saturating(steps->done, 1);
		if (count != NULL && count->type == jbvNumeric)
		{
			steps->rows = add_saturating64(steps->rows,
										   DatumGetInt64(DirectFunctionCall1(numeric_int8,
																			 NumericGetDatum(count->val.numeric))));
			steps->have_rows = true;
		}
	}
	else if (next != NULL)
	{
		char	   *resource = scalar_text(field(part_named(parts, "resourceType"), "valueCode"));
		char	   *cursor = scalar_text(field(next, "valueDateTime"));

		steps->running = add_saturating(steps->running, 1);
		appendStringInfo(&steps->running_steps, "%s%s (reindexed up to %s)",
						 steps->running_steps.len > 0 ? ", " : "",
						 resource ? resource : "?", cursor ? cursor : "?");
	}
}

/* The migration fields of a job, or NULL when it is not a data migration. */
static Datum
job_fields(FunctionCallInfo fcinfo, Jsonb *jb)
{
	JsonbContainer *job = &jb->root;
	Datum		values[JOB_NATTS];
	bool		nulls[JOB_NATTS];
	TupleDesc	tupdesc;
	char	   *text;
	JsonbContainer *parameters;
	Steps		steps = {0};

	text = scalar_text(field(job, "type"));
	if (text == NULL || strcmp(text, "data-migration") != 0)
		PG_RETURN_NULL();

	tupdesc = job_row_start(fcinfo, values, nulls);
	if ((text = scalar_text(field(job, "dataVersion"))) != NULL)
	{
		values[JOB_DATA_VERSION] = DirectFunctionCall1(int4in, CStringGetDatum(text));
		nulls[JOB_DATA_VERSION] = false;
	}
	set_text(values, nulls, JOB_STATUS, scalar_text(field(job, "status")));
	set_timestamptz(values, nulls, JOB_REQUESTED_AT, scalar_text(field(job, "requestTime")));
	set_timestamptz(values, nulls, JOB_FINISHED_AT, scalar_text(field(job, "transactionTime")));
	set_text(values, nulls, JOB_MIN_SERVER_VERSION, scalar_text(field(job, "minServerVersion")));

	/* Progress: output.parameter[], a FHIR Parameters resource. */
	initStringInfo(&steps.running_steps);
	parameters = container(field(container(field(job, "output")), "parameter"));
	if (parameters != NULL && JsonContainerIsArray(parameters))
	{
		for (uint32 i = 0; i < JsonContainerSize(parameters); i++)
		{
			CHECK_FOR_INTERRUPTS();
			read_step(container(getIthJsonbValueFromContainer(parameters, i)), &steps);
		}
	}
	values[JOB_STEPS_DONE] = Int32GetDatum(steps.done);
	values[JOB_STEPS_RUNNING] = Int32GetDatum(steps.running);
	values[JOB_STEPS_FAILED] = Int32GetDatum(steps.failed);
	nulls[JOB_STEPS_DONE] = nulls[JOB_STEPS_RUNNING] = nulls[JOB_STEPS_FAILED] = false;
	if (steps.have_rows)
	{
		values[JOB_ROWS_DONE] = Int64GetDatum(steps.rows);
		nulls[JOB_ROWS_DONE] = false;
	}
	if (steps.running_steps.len > 0)
		set_text(values, nulls, JOB_RUNNING_STEP, steps.running_steps.data);
	set_text(values, nulls, JOB_ERROR, error_text(&steps.errors));

	return job_row(tupdesc, values, nulls);
}

/*
 * medup.parse_job(id uuid, job text, last_updated timestamptz) RETURNS medup.job
 * One AsyncJob row's migration fields, or NULL when the job is not a data
 * migration.  Content medup does not read (NULL, over MAX_JOB_BYTES, nested
 * deeper than MAX_JOB_DEPTH) gives a row with only parse_error; content
 * that is not JSON raises the error a cast to jsonb would.
 */
Datum
medup_parse_job_text(PG_FUNCTION_ARGS)
{
	const char *problem = content_problem(fcinfo);
	text	   *content;

	if (problem != NULL)
		return unreadable_job(fcinfo, problem);
	content = PG_GETARG_TEXT_PP(1);
	if (nests_deeper_than(VARDATA_ANY(content), VARSIZE_ANY_EXHDR(content), MAX_JOB_DEPTH))
		return unreadable_job(fcinfo, psprintf("job content nests deeper than medup's limit of %d levels",
											   MAX_JOB_DEPTH));
	return job_fields(fcinfo, DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
																 CStringGetDatum(text_to_cstring(content)))));
}

/*
 * medup.parse_job(id uuid, job jsonb, last_updated timestamptz), as 0.1
 * declared it (not STRICT): the same, for content already cast to jsonb.
 */
Datum
medup_parse_job(PG_FUNCTION_ARGS)
{
	const char *problem = content_problem(fcinfo);

	if (problem != NULL)
		return unreadable_job(fcinfo, problem);
	return job_fields(fcinfo, PG_GETARG_JSONB_P(1));
}

/* What the text after one "dataVersion" token says. */
typedef enum
{
	NOT_A_KEY,					/* a string "dataVersion", not a key */
	PLAIN_INTEGER,				/* a key with a plain integer value */
	CANNOT_TELL					/* a key with any other value */
} KeyValue;

static const char *
skip_json_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/*
 * The "dataVersion" token ends at p: is it a key with a plain integer
 * value (*value), and where does the scan go on (*next)?  A fraction, an
 * exponent, a string or more than nine digits cannot be told here.
 */
static KeyValue
key_value(const char *p, const char *end, int64 *value, const char **next)
{
	bool		negative = false;
	int			digits = 0;

	p = skip_json_space(p, end);
	*next = p;
	if (p >= end || *p != ':')
		return NOT_A_KEY;
	p = skip_json_space(p + 1, end);
	if (p < end && *p == '-')
	{
		negative = true;
		p++;
	}
	*value = 0;
	for (; p < end && *p >= '0' && *p <= '9' && digits <= 9; p++, digits++)
		*value = *value * 10 + (*p - '0');
	*next = p;
	if (digits == 0 || digits > 9 ||
		(p < end && (*p == '.' || *p == 'e' || *p == 'E')))
		return CANNOT_TELL;
	if (negative)
		*value = -*value;
	return PLAIN_INTEGER;
}

/*
 * medup.job_may_be(content text, data_version integer) RETURNS boolean
 * Whether a job's JSON text may be of that data migration: false only when
 * the text plainly gives "dataVersion" another integer (whatever the
 * whitespace around the colon) and nowhere this one.  Anything it cannot
 * judge (no such key, an escaped key, a value that is not a plain integer,
 * NULL) gives true, and the full parse decides: so filtering with it never
 * changes an answer, only spares status() parsing the failed attempts of
 * long-completed migrations.  One pass over the text, at most
 * MAX_JOB_BYTES of it.
 */
Datum
medup_job_may_be(PG_FUNCTION_ARGS)
{
	static const char key[] = "\"dataVersion\"";
	const Size	keylen = sizeof(key) - 1;
	text	   *content;
	const char *p,
			   *end;
	int32		wanted;
	bool		other = false;

	/* Content parse_job() will not read is kept: it reports it. */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) ||
		toast_raw_datum_size(PG_GETARG_DATUM(0)) - VARHDRSZ > MAX_JOB_BYTES)
		PG_RETURN_BOOL(true);
	content = PG_GETARG_TEXT_PP(0);
	wanted = PG_GETARG_INT32(1);
	p = VARDATA_ANY(content);
	end = p + VARSIZE_ANY_EXHDR(content);
	while ((Size) (end - p) >= keylen)
	{
		const char *quote = memchr(p, '"', end - p);
		int64		value;

		if (quote == NULL || (Size) (end - quote) < keylen)
			break;
		p = quote + 1;
		CHECK_FOR_INTERRUPTS();
		if (memcmp(quote, key, keylen) != 0)
			continue;
		switch (key_value(quote + keylen, end, &value, &p))
		{
			case NOT_A_KEY:
				break;
			case CANNOT_TELL:
				PG_RETURN_BOOL(true);
			case PLAIN_INTEGER:
				if (value == wanted)
					PG_RETURN_BOOL(true);
				other = true;
				break;
		}
	}
	PG_RETURN_BOOL(!other);
}
