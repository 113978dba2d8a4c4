# NOTIFY medup_events: a client that LISTENs gets every event medup records
# when the recording transaction commits, never before and never after a
# rollback; the worker's events arrive the same way.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use MedupTest;

my $node = medup_node('notify', "medup.databases = 'medplum'\nmedup.naptime = 1\nmedup.stall_after = 3600\n");
medplum_database($node, 'medplum', extension => 0);

# The listener: psql prints each notification after the next command.
my $listener = $node->background_psql('medplum');
$listener->query_safe('LISTEN medup_events');
my @seen;
sub poll_notifications
{
	my $out = $listener->query_safe('SELECT 1');
	while ($out =~ /Asynchronous notification "medup_events" with payload "(.*)" received from server process/g)
	{
		push @seen, decode_json($1);
	}
}
# Wait (10 s at most) for a notification that $match accepts.
sub wait_for_notification
{
	my ($match) = @_;
	my $deadline = time + 10;
	while (time < $deadline)
	{
		poll_notifications();
		my ($found) = grep { $match->($_) } @seen;
		return $found if $found;
		sleep 0.2;
	}
	return undef;
}

# --- the worker's first sample -------------------------------------------
$node->safe_psql('medplum', 'CREATE EXTENSION medup');
my $started = wait_for_notification(sub { $_[0]{kind} eq 'sampling_started' });
ok($started, 'the worker\'s first event reaches the listener');
is($started->{target}, 'medplum', 'target: the database');
is_deeply($started->{versions}, { schema => 93, data => 9 }, 'versions: the sample\'s schema and data version');
is($started->{migration}, 9, 'migration: the event\'s data version');
is($started->{event_id},
	$node->safe_psql('medplum', "SELECT event_id FROM medup.event WHERE kind = 'sampling_started'"),
	'event_id names the row in medup.event');

# --- after commit only, never on rollback --------------------------------
my $writer = $node->background_psql('medplum');
$writer->query_safe(q{BEGIN; INSERT INTO medup.event (event_at, kind, detail) VALUES (now(), 'deploy', 'rolled back')});
poll_notifications();
$writer->query_safe('ROLLBACK');
poll_notifications();
$writer->query_safe(q{BEGIN; INSERT INTO medup.event (event_at, kind, detail) VALUES (now(), 'deploy', 'committed')});
poll_notifications();
ok(!(grep { ($_->{detail} // '') eq 'committed' } @seen), 'nothing is sent before the commit');
$writer->query_safe('COMMIT');
ok(wait_for_notification(sub { ($_[0]{detail} // '') eq 'committed' }), 'the event is sent at commit');
ok(!(grep { ($_->{detail} // '') eq 'rolled back' } @seen), 'a rolled back event is never sent');
$writer->quit;

# --- a migration completes: the worker's sample sends its events ---------
$node->safe_psql('medplum', q{
	CALL medplum_fixture.complete_job('public', '4.1.12', md5('sample-v10-retry')::uuid, 10,
	  NULL, clock_timestamp());
});
my $completed = wait_for_notification(sub { $_[0]{kind} eq 'migration_completed' });
ok($completed, 'the worker\'s migration_completed event is sent');
is($completed->{migration}, 10, 'for v10');
is_deeply($completed->{versions}, { schema => 93, data => 10 }, 'with the new data version');
like($completed->{detail}, qr/^v10 completed/, 'and its detail');

# Each payload is the event as medup.event holds it, and nothing more.
my %keys = map { %$_ } @seen;
is_deeply([ sort grep { !/^detail_truncated$/ } keys %keys ],
	[qw(at detail event_id kind migration target versions)], 'payload keys');

$listener->quit;
$node->stop;
done_testing();
