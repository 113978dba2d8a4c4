# Security: each attack on medup, played by the unprivileged role it names
# (medup_reader's Grafana login, Medplum's app role that owns the tables,
# the database's owner, a squatter), with the worker running.  After each:
# the attacker is still not a superuser, whatever it planted ran with no
# more privilege than it had (the planted code records current_user and
# whether that role is a superuser, and tries to make its role one), and no
# backend crashed.  Cancels and timeouts arrive within a second.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time sleep);
use MedupTest;

my $node = medup_node('security', q{
medup.databases = 'medplum'
medup.naptime = 1
});

# Medplum's app role owns its tables; the database belongs to another
# role; Grafana logs in with medup_reader.  None is a superuser.
$node->safe_psql('postgres', q{
CREATE ROLE medplum_app LOGIN;
CREATE ROLE db_owner LOGIN;
CREATE ROLE grafana LOGIN;
CREATE DATABASE squatted OWNER db_owner;
});
medplum_database($node, 'medplum', owner => 'db_owner', extension => 0);
give_medplum_tables($node, 'medplum', 'medplum_app');
$node->safe_psql('medplum', q{
GRANT CREATE ON SCHEMA public TO medplum_app;
CREATE EXTENSION medup;
GRANT medup_reader TO grafana;
});

# Every session of this test fixes its own search_path: the database's
# default is one of the attacks, and only the worker must face it.
$ENV{PGOPTIONS} = '-c search_path=public';

sub sql_as
{
	my ($role, $sql) = @_;
	return $node->safe_psql('medplum', $sql, extra_params => [ '-U', $role ]);
}
sub psql_as
{
	my ($role, $db, $sql) = @_;
	my ($ret, $out, $err) = $node->psql($db, $sql, extra_params => [ '-U', $role ]);
	return ($ret, $err);
}
sub superusers
{
	return $node->safe_psql('postgres',
		'SELECT string_agg(rolname, \',\' ORDER BY rolname) FROM pg_roles WHERE rolsuper');
}
my $bootstrap = superusers();
sub samples_taken
{
	return $node->safe_psql('medplum',
		q{SELECT coalesce(sum(samples), 0) FROM medup.sampler WHERE database_name = 'medplum'});
}
sub wait_for_samples
{
	my ($more, $what) = @_;
	my $before = samples_taken();
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	poll_ok($node, 'medplum', "SELECT coalesce(sum(samples), 0) >= $before + $more FROM medup.sampler", $what);
}

# The planted code: each attacker gets a schema with a table it owns and a
# function that records who runs it and tries to make its role a superuser.
sub plant_spy
{
	my ($role) = @_;
	$node->safe_psql('medplum', "CREATE SCHEMA ${role}_spy AUTHORIZATION $role");
	sql_as($role, qq{
CREATE TABLE ${role}_spy.ran (attack text, who name, superuser boolean, escalation text);
CREATE FUNCTION ${role}_spy.spy(attack text, v anyelement) RETURNS anyelement
LANGUAGE plpgsql SET search_path = pg_catalog AS \$\$
BEGIN
    INSERT INTO ${role}_spy.ran
    SELECT attack, current_user, r.rolsuper, NULL FROM pg_roles r
     WHERE r.rolname OPERATOR(pg_catalog.=) current_user;
    BEGIN
        EXECUTE format('ALTER ROLE %I SUPERUSER', '$role');
    EXCEPTION WHEN OTHERS THEN
        UPDATE ${role}_spy.ran SET escalation = SQLERRM WHERE escalation IS NULL;
    END;
    RETURN v;
END \$\$;
GRANT USAGE ON SCHEMA ${role}_spy TO PUBLIC;
GRANT EXECUTE ON FUNCTION ${role}_spy.spy(text, anyelement) TO PUBLIC;
GRANT INSERT, UPDATE ON ${role}_spy.ran TO PUBLIC;
});
}
# Who ran an attacker's planted code: "role:superuser" per distinct run.
sub ran_as
{
	my ($role, $attack) = @_;
	return $node->safe_psql('medplum', qq{
SELECT coalesce(string_agg(DISTINCT who || ':' || superuser, ','), 'nobody')
  FROM ${role}_spy.ran WHERE attack = '$attack'});
}
plant_spy($_) for qw(grafana medplum_app db_owner);

