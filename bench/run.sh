#!/usr/bin/env bash
# medup's benchmark: this tree against a base release, measured in one run.
#
#   bash bench/run.sh                 # this tree against 0.2 (BASE=93a2102)
#   BASE=v0.2 bash bench/run.sh       # against any git ref
#
# It builds the base (git archive of BASE) into one private PostgreSQL
# install tree and this working tree into another, starts one throw-away
# cluster from each (same settings, same generated Medplum data), and times
# the same calls on both, alternating: round 1 base then this tree, round 2
# this tree then base, and so on, so a burst of load elsewhere on the
# machine hits both alike.  Printed per measurement: the base's time, this
# tree's, the ratio (the median of the per-round ratios) and whether this
# tree is within 20% of the base.  Then what only this tree has: a remote
# status() next to a local one, with the round trips it made, and the
# background worker's CPU per sample on both.
#
# Environment:
#   BASE                   git ref of the base (default 93a2102, medup 0.2)
#   MEDUP_BENCH_PORT       port of the base's cluster; this tree's is the
#                          next one (default 54340)
#   MEDUP_BENCH_SIZES      "AsyncJob" sizes (default "1000 100000 1000000")
#   MEDUP_BENCH_ROUNDS     alternating rounds per measurement (default 5)
#   MEDUP_BENCH_WORKER_SECONDS  how long the workers sample (default 20;
#                          0 skips that part)
#   MEDUP_BENCH_TREE_BASE, MEDUP_BENCH_TREE_NOW
#                          private install trees to build into (copies of
#                          PostgreSQL's: usr/lib/postgresql/N, usr/share/
#                          postgresql/N, usr/include/postgresql under one
#                          root); default: copies of PG_BINDIR's tree made in
#                          the run's temporary directory and removed after.
#                          The system's tree is never installed into.
#
# It is a measurement, not a test: a measurement over 20% prints OVER and
# the script still exits 0; a real error exits non-zero.
set -euo pipefail
source "$(dirname "$0")/../test/lib.sh"

BASE="${BASE:-93a2102}"
PORT_BASE="${MEDUP_BENCH_PORT:-54340}"
PORT_NOW=$((PORT_BASE + 1))
ROUNDS="${MEDUP_BENCH_ROUNDS:-5}"
WORKER_SECONDS="${MEDUP_BENCH_WORKER_SECONDS:-20}"
GEN="$REPO/bench/asyncjob_gen.sql"

sizes=()
for n in ${MEDUP_BENCH_SIZES:-1000 100000 1000000}; do
  if ! [[ "$n" =~ ^[1-9][0-9]*$ ]]; then
    echo "MEDUP_BENCH_SIZES: \"$n\" is not a positive integer" >&2
    exit 2
  fi
  sizes+=("$n")
