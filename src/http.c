/*
 * http.c
 *		The one way medup reaches the network: an HTTP(S) GET of a JSON
 *		document from a URL a superuser configured.
 *
 * Every rule lives here, so no caller can forget one:
 *   - only URLs taken from superuser-only settings (medup.servers,
 *     medup.releases_url, medup.manifest_url), or a further page on the
 *     releases URL's own host: nobody else can aim the server at an
 *     internal address;
 *   - http and https only; TLS verified; no proxy from the server's
 *     environment; redirects (a few at most) only to the same scheme,
 *     host and port, checked by medup rather than followed by libcurl;
 *   - connect and total timeouts and a size cap from settings;
 *   - CURLOPT_NOSIGNAL, and a progress callback that aborts the transfer
 *     as soon as a cancel, statement_timeout or termination is pending;
 *     CHECK_FOR_INTERRUPTS then raises it once libcurl has returned;
 *   - the handle and its buffers (malloc'ed: nothing in a libcurl callback
 *     may raise an error and jump out of libcurl) freed on every path;
 *   - credentials in a URL (user:password@) never appear in a message.
 */
#include "postgres.h"

#include <curl/curl.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "medup.h"

#define MEDUP_MAX_REDIRECTS 3
#define MEDUP_USER_AGENT "medup/0.2"

PG_FUNCTION_INFO_V1(medup_http_get);
PG_FUNCTION_INFO_V1(medup_server_urls);
PG_FUNCTION_INFO_V1(medup_masked_url);

/* What one request brings back; malloc'ed, filled by libcurl's callbacks. */
typedef struct HttpAnswer
{
	char	   *body;
	size_t		length;
	size_t		capacity;
	size_t		limit;
	bool		too_large;
	char	   *link_header;	/* the last Link: header, for the next page */
} HttpAnswer;

static void
answer_reset(HttpAnswer *answer)
{
	free(answer->body);
	free(answer->link_header);
	answer->body = NULL;
	answer->link_header = NULL;
	answer->length = answer->capacity = 0;
	answer->too_large = false;
}

/* ---------- URLs ---------- */

/*
 * The URL with any user:password@ replaced by ***@.  Works on any string,
 * parsable or not, so an error about a bad URL cannot leak a password.
 */
static char *
masked_url(const char *url)
{
	const char *scheme_end = strstr(url, "://");
	const char *authority = scheme_end ? scheme_end + 3 : url;
	size_t		authority_length = strcspn(authority, "/?#");
	const char *at = NULL;

	for (const char *p = authority; p < authority + authority_length; p++)
	{
		if (*p == '@')
			at = p;
	}
	if (at == NULL)
		return pstrdup(url);
	return psprintf("%.*s***%s", (int) (authority - url), url, at);
}

/* scheme, host and port of an http(s) URL; false when it is not one. */
static bool
url_origin(const char *url, char **scheme, char **host, char **port)
{
	CURLU	   *parsed = curl_url();
	char	   *parts[3] = {NULL, NULL, NULL};
	bool		ok;

	if (parsed == NULL)
		ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"));
	ok = curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
		curl_url_get(parsed, CURLUPART_SCHEME, &parts[0], 0) == CURLUE_OK &&
		curl_url_get(parsed, CURLUPART_HOST, &parts[1], 0) == CURLUE_OK &&
		curl_url_get(parsed, CURLUPART_PORT, &parts[2], CURLU_DEFAULT_PORT) == CURLUE_OK &&
		(pg_strcasecmp(parts[0], "http") == 0 || pg_strcasecmp(parts[0], "https") == 0);
	if (ok)
	{
		*scheme = pstrdup(parts[0]);
		*host = pstrdup(parts[1]);
		*port = pstrdup(parts[2]);
	}
	for (int i = 0; i < 3; i++)
		curl_free(parts[i]);
	curl_url_cleanup(parsed);
	return ok;
}

/* Whether two URLs have the same scheme, host and port. */
static bool
same_origin(const char *a, const char *b)
{
	char	   *scheme_a,
			   *host_a,
			   *port_a,
			   *scheme_b,
			   *host_b,
			   *port_b;

	return url_origin(a, &scheme_a, &host_a, &port_a) &&
		url_origin(b, &scheme_b, &host_b, &port_b) &&
		pg_strcasecmp(scheme_a, scheme_b) == 0 &&
		pg_strcasecmp(host_a, host_b) == 0 && strcmp(port_a, port_b) == 0;
}

