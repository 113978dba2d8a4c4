# A deploy script under psql -v ON_ERROR_STOP=1 stops on medup.gate(), and
# status() answers at once while another session holds ACCESS EXCLUSIVE on
# "AsyncJob" (it reports the lock instead of waiting behind it); a Medplum
# server session waiting on a lock makes the running migration "blocked".
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time sleep);
use MedupTest;

my $node = medup_node('deploy_gate');
medplum_database($node, 'medplum');
sub medplum { return $node->safe_psql('medplum', shift); }

# A deploy script run the way a deploy pipeline runs it: psql -f FILE with
# ON_ERROR_STOP.  Returns psql's exit status and everything it printed.
my $script = PostgreSQL::Test::Utils::tempdir() . '/deploy.sql';
sub deploy
{
	my ($gate_call) = @_;
	open my $fh, '>', $script or die "$script: $!";
	print $fh "SELECT $gate_call;\n\\echo DEPLOYING\n";
	close $fh;
	my $out = '';
	IPC::Run::run([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('medplum'), '-f', $script ],
		'<', \undef, '>&', \$out);
	return ($? >> 8, $out);
}

# --- 1. the gate refuses 4.2.6 (v10 runs on 4.1.12; v10-v12 must complete
#        before 4.2.0): the deploy step after it never runs ----------------
my ($status, $out) = deploy(q{medup.gate('4.2.6')});
is($status, 3, 'psql exits 3 on a refused gate');
unlike($out, qr/DEPLOYING/, 'the deploy step after the gate did not run');
like($out, qr/v10-v12 must complete before 4\.2\.0/, 'the error names the migrations to wait for');

# --- 2. the same script for an allowed target runs through ----------------
($status, $out) = deploy(q{medup.gate('4.1.18', current => '4.1.12')});
is($status, 0, 'psql exits 0 on an allowed gate');
like($out, qr/DEPLOYING/, 'an allowed deploy goes on');

# --- 3. ACCESS EXCLUSIVE on "AsyncJob": status() answers at once ----------
my $locker = $node->background_psql('medplum');
$locker->query_safe('BEGIN');
$locker->query_safe('LOCK "AsyncJob" IN ACCESS EXCLUSIVE MODE');
my $started = time();
my $answer = medplum(q{SELECT state || ' | ' || coalesce(problem, '') FROM medup.status()});
my $took = time() - $started;
cmp_ok($took, '<', 2, sprintf('status() did not wait for the lock (%.3f s)', $took));
like($answer, qr/^blocked \| .*locked/, 'status() says the table is locked');
# The gate refuses under the lock too (55000): it cannot read the jobs.
my ($ret, $stdout, $stderr) = $node->psql('medplum', q{SELECT medup.gate('4.1.18', current => '4.1.12')},
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($ret, 0, 'the gate fails while Medplum\'s tables are locked');
like($stderr, qr/ERROR:  55000: cannot deploy 4\.1\.18: Medplum.s tables could not be read/,
	'with 55000, saying why');
$locker->query_safe('COMMIT');

# --- 4. a Medplum server session waits on a lock another session holds ----
medplum('CREATE TABLE "Observation_backfill" (id int)');
$locker->query_safe('BEGIN');
$locker->query_safe('LOCK "Observation_backfill" IN ACCESS EXCLUSIVE MODE');
my $holder = $locker->query_safe('SELECT pg_backend_pid()');
my $waiter = $node->background_psql('medplum');
$waiter->query_safe(q{SET application_name = 'medplum-server'});
$waiter->query_until(qr/waiting/, qq{\\echo waiting\nUPDATE "Observation_backfill" SET id = 1;\n});
poll_ok($node, 'medplum',
	q{SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'medplum-server' AND wait_event_type = 'Lock'},
	'the Medplum session waits for the lock');
is(medplum(qq{SELECT state || ' | ' || array_length(blocked_by, 1) || ' | ' || (blocked_by[1] = $holder)
                FROM medup.status()}),
	'blocked | 1 | true', 'the running migration is blocked, and status() names the holder');
$locker->query_safe('COMMIT');
$locker->quit;
$waiter->quit;

$node->stop;
done_testing();
