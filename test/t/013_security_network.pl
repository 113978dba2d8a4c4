# Security, round two, over the network: a hostile loopback server
# (test/http_fixture.py, 127.0.0.1 only) cannot stop sampling, and no
# password in medup's URLs is ever shown.
#   - many servers down or answering slowly, a slow catalog server: the
#     worker's samples are never more than one naptime late;
#   - a releases list of 20,000 releases is read in linear time;
#   - passwords in URLs, in every form libcurl reads: each leak played as
#     medup_reader and as a role with only CONNECT, and every medup row,
#     event, error and the server log searched for the password; a URL
#     libcurl would read otherwise than medup would show it is refused;
#     credentials from medup.netrc_file instead, a file only the server's
#     user may read; a WARNING for a URL with credentials set where every
#     role can read it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 'test/perl';
use MedupHttpFixture;
use MedupTest;

my ($web, $port, $other_port, $closed_port) = start_http_fixture();
my $base = "http://127.0.0.1:$port";
my $healthy = '{"ok":true,"version":"5.0.10-1a2b3c4","platform":"linux","runtime":"v22.11.0","postgres":true,"redis":true}';
route("/$_/healthcheck", body => $healthy) for qw(good netrc);
route("/slow$_/healthcheck", body => $healthy, delay => 120) for 1 .. 4;
route('/netrc/healthcheck', body => $healthy, auth => 'medplum:Pw8-netrc-secret');

# The passwords, each in a URL of another form.
my %password = (
	plain => 'Pw1-plain-secret',             # masked
	one_slash => 'Pw2-one-slash-secret',     # http:/user:pw@host: refused
	slash => 'Pw3-slash-secret',             # an unencoded "/" in it: refused
	query => 'Pw4-query-secret',             # an unencoded "?": refused
	hash => 'Pw5-hash-secret',               # an unencoded "#": refused
	catalog => 'Pw6-catalog-secret',         # in medup.manifest_url, one slash
	database => 'Pw7-database-secret',       # ALTER DATABASE ... SET
	netrc => 'Pw8-netrc-secret');            # only in the netrc file

# Down: four servers that answer after two minutes, three refused ports.
my $servers = join(', ',
	"http://medplum:$password{plain}\@127.0.0.1:$port/good",
	(map { "$base/slow$_" } 1 .. 4),
	("http://127.0.0.1:$closed_port/down") x 3);
my $node = medup_node('network', qq{
medup.databases = 'medplum'
medup.naptime = 2
medup.probe_interval = 1
medup.servers = '$servers'
medup.releases_url = ''
medup.manifest_url = '$base/manifest.json'
# The statements of this test carry passwords, and PostgreSQL logs
# statements (the test framework turns that on) and the text of a failing
# one: the client's words, not medup's.
log_statement = 'none'
log_min_error_statement = panic
});
$node->safe_psql('postgres', q{
CREATE ROLE grafana LOGIN;
CREATE ROLE intruder LOGIN;     -- CONNECT, as every role has, and nothing else
});
# A Medplum database (test/medplum.sql): the samples are what must go on.
medplum_database($node, 'medplum');
$node->safe_psql('medplum', 'GRANT medup_reader TO grafana;');
sub medplum { return $node->safe_psql('medplum', shift); }

# --- 1. Servers down and slow: sampling goes on -------------------------------
ok($node->poll_query_until('medplum', q{SELECT count(*) = 1 FROM medup.servers WHERE state = 'ok'}),
	'the healthy server is probed');
ok($node->poll_query_until('medplum',
		q{SELECT count(*) = 4 FROM medup.servers WHERE detail LIKE 'fetching % timed out'}),
	'the slow servers are recorded as timed out, within the round');
