# medup over the network, against a loopback HTTP server (test/http_fixture.py,
# 127.0.0.1 only) playing Medplum's servers and GitHub: the worker's probes
# (healthy, a deploy, two servers on different versions, ok:false, HTTP 500,
# credentials masked), and the catalog refresh (every page of the releases,
# the manifest) with every failure: HTTP status, invalid JSON, wrong shapes,
# a huge body, redirects to file:// and to another port, a refused
# connection, a slow server (timeout, statement_timeout, cancel).  After
# every failure, the catalog is checked to be unchanged.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use IPC::Run;
use MedupTest;
use MedupHttpFixture;

# --- the loopback server --------------------------------------------------
# A self-signed certificate, when openssl is there: TLS verification must refuse it.
my $have_tls;
my ($web, $port, $other_port, $closed_port, $tls_port) = start_http_fixture(sub {
	my ($dir) = @_;
	$have_tls = system("openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 "
		  . "-keyout $dir/tls.key -out $dir/tls.pem >/dev/null 2>&1") == 0;
});
my $base = "http://127.0.0.1:$port";

sub requests_to
{
	my ($which_port, $path_re) = @_;
	return 0 unless -e "$web/requests.log";
	return scalar grep { /^$which_port $path_re/ } split /\n/, slurp_file("$web/requests.log");
}
# Medplum's /healthcheck, in its key order.
sub healthcheck
{
	my ($ok, $version, $postgres) = @_;
	$postgres //= 'true';
	return qq({"ok":$ok,"version":"$version","platform":"linux","runtime":"v22.11.0","postgres":$postgres,"redis":true});
}

# --- the database ------------------------------------------------------------
my $node = medup_node('http', qq{
medup.databases = 'medplum'
medup.naptime = 1
medup.probe_interval = 1
medup.servers = 'http://medplum:s3cret-pw\@127.0.0.1:$port/a, $base/b/'
medup.releases_url = '$base/repos/medplum/medplum/releases?per_page=3'
medup.manifest_url = '$base/manifest.json'
});
# No Medplum tables: the network is the subject here.
medplum_database($node, 'medplum', sample => 0);
sub medplum { return $node->safe_psql('medplum', shift); }
sub server_row
{
	my $path = shift;
	return medplum("SELECT state || ' ' || coalesce(version::text, '-') FROM medup.servers WHERE url LIKE '%/$path/healthcheck'");
}
sub wait_for
{
	my ($sql, $what) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	poll_ok($node, 'medplum', $sql, $what);
}

# --- probes by the worker ------------------------------------------------------
route('/a/healthcheck', body => healthcheck('true', '5.0.10-1a2b3c4'));
route('/b/healthcheck', body => healthcheck('true', '5.0.10-1a2b3c4'));
wait_for("SELECT count(*) = 2 FROM medup.servers WHERE state = 'ok'", 'the worker probes both servers');
is(server_row('a'), 'ok 5.0.10-1a2b3c4', 'server a reports its build, suffix kept for display');
is(medplum("SELECT url FROM medup.servers WHERE url LIKE '%/a/healthcheck'"),
	"http://***\@127.0.0.1:$port/a/healthcheck", 'credentials in a server URL are masked');
is(medplum("SELECT version || ' | ' || versions_differ FROM medup.reported_version()"),
	'5.0.10-1a2b3c4 | false', 'one reported version');
is(medplum("SELECT count(*) FROM medup.event WHERE kind = 'server_ok'"), 2, 'one server_ok event per server');

# A deploy on b: a rolling deploy leaves the servers on different versions.
route('/b/healthcheck', body => healthcheck('true', '5.0.11-9f8e7d6'));
wait_for("SELECT count(*) = 1 FROM medup.event WHERE kind = 'deploy'", 'a version change is a deploy event');
is(medplum("SELECT detail FROM medup.event WHERE kind = 'deploy'"),
	"$base/b/healthcheck: 5.0.10-1a2b3c4 -> 5.0.11-9f8e7d6", 'the deploy event names the server, old and new');
is(medplum("SELECT version::text || ' | ' || versions_differ FROM medup.reported_version()"),
	'5.0.10-1a2b3c4 | true', 'two versions: the lower one counts, and the difference is said');
