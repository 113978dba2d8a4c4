# The worker cannot be switched off by settings: the database's owner
# (ALTER DATABASE ... SET) and a careless superuser (ALTER ROLE ... SET, for
# the role the samplers run as, in all databases and in this one) set every
# session setting a sample depends on to a hostile value.  A sampler that
# connects anew gets them; samples still succeed.  A client session of
# the same role in the same database shows that the values do bite.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MedupTest;

my $node = medup_node('settings', "medup.databases = 'medplum'\nmedup.naptime = 1\n");
$node->safe_psql('postgres', 'CREATE ROLE db_owner LOGIN');
medplum_database($node, 'medplum', owner => 'db_owner');
my $worker_role = $node->safe_psql('postgres', 'SELECT rolname FROM pg_roles WHERE oid = 10');

# The hostile values: what each would do to a sample that took them.
my @hostile = (
	[ default_transaction_read_only => 'on' ],     # every write fails
	[ transaction_read_only => 'on' ],
	[ statement_timeout => '1ms' ],                # every sample cancelled
	[ lock_timeout => '1ms' ],                     # any wait on medup's own tables fails
	[ idle_in_transaction_session_timeout => '1ms' ],
	[ idle_session_timeout => '1ms' ],
	[ default_transaction_isolation => 'serializable' ],
	[ default_transaction_deferrable => 'on' ],
	[ work_mem => '64kB' ],
	[ search_path => 'nowhere' ],
	[ 'plpgsql.extra_errors' => 'all' ],
	[ standard_conforming_strings => 'off' ],
	[ array_nulls => 'off' ],
	[ transform_null_equals => 'on' ],
	[ DateStyle => 'SQL, DMY' ],
	[ IntervalStyle => 'sql_standard' ],
	[ exit_on_error => 'on' ],
	[ force_parallel_mode => 'on' ],               # would take worker slots
	[ max_parallel_workers_per_gather => '8' ],
	[ parallel_setup_cost => '0' ],
	[ row_security => 'off' ],
	[ enable_indexscan => 'off' ],
	[ enable_seqscan => 'off' ],
	[ application_name => 'medplum-server' ],      # would pass for a Medplum server
	[ temp_tablespaces => 'nowhere' ]);
# Superuser-only, so at role level only.
my @superuser_only = ([ session_replication_role => 'replica' ],
	[ 'plpgsql.variable_conflict' => 'use_variable' ]);   # changes what medup's PL/pgSQL means
# PostgreSQL 16 renamed it.
$_->[0] =~ s/^force_parallel_mode$/debug_parallel_query/ for $node->pg_version >= 16 ? @hostile : ();

# This test's own sessions keep sane values whatever the role's settings.
$ENV{PGOPTIONS} = join(' ', map { "-c $_" } ('default_transaction_read_only=off',
	'statement_timeout=0', 'idle_session_timeout=0', 'idle_in_transaction_session_timeout=0',
	'search_path=public', 'lock_timeout=0'));

sub samples
{
	return $node->safe_psql('medplum', q{SELECT samples FROM medup.sampler WHERE database_name = 'medplum'});
}
sub samplers_started
{
	return $node->safe_psql('medplum', q{SELECT samplers FROM medup.sampling WHERE database_name = 'medplum'});
}
sub samples_succeed
{
	my ($what, $started) = @_;
	# A sampler stays connected between samples; the database's and its
	# role's settings changed since $started samplers had started, so it
	# leaves and the next one connects with them.
	my $before = samples();
	my $log_offset = -s $node->logfile;
	ok($node->poll_query_until('medplum',
			"SELECT samples >= $before + 3 AND last_outcome = 'sampled' FROM medup.sampler"),
		"$what: samples succeed");
	cmp_ok(samplers_started(), '>', $started, "$what: taken by a sampler that connected with them");
	my $log = slurp_file($node->logfile, $log_offset);
	unlike($log, qr/sample failed|medup: database "medplum": /, "$what: no sample failed or was skipped");
}
# What a client session of the samplers' role in medplum makes of SELECT medup.sample().
# (idle_session_timeout left out: it could end the client before it asks.)
sub client_sample
{
	local $ENV{PGOPTIONS} = '-c idle_session_timeout=0';
	my ($ret, $out, $err) = $node->psql('medplum', 'SELECT medup.sample()',
		extra_params => [ '-U', $worker_role ]);
	return "$out$err";
}

ok($node->poll_query_until('medplum', q{SELECT samples >= 2 FROM medup.sampler}), 'the worker samples');

# --- the database's owner sets them on the database -----------------------
# (A DO block first loads PL/pgSQL, whose settings it may then set.)
my $started = samplers_started();
$node->safe_psql('medplum',
	join(";\n", 'DO $$ BEGIN END $$',
		map { "ALTER DATABASE medplum SET $_->[0] = '$_->[1]'" } @hostile),
	extra_params => [ '-U', 'db_owner' ]);
like(client_sample(), qr/read-only transaction|statement timeout/,
	'database settings: a client session\'s sample fails with them');
samples_succeed('database settings', $started);
$node->safe_psql('postgres', 'ALTER DATABASE medplum RESET ALL');

# --- a superuser sets them on the samplers' role --------------------------
$started = samplers_started();
for my $setting (@hostile, @superuser_only)
{
	my ($name, $value) = @$setting;
	$node->safe_psql('postgres', qq{ALTER ROLE "$worker_role" SET $name = '$value'});
}
like(client_sample(), qr/read-only transaction|statement timeout/,
	'role settings: a client session\'s sample fails with them');
samples_succeed('role settings', $started);
$node->safe_psql('postgres', qq{ALTER ROLE "$worker_role" RESET ALL});

# --- and on the role in this database --------------------------------------
$started = samplers_started();
for my $setting (@hostile, @superuser_only)
{
	my ($name, $value) = @$setting;
	$node->safe_psql('postgres', qq{ALTER ROLE "$worker_role" IN DATABASE medplum SET $name = '$value'});
}
like(client_sample(), qr/read-only transaction|statement timeout/,
	'role-in-database settings: a client session\'s sample fails with them');
samples_succeed('role-in-database settings', $started);

# The samples taken under them are whole: events and counters as usual.
is($node->safe_psql('medplum', q{SELECT count(*) FROM medup.event WHERE kind = 'sampling_started'}), 1,
	'one sampling_started event: no sample was lost or taken twice');
$node->safe_psql('postgres', qq{ALTER ROLE "$worker_role" IN DATABASE medplum RESET ALL});

$node->stop;
done_testing();
