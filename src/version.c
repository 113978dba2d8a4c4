/*
 * version.c
 *		Input, output, comparison and hashing of medup.version.
 */
#include "postgres.h"

#include <limits.h>

#include "common/hashfn.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "version.h"

PG_FUNCTION_INFO_V1(medup_version_in);
PG_FUNCTION_INFO_V1(medup_version_out);
PG_FUNCTION_INFO_V1(medup_version_recv);
PG_FUNCTION_INFO_V1(medup_version_send);
PG_FUNCTION_INFO_V1(medup_version_cmp);
PG_FUNCTION_INFO_V1(medup_version_lt);
PG_FUNCTION_INFO_V1(medup_version_le);
PG_FUNCTION_INFO_V1(medup_version_eq);
PG_FUNCTION_INFO_V1(medup_version_ne);
PG_FUNCTION_INFO_V1(medup_version_ge);
PG_FUNCTION_INFO_V1(medup_version_gt);
PG_FUNCTION_INFO_V1(medup_version_hash);
PG_FUNCTION_INFO_V1(medup_version_hash_extended);
PG_FUNCTION_INFO_V1(medup_version_major);
PG_FUNCTION_INFO_V1(medup_version_minor);
PG_FUNCTION_INFO_V1(medup_version_patch);
PG_FUNCTION_INFO_V1(medup_version_base);
PG_FUNCTION_INFO_V1(medup_version_larger);
PG_FUNCTION_INFO_V1(medup_version_smaller);

/*
 * From PostgreSQL 16 on, input functions may report bad input softly (for
 * pg_input_is_valid() and friends); before that, every error is hard.
 */
#if PG_VERSION_NUM >= 160000
#define version_input_error(ctx, str) \
	ereturn((ctx), (Datum) 0, \
			errcode(ERRCODE_INVALID_TEXT_REPRESENTATION), \
			errmsg("invalid input syntax for type %s: \"%s\"", "medup.version", (str)), \
			errdetail("A version has the form MAJOR.MINOR.PATCH, as in 4.1.12, optionally with a leading \"v\" and a suffix after a dash, as in 4.1.12-1."))
#else
#define version_input_error(ctx, str) \
	ereport(ERROR, \
			errcode(ERRCODE_INVALID_TEXT_REPRESENTATION), \
			errmsg("invalid input syntax for type %s: \"%s\"", "medup.version", (str)), \
			errdetail("A version has the form MAJOR.MINOR.PATCH, as in 4.1.12, optionally with a leading \"v\" and a suffix after a dash, as in 4.1.12-1."))
#endif

/*
 * Parse one decimal component at *p into *out.  Leading zeros are refused,
 * as semantic versioning does ("01" is not a version number), and so is
 * anything that does not fit an int32: a silent wrap-around would compare
 * wrongly.
 */
static bool
parse_component(const char **p, int32 *out)
{
	const char *s = *p;
	int64		value = 0;

	if (!isdigit((unsigned char) *s))
		return false;
	if (*s == '0' && isdigit((unsigned char) s[1]))
		return false;
	while (isdigit((unsigned char) *s))
	{
		value = value * 10 + (*s - '0');
		if (value > PG_INT32_MAX)
			return false;
		s++;
	}
	*out = (int32) value;
	*p = s;
	return true;
}

/* A suffix is a dash followed by letters, digits, dots and dashes. */
static bool
valid_suffix(const char *s, int len)
{
	if (len == 0)
		return true;
	if (s[0] != '-' || len == 1 || len > MEDUP_VERSION_MAX_SUFFIX)
		return false;
	for (int i = 1; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (!isalnum(c) && c != '.' && c != '-')
			return false;
	}
	return true;
}

static MedupVersion *
make_version(int32 major, int32 minor, int32 patch, const char *suffix, int len)
{
	Size		size = offsetof(MedupVersion, suffix) + len;
	MedupVersion *v = palloc0(size);

	SET_VARSIZE(v, size);
	v->major = major;
	v->minor = minor;
	v->patch = patch;
	memcpy(v->suffix, suffix, len);
	return v;
}

Datum
medup_version_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	const char *p = str;
	const char *end;
	int32		major,
				minor,
				patch;

	while (isspace((unsigned char) *p))
		p++;
	if (*p == 'v' || *p == 'V')
		p++;
	if (!parse_component(&p, &major) || *p++ != '.' ||
		!parse_component(&p, &minor) || *p++ != '.' ||
		!parse_component(&p, &patch))
		version_input_error(fcinfo->context, str);

	end = p + strlen(p);
	while (end > p && isspace((unsigned char) end[-1]))
		end--;
	if (!valid_suffix(p, end - p))
		version_input_error(fcinfo->context, str);

	PG_RETURN_MEDUP_VERSION_P(make_version(major, minor, patch, p, end - p));
}

