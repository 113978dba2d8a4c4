#!/usr/bin/env bash
# medup's Prometheus pieces, end to end, with Debian's packages, all on the
# loopback: prometheus-postgres-exporter runs docs/prometheus/medup-queries.yaml
# as a login that is only medup_reader against two Medplum databases (one
# with a failed migration, one with a stalled one) and two remote targets
# registered in the second (a database without medup with a failed migration,
# read as a plain monitoring login, and one that is down); each metric has the
# value the fixture implies; one scrape reads the remote target once (the
# cluster logs its logins); promtool accepts docs/prometheus/medup-rules.yml;
# Prometheus evaluates those rules and the alerts reach Alertmanager, which
# delivers them to a webhook this test reads; the queries an alert's
# description names answer where it says, as the exporter's login.
#
# Skipped (exit 77) when the packages are not installed and cannot be
# (test/deps.sh installs them).  Ports: MEDUP_PROMETHEUS_PORT (default
# 25520) and the five after it: below Linux's range of ephemeral ports
# (32768-60999), from which every client connection on the loopback (the
# exporter's, dblink's) takes its own port, and could take one of these
# before the program that must listen on it starts.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

need=(prometheus-postgres-exporter prometheus promtool prometheus-alertmanager)
for b in "${need[@]}"; do
  if ! command -v "$b" >/dev/null; then
    echo "SKIP: $b is not installed (apt-get install prometheus prometheus-postgres-exporter prometheus-alertmanager; test/deps.sh does)"
    exit 77
  fi
done

