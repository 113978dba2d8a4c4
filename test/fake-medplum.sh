#!/usr/bin/env bash
# fake-medplum.sh VERSION: "deploy" Medplum VERSION against the database
# that psql's PG* environment names, the way a Medplum server of that
# version starts, for test/t/walk.sh.  What it writes follows the facts
# about Medplum (test/medplum.sql's builders, per era and key order):
#
# - pre-deploy migrations at start, holding advisory lock 1 from a session
#   named medplum-server: "DatabaseMigration".version rises to the schema
#   version of VERSION, and from 4.1.0 the "firstBoot" column exists;
# - the start-up check, on the next pending migration only: a server at or
#   above its serverVersion and its requiredBefore refuses to start, with
#   Medplum's message for the era (exit 1);
# - from 4.1.0 the server runs its post-deploy migrations itself, one at a
#   time, in the background after the start: a data-migration AsyncJob
#   created accepted, a reindex's cursor rewrite, "dataVersion" set before
#   the job is marked completed; before 4.1.0 nothing runs them (the admin
#   page's button does);
# - a redeploy replaces the running server: an accepted job is reused, a
#   failed one never (a new job is created).
#
# The database must hold test/medplum.sql (schema medplum_fixture: its job
# builders and its plan of migrations).  Settings:
#   FAKE_MEDPLUM_FAIL_ONCE=N  migration vN fails at its first attempt
#   FAKE_MEDPLUM_HANG=N       migration vN starts and never moves
#   FAKE_MEDPLUM_STEP=S       seconds between two writes (default 0.05)
#   FAKE_MEDPLUM_LOG=FILE     appends "deploy VERSION" per deploy (and any
#                             error of the background migrations)
set -euo pipefail
release="${1:?usage: fake-medplum.sh VERSION}"
PSQL="${PSQL:-psql}"
psql_() { PGAPPNAME=medplum-server "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -v release="$release" "$@"; }
[ -z "${FAKE_MEDPLUM_LOG:-}" ] || echo "deploy $release" >> "$FAKE_MEDPLUM_LOG"

# The running server stops: its background migrations with it.
psql_ -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
           WHERE application_name = 'medplum-server' AND query LIKE '%fake-medplum runner%'
             AND pid <> pg_backend_pid()" >/dev/null

# Pre-deploy migrations (schema versions at the first release that reached
# each, from the facts), under Medplum's migration lock.
psql_ > /dev/null <<'SQL'
SELECT pg_advisory_lock(1);
SELECT set_config('fake.release', :'release', false);
DO $$
DECLARE
  rel integer[] := medplum_fixture.vnum(current_setting('fake.release'));
BEGIN
  IF rel >= '{4,1,0}' AND NOT EXISTS (
        SELECT FROM pg_attribute WHERE attrelid = '"DatabaseMigration"'::regclass
           AND attname = 'firstBoot' AND NOT attisdropped) THEN
    ALTER TABLE "DatabaseMigration" ADD COLUMN "firstBoot" boolean NOT NULL DEFAULT false;
  END IF;
  UPDATE "DatabaseMigration" SET version = greatest(version, (
      SELECT max(s.v) FROM (VALUES ('3.1.6', 70), ('3.2.26', 84), ('3.2.27', 85), ('4.0.2', 86),
                                   ('4.1.0', 89), ('4.1.3', 91), ('4.1.8', 92), ('4.1.12', 93),
                                   ('4.2.6', 94), ('4.3.4', 95), ('4.3.11', 96), ('4.3.12', 97),
                                   ('4.4.3', 98), ('5.0.6', 100)) s(r, v)
       WHERE medplum_fixture.vnum(s.r) <= rel))
   WHERE id = 1;
END
$$;
SELECT pg_advisory_unlock(1);
SQL

# The start-up check on the next pending migration (requiredBefore from
# the manifest in the facts; strict checks on, as in Medplum's image).
refusal="$(psql_ <<'SQL'
SELECT CASE WHEN medplum_fixture.vnum(:'release') < '{4,1,0}'
            THEN format('Unable to run data migration against the current server version. Migration requires server at version %s <= version < %s, but current server version is %s',
                        p.release, r.before, :'release')
            ELSE format('Unable to run this version of Medplum server. Pending post-deploy migration v%s requires server at version %s <= version < %s, but current server version is %s',
                        p.v, p.release, r.before, :'release') END
  FROM "DatabaseMigration" d
  JOIN medplum_fixture.plan p ON p.v = d."dataVersion" + 1
  JOIN (VALUES (1, 1, '4.0.0'), (2, 12, '4.2.0'), (13, 28, '4.4.0'), (29, 29, '5.0.0'),
               (30, 32, '5.1.0'), (49, 50, '5.2.0'), (53, 53, '5.3.0')) r(lo, hi, before)
    ON p.v BETWEEN r.lo AND r.hi
 WHERE d.id = 1
   AND medplum_fixture.vnum(:'release') >= medplum_fixture.vnum(p.release)
   AND medplum_fixture.vnum(:'release') >= medplum_fixture.vnum(r.before)
   AND NOT (medplum_fixture.vnum(:'release') >= '{4,1,0}'
            AND coalesce((to_jsonb(d) ->> 'firstBoot')::boolean, false))
SQL
)"
if [ -n "$refusal" ]; then
  echo "fake-medplum $release: $refusal" >&2
  exit 1