done
if [ ${#sizes[@]} -eq 0 ]; then
  echo "MEDUP_BENCH_SIZES is empty" >&2
  exit 2
fi
for v in ROUNDS WORKER_SECONDS; do
  if ! [[ "${!v}" =~ ^[0-9]+$ ]]; then
    echo "MEDUP_BENCH_$v: \"${!v}\" is not a number" >&2
    exit 2
  fi
done
if [ "$ROUNDS" -lt 1 ]; then
  echo "MEDUP_BENCH_ROUNDS must be at least 1" >&2
  exit 2
fi
if ! base_commit="$(git -C "$REPO" rev-parse --verify --quiet "$BASE^{commit}")"; then
  echo "BASE=$BASE is not a commit of $REPO" >&2
  exit 2
fi

bash "$REPO/test/deps.sh"

W="$(server_tmpdir bench)"
PIDS=()
cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for side in base now; do
    if [ -f "$W/$side/data/postmaster.pid" ]; then
      as_server_user "$(bindir "$side")/pg_ctl" -D "$W/$side/data" stop -m immediate >/dev/null 2>&1 || true
    fi
  done
  rm -rf "$W"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- two install trees, two builds ---------------------------------------
PG_MAJOR="$("$PG_BINDIR/pg_config" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')"
ROOT_OF_SYSTEM="$(cd "$PG_BINDIR/../../../../.." && pwd)"   # PG_BINDIR is ROOT/usr/lib/postgresql/N/bin
make_tree() {   # make_tree DIR: a private copy of PG_BINDIR's install tree
  mkdir -p "$1/usr/lib/postgresql" "$1/usr/share/postgresql" "$1/usr/include"
  cp -a "$ROOT_OF_SYSTEM/usr/lib/postgresql/$PG_MAJOR" "$1/usr/lib/postgresql/"
  cp -a "$ROOT_OF_SYSTEM/usr/share/postgresql/$PG_MAJOR" "$1/usr/share/postgresql/"
  cp -a "$ROOT_OF_SYSTEM/usr/include/postgresql" "$1/usr/include/"
}
TREE_BASE="${MEDUP_BENCH_TREE_BASE:-}"
TREE_NOW="${MEDUP_BENCH_TREE_NOW:-}"
if [ -z "$TREE_BASE" ]; then TREE_BASE="$W/tree-base"; make_tree "$TREE_BASE"; fi
if [ -z "$TREE_NOW" ]; then TREE_NOW="$W/tree-now"; make_tree "$TREE_NOW"; fi
bindir() {   # bindir base|now
  if [ "$1" = base ]; then echo "$TREE_BASE/usr/lib/postgresql/$PG_MAJOR/bin"
  else echo "$TREE_NOW/usr/lib/postgresql/$PG_MAJOR/bin"; fi
}
for side in base now; do
  if [ ! -x "$(bindir $side)/pg_config" ]; then
    echo "no PostgreSQL $PG_MAJOR install tree at $(bindir $side)" >&2
    exit 1
  fi
done

echo "== build: base $BASE ($(git -C "$REPO" rev-parse --short "$base_commit")) and this tree ($(git -C "$REPO" rev-parse --short HEAD)$(git --no-optional-locks -C "$REPO" diff --quiet HEAD 2>/dev/null || echo '+changes'))"
mkdir -p "$W/base-src"
git -C "$REPO" archive "$base_commit" | tar -x -C "$W/base-src"
build_into() {   # build_into SRC_DIR SIDE
  make -C "$1" -s clean >/dev/null
  make -C "$1" -s PG_CONFIG="$(bindir "$2")/pg_config" >/dev/null
  make -C "$1" -s PG_CONFIG="$(bindir "$2")/pg_config" install >/dev/null
}
build_into "$W/base-src" base
build_into "$REPO" now
V_BASE="$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$W/base-src/medup.control")"
V_NOW="$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$REPO/medup.control")"
chown -R postgres: "$W" 2>/dev/null || true

# --- two clusters --------------------------------------------------------
# The base's cluster also listens on the loopback: it is the remote target
# of this tree's in the remote part, with the statements of the monitoring
# login logged there to count them.
for side in base now; do
  if [ "$side" = base ]; then port=$PORT_BASE; else port=$PORT_NOW; fi
  mkdir -p "$W/$side"; chown postgres: "$W/$side" 2>/dev/null || true
  as_server_user "$(bindir $side)/initdb" -D "$W/$side/data" -A trust -U postgres >/dev/null
  cat >> "$W/$side/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$W'
shared_preload_libraries = 'medup'
shared_buffers = '512MB'
max_wal_size = '4GB'
password_encryption = 'scram-sha-256'
log_connections = on
log_line_prefix = '%m [%p] %u@%d '
CONF
  { echo "host all medup_monitor 127.0.0.1/32 scram-sha-256"; cat "$W/$side/data/pg_hba.conf"; } > "$W/hba"
  as_server_user cp "$W/hba" "$W/$side/data/pg_hba.conf"
  if ! as_server_user "$(bindir $side)/pg_ctl" -D "$W/$side/data" -l "$W/$side/server.log" -w start >/dev/null; then
    cat "$W/$side/server.log" >&2 || true
    exit 1
  fi
done

