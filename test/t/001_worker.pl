# The background worker against a simulated Medplum: events in order,
# SIGKILL and restart without lost or doubled events, SIGHUP, a lock held
# on "AsyncJob", a standby that records nothing until promoted.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use MedupTest;

my $node = medup_node('primary', q{
medup.databases = 'medplum, not_yet_there'
medup.naptime = 1
medup.stall_after = 3600
restart_after_crash = on
}, allows_streaming => 1);
medplum_database($node, 'medplum');

sub medplum { return $node->safe_psql('medplum', shift); }
sub wait_for_event
{
	my ($kind, $version, $what) = @_;
	my $cond = defined $version ? "data_version = $version" : 'true';
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	poll_ok($node, 'medplum', "SELECT count(*) > 0 FROM medup.event WHERE kind = '$kind' AND $cond", $what);
}
# Medplum's side of the simulation: what a 4.1.12 server writes for v11, a
# reindex: a finished resource type with its count, the next one's cursor;
# on failure that type's error; on completion its count and transactionTime.
sub job_sql
{
	my ($id, $version, $status, $rows) = @_;
	my $last = $status eq 'error'
	  ? q{medplum_fixture.reindex_failed('4.1.12', 'Observation', 'canceling statement due to statement timeout')}
	  : $status eq 'completed'
	  ? q{medplum_fixture.reindex_done('Observation', 5000, 90000)}
	  : q{medplum_fixture.reindex_running('Observation', '2025-01-01 00:00+00')};
	my $done = $status eq 'completed' ? 'now()' : 'NULL';
	return qq{CALL medplum_fixture.write_job('public', '4.1.12', md5('$id')::uuid, $version, '$status',
	            NULL, clock_timestamp(),
	            medplum_fixture.parameters(medplum_fixture.reindex_done('Patient', $rows, 61000), $last),
	            $done)};
}

# --- the worker starts, and a missing database is logged once ------------
wait_for_event('sampling_started', undef, 'the worker takes its first sample');
is(medplum("SELECT worker_running FROM medup.status()"), 't', 'status() sees the worker');
is(medplum("SELECT application_name FROM pg_stat_activity WHERE backend_type = 'medup launcher'"),
	'medup launcher', 'the launcher names itself');
sleep(3);
my $log = slurp_file($node->logfile);
my $missing = () = $log =~ /database "not_yet_there" in medup.databases does not exist/g;
is($missing, 1, 'a missing database is logged once, not every naptime');

# --- a migration advances: events in order --------------------------------
medplum(q{CALL medplum_fixture.complete_job('public', '4.1.12', md5('sample-v10-retry')::uuid, 10,
                 '2026-11-26 02:00:00+00', now());}
	  . job_sql('t-v11-a', 11, 'accepted', 1000));
wait_for_event('migration_started', 11, 'v11 started');
is(medplum("SELECT count(*) FROM medup.event WHERE kind = 'migration_completed' AND data_version = 10"),
	1, 'v10 completed once');
medplum(job_sql('t-v11-a', 11, 'error', 1000));
wait_for_event('migration_failed', 11, 'v11 failed');
medplum(job_sql('t-v11-b', 11, 'accepted', 10));
wait_for_event('migration_retried', 11, 'v11 retried');

my $locker = $node->background_psql('medplum');
$locker->query_safe('SELECT pg_advisory_lock(1)');
wait_for_event('lock_taken', undef, 'the pre-deploy lock is seen');
$locker->query_safe('SELECT pg_advisory_unlock(1)');
wait_for_event('lock_released', undef, 'and its release');
medplum('UPDATE "DatabaseMigration" SET version = 94');
wait_for_event('schema_changed', undef, 'a deploy (schema version change) is seen');

is(medplum(q{SELECT string_agg(kind || coalesce(':' || data_version, ''), ' ' ORDER BY event_id)
               FROM medup.event}),
	'sampling_started:9 migration_completed:10 migration_started:11 migration_failed:11 '
	  . 'migration_retried:11 lock_taken lock_released schema_changed',
	'the events, in order');

# --- a stall, and its end -------------------------------------------------
$node->append_conf('postgresql.conf', 'medup.stall_after = 2');
$node->reload;
wait_for_event('stall_started', 11, 'no progress for stall_after raises a stall');
is(medplum('SELECT state FROM medup.status()'), 'stalled', 'status() says stalled');
medplum(job_sql('t-v11-b', 11, 'accepted', 20000));
wait_for_event('stall_ended', 11, 'progress ends the stall');
# A job that is not rewritten stalls again; then a Medplum session working
# on the migration (a write running for seconds, as a custom migration's
# batches do) is progress too: the stall ends without any job rewrite.
ok($node->poll_query_until('medplum',
		"SELECT count(*) = 2 FROM medup.event WHERE kind = 'stall_started'"),
	'without a rewrite, a second stall');
my $medplum_session = $node->background_psql('medplum');
$medplum_session->query_safe(q{SET application_name = 'medplum-server'});
$medplum_session->query_until(qr/working/,
	qq{\\echo working\nUPDATE "DatabaseMigration" SET version = version WHERE pg_sleep(12) IS NOT NULL;\n});
ok($node->poll_query_until('medplum',
		"SELECT count(*) = 2 FROM medup.event WHERE kind = 'stall_ended'"),
	'a Medplum session working on the migration ends the stall');
