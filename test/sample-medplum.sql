-- A sample Medplum database for the demo and the tests that need a server:
-- a 4.1.12 server part-way through its post-deploy migrations (v1-v9 done,
-- v10, a custom migration, running after a failed first attempt), beside
-- other AsyncJobs.  Built with the shared definition of Medplum's tables:
-- load test/medplum.sql first.  No real data.

CALL medplum_fixture.create_tables('public', '4.1.12', 93, 9);
CALL medplum_fixture.complete_migrations('public', 9, '2026-10-01 02:00:00+00');

-- v10: a first attempt that failed (its error and stack), then the new
-- job the restart created, running: a custom migration writes nothing
-- until it ends.
CALL medplum_fixture.write_job('public', '4.1.12', md5('sample-v10-failed')::uuid, 10, 'accepted',
  '2026-11-25 02:00:00+00', '2026-11-25 02:00:00+00');
CALL medplum_fixture.write_job('public', '4.1.12', md5('sample-v10-failed')::uuid, 10, 'error',
  '2026-11-25 02:00:00+00', '2026-11-25 02:41:00+00',
  medplum_fixture.parameters(VARIADIC medplum_fixture.custom_failure('4.1.12', 'canceling statement due to statement timeout')),
  '2026-11-25 02:41:00+00');
CALL medplum_fixture.write_job('public', '4.1.12', md5('sample-v10-retry')::uuid, 10, 'accepted',
  '2026-11-26 02:00:00+00', '2026-11-26 02:00:00+00');

-- Everyday jobs that share the table: bulk exports.
CALL medplum_fixture.add_other_jobs('public', '4.1.12', 500, '2026-11-01 00:00+00', '2026-11-28 00:00+00');
ANALYZE "AsyncJob";

-- Resource tables of known sizes, for estimates (medup reads only their
-- statistics): rows written by 4.1 servers ("__version" 7) and by 4.3+
-- servers (10), soft-deleted ones among them.
CALL medplum_fixture.create_resource_table('public', 'Patient', 10000, '{7,10}', 100);
CALL medplum_fixture.create_resource_table('public', 'Observation', 50000, '{7}', 0, 600);
ANALYZE "Patient", "Observation";