/* The healthcheck URL of a configured server base URL. */
static char *
healthcheck_url(const char *base)
{
	size_t		length = strlen(base);
	const char *suffix = "/healthcheck";

	if (length >= strlen(suffix) && strcmp(base + length - strlen(suffix), suffix) == 0)
		return pstrdup(base);
	while (length > 0 && base[length - 1] == '/')
		length--;
	return psprintf("%.*s%s", (int) length, base, suffix);
}

/* medup.servers as a list of healthcheck URLs: comma-separated, blanks ignored. */
static List *
server_healthcheck_urls(void)
{
	List	   *urls = NIL;
	char	   *copy = pstrdup(medup_servers ? medup_servers : "");
	char	   *item;
	char	   *saveptr = NULL;

	for (item = strtok_r(copy, ",", &saveptr); item != NULL; item = strtok_r(NULL, ",", &saveptr))
	{
		char	   *end = item + strlen(item);

		while (*item == ' ' || *item == '\t')
			item++;
		while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*item != '\0')
			urls = lappend(urls, healthcheck_url(item));
	}
	return urls;
}

/*
 * Whether a superuser configured this URL: a server's healthcheck, the
 * manifest, the releases list, or a later page of it (GitHub names those
 * in its Link header, on its own host).
 */
static bool
url_is_configured(const char *url)
{
	ListCell   *lc;

	if (medup_manifest_url != NULL && strcmp(url, medup_manifest_url) == 0)
		return true;
	if (medup_releases_url != NULL && medup_releases_url[0] != '\0' &&
		(strcmp(url, medup_releases_url) == 0 || same_origin(url, medup_releases_url)))
		return true;
	foreach(lc, server_healthcheck_urls())
	{
		if (strcmp(url, (const char *) lfirst(lc)) == 0)
			return true;
	}
	return false;
}

/* The rel="next" URL of a Link header, or NULL. */
static char *
next_page_url(const char *link_header)
{
	const char *p = link_header;

	while (p != NULL && (p = strchr(p, '<')) != NULL)
	{
		const char *end = strchr(p, '>');
		const char *params_end;

		if (end == NULL)
			return NULL;
		params_end = strchr(end, ',');
		if (params_end == NULL)
			params_end = end + strlen(end);
		{
			char	   *params = pnstrdup(end + 1, params_end - end - 1);

			if (strstr(params, "rel=\"next\"") != NULL || strstr(params, "rel=next") != NULL)
				return pnstrdup(p + 1, end - p - 1);
		}
		p = params_end;
	}
	return NULL;
}

/* ---------- libcurl callbacks: no palloc, no ereport ---------- */

static size_t
collect_body(char *data, size_t size, size_t count, void *context)
{
	HttpAnswer *answer = (HttpAnswer *) context;
	size_t		length = size * count;

	if (answer->length + length > answer->limit)
	{
		answer->too_large = true;
		return 0;				/* aborts the transfer */
	}
	if (answer->length + length + 1 > answer->capacity)
	{
		size_t		capacity = Max(answer->capacity * 2, answer->length + length + 1);
		char	   *grown;

		capacity = Max(capacity, 16384);
		grown = realloc(answer->body, capacity);
		if (grown == NULL)
			return 0;
		answer->body = grown;
		answer->capacity = capacity;
	}
	memcpy(answer->body + answer->length, data, length);
	answer->length += length;
	answer->body[answer->length] = '\0';
	return length;
}

static size_t
collect_header(char *data, size_t size, size_t count, void *context)
{
	HttpAnswer *answer = (HttpAnswer *) context;
	size_t		length = size * count;

	if (length > 5 && pg_strncasecmp(data, "link:", 5) == 0)
	{
		char	   *copy = malloc(length + 1);

		if (copy == NULL)
			return 0;
		memcpy(copy, data, length);
		copy[length] = '\0';
		free(answer->link_header);
		answer->link_header = copy;
	}
	return length;
}

/* Called at least once a second: a pending cancel or termination aborts. */
static int
abort_when_interrupted(void *context, curl_off_t dltotal, curl_off_t dlnow,
					   curl_off_t ultotal, curl_off_t ulnow)
{
	return (QueryCancelPending || ProcDiePending) ? 1 : 0;
}

/* ---------- one request ---------- */

