#!/usr/bin/env bash
# A deploy script under psql -v ON_ERROR_STOP=1 stops on medup.gate(), and
# status() answers at once while another session holds ACCESS EXCLUSIVE on
# "AsyncJob" (it reports the lock instead of waiting behind it).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

dir="$(server_tmpdir gate)"
port="${MEDUP_TEST_PORT:-54351}"
cleanup() { stop_private_cluster "$dir" immediate; rm -rf "$dir"; }
trap cleanup EXIT
start_private_cluster "$dir" "$port"
psql=("$PG_BINDIR/psql" -h "$dir" -p "$port" -U postgres -X -q -d postgres)
"${psql[@]}" -v ON_ERROR_STOP=1 -f "$REPO/test/medplum.sql" -f "$REPO/test/sample-medplum.sql" >/dev/null
"${psql[@]}" -c "CREATE EXTENSION medup"

fail=0
check() { if eval "$2"; then echo "  ok: $1"; else echo "  FAILED: $1"; fail=1; fi; }

# 1. The deploy script: the gate refuses 4.2.6 (v10 is running on 4.1.12,
#    and v10-v12 must complete before 4.2.0), so the "deploy" line after it
#    must never run.
cat > "$dir/deploy.sql" <<'SQL'
SELECT medup.gate('4.2.6');
\echo DEPLOYING 4.2.6
SQL
set +e
out=$("${psql[@]}" -v ON_ERROR_STOP=1 -f "$dir/deploy.sql" 2>&1)
status=$?
set -e
check "psql exits non-zero on a refused gate (exit $status)" '[ "$status" -eq 3 ]'
check "the deploy step after the gate did not run" '! grep -q DEPLOYING <<<"$out"'
check "the error names the migrations to wait for" 'grep -q "v10-v12 must complete before 4.2.0" <<<"$out"'

# 2. The same script for an allowed target runs through.
sed -i "s/gate('4.2.6')/gate('4.1.18', current => '4.1.12')/" "$dir/deploy.sql"
out=$("${psql[@]}" -v ON_ERROR_STOP=1 -f "$dir/deploy.sql" 2>&1)
check "an allowed deploy goes on" 'grep -q "DEPLOYING" <<<"$out"'

# 3. A session holds ACCESS EXCLUSIVE on "AsyncJob" for 5 s: status()
#    must answer well within that, naming the lock.
"${psql[@]}" -c 'BEGIN; LOCK "AsyncJob" IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(5); COMMIT;' >/dev/null &
locker=$!
sleep 1
start=$(date +%s%N)
answer=$("${psql[@]}" -At -c "SELECT state || ' | ' || coalesce(problem, '') FROM medup.status()")
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "  status() under the lock: $answer (${elapsed_ms} ms)"
check "status() did not wait for the lock (${elapsed_ms} ms < 2000 ms)" '[ "$elapsed_ms" -lt 2000 ]'
check "status() says the table is locked" 'grep -q "^blocked | .*locked" <<<"$answer"'
# The gate refuses under the lock too (55000): it cannot read the jobs.
set +e
out=$("${psql[@]}" -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "SELECT medup.gate('4.1.18', current => '4.1.12')" 2>&1)
set -e
check "the gate refuses while Medplum's tables are locked (55000)" 'grep -q "ERROR:  55000: cannot deploy 4.1.18: Medplum.s tables could not be read" <<<"$out"'
wait "$locker"

# 4. A Medplum server session waits on a lock another session holds: the
#    running migration is "blocked", and status() names the blocker.
"${psql[@]}" -c 'CREATE TABLE "Observation_backfill"(id int)'
"${psql[@]}" -c 'BEGIN; LOCK "Observation_backfill" IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;' >/dev/null &
holder=$!
sleep 1
PGAPPNAME=medplum-server "${psql[@]}" -c 'UPDATE "Observation_backfill" SET id = 1' >/dev/null &
waiter=$!
sleep 1
answer=$("${psql[@]}" -At -c "SELECT state || ' | ' || array_length(blocked_by, 1) || ' | ' || (blocked_by[1] = (SELECT pid FROM pg_stat_activity WHERE query LIKE 'BEGIN; LOCK%' AND pid <> pg_backend_pid())) FROM medup.status()")
echo "  status() while a Medplum session waits: $answer"
check "a Medplum session waiting on a lock makes the migration blocked, naming the holder" '[ "$answer" = "blocked | 1 | true" ]'
wait "$holder" "$waiter"

exit "$fail"
