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

#include <sys/stat.h>
#include <unistd.h>

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
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "medup.h"

#define MEDUP_MAX_REDIRECTS 3
#define MEDUP_USER_AGENT "medup/0.2"

PG_FUNCTION_INFO_V1(medup_http_get);
PG_FUNCTION_INFO_V1(medup_server_urls);
PG_FUNCTION_INFO_V1(medup_masked_url);
PG_FUNCTION_INFO_V1(medup_http_get_all);
PG_FUNCTION_INFO_V1(medup_parse_answer);

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

/* How medup shows a URL that it refuses to show or fetch. */
#define HIDDEN_URL "(a URL medup does not show)"

/* A part of a parsed URL, or NULL when the URL has none. */
static char *
url_part(CURLU *parsed, CURLUPart part)
{
	char	   *value = NULL;
	char	   *copy;

	if (curl_url_get(parsed, part, &value, 0) != CURLUE_OK || value == NULL)
		return NULL;
	copy = pstrdup(value);
	curl_free(value);
	return copy;
}

/*
 * The URL as medup shows it: with the user name and password that libcurl
 * reads in it replaced by ***.  NULL when the URL is not one libcurl reads
 * exactly as it is written -- "scheme://" and the authority, then a path,
 * query and fragment with no "@" -- because then what medup would show is
 * not what libcurl sends: http:/user:pass@host (one slash) or a password
 * with an unencoded "/", "?" or "#" would be shown in clear.  Such a URL
 * is neither shown nor fetched.  libcurl's own parser decides, with the
 * flags libcurl uses for CURLOPT_URL.
 */
static char *
shown_url(const char *url)
{
	CURLU	   *parsed = curl_url();
	char	   *shown = NULL;

	if (parsed == NULL)
		ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"));
	if (curl_url_set(parsed, CURLUPART_URL, url,
					 CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK)
	{
		char	   *scheme = url_part(parsed, CURLUPART_SCHEME);
		char	   *user = url_part(parsed, CURLUPART_USER);
		char	   *password = url_part(parsed, CURLUPART_PASSWORD);
		char	   *host = url_part(parsed, CURLUPART_HOST);
		char	   *port = url_part(parsed, CURLUPART_PORT);
		size_t		scheme_length = scheme ? strlen(scheme) : 0;

		if (host == NULL)
			host = "";			/* file:///path */
		if (scheme != NULL &&
			pg_strncasecmp(url, scheme, scheme_length) == 0 &&
			strncmp(url + scheme_length, "://", 3) == 0)
		{
			const char *authority = url + scheme_length + 3;
			size_t		authority_length = strcspn(authority, "/?#");
			const char *rest = authority + authority_length;
			char	   *host_port = port ? psprintf("%s:%s", host, port) : host;
			char	   *credentials = NULL;
			char	   *written;

			if (user != NULL || password != NULL)
				credentials = psprintf("%s%s%s", user ? user : "", password ? ":" : "",
									   password ? password : "");
			written = credentials ? psprintf("%s@%s", credentials, host_port) : host_port;
			if (strlen(written) == authority_length &&
				pg_strncasecmp(authority, written, authority_length) == 0 &&
				strchr(rest, '@') == NULL)
				shown = credentials ? psprintf("%.*s***@%s", (int) (authority - url), url,
											   authority + strlen(credentials) + 1)
					: pstrdup(url);
		}
	}
	curl_url_cleanup(parsed);
	return shown;
}

/* The URL as medup shows it, whatever it is: refused ones are hidden whole. */
static char *
masked_url(const char *url)
{
	char	   *shown = shown_url(url);

	return shown ? shown : pstrdup(HIDDEN_URL);
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

/*
 * The netrc file of medup.netrc_file, or NULL: it holds passwords, so it
 * must be a file only the server's operating system user may read (as
 * libpq asks of a password file).
 */
static const char *
netrc_file(void)
{
	struct stat st;

	if (medup_netrc_file == NULL || medup_netrc_file[0] == '\0')
		return NULL;
	if (stat(medup_netrc_file, &st) != 0)
		ereport(ERROR, errcode_for_file_access(),
				errmsg("could not read medup.netrc_file \"%s\": %m", medup_netrc_file));
	if (!S_ISREG(st.st_mode))
		ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("medup.netrc_file \"%s\" is not a plain file", medup_netrc_file));
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0 || st.st_uid != geteuid())
		ereport(ERROR, errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				errmsg("medup.netrc_file \"%s\" may be read or changed by others than the server's operating system user", medup_netrc_file),
				errdetail("It holds passwords: medup uses it only when the server's user owns it and nobody else has any access to it."),
				errhint("chown it to the server's user and chmod it to 0600."));
	return medup_netrc_file;
}