# The largest gap between two samples of the last 8 seconds, and how many.
sub sample_gaps
{
	return split /\|/, medplum(q{SELECT count(*) || '|' || coalesce(extract(epoch FROM max(d)), 0) FROM (
		SELECT sampled_at - lag(sampled_at) OVER (ORDER BY sampled_at) AS d FROM medup.sample
		 WHERE sampled_at > now() - interval '8 seconds') g});
}
sleep(8);
my ($samples, $gap) = sample_gaps();
note("largest gap between two samples with 4 slow and 3 refused servers: $gap s (naptime 2 s)");
cmp_ok($samples, '>=', 2, 'the worker samples');
cmp_ok($gap, '<', 2 * 2 + 1, 'no sample is more than one naptime late');
# A slow catalog server too.
route('/manifest.json', body => '{}', delay => 120);
$node->append_conf('postgresql.conf', "medup.refresh_interval = 1\n");
$node->reload;
sleep(10);
($samples, $gap) = sample_gaps();
note("largest gap with a slow catalog server as well: $gap s");
cmp_ok($samples, '>=', 2, 'the worker samples');
cmp_ok($gap, '<', 2 * 2 + 1, 'a slow catalog server does not delay sampling either');
like(slurp_file($node->logfile), qr/medup: catalog refresh in database "medplum" failed: fetching .*manifest\.json timed out/,
	'the refresh that ran out of time is logged');
$node->append_conf('postgresql.conf', "medup.refresh_interval = 0\nmedup.probe_interval = 0\n");
$node->reload;

# By hand, every server at once: the slow ones cost one timeout in all.
my $t0 = time();
medplum(q{SET medup.http_timeout = '2s'; SELECT count(*) FROM medup.probe()});
my $probe_time = time() - $t0;
note(sprintf('probe() of 8 servers, 4 slow and 3 down, http_timeout 2 s: %.2f s', $probe_time));
cmp_ok($probe_time, '<', 4, 'probe() waits for the slow servers together, not one after another');

# --- 2. A releases list of 20,000 releases ------------------------------------
route('/releases', releases => 20000);
$t0 = time();
my $loaded = medplum(qq{SET medup.http_max_bytes = '64MB'; SET medup.http_timeout = '60s';
	SET medup.releases_url = '$base/releases'; SET medup.manifest_url = '';
	SELECT count(*) FROM medup.refresh_catalog()});
my $refresh_time = time() - $t0;
note(sprintf('refresh_catalog() of 20,000 releases: %.2f s', $refresh_time));
is($loaded, '20000', 'every release of the list is loaded');
cmp_ok($refresh_time, '<', 20, 'in linear time');

# --- 3. Passwords in URLs -----------------------------------------------------
my $refused = join(', ',
	"http:/medplum:$password{one_slash}\@127.0.0.1:$port/good",
	"http://medplum:123/$password{slash}\@127.0.0.1:$port/good",
	"http://medplum:$password{query}?x\@127.0.0.1:$port/good",
	"http://medplum:$password{hash}#x\@127.0.0.1:$port/good");