#define SET_OPTION(handle, option, value) \
	do { \
		if (curl_easy_setopt((handle), (option), (value)) != CURLE_OK) \
			elog(ERROR, "medup: could not set libcurl option %s", #option); \
	} while (0)

static void
configure_handle(CURL *handle, HttpAnswer *answer, struct curl_slist *headers)
{
	SET_OPTION(handle, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET_OPTION(handle, CURLOPT_PROTOCOLS_STR, "http,https");
	SET_OPTION(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	SET_OPTION(handle, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SET_OPTION(handle, CURLOPT_REDIR_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET_OPTION(handle, CURLOPT_FOLLOWLOCATION, 0L);	/* checked below */
	SET_OPTION(handle, CURLOPT_PROXY, "");	/* not from the environment */
	SET_OPTION(handle, CURLOPT_SSL_VERIFYPEER, 1L);
	SET_OPTION(handle, CURLOPT_SSL_VERIFYHOST, 2L);
	SET_OPTION(handle, CURLOPT_CONNECTTIMEOUT_MS, (long) medup_http_connect_timeout);
	SET_OPTION(handle, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) answer->limit);
	SET_OPTION(handle, CURLOPT_USERAGENT, MEDUP_USER_AGENT);
	SET_OPTION(handle, CURLOPT_HTTPHEADER, headers);
	SET_OPTION(handle, CURLOPT_WRITEFUNCTION, collect_body);
	SET_OPTION(handle, CURLOPT_WRITEDATA, answer);
	SET_OPTION(handle, CURLOPT_HEADERFUNCTION, collect_header);
	SET_OPTION(handle, CURLOPT_HEADERDATA, answer);
	SET_OPTION(handle, CURLOPT_NOPROGRESS, 0L);
	SET_OPTION(handle, CURLOPT_XFERINFOFUNCTION, abort_when_interrupted);
}

/* Raise the error a failed transfer deserves; the URL is already masked. */
static void
report_transfer_failure(CURLcode code, const char *shown, HttpAnswer *answer)
{
	if (code == CURLE_ABORTED_BY_CALLBACK)
	{
		CHECK_FOR_INTERRUPTS();
		ereport(ERROR, errcode(ERRCODE_QUERY_CANCELED),
				errmsg("fetching %s was cancelled", shown));
	}
	if (answer->too_large || code == CURLE_FILESIZE_EXCEEDED)
		ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				errmsg("the answer from %s is larger than medup.http_max_kb (%zu kB)",
					   shown, answer->limit / 1024),
				errhint("Raise medup.http_max_kb if an answer this large is expected."));
	if (code == CURLE_OPERATION_TIMEDOUT)
		ereport(ERROR, errcode(ERRCODE_CONNECTION_FAILURE),
				errmsg("fetching %s timed out", shown),
				errdetail("No complete answer came within medup.http_timeout (%d ms).",
						  medup_http_timeout),
				errhint("Check that the server is reachable from the database server, or raise medup.http_timeout."));
	if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
		code == CURLE_SSL_CONNECT_ERROR || code == CURLE_PEER_FAILED_VERIFICATION)
		ereport(ERROR, errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				errmsg("could not connect to %s", shown),
				errdetail("%s.", curl_easy_strerror(code)),
				errhint("Check the URL, and that the server is reachable from the database server."));
	ereport(ERROR, errcode(ERRCODE_CONNECTION_FAILURE),
			errmsg("fetching %s failed", shown),
			errdetail("%s.", curl_easy_strerror(code)));
}

/*
 * GET url into answer, following at most a few redirects to the same scheme, host
 * and port.  Returns the HTTP status (2xx; anything else is raised) and,
 * in *final_url, the URL that answered.
 */
static long
perform_get(CURL *handle, const char *url, HttpAnswer *answer, char **final_url)
{
	char	   *current = pstrdup(url);
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   medup_http_timeout);

	for (int redirects = 0;; redirects++)
	{
		char	   *shown = masked_url(current);
		char	   *scheme,
				   *host,
				   *port;
		long		remaining_ms;
		long		status = 0;
		CURLcode	code;
		char	   *location = NULL;

		if (!url_origin(current, &scheme, &host, &port))
			ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("medup fetches only http and https URLs: %s", shown));
		remaining_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		answer_reset(answer);
		SET_OPTION(handle, CURLOPT_URL, current);
		SET_OPTION(handle, CURLOPT_TIMEOUT_MS, Max(remaining_ms, 1L));
		code = curl_easy_perform(handle);
		if (code != CURLE_OK)
			report_transfer_failure(code, shown, answer);
		curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
		if (status < 300 || status >= 400)
		{
			if (status < 200 || status >= 300)
				ereport(ERROR, errcode(ERRCODE_CONNECTION_EXCEPTION),
						errmsg("%s answered with HTTP status %ld", shown, status),
						errhint("Check the URL, and the server's own logs."));
			*final_url = current;
			return status;
		}

		curl_easy_getinfo(handle, CURLINFO_REDIRECT_URL, &location);
		if (location == NULL)
			ereport(ERROR, errcode(ERRCODE_CONNECTION_EXCEPTION),
					errmsg("%s answered with HTTP status %ld and no Location", shown, status));
		if (redirects >= MEDUP_MAX_REDIRECTS)
			ereport(ERROR, errcode(ERRCODE_CONNECTION_EXCEPTION),
					errmsg("%s redirects more than %d times", masked_url(url), MEDUP_MAX_REDIRECTS));
		if (!same_origin(location, current))
			ereport(ERROR, errcode(ERRCODE_CONNECTION_EXCEPTION),
					errmsg("%s redirects to %s, which medup does not follow", shown,
						   masked_url(location)),
					errdetail("medup follows a redirect only to the same scheme (http or https), host and port."),
					errhint("Configure the URL the redirect leads to, if it is the right one."));
		current = pstrdup(location);
	}
}

