/*
 * medup.c
 *		Module entry point: settings, and the workers when preloaded.
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "medup.h"

PG_MODULE_MAGIC;

#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/*
 * medup.medplum_schema is read by SQL (medup.medplum_schema(), through
 * current_setting()); medup.medplum_roles by src/plan_cache.c; the others
 * by the worker (src/worker.c, src/periodic.c).
 */
static char *medup_medplum_schema = NULL;
char	   *medup_medplum_roles = NULL;
char	   *medup_databases = NULL;
int			medup_naptime = 10;
int			medup_max_samplers = 2;

/*
 * Read by SQL through medup.setting_interval() (below), as intervals: C
 * keeps them only for their definitions.
 */
static int	medup_retention = 30 * 86400;
static int	medup_event_retention = 365 * 86400;
static int	medup_stall_after = 30 * 60;

void		_PG_init(void);

/* A comma-separated list of role names (not checked for existence: roles come and go). */
static bool
check_role_list(char **newval, void **extra, GucSource source)
{
	char	   *copy = pstrdup(*newval);
	List	   *names = NIL;
	bool		ok = SplitIdentifierString(copy, ',', &names);

	list_free(names);
	pfree(copy);
	if (!ok)
		GUC_check_errdetail("It must be a comma-separated list of role names.");
	return ok;
}

/*
 * Reaching Medplum's servers and its published catalog (src/http.c, and
 * sql/install/80-servers.sql).
 * Every URL is superuser-only: whoever sets one aims the database server's
 * network access.  The timings are server-wide.
 */
char	   *medup_servers = NULL;
char	   *medup_releases_url = NULL;
char	   *medup_manifest_url = NULL;
char	   *medup_netrc_file = NULL;
int			medup_http_connect_timeout = 5000;
int			medup_http_timeout = 30000;
int			medup_http_max_kb = 4096;
int			medup_probe_interval = 60;
int			medup_refresh_interval = 0;

/*
 * medup.http_max_kb's name until 0.3, deprecated: it holds kilobytes, not
 * bytes.  -1 unless set; when set, it is the limit (medup_http_limit_kb()),
 * so a configuration written for 0.2 keeps its meaning, and each setting
 * of it logs a WARNING naming the new name.
 */
static int	http_max_bytes_deprecated = -1;

static bool
check_http_max_bytes(int *newval, void **extra, GucSource source)
{
	/*
	 * The configuration file is read by every process at each reload: warn
	 * from the postmaster alone, once a reload.  Any other source (SET,
	 * ALTER DATABASE/ROLE ... SET, a session's options) warns its session.
	 */
	if (*newval != -1 && (source != PGC_S_FILE || !IsUnderPostmaster))
		ereport(WARNING,
				errcode(ERRCODE_WARNING_DEPRECATED_FEATURE),
				errmsg("medup.http_max_bytes is deprecated: set medup.http_max_kb instead"),
				errdetail("The value is in kilobytes either way; while medup.http_max_bytes is set, it is the limit."));
	return true;
}

/* The largest answer a fetch accepts, in kilobytes. */
int
medup_http_limit_kb(void)
{
	return http_max_bytes_deprecated >= 0 ? http_max_bytes_deprecated : medup_http_max_kb;
}

/*
 * Warn when a URL with credentials goes where every role can read it:
 * ALTER DATABASE/ROLE ... SET and a function's SET clause store the value
 * in pg_db_role_setting or pg_proc, readable by any role that can connect,
 * and PostgreSQL checks the value with source PGC_S_TEST before it stores
 * it.  The value itself is never in the message.
 */
static bool
warn_credentials_in_catalog(char **newval, void **extra, GucSource source)
{
	if (source == PGC_S_TEST && *newval != NULL && strchr(*newval, '@') != NULL)
		ereport(WARNING,
				errmsg("this medup URL setting holds a user name or password, and where it is being set every role that can connect may read it"),
				errdetail("ALTER DATABASE ... SET and ALTER ROLE ... SET store settings in pg_db_role_setting, and a function's SET clause in pg_proc: both are readable by every role."),
				errhint("Set URLs without credentials (postgresql.conf, or ALTER SYSTEM), and put user names and passwords in the file named by medup.netrc_file, which only the server's operating system user may read."));
	return true;
}