Datum
medup_version_out(PG_FUNCTION_ARGS)
{
	MedupVersion *v = PG_GETARG_MEDUP_VERSION_P(0);

	PG_RETURN_CSTRING(psprintf("%d.%d.%d%.*s", v->major, v->minor, v->patch,
							   (int) MEDUP_VERSION_SUFFIX_LEN(v), v->suffix));
}

Datum
medup_version_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		major = pq_getmsgint(buf, 4);
	int32		minor = pq_getmsgint(buf, 4);
	int32		patch = pq_getmsgint(buf, 4);
	int			len = buf->len - buf->cursor;
	const char *suffix = pq_getmsgbytes(buf, len);

	if (major < 0 || minor < 0 || patch < 0 || !valid_suffix(suffix, len))
		ereport(ERROR,
				errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				errmsg("invalid external medup.version value"));
	PG_RETURN_MEDUP_VERSION_P(make_version(major, minor, patch, suffix, len));
}

Datum
medup_version_send(PG_FUNCTION_ARGS)
{
	MedupVersion *v = PG_GETARG_MEDUP_VERSION_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, v->major);
	pq_sendint32(&buf, v->minor);
	pq_sendint32(&buf, v->patch);
	pq_sendbytes(&buf, v->suffix, MEDUP_VERSION_SUFFIX_LEN(v));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Medplum's rule: the suffix takes no part in comparison. */
int
medup_version_compare(const MedupVersion *a, const MedupVersion *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->patch != b->patch)
		return a->patch < b->patch ? -1 : 1;
	return 0;
}

static int
compare_args(FunctionCallInfo fcinfo)
{
	MedupVersion *a = PG_GETARG_MEDUP_VERSION_P(0);
	MedupVersion *b = PG_GETARG_MEDUP_VERSION_P(1);

	return medup_version_compare(a, b);
}

Datum
medup_version_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(compare_args(fcinfo));
}

Datum
medup_version_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) < 0);
}

Datum
medup_version_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) <= 0);
}

Datum
medup_version_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) == 0);
}

Datum
medup_version_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) != 0);
}

Datum
medup_version_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) >= 0);
}

Datum
medup_version_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_args(fcinfo) > 0);
}

/* Hash only what equality looks at, so '4.1.12-1' and '4.1.12' collide. */
static uint64
hash_numbers(const MedupVersion *v, uint64 seed)
{
	int32		numbers[3] = {v->major, v->minor, v->patch};

	return DatumGetUInt64(hash_any_extended((const unsigned char *) numbers,
											sizeof(numbers), seed));
}

/* hash_any_extended with seed 0 agrees with hash_any in its low 32 bits. */
Datum
medup_version_hash(PG_FUNCTION_ARGS)
{
	PG_RETURN_UINT32((uint32) hash_numbers(PG_GETARG_MEDUP_VERSION_P(0), 0));
}

Datum
medup_version_hash_extended(PG_FUNCTION_ARGS)
{
	MedupVersion *v = PG_GETARG_MEDUP_VERSION_P(0);

	PG_RETURN_UINT64(hash_numbers(v, PG_GETARG_INT64(1)));
}

Datum
medup_version_major(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_MEDUP_VERSION_P(0)->major);
}

Datum
medup_version_minor(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_MEDUP_VERSION_P(0)->minor);
}

Datum
medup_version_patch(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PG_GETARG_MEDUP_VERSION_P(0)->patch);
}

/* The version with its suffix removed: what Medplum compares. */
Datum
medup_version_base(PG_FUNCTION_ARGS)
{
	MedupVersion *v = PG_GETARG_MEDUP_VERSION_P(0);

	PG_RETURN_MEDUP_VERSION_P(make_version(v->major, v->minor, v->patch, "", 0));
}

/* Transition functions of max() and min(). */
Datum
medup_version_larger(PG_FUNCTION_ARGS)
{
	MedupVersion *a = PG_GETARG_MEDUP_VERSION_P(0);
	MedupVersion *b = PG_GETARG_MEDUP_VERSION_P(1);

	PG_RETURN_MEDUP_VERSION_P(medup_version_compare(a, b) >= 0 ? a : b);
}

Datum
medup_version_smaller(PG_FUNCTION_ARGS)
{
	MedupVersion *a = PG_GETARG_MEDUP_VERSION_P(0);
	MedupVersion *b = PG_GETARG_MEDUP_VERSION_P(1);

	PG_RETURN_MEDUP_VERSION_P(medup_version_compare(a, b) <= 0 ? a : b);
}
