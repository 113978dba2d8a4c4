# ALTER EXTENSION medup UPDATE from 0.1 while the worker samples: the same
# worker goes on sampling, through the updated functions, and logs no error.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# make installcheck runs the tests from the top of the tree.
my $medplum_sql = $ENV{MEDUP_MEDPLUM_SQL} // 'test/medplum.sql';
my $sample_sql = $ENV{MEDUP_SAMPLE_SQL} // 'test/sample-medplum.sql';

my $node = PostgreSQL::Test::Cluster->new('update');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'medup'
medup.databases = 'medplum'
medup.naptime = 1
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE medplum');
$node->safe_psql('medplum', slurp_file($medplum_sql));
$node->safe_psql('medplum', slurp_file($sample_sql));
$node->safe_psql('medplum', "CREATE EXTENSION medup VERSION '0.1'");

sub medplum { return $node->safe_psql('medplum', shift); }
my $worker_pid_sql =
  "SELECT pid FROM pg_stat_activity WHERE backend_type = 'medup worker' AND datname = 'medplum'";

ok($node->poll_query_until('medplum', 'SELECT count(*) >= 2 FROM medup.sample'),
	'the worker samples medup 0.1');
my $pid = medplum($worker_pid_sql);
isnt($pid, '', 'the worker runs');
my $log_before = -s $node->logfile;

medplum('ALTER EXTENSION medup UPDATE');
my $updated_at = medplum('SELECT clock_timestamp()');
is(medplum("SELECT extversion FROM pg_extension WHERE extname = 'medup'"), '0.2', 'updated to 0.2');

ok($node->poll_query_until('medplum',
		"SELECT count(*) >= 3 FROM medup.sample WHERE sampled_at > '$updated_at'"),
	'the worker samples the updated extension');
is(medplum($worker_pid_sql), $pid, 'it is the same worker');
is(medplum('SELECT worker_running FROM medup.status()'), 't', 'status() sees it');
my $log = slurp_file($node->logfile, $log_before);
unlike($log, qr/ERROR|FATAL|PANIC/, 'nothing failed in the log since the update');

$node->stop;
done_testing();