fi
echo "fake-medplum $release: started"

# Post-deploy migrations: from 4.1.0 the server runs them, in the
# background; before, only the admin page's button does.
if [ "$(psql_ <<<"SELECT medplum_fixture.vnum(:'release') >= '{4,1,0}'")" != t ]; then
  exit 0
fi
psql_ -v fail_once="${FAKE_MEDPLUM_FAIL_ONCE:-0}" -v hang="${FAKE_MEDPLUM_HANG:-0}" \
      -v step="${FAKE_MEDPLUM_STEP:-0.05}" > /dev/null 2>> "${FAKE_MEDPLUM_LOG:-/dev/null}" <<'SQL' &
SELECT set_config('fake.release', :'release', false), set_config('fake.fail_once', :'fail_once', false),
       set_config('fake.hang', :'hang', false), set_config('fake.step', :'step', false);
DO $runner$  -- fake-medplum runner
DECLARE
  rel      text := current_setting('fake.release');
  step     float8 := current_setting('fake.step')::float8;
  pending  integer;
  p        record;
  jid      uuid;
  attempt  integer;
  latest   integer;
BEGIN
  SELECT max(m.v) INTO latest FROM medplum_fixture.plan m
   WHERE medplum_fixture.vnum(m.release) <= medplum_fixture.vnum(rel);
  LOOP
    -- The pending migration is always dataVersion + 1, if this server has it.
    SELECT d."dataVersion" + 1 INTO pending FROM "DatabaseMigration" d WHERE d.id = 1;
    SELECT * INTO p FROM medplum_fixture.plan m
     WHERE m.v = pending AND medplum_fixture.vnum(m.release) <= medplum_fixture.vnum(rel);
    EXIT WHEN NOT FOUND;
    -- An accepted job is reused (same id, same requestTime); a failed one never.
    attempt := NULL;
    SELECT j.id INTO jid FROM "AsyncJob" j
     WHERE j.type = 'data-migration' AND j.status = 'accepted'
       AND (j.content::jsonb ->> 'dataVersion')::integer = pending;
    IF NOT FOUND THEN
      SELECT count(*) + 1 INTO attempt FROM "AsyncJob" j
       WHERE j.type = 'data-migration' AND (j.content::jsonb ->> 'dataVersion')::integer = pending;
      jid := medplum_fixture.job_id('public', pending, attempt);
      CALL medplum_fixture.write_job('public', rel, jid, pending, 'accepted', clock_timestamp(), clock_timestamp());
    END IF;
    COMMIT;
    PERFORM pg_sleep(step);
    IF pending::text = current_setting('fake.hang') THEN
      PERFORM pg_sleep(3600);
    END IF;
    IF pending::text = current_setting('fake.fail_once') AND attempt = 1 THEN
      CALL medplum_fixture.write_job('public', rel, jid, pending, 'error', NULL, clock_timestamp(),
        medplum_fixture.parameters(VARIADIC medplum_fixture.custom_failure(rel,
          'canceling statement due to statement timeout')), clock_timestamp());
      COMMIT;
      RETURN;   -- the chain stops; a restart or redeploy retries it
    END IF;
    IF p.kind = 'reindex' THEN
      -- Every 50,000 rows a reindex rewrites its job with its cursor.
      CALL medplum_fixture.write_job('public', rel, jid, pending, 'accepted', NULL, clock_timestamp(),
        medplum_fixture.parameters(medplum_fixture.reindex_running(p.steps[1], '2024-03-01 00:00+00')));
      COMMIT;
      PERFORM pg_sleep(step);
    END IF;
    -- "dataVersion" first, then the job: for a moment both say different things.
    UPDATE "DatabaseMigration" SET "dataVersion" = pending, "firstBoot" = ("firstBoot" AND pending < latest)
     WHERE id = 1 AND "dataVersion" < pending;
    COMMIT;
    CALL medplum_fixture.write_job('public', rel, jid, pending, 'completed', NULL, clock_timestamp(),
                                   medplum_fixture.completed_output(pending), clock_timestamp());
    COMMIT;
  END LOOP;
END
$runner$;
SQL
