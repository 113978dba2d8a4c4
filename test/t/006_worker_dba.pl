# The worker never stands in a DBA's way: with the worker sampling
# "medplum" every second, DROP DATABASE, CREATE DATABASE ... TEMPLATE and
# ALTER DATABASE ... RENAME succeed at once, without FORCE, and sampling
# resumes when the database exists again, a dropdb/createdb/pg_restore
# included.  The sampler, which stays connected between samples, leaves
# at once when such a command holds the database, and one caught
# mid-sample, however slow the sample (a sleep, CPU), gives way within
# about a second (the launcher cancels it).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use IO::Socket::INET;
use MedupTest;

my $node = medup_node('dba', q{
medup.databases = 'medplum'
medup.naptime = 1
});
medplum_database($node, 'medplum');

sub samples { return $node->safe_psql('medplum', 'SELECT count(*) FROM medup.sample'); }
sub wait_for_samples
{
	my ($more, $what) = @_;
	my $before = samples();
	ok($node->poll_query_until('medplum', "SELECT count(*) >= $before + $more FROM medup.sample"),
		$what);
}
# A DBA's command, timed.  DROP DATABASE and CREATE DATABASE end with a
# checkpoint of their own: one just before keeps it short, so the time is
# the command's waiting, not the disk's.
sub timed
{
	my ($sql) = @_;
	$node->safe_psql('postgres', 'CHECKPOINT');
	my $t0 = time();
	my ($ret, $out, $err) = $node->psql('postgres', $sql);
	return ($ret, time() - $t0, $err);
}
sub succeeds_at_once
{
	my ($sql, $what) = @_;
	my ($ret, $elapsed, $err) = timed($sql);
	is($ret, 0, "$what succeeds") or diag($err);
	note(sprintf('%s: %.3f s', $sql, $elapsed));
	# Far below PostgreSQL's 5 s wait for connected processes; what is left
	# is the command's own work and checkpoint (about 0.2-0.5 s on an idle
	# machine, more on a loaded one).
	cmp_ok($elapsed, '<', 4, sprintf('%s, without waiting for a connected process (%.3f s)', $what, $elapsed));
}

wait_for_samples(2, 'the worker samples medplum');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'medup launcher' AND datid IS NULL}),
	1, 'the launcher is connected to no database');

# --- the control: a session that stays connected blocks the commands -----
# (what 0.2's worker did): the DBA's command waits 5 s and fails.
my $session = $node->background_psql('medplum');
$session->query_safe('SELECT 1');
my ($ret, $elapsed, $err) = timed('DROP DATABASE medplum');
isnt($ret, 0, 'control: DROP DATABASE fails while a session stays connected');
like($err, qr/is being accessed by other users/, 'control: "being accessed by other users"');
$session->quit;

# --- the commands, with the worker sampling -------------------------------
wait_for_samples(1, 'sampling goes on');
succeeds_at_once('CREATE DATABASE medplum_copy TEMPLATE medplum',
	'CREATE DATABASE ... TEMPLATE medplum');
is($node->safe_psql('medplum_copy', 'SELECT count(*) > 0 FROM medup.sample'), 't',
	'the copy has the samples');
wait_for_samples(1, 'sampling goes on after the copy');

my $log_offset = -s $node->logfile;
succeeds_at_once('ALTER DATABASE medplum RENAME TO medplum_renamed', 'ALTER DATABASE medplum RENAME');
sleep(3);
my $while_renamed = $node->safe_psql('medplum_renamed', 'SELECT count(*) FROM medup.sample');
sleep(2);
is($node->safe_psql('medplum_renamed', 'SELECT count(*) FROM medup.sample'), $while_renamed,
	'a renamed database is not sampled (it is not in medup.databases)');
succeeds_at_once('ALTER DATABASE medplum_renamed RENAME TO medplum', 'renaming it back');
wait_for_samples(2, 'renamed back, it is sampled again');

succeeds_at_once('DROP DATABASE medplum', 'DROP DATABASE medplum');
sleep(3);
is($node->safe_psql('medplum_copy', q{SELECT database_exists FROM medup.sampling WHERE database_name = 'medplum'}),
	'f', 'medup.sampling says it does not exist');

# The usual restore: createdb, pg_restore of a dump taken before.
my $dump = $node->basedir . '/medplum.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('medplum_copy'), '-f', $dump ],
	'pg_dump of the copy');
