# Memory stays bounded with very many failed jobs: 200,000 failed attempts
# of a migration that later completed (about 140 MB of job text) are read
# by medup.migrations and medup.jobs in a backend whose peak resident size
# stays far below the size of the jobs, and status() does not read them.
# medup used to hold every row in memory twice (the query's result, then
# an array of parsed jobs).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MedupTest;

plan skip_all => 'peak memory is read from /proc (Linux)' unless -r "/proc/$$/status";

# Small shared buffers: the pages a backend touches there count in its
# resident size too.
my $node = medup_node('many_jobs', q{
shared_buffers = 16MB
work_mem = 4MB
});
load_medplum($node, 'postgres');
$node->safe_psql('postgres', q{
CALL medplum_fixture.create_tables('public', '4.1.12', 93, 9);
CALL medplum_fixture.complete_migrations('public', 9, '2026-10-01 02:00:00+00');
CALL medplum_fixture.write_job('public', '4.1.12', md5('failed')::uuid, 5, 'error',
  '2026-11-25 02:00:00+00', '2026-11-25 02:41:00+00',
  medplum_fixture.parameters(VARIADIC medplum_fixture.custom_failure('4.1.12', 'canceling statement due to statement timeout')),
  '2026-11-25 02:41:00+00');
INSERT INTO "AsyncJob" (id, content, "lastUpdated", deleted, "projectId", "__version", compartments, type, status)
SELECT md5('failed' || g)::uuid, replace(a.content, md5('failed')::uuid::text, md5('failed' || g)::uuid::text),
       a."lastUpdated" - g * interval '1 s', false, a."projectId", a."__version", a.compartments, a.type, a.status
  FROM "AsyncJob" a, generate_series(1, 200000) g WHERE a.id = md5('failed')::uuid;
ANALYZE "AsyncJob";
CREATE EXTENSION medup;
});
my $job_bytes = $node->safe_psql('postgres', q{SELECT sum(octet_length(content)) FROM "AsyncJob"});
note("job text: $job_bytes bytes");

# Each query in a session of its own: its backend's peak resident size.
sub peak_kb
{
	my ($sql) = @_;
	my $out = $node->safe_psql('postgres', qq{
SELECT pg_backend_pid() AS pid \\gset
$sql;
\\setenv MEDUP_PID :pid
\\! grep VmHWM /proc/\$MEDUP_PID/status});
	my ($kb) = $out =~ /VmHWM:\s+(\d+) kB/;
	return ($kb, $out);
}
my $limit_kb = int($job_bytes / 1024 / 2);
for my $sql (
	'SELECT count(*) FROM medup.migrations',
	'SELECT count(*) FROM medup.jobs',
	'SELECT state, failed_migration FROM medup.status()')
{
	my ($kb, $out) = peak_kb($sql);
	note("$sql: peak $kb kB");
	ok(defined $kb && $kb < $limit_kb, "$sql: peak resident size under half the job text");
}
my ($kb, $out) = peak_kb(q{SELECT count(*) FROM medup.jobs WHERE data_version = 5 AND status = 'error'});
like($out, qr/^200001\s*$/m, 'every failed attempt was read');

$node->stop;
done_testing();