/* Parse the body as JSON; invalid JSON is the server's fault, said with its URL. */
static Datum
body_as_jsonb(char *body_text, const char *shown_url)
{
	MemoryContext context = CurrentMemoryContext;
	char	   *volatile body = body_text;
	const char *volatile shown = shown_url;
	volatile Datum result = (Datum) 0;

	PG_TRY();
	{
		result = DirectFunctionCall1(jsonb_in, CStringGetDatum(body));
	}
	PG_CATCH();
	{
		ErrorData  *parse_error;

		MemoryContextSwitchTo(context);
		parse_error = CopyErrorData();
		if (parse_error->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			parse_error->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR, errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				errmsg("the answer from %s is not valid JSON", shown),
				errdetail("%s", parse_error->message));
	}
	PG_END_TRY();
	return result;
}

/* The body as a C string, if it is text in the database encoding. */
static char *
body_text(const HttpAnswer *answer, const char *shown)
{
	char	   *body = answer->body ? answer->body : "";

	if (strlen(body) != answer->length || !pg_verifymbstr(body, (int) answer->length, true))
		ereport(ERROR, errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				errmsg("the answer from %s is not valid JSON", shown),
				errdetail("It is not text in the database encoding."));
	return body;
}

/*
 * medup.http_get(url) -> (url, body jsonb, next_url)
 *
 * url: the URL that answered, credentials masked; next_url: the next page
 * named by a Link header, or NULL.  Internal: only medup's own functions
 * call it, and only with URLs a superuser configured.
 */
Datum
medup_http_get(PG_FUNCTION_ARGS)
{
	static bool curl_ready = false;
	char	   *url;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	CURL	   *volatile handle = NULL;
	struct curl_slist *volatile headers = NULL;
	HttpAnswer	answer;

	if (PG_ARGISNULL(0))
		ereport(ERROR, errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("the URL must not be NULL"));
	url = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "medup.http_get must return a record");
	if (!url_is_configured(url))
		ereport(ERROR, errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				errmsg("%s is not a URL medup is configured to fetch", masked_url(url)),
				errdetail("medup fetches only medup.servers' healthchecks, medup.releases_url with its pages, and medup.manifest_url."),
				errhint("A superuser sets those settings."));

	if (!curl_ready)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			elog(ERROR, "medup: libcurl could not be initialised");
		curl_ready = true;
	}

	memset(&answer, 0, sizeof(answer));
	answer.limit = (size_t) medup_http_limit_kb() * 1024;
	PG_TRY();
	{
		char	   *final_url;

		handle = curl_easy_init();
		headers = curl_slist_append(NULL, "Accept: application/json");
		if (handle == NULL || headers == NULL)
			ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"));
		configure_handle(handle, &answer, headers);
		perform_get(handle, url, &answer, &final_url);

		values[0] = CStringGetTextDatum(masked_url(final_url));
		values[1] = body_as_jsonb(body_text(&answer, masked_url(final_url)), masked_url(final_url));
		if (answer.link_header != NULL && next_page_url(answer.link_header) != NULL)
			values[2] = CStringGetTextDatum(next_page_url(answer.link_header));
		else
			nulls[2] = true;
	}
	PG_FINALLY();
	{
		if (handle != NULL)
			curl_easy_cleanup(handle);
		curl_slist_free_all(headers);
		answer_reset(&answer);
	}
	PG_END_TRY();

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* medup.server_urls(): the healthcheck URL of every server in medup.servers. */
Datum
medup_server_urls(PG_FUNCTION_ARGS)
{
	ArrayBuildState *urls = NULL;
	ListCell   *lc;

	foreach(lc, server_healthcheck_urls())
		urls = accumArrayResult(urls, CStringGetTextDatum((const char *) lfirst(lc)), false,
								TEXTOID, CurrentMemoryContext);
	if (urls == NULL)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));
	PG_RETURN_DATUM(makeArrayResult(urls, CurrentMemoryContext));
}

/* medup.masked_url(url): the URL with user:password@ replaced by ***@. */
Datum
medup_masked_url(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(masked_url(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}