succeeds_at_once('CREATE DATABASE medplum', 'createdb medplum');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('medplum'), $dump ],
	'pg_restore into it, while the worker watches');
my $restored = samples();
cmp_ok($restored, '>', 0, "the restore brought the samples back ($restored)");
ok($node->poll_query_until('medplum', "SELECT count(*) >= $restored + 2 FROM medup.sample"),
	'the restored database is sampled');
is($node->safe_psql('medplum', q{SELECT last_outcome FROM medup.sampler}), 'sampled',
	'its samples succeed');

# A dropped database is logged once, then picked up when it exists again.
my $log = slurp_file($node->logfile, $log_offset);
my $missing = () = $log =~ /database "medplum" in medup.databases does not exist/g;
cmp_ok($missing, '<=', 2, "a missing database is logged once per disappearance ($missing times for the rename and the drop)");
my $back = () = $log =~ /database "medplum" exists now; sampling it/g;
is($back, $missing, 'and its return once');
unlike($log, qr/sample failed|PANIC|terminated by signal/, 'no sample failed, nothing crashed');

# --- a sampler caught mid-sample gives way ---------------------------------
# Medplum's "AsyncJob" replaced by a view that takes seconds to read (a
# sleep, or CPU): a sample now lasts longer than PostgreSQL's 5 s wait for
# connected processes.  The launcher sees the command's lock on the
# database and cancels the sample: each command succeeds within about a
# second, without FORCE, and the database is sampled again afterwards.
sub slow_asyncjob
{
	my ($db, $slowness) = @_;
	$node->safe_psql($db, qq{
DO \$\$ BEGIN
  IF to_regclass('"AsyncJob_real"') IS NULL THEN ALTER TABLE "AsyncJob" RENAME TO "AsyncJob_real";
  ELSE DROP VIEW "AsyncJob"; END IF;
END \$\$;
CREATE VIEW "AsyncJob" AS SELECT * FROM "AsyncJob_real" WHERE ($slowness) IS NOT NULL;});
}
sub gave_way
{
	return $node->safe_psql('medplum_copy',
		q{SELECT gave_way FROM medup.sampling WHERE database_name = 'medplum'});
}
sub gives_way
{
	my ($sql, $wait_event, $what) = @_;
	my $slow = qq{
SELECT pid FROM pg_stat_activity
 WHERE backend_type = 'medup sampler' AND datname = 'medplum'
   AND now() - query_start > interval '0.5 s' AND $wait_event};
	# The pid of a sampler in a slow sample (one may end between two looks).
	my $pid = '';
	my $t_find = time();
	while ($pid eq '' && time() - $t_find < 180)
	{
		$pid = $node->safe_psql('postgres', "$slow LIMIT 1");
		sleep(0.1) if $pid eq '';
	}
	isnt($pid, '', "$what: a sampler is in a slow sample");
	my $before = gave_way();
	$node->safe_psql('postgres', 'CHECKPOINT');
	# The command in a session of its own; meanwhile, how long the sampler
	# stays: what the command waits for.  The rest is the command's work.
	my $dba = $node->background_psql('postgres', on_error_stop => 0);
	my $t0 = time();
	$dba->query_until(qr/started/, "\\echo started\n$sql;\n\\echo done\n");
	my $gone;
	while (time() - $t0 < 30)
	{
		if ($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid") eq '0')
		{
			$gone = time() - $t0;
			last;
		}
		sleep(0.02);
	}
	$dba->query_until(qr/done/, '');
	my $elapsed = time() - $t0;
	my $err = $dba->{stderr};
	$dba->quit;
	is($err, '', "$what succeeds while a sample is under way, without FORCE");
	note(sprintf('%s with a slow sample under way: the sampler gone after %.3f s, the command done after %.3f s',
		$sql, $gone // -1, $elapsed));
	ok(defined $gone && $gone < 1.5,
		sprintf('%s: the sampler gives way within about a second (%.3f s; the sample had seconds to go)', $what, $gone // -1));
	cmp_ok($elapsed, '<', 5, sprintf('%s: done before PostgreSQL\'s 5 s wait would have failed it (%.3f s)', $what, $elapsed));
	cmp_ok(gave_way(), '>', $before, "$what: medup.sampling counts the sample given up");
}
$log_offset = -s $node->logfile;
slow_asyncjob('medplum', 'SELECT pg_sleep(8)');
gives_way('CREATE DATABASE medplum_copy2 TEMPLATE medplum', q{wait_event = 'PgSleep'},
	'CREATE DATABASE ... TEMPLATE');
# CPU, not a wait: the cancel is taken between two rows.
slow_asyncjob('medplum', 'SELECT count(*) FROM generate_series(1, 200000000)');
gives_way('ALTER DATABASE medplum RENAME TO medplum_renamed', q{state = 'active' AND wait_event IS NULL},
	'ALTER DATABASE ... RENAME');
succeeds_at_once('ALTER DATABASE medplum_renamed RENAME TO medplum', 'renaming it back');
slow_asyncjob('medplum', 'SELECT pg_sleep(8)');
gives_way('DROP DATABASE medplum', q{wait_event = 'PgSleep'}, 'DROP DATABASE');

# Created again from the copy, Medplum's table back: sampled again.
$node->safe_psql('medplum_copy2', q{DROP VIEW "AsyncJob"; ALTER TABLE "AsyncJob_real" RENAME TO "AsyncJob";});
succeeds_at_once('CREATE DATABASE medplum TEMPLATE medplum_copy2', 'createdb medplum from the copy');
$restored = samples();
ok($node->poll_query_until('medplum', "SELECT count(*) >= $restored + 2 FROM medup.sample"),
	'the database is sampled again');
is($node->safe_psql('medplum', q{SELECT last_outcome FROM medup.sampler}), 'sampled',
	'its samples succeed');

$log = slurp_file($node->logfile, $log_offset);
my $given_up = () = $log =~ /database "medplum": sample given up: another session is dropping, renaming or copying the database/g;
cmp_ok($given_up, '>=', 1, "giving way is logged ($given_up times)");
cmp_ok($given_up, '<=', 3, 'at most once per command: no storm');
unlike($log, qr/PANIC|terminated by signal|exited with exit code|canceling statement due to user request/,
	'the cancel is the sampler\'s own: no error, no crash, no worker exiting with an error');

# --- a sampler connecting to a remote target that does not answer ----------
# A remote target whose address takes TCP connections and never answers
# (a socket that listens and never accepts): the sample's connection waits
# for the server's connect_timeout (2 s, which add_target() requires), the
# one wait of a sample that dblink does not let a cancel end before
# PostgreSQL 17.  The DBA's command waits that long at most, then succeeds.
my $silent = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 64, Proto => 'tcp')
  or die "cannot listen: $!";
my $silent_port = $silent->sockport;
$node->safe_psql('medplum', 'CREATE SCHEMA medup_dblink; CREATE EXTENSION dblink SCHEMA medup_dblink;'
	  . MedupTest::dblink_server_sql('silent', $silent_port, 'medup_monitor', 'unused')
	  . q{SELECT medup.add_target('silent', 'silent');});
$log_offset = -s $node->logfile;
my $connecting = q{
SELECT pid FROM pg_stat_activity
 WHERE backend_type = 'medup sampler' AND datname = 'medplum' AND state = 'active'
   AND now() - query_start > interval '0.3 s' LIMIT 1};
my $spid = '';
my $t_find = time();
while ($spid eq '' && time() - $t_find < 60)
{
	$spid = $node->safe_psql('postgres', $connecting);
	sleep(0.05) if $spid eq '';
}
isnt($spid, '', 'a sampler waits on the silent target');
$node->safe_psql('postgres', 'CHECKPOINT');
my $t0 = time();
my ($dret, $dout, $derr) = $node->psql('postgres', 'DROP DATABASE medplum');
my $took = time() - $t0;
is($dret, 0, 'DROP DATABASE succeeds while the sampler connects to a silent target') or diag($derr);
note(sprintf('DROP DATABASE with a sampler connecting to a silent target: %.3f s', $took));
cmp_ok($took, '<', 4, sprintf('within the target\'s connect_timeout and the command\'s work (%.3f s)', $took));
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $spid"), '0',
	'the sampler is gone');
$log = slurp_file($node->logfile, $log_offset);
unlike($log, qr/PANIC|terminated by signal|exited with exit code/, 'no crash, no worker exiting with an error');
close($silent);

$node->stop;
done_testing();
