# ALTER EXTENSION medup UPDATE from 0.1 while the worker samples: samples
# wait for the update, and the same worker goes on sampling through the
# updated functions, with no error in the log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MedupTest;

my $node = medup_node('update', q{
medup.databases = 'medplum'
medup.naptime = 1
});
medplum_database($node, 'medplum', extension => 0);
# From here on, 0.3's worker samples 0.1's functions, then 0.3's.
my $log_start = -s $node->logfile;
$node->safe_psql('medplum', "CREATE EXTENSION medup VERSION '0.1'");

sub medplum { return $node->safe_psql('medplum', shift); }
my $worker_pid_sql =
  "SELECT pid FROM pg_stat_activity WHERE backend_type = 'medup launcher'";

ok($node->poll_query_until('medplum', 'SELECT count(*) >= 2 FROM medup.sample'),
	'the worker samples medup 0.1');
my $pid = medplum($worker_pid_sql);
isnt($pid, '', 'the worker runs');

# The update, held open for 3 s (3 naptimes): the worker's samples in that
# time are skipped, not failed, and none is recorded half-way.
my ($update_start, $update_end) = split /\n+/, medplum(q{
	BEGIN;
	ALTER EXTENSION medup UPDATE;
	SELECT clock_timestamp();
	SELECT pg_sleep(3);
	SELECT clock_timestamp();
	COMMIT;});
my $updated_at = $update_end;
is(medplum("SELECT extversion FROM pg_extension WHERE extname = 'medup'"), '0.3', 'updated to 0.3');
is(medplum("SELECT count(*) FROM medup.sample WHERE sampled_at BETWEEN '$update_start' AND '$update_end'"),
	'0', 'no sample was taken while the update ran');

ok($node->poll_query_until('medplum',
		"SELECT count(*) >= 3 FROM medup.sample WHERE sampled_at > '$updated_at'"),
	'the worker samples the updated extension');
is(medplum($worker_pid_sql), $pid, 'it is the same launcher');
is(medplum('SELECT worker_running FROM medup.status()'), 't', 'status() sees it');
my $log = slurp_file($node->logfile, $log_start);
unlike($log, qr/sample failed|ERROR|FATAL|PANIC/, 'no sample failed, before, during or after the update');

$node->stop;
done_testing();