like(medplum("SELECT source FROM medup.reported_version()"),
	qr/^the lowest version the servers' healthchecks report \(5\.0\.10-1a2b3c4 by .*\/a\/healthcheck, 5\.0\.11-9f8e7d6 by .*\/b\/healthcheck\)$/,
	'the source names both servers and their versions');

# A new build of the same version is not a deploy.
route('/a/healthcheck', body => healthcheck('true', '5.0.10-unknown'));
wait_for("SELECT version::text = '5.0.10-unknown' FROM medup.servers WHERE url LIKE '%/a/healthcheck'",
	'a new build of the same version is recorded');
is(medplum("SELECT count(*) FROM medup.event WHERE kind = 'deploy'"), 1,
	'and is not a deploy (the suffix is ignored, as Medplum does)');

# ok:false, then HTTP 500: each its own state and event, never a worker crash.
route('/a/healthcheck', body => healthcheck('false', '5.0.10-unknown', 'false'));
wait_for("SELECT state = 'not_ok' FROM medup.servers WHERE url LIKE '%/a/healthcheck'", 'ok:false is its own state');
is(medplum("SELECT detail FROM medup.servers WHERE url LIKE '%/a/healthcheck'"),
	'not healthy: postgres: false, redis: true', 'with the health flags as the detail');
route('/b/healthcheck', status => 500, body => 'Internal Server Error');
wait_for("SELECT state = 'unreachable' FROM medup.servers WHERE url LIKE '%/b/healthcheck'",
	'an HTTP 500 leaves the server unreachable');
is(server_row('b'), 'unreachable 5.0.11-9f8e7d6', 'its last reported version is kept');
like(medplum("SELECT detail FROM medup.servers WHERE url LIKE '%/b/healthcheck'"),
	qr/answered with HTTP status 500/, 'the detail says what happened');
is(medplum("SELECT string_agg(kind, ' ' ORDER BY event_id) FROM medup.event WHERE kind LIKE 'server_%' AND event_id > 2"),
	'server_not_ok server_unreachable', 'one event per state change');
route('/a/healthcheck', body => healthcheck('true', '5.0.11-9f8e7d6'));
route('/b/healthcheck', body => healthcheck('true', '5.0.11-9f8e7d6'));
wait_for("SELECT count(*) = 2 FROM medup.servers WHERE state = 'ok' AND version = '5.0.11'", 'both back, on 5.0.11');
is(medplum("SELECT count(*) FROM medup.event WHERE kind = 'deploy'"), 2, 'a is deployed too');
is(medplum("SELECT medup.worker_pid() IS NOT NULL"), 't', 'the worker is still running');
unlike(slurp_file($node->logfile), qr/s3cret-pw/, 'the password never reaches the log');

# The worker's probes stop; the rest is on demand.
$node->append_conf('postgresql.conf', "medup.probe_interval = 0\n");
$node->reload;
sleep(2);

# --- probe() on demand -----------------------------------------------------------
is(medplum("SELECT string_agg(state || ' ' || coalesce(version::text, '-') || ' ' || coalesce(previous_version::text, '-'), ', ' ORDER BY url) FROM medup.probe()"),
	'ok 5.0.11-9f8e7d6 5.0.11-9f8e7d6, ok 5.0.11-9f8e7d6 5.0.11-9f8e7d6', 'probe() returns what it saw');
my $refused = medplum(qq{SET medup.servers = 'http://127.0.0.1:$closed_port';
	SELECT state || ': ' || detail FROM medup.probe()});
is($refused, "unreachable: could not connect to http://127.0.0.1:$closed_port/healthcheck", 'a refused connection is unreachable');

