#!/usr/bin/env bash
# docs/examples/medup-walk, end to end: a fake deploy command plays Medplum
# (test/fake-medplum.sh: what each release writes, per era) and the walk
# goes from 4.0.4 to the newest release, stop by stop, through medup's
# gate; v9 fails at its first attempt (exit 5), the walk run again is
# refused by the gate (exit 3), and after the retry (a redeploy) it walks
# on to the end (exit 0).  Also: --dry-run deploys nothing, a deploy command
# that fails (4), a migration that stalls (6), one that never comes (7).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

dir="$(server_tmpdir walk)"
port="${MEDUP_WALK_PORT:-54530}"
cleanup() { stop_private_cluster "$dir" immediate; rm -rf "$dir"; }
trap cleanup EXIT
start_private_cluster "$dir" "$port" "shared_preload_libraries = 'medup'" \
  "medup.databases = 'medplum, medplum_stall'" "medup.naptime = 1" "medup.stall_after = 2" \
  "medup.probe_interval = 0"
export PGHOST="$dir" PGPORT="$port" PGUSER=postgres PGOPTIONS="-c client_min_messages=warning"
export PSQL="$PG_BINDIR/psql" PATH="$PG_BINDIR:$PATH"
psql=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1)
for db in medplum medplum_stall; do
  "${psql[@]}" -d postgres -c "CREATE DATABASE $db"
  # Medplum 4.0.4, v1 completed by its 3.3 job (3.3 era: no "firstBoot",
  # requestTime before dataVersion).
  "${psql[@]}" -d "$db" -f "$REPO/test/medplum.sql" \
    -c "CALL medplum_fixture.create_tables('public', '4.0.4', 86, 1)" \
    -c "CALL medplum_fixture.complete_migrations('public', 1, '2026-01-10 02:00:00+00')" \
    -c "CREATE EXTENSION medup"
done
walk="$REPO/docs/examples/medup-walk"
fake="bash $REPO/test/fake-medplum.sh {version}"
# The fake deploys into the database PGDATABASE names.
export FAKE_MEDPLUM_LOG="$dir/deploys.log" FAKE_MEDPLUM_STEP=0.02 PGDATABASE=medplum
: > "$FAKE_MEDPLUM_LOG"

fail=0
check() { if eval "$2"; then echo "  ok: $1"; else echo "  FAILED: $1"; fail=1; fi; }
# wait_for WHAT SQL: runs SQL (a count, in database medplum) every 0.2 s
# until it is above 0, for 30 s at most; a check named WHAT either way.
wait_for() {
  local what="$1" sql="$2" count
  for _ in $(seq 150); do
    count=$("${psql[@]}" -d medplum -At -c "$sql")
    if [ "$count" -gt 0 ]; then echo "  ok: $what (within 30 s)"; return; fi
    sleep 0.2
  done
  echo "  FAILED: $what: still $count after 30 s of: $sql"
  fail=1
}
run_walk() {   # run_walk NAME ARGS...: output in $dir/NAME.out, exit status in $status
  local name="$1"; shift
  local start=$SECONDS
  set +e
  timeout 120 bash "$walk" "$@" > "$dir/$name.out" 2>&1
  status=$?
  set -e
  echo "  ($name: $((SECONDS - start)) s)"
  sed "s/^/    | /" "$dir/$name.out" | tail -n "${SHOW_LINES:-8}"
}
newest=$("${psql[@]}" -d medplum -At -c "SELECT max(version) FROM medup.release")
latest_v=$("${psql[@]}" -d medplum -At -c "SELECT max(data_version) FROM medup.data_migration")

# The worker's first sample of medplum comes before the first deploy, so
# that every completion of the walk falls between two of its samples.
wait_for "the worker sampled medplum before the walk" "SELECT count(*) FROM medup.sample"