/*
 * Every setting of medup but the remote targets' (src/target.c): one row
 * each, defined in this order by define_settings() below.
 */
typedef struct StringSetting
{
	const char *name;
	const char *short_desc;
	const char *long_desc;
	char	  **variable;
	const char *boot_value;
	GucContext	context;
	int			flags;
	GucStringCheckHook check_hook;
} StringSetting;

typedef struct IntSetting
{
	const char *name;
	const char *short_desc;
	const char *long_desc;
	int		   *variable;
	int			boot_value;
	int			min_value;
	int			max_value;
	GucContext	context;
	int			flags;
	GucIntCheckHook check_hook;
} IntSetting;

static const StringSetting string_settings[] = {
	/*
	 * Superuser-only: it steers what medup's SECURITY DEFINER functions and
	 * the worker read.  PostgreSQL then refuses it in a non-superuser's SET
	 * and ALTER DATABASE/ROLE ... SET, and ignores a value a non-superuser
	 * set as a placeholder before medup was loaded.
	 */
	{"medup.medplum_schema",
		"Schema that holds Medplum's tables.",
		"medup reads \"DatabaseMigration\" and \"AsyncJob\" from this schema.",
		&medup_medplum_schema, "public",
		PGC_SUSET, 0, NULL},

	/*
	 * Superuser-only for the same reason: a session of one of these roles,
	 * named 'medplum-server', is taken for Medplum's server (progress, stall,
	 * downtime, who holds the migration lock).
	 */
	{"medup.medplum_roles",
		"Roles besides the owner of \"DatabaseMigration\" whose sessions are Medplum's servers, comma-separated.",
		"A session counts as Medplum's server when its role is the owner of Medplum's tables or one of these, and its application_name is 'medplum-server'.",
		&medup_medplum_roles, "",
		PGC_SUSET, GUC_LIST_INPUT, check_role_list},
	{"medup.databases",
		"Databases the medup worker samples, comma-separated.",
		"Each must have the medup extension installed.",
		&medup_databases, "",
		PGC_SIGHUP, GUC_LIST_INPUT, NULL},

	/* The URLs: superuser-only (see medup_servers above). */
	{"medup.servers",
		"Base URLs of the Medplum servers whose /healthcheck medup probes, comma-separated.",
		"One per server, or a load balancer.  Credentials in a URL are never shown.",
		&medup_servers, "",
		PGC_SUSET, GUC_LIST_INPUT | GUC_SUPERUSER_ONLY, warn_credentials_in_catalog},
	{"medup.releases_url",
		"URL of Medplum's releases, in the GitHub releases API format.",
		"Its pages are followed on the same host.  Empty: releases are not refreshed.",
		&medup_releases_url,
		"https://api.github.com/repos/medplum/medplum/releases?per_page=100",
		PGC_SUSET, GUC_SUPERUSER_ONLY, warn_credentials_in_catalog},
	{"medup.manifest_url",
		"URL of Medplum's data-version-manifest.json.",
		"Empty: the migration manifest is not refreshed.",
		&medup_manifest_url,
		"https://raw.githubusercontent.com/medplum/medplum/main/packages/server/src/migrations/data/data-version-manifest.json",
		PGC_SUSET, GUC_SUPERUSER_ONLY, warn_credentials_in_catalog},
	{"medup.netrc_file",
		"A netrc file with the user names and passwords of medup's URLs.",
		"Read by libcurl for every fetch; it must be readable by the server's operating system user only.  Empty: none.",
		&medup_netrc_file, "",
		PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL},
};

