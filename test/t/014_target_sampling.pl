# The worker samples remote targets: a second PostgreSQL cluster, reached
# over TCP on the loopback with a password login of a plain monitoring
# role, is sampled by the sampler of the monitoring database, with no
# worker slot of its own.  A migration progressing there shows in the
# history and timeline under its target; while the remote restarts there is
# an unreachable sample and event, then samples again; fifty targets are
# sampled by one sampler within a naptime (timed); the monitoring
# database's own history goes on unchanged.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use MedupTest;
my $password = 'Zt4-sampled-NEVER-shown';
# A naptime with room for a loaded machine: the sample of fifty targets
# (fifty connections opened one after the other) took 2.5-3.7 s at load
# averages of 5-9 on a 2-core machine, over the 2 s naptime this test had.
my $naptime = 5;

# The remote: Medplum's demo database (4.1.12, v10 running), no medup.
my $remote = remote_node('remote', 'medup_monitor');
$remote->safe_psql('postgres', 'CREATE DATABASE medplum');
load_medplum($remote, 'medplum', sample => 1);
$remote->safe_psql('medplum', qq{
CREATE ROLE medup_monitor LOGIN PASSWORD '$password';
GRANT pg_monitor TO medup_monitor;
GRANT SELECT ON "DatabaseMigration", "AsyncJob" TO medup_monitor;
});
my $port = $remote->port;
sub there { return $remote->safe_psql('medplum', shift); }

# The monitoring cluster: its database is a Medplum database too (medup
# embedded as today), and it watches the remote.
my $node = medup_node('monitor', qq{
medup.databases = 'medplum'
medup.naptime = $naptime
medup.stall_after = 3600
medup.target_timeout = '3s'
});
medplum_database($node, 'medplum');
sub here { return $node->safe_psql('medplum', shift); }
here('CREATE SCHEMA medup_dblink; CREATE EXTENSION dblink SCHEMA medup_dblink;'
	. dblink_server_sql('medplum_remote', $port, 'medup_monitor', $password)
	. q{SELECT medup.add_target('remote1', 'medplum_remote');});

# --- the remote is sampled, under its name --------------------------------
poll_ok($node, 'medplum', q{SELECT count(*) >= 2 FROM medup.sample WHERE target = 'remote1' AND state <> 'unreachable'},
	'the worker samples the remote target');
is(here(q{SELECT kind || ' v' || data_version FROM medup.event WHERE target = 'remote1' ORDER BY event_id LIMIT 1}),
	'sampling_started v9', 'its first event is its own sampling_started');
is(here(q{SELECT count(*) FROM medup.sampling}), '1', 'one watched database: no sampler of its own for the target');

# --- a migration progresses on the remote ---------------------------------
there(q{CALL medplum_fixture.complete_job('public', '4.1.12', md5('sample-v10-retry')::uuid, 10,
               '2026-11-26 02:00:00+00', now());});
poll_ok($node, 'medplum',
	q{SELECT count(*) = 1 FROM medup.event WHERE target = 'remote1' AND kind = 'migration_completed' AND data_version = 10},
	'v10 completing on the remote is an event of the target');
poll_ok($node, 'medplum', q{SELECT count(*) >= 1 FROM medup.history WHERE target = 'remote1' AND data_version = 10},
	'the history shows the target at data version 10');
is(here(q{SELECT string_agg(DISTINCT data_version::text, ',' ORDER BY data_version::text)
            FROM medup.history WHERE target = 'remote1'}), '10,9', 'the target\'s history moved from 9 to 10');
is(here(q{SELECT last_event FROM medup.timeline WHERE target = 'remote1' AND data_version = 10}),
	'migration_completed', 'the timeline has v10 under the target');
is(here(q{SELECT count(*) FROM medup.event WHERE target = 'medplum' AND kind = 'migration_completed'}), '0',
	'nothing of it in this database\'s own events');

# --- the remote restarts --------------------------------------------------
my $local_before = here(q{SELECT count(*) FROM medup.sample WHERE target = 'medplum'});
$remote->stop('fast');
poll_ok($node, 'medplum',
	q{SELECT count(*) = 1 FROM medup.event WHERE target = 'remote1' AND kind = 'target_unreachable'},
	'a target_unreachable event while the remote is down');