# --- the plan ------------------------------------------------------------
SHOW_LINES=20 run_walk plan -d medplum --dry-run latest
check "--dry-run exits 0" '[ "$status" -eq 0 ]'
check "--dry-run names the stops from 4.0.2 (inferred from schema version 86)" 'grep -q "^medup-walk: 4.0.2 (inferred by medup) -> latest" "$dir/plan.out"'
check "--dry-run lists 4.1.18 with v2-v12" 'grep -q "4.1.18  migrations: 2,3,4,5,6,7,8,9,10,11,12" "$dir/plan.out"'
check "--dry-run ends at $newest" 'grep -q "\. $newest  migrations" "$dir/plan.out"'
check "--dry-run shows medup's estimate per stop" 'grep -q "stop *| migrations | est_low *| est_high" "$dir/plan.out"'
check "--dry-run deploys nothing" '[ ! -s "$FAKE_MEDPLUM_LOG" ]'

# --- usage ---------------------------------------------------------------
run_walk usage -d medplum latest
check "a walk without --deploy is a usage error (2)" '[ "$status" -eq 2 ]'
run_walk help --help
check "--help prints the options and exit codes, and exits 0" '[ "$status" -eq 0 ] && grep -q "^  7  the stop" "$dir/help.out"'

# --- the walk: v9 fails at its first attempt ------------------------------
export FAKE_MEDPLUM_FAIL_ONCE=9
run_walk first -d medplum --deploy "$fake" --interval 0.2 --timeout 60 latest
check "a failed migration stops the walk with exit 5 (got $status)" '[ "$status" -eq 5 ]'
check "it says v9 failed, with Medplum's error and medup's advice" \
  'grep -q "post-deploy migration v9 failed" "$dir/first.out" &&
   grep -q "^error: canceling statement due to statement timeout" "$dir/first.out" &&
   grep -q "^advice: Post-deploy migration v9 failed" "$dir/first.out"'
check "it deployed 4.1.18 only" '[ "$(cat "$FAKE_MEDPLUM_LOG")" = "deploy 4.1.18" ]'

# --- run again without fixing: the gate refuses the next stop ------------
run_walk again -d medplum --deploy "$fake" --interval 0.2 --timeout 60 --from 4.1.18 latest
check "the gate refuses 4.2.6 while v9 has failed: exit 3 (got $status)" '[ "$status" -eq 3 ]'
check "with the gate's error, its DETAIL and HINT" \
  'grep -q "ERROR:  cannot deploy 4.2.6" "$dir/again.out" && grep -q "^DETAIL:" "$dir/again.out" && grep -q "^HINT:" "$dir/again.out"'
check "and nothing was deployed" '[ "$(wc -l < "$FAKE_MEDPLUM_LOG")" -eq 1 ]'
# docs/deploy.md's Kubernetes pre-upgrade hook, its command as written there.
hook=$(sed -n "s/^ *command: \[sh, -c, '\(.*\)'\]$/\1/p" "$REPO/docs/deploy.md" | sed "s/''/'/g")
set +e
TARGET=4.2.6 sh -c "$hook" > "$dir/hook.out" 2>&1
hook_status=$?
TARGET=4.1.18 sh -c "$hook" > "$dir/hook-ok.out" 2>&1
hook_ok_status=$?
set -e
check "the pre-upgrade hook's command fails on a refused target ($hook_status)" \
  '[ "$hook_status" -ne 0 ] && grep -q "cannot deploy 4.2.6" "$dir/hook.out"'
check "and passes an allowed one ($hook_ok_status)" '[ "$hook_ok_status" -eq 0 ] && grep -q "safe to deploy 4.1.18" "$dir/hook-ok.out"'

# A real failure stays until someone acts; here the retry comes within a
# second or two, maybe between two samples (naptime 1 s): it waits until
# the worker has sampled the failure, which the events are checked for.
wait_for "the worker sampled v9's failure" "SELECT count(*) FROM medup.sample WHERE failed_migration = 9"