export PGOPTIONS="-c client_min_messages=warning"
psql_on() {   # psql_on SIDE [DB] psql-args...
  local side="$1" port=$PORT_BASE
  shift
  if [ "$side" = now ]; then port=$PORT_NOW; fi
  "$(bindir "$side")/psql" -h "$W" -p "$port" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"
}
q() {   # q SIDE SQL...: each SQL in one session of database bench, unaligned
  local side="$1" args=()
  shift
  for s in "$@"; do args+=(-c "$s"); done
  psql_on "$side" -d bench -At -F '|' "${args[@]}"
}

echo "== data: the same Medplum-shaped schemas in both clusters (bench/asyncjob_gen.sql)"
cp "$GEN" "$W/asyncjob_gen.sql"
for side in base now; do
  psql_on "$side" -d postgres -c "CREATE DATABASE bench"
  q "$side" "CREATE EXTENSION medup"
  psql_on "$side" -d bench -f "$REPO/bench/timer.sql" >/dev/null
  psql_on "$side" -d bench -f "$REPO/test/medplum.sql" >/dev/null
done
gen() {   # gen SIDE: every size, one after the other
  local n
  for n in "${sizes[@]}"; do
    psql_on "$1" -d bench -At -v schema="bench_$n" -v rows="$n" -f "$W/asyncjob_gen.sql" >/dev/null
    q "$1" "VACUUM (ANALYZE) bench_$n.\"AsyncJob\", bench_$n.\"AsyncJob_History\""
  done
}
t0=$(date +%s)
gen base & g1=$!
gen now & g2=$!
PIDS+=("$g1" "$g2")
wait "$g1"; wait "$g2"
PIDS=()
echo "sizes ${sizes[*]}: generated and vacuumed in both clusters in $(( $(date +%s) - t0 )) s"
big="${sizes[0]}"
for n in "${sizes[@]}"; do if [ "$n" -gt "$big" ]; then big="$n"; fi; done
echo "medup $V_BASE (base) and medup $V_NOW (this tree); at every size the state is: $(q now "SET medup.medplum_schema = 'bench_$big'" "SELECT state || ', running v' || running_migration FROM medup.status()")"