$medplum_session->quit;
$node->append_conf('postgresql.conf', 'medup.stall_after = 3600');
$node->reload;
is(medplum('SELECT rate > 0 FROM medup.status()'), 't',
	'a rate (rows per second) is estimated from the history once rows move');
is(medplum('SELECT eta IS NULL FROM medup.status()'), 't',
	'no ETA without a PostgreSQL operation whose fraction can be followed');

# --- SIGKILL: the postmaster restarts it; no event lost or doubled ---------
my $pid = medplum('SELECT medup.worker_pid()');
ok($pid > 0, "the worker's pid is known ($pid)");
$locker->quit;
# Until the postmaster has seen the death, a connection may still succeed
# and the next query fail in the restart: wait for the restart to begin.
my $log_offset = -s $node->logfile;
kill 'KILL', $pid;
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
ok($node->poll_query_until('medplum', 'SELECT true'), 'the server is back after the crash');
# A migration completes while no worker runs: it must still be recorded.
medplum(job_sql('t-v11-b', 11, 'completed', 20000) . q{; UPDATE "DatabaseMigration" SET "dataVersion" = 11});
ok($node->poll_query_until('medplum',
		"SELECT medup.worker_pid() IS NOT NULL AND medup.worker_pid() <> $pid"),
	'a new worker runs');
wait_for_event('migration_completed', 11, 'the completion during the outage is recorded');
is(medplum(q{SELECT count(*) FROM (SELECT kind, data_version, job_id FROM medup.event
                                      WHERE kind <> 'stall_started' AND kind <> 'stall_ended'
                                      GROUP BY 1, 2, 3 HAVING count(*) > 1) d}),
	0, 'no event is doubled');

# --- SIGHUP changes the naptime -------------------------------------------
$node->append_conf('postgresql.conf', 'medup.naptime = 3');
$node->reload;
sleep(4);
my $t0 = medplum('SELECT extract(epoch FROM max(sampled_at)) FROM medup.sample');
ok($node->poll_query_until('medplum',
		"SELECT extract(epoch FROM max(sampled_at)) > $t0 FROM medup.sample"), 'sampling goes on');
my $gap = medplum(q{SELECT extract(epoch FROM max(sampled_at) - (SELECT max(sampled_at) FROM medup.sample
                                                                  WHERE sampled_at < (SELECT max(sampled_at) FROM medup.sample)))
                      FROM medup.sample});
cmp_ok($gap, '>=', 2.5, "after SIGHUP the naptime is 3 s (gap $gap s)");
$node->append_conf('postgresql.conf', 'medup.naptime = 1');
$node->reload;

# --- SIGHUP changes the databases: unlisted, the worker leaves; listed, back
$node->append_conf('postgresql.conf', "medup.databases = 'not_yet_there'");
$node->reload;
ok($node->poll_query_until('medplum', 'SELECT medup.worker_pid() IS NULL'),
	'a database taken out of medup.databases loses its worker');
$node->append_conf('postgresql.conf', "medup.databases = 'medplum, not_yet_there'");
$node->reload;
ok($node->poll_query_until('medplum', 'SELECT medup.worker_pid() IS NOT NULL'),
	'and gets it back when listed again');

# --- the launcher restarted: sampling goes on, one sampler at a time -----
medplum(q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'medup launcher'});
ok($node->poll_query_until('medplum',
		q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'medup launcher'}),
	'the launcher comes back');
my $count_after = medplum('SELECT count(*) FROM medup.sample');
ok($node->poll_query_until('medplum', "SELECT count(*) >= $count_after + 2 FROM medup.sample"),
	'sampling goes on');
cmp_ok(medplum(q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'medup sampler'}), '<=', 1,
	'one sampler at a time for the database');

# --- ACCESS EXCLUSIVE on "AsyncJob": skipped, never waited on --------------
my $skipped_before = medplum(q{SELECT skipped FROM medup.sampler WHERE database_name = 'medplum'});
$locker = $node->background_psql('medplum');
my $started = time();
$locker->query_safe('BEGIN');
$locker->query_safe('LOCK "AsyncJob" IN ACCESS EXCLUSIVE MODE');
my $lock_took = time() - $started;
sleep(4);
$locker->query_safe('COMMIT');
cmp_ok($lock_took, '<', 1, sprintf('the lock holder got its lock at once (%.3f s)', $lock_took));
cmp_ok(medplum(q{SELECT skipped FROM medup.sampler WHERE database_name = 'medplum'}),
	'>', $skipped_before, 'samples were skipped and counted while the table was locked');
my $blocked = $node->safe_psql('medplum',
	q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'medup sampler' AND wait_event_type = 'Lock'});
is($blocked, 0, 'the worker is not left waiting on a lock');
$locker->quit;

# --- a standby records nothing until promoted ------------------------------
$node->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'b', has_streaming => 1);
$standby->start;
$node->wait_for_catchup($standby);
sleep(2);
is($standby->safe_psql('medplum', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'medup%'}),
	0, 'no medup worker runs on a standby');
is($standby->safe_psql('medplum', 'SELECT medup.take_sample()'), 'standby',
	'medup.take_sample() on a standby records nothing');
like($standby->safe_psql('medplum', 'SELECT advice FROM medup.status()'), qr/standby/,
	'status() on a standby says so');
$node->stop;
my $before = $standby->safe_psql('medplum', 'SELECT count(*) FROM medup.sample');
$standby->promote;
ok($standby->poll_query_until('medplum', "SELECT count(*) > $before FROM medup.sample"),
	'after promotion the worker samples');
$standby->stop;

done_testing();