my %errors;
for my $call (
	[ probe => "SET medup.http_timeout = '1s'; SET medup.servers = '$servers, $refused'; SELECT * FROM medup.probe()" ],
	[ catalog => "SET medup.manifest_url = 'http:/medplum:$password{catalog}\@127.0.0.1:$port/manifest.json';
	             SET medup.releases_url = ''; SELECT * FROM medup.refresh_catalog()" ],
	[ http_get => "SELECT * FROM medup.http_get('http:/medplum:$password{one_slash}\@127.0.0.1:$port/good/healthcheck')" ])
{
	my ($ret, $out, $err) = $node->psql('medplum', $call->[1]);
	$errors{ $call->[0] } = "$out\n$err";
}
like($errors{probe}, qr/medup refuses this URL: libcurl would not read it as it is written/,
	'a URL libcurl reads otherwise is refused, server by server');
like($errors{catalog}, qr/medup refuses this URL/, 'and as the manifest URL');
is(medplum(q{SELECT count(*) FROM medup.servers WHERE url LIKE '(server % of medup.servers: URL not shown)'}),
	'4', 'the refused servers are listed without their URLs');
is(medplum(q{SELECT url FROM medup.servers WHERE state = 'ok'}), "http://***\@127.0.0.1:$port/good/healthcheck",
	'a URL with credentials is shown masked');

# netrc: the credentials from a file only the server's user may read.
is(medplum("SET medup.servers = '$base/netrc'; SELECT detail FROM medup.probe()"),
	"$base/netrc/healthcheck answered with HTTP status 401", 'without medup.netrc_file, the server refuses');
my $netrc = "$web/netrc";
open my $fh, '>', $netrc or die;
print $fh "machine 127.0.0.1 login medplum password $password{netrc}\n";
close $fh;
chmod 0600, $netrc;
$node->append_conf('postgresql.conf', "medup.netrc_file = '$netrc'\n");
$node->reload;
sleep(1);
is(medplum("SET medup.servers = '$base/netrc'; SELECT state || ' ' || version FROM medup.probe()"),
	'ok 5.0.10-1a2b3c4', 'medup.netrc_file: the server is reached with its credentials');
chmod 0644, $netrc;
my ($ret, $out, $err) = $node->psql('medplum', "SET medup.servers = '$base/netrc'; SELECT * FROM medup.probe()");
like($err, qr/medup.netrc_file ".*netrc" may be read or changed by others than the server's operating system user/,
	'a netrc file others may read is refused');
$errors{netrc} = $err;
chmod 0600, $netrc;

# ALTER DATABASE ... SET: stored where every role can read it; WARNING.
($ret, $out, $err) = $node->psql('medplum',
	"ALTER DATABASE medplum SET medup.manifest_url = 'http://medplum:$password{database}\@127.0.0.1:$port/manifest.json'");
like($err, qr/WARNING:  this medup URL setting holds a user name or password, and where it is being set every role that can connect may read it/,
	'ALTER DATABASE ... SET of a URL with credentials: a WARNING');
unlike($err, qr/$password{database}/, 'which does not show the password');
($ret, $out, $err) = $node->psql('medplum',
	"ALTER ROLE grafana SET medup.servers = 'http://medplum:$password{database}\@127.0.0.1:$port/x'");
like($err, qr/WARNING:  this medup URL setting holds a user name or password/, 'ALTER ROLE ... SET: the same');
$errors{alter} = $err;
my $catalog_leak = $node->safe_psql('medplum',
	q{SELECT string_agg(array_to_string(setconfig, ','), ',') FROM pg_db_role_setting},
	extra_params => [ '-U', 'intruder' ]);
like($catalog_leak, qr/$password{database}/,
	'(as documented: a role with only CONNECT reads a database or role setting)');
medplum('ALTER DATABASE medplum RESET medup.manifest_url; ALTER ROLE grafana RESET medup.servers');

# What a reader and a role with only CONNECT can see: every medup relation
# and answer, and every setting and catalog that holds settings.
sub everything_as
{
	my ($role) = @_;
	my $relations = $node->safe_psql('medplum', qq{
SELECT string_agg(format('%I.%I', n.nspname, c.relname), ' ')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'medup' AND c.relkind IN ('r', 'v')
   AND has_table_privilege('$role', c.oid, 'SELECT')});
	my $seen = '';
	for my $relation (split ' ', $relations)
	{
		$seen .= $node->safe_psql('medplum', "SELECT t::text FROM $relation t",
			extra_params => [ '-U', $role ]) . "\n";
	}
	for my $sql (q{SELECT t::text FROM medup.status() t}, q{SHOW medup.servers}, q{SHOW medup.manifest_url},
		q{SELECT string_agg(name || '=' || setting, ',') FROM pg_settings WHERE name LIKE 'medup.%'},
		q{SELECT string_agg(array_to_string(setconfig, ','), ',') FROM pg_db_role_setting},
		q{SELECT string_agg(array_to_string(proconfig, ','), ',') FROM pg_proc WHERE proconfig IS NOT NULL},
		q{SELECT * FROM medup.probe()}, q{SELECT * FROM medup.http_get(current_setting('medup.servers'))})
	{
		my ($r, $o, $e) = $node->psql('medplum', $sql, extra_params => [ '-U', $role ]);
		$seen .= "$o\n$e\n";
	}
	return ($seen, $relations);
}
my ($reader_sees, $reader_relations) = everything_as('grafana');
my ($intruder_sees) = everything_as('intruder');
like($reader_relations, qr/medup\.servers/, 'medup_reader reads medup.servers and the rest');
like($reader_sees, qr/server_unreachable|server_error/, 'and the events');
my $log = slurp_file($node->logfile);
for my $which (sort keys %password)
{
	my $pw = $password{$which};
	unlike($reader_sees, qr/\Q$pw\E/, "password ($which): not seen by medup_reader");
	unlike($intruder_sees, qr/\Q$pw\E/, "password ($which): not seen by a role with only CONNECT");
	unlike(join("\n", values %errors), qr/\Q$pw\E/, "password ($which): in no error");
	unlike($log, qr/\Q$pw\E/, "password ($which): not in the server log");
}

$node->stop;
done_testing();