# The app role puts a view in place of "AsyncJob" (its columns: the SELECT
# list over the real table), and puts the table back.
sub swap_job_table
{
	my ($select_list) = @_;
	sql_as('medplum_app', qq{
ALTER TABLE "AsyncJob" RENAME TO "AsyncJob_real";
CREATE VIEW "AsyncJob" AS $select_list;});
}
sub restore_job_table
{
	sql_as('medplum_app', q{DROP VIEW "AsyncJob"; ALTER TABLE "AsyncJob_real" RENAME TO "AsyncJob";});
}
# A statement run in the background by a session named $name, started and
# running on return; finish() waits for its end.
sub start_named
{
	my ($name, $sql) = @_;
	my %run = (in => '', out => '', err => '');
	$run{h} = IPC::Run::start(
		[ $node->installed_command('psql'), '-XAtq', '-d', $node->connstr('medplum'),
		  '-c', "SET application_name = '$name'; $sql" ],
		'<', \$run{in}, '>', \$run{out}, '2>', \$run{err});
	$node->poll_query_until('medplum',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = '$name' AND state = 'active'");
	return \%run;
}
sub cancel_named
{
	my ($name) = @_;
	$node->safe_psql('medplum',
		"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = '$name'");
}

wait_for_samples(1, 'the worker samples the Medplum database');

# --- 1. medup_reader chooses what medup reads ------------------------------
my ($ret, $err) = psql_as('grafana', 'medplum', q{SET medup.medplum_schema = 'pg_temp'});
like($err, qr/permission denied to set parameter "medup.medplum_schema"/,
	'medup_reader: SET medup.medplum_schema is refused');
($ret, $err) = psql_as('grafana', 'medplum', q{ALTER ROLE grafana SET medup.medplum_schema = 'pg_temp'});
like($err, qr/permission denied to set parameter/, 'medup_reader: ALTER ROLE ... SET of it is refused');
# Its own "DatabaseMigration" in its temp schema, then status(): medup
# still reads Medplum's schema, and the planted column never runs.
is(sql_as('grafana', q{
CREATE TEMP TABLE dm_real AS SELECT 1 AS id, 1 AS version, 1 AS "dataVersion", false AS "firstBoot";
CREATE TEMP VIEW "DatabaseMigration" AS
    SELECT id, version, grafana_spy.spy('temp view', "dataVersion") AS "dataVersion", "firstBoot" FROM dm_real;
SELECT data_version FROM medup.status();}), '9', 'medup_reader: status() reads Medplum\'s table, not its temp view');
is(ran_as('grafana', 'temp view'), 'nobody', 'medup_reader: its planted view never ran');
# The internal functions are not callable by it.
for my $call (
	q{SELECT * FROM medup.cached_query('"AsyncJob"'::regclass, 'SELECT 1', NULL) AS t(x int)},
	q{SELECT medup.parse_job(NULL, NULL, NULL)},
	q{SELECT medup.sample()},
	q{SELECT medup.apply_retention(1)},
	q{SELECT medup.load_releases('[]')},
	q{SELECT * FROM medup.medplum_tables()})
{
	($ret, $err) = psql_as('grafana', 'medplum', $call);
	like($err, qr/permission denied for function/, "medup_reader may not run: $call");
}

# --- 2. Medplum's app role plants code where medup reads ----------------
# "AsyncJob" becomes a view whose content column calls the owner's code.
swap_job_table(q{SELECT id, medplum_app_spy.spy('job view', content) AS content, "lastUpdated",
                      deleted, type, status FROM "AsyncJob_real"});
ok($node->poll_query_until('medplum',
		q{SELECT count(*) > 0 FROM medplum_app_spy.ran WHERE attack = 'job view'}),
	'app role: the worker read its view');
$node->safe_psql('medplum', 'SELECT * FROM medup.status()');
is(ran_as('medplum_app', 'job view'), 'medplum_app:false',
	'app role: its code ran as itself only, in the worker and in a superuser\'s status()');
like($node->safe_psql('medplum', 'SELECT escalation FROM medplum_app_spy.ran LIMIT 1'),
	# 15's words, then 16's and later's
	qr/must be superuser|permission denied to alter role/, 'app role: its code could not make it a superuser');
restore_job_table();

# --- 3. The database's owner steers the worker by database settings -------
($ret, $err) = psql_as('db_owner', 'medplum', q{ALTER DATABASE medplum SET medup.medplum_schema = 'db_owner_spy'});
like($err, qr/permission denied to set parameter/,
	'database owner: ALTER DATABASE ... SET medup.medplum_schema is refused');
# A search_path that puts its own "=" operators before pg_catalog's.
sql_as('db_owner', q{
CREATE FUNCTION db_owner_spy.eq(a name, b name) RETURNS boolean LANGUAGE plpgsql
SET search_path = pg_catalog AS $$
BEGIN RETURN db_owner_spy.spy('operator', a OPERATOR(pg_catalog.=) b); END $$;
CREATE OPERATOR db_owner_spy.= (LEFTARG = name, RIGHTARG = name, FUNCTION = db_owner_spy.eq);
CREATE FUNCTION db_owner_spy.eq(a text, b text) RETURNS boolean LANGUAGE plpgsql
SET search_path = pg_catalog AS $$
BEGIN RETURN db_owner_spy.spy('operator', a OPERATOR(pg_catalog.=) b); END $$;
CREATE OPERATOR db_owner_spy.= (LEFTARG = text, RIGHTARG = text, FUNCTION = db_owner_spy.eq);
CREATE FUNCTION db_owner_spy.eq(a integer, b integer) RETURNS boolean LANGUAGE plpgsql
SET search_path = pg_catalog AS $$
BEGIN RETURN db_owner_spy.spy('operator', a OPERATOR(pg_catalog.=) b); END $$;
CREATE OPERATOR db_owner_spy.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = db_owner_spy.eq);
ALTER DATABASE medplum SET search_path = db_owner_spy, pg_catalog, public;
});
# The database settings apply when a sampler connects: the one that stays
# between samples sees them change and leaves, and the next connects with
# them.
wait_for_samples(2, 'database owner: samplers connected with the database\'s search_path sample');
is(ran_as('db_owner', 'operator'), 'nobody', 'database owner: the worker never ran its operators');
$node->safe_psql('medplum', 'ALTER DATABASE medplum RESET search_path');