# --- catalog refresh: every page, drafts and prereleases left out ----------------
sub release
{
	my ($tag, $published, $draft, $pre) = @_;
	my $at = defined $published ? '"' . $published . 'T17:03:12Z"' : 'null';
	my $created = ($published // '2026-12-02') . 'T16:00:00Z';
	return '{"url":"https://api.github.com/repos/medplum/medplum/releases/1",'
	  . '"html_url":"https://github.com/medplum/medplum/releases/tag/' . $tag . '","id":1,'
	  . '"tag_name":"' . $tag . '","target_commitish":"main","name":"Medplum ' . $tag . '",'
	  . '"draft":' . $draft . ',"prerelease":' . $pre . ',"created_at":"' . $created . '",'
	  . '"published_at":' . $at . ',"assets":[],"body":"What is new"}';
}
my $page2 = "$base/repositories/1/releases?per_page=3&page=2";
route('/repos/medplum/medplum/releases?per_page=3',
	body => '[' . join(',', release('v5.4.0', undef, 'true', 'false'), release('v5.3.1', '2026-12-05', 'false', 'true'),
		release('v5.3.0', '2026-12-01', 'false', 'false')) . ']',
	headers => { Link => qq(<$page2>; rel="next", <$page2>; rel="last") });
route('/repositories/1/releases?per_page=3&page=2',
	body => '[' . join(',', release('v5.2.13', '2026-11-20', 'false', 'false'), release('v5.2.12', '2026-11-13', 'false', 'false')) . ']',
	headers => { Link => qq(<$base/repos/medplum/medplum/releases?per_page=3>; rel="first", <$base/repos/medplum/medplum/releases?per_page=3>; rel="prev") });
# Medplum's manifest as its file has it: what medup ships, and a new v54.
my $manifest_entries = medplum(q{SELECT string_agg(format('  "v%s": {%s}', data_version,
		concat_ws(',', format(E'\n    "serverVersion": "%s"', server_version),
			CASE WHEN required_before IS NOT NULL THEN format(E'\n    "requiredBefore": "%s"', required_before) END) || E'\n  '),
		E',\n' ORDER BY data_version) FROM medup.data_migration});
my $manifest = "{\n$manifest_entries,\n  \"v54\": {\n    \"serverVersion\": \"5.3.0\"\n  }\n}\n";
route('/manifest.json', body => $manifest);

my $catalog_sql = q{SELECT md5(string_agg(x, ';' ORDER BY x)) FROM (
	SELECT version::text || released_on || source AS x FROM medup.release UNION ALL
	SELECT data_version || server_version::text || coalesce(required_before::text, '') || source FROM medup.data_migration) c};
my $catalog = medplum($catalog_sql);
is(medplum("SELECT string_agg(concat_ws(' ', kind, item, change), E'\n') FROM medup.refresh_catalog()"),
	"release 5.2.12 new, released 2026-11-13\nrelease 5.3.0 new, released 2026-12-01\nmigration v54 new: runs on 5.3.0 <= version",
	'refresh_catalog() loads what is new: releases of both pages, one new migration');
is(requests_to($port, qr{/repositories/1/releases\?per_page=3&page=2$}), 1, 'the second page was fetched');
is(medplum("SELECT released_on || ' ' || source FROM medup.release WHERE version = '5.3.0'"),
	'2026-12-01 GitHub release v5.3.0', 'a release is loaded with its date and source');
is(medplum("SELECT count(*) FROM medup.release WHERE version IN ('5.3.1', '5.4.0')"), 0,
	'drafts and prereleases are left out');
is(medplum("SELECT server_version::text || ' ' || coalesce(required_before::text, '-') FROM medup.data_migration WHERE data_version = 54"),
	'5.3.0 -', 'v54 is in the manifest');
is(medplum("SELECT detail FROM medup.event WHERE kind = 'catalog_refreshed'"),
	'2 new release(s), 1 new or changed migration(s)', 'an event says what changed');
is(medplum("SELECT count(*) FROM medup.refresh_catalog()"), 0, 'a second refresh changes nothing');
is(medplum("SELECT count(*) FROM medup.event WHERE kind = 'catalog_refreshed'"), 1, 'and records no event');

# --- failures: each a clear error, and the catalog unchanged ----------------------
$catalog = medplum($catalog_sql);
sub refresh_fails
{
	my ($settings, $error_re, $what) = @_;
	my ($ret, $out, $err) = $node->psql('medplum',
		"SET client_min_messages = error; $settings; SELECT * FROM medup.refresh_catalog()",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	isnt($ret, 0, "$what: refused");
	like($err, $error_re, "$what: the error");
	is(medplum($catalog_sql), $catalog, "$what: the catalog is unchanged");
	return $err;
}
my $with_v55 = $manifest =~ s/\n\}\n$/,\n  "v55": {\n    "serverVersion": "5.3.0"\n  }\n}\n/r;
route('/manifest.json', body => $with_v55, status => 500);
refresh_fails('', qr/ERROR:  08000: http:\/\/127\.0\.0\.1:$port\/manifest\.json answered with HTTP status 500/, 'HTTP 500');
route('/manifest.json', body => substr($with_v55, 0, 200));
refresh_fails('', qr/ERROR:  22P02: the answer from http:\/\/127\.0\.0\.1:$port\/manifest\.json is not valid JSON/, 'invalid JSON');
route('/manifest.json', body => $with_v55 =~ s/"v55": \{\n    "serverVersion": "5.3.0"/"v55": {\n    "serverVersion": "5.3"/r);
refresh_fails('', qr/ERROR:  22023: the manifest from .*manifest\.json cannot be loaded\nDETAIL:  .*"v55"/, 'a manifest entry of the wrong shape');
route('/manifest.json', body => '[1, 2]');
refresh_fails('', qr/ERROR:  22023: the manifest from .* cannot be loaded/, 'a manifest that is not an object');
route('/manifest.json', body => $with_v55);
my $page1 = route_of('/repos/medplum/medplum/releases?per_page=3');
route('/repos/medplum/medplum/releases?per_page=3', %$page1, body => '[{"tag_name":"v5.5.0","draft":false}]');
refresh_fails('', qr/ERROR:  22023: the releases from .* are not in GitHub's format\nDETAIL:  Release 1 .* has no boolean "prerelease"/,
	'a release of the wrong shape');
route('/repos/medplum/medplum/releases?per_page=3', %$page1, body => '[' . release('vNext', '2026-12-01', 'false', 'false') . ']');
refresh_fails('', qr/ERROR:  22023: the releases from .* cannot be loaded\nDETAIL:  In element 1 .*"version" is not a Medplum version: "vNext"/,
	'a release whose tag is not a version');
route('/repos/medplum/medplum/releases?per_page=3', %$page1, body => '{"message":"API rate limit exceeded"}');
refresh_fails('', qr/ERROR:  22023: the answer from .* is not a list of releases/, 'releases that are not a list');
route('/repos/medplum/medplum/releases?per_page=3', %$page1);

route('/manifest.json', huge => 1024 * 1024);
refresh_fails('SET medup.http_max_kb = 64', qr/ERROR:  54000: the answer from .*manifest\.json is larger than medup\.http_max_kb \(64 kB\)/,
	'a huge body with its length');
route('/manifest.json', huge => 1024 * 1024, no_length => 1);
refresh_fails('SET medup.http_max_kb = 64', qr/ERROR:  54000: the answer from .*manifest\.json is larger than medup\.http_max_kb/,
	'a huge body without its length');
# The deprecated name of medup.http_max_kb still sets the limit.
refresh_fails('SET medup.http_max_bytes = 64', qr/ERROR:  54000: the answer from .*manifest\.json is larger than medup\.http_max_kb \(64 kB\)/,
	'a huge body, the limit set by the deprecated medup.http_max_bytes');

route('/manifest.json', status => 302, headers => { Location => 'file:///etc/passwd' });
refresh_fails('', qr/ERROR:  08000: .*manifest\.json redirects to file:\/\/\/etc\/passwd, which medup does not follow/,
	'a redirect to file://');
route('/manifest.json', status => 302, headers => { Location => "http://127.0.0.1:$other_port/manifest.json" });
refresh_fails('', qr/redirects to http:\/\/127\.0\.0\.1:$other_port\/manifest\.json, which medup does not follow/,
	'a redirect to another port');
is(requests_to($other_port, qr{/}), 0, 'nothing reached the other port');
route('/manifest.json', status => 301, headers => { Location => "/moved/manifest.json" });
route('/moved/manifest.json', body => $with_v55);
is(medplum("SELECT string_agg(item, ' ') FROM medup.refresh_catalog()"), 'v55', 'a redirect on the same host and port is followed');
$catalog = medplum($catalog_sql);

refresh_fails("SET medup.manifest_url = 'http://127.0.0.1:$closed_port/manifest.json'",
	qr/ERROR:  08001: could not connect to http:\/\/127\.0\.0\.1:$closed_port\/manifest\.json/, 'a refused connection');
SKIP:
{
	skip 'no openssl to make a certificate', 3 unless $have_tls && $tls_port;
	route('/manifest.json', body => $with_v55);
	refresh_fails("SET medup.manifest_url = 'https://127.0.0.1:$tls_port/manifest.json'",
		qr/ERROR:  08001: could not connect to https:\/\/127\.0\.0\.1:$tls_port\/manifest\.json\nDETAIL:  SSL peer certificate/,
		'a certificate no authority signed');
}
route('/manifest.json', body => $with_v55, delay => 30);
my $start = time;
refresh_fails('SET medup.http_timeout = 1000', qr/ERROR:  08006: fetching .*manifest\.json timed out/, 'a slow server');
cmp_ok(time - $start, '<', 3, 'the timeout ends the transfer in time');
$start = time;
# No fetch outlasts the statement: it ends just before statement_timeout
# fires, as a timed-out fetch (probe() then still records every server).
refresh_fails('SET statement_timeout = 1000', qr/ERROR:  08006: fetching .*manifest\.json timed out/, 'statement_timeout');
cmp_ok(time - $start, '<', 3, 'statement_timeout stops the transfer in time');

# A cancel arrives within a second.
my ($out, $err) = ('', '');
my $psql = IPC::Run::start([ 'psql', '-X', '-d', $node->connstr('medplum'), '-c',
		"SET application_name = 'slow_refresh'; SELECT * FROM medup.refresh_catalog()" ],
	'>', \$out, '2>', \$err);
my $seen = requests_to($port, qr{/manifest\.json$});
for (1 .. 100) { last if requests_to($port, qr{/manifest\.json$}) > $seen; sleep(0.1); }
ok(requests_to($port, qr{/manifest\.json$}) > $seen, 'the slow transfer is under way');
$start = time;
medplum("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'slow_refresh'");
$psql->finish;
cmp_ok(time - $start, '<', 1, 'a cancel stops the transfer within a second');
like($err, qr/canceling statement due to user request/, 'and is reported as a cancel');
is(medplum($catalog_sql), $catalog, 'the catalog is unchanged after the cancel');

# --- no fetch under a lock on Medplum's tables ------------------------------------
medplum('CREATE TABLE public."AsyncJob" (id uuid)');
my ($ret, $stdout, $stderr) = $node->psql('medplum',
	'BEGIN; SELECT count(*) FROM public."AsyncJob"; SELECT * FROM medup.probe(); COMMIT;');
like($stderr, qr/medup does not fetch over the network while this transaction holds a lock on Medplum's tables/,
	'no fetch while the transaction holds a lock on a Medplum table');

# --- the worker's periodic refresh, and a shutdown during a slow probe -----------
route('/manifest.json', body => $manifest =~ s/\n\}\n$/,\n  "v56": {\n    "serverVersion": "5.3.0"\n  }\n}\n/r);
$node->append_conf('postgresql.conf', "medup.refresh_interval = 1\n");
$node->reload;
wait_for("SELECT count(*) = 1 FROM medup.data_migration WHERE data_version = 56", 'the worker refreshes the catalog');
route('/a/healthcheck', body => healthcheck('true', '5.0.11-9f8e7d6'), delay => 60);
$node->append_conf('postgresql.conf', "medup.refresh_interval = 0\nmedup.probe_interval = 1\nmedup.http_timeout = 60s\n");
$node->reload;
$seen = requests_to($port, qr{/a/healthcheck$});
for (1 .. 100) { last if requests_to($port, qr{/a/healthcheck$}) > $seen; sleep(0.1); }
$start = time;
$node->stop('fast');
cmp_ok(time - $start, '<', 3, 'a fast shutdown does not wait for a slow probe');

done_testing();