static void
configure_handle(CURL *handle, HttpAnswer *answer, struct curl_slist *headers)
{
	const char *netrc = netrc_file();

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
	/* Credentials from the file, never from the environment's ~/.netrc. */
	SET_OPTION(handle, CURLOPT_NETRC, netrc ? (long) CURL_NETRC_OPTIONAL : (long) CURL_NETRC_IGNORED);
	if (netrc)
		SET_OPTION(handle, CURLOPT_NETRC_FILE, netrc);
}

/*
 * Why a fetch failed, as an error would say it.  A probe of several
 * servers reports each one's failure as a row instead of raising it.
 */
typedef struct FetchFailure
{
	int			sqlerrcode;
	char	   *message;
	char	   *detail;
	char	   *hint;
} FetchFailure;

static bool
fail(FetchFailure *failure, int sqlerrcode, char *message, char *detail, char *hint)
{
	failure->sqlerrcode = sqlerrcode;
	failure->message = message;
	failure->detail = detail;
	failure->hint = hint;
	return false;
}

static void
raise_failure(const FetchFailure *failure)
{
	ereport(ERROR, errcode(failure->sqlerrcode), errmsg_internal("%s", failure->message),
			failure->detail ? errdetail_internal("%s", failure->detail) : 0,
			failure->hint ? errhint("%s", failure->hint) : 0);
}

/*
 * How long a transfer may still take: medup.http_timeout from its start,
 * and never past the statement's own timeout (less a margin), so that a
 * slow server ends as a timed-out fetch, reported, rather than as the
 * cancel of everything the statement did.
 */
static long
time_left_ms(TimestampTz deadline)
{
	long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);

	if (get_timeout_active(STATEMENT_TIMEOUT))
		left = Min(left, TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
														 get_timeout_finish_time(STATEMENT_TIMEOUT)) - 200);
	return Max(left, 1L);
}

/*
 * What a finished transfer of current came to: true for an answer (2xx),
 * with *location NULL, or for a redirect medup follows, with *location
 * the URL it leads to; false, with *failure filled, for anything else.
 * A pending cancel is raised.
 */
static bool
transfer_result(CURL *handle, CURLcode code, const char *current, HttpAnswer *answer,
				int redirects, char **location, FetchFailure *failure)
{
	char	   *shown = masked_url(current);
	long		status = 0;
	char	   *redirect = NULL;

	*location = NULL;
	if (code == CURLE_ABORTED_BY_CALLBACK)
	{
		CHECK_FOR_INTERRUPTS();
		return fail(failure, ERRCODE_QUERY_CANCELED, psprintf("fetching %s was cancelled", shown),
					NULL, NULL);
	}
	if (answer->too_large || code == CURLE_FILESIZE_EXCEEDED)
		return fail(failure, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
					psprintf("the answer from %s is larger than medup.http_max_kb (%zu kB)",
							 shown, answer->limit / 1024),
					NULL, "Raise medup.http_max_kb if an answer this large is expected.");
	if (code == CURLE_OPERATION_TIMEDOUT)
		return fail(failure, ERRCODE_CONNECTION_FAILURE, psprintf("fetching %s timed out", shown),
					psprintf("No complete answer came within medup.http_timeout (%d ms), or before the statement's own timeout.",
							 medup_http_timeout),
					"Check that the server is reachable from the database server, or raise medup.http_timeout.");
	if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
		code == CURLE_SSL_CONNECT_ERROR || code == CURLE_PEER_FAILED_VERIFICATION)
		return fail(failure, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
					psprintf("could not connect to %s", shown),
					psprintf("%s.", curl_easy_strerror(code)),
					"Check the URL, and that the server is reachable from the database server.");
	if (code != CURLE_OK)
		return fail(failure, ERRCODE_CONNECTION_FAILURE, psprintf("fetching %s failed", shown),
					psprintf("%s.", curl_easy_strerror(code)), NULL);

	curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300)
		return true;
	if (status < 300 || status >= 400)
		return fail(failure, ERRCODE_CONNECTION_EXCEPTION,
					psprintf("%s answered with HTTP status %ld", shown, status),
					NULL, "Check the URL, and the server's own logs.");
	curl_easy_getinfo(handle, CURLINFO_REDIRECT_URL, &redirect);
	if (redirect == NULL)
		return fail(failure, ERRCODE_CONNECTION_EXCEPTION,
					psprintf("%s answered with HTTP status %ld and no Location", shown, status),
					NULL, NULL);
	if (redirects >= MEDUP_MAX_REDIRECTS)
		return fail(failure, ERRCODE_CONNECTION_EXCEPTION,
					psprintf("%s redirects more than %d times", shown, MEDUP_MAX_REDIRECTS),
					NULL, NULL);
	if (!same_origin(redirect, current))
		return fail(failure, ERRCODE_CONNECTION_EXCEPTION,
					psprintf("%s redirects to %s, which medup does not follow", shown,
							 masked_url(redirect)),
					"medup follows a redirect only to the same scheme (http or https), host and port.",
					"Configure the URL the redirect leads to, if it is the right one.");
	*location = pstrdup(redirect);
	return true;
}