poll_ok($node, 'medplum',
	q{SELECT count(*) >= 2 FROM medup.sample WHERE target = 'remote1' AND state = 'unreachable'},
	'unreachable samples while it is down');
like(here(q{SELECT error FROM medup.sample WHERE target = 'remote1' AND state = 'unreachable' ORDER BY sampled_at DESC LIMIT 1}),
	qr/^08\w{3}: /, 'each with its SQLSTATE and error');
is(here(q{SELECT count(*) FROM medup.event WHERE target = 'remote1' AND kind = 'target_unreachable'}), '1',
	'one event for the whole outage, not one per sample');
cmp_ok(here(q{SELECT count(*) FROM medup.sample WHERE target = 'medplum'}), '>', $local_before,
	'this database is sampled all the while');
$remote->start;
poll_ok($node, 'medplum',
	q{SELECT count(*) = 1 FROM medup.event WHERE target = 'remote1' AND kind = 'target_reachable'},
	'a target_reachable event when it is back');
poll_ok($node, 'medplum',
	q{SELECT state <> 'unreachable' FROM medup.sample WHERE target = 'remote1' ORDER BY sampled_at DESC LIMIT 1},
	'samples of its state again');
is(here(q{SELECT string_agg(kind, ',' ORDER BY event_id) FROM medup.event WHERE target = 'remote1'
           AND event_id > (SELECT event_id FROM medup.event WHERE target = 'remote1' AND kind = 'target_unreachable')}),
	'target_reachable', 'no invented change across the outage');

# --- this database's history is its own -----------------------------------
is(here(q{SELECT string_agg(DISTINCT state, ',') || ' ' || string_agg(DISTINCT data_version::text, ',')
            FROM medup.sample WHERE target = 'medplum'}), 'migrating 9',
	'this database\'s samples: its own state and version');
is(here(q{SELECT string_agg(kind, ',' ORDER BY event_id) FROM medup.event WHERE target = 'medplum'}),
	'sampling_started', 'and its own events only');
is(here(q{SELECT last_outcome FROM medup.sampler WHERE target = 'medplum'}), 'sampled',
	'its sampler row');

# --- fifty targets, one sampler -------------------------------------------
here(q{SELECT medup.add_target('remote' || i, 'medplum_remote') FROM generate_series(2, 50) i});
my $t0 = here('SELECT now()');
poll_ok($node, 'medplum',
	qq{SELECT count(DISTINCT target) = 50 FROM medup.sample
        WHERE target LIKE 'remote%' AND sampled_at > '$t0' AND state <> 'unreachable'},
	'the worker samples all fifty targets');
# One sample of the monitoring database with its fifty targets, by hand
# (the worker's call), timed; then the worker's rounds: each round samples
# all fifty within one sample's transaction.
my $best;
for (1 .. 3)
{
	my $start = time;
	here('SELECT medup.take_sample()');
	my $took = time - $start;
	$best = $took if !defined $best || $took < $best;
}
note(sprintf('one sample with 50 remote targets: %.0f ms (best of 3)', $best * 1000));
cmp_ok($best, '<', $naptime, 'a sample of fifty targets takes less than a naptime');
sleep(2 * $naptime);
my $spread = here(q{SELECT round(extract(epoch FROM max(last_sample_at) - min(last_sample_at)) * 1000)
                      FROM medup.sampler WHERE target LIKE 'remote%'});
note("the worker's last round: 50 targets' samples within ${spread} ms");
cmp_ok($spread, '<', $naptime * 1000, 'the worker\'s round of fifty targets fits in a naptime');
is(here(q{SELECT count(*) FROM medup.sampling}), '1', 'still one watched database, one sampler at a time');
is(here(qq{SELECT count(*) FROM medup.sample WHERE target LIKE 'remote%' AND state = 'unreachable' AND sampled_at > '$t0'}),
	'0', 'none of them unreachable');

# The password is nowhere in medup's rows.
is(here(qq{SELECT count(*) FROM medup.sample s WHERE s::text LIKE '%$password%'})
	+ here(qq{SELECT count(*) FROM medup.event e WHERE e::text LIKE '%$password%'})
	+ here(qq{SELECT count(*) FROM medup.sampler m WHERE m::text LIKE '%$password%'}), 0,
	'the password is in no sample, event or counter');

$node->stop;
$remote->stop;
done_testing();