# --- the timer -------------------------------------------------------------
fmt_ms() {
  awk -v x="$1" 'BEGIN { if (x == "" || x == "-") print "-";
                         else if (x < 0.1) printf "%.4f", x; else if (x < 10) printf "%.3f", x;
                         else if (x < 1000) printf "%.1f", x; else printf "%.0f", x }'
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END {
             if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
             else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# one SIDE TX SETTING QUERY: ms per call of QUERY on SIDE, one repeat of an
# in-server loop of about 300 ms (bench/timer.sql; TX=1: one transaction
# per call, for calls that write, as the worker commits every sample).
one() {
  local side="$1" tx="$2" setting="$3" query="$4" s=NULL
  if [ -n "$setting" ]; then s="\$s\$$setting\$s\$"; fi
  if [ "$tx" = 1 ]; then
    q "$side" "SELECT medup_bench.prepare_tx(ARRAY[\$q\$$query\$q\$], ARRAY[$s]::text[])" >/dev/null
    q "$side" "CALL medup_bench._txdrive(2000, 1, 300)"
    q "$side" "SELECT median_ms FROM medup_bench.tx_summary()"
  else
    q "$side" "SELECT median_ms FROM medup_bench.timeit(ARRAY[\$q\$$query\$q\$], ARRAY[$s]::text[], 2000, 1, 300)"
  fi
}

# compare LABEL TX SETTING BASE_QUERY NOW_QUERY [new]: ROUNDS alternating
# rounds; prints the row and keeps the verdict for the summary.  "new":
# this tree does work the base did not do, so the ratio is shown with no
# 20% target ("new work") and is not counted over.
summary=()
over=0
compare() {
  local label="$1" tx="$2" setting="$3" qb="$4" qn="$5" new="${6:-}" r tb tn bs=() ns=() rs=()
  for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then
      tb="$(one base "$tx" "$setting" "$qb")"; tn="$(one now "$tx" "$setting" "$qn")"
    else
      tn="$(one now "$tx" "$setting" "$qn")"; tb="$(one base "$tx" "$setting" "$qb")"
    fi
    bs+=("$tb"); ns+=("$tn"); rs+=("$(awk -v a="$tn" -v b="$tb" 'BEGIN { print a / b }')")
  done
  local mb mn mr v
  mb="$(echo "${bs[*]}" | median)"; mn="$(echo "${ns[*]}" | median)"; mr="$(echo "${rs[*]}" | median)"
  if [ "$new" = new ]; then v="new work"
  elif awk -v r="$mr" 'BEGIN { exit !(r <= 1.2) }'; then v=yes; else v=OVER; over=$((over + 1)); fi
  local line
  line="$(printf '%-50s | %10s | %10s | %6.2fx | %s' "$label" "$(fmt_ms "$mb")" "$(fmt_ms "$mn")" "$mr" "$v")"
  echo "$line"
  summary+=("$line")
}

echo
echo "== $V_BASE against this tree, same data, alternating rounds"
printf '%-50s | %10s | %10s | %7s | %s\n' "per call, median of $ROUNDS rounds" "$V_BASE ms" "$V_NOW ms" "ratio" "within 20%"
printf '%-50s-+-%10s-+-%10s-+-%7s-+-%s\n' "" "" "" "" "----------" | tr ' ' '-'
oldest="$(q base "SELECT min(version) FROM medup.release")"
S="SET medup.medplum_schema = 'bench_$big'"
# The path itself (0.2's whole upgrade_path(); path_stops() now, which
# upgrade_path() prices), then the priced path: pricing is new work.
stops_now="medup.path_stops"
if ! q now "SELECT to_regproc('medup.path_stops') IS NOT NULL" | grep -q t; then stops_now="medup.upgrade_path"; fi
compare "path: upgrade_path('$oldest', 'latest') stops" 0 "$S" \
  "SELECT * FROM medup.upgrade_path('$oldest', 'latest')" "SELECT * FROM $stops_now('$oldest', 'latest')"
compare "path: ... required_only stops" 0 "$S" \
  "SELECT * FROM medup.upgrade_path('$oldest', 'latest', required_only => true)" \
  "SELECT * FROM $stops_now('$oldest', 'latest', required_only => true)"
compare "upgrade_path('$oldest', 'latest') priced" 0 "$S" \
  "SELECT * FROM medup.upgrade_path('$oldest', 'latest')" "SELECT * FROM medup.upgrade_path('$oldest', 'latest')" new
for n in "${sizes[@]}"; do
  compare "status() at $n jobs" 0 "SET medup.medplum_schema = 'bench_$n'" \
    "SELECT * FROM medup.status()" "SELECT * FROM medup.status()"
done
compare "check('latest') at $big jobs" 0 "$S" "SELECT * FROM medup.check('latest')" "SELECT * FROM medup.check('latest')"
for v in migrations jobs progress; do
  compare "medup.$v at $big jobs" 0 "$S" "SELECT * FROM medup.$v" "SELECT * FROM medup.$v"
done
# A sample writes: one transaction per call, from empty audit tables.
for side in base now; do q "$side" "DELETE FROM medup.event" "DELETE FROM medup.sample" "DELETE FROM medup.sampler"; done
sample_base="SELECT medup.sample()"
sample_now="SELECT medup.take_sample()"
if q base "SELECT to_regprocedure('medup.take_sample()') IS NOT NULL" | grep -q t; then sample_base="$sample_now"; fi
compare "one sample at $big jobs (a transaction each)" 1 "$S" "$sample_base" "$sample_now"

echo "status() is timed with a migration running (v21, a custom migration, its job accepted); gate() is check()"
echo "and an error when a rule refuses, as here (a migration runs): check() times it."
st_big="$(printf '%s\n' "${summary[@]}" | awk -F'|' -v l="status() at $big jobs " 'index($1, l) == 1 { gsub(/ /, "", $3); print $3 }')"
if awk -v x="$st_big" 'BEGIN { exit !(x <= 1) }'; then v=PASS; else v=MISS; fi
summary+=("status() at $big jobs: $st_big ms (target <= 1 ms at 1000000 jobs): $v")
echo "${summary[-1]}"

# --- retention: how fast expired rows go -----------------------------------
# The same backlog on both sides (20,000 samples past medup.retention, the
# rows a 50-target fleet sampled every second writes in under 7 minutes),
# then 25 samples, a transaction each, as the worker takes them.
echo
echo "== retention: 20,000 expired samples, then 25 samples on each side"
backlog=20000 passes=25
printf '%-12s | %14s | %12s\n' cluster "expired left" "25 samples"
declare -A left ms
for side in base now; do
  sample_call="$sample_now"; [ "$side" = base ] && sample_call="$sample_base"
  q "$side" "UPDATE medup.sampler SET last_retention_at = NULL" \
    "INSERT INTO medup.sample (sampled_at, state)
     SELECT now() - interval '40 days' - i * interval '1 second', 'up_to_date' FROM generate_series(1, $backlog) i" >/dev/null
  ms[$side]="$(q "$side" "$S" "CREATE TEMP TABLE bench_start AS SELECT clock_timestamp() AS t0" \
                 "DO \$\$ BEGIN FOR i IN 1 .. $passes LOOP PERFORM ($sample_call); COMMIT; END LOOP; END \$\$" \
                 "SELECT round(extract(epoch FROM clock_timestamp() - t0) * 1000) FROM bench_start")"
  left[$side]="$(q "$side" "SELECT count(*) FROM medup.sample WHERE sampled_at < now() - interval '30 days'")"
  label="$V_NOW"; [ "$side" = base ] && label="$V_BASE"
  printf '%-12s | %14s | %9s ms\n' "$label" "${left[$side]}" "${ms[$side]}"
  q "$side" "DELETE FROM medup.sample WHERE sampled_at < now() - interval '30 days'" >/dev/null
done
summary+=("retention, $backlog expired samples then $passes samples: $V_BASE leaves ${left[base]} (${ms[base]} ms), $V_NOW leaves ${left[now]} (${ms[now]} ms)")

# --- remote: status(target) against a local status() on the same data ----
echo
echo "== remote target: status('remote') of this tree over TCP on the loopback, the base's cluster as Medplum"
PW="bench-$RANDOM-$RANDOM-$RANDOM"
psql_on base -d bench -c "CREATE ROLE medup_monitor LOGIN PASSWORD '$PW'" \
  -c "GRANT USAGE ON SCHEMA bench_$big TO medup_monitor" \
  -c "GRANT SELECT ON bench_$big.\"DatabaseMigration\", bench_$big.\"AsyncJob\" TO medup_monitor" \
  -c "GRANT pg_monitor TO medup_monitor" \
  -c "ALTER ROLE medup_monitor SET log_statement = 'all'" >/dev/null
q now "CREATE SCHEMA medup_dblink" "CREATE EXTENSION dblink SCHEMA medup_dblink" \
  "CREATE SERVER remote FOREIGN DATA WRAPPER dblink_fdw OPTIONS (host '127.0.0.1', port '$PORT_BASE', dbname 'bench', connect_timeout '5')" \
  "CREATE USER MAPPING FOR postgres SERVER remote OPTIONS (user 'medup_monitor', password '$PW')" \
  "SELECT medup.add_target('remote', 'remote', medplum_schema => 'bench_$big')" >/dev/null
same="$(q now "$S" "SELECT (SELECT to_jsonb(s) - 'checked_at' - 'medplum_schema' - 'est_time_left_low' - 'est_time_left_high' - 'worker_running' - 'last_sample_at' FROM medup.status() s)
                    = (SELECT to_jsonb(s) - 'checked_at' - 'medplum_schema' - 'est_time_left_low' - 'est_time_left_high' - 'worker_running' - 'last_sample_at' FROM medup.status('remote') s)")"
log_lines() { wc -l < "$W/base/server.log"; }
CALLS=20
l0="$(log_lines)"
q now "DO \$\$ BEGIN FOR i IN 1 .. $CALLS LOOP PERFORM * FROM medup.status('remote'); END LOOP; END \$\$" >/dev/null
sleep 0.5
tail -n +"$((l0 + 1))" "$W/base/server.log" > "$W/remote.log"
stmts="$(grep -c 'medup_monitor@bench LOG:  statement: ' "$W/remote.log" || true)"
conns="$(grep -c 'connection authorized: user=medup_monitor' "$W/remote.log" || true)"
rows=()
for r in $(seq 1 "$ROUNDS"); do
  lt_="$(one now 0 "$S" "SELECT * FROM medup.status()")"
  rt_="$(one now 0 "" "SELECT * FROM medup.status('remote')")"
  ct_="$(one now 0 "" "SELECT medup_dblink.dblink_connect('c', 'remote'), medup_dblink.dblink_disconnect('c')")"
  rows+=("$lt_ $rt_ $ct_")
done
col() { printf '%s\n' "${rows[@]}" | awk -v c="$1" '{ print $c }' | tr '\n' ' ' | median; }
ml="$(col 1)"; mr="$(col 2)"; mc="$(col 3)"
printf '%-55s %10s ms\n' "status() of the same data, local" "$(fmt_ms "$ml")"
printf '%-55s %10s ms\n' "status('remote')" "$(fmt_ms "$mr")"
printf '%-55s %10s ms\n' "  of which one connection (dblink_connect, disconnect)" "$(fmt_ms "$mc")"
printf '%-55s %10s ms\n' "  the rest: queries, transfer, deciding" "$(fmt_ms "$(awk -v a="$mr" -v b="$mc" 'BEGIN { print a - b }')")"
echo "the remote's log over $CALLS calls of status('remote'): $stmts statements, $conns connections:"
echo "  $(awk -v s="$stmts" -v n="$CALLS" 'BEGIN { printf "%.1f", s / n }') statements (round trips) per call, each on a connection of its own call ($(awk -v s="$conns" -v n="$CALLS" 'BEGIN { printf "%.1f", s / n }') per call)"
echo "  the statements of one call: $(grep 'LOG:  statement: ' "$W/remote.log" | head -n "$(awk -v s="$stmts" -v n="$CALLS" 'BEGIN { print int(s / n) }')" | sed -E 's/.*statement: //' | cut -c1-60 | tr '\n' '|' | sed 's/|$//; s/|/ | /g')"
echo "  the same answer as the local status(): $([ "$same" = t ] && echo yes || echo NO)"
summary+=("$(printf 'remote status(): %s ms, local %s ms (one connection %s ms); %s statements and %s connection(s) per call; same answer: %s' \
  "$(fmt_ms "$mr")" "$(fmt_ms "$ml")" "$(fmt_ms "$mc")" "$(awk -v s="$stmts" -v n="$CALLS" 'BEGIN { printf "%.1f", s / n }')" \
  "$(awk -v s="$conns" -v n="$CALLS" 'BEGIN { printf "%.1f", s / n }')" "$([ "$same" = t ] && echo yes || echo NO)")")

# --- the worker: CPU per sample --------------------------------------------
echo
if [ "$WORKER_SECONDS" -eq 0 ]; then
  echo "== worker: skipped (MEDUP_BENCH_WORKER_SECONDS=0)"
else
  echo "== worker: both clusters sample database bench (schema bench_$big) every second for $WORKER_SECONDS s, at once"
  # The same work on both sides: this database only (the remote target of
  # the section above would add a second sample, over the network, to each
  # of this tree's samplers).
  q now "SELECT medup.drop_target('remote')" >/dev/null
  for side in base now; do
    q "$side" "DELETE FROM medup.event" "DELETE FROM medup.sample" "DELETE FROM medup.sampler"
    psql_on "$side" -d postgres -c "ALTER DATABASE bench SET medup.medplum_schema = 'bench_$big'" \
      -c "ALTER SYSTEM SET medup.naptime = 1" -c "ALTER SYSTEM SET medup.databases = 'bench'" \
      -c "SELECT pg_reload_conf()" >/dev/null
  done
  samples() { q "$1" "SELECT coalesce(sum(samples), 0) FROM medup.sampler"; }
  # Both workers' CPU from the kernel (/proc/PID/schedstat, ns on CPU)
  # over the same window, after their first 3 samples (a fresh process
  # fills its caches): the base's long-lived worker, this tree's sampler,
  # which stays connected while no database waits for one.  Beside it,
  # medup.sampling's cpu_ms_per_sample: since the sampler started, its
  # start included, as the worker counts it.
  for i in $(seq 1 150); do
    if [ "$(samples base)" -ge 3 ] && [ "$(samples now)" -ge 3 ]; then break; fi
    sleep 0.2
  done
  bpid="$(q base "SELECT pid FROM pg_stat_activity WHERE backend_type = 'medup worker'" | head -n 1)"
  npid="$(q now "SELECT pid FROM pg_stat_activity WHERE backend_type = 'medup sampler' AND datname = 'bench'" | head -n 1)"
  schedstat() { awk '{ print $1 }' "/proc/$1/schedstat" 2>/dev/null || echo -; }
  c0="$(schedstat "$bpid")"; s0="$(samples base)"
  d0="$(schedstat "$npid")"; n0="$(samples now)"
  sleep "$WORKER_SECONDS"
  c1="$(schedstat "$bpid")"; s1="$(samples base)"
  d1="$(schedstat "$npid")"; n1="$(samples now)"
  per_sample() {   # per_sample NS0 NS1 SAMPLES: ms of CPU per sample, or -
    if [ "$1" != - ] && [ "$2" != - ] && [ "$3" -gt 0 ]; then
      awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { print (b - a) / 1e6 / n }'
    else echo -; fi
  }
  base_cpu="$(per_sample "$c0" "$c1" "$((s1 - s0))")"
  # (- when the sampler was replaced in the window: its pid is gone)
  now_kernel="$(per_sample "$d0" "$d1" "$((n1 - n0))")"
  now_row="$(q now "SELECT round(cpu_ms_per_sample::numeric, 3), samplers, late FROM medup.sampling WHERE database_name = 'bench'")"
  now_cpu="$(echo "$now_row" | cut -d'|' -f1)"
  outcome_b="$(q base "SELECT string_agg(last_outcome, ', ') FROM medup.sampler")"
  outcome_n="$(q now "SELECT string_agg(last_outcome, ', ') FROM medup.sampler")"
  printf '%-12s | %8s | %-36s | %s\n' cluster samples "CPU per sample" "last outcome"
  printf '%-12s | %8s | %-36s | %s\n' "$V_BASE" "$((s1 - s0))" "$(fmt_ms "$base_cpu") ms (one process, /proc schedstat)" "$outcome_b"
  printf '%-12s | %8s | %-36s | %s\n' "$V_NOW" "$((n1 - n0))" "$(fmt_ms "$now_kernel") ms (its sampler, /proc schedstat)" "$outcome_n"
  echo "medup.sampling: $(fmt_ms "$now_cpu") ms per sample since the sampler started, its start included ($(echo "$now_row" | cut -d'|' -f2) sampler(s) started)"
  echo "(at the default naptime of 10 s, a core's share is a tenth of these figures per second)"
  summary+=("worker CPU per sample at $big jobs, naptime 1 s: $V_BASE $(fmt_ms "$base_cpu") ms, $V_NOW $(fmt_ms "$now_kernel") ms (both from the kernel; $V_NOW since its start, start included: $(fmt_ms "$now_cpu") ms)")
  for side in base now; do
    psql_on "$side" -d postgres -c "ALTER SYSTEM RESET medup.databases" -c "ALTER SYSTEM RESET medup.naptime" \
      -c "SELECT pg_reload_conf()" >/dev/null
  done
fi

# --- summary ---------------------------------------------------------------
echo
echo "== summary (paste into a note)"
echo '```'
echo "medup bench, $(date -u +%Y-%m-%dT%H:%MZ), base $BASE ($V_BASE) against $(git -C "$REPO" rev-parse --short HEAD)$(git --no-optional-locks -C "$REPO" diff --quiet HEAD 2>/dev/null || echo '+changes') ($V_NOW), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), PostgreSQL $("$(bindir now)/postgres" -V | awk '{print $3}')"
echo "in-server loops of ~300 ms per round, $ROUNDS rounds alternating base/now; ratio = median of per-round now/base"
for l in "${summary[@]}"; do echo "$l"; done
echo "measurements over 20%: $over"
echo '```'