base="${MEDUP_PROMETHEUS_PORT:-25520}"
pg_port=$base exporter_port=$((base + 1)) prom_port=$((base + 2)) am_port=$((base + 3)) hook_port=$((base + 4))
down_port=$((base + 5))   # nothing listens there: the target that is down
dir="$(server_tmpdir prometheus)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  stop_private_cluster "$dir" immediate
  if [ "${fail:-1}" -ne 0 ]; then
    for f in "$dir"/*.log; do echo "---- $f"; tail -n 15 "$f"; done
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

fail=0
check() { if eval "$2"; then echo "  ok: $1"; else echo "  FAILED: $1"; fail=1; fi; }
# wait_until SECONDS COMMAND...: poll every 0.5 s, bounded.
wait_until() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}
http_get() { python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"; }

# --- a cluster with medup's worker and two Medplum databases -------------
start_private_cluster "$dir" "$pg_port" "shared_preload_libraries = 'medup'" \
  "medup.databases = 'medplum_failed, medplum_stalled'" "medup.naptime = 1" \
  "medup.stall_after = 2" "medup.probe_interval = 0" "log_connections = on"
export PGOPTIONS="-c client_min_messages=warning"
psql=("$PG_BINDIR/psql" -h "$dir" -p "$pg_port" -U postgres -X -q -v ON_ERROR_STOP=1)
for db in medplum_failed medplum_stalled; do
  "${psql[@]}" -d postgres -c "CREATE DATABASE $db"
  "${psql[@]}" -d "$db" -f "$REPO/test/medplum.sql" >/dev/null
  "${psql[@]}" -d "$db" -c "CALL medplum_fixture.create_tables('public', '4.1.12', 93, 9)" \
    -c "CALL medplum_fixture.complete_migrations('public', 9, '2026-10-01 02:00:00+00')"
done
# medplum_failed: v10, a custom migration, failed on 4.1.12; its index
# build left an invalid index; a server already runs 4.2.6, which refuses
# to start while v10 is pending.
"${psql[@]}" -d medplum_failed >/dev/null <<'SQL'
CALL medplum_fixture.write_job('public', '4.1.12', md5('v10-1')::uuid, 10, 'accepted',
  now() - interval '50 min', now() - interval '50 min');
CALL medplum_fixture.write_job('public', '4.1.12', md5('v10-1')::uuid, 10, 'error', NULL, now() - interval '9 min',
  medplum_fixture.parameters(VARIADIC medplum_fixture.custom_failure('4.1.12', 'could not create unique index "Observation_code_idx"')),
  now() - interval '9 min');
CREATE TABLE "Observation" (id uuid, code text);
INSERT INTO "Observation" VALUES (md5('a')::uuid, 'x'), (md5('b')::uuid, 'x');
SQL
"${psql[@]}" -d medplum_failed -c 'CREATE UNIQUE INDEX CONCURRENTLY "Observation_code_idx" ON "Observation" (code)' 2>/dev/null || true
# medplum_stalled: v10 runs and nothing moves.
"${psql[@]}" -d medplum_stalled -c "CALL medplum_fixture.write_job('public', '4.1.12', md5('v10-1')::uuid, 10, 'accepted', now() - interval '20 min', now() - interval '20 min')"
for db in medplum_failed medplum_stalled; do "${psql[@]}" -d "$db" -c 'CREATE EXTENSION medup'; done
"${psql[@]}" -d medplum_failed -c "INSERT INTO medup.server (url, state, version, version_since, last_seen_at, probed_at)
                                   VALUES ('http://10.0.1.7:8103', 'ok', '4.2.6', now(), now(), now())"
# A remote target, registered in medplum_stalled: a third database with no
# medup (Medplum on a managed server), v10 failed there, read over a
# connection as a plain monitoring login; and a target that is down.
"${psql[@]}" -d postgres -c "CREATE DATABASE medplum_remote"
"${psql[@]}" -d medplum_remote -f "$REPO/test/medplum.sql" >/dev/null
"${psql[@]}" -d medplum_remote >/dev/null <<'SQL'
CALL medplum_fixture.create_tables('public', '4.1.12', 93, 9);
CALL medplum_fixture.complete_migrations('public', 9, '2026-10-01 02:00:00+00');
CALL medplum_fixture.write_job('public', '4.1.12', md5('r-v10-1')::uuid, 10, 'accepted',
  now() - interval '40 min', now() - interval '40 min');
CALL medplum_fixture.write_job('public', '4.1.12', md5('r-v10-1')::uuid, 10, 'error', NULL, now() - interval '5 min',
  medplum_fixture.parameters(VARIADIC medplum_fixture.custom_failure('4.1.12', 'canceling statement due to statement timeout')),
  now() - interval '5 min');
CREATE ROLE medup_monitor LOGIN PASSWORD 'prometheus test';
GRANT pg_monitor TO medup_monitor;
GRANT USAGE ON SCHEMA public TO medup_monitor;
GRANT SELECT ON public."DatabaseMigration", public."AsyncJob" TO medup_monitor;
SQL
"${psql[@]}" -d medplum_stalled >/dev/null <<SQL
CREATE SCHEMA medup_dblink;
CREATE EXTENSION dblink SCHEMA medup_dblink;
CREATE SERVER medplum_remote FOREIGN DATA WRAPPER dblink_fdw
    OPTIONS (host '$dir', port '$pg_port', dbname 'medplum_remote', connect_timeout '2');
CREATE USER MAPPING FOR CURRENT_USER SERVER medplum_remote OPTIONS (user 'medup_monitor', password 'prometheus test');
CREATE SERVER medplum_down FOREIGN DATA WRAPPER dblink_fdw
    OPTIONS (host '127.0.0.1', port '$down_port', dbname 'medplum', connect_timeout '2');
CREATE USER MAPPING FOR CURRENT_USER SERVER medplum_down OPTIONS (user 'medup_monitor', password 'prometheus test');
SELECT medup.add_target('remote_eu', 'medplum_remote');
SELECT medup.add_target('down_eu', 'medplum_down');
SQL
# The exporter's login: medup_reader and nothing else.
"${psql[@]}" -d postgres -c "CREATE ROLE medup_exporter LOGIN IN ROLE medup_reader"
latest=$("${psql[@]}" -d medplum_failed -At -c "SELECT max(data_version) FROM medup.data_migration")

# --- the exporter ---------------------------------------------------------
dsn() { echo "host=$dir port=$pg_port user=medup_exporter dbname=$1 sslmode=disable"; }
DATA_SOURCE_NAME="$(dsn medplum_failed),$(dsn medplum_stalled)" \
  prometheus-postgres-exporter --extend.query-path="$REPO/docs/prometheus/medup-queries.yaml" \
  --web.listen-address="127.0.0.1:$exporter_port" --disable-default-metrics --disable-settings-metrics \
  --no-collector.database --no-collector.bgwriter --log.level=warn > "$dir/exporter.log" 2>&1 &
pids+=($!)
scrape() { http_get "http://127.0.0.1:$exporter_port/metrics" > "$dir/metrics" 2>/dev/null; }
# metric NAME TARGET: the value of one series.
metric() {
  awk -v name="$1" -v target="target=\"$2\"" 'index($1, name "{") == 1 && index($1, target) { print $2 }' "$dir/metrics"
}
stalled_seen() { scrape && [ "$(metric medup_stalled medplum_stalled)" = 1 ]; }
check "the exporter serves medup's metrics (the stalled one within 20 s)" 'wait_until 20 stalled_seen'
sessions=$("${psql[@]}" -d postgres -At -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'medup_exporter'")
check "the exporter's sessions are medup_exporter's ($sessions)" '[ "$sessions" -ge 1 ]'

expect() {   # expect TARGET NAME VALUE
  local got want="$3"; got="$(metric "$2" "$1")"
  check "$1: $2 = $3 (got ${got:-nothing})" '[ "$got" = "$want" ]'
}
states="not_medplum first_boot up_to_date migrating failing stalled pending failed blocked pre_deploy_running unreadable"
for s in not_medplum first_boot up_to_date migrating failing pending blocked pre_deploy_running unreadable; do
  expect medplum_failed "medup_state_$s" 0
  expect medplum_stalled "medup_state_$s" 0
done
expect medplum_failed medup_state_failed 1
expect medplum_failed medup_state_stalled 0
expect medplum_stalled medup_state_stalled 1
expect medplum_stalled medup_state_failed 0
for t in medplum_failed medplum_stalled; do
  expect "$t" medup_schema_version 93
  expect "$t" medup_data_version 9
  expect "$t" medup_latest_data_version "$latest"
  expect "$t" medup_pending_migrations $((latest - 9))
  expect "$t" medup_naptime_seconds 1
  expect "$t" medup_worker_running 1
  since="$(metric medup_seconds_since_sample "$t")"
  check "$t: medup_seconds_since_sample is recent ($since)" 'awk -v s="$since" "BEGIN { exit !(s >= 0 && s < 5) }"'
done
expect medplum_failed medup_failed 1
expect medplum_failed medup_failed_migration 10
expect medplum_failed medup_running_migration 0
expect medplum_failed medup_stalled 0
expect medplum_failed medup_progress NaN
expect medplum_failed medup_estimated_seconds_left NaN
expect medplum_failed medup_servers_out_of_range 1
expect medplum_failed medup_invalid_indexes 1
expect medplum_stalled medup_failed 0
expect medplum_stalled medup_failed_migration 0
expect medplum_stalled medup_running_migration 10
expect medplum_stalled medup_stalled 1
expect medplum_stalled medup_servers_out_of_range 0
expect medplum_stalled medup_invalid_indexes 0
for t in medplum_failed medplum_stalled; do expect "$t" medup_reachable 1; done
# The remote targets, labelled by their names.
expect remote_eu medup_reachable 1
expect remote_eu medup_state_failed 1
expect remote_eu medup_state_stalled 0
expect remote_eu medup_schema_version 93
expect remote_eu medup_data_version 9
expect remote_eu medup_latest_data_version "$latest"
expect remote_eu medup_pending_migrations $((latest - 9))
expect remote_eu medup_failed 1
expect remote_eu medup_failed_migration 10
expect remote_eu medup_running_migration 0
expect remote_eu medup_progress NaN
expect down_eu medup_reachable 0
expect down_eu medup_state_unreadable 1
expect down_eu medup_state_failed 0
# Each target has one gauge per state, exactly one of them 1.
for t in medplum_failed medplum_stalled remote_eu down_eu; do
  n=0 ones=0
  for s in $states; do
    v="$(metric "medup_state_$s" "$t")"
    if [ -n "$v" ]; then n=$((n + 1)); fi
    if [ "$v" = 1 ]; then ones=$((ones + 1)); fi
  done
  check "$t: all 11 state gauges ($n), one of them 1 ($ones)" '[ "$n" = 11 ] && [ "$ones" = 1 ]'
done
t0=$(date +%s%N); scrape; t1=$(date +%s%N)
echo "  (one scrape of both databases, two remote targets among them: $(( (t1 - t0) / 1000000 )) ms)"
n=$(grep -c '^medup_data_version{.*target="remote_eu"' "$dir/metrics" || true)
check "remote_eu is exported once, by the database that registered it ($n series of medup_data_version)" '[ "$n" = 1 ]'

# --- one read of each remote target per scrape ---------------------------
# The cluster logs its connections: each read of remote_eu is one login of
# medup_monitor to medplum_remote.  The worker's samples of medplum_stalled
# read remote_eu too, so medplum_stalled leaves medup.databases while one
# scrape is counted (Prometheus does not run yet: nothing else scrapes).
remote_reads() { grep -c 'connection authorized: user=medup_monitor database=medplum_remote' "$dir/server.log" || true; }
quiet() { local a; a=$(remote_reads); sleep 2.5; [ "$(remote_reads)" = "$a" ]; }
"${psql[@]}" -d postgres -c "ALTER SYSTEM SET medup.databases = 'medplum_failed'" -c "SELECT pg_reload_conf()" >/dev/null
check "the worker stops reading remote_eu while medplum_stalled is not sampled (within 30 s)" 'wait_until 30 quiet'
before=$(remote_reads); scrape; after=$(remote_reads)
check "one scrape reads remote_eu once ($((after - before)) connections)" '[ $((after - before)) = 1 ]'
"${psql[@]}" -d postgres -c "ALTER SYSTEM RESET medup.databases" -c "SELECT pg_reload_conf()" >/dev/null

# --- the rules -----------------------------------------------------------
rules="$REPO/docs/prometheus/medup-rules.yml"
check "promtool check rules accepts medup-rules.yml" 'promtool check rules "$rules" > "$dir/promtool.log" 2>&1'

# --- Prometheus -> Alertmanager -> a webhook -----------------------------
python3 - "$hook_port" "$dir/webhook.jsonl" > "$dir/webhook.log" 2>&1 <<'PY' &
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
port, out = int(sys.argv[1]), sys.argv[2]
class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with open(out, 'ab') as f:
            f.write(body.replace(b'\n', b' ') + b'\n')
        self.send_response(200); self.end_headers()
HTTPServer(('127.0.0.1', port), Hook).serve_forever()
PY
pids+=($!)
cat > "$dir/alertmanager.yml" <<EOF
route:
  receiver: webhook
  group_by: [alertname, target]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: webhook
    webhook_configs:
      - url: http://127.0.0.1:$hook_port/
EOF
prometheus-alertmanager --config.file="$dir/alertmanager.yml" --storage.path="$dir/am-data" \
  --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= > "$dir/alertmanager.log" 2>&1 &
pids+=($!)
cat > "$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 3s
  scrape_timeout: 3s
  evaluation_interval: 1s
rule_files: ['$rules']
alerting:
  alertmanagers:
    - static_configs: [{targets: ['127.0.0.1:$am_port']}]
scrape_configs:
  - job_name: medup
    static_configs: [{targets: ['127.0.0.1:$exporter_port']}]
EOF
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/prom-data" \
  --web.listen-address="127.0.0.1:$prom_port" > "$dir/prometheus.log" 2>&1 &
pids+=($!)

delivered() {   # delivered ALERTNAME TARGET [ANNOTATION]: prints the summary (or ANNOTATION) of a firing alert
  [ -s "$dir/webhook.jsonl" ] && python3 - "$dir/webhook.jsonl" "$1" "$2" "${3:-summary}" <<'PY'
import json, sys
path, name, target, annotation = sys.argv[1:]
for line in open(path):
    for a in json.loads(line)['alerts']:
        if a['status'] == 'firing' and a['labels'].get('alertname') == name \
           and a['labels'].get('target') == target:
            print(a['annotations'][annotation])
            sys.exit(0)
sys.exit(1)
PY
}
check "MedplumMigrationFailed for medplum_failed reaches the webhook (within 90 s)" \
  'wait_until 90 delivered MedplumMigrationFailed medplum_failed >/dev/null'
check "MedplumMigrationStalled for medplum_stalled reaches the webhook" \
  'wait_until 30 delivered MedplumMigrationStalled medplum_stalled >/dev/null'
summary="$(delivered MedplumMigrationFailed medplum_failed || true)"
check "the failed alert's summary names v10 ($summary)" '[ "$summary" = "Medplum post-deploy migration v10 failed on medplum_failed" ]'
summary="$(delivered MedplumMigrationStalled medplum_stalled || true)"
check "the stalled alert's summary names v10 ($summary)" '[ "$summary" = "Medplum post-deploy migration v10 is stalled on medplum_stalled" ]'
check "MedplumMigrationFailed for the remote target remote_eu reaches the webhook" \
  'wait_until 30 delivered MedplumMigrationFailed remote_eu >/dev/null'
summary="$(delivered MedplumMigrationFailed remote_eu || true)"
check "its summary names v10 and the target ($summary)" '[ "$summary" = "Medplum post-deploy migration v10 failed on remote_eu" ]'
# Its description's queries name the target, to be run where medup is
# installed (remote_eu has no medup); the local target's name its own database.
description="$(delivered MedplumMigrationFailed remote_eu description || true)"
check "its description runs medup.status('remote_eu') and medup.jobs for remote_eu" \
  '[[ "$description" == *"FROM medup.status('"'remote_eu'"');"* && "$description" == *"WHERE target = '"'remote_eu'"' AND data_version = 10;"* ]]'
# The description's queries, run where it says as the exporter's login
# (medup_reader): the target's state and its v10 job.
run_queries() {   # run_queries DB TEXT: each "SELECT ...;" of TEXT, in DB
  grep -o 'SELECT [^;]*;' <<<"$2" | "$PG_BINDIR/psql" -h "$dir" -p "$pg_port" -U medup_exporter -d "$1" \
    -X -q -At -v ON_ERROR_STOP=1 -f - 2>&1
}
out="$(run_queries medplum_stalled "$description" || true)"
check "they answer in medplum_stalled, which registered remote_eu (${out:0:60})" \
  '[[ "$out" == "failed|"* ]] && [ "$(grep -c "|remote_eu\$" <<<"$out")" -ge 1 ]'
description="$(delivered MedplumMigrationFailed medplum_failed description || true)"
out="$(run_queries medplum_failed "$description" || true)"
check "the local target's description runs in medplum_failed itself (${out:0:60})" \
  '[[ "$description" == *"FROM medup.status('"'medplum_failed'"');"* && "$out" == "failed|"* ]] && [ "$(grep -c "|medplum_failed\$" <<<"$out")" -ge 1 ]'
check "no stalled alert for the failed database, no failed alert for the stalled one" \
  '! delivered MedplumMigrationStalled medplum_failed >/dev/null && ! delivered MedplumMigrationFailed medplum_stalled >/dev/null'
# docs/prometheus.md's PromQL that gives the state gauges a label "state":
# one series per target, its state now.
states_now() {
  http_get "http://127.0.0.1:$prom_port/api/v1/query?query=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' \
    'label_replace({__name__=~"medup_state_.+"}, "state", "$1", "__name__", "medup_state_(.+)") == 1')" |
    python3 -c 'import json, sys; print(" ".join(sorted(r["metric"]["target"] + "=" + r["metric"]["state"] for r in json.load(sys.stdin)["data"]["result"])))'
}
got="$(states_now || true)"
check "the documented PromQL labels each target with its state ($got)" \
  '[ "$got" = "down_eu=unreadable medplum_failed=failed medplum_stalled=stalled remote_eu=failed" ]'
exit "$fail"
