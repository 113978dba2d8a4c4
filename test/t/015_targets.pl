# Remote targets: a second PostgreSQL cluster, reached over TCP on the
# loopback with a password login of a plain monitoring role, is a Medplum
# database of every fixture era.  For each, status(), check(), the views
# read through the target must be what medup answers installed in that
# database.  Then: a target that is down (08xxx), a login without a grant
# (42501), a hung target (the timeout), a sharded cluster (jobs in the
# global database), the fleet and its gate, and a password that never
# appears in medup's rows, events, errors or either server's log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use MedupTest;
my $password = 'Xq7-never-SHOWN-pw';

# The remote: no medup needed there for the monitoring login; medup is
# installed only to compute the answer to compare with.
my $remote = remote_node('remote', 'medup_monitor,medup_nogrant', q{
log_statement = 'all'
log_min_messages = debug1
});
$remote->safe_psql('postgres', 'CREATE DATABASE medplum');
$remote->safe_psql('medplum', fixtures_sql());
$remote->safe_psql('medplum', qq{
CREATE EXTENSION medup;
CREATE ROLE medup_monitor LOGIN PASSWORD '$password';
CREATE ROLE medup_nogrant LOGIN PASSWORD '$password';
GRANT pg_monitor TO medup_monitor, medup_nogrant;
});
my @schemas = split /\n/, $remote->safe_psql('medplum',
	q{SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mp\_%' ORDER BY nspname});
for my $s (@schemas)
{
	# What the README asks a DBA to run on the target, per schema.
	$remote->safe_psql('medplum', qq{
		GRANT USAGE ON SCHEMA "$s" TO medup_monitor, medup_nogrant;
		GRANT SELECT ON ALL TABLES IN SCHEMA "$s" TO medup_monitor;});
}
ok(scalar(@schemas) >= 20, 'every fixture era is on the remote');

# The monitoring database.
my $node = medup_node('monitor', q{
medup.target_timeout = '10s'
log_statement = 'all'
log_min_messages = debug1
});
$node->safe_psql('postgres', 'CREATE DATABASE monitor');
sub mon { return $node->safe_psql('monitor', shift); }
mon('CREATE EXTENSION medup');
my $port = $remote->port;
# A port nothing listens on: the target that is down.
my $down_port = PostgreSQL::Test::Cluster::get_free_port();

# Without dblink, a remote target is refused with what to do; with it in
# public (which every role may use), too.
my ($ret, $out, $err) = $node->psql('monitor', q{SELECT medup.dblink_schema()});
like($err, qr/remote targets need the dblink extension.*\n.*\n.*CREATE EXTENSION dblink/s,
	'no dblink: the error says how to install it');
mon('CREATE EXTENSION dblink');
($ret, $out, $err) = $node->psql('monitor', q{SELECT medup.dblink_schema()});
like($err, qr/dblink is installed in schema "public", which role .* may use/,
	'dblink in a schema other roles use is refused');
mon('CREATE SCHEMA medup_dblink; ALTER EXTENSION dblink SET SCHEMA medup_dblink');
is(mon('SELECT medup.dblink_schema()'), 'medup_dblink', 'dblink in its own schema');

mon(dblink_server_sql('medplum_remote', $port, 'medup_monitor', $password)
	. dblink_server_sql('medplum_nogrant', $port, 'medup_nogrant', $password)
	. dblink_server_sql('medplum_down', $down_port, 'medup_monitor', $password) . qq{
CREATE SERVER medplum_no_timeout FOREIGN DATA WRAPPER dblink_fdw
    OPTIONS (host '127.0.0.1', port '$port', dbname 'medplum');
});
for my $s (@schemas)
{
	mon(qq{SELECT medup.add_target('$s', 'medplum_remote', medplum_schema => '$s')});
}
is(mon(q{SELECT count(*) FROM medup.targets WHERE kind = 'remote'}), scalar(@schemas),
	'one target per era');

# --- every era, both ways ---------------------------------------------------
# What medup answers installed in the remote database, and what it answers
# here through the target; checked_at and the view's target column aside.
my $versions = q{ARRAY['4.2.6', '4.1.18', '4.0.4', '3.3.1', '5.0.15', '4.3.15']};
sub here_there
{
	my ($s) = @_;
	my $there = $remote->safe_psql('medplum', qq{
		SET medup.medplum_schema = '$s';
		SELECT to_jsonb(st) - 'checked_at' - 'est_time_left_low' - 'est_time_left_high' FROM medup.status() st;
		SELECT coalesce(jsonb_agg(jsonb_set(to_jsonb(m) - 'target', '{duration}',
		                                    to_jsonb(date_trunc('hour', m.duration))) ORDER BY m.data_version), '[]')
		  FROM medup.migrations m;
		SELECT coalesce(jsonb_agg(to_jsonb(j) - 'target' ORDER BY j.job_id, j.parse_error), '[]') FROM medup.jobs j;
		SELECT coalesce(jsonb_agg(to_jsonb(i) - 'target' ORDER BY i.table_name, i.index_name), '[]') FROM medup.invalid_indexes i;
		SELECT jsonb_agg(to_jsonb(c) ORDER BY v, c.rule) FROM unnest($versions) v, medup.check(v) c;
		SELECT coalesce(jsonb_agg(to_jsonb(d) - 'target' ORDER BY d.data_version, d.started), '[]') FROM medup.durations d;});
	my $here = mon(qq{
		SELECT to_jsonb(st) - 'checked_at' - 'est_time_left_low' - 'est_time_left_high' FROM medup.status('$s') st;
		SELECT coalesce(jsonb_agg(jsonb_set(to_jsonb(m) - 'target', '{duration}',
		                                    to_jsonb(date_trunc('hour', m.duration))) ORDER BY m.data_version), '[]')
		  FROM medup.migrations m WHERE m.target = '$s';
		SELECT coalesce(jsonb_agg(to_jsonb(j) - 'target' ORDER BY j.job_id, j.parse_error), '[]') FROM medup.jobs j WHERE j.target = '$s';
		SELECT coalesce(jsonb_agg(to_jsonb(i) - 'target' ORDER BY i.table_name, i.index_name), '[]') FROM medup.invalid_indexes i WHERE i.target = '$s';
		SELECT jsonb_agg(to_jsonb(c) ORDER BY v, c.rule) FROM unnest($versions) v, medup.check(v, target => '$s') c;
		SELECT coalesce(jsonb_agg(to_jsonb(d) - 'target' ORDER BY d.data_version, d.started), '[]') FROM medup.durations d WHERE d.target = '$s';});
	return ($here, $there);
}
for my $s (@schemas)
{
	my ($here, $there) = here_there($s);
	my @h = split /\n/, $here;
	my @t = split /\n/, $there;
	is($h[0], $t[0], "$s: status() through the target is status() there");
	is($h[1], $t[1], "$s: medup.migrations");
	is($h[2], $t[2], "$s: medup.jobs");
	is($h[3], $t[3], "$s: medup.invalid_indexes");
	is($h[4], $t[4], "$s: check() for six versions");
	is($h[5], $t[5], "$s: medup.durations");
}
# The answers are not empty: the comparison compares something.
like(mon(q{SELECT count(*) || ' ' || min(data_version) FROM medup.durations WHERE target = 'mp_mid_4_1'}),
	qr/^10 1$/, 'medup.durations of a remote target: its completed migrations v1-v10');
like(mon(q{SELECT state || ' v' || running_migration FROM medup.status('mp_mid_4_1')}),
	qr/^migrating v11$/, 'a running migration is seen through the target');
is(mon(q{SELECT count(*) > 2000 FROM medup.jobs WHERE target = 'mp_mid_4_1'}), 'f',
	'medup.jobs pulls the data-migration jobs only, not the 2000 bulk exports');

# The gate, both ways, raises the same error.
my ($r1, $o1, $e1) = $remote->psql('medplum',
	q{SET medup.medplum_schema = 'mp_skipped'; SELECT medup.gate('4.2.6')}, on_error_stop => 1);
my ($r2, $o2, $e2) = $node->psql('monitor', q{SELECT medup.gate('4.2.6', target => 'mp_skipped')});
like($e2, qr/cannot deploy 4\.2\.6: /, 'gate() through the target refuses');
is($e2, $e1, 'with the same error, DETAIL and HINT as there');
is(mon(q{SELECT medup.gate('4.3.15', current => '4.3.15', target => 'mp_up_to_date')}),
	'safe to deploy 4.3.15', 'gate() through the target passes');

# A lock on the remote "AsyncJob": reported as the local readers report it.
my $locker = $remote->background_psql('medplum');
$locker->query_safe(q{BEGIN; LOCK TABLE mp_mid_4_1."AsyncJob" IN ACCESS EXCLUSIVE MODE});
my $there = $remote->safe_psql('medplum', q{SET medup.medplum_schema = 'mp_mid_4_1';
	SELECT to_jsonb(st) - 'checked_at' - 'est_time_left_low' - 'est_time_left_high' FROM medup.status() st});
my $here = mon(q{SELECT to_jsonb(st) - 'checked_at' - 'est_time_left_low' - 'est_time_left_high' FROM medup.status('mp_mid_4_1') st});
is($here, $there, 'a locked "AsyncJob": the same status() both ways');
like($here, qr/"tables_locked": true/, 'and it is reported as locked');
$locker->query_safe('ROLLBACK');
$locker->quit;

# --- a target that is down, one without a grant, one that hangs ---------
mon(q{SELECT medup.add_target('down', 'medplum_down')});
($ret, $out, $err) = $node->psql('monitor', q{SELECT state FROM medup.status('down')});
like($err, qr/ERROR:  could not connect to target "down"/, 'a target that is down: an error');
($ret, $out, $err) = $node->psql('monitor', q{\set VERBOSITY verbose
SELECT state FROM medup.status('down')});
like($err, qr/ERROR:  08001:/, 'SQLSTATE 08001');

mon(q{SELECT medup.add_target('nogrant', 'medplum_nogrant', medplum_schema => 'mp_mid_4_1')});
($ret, $out, $err) = $node->psql('monitor', q{\set VERBOSITY verbose
SELECT state FROM medup.status('nogrant')});
like($err, qr/ERROR:  42501: login medup_nogrant of target "nogrant" may not read mp_mid_4_1."DatabaseMigration"/,
	'a login without SELECT: 42501');
like($err, qr/HINT:  On the target, as Medplum's table owner: GRANT SELECT ON mp_mid_4_1."DatabaseMigration" TO medup_nogrant;/,
	'naming the GRANT to run');
$remote->safe_psql('medplum', 'GRANT SELECT ON mp_mid_4_1."DatabaseMigration" TO medup_nogrant');
($ret, $out, $err) = $node->psql('monitor', q{SELECT state FROM medup.status('nogrant')});
like($err, qr/may not read mp_mid_4_1."AsyncJob".*GRANT SELECT ON mp_mid_4_1."AsyncJob" TO medup_nogrant;/s,
	'then the one on "AsyncJob"');
$remote->safe_psql('medplum', 'GRANT SELECT ON mp_mid_4_1."AsyncJob" TO medup_nogrant; REVOKE pg_monitor FROM medup_nogrant');
($ret, $out, $err) = $node->psql('monitor', q{SELECT state FROM medup.status('nogrant')});
like($err, qr/is not a member of pg_monitor.*GRANT pg_monitor TO medup_nogrant;/s, 'then pg_monitor');

($ret, $out, $err) = $node->psql('monitor', q{SELECT medup.add_target('x', 'medplum_no_timeout')});
like($err, qr/has no connect_timeout.*ALTER SERVER medplum_no_timeout OPTIONS \(ADD connect_timeout '3'\);/s,
	'a server without connect_timeout is refused');
($ret, $out, $err) = $node->psql('monitor', q{SELECT medup.add_target('monitor', 'medplum_remote')});
like($err, qr/target "monitor" is this database/, 'the local database needs no registration');
($ret, $out, $err) = $node->psql('monitor', q{SELECT medup.add_target('s1', 'medplum_remote', role => 'shard')});
like($err, qr/a shard target needs a cluster/, 'a shard needs its cluster');
is(mon(q{SELECT state FROM medup.status('monitor')}), 'not_medplum',
	'this database is a target under its own name');

# A hung target: connected, its query waits on a catalog lock longer than
# the timeout (statement_timeout there is medup.target_timeout too).
$remote->safe_psql('postgres', 'CREATE DATABASE hung');
mon(qq{CREATE SERVER medplum_hung FOREIGN DATA WRAPPER dblink_fdw
           OPTIONS (host '127.0.0.1', port '$port', dbname 'hung', connect_timeout '2');
       CREATE USER MAPPING FOR CURRENT_USER SERVER medplum_hung
           OPTIONS (user 'medup_monitor', password '$password');
       SELECT medup.add_target('hung', 'medplum_hung')});
$locker = $remote->background_psql('hung');
$locker->query_safe(q{BEGIN; LOCK TABLE pg_catalog.pg_namespace IN ACCESS EXCLUSIVE MODE});
my $t0 = time;
my $fleet = mon(q{SELECT name, reachable, state, error_code FROM medup.fleet WHERE name IN ('hung', 'down', 'mp_up_to_date') ORDER BY name});
my $took = time - $t0;
$locker->query_safe('ROLLBACK');
$locker->quit;
like($fleet, qr/^down\|f\|unreadable\|08001$/m, 'the fleet: a target that is down is a row with 08001');
like($fleet, qr/^hung\|f\|unreadable\|08006$/m, 'a hung target is a row with 08006 after the timeout');
ok($took < 25, "the fleet answered in ${took}s (timeout 10 s, targets read concurrently)");

# --- a sharded cluster: jobs in the global database -------------------------
$remote->safe_psql('medplum', q{
CALL medplum_fixture.create_tables('sh_global', '4.1.12', 93, 10);
CALL medplum_fixture.complete_migrations('sh_global', 10, '2025-02-11 21:04:17.318+00');
CALL medplum_fixture.start_job('sh_global', '4.1.12', 11, '2025-06-01 07:08:02.270+00');
CALL medplum_fixture.create_tables('sh_shard1', '4.1.12', 93, 10);
CALL medplum_fixture.create_tables('sh_shard2', '4.1.12', 93, 11);
GRANT USAGE ON SCHEMA sh_global, sh_shard1, sh_shard2 TO medup_monitor;
GRANT SELECT ON ALL TABLES IN SCHEMA sh_global, sh_shard1, sh_shard2 TO medup_monitor;
DELETE FROM sh_shard1."AsyncJob"; DELETE FROM sh_shard2."AsyncJob";});
mon(q{
SELECT medup.add_target('g', 'medplum_remote', 'c1', 'global', 'sh_global');
SELECT medup.add_target('s1', 'medplum_remote', 'c1', 'shard', 'sh_shard1');
SELECT medup.add_target('s2', 'medplum_remote', 'c1', 'shard', 'sh_shard2');});
is(mon(q{SELECT string_agg(concat_ws(' ', name, role, state, data_version, running_migration), ', ' ORDER BY name)
          FROM medup.fleet WHERE cluster = 'c1'}),
	'g global migrating 10 11, s1 shard migrating 10 11, s2 shard pending 11',
	'a shard behind the global database\'s running job is migrating, the one past it is not');
like(mon(q{SELECT advice FROM medup.fleet WHERE name = 's1'}), qr/^Running, shard not named: a job for post-deploy migration v11 runs in the global database of cluster "c1"/,
	'and the advice says the job does not name its shard');
like(mon(q{SELECT advice FROM medup.status('g')}),
	qr/ Shard not named: Medplum's job for post-deploy migration v11 does not say which database of cluster "c1" it migrates; medup takes it as this global database's own, but it may be the job of shard "s1", "s2"\. /,
	'the global database takes the job as its own, and says it may be a shard\'s');
is(mon(q{SELECT count(*) FROM medup.fleet WHERE cluster = 'c1' AND advice LIKE '%Shard not named: Medplum''s job%'}), '1',
	'in the fleet too, for the global database alone');


# status(), check() and gate() of a shard answer as the fleet does: the
# shard's own "DatabaseMigration" row with its global database's jobs.
is(mon(q{SELECT concat_ws(' ', state, data_version, running_migration, running_job = medup_fixture_job) FROM medup.status('s1'),
          (SELECT running_job AS medup_fixture_job FROM medup.status('g')) g}),
	'migrating 10 11 t', 'status(shard): the global database\'s running job, for the shard behind it');
is(mon(q{SELECT f.state || ' ' || (f.advice = s.advice) FROM medup.fleet f, medup.status('s1') s WHERE f.name = 's1'}),
	'migrating true', 'status(shard) gives the fleet\'s state and advice');
like(mon(q{SELECT advice FROM medup.status('s1')}),
	qr/^Running, shard not named: .* \(target "g"\), and Medplum's job does not say which shard it migrates; this shard has completed v10\./,
	'status(shard) says the job does not name its shard');
is(mon(q{SELECT state || ' ' || coalesce(running_migration::text, '-') || ' ' || pending_migrations[1] FROM medup.status('s2')}),
	'pending - 12', 'a shard past the global database\'s job: pending, nothing running');
like(mon(q{SELECT message || ' / ' || detail FROM medup.check('4.1.18', target => 's1') WHERE rule = 'migration_running'}),
	qr{^post-deploy migration v11 is running / It started at 2025-06-01 },
	'check(target => shard) sees the migration running, and since when');
is(mon(q{SELECT medup.gate('4.1.18', target => 's2')}), 'safe to deploy 4.1.18', 'gate(target => shard) passes');
($ret, $out, $err) = $node->psql('monitor', q{\set VERBOSITY verbose
SELECT medup.gate('4.2.6', target => 's1')});
like($err, qr/ERROR:  55000: cannot deploy 4\.2\.6: post-deploy migrations must complete before 4\.2\.6 can start/,
	'gate(target => shard) refuses on the shard\'s own data version');
# The reading views stay the shard's own tables.
is(mon(q{SELECT count(*) FROM medup.jobs WHERE target = 's1'}), '0', 'medup.jobs of a shard: its own jobs');

# A cluster without a global target, and one whose global is down.
mon(q{SELECT medup.add_target('s9', 'medplum_remote', 'c2', 'shard', 'sh_shard1')});
($ret, $out, $err) = $node->psql('monitor', q{\set VERBOSITY verbose
SELECT state FROM medup.status('s9')});
like($err, qr/ERROR:  55000: cluster "c2" of shard "s9" has no global target\n.*DETAIL:  Medplum keeps the data-migration jobs of every shard in the global database.*\nHINT:  Register the cluster's global database: SELECT medup.add_target\(/s,
	'a shard without a global target: 55000, and how to register it');
mon(q{SELECT medup.add_target('g9', 'medplum_down', 'c2', 'global')});
($ret, $out, $err) = $node->psql('monitor', q{\set VERBOSITY verbose
SELECT medup.gate('4.1.18', target => 's9')});
like($err, qr/ERROR:  08001: the global database of cluster "c2", target "g9", could not be read: could not connect to target "g9"/,
	'a shard whose global database is down: its error, 08001');
is(mon(q{SELECT concat_ws(' ', reachable, state, data_version, error_code) FROM medup.fleet WHERE name = 's9'}),
	't unreadable 10 08001', 'in the fleet: the shard\'s own versions, its state unknown, the global\'s error');
($ret, $out, $err) = $node->psql('monitor', q{SELECT medup.add_target('g10', 'medplum_remote', 'c2', 'global')});
like($err, qr/cluster "c2" has a global target already: "g9"/, 'one global target per cluster');
mon(q{SELECT medup.drop_target('s9'), medup.drop_target('g9')});

# A cluster's server_version_range is the intersection of its targets'.
is(mon(q{SELECT concat_ws(' ', cluster, array_to_string(targets, ','), reachable, server_version_range,
                          low_bound_by, high_bound_by) FROM medup.clusters}),
	'c1 g,s1,s2 t [4.1.12,4.2.0) g g', 'medup.clusters: the intersection and who bounds it');
$remote->safe_psql('medplum', q{
CALL medplum_fixture.create_tables('sh_shard3', '4.3.15', 97, 28);
GRANT USAGE ON SCHEMA sh_shard3 TO medup_monitor;
GRANT SELECT ON ALL TABLES IN SCHEMA sh_shard3 TO medup_monitor;
DELETE FROM sh_shard3."AsyncJob";});
mon(q{SELECT medup.add_target('s3', 'medplum_remote', 'c1', 'shard', 'sh_shard3')});
is(mon(q{SELECT concat_ws(' ', server_version_range, range_low, range_high, low_bound_by, high_bound_by) FROM medup.clusters WHERE cluster = 'c1'}),
	'empty 4.3.14 4.2.0 s3 g', 'a shard ahead of the others: an empty intersection, and who bounds each end');
is(mon(q{SELECT concat_ws(' ', target, ok, rule, code) FROM medup.fleet_check('4.3.15', 'c1') WHERE rule = 'cluster_range'}),
	'cluster c1 f cluster_range 55000', 'fleet_check: a row for the cluster');
($ret, $out, $err) = $node->psql('monitor', q{\set VERBOSITY verbose
SELECT medup.fleet_gate('4.1.18', 'c1')});
like($err, qr/cannot deploy 4\.1\.18 to 1 of 4 targets of cluster "c1": s3 \(downgrade, 22023\): .*; cluster c1 \(cluster_range, 55000\): the targets of cluster "c1" share no server version/,
	'fleet_gate refuses an empty intersection, after the targets\' refusals');
mon(q{SELECT medup.drop_target('s3')});
($ret, $out, $err) = $node->psql('monitor', q{\set VERBOSITY verbose
SELECT medup.fleet_gate('4.3.15', 'c1')});
unlike($err, qr/cluster_range/, 'without the shard ahead, the cluster\'s range is not empty');

# --- the fleet gate ---------------------------------------------------------
($ret, $out, $err) = $node->psql('monitor', q{\set VERBOSITY verbose
SELECT medup.fleet_gate('4.2.6', 'c1')});
like($err, qr/cannot deploy 4\.2\.6 to 3 of 3 targets of cluster "c1": g \(pending_migrations, 55000\)/,
	'fleet_gate names each refusing target and why');
like(mon(q{SELECT string_agg(target || ':' || ok, ',' ORDER BY target) FROM medup.fleet_check('4.1.18', 'c1')}),
	qr/^g:true,s1:true,s2:true$/, 'fleet_check: a redeploy of the minor is fine everywhere');
is(mon(q{SELECT medup.fleet_gate('4.1.18', 'c1')}), 'safe to deploy 4.1.18 on 3 targets of cluster "c1"',
	'fleet_gate passes when every target passes');
($ret, $out, $err) = $node->psql('monitor', q{\set VERBOSITY verbose
SELECT medup.fleet_gate('4.1.18')});
like($err, qr/ERROR:  08001: cannot deploy 4\.1\.18 to \d+ of \d+ targets: .*down \(target_readable, 08001\)/,
	'an unreachable target refuses the whole fleet (08xxx)');

# --- the reader, and the password ------------------------------------------
mon(q{CREATE ROLE grafana LOGIN; GRANT medup_reader TO grafana});
is($node->safe_psql('monitor', q{SET ROLE grafana; SELECT state FROM medup.status('mp_v3_3')}),
	'migrating', 'medup_reader reads a remote target');
is($node->safe_psql('monitor', q{SET ROLE grafana; SELECT count(*) > 0 FROM medup.fleet}),
	't', 'and the fleet');
($ret, $out, $err) = $node->psql('monitor', q{SET ROLE grafana; SELECT * FROM medup.target_key()});
($ret, $out, $err) = $node->psql('monitor', q{SET ROLE grafana; SELECT medup.read_targets(ARRAY['mp_v3_3'])});
like($err, qr/permission denied for function read_targets/, 'but cannot read facts itself');
($ret, $out, $err) = $node->psql('monitor', q{SET ROLE grafana; SELECT medup_dblink.dblink_connect('x', 'medplum_remote')});
like($err, qr/permission denied for schema medup_dblink/, 'nor use dblink');

my $dump = mon(q{
	SELECT string_agg(t::text, ' ') FROM medup.target t;
	SELECT string_agg(f::text, ' ') FROM medup.fleet f;
	SELECT string_agg(c::text, ' ') FROM medup.fleet_check('4.2.6') c;
	SELECT string_agg(e::text, ' ') FROM medup.event e;
	SELECT string_agg(s::text, ' ') FROM medup.sample s;
	SELECT string_agg(t::text, ' ') FROM medup.targets t;});
unlike($dump, qr/\Q$password\E/, 'the password is in no row of medup');
unlike($err . $e1 . $e2, qr/\Q$password\E/, 'nor in any error');
my $logs = slurp_file($node->logfile) . slurp_file($remote->logfile);
my @mentions = ($logs =~ /\Q$password\E/g);
# The CREATE ROLE and CREATE USER MAPPING statements the test ran are
# logged by log_statement = 'all': those, and nothing medup did.
is(scalar(@mentions), 6, 'the server logs show it only in the statements that set it');

$node->stop;
$remote->stop;
done_testing();
