# Security, round two: the roles medup lives beside cannot flood it, blind
# it, mislead it or keep it from being updated.  Each attack is played by
# the role it names, with the worker running:
#   - Medplum's app role writes hostile values in "DatabaseMigration"
#     (2^31 - 1, jumps beyond the manifest, flips back and forth): each
#     sample stays cheap, and medup.event stays bounded;
#   - the database owner fills schema public with invalid indexes of its
#     own: only Medplum's count; Medplum's own are one event per change;
#   - a role with only CONNECT names its session 'medplum-server': it ends
#     no stall, hides no downtime, and its lock 1 is not Medplum's;
#   - the same role holds medup's sampler lock: ALTER EXTENSION ... UPDATE
#     fails after a bounded wait, naming it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use MedupTest;

my $node = medup_node('flood', "medup.databases = 'medplum'\nmedup.naptime = 1\nmedup.stall_after = 3\n");
$node->safe_psql('postgres', q{
CREATE ROLE medplum_app LOGIN;
CREATE ROLE db_owner LOGIN;
CREATE ROLE intruder LOGIN;     -- CONNECT, as every role has, and nothing else
});
medplum_database($node, 'medplum', owner => 'db_owner', extension => 0);
give_medplum_tables($node, 'medplum', 'medplum_app');
$node->safe_psql('medplum', q{
GRANT CREATE ON SCHEMA public TO db_owner, medplum_app;
CREATE EXTENSION medup;
});
$ENV{PGOPTIONS} = '-c search_path=public';

sub medplum { return $node->safe_psql('medplum', shift); }
sub sql_as
{
	my ($role, $sql) = @_;
	return $node->safe_psql('medplum', $sql, extra_params => [ '-U', $role ]);
}
sub samples_taken
{
	return medplum(q{SELECT coalesce(sum(samples), 0) FROM medup.sampler});
}
sub wait_for_samples
{
	my ($more, $what) = @_;
	my $before = samples_taken();
	ok($node->poll_query_until('medplum',
			"SELECT coalesce(sum(samples), 0) >= $before + $more FROM medup.sampler"), $what);
}
# A session of $role named $name, running $sql in the background.
sub session_as
{
	my ($role, $name, $sql) = @_;
	my $session = $node->background_psql('medplum', extra_params => [ '-U', $role ]);
	$session->query_safe("SET application_name = '$name'");
	$session->query_until(qr/started/, "\\echo started\n$sql\n") if defined $sql;
	return $session;
}
wait_for_samples(1, 'the worker samples');

# --- 1. Hostile values in "DatabaseMigration" --------------------------------
# One sample by hand after each value the app role writes, timed.
sub sample_after
{
	my ($value) = @_;
	sql_as('medplum_app', qq{UPDATE "DatabaseMigration" SET "dataVersion" = $value});
	my ($outcome, $t0);
	# The worker samples too: a hand sample while it holds the sampler's
	# lock is skipped, so take it again (at most 50 times).
	for my $try (1 .. 50)
	{
		$t0 = time();
		$outcome = medplum('SELECT medup.sample()');
		last unless $outcome =~ /^skipped/;
		sleep(0.1);
	}
	return ($outcome, time() - $t0);
}
my $events_before = medplum('SELECT max(event_id) FROM medup.event');
my ($outcome, $elapsed) = sample_after(2147483647);
is($outcome, 'sampled', 'dataVersion 2^31 - 1: the sample is taken');
note(sprintf('sample with dataVersion 2^31 - 1: %.3f s', $elapsed));
cmp_ok($elapsed, '<', 2, 'dataVersion 2^31 - 1: the sample stays cheap');
is(medplum('SELECT data_version FROM medup.status()'), '2147483647', 'status() reports the value');
is(medplum('SELECT count(*) > 0 FROM medup.migrations'), 't', 'medup.migrations answers');
is(medplum(q{SELECT count(*) FROM medup.check('latest')}) > 0, 1, 'check() answers');
is(medplum(q{SELECT count(*) > 0 FROM medup.estimate('latest')}), 't', 'estimate() answers');
($outcome, $elapsed) = sample_after(9);
($outcome, $elapsed) = sample_after(2147483600);
note(sprintf('sample after a jump from 9 to 2147483600: %.3f s', $elapsed));
cmp_ok($elapsed, '<', 2, 'a jump of two billion versions: the sample stays cheap');
is(medplum(qq{SELECT count(*) FROM medup.event WHERE event_id > $events_before AND kind = 'data_version_jump'}),
	'2', 'each jump beyond the manifest is one event');
like(medplum(qq{SELECT detail FROM medup.event WHERE event_id > $events_before AND kind = 'data_version_jump'
                 ORDER BY event_id DESC LIMIT 1}),
	qr/^data version 9 -> 2147483600: v54-v2147483600 are beyond medup's manifest \(v53\)/,
	'the event names the range');
