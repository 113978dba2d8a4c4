# docs/runbook.md, run: every situation it describes is built here as a
# Medplum database in that situation, every SQL block of its entry runs
# there, and what it prints must show what the entry's "expect" line says.
# A situation in the runbook that is not built here, or one built here that
# the runbook lost, fails the test.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MedupTest;

# The runbook's entries: situation, SQL blocks, expectation.
my @entries;
{
	my $entry;
	my $in_sql = 0;
	for my $line (split /\n/, slurp_file('docs/runbook.md'))
	{
		if ($line =~ /^<!-- situation: (\w+) -->$/)
		{
			$entry = { name => $1, sql => [] };
			push @entries, $entry;
		}
		elsif ($line =~ /^<!-- expect: (.+) -->$/) { $entry->{expect} = $1; }
		elsif ($line eq '```sql') { $in_sql = 1; push @{ $entry->{sql} }, ''; }
		elsif ($line eq '```') { $in_sql = 0; }
		elsif ($in_sql) { $entry->{sql}[-1] .= "$line\n"; }
	}
}

# Each situation: the schema it lives in, and how it is built.
my %situation = (
	refuses_to_start => [ 'rb_refuses', q{
		CALL medplum_fixture.create_tables('rb_refuses', '4.1.12', 93, 10);
		CALL medplum_fixture.complete_migrations('rb_refuses', 10, '2025-02-11 21:04:17.318+00');
	} ],
	skipped_minor => [ 'mp_skipped', '' ],
	long_migration => [ 'mp_mid_4_1', '' ],
	failed_3_3 => [ 'mp_v3_3_failed', '' ],
	failed_4_1 => [ 'mp_failed', '' ],
	invalid_index => [ 'rb_invalid', q{
		CALL medplum_fixture.create_tables('rb_invalid', '4.1.12', 93, 12);
		CALL medplum_fixture.complete_migrations('rb_invalid', 12, '2025-02-11 21:04:17.318+00');
	} ],
	lock_held => [ 'rb_lock', q{
		CALL medplum_fixture.create_tables('rb_lock', '4.1.12', 93, 12);
		CALL medplum_fixture.complete_migrations('rb_lock', 12, '2025-02-11 21:04:17.318+00');
	} ],
	rollback_open => [ 'mp_rollback_open', '' ],
	rollback_closed => [ 'mp_rollback_closed', '' ],
	wrong_server => [ 'rb_server', q{
		CALL medplum_fixture.create_tables('rb_server', '4.1.12', 93, 12);
		CALL medplum_fixture.complete_migrations('rb_server', 12, '2025-02-11 21:04:17.318+00');
	} ],
);
# What a situation needs set in the session that diagnoses it.
my %session = (wrong_server => "SET medup.servers = 'http://127.0.0.1:9';");

is_deeply([ sort map { $_->{name} } @entries ], [ sort keys %situation ],
	'the runbook describes exactly the situations built here');

my $node = medup_node('runbook');
medplum_database($node, 'medplum', sample => 0);
$node->safe_psql('medplum', fixtures_sql());
$node->safe_psql('medplum', $_->[1]) for values %situation;

# An index build that failed on Medplum's table, as a migration's would.
my ($ret, $out, $err) = $node->psql('medplum',
	'CREATE UNIQUE INDEX CONCURRENTLY "AsyncJob_status_uq" ON rb_invalid."AsyncJob" (status)');
like($err, qr/could not create unique index/, 'a concurrent index build failed, leaving its index');

# What holds in the whole database (a lock, what the servers reported)
# holds only while its situation is diagnosed.
my $holder;
my %begin = (
	# A Medplum server's pre-deploy migration holds advisory lock 1.
	lock_held => sub {
		$holder = $node->background_psql('medplum');
		$holder->query_safe("SET application_name = 'medplum-server'; SELECT pg_advisory_lock(1)");
	},
	# What the worker's probe records of a server still on 4.0.4.
	wrong_server => sub {
		$node->safe_psql('medplum', q{
			INSERT INTO medup.server (url, state, version, version_since, last_seen_at, probed_at)
			VALUES ('http://127.0.0.1:9/healthcheck', 'ok', '4.0.4-1a2b3c4', now(), now(), now())});
	});
my %end = (
	lock_held => sub { $holder->quit; },
	wrong_server => sub { $node->safe_psql('medplum', 'DELETE FROM medup.server'); });

for my $entry (@entries)
{
	my ($schema) = @{ $situation{ $entry->{name} } // [] };
	next unless $schema;
	ok(scalar @{ $entry->{sql} }, "$entry->{name}: the entry has a query");
	ok(defined $entry->{expect}, "$entry->{name}: the entry says what it shows");
	my $shown = '';
	$begin{ $entry->{name} }->() if $begin{ $entry->{name} };
	for my $sql (@{ $entry->{sql} })
	{
		my ($rc, $stdout, $stderr) = $node->psql('medplum',
			"SET medup.medplum_schema = '$schema'; " . ($session{ $entry->{name} } // '') . $sql,
			extra_params => [ '-X', '-v', 'ON_ERROR_STOP=0' ]);
		is($stderr =~ /ERROR/ ? $stderr : '', '', "$entry->{name}: its query runs without an error");

		$shown .= "$stdout\n$stderr\n";
	}
	$end{ $entry->{name} }->() if $end{ $entry->{name} };
	like($shown, qr/\Q$entry->{expect}\E/, "$entry->{name}: it shows $entry->{expect}");
}

$node->stop;
done_testing();