/* Whether medup may fetch url at all; false with *failure filled when not. */
static bool
fetchable(const char *url, bool redirected, FetchFailure *failure)
{
	char	   *scheme,
			   *host,
			   *port;

	if (shown_url(url) == NULL)
		return fail(failure, ERRCODE_INVALID_PARAMETER_VALUE,
					psprintf("medup refuses %s: libcurl would not read it as it is written, and its password could be shown",
							 redirected ? "the URL a redirect leads to" : "this URL"),
					"libcurl would not read it as it is written: it must be scheme://host/path, or scheme://user:password@host/path with no \"@\" after the host.",
					"Percent-encode any \"/\", \"?\", \"#\", \"@\" or \":\" in a user name or password (%2F, %3F, %23, %40, %3A); better, leave credentials out of URLs and put them in the file named by medup.netrc_file.");
	if (!url_origin(url, &scheme, &host, &port))
		return fail(failure, ERRCODE_INVALID_PARAMETER_VALUE,
					psprintf("medup fetches only http and https URLs: %s", masked_url(url)),
					NULL, NULL);
	return true;
}

/* Point handle at url, with what is left of the time. */
static void
aim_handle(CURL *handle, const char *url, HttpAnswer *answer, TimestampTz deadline)
{
	answer_reset(answer);
	SET_OPTION(handle, CURLOPT_URL, url);
	SET_OPTION(handle, CURLOPT_TIMEOUT_MS, time_left_ms(deadline));
}

/*
 * GET url into answer, following at most a few redirects to the same
 * scheme, host and port.  Returns the URL that answered (2xx); anything
 * else is raised.
 */
static char *
perform_get(CURL *handle, const char *url, HttpAnswer *answer)
{
	char	   *current = pstrdup(url);
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   medup_http_timeout);
	FetchFailure failure;

	for (int redirects = 0;; redirects++)
	{
		char	   *location;

		if (!fetchable(current, redirects > 0, &failure))
			raise_failure(&failure);
		aim_handle(handle, current, answer, deadline);
		if (!transfer_result(handle, curl_easy_perform(handle), current, answer, redirects,
							 &location, &failure))
			raise_failure(&failure);
		if (location == NULL)
			return current;
		current = location;
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

/* The body as a C string, if it is text in the database encoding; NULL with *failure filled if not. */
static char *
body_text(const HttpAnswer *answer, const char *shown, FetchFailure *failure)
{
	char	   *body = answer->body ? answer->body : "";

	if (strlen(body) != answer->length || !pg_verifymbstr(body, (int) answer->length, true))
	{
		fail(failure, ERRCODE_INVALID_TEXT_REPRESENTATION,
			 psprintf("the answer from %s is not valid JSON", shown),
			 "It is not text in the database encoding.", NULL);
		return NULL;
	}
	return pstrdup(body);
}

static void
ensure_curl_ready(void)
{
	static bool curl_ready = false;

	if (!curl_ready)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			elog(ERROR, "medup: libcurl could not be initialised");
		curl_ready = true;
	}
}