cmp_ok(medplum(qq{SELECT count(*) FROM medup.event WHERE event_id > $events_before}), '<=', 100,
	'the jumps wrote no more than the manifest\'s migrations and one event each');

# A flood: the app role flips "dataVersion" between the first and the last
# known migration, 100 times, a sample after each write (in one session:
# the writes as the app role, the samples as the superuser).
my $flip = q{SET ROLE medplum_app; UPDATE "DatabaseMigration" SET "dataVersion" = %d; RESET ROLE;
SELECT medup.sample();
};
medplum(join('', map { sprintf($flip, 1) . sprintf($flip, 53) } 1 .. 100));
my $events = medplum(q{SELECT count(*) FROM medup.event
                        WHERE event_at > now() - interval '1 day'
                          AND kind NOT LIKE 'server\_%'});
note("events after 100 flips of 52 migrations each: $events");
cmp_ok($events, '<=', 1001, 'the flood: at most 1,000 events a day, and the one saying so');
is(medplum(q{SELECT count(*) FROM medup.event WHERE kind = 'events_suppressed'}), '1',
	'one events_suppressed event');
cmp_ok(medplum('SELECT events_suppressed FROM medup.sampler'), '>', 1000,
	'the suppressed events are counted');
($outcome, $elapsed) = sample_after(9);
cmp_ok($elapsed, '<', 2, 'a sample over the cap stays cheap');
medplum(q{DELETE FROM medup.event; UPDATE medup.sampler SET events_suppressed = 0});

# --- 2. Invalid indexes that are not Medplum's -------------------------------
# The database owner's table in public, with 300 indexes made invalid (as a
# failed CREATE INDEX CONCURRENTLY leaves them; the catalog is set here
# directly, as a superuser, to make them quickly).
sql_as('db_owner', q{
CREATE TABLE public.owner_stuff (x integer);
DO $$ BEGIN
    FOR i IN 1 .. 300 LOOP
        EXECUTE format('CREATE INDEX owner_stuff_%s ON public.owner_stuff (x)', i);
    END LOOP;
END $$;});
medplum(q{UPDATE pg_index SET indisvalid = false WHERE indrelid = 'public.owner_stuff'::regclass});
wait_for_samples(2, 'invalid indexes: the worker samples');
is(medplum('SELECT invalid_indexes FROM medup.status()'), '0',
	'the database owner\'s invalid indexes are not counted');
is(medplum('SELECT count(*) FROM medup.invalid_indexes'), '0', 'nor listed');
is(medplum(q{SELECT count(*) FROM medup.event WHERE kind = 'invalid_index'}), '0', 'nor an event');
# Medplum's own: three, one event for the set; one fixed, one more event.
sql_as('medplum_app', q{
CREATE INDEX asyncjob_a ON "AsyncJob" ("lastUpdated");
CREATE INDEX asyncjob_b ON "AsyncJob" (status);
CREATE INDEX asyncjob_c ON "AsyncJob" (type);});
medplum(q{UPDATE pg_index SET indisvalid = false
           WHERE indexrelid IN ('asyncjob_a'::regclass, 'asyncjob_b'::regclass, 'asyncjob_c'::regclass)});
ok($node->poll_query_until('medplum', q{SELECT count(*) = 1 FROM medup.event WHERE kind = 'invalid_index'}),
	'Medplum\'s invalid indexes: one event');
is(medplum('SELECT invalid_indexes FROM medup.status()'), '3', 'and counted');
like(medplum(q{SELECT detail FROM medup.event WHERE kind = 'invalid_index'}),
	qr/^3 invalid index\(es\) on Medplum's tables: asyncjob_a on AsyncJob \(REINDEX INDEX CONCURRENTLY public\.asyncjob_a;\)/,
	'the event names them');
wait_for_samples(2, 'invalid indexes: more samples');
is(medplum(q{SELECT count(*) FROM medup.event WHERE kind = 'invalid_index'}), '1', 'not one per sample');
sql_as('medplum_app', 'DROP INDEX asyncjob_a');
ok($node->poll_query_until('medplum', q{SELECT count(*) = 2 FROM medup.event WHERE kind = 'invalid_index'}),
	'a change of the set is one more event');
sql_as('medplum_app', 'DROP INDEX asyncjob_b; DROP INDEX asyncjob_c');
sql_as('db_owner', 'DROP TABLE public.owner_stuff');

# --- 3. A session that calls itself 'medplum-server' -------------------------
# The running migration v10 (the sample database) makes no progress: it
# stalls after medup.stall_after (3 s).
ok($node->poll_query_until('medplum', q{SELECT state = 'stalled' FROM medup.status()}),
	'the running migration stalls');