static const IntSetting int_settings[] = {
	{"medup.naptime",
		"Time between two samples.",
		NULL,
		&medup_naptime, 10, 1, 3600,
		PGC_SIGHUP, GUC_UNIT_S, NULL},
	{"medup.max_samplers",
		"How many samplers may run at once.",
		"Each takes a background worker slot (max_worker_processes) while it samples one database.",
		&medup_max_samplers, 2, 1, 64,
		PGC_SIGHUP, 0, NULL},
	{"medup.retention",
		"How long samples are kept.",
		NULL,
		&medup_retention, 30 * 86400, 3600, INT_MAX,
		PGC_SIGHUP, GUC_UNIT_S, NULL},
	{"medup.event_retention",
		"How long events are kept.",
		NULL,
		&medup_event_retention, 365 * 86400, 3600, INT_MAX,
		PGC_SIGHUP, GUC_UNIT_S, NULL},
	{"medup.stall_after",
		"A running migration without progress for this long is stalled.",
		NULL,
		&medup_stall_after, 30 * 60, 1, INT_MAX,
		PGC_SIGHUP, GUC_UNIT_S, NULL},
	{"medup.http_connect_timeout",
		"How long medup waits for a connection to a server.",
		NULL,
		&medup_http_connect_timeout, 5000, 100, 60 * 1000,
		PGC_SUSET, GUC_UNIT_MS, NULL},
	{"medup.http_timeout",
		"How long one fetch may take in all, redirects included.",
		NULL,
		&medup_http_timeout, 30000, 100, 10 * 60 * 1000,
		PGC_SUSET, GUC_UNIT_MS, NULL},
	{"medup.http_max_kb",
		"The largest answer medup accepts from a server.",
		NULL,
		&medup_http_max_kb, 4096, 16, 256 * 1024,
		PGC_SUSET, GUC_UNIT_KB, NULL},
	{"medup.http_max_bytes",
		"Deprecated: medup.http_max_kb's old name; -1 (the default) leaves the limit to it.",
		NULL,
		&http_max_bytes_deprecated, -1, -1, 256 * 1024,
		PGC_SUSET, GUC_UNIT_KB, check_http_max_bytes},
	{"medup.probe_interval",
		"Time between two probes of medup.servers by the worker; 0 turns them off.",
		NULL,
		&medup_probe_interval, 60, 0, 86400,
		PGC_SIGHUP, GUC_UNIT_S, NULL},
	{"medup.refresh_interval",
		"Time between two catalog refreshes by the worker; 0 (the default) turns them off.",
		NULL,
		&medup_refresh_interval, 0, 0, 30 * 86400,
		PGC_SIGHUP, GUC_UNIT_S, NULL},
};

static void
define_settings(void)
{
	for (size_t i = 0; i < lengthof(string_settings); i++)
	{
		const StringSetting *s = &string_settings[i];

		DefineCustomStringVariable(s->name, s->short_desc, s->long_desc,
								   s->variable, s->boot_value, s->context, s->flags,
								   s->check_hook, NULL, NULL);
	}
	for (size_t i = 0; i < lengthof(int_settings); i++)
	{
		const IntSetting *s = &int_settings[i];

		DefineCustomIntVariable(s->name, s->short_desc, s->long_desc,
								s->variable, s->boot_value, s->min_value, s->max_value,
								s->context, s->flags, s->check_hook, NULL, NULL);
	}
}

void
_PG_init(void)
{
	define_settings();
	medup_define_target_settings();
	MarkGUCPrefixReserved("medup");

	if (process_shared_preload_libraries_in_progress)
		medup_register_workers();
}

PG_FUNCTION_INFO_V1(medup_setting_interval);

/*
 * medup.setting_interval(name): one of medup's duration settings as an
 * interval.  Being C, a call loads medup.so, which defines the settings
 * first: their defaults are written once, above, and SQL needs none.
 */
Datum
medup_setting_interval(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *value;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strncmp(name, "medup.", strlen("medup.")) != 0)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("\"%s\" is not a medup setting", name),
				errdetail("medup.setting_interval() reads medup's own duration settings only."));
	/* With its unit ("10s", "30min"), which interval input understands. */
	value = GetConfigOptionByName(name, NULL, false);
	PG_RETURN_DATUM(DirectFunctionCall3(interval_in, CStringGetDatum(value),
										ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

PG_FUNCTION_INFO_V1(medup_bound_sample);

/*
 * medup.bound_sample(): make the running statement end within
 * SAMPLE_TIMEOUT_MS, unless its statement_timeout ends it sooner: a
 * sample run by hand (or by pg_cron) is bounded like the worker's.
 * PostgreSQL disarms the timer when the statement ends.
 */
Datum
medup_bound_sample(PG_FUNCTION_ARGS)
{
	TimestampTz limit = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), SAMPLE_TIMEOUT_MS);

	if (!get_timeout_active(STATEMENT_TIMEOUT) ||
		get_timeout_finish_time(STATEMENT_TIMEOUT) > limit)
		enable_timeout_at(STATEMENT_TIMEOUT, limit);
	PG_RETURN_VOID();
}