/* Refuse a URL no superuser configured. */
static bool
configured(const char *url, FetchFailure *failure)
{
	if (url_is_configured(url))
		return true;
	return fail(failure, ERRCODE_INSUFFICIENT_PRIVILEGE,
				psprintf("%s is not a URL medup is configured to fetch", masked_url(url)),
				"medup fetches only medup.servers' healthchecks, medup.releases_url with its pages, and medup.manifest_url.",
				"A superuser sets those settings.");
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
	char	   *url;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	CURL	   *volatile handle = NULL;
	struct curl_slist *volatile headers = NULL;
	HttpAnswer	answer;
	FetchFailure failure;

	if (PG_ARGISNULL(0))
		ereport(ERROR, errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("the URL must not be NULL"));
	url = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "medup.http_get must return a record");
	if (!configured(url, &failure))
		raise_failure(&failure);
	ensure_curl_ready();

	memset(&answer, 0, sizeof(answer));
	answer.limit = (size_t) medup_http_limit_kb() * 1024;
	PG_TRY();
	{
		char	   *final_url;
		char	   *text;

		handle = curl_easy_init();
		headers = curl_slist_append(NULL, "Accept: application/json");
		if (handle == NULL || headers == NULL)
			ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"));
		configure_handle(handle, &answer, headers);
		final_url = perform_get(handle, url, &answer);

		values[0] = CStringGetTextDatum(masked_url(final_url));
		text = body_text(&answer, masked_url(final_url), &failure);
		if (text == NULL)
			raise_failure(&failure);
		values[1] = body_as_jsonb(text, masked_url(final_url));
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

/* ---------- several servers at once ---------- */

/* One of the transfers of http_get_all(), in the caller's memory. */
typedef struct Transfer
{
	char	   *url;			/* as configured */
	char	   *current;		/* after redirects */
	CURL	   *handle;			/* NULL once finished */
	HttpAnswer	answer;			/* malloc'ed buffers */
	int			redirects;
	bool		failed;
	FetchFailure failure;
	char	   *body;
} Transfer;

/* Start transfer t on its current URL, or record why it cannot start. */
static void
start_transfer(CURLM *multi, Transfer *t, struct curl_slist *headers, TimestampTz deadline)
{
	if (!fetchable(t->current, t->redirects > 0, &t->failure))
	{
		t->failed = true;
		return;
	}
	if (t->handle == NULL)
	{
		t->handle = curl_easy_init();
		if (t->handle == NULL)
			ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"));
		configure_handle(t->handle, &t->answer, headers);
	}
	aim_handle(t->handle, t->current, &t->answer, deadline);
	if (curl_multi_add_handle(multi, t->handle) != CURLM_OK)
		elog(ERROR, "medup: libcurl could not start a transfer");
}

/* A transfer libcurl says is done: its answer, a redirect to follow, or its failure. */
static void
finish_transfer(CURLM *multi, Transfer *t, CURLcode code, struct curl_slist *headers,
				TimestampTz deadline)
{
	char	   *location;

	curl_multi_remove_handle(multi, t->handle);
	if (!transfer_result(t->handle, code, t->current, &t->answer, t->redirects, &location,
						 &t->failure))
		t->failed = true;
	else if (location != NULL)
	{
		t->current = location;
		t->redirects++;
		start_transfer(multi, t, headers, deadline);
		if (!t->failed)
			return;
	}
	else if ((t->body = body_text(&t->answer, masked_url(t->current), &t->failure)) == NULL)
		t->failed = true;
	curl_easy_cleanup(t->handle);
	t->handle = NULL;
}

/* Run every transfer at once until all are done; a cancel or termination is raised. */
static void
run_transfers(CURLM *multi, Transfer *transfers, int n, struct curl_slist *headers,
			  TimestampTz deadline)
{
	int			running = 1;

	while (running > 0)
	{
		CURLMsg    *message;
		int			queued;

		CHECK_FOR_INTERRUPTS();
		if (curl_multi_perform(multi, &running) != CURLM_OK)
			elog(ERROR, "medup: libcurl failed to run the transfers");
		while ((message = curl_multi_info_read(multi, &queued)) != NULL)
		{
			if (message->msg != CURLMSG_DONE)
				continue;
			for (int i = 0; i < n; i++)
			{
				if (transfers[i].handle == message->easy_handle)
				{
					finish_transfer(multi, &transfers[i], message->data.result, headers, deadline);
					running = 1;	/* a redirect may have started another */
					break;
				}
			}
		}
		if (running > 0 && curl_multi_poll(multi, NULL, 0, 100, NULL) != CURLM_OK)
			elog(ERROR, "medup: libcurl failed to wait for the transfers");
	}
}

/*
 * medup.http_get_all(urls text[]) RETURNS TABLE (url, answered_url, body,
 * sqlstate, error)
 *
 * GET every URL at once (libcurl's multi interface), so that servers that
 * are down cost one timeout in all, not one each.  One row per URL, in
 * order: the URL that answered (masked) and its body as text, or the
 * error a fetch of it alone would raise, as sqlstate and message.  The
 * same rules as http_get(); a cancel or termination stops them all.
 * Internal, like http_get().
 */
Datum
medup_http_get_all(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum	   *elements;
	bool	   *element_nulls;
	int			n;
	Transfer   *transfers;
	CURLM	   *volatile multi = NULL;
	struct curl_slist *volatile headers = NULL;
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), medup_http_timeout);

	if (PG_ARGISNULL(0))
		ereport(ERROR, errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("the URLs must not be NULL"));
	InitMaterializedSRF(fcinfo, 0);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), TEXTOID, -1, false, TYPALIGN_INT,
					  &elements, &element_nulls, &n);
	transfers = palloc0(sizeof(Transfer) * Max(n, 1));
	ensure_curl_ready();

	PG_TRY();
	{
		multi = curl_multi_init();
		headers = curl_slist_append(NULL, "Accept: application/json");
		if (multi == NULL || headers == NULL)
			ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"));
		for (int i = 0; i < n; i++)
		{
			Transfer   *t = &transfers[i];

			t->url = element_nulls[i] ? pstrdup("") : TextDatumGetCString(elements[i]);
			t->current = t->url;
			t->answer.limit = (size_t) medup_http_limit_kb() * 1024;
			if (!configured(t->url, &t->failure))
				t->failed = true;
			else
				start_transfer(multi, t, headers, deadline);
		}
		run_transfers(multi, transfers, n, headers, deadline);
	}
	PG_FINALLY();
	{
		for (int i = 0; i < n; i++)
		{
			if (transfers[i].handle != NULL)
			{
				curl_multi_remove_handle(multi, transfers[i].handle);
				curl_easy_cleanup(transfers[i].handle);
			}
			answer_reset(&transfers[i].answer);
		}
		if (multi != NULL)
			curl_multi_cleanup(multi);
		curl_slist_free_all(headers);
	}
	PG_END_TRY();

	for (int i = 0; i < n; i++)
	{
		Transfer   *t = &transfers[i];
		Datum		values[5] = {0};
		bool		nulls[5] = {false, t->failed, t->failed, !t->failed, !t->failed};
		char	   *shown = shown_url(t->url);

		if (shown != NULL)
			values[0] = CStringGetTextDatum(shown);
		else
			nulls[0] = true;	/* a URL medup does not show */
		if (!t->failed)
		{
			values[1] = CStringGetTextDatum(masked_url(t->current));
			values[2] = CStringGetTextDatum(t->body);
		}
		else
		{
			values[3] = CStringGetTextDatum(unpack_sql_state(t->failure.sqlerrcode));
			values[4] = CStringGetTextDatum(t->failure.message);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_NULL();
}

/* medup.parse_answer(shown, body): an answer of http_get_all() as JSON, or the error http_get() raises. */
Datum
medup_parse_answer(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(body_as_jsonb(text_to_cstring(PG_GETARG_TEXT_PP(1)),
								  text_to_cstring(PG_GETARG_TEXT_PP(0))));
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

/*
 * medup.masked_url(url): the URL with the user name and password libcurl
 * reads in it replaced by ***, or NULL for a URL medup refuses (above).
 */
Datum
medup_masked_url(PG_FUNCTION_ARGS)
{
	char	   *shown;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	shown = shown_url(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	if (shown == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(shown));
}