my $downtime = sub {
	return medplum(q{SELECT coalesce(extract(epoch FROM sum(downtime)), 0) FROM medup.job_downtime});
};
# A write that runs for more than 5 s: what a Medplum server migrating
# looks like, from a role with nothing but CONNECT.
my $fake = session_as('intruder', 'medplum-server',
	q{WITH x AS (SELECT pg_sleep(12)) SELECT count(*) FROM x;});
my $down_before = $downtime->();
sleep(7);
is(medplum('SELECT state FROM medup.status()'), 'stalled',
	'a CONNECT-only session named medplum-server: the migration is still stalled');
is(medplum(q{SELECT count(*) FROM medup.event WHERE kind = 'stall_ended'}), '0', 'no stall_ended');
cmp_ok($downtime->(), '>', $down_before + 3, 'and its time is still downtime');
$fake->quit;
# Medplum's own role doing the same does move it: the test can fail.
my $real = session_as('medplum_app', 'medplum-server',
	q{WITH x AS (SELECT pg_sleep(8)) SELECT count(*) FROM x;});
ok($node->poll_query_until('medplum', q{SELECT count(*) = 1 FROM medup.event WHERE kind = 'stall_ended'}),
	'Medplum\'s role working: the stall ends');
$down_before = $downtime->();
sleep(2);
cmp_ok($downtime->(), '<=', $down_before + 0.001, 'and no downtime is counted while it is connected');
$real->quit;

# The superuser-only list of Medplum's roles.
my ($ret, $out, $err) = $node->psql('medplum', q{SET medup.medplum_roles = 'intruder'},
	extra_params => [ '-U', 'intruder' ]);
like($err, qr/permission denied to set parameter "medup.medplum_roles"/,
	'medup.medplum_roles: not settable by another role');
my $listed = session_as('intruder', 'medplum-server');
is(medplum('SELECT medup.medplum_connected()'), 'f', 'the intruder\'s session is not Medplum\'s');
medplum(q{ALTER SYSTEM SET medup.medplum_roles = 'intruder'; SELECT pg_reload_conf()});
ok($node->poll_query_until('medplum', 'SELECT medup.medplum_connected()'),
	'a role a superuser lists in medup.medplum_roles is Medplum\'s');
medplum(q{ALTER SYSTEM RESET medup.medplum_roles; SELECT pg_reload_conf()});
$listed->quit;

# Lock 1, taken by the intruder under Medplum's name: blocked, not
# pre-deploy migrations.
my $locker = session_as('intruder', 'medplum-server');
$locker->query_safe('SELECT pg_advisory_lock(1)');
is(medplum(q{SELECT state || ' ' || migration_lock_role FROM medup.status()}), 'blocked intruder',
	'lock 1 held by a session named medplum-server of another role: blocked');
like(medplum(q{SELECT message FROM medup.check('latest') WHERE rule = 'migration_lock'}),
	qr/a session that is not a Medplum server holds Medplum's migration lock/, 'check() says so');
$locker->quit;

# --- 4. The sampler lock keeps ALTER EXTENSION ... UPDATE waiting ------------
$node->safe_psql('postgres', 'CREATE DATABASE upd');
$node->safe_psql('upd', q{CREATE EXTENSION medup VERSION '0.2'});
my $holder = $node->background_psql('upd', extra_params => [ '-U', 'intruder' ]);
$holder->query_safe(q{SET application_name = 'holds-it'; SELECT pg_advisory_lock(hashtext('medup.sample'), 0)});
my $holder_pid = $holder->query_safe('SELECT pg_backend_pid()');
$holder_pid =~ s/\s+//g;
my $t0 = time();
($ret, $out, $err) = $node->psql('upd', 'ALTER EXTENSION medup UPDATE');
my $waited = time() - $t0;
note(sprintf('ALTER EXTENSION UPDATE gave up after %.1f s', $waited));
isnt($ret, 0, 'the update fails while another session holds the sampler lock');
cmp_ok($waited, '<', 30, 'after a bounded wait');
like($err, qr/medup cannot be updated while session $holder_pid \(role intruder, application_name 'holds-it'\) holds medup's sampler lock/,
	'the error names the holder');
like($err, qr/HINT:  .*pg_terminate_backend\($holder_pid\)/, 'and says what to do');
is($node->safe_psql('upd', q{SELECT extversion FROM pg_extension WHERE extname = 'medup'}), '0.2',
	'nothing was changed');
$holder->quit;
$node->safe_psql('upd', 'ALTER EXTENSION medup UPDATE');
is($node->safe_psql('upd', q{SELECT extversion FROM pg_extension WHERE extname = 'medup'}), '0.3',
	'once the lock is released, the update goes through');

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|terminating any other active server processes/, 'no backend crashed');
unlike($log, qr/sample failed/, 'no sample of the worker failed');

$node->stop;
done_testing();
