# What the DBA loaded into the catalog, and the audit trail, survive
# pg_dump and pg_restore into a new database, without colliding with what
# CREATE EXTENSION ships.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MedupTest;

my $node = medup_node('dump_restore');
medplum_database($node, 'medplum');
$node->safe_psql('medplum', q{
SELECT medup.load_releases('[{"version": "5.3.0", "released_on": "2026-12-01"},
                             {"version": "5.2.13", "released_on": "2026-11-20"}]');
SELECT medup.load_data_migrations('{"v54": {"serverVersion": "5.3.0"}}');
SELECT medup.take_sample();
});

my $dump = PostgreSQL::Test::Utils::tempdir() . '/medplum.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('medplum') ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), $dump ],
	'pg_restore, stopping at the first error');

sub restored { return $node->safe_psql('restored', shift); }
is(restored(q{SELECT released_on FROM medup.release WHERE version = '5.3.0'}), '2026-12-01',
	'a loaded release is kept');
is(restored(q{SELECT count(*) || ' ' || max(released_on) FROM medup.release WHERE version = '5.2.13'}),
	'1 2026-11-20', 'a loaded date for a shipped release is kept, once');
is(restored('SELECT server_version FROM medup.data_migration WHERE data_version = 54'), '5.3.0',
	'a loaded migration is kept');
is(restored('SELECT count(*) = count(DISTINCT version) FROM medup.release'), 't',
	'the shipped catalog is there once');
is(restored('SELECT count(*) > 0 FROM medup.sample'), 't', 'the audit trail is kept');
is(restored(q{SELECT string_agg(kind, ',') FROM medup.event}), 'sampling_started', 'and the events');
is(restored('SELECT state FROM medup.status()'), 'migrating', 'the restored database answers');

$node->stop;
done_testing();
