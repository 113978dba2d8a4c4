# Sampling scales: twelve Medplum databases (a global and its shards) with
# PostgreSQL's default max_worker_processes (8) are all sampled by
# medup.max_samplers (2) samplers, and a shortage (samplers busy, or no
# worker slot free) is logged once and counted in medup.sampling, never
# logged every naptime.  A naptime of 2 s: twelve samples a second would
# be most of this 2-core machine (with more databases than samplers, each
# sample costs a backend start: docs/reference.md).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MedupTest;

my @dbs = ('medplum_global', map { "medplum_shard$_" } 1 .. 11);
my $node = medup_node('pool', "medup.naptime = 2\n");
is($node->safe_psql('postgres', 'SHOW max_worker_processes'), '8', 'PostgreSQL\'s default max_worker_processes');
is($node->safe_psql('postgres', 'SHOW medup.max_samplers'), '2', 'medup.max_samplers defaults to 2');
medplum_database($node, 'medplum_template');
$node->safe_psql('postgres', "CREATE DATABASE $_ TEMPLATE medplum_template") for @dbs;

my $log_offset = -s $node->logfile;
$node->append_conf('postgresql.conf', "medup.databases = '" . join(', ', @dbs) . "'");
$node->reload;

# Every database gets its samples.
sub samples_in { return $node->safe_psql(shift, 'SELECT count(*) FROM medup.sample'); }
for my $db (@dbs)
{
	ok($node->poll_query_until($db, 'SELECT count(*) >= 3 FROM medup.sample'), "$db is sampled");
}
sleep(4);
my %before = map { $_ => samples_in($_) } @dbs;
sleep(10);
for my $db (@dbs)
{
	my $more = samples_in($db) - $before{$db};
	# 5 on an idle machine; a loaded one (other test suites) delays some.
	cmp_ok($more, '>=', 2, "$db: $more samples in 10 s at a naptime of 2 s");
}
is($node->safe_psql('medplum_global', q{SELECT count(*) FROM medup.sampling WHERE database_exists}),
	12, 'medup.sampling: twelve databases watched');
cmp_ok($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'medup sampler'}),
	'<=', 2, 'never more than two samplers at once');
my $log = slurp_file($node->logfile, $log_offset);
unlike($log, qr/could not start|sample failed/, 'no failure in the log');
# On a loaded machine a round may run late now and then: that is said at
# most once, never every naptime.
my $warnings = () = $log =~ /WARNING:  medup/g;
cmp_ok($warnings, '<=', 1, "at most one warning ($warnings)");
my $log_lines = () = $log =~ /^\S+ \S+ \S+ \[\d+\] (?:LOG|WARNING|ERROR|FATAL):  medup/mg;
cmp_ok($log_lines, '<=', 12, "the log is not flooded: $log_lines lines from medup in about 10 naptimes");
$node->stop;

# --- a shortage: one sampler, busy with a slow database -------------------
# Three databases, medup.max_samplers = 1, and reading medplum_shard1's
# "AsyncJob" takes seconds: the others wait more than a naptime, for as
# long as it lasts.
my $busy = medup_node('busy', q{
medup.naptime = 1
medup.max_samplers = 1
});
medplum_database($busy, 'medplum_template');
$busy->safe_psql('postgres', "CREATE DATABASE $_ TEMPLATE medplum_template") for @dbs[0 .. 2];
$busy->safe_psql('medplum_shard1', q{
ALTER TABLE "AsyncJob" RENAME TO "AsyncJob_real";
CREATE VIEW "AsyncJob" AS SELECT * FROM "AsyncJob_real" WHERE (SELECT pg_sleep(1)) IS NOT NULL;});
$log_offset = -s $busy->logfile;
$busy->append_conf('postgresql.conf', "medup.databases = '" . join(', ', @dbs[0 .. 2]) . "'");
$busy->reload;
ok($busy->poll_query_until('medplum_global', q{SELECT sum(late) > 0 FROM medup.sampling}),
	'late samples are counted in medup.sampling');
ok($busy->poll_query_until('medplum_global', q{SELECT sampling_late FROM medup.fleet WHERE name = 'medplum_global'}),
	'medup.fleet shows the shortage: sampling_late');
sleep(10);
$log = slurp_file($busy->logfile, $log_offset);
$warnings = () = $log =~ /WARNING:  medup: database "\w+" waits for a sampler past its naptime/g;
is($warnings, 1, 'the shortage is logged once in 10 naptimes, not every naptime');
like($log, qr/DETAIL:  All 1 samplers \(medup.max_samplers\) are busy.\n.*HINT:  Raise medup.max_samplers/,
	'it says why and what to do');
is($busy->safe_psql('medplum_global',
		q{SELECT count(*) FROM medup.sampling WHERE late > 0 AND last_late_at IS NOT NULL}),
	$busy->safe_psql('medplum_global', q{SELECT count(*) FROM medup.sampling WHERE late > 0}),
	'medup.sampling says when each was last late');

# Enough samplers again: the end of the shortage is logged once.
$busy->safe_psql('medplum_shard1', q{DROP VIEW "AsyncJob"; ALTER TABLE "AsyncJob_real" RENAME TO "AsyncJob";});
$busy->append_conf('postgresql.conf', 'medup.max_samplers = 2');
$busy->reload;
$busy->wait_for_log(qr/every watched database is sampled on time again/, $log_offset);
pass('the end of the shortage is logged');
is($busy->safe_psql('medplum_global', q{SELECT sampling_late FROM medup.fleet WHERE name = 'medplum_global'}),
	'f', 'and medup.fleet no longer shows it');
$busy->stop;

# --- no worker slot at all: logged once ----------------------------------
# Two slots: the logical replication launcher's and medup's launcher's.
my $small = medup_node('no_slot', q{
medup.naptime = 1
max_worker_processes = 2
medup.databases = 'postgres'
});
sleep(6);
$log = slurp_file($small->logfile);
$warnings = () = $log =~ /waits for a sampler past its naptime/g;
is($warnings, 1, 'no worker slot free: logged once in 6 naptimes');
like($log, qr/DETAIL:  No background worker slot is free \(max_worker_processes = 2\)\.\n.*HINT:  Raise max_worker_processes/,
	'it names max_worker_processes');
$small->safe_psql('postgres', 'CREATE EXTENSION medup');
cmp_ok($small->safe_psql('postgres', q{SELECT samplers FROM medup.sampling WHERE database_name = 'postgres'}),
	'==', 0, 'medup.sampling: no sampler could start');
$small->stop;

done_testing();
