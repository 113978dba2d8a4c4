# docs/grafana-dashboard.json, run: every query of the dashboard (its
# variable, panels and annotation) is expanded the way Grafana's
# PostgreSQL data source expands it and run as a login that is only
# medup_reader, for the local target, for a remote one (a second cluster
# reached over TCP with a password login of a plain monitoring role) and
# for both at once (the variable's "All").  Every panel takes the target
# variable, and what the panels show is what medup answers.
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MedupTest;

my $dashboard = decode_json(slurp_file('docs/grafana-dashboard.json'));
my $password = 'grafana-test-pw';

# --- the remote: a Medplum database at 4.1.12, v1-v12 done --------------
my $remote = remote_node('remote', 'medup_monitor');
$remote->safe_psql('postgres', 'CREATE DATABASE medplum');
load_medplum($remote, 'medplum');
$remote->safe_psql('medplum', qq{
CALL medplum_fixture.create_tables('public', '4.1.12', 93, 12);
CALL medplum_fixture.complete_migrations('public', 12, '2026-10-01 02:00:00+00');
CREATE ROLE medup_monitor LOGIN PASSWORD '$password';
GRANT pg_monitor TO medup_monitor;
GRANT SELECT ON "DatabaseMigration", "AsyncJob" TO medup_monitor;});

# --- the monitor: medup in the sample Medplum database (4.1.12, v10 runs)
my $node = medup_node('monitor');
medplum_database($node, 'medplum');
my $port = $remote->port;
my $down_port = PostgreSQL::Test::Cluster::get_free_port();
$node->safe_psql('medplum', 'CREATE SCHEMA medup_dblink; CREATE EXTENSION dblink SCHEMA medup_dblink;'
	. dblink_server_sql('medplum_remote', $port, 'medup_monitor', $password) . q{
SELECT medup.add_target('remote_mp', 'medplum_remote');
SELECT medup.take_sample();
CREATE ROLE grafana LOGIN;
GRANT medup_reader TO grafana;});

# --- Grafana's expansion --------------------------------------------------
my @queries;   # [where, sql, repeated]
push @queries, ["panel $_->{id} ($_->{title})", $_->{targets}[0]{rawSql}, defined $_->{repeat}]
	for @{ $dashboard->{panels} };
push @queries, ["annotation $_->{name}", $_->{target}{rawSql}, 0]
	for grep { $_->{target} } @{ $dashboard->{annotations}{list} };
my ($variable) = @{ $dashboard->{templating}{list} };
is($variable->{name}, 'target', 'the dashboard has one variable, target');
ok($variable->{multi} && $variable->{includeAll}, 'which takes several targets and All');

# A multi-value variable is quoted as SQL literals, comma-separated (also
# in a panel repeated per value); the time filter is a BETWEEN.
sub expand
{
	my ($sql, @targets) = @_;
	my $list = join ',', map { my $v = $_; $v =~ s/'/''/g; "'$v'" } @targets;
	$sql =~ s/\$__timeFilter\(([^)]+)\)/$1 BETWEEN now() - interval '6 hours' AND now() + interval '1 minute'/g;
	$sql =~ s/\$\{target\}|\$target\b/$list/g;
	return $sql;
}
sub as_grafana
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $node->psql('medplum', $sql, extra_params => ['-U', 'grafana']);
	return ($ret, $out, $err);
}
for my $q (@queries)
{
	like($q->[1], qr/\$target\b|\$\{target\}/, "$q->[0]: takes the target variable");
	unlike(expand($q->[1], 'x'), qr/\$/, "$q->[0]: no other variable or macro");
}

my ($ret, $names, $err) = as_grafana($variable->{query});
is($names, "medplum\nremote_mp", 'the variable lists the local target and the remote one, as medup_reader');
my @all = split /\n/, $names;

# Every query, for each target alone and for All (a repeated panel runs
# once per target).
for my $q (@queries)
{
	my @runs = ([$all[0]], [$all[1]]);
	push @runs, [@all] unless $q->[2];
	for my $run (@runs)
	{
		($ret, my $out, $err) = as_grafana(expand($q->[1], @$run));
		is($err, '', "$q->[0], target " . join('+', @$run) . ': runs as medup_reader');
	}
}

