# What medup's TAP tests (test/t/*.pl) share: a node that preloads medup,
# a database shaped like Medplum's (test/medplum.sql, the one definition of
# Medplum's tables by era), and waiting for a condition as a test.
#
# make installcheck runs the tests from the top of the tree, with
# test/perl on prove's include path (PROVE_FLAGS in the Makefile).
package MedupTest;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(medup_node remote_node dblink_server_sql medplum_database give_medplum_tables load_medplum
  fixtures_sql poll_ok);

# The SQL files the fixtures come from; test/check.sh names them by their
# absolute paths in the copy of the tree it runs in.
my $medplum_sql = $ENV{MEDUP_MEDPLUM_SQL} // 'test/medplum.sql';
my $sample_sql = $ENV{MEDUP_SAMPLE_SQL} // 'test/sample-medplum.sql';

# medup_node(NAME, CONF, OPTION => VALUE...): a new node (port => N for a
# fixed port), initialized with the other options given (allows_streaming
# => 1 ...), medup in shared_preload_libraries and the lines CONF in
# postgresql.conf; started.
sub medup_node
{
	my ($name, $conf, %init) = @_;
	my %new = exists $init{port} ? (port => delete $init{port}) : ();
	my $node = PostgreSQL::Test::Cluster->new($name, %new);
	$node->init(%init);
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'medup'\n" . ($conf // ''));
	$node->start;
	return $node;
}

# remote_node(NAME, LOGINS, CONF): a node that plays a Medplum database
# elsewhere (Aurora, RDS): it listens on the loopback only, where the roles
# LOGINS (comma-separated) log in over TCP with a password
# (scram-sha-256), and local connections stay as initdb made them; the
# lines CONF in postgresql.conf; started.  No medup is preloaded.
sub remote_node
{
	my ($name, $logins, $conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf',
		"listen_addresses = '127.0.0.1'\npassword_encryption = 'scram-sha-256'\n" . ($conf // ''));
	my $hba_file = $node->data_dir . '/pg_hba.conf';
	my $hba = slurp_file($hba_file);
	open my $fh, '>', $hba_file or die "could not write $hba_file: $!";
	print $fh "host all $logins 127.0.0.1/32 scram-sha-256\n$hba";
	close $fh;
	$node->start;
	return $node;
}

# dblink_server_sql(SERVER, PORT, LOGIN, PASSWORD): the SQL that makes
# SERVER a dblink_fdw server for database medplum at 127.0.0.1:PORT (a
# 2 s connect_timeout: a target that is down fails fast) and maps the current user to
# LOGIN with PASSWORD, as a DBA registers a remote target's server.
sub dblink_server_sql
{
	my ($server, $port, $login, $password) = @_;
	return qq{
CREATE SERVER $server FOREIGN DATA WRAPPER dblink_fdw
    OPTIONS (host '127.0.0.1', port '$port', dbname 'medplum', connect_timeout '2');
CREATE USER MAPPING FOR CURRENT_USER SERVER $server
    OPTIONS (user '$login', password '$password');
};
}

# load_medplum(NODE, DB, sample => 1): Medplum's fixture (the schema
# medplum_fixture: tables and jobs by era) into DB; with sample, also the
# demo's Medplum database (4.1.12, a migration running) in schema public.
sub load_medplum
{
	my ($node, $db, %opt) = @_;
	$node->safe_psql($db, slurp_file($medplum_sql));
	$node->safe_psql($db, slurp_file($sample_sql)) if $opt{sample};
	return;
}

# The text of sql/fixtures.sql (Medplum databases of every era and state,
# one schema each), reading test/medplum.sql from where it is.
sub fixtures_sql
{
	my $fixtures = slurp_file('sql/fixtures.sql');
	$fixtures =~ s{\\i test/medplum.sql}{\\i $medplum_sql};
	return $fixtures;
}

# medplum_database(NODE, DB, OPTION => VALUE...): database DB created
# (owner => ROLE), the sample Medplum database loaded into it (unless
# sample => 0), then medup created in it (version => 'X.Y' for an older
# release, extension => 0 for none).
sub medplum_database
{
	my ($node, $db, %opt) = @_;
	my $owner = defined $opt{owner} ? " OWNER $opt{owner}" : '';
	$node->safe_psql('postgres', qq{CREATE DATABASE "$db"$owner});
	load_medplum($node, $db, sample => $opt{sample} // 1);
	if ($opt{extension} // 1)
	{
		my $version = defined $opt{version} ? " VERSION '$opt{version}'" : '';
		$node->safe_psql($db, "CREATE EXTENSION medup$version");
	}
	return;
}

# give_medplum_tables(NODE, DB, ROLE): Medplum's tables in schema public of
# DB change hands to ROLE, as when Medplum's app role owns them.
sub give_medplum_tables
{
	my ($node, $db, $role) = @_;
	$node->safe_psql($db, qq{
DO \$\$
DECLARE t regclass;
BEGIN
    FOR t IN SELECT c.oid FROM pg_class c
              WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO %I', t, '$role');
    END LOOP;
END \$\$;
});
	return;
}

# poll_ok(NODE, DB, SQL, WHAT): a test that passes once SQL returns true
# (PostgreSQL::Test's timeout, three minutes by default).
sub poll_ok
{
	my ($node, $db, $sql, $what) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	return ok($node->poll_query_until($db, $sql), $what);
}

1;