# --- the retry: 4.1.18 redeployed, and the walk goes on to the end -------
# (slower, so that the walk finds v9-v12 running: 1.5 s between two writes)
FAKE_MEDPLUM_STEP=1.5 bash "$REPO/test/fake-medplum.sh" 4.1.18 >/dev/null

SHOW_LINES=12 run_walk rest -d medplum --deploy "$fake" --interval 0.2 --timeout 60 --from 4.1.18 latest
check "the walk reaches $newest: exit 0 (got $status)" '[ "$status" -eq 0 ] && grep -q "^medup-walk: reached $newest" "$dir/rest.out"'
check "it first waited for 4.1.18's retried migrations" 'grep -q "^== a post-deploy migration is running: waiting for v12 before the first stop" "$dir/rest.out"'
answer=$("${psql[@]}" -d medplum -At -c "SELECT state, data_version FROM medup.status()")
check "medup says up_to_date at v$latest_v ($answer)" '[ "$answer" = "up_to_date|$latest_v" ]'
deploys=$(tr '\n' ' ' < "$FAKE_MEDPLUM_LOG")
expected_deploys="deploy 4.1.18 deploy 4.1.18 $("${psql[@]}" -d medplum -At -c \
  "SELECT string_agg('deploy ' || version, ' ' ORDER BY step) FROM medup.upgrade_path('4.1.18', 'latest')") "
check "the deploys were the stops of upgrade_path, in order ($deploys)" '[ "$deploys" = "$expected_deploys" ]'
attempts=$("${psql[@]}" -d medplum -At -c "SELECT attempts FROM medup.migrations WHERE data_version = 9")
check "v9 took two attempts ($attempts)" '[ "$attempts" = 2 ]'
# The walk polls status() every 0.2 s; the worker samples every naptime
# (1 s): the completions are in medup.event once a sample has seen v$latest_v.
wait_for "the worker sampled v$latest_v" "SELECT count(*) FROM medup.sample WHERE data_version = $latest_v"
events=$("${psql[@]}" -d medplum -At -c "SELECT count(*) FILTER (WHERE kind = 'migration_failed' AND data_version = 9) || ' ' ||
                                                count(*) FILTER (WHERE kind = 'migration_completed') FROM medup.event")
check "medup's worker recorded v9's failure and every completion ($events)" '[ "$events" = "1 $((latest_v - 1))" ]'
keys=$("${psql[@]}" -d medplum -At -c "SELECT string_agg(DISTINCT k, ',') FROM (
         SELECT (SELECT string_agg(key, ',') FROM json_object_keys(content::json) key) AS k
           FROM \"AsyncJob\" WHERE type = 'data-migration' AND status = 'completed'
            AND (content::jsonb ->> 'dataVersion')::integer > 1) x")
check "jobs in Medplum's key order ($keys)" \
  '[ "$keys" = "resourceType,type,status,request,dataVersion,requestTime,minServerVersion,id,meta,output,transactionTime" ]'

# --- a deploy command that fails, a migration that never comes, a stall --
export PGDATABASE=medplum_stall
run_walk deploy_fails -d medplum_stall --deploy "false {version}" --interval 0.2 --timeout 5 latest
check "a failing deploy command: exit 4 (got $status)" '[ "$status" -eq 4 ]'
run_walk never -d medplum_stall --deploy "true {version}" --interval 0.2 --timeout 2 latest
check "migrations that never come: exit 7 after --timeout (got $status)" '[ "$status" -eq 7 ] && grep -q "timed out after 2s" "$dir/never.out"'
FAKE_MEDPLUM_HANG=3 run_walk stall -d medplum_stall --deploy "$fake" --interval 0.2 --timeout 60 latest
check "a stalled migration: exit 6 (got $status)" '[ "$status" -eq 6 ] && grep -q "post-deploy migration v3 stalled" "$dir/stall.out"'
# The hung migration's session goes with the test's cluster.
exit "$fail"