# --- what the panels show is medup's answer -------------------------------
my %panel = map { $_->{id} => $_->{targets}[0]{rawSql} } @{ $dashboard->{panels} };
sub panel
{
	my ($id, @targets) = @_;
	my ($r, $out, $e) = as_grafana(expand($panel{$id}, @targets));
	return $out;
}
sub superuser { return $node->safe_psql('medplum', shift); }

is(panel(7, @all),
	superuser(q{SELECT name, cluster, role, reachable, state, schema_version, data_version,
	                   running_migration, failed_migration, next_step, server_version_range, error,
	                   sampling_late
	              FROM medup.fleet ORDER BY name}),
	'the fleet panel is medup.fleet');
like(panel(7, @all), qr/^medplum\|\|standalone\|t\|migrating\|93\|9\|10\|.*\nremote_mp\|\|standalone\|t\|pending\|93\|12\|\|/,
	'with a row per target');
is(panel(7, 'remote_mp') =~ tr/\n//, 0, 'filtered by the variable');
for my $t (@all)
{
	is(panel(1, $t), superuser(qq{SELECT state, data_version, running_migration, advice FROM medup.status('$t')}),
		"the Now panel for $t is status('$t')");
}
like(panel(1, 'remote_mp'), qr/^pending\|12\|\|/, 'the remote target\'s own state, not the local one');
is(panel(9, 'remote_mp'),
	superuser(q{SELECT target, data_version, state, server_version, required_before, attempts, last_updated,
	                   progress, rows_done, detail
	              FROM medup.migrations WHERE target = 'remote_mp' AND state <> 'completed' ORDER BY data_version}),
	'the migrations panel for the remote target is medup.migrations there');
like(panel(9, @all), qr/^medplum\|10\|running\|/m, 'the local running migration is in it with All');
like(panel(9, @all), qr/^remote_mp\|13\|next\|/m, 'and the remote one\'s next');
unlike(panel(9, 'medplum'), qr/remote_mp/, 'the local target alone shows no remote row');
like(panel(2, 'medplum'), qr/\|medplum\|/, 'the history of the local target has its sample, labelled by target');
like(panel(3, 'medplum'), qr/\|migrating$/m, 'the state panel shows the local target\'s sampled state');
like(panel(5, 'medplum'), qr/^medplum\|1\|3\.3\.0\|/, 'the durations panel shows the local migrations');
like(panel(5, @all), qr/^remote_mp\|12\|4\.1\.12\|/m,
	'with All, the remote target\'s too, under its name (medup.durations reads its jobs)');
unlike(panel(5, 'medplum'), qr/^remote_mp/m, 'the local target alone shows no remote row');
like(panel(6, 'medplum'), qr/^\S+ \S+\|medplum\|/m, 'the events panel shows the local target\'s events');
is(panel(6, 'remote_mp') =~ /\|medplum\|/ ? 1 : 0, 0, 'and only the selected target\'s');

# A target that is down: its row in the fleet panel, with its error; its
# Now panel is the error.
$node->safe_psql('medplum', dblink_server_sql('medplum_down', $down_port, 'medup_monitor', $password)
	. q{SELECT medup.add_target('down', 'medplum_down');});
($ret, $names, $err) = as_grafana($variable->{query});
is($names, "medplum\ndown\nremote_mp", 'a target that is down is in the variable');
like(panel(7, 'down', 'medplum'), qr/^down\|\|standalone\|f\|unreadable\|\|\|\|\|\|\|could not connect to target "down"/m,
	'and in the fleet panel, unreachable, with its error');
($ret, my $out, $err) = as_grafana(expand($panel{1}, 'down'));
like($err, qr/could not connect to target "down"/, 'its Now panel shows why');
unlike(join('', panel(7, 'down', 'medplum', 'remote_mp')), qr/\Q$password\E/, 'no password in the fleet panel');

$node->stop;
$remote->stop;
done_testing();