# --- 4. A squatted "medup" schema ---------------------------------------
psql_as('db_owner', 'squatted', q{
CREATE SCHEMA medup;
CREATE FUNCTION medup.status() RETURNS text LANGUAGE sql AS $$ SELECT 'planted' $$;
});
(undef, undef, $err) = $node->psql('squatted', 'CREATE EXTENSION medup');
like($err, qr/schema "medup" already exists and role "db_owner" can change it/,
	'squatter: CREATE EXTENSION refuses a schema the database owner made');
like($err, qr/HINT:  Check what schema "medup" holds/, 'squatter: the error says what to do');

# --- 5. Input that crashed backends ---------------------------------------
is($node->safe_psql('medplum', 'SELECT parse_error FROM medup.parse_job(NULL, NULL, NULL)'),
	'job content is NULL', 'parse_job(NULL, NULL, NULL) answers');
$node->safe_psql('medplum', q{
CREATE FUNCTION pg_temp.parse_job_0_1(uuid, jsonb, timestamptz) RETURNS medup.job
    AS '$libdir/medup', 'medup_parse_job' LANGUAGE C;
SELECT * FROM pg_temp.parse_job_0_1(NULL, NULL, NULL);});
pass('0.1\'s parse_job entry point with NULLs answers');
# The app role writes data-migration jobs medup cannot read whole.
sql_as('medplum_app', q{
ALTER TABLE "AsyncJob" ALTER content DROP NOT NULL;
INSERT INTO "AsyncJob" (id, content, "lastUpdated", "__version", compartments, type, status)
VALUES (md5('null content')::uuid, NULL, now(), 13, '{}', 'data-migration', 'active'),
       (md5('deep')::uuid, '{"type":"data-migration","dataVersion":10,"x":' || repeat('[', 100000)
                           || repeat(']', 100000) || '}', now(), 13, '{}', 'data-migration', 'active'),
       (md5('big')::uuid, '{"type":"data-migration","dataVersion":10,"x":"' || repeat('x', 3000000)
                          || '"}', now(), 13, '{}', 'data-migration', 'active');
});
wait_for_samples(2, 'crashes: the worker keeps sampling past jobs it cannot read');
is(sql_as('grafana', q{SELECT count(*) FROM medup.jobs WHERE parse_error IS NOT NULL}), '3',
	'crashes: each such job is reported with parse_error');
sql_as('medplum_app', q{DELETE FROM "AsyncJob" WHERE id IN (md5('null content')::uuid, md5('deep')::uuid, md5('big')::uuid)});

# --- 6. Cancels and timeouts arrive within a second -----------------------
# Parsing that would run for minutes: a job of about 800 kB parsed again
# and again.
my $long_parse = q{
WITH doc AS MATERIALIZED (
    SELECT '{"type":"data-migration","dataVersion":10,"status":"active","output":{"parameter":['
           || string_agg('{"name":"result","part":[{"name":"resourceType","valueCode":"Observation"},'
                         || '{"name":"count","valueInteger":' || i || '},'
                         || '{"name":"elapsedTime","valueQuantity":{"value":1,"unit":"ms"}}]}', ',')
           || ']}}' AS content
      FROM generate_series(1, 4000) i)
SELECT count(p.steps_done) FROM doc, generate_series(1, 1000000) g,
       LATERAL medup.parse_job(NULL, doc.content || repeat(' ', g % 2), NULL) p};
sub time_to_stop
{
	my ($setup, $stop) = @_;
	my $run = start_named('long_parse', "$setup $long_parse");
	sleep(1.5);
	my $t0 = time();
	$stop->();
	$run->{h}->finish;
	return (time() - $t0, $run->{err});
}
my ($elapsed, $stderr) = time_to_stop('', sub { cancel_named('long_parse') });
like($stderr, qr/canceling statement due to user request/, 'cancel: the long parse is cancelled');
note(sprintf('cancel arrived after %.3f s', $elapsed));
cmp_ok($elapsed, '<', 1.0, 'cancel: within a second');
($elapsed, $stderr) = time_to_stop("SET statement_timeout = '2s';", sub { });
like($stderr, qr/canceling statement due to statement timeout/, 'statement_timeout ends the long parse');
cmp_ok($elapsed, '<', 1.5, 'statement_timeout: on time');

# A cancel while status() reads Medplum's tables is an error, not "locked":
# the app role's view sleeps (as the app role) while status() runs.
swap_job_table(q{SELECT id, content, "lastUpdated", deleted, type, status FROM "AsyncJob_real"
                 WHERE pg_sleep(2)::text IS NOT NULL});
my $slow = start_named('slow_status', 'SELECT state, problem FROM medup.status()');
sleep(0.5);
cancel_named('slow_status');
$slow->{h}->finish;
like($slow->{err}, qr/canceling statement due to user request/, 'a cancelled status() is an error');
unlike($slow->{out}, qr/locked/, 'a cancelled status() is not reported as locked');
restore_job_table();

# --- 7. Someone holds medup's sampler lock --------------------------------
my $log_offset = -s $node->logfile;
my $skipped_before = $node->safe_psql('medplum', 'SELECT skipped FROM medup.sampler');
my $holder = $node->background_psql('medplum');
$holder->query_safe(
	q{SELECT pg_advisory_lock(hashtext('medup.sample'), 0); SELECT pg_backend_pid();});
ok($node->poll_query_until('medplum', "SELECT skipped >= $skipped_before + 3 FROM medup.sampler"),
	'sampler lock: the skipped samples are counted');
like($node->safe_psql('medplum', 'SELECT last_outcome FROM medup.sampler'),
	qr/skipped: session \d+ holds medup's sampler lock/, 'sampler lock: the outcome names the holder');
$holder->quit;
wait_for_samples(1, 'sampler lock: sampling resumes once it is released');
my $skip_logs = () = slurp_file($node->logfile, $log_offset) =~ /holds medup's sampler lock/g;
is($skip_logs, 1, 'sampler lock: logged once, not every naptime');

# --- 8. medup.progress shows only Medplum's relations ---------------------
# Two index builds held in "waiting for old snapshots" by an open snapshot:
# one on a Medplum table, one in another role's schema.
$node->safe_psql('medplum', q{
CREATE SCHEMA other AUTHORIZATION db_owner;
CREATE TABLE other.private_stuff (x integer);
ALTER TABLE other.private_stuff OWNER TO db_owner;});
my $snapshot = $node->background_psql('medplum');
$snapshot->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1;');
my @builds = map { $node->background_psql('medplum', wait => 1) } 1 .. 2;
$builds[0]->query_until(qr/started/, q{\echo started
CREATE INDEX CONCURRENTLY "AsyncJob_probe_idx" ON public."AsyncJob" ("lastUpdated", id);
});
# Named as a Medplum server: the name is anyone's to take.
$builds[1]->query_until(qr/started/, q{SET application_name = 'medplum-server';
\echo started
CREATE INDEX CONCURRENTLY private_idx ON other.private_stuff (x);
});
ok($node->poll_query_until('medplum',
		q{SELECT count(*) = 2 FROM pg_stat_progress_create_index WHERE phase LIKE 'waiting%'}),
	'progress: both index builds wait');
is(sql_as('grafana', q{SELECT string_agg(relation, ',') FROM medup.progress}),
	'public."AsyncJob"', 'progress: medup_reader sees the build on Medplum\'s table, not the other schema\'s');
$snapshot->query_safe('COMMIT');
$_->quit for @builds;
$snapshot->quit;
$node->safe_psql('medplum', 'DROP INDEX IF EXISTS "AsyncJob_probe_idx"; DROP SCHEMA other CASCADE;');

# A VACUUM and an ANALYZE are seen too: a VACUUM (FREEZE) waits for the
# cleanup lock on a page an open cursor holds pinned, and reports its
# progress meanwhile.  medup asks whether anything reports progress before
# it reads the views (progress_reported(), src/progress.c).
is(sql_as('grafana', q{SELECT count(*) FROM medup.progress}), '0', 'progress: nothing runs now');
my $pin = $node->background_psql('medplum');
$pin->query_safe(q{BEGIN; DECLARE pin CURSOR FOR SELECT * FROM public."AsyncJob"; FETCH 1 FROM pin;});
my $vacuum = $node->background_psql('medplum', wait => 1);
$vacuum->query_until(qr/started/, q{\echo started
VACUUM (FREEZE) public."AsyncJob";
});
ok($node->poll_query_until('medplum', q{SELECT count(*) = 1 FROM pg_stat_progress_vacuum}),
	'progress: the VACUUM waits for the pinned page');
is(sql_as('grafana', q{SELECT command || ' ' || relation FROM medup.progress}),
	'VACUUM public."AsyncJob"', 'progress: medup.progress shows the VACUUM');
$pin->query_safe('COMMIT');
$vacuum->quit;
$pin->quit;

# --- 9. DROP EXTENSION: Medplum's tables stay, the worker goes quiet -------
my $tables_before = $node->safe_psql('medplum',
	q{SELECT (SELECT count(*) FROM "AsyncJob") || '/' || (SELECT count(*) FROM "DatabaseMigration")});
$log_offset = -s $node->logfile;
$node->safe_psql('medplum', 'DROP EXTENSION medup');
sleep(4);
is($node->safe_psql('medplum',
		q{SELECT (SELECT count(*) FROM "AsyncJob") || '/' || (SELECT count(*) FROM "DatabaseMigration")}),
	$tables_before, 'DROP EXTENSION leaves Medplum\'s tables as they were');
my $after_drop = slurp_file($node->logfile, $log_offset);
my $not_installed = () = $after_drop =~ /the medup extension is not installed/g;
is($not_installed, 1, 'DROP EXTENSION: the worker says so once');
unlike($after_drop, qr/ERROR|sample failed/, 'DROP EXTENSION: and logs no error every naptime');
$node->safe_psql('medplum', 'CREATE EXTENSION medup');
ok($node->poll_query_until('medplum', 'SELECT count(*) > 0 FROM medup.sample'),
	'CREATE EXTENSION again: sampling resumes');

# --- Whatever happened, nobody became a superuser and nothing crashed -----
is(superusers(), $bootstrap, 'no role became a superuser');
is($node->safe_psql('medplum', q{
SELECT count(*) FROM (SELECT superuser FROM grafana_spy.ran UNION ALL
                      SELECT superuser FROM medplum_app_spy.ran UNION ALL
                      SELECT superuser FROM db_owner_spy.ran) r WHERE r.superuser}),
	'0', 'no planted code ran as a superuser');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|terminating any other active server processes/,
	'no backend crashed');

$node->stop;
done_testing();
