#!/usr/bin/env bash
# medup's benchmark: builds and installs medup, starts a private throw-away
# cluster, and prints per-call times measured in this one run next to a
# baseline measured the same way, so that the ratios mean something even on
# a small, noisy machine.
#
#   bash bench/run.sh
#
# Environment:
#   MEDUP_BENCH_PORT   port of the private cluster (default 54340)
#   MEDUP_BENCH_SIZES  "AsyncJob" sizes for the status part
#                      (default "1000 100000 1000000")
#   MEDUP_BENCH_PGBENCH_SECONDS  length of one pgbench run of the worker
#                      overhead part (default 15; 0 skips that part)
#   MEDUP_BENCH_PGBENCH_RUNS     pgbench runs, alternating worker off and on
#                      (default 6; even, at least 2)
#
# Every time is a per-call time from a loop run inside the server (a plpgsql
# function calling the query n times, timed with clock_timestamp()), so
# neither the client nor the socket is measured.  Queries that are compared
# with each other are timed in interleaved repeats (A B C A B C ...), so a
# burst of load elsewhere on the machine hits all of them alike; the ratios
# are medians of the per-repeat ratios.
#
# It is a measurement, not a test: a missed target prints MISS and the
# script still exits 0; a real error exits non-zero.
set -euo pipefail
source "$(dirname "$0")/../test/lib.sh"

BENCH_PORT="${MEDUP_BENCH_PORT:-54340}"
BENCH_SIZES="${MEDUP_BENCH_SIZES:-1000 100000 1000000}"
GEN="$REPO/bench/asyncjob_gen.sql"

sizes=()
for n in $BENCH_SIZES; do
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
PGB_SECONDS="${MEDUP_BENCH_PGBENCH_SECONDS:-15}"
PGB_RUNS="${MEDUP_BENCH_PGBENCH_RUNS:-6}"
if ! [[ "$PGB_SECONDS" =~ ^[0-9]+$ ]]; then
  echo "MEDUP_BENCH_PGBENCH_SECONDS: \"$PGB_SECONDS\" is not a number of seconds" >&2
  exit 2
fi
if ! [[ "$PGB_RUNS" =~ ^[1-9][0-9]*$ ]] || [ $((PGB_RUNS % 2)) -ne 0 ]; then
  echo "MEDUP_BENCH_PGBENCH_RUNS: \"$PGB_RUNS\" is not an even number >= 2" >&2
  exit 2
fi
if [ ! -f "$GEN" ]; then
  echo "$GEN is missing" >&2
  exit 1
fi

bash "$REPO/test/deps.sh"
build_and_install

# --- the private cluster ---------------------------------------------------
BENCH_DIR="$(server_tmpdir bench)"
cleanup() {
  local rc=$?
  if [ -f "$BENCH_DIR/data/postmaster.pid" ]; then
    as_server_user "$PG_BINDIR/pg_ctl" -D "$BENCH_DIR/data" stop -m immediate >/dev/null 2>&1 || true
  fi
  rm -rf "$BENCH_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== private cluster in $BENCH_DIR, port $BENCH_PORT"
as_server_user "$PG_BINDIR/initdb" -D "$BENCH_DIR/data" -A trust -U postgres >/dev/null
cat >> "$BENCH_DIR/data/postgresql.conf" <<CONF
port = $BENCH_PORT
listen_addresses = ''
unix_socket_directories = '$BENCH_DIR'
shared_preload_libraries = 'medup'
shared_buffers = '1GB'
max_wal_size = '4GB'
CONF
if ! as_server_user "$PG_BINDIR/pg_ctl" -D "$BENCH_DIR/data" -l "$BENCH_DIR/server.log" -w start >/dev/null; then
  cat "$BENCH_DIR/server.log" >&2 || true
  exit 1
fi

export PGOPTIONS="-c client_min_messages=warning"
PSQL=("$PG_BINDIR/psql" -h "$BENCH_DIR" -p "$BENCH_PORT" -U postgres -X -q -v ON_ERROR_STOP=1)
q() {   # q SQL...: run each SQL in one session of database bench, unaligned output
  local args=()
  for s in "$@"; do args+=(-c "$s"); done
  "${PSQL[@]}" -d bench -At -F '|' "${args[@]}"
}

"${PSQL[@]}" -d postgres -c "CREATE DATABASE bench"
q "CREATE EXTENSION medup"

# The timers (bench/timer.sql): medup_bench.timeit() runs each query in a
# loop inside the server, medup_bench.prepare_tx()/_txdrive() the same with
# one transaction per call.
"${PSQL[@]}" -d bench -f "$REPO/bench/timer.sql" >/dev/null

# query_arrays QUERY [SETTING] [QUERY [SETTING]]...: the two SQL arrays
# (queries, settings; "" for no setting), dollar-quoted, comma-separated:
# "ARRAY[...]::text[], ARRAY[...]::text[]".
query_arrays() {
  local qs=() ss=()
  while [ $# -gt 0 ]; do
    qs+=("\$q\$$1\$q\$")
    if [ -n "${2:-}" ]; then ss+=("\$s\$$2\$s\$"); else ss+=("NULL"); fi
    shift 2 || shift 1
  done
  echo "ARRAY[$(IFS=,; echo "${qs[*]}")]::text[], ARRAY[$(IFS=,; echo "${ss[*]}")]::text[]"
}

# timeit MAX_ITER REPEATS TARGET_MS QUERY [SETTING] [QUERY [SETTING]]...
# (pairs; use "" for no setting).  Prints one line per query:
# "no|median ms|min ms|max ms|calls|median ratio to the first query"
timeit() {
  local max_iter="$1" repeats="$2" target="$3"
  shift 3
  q "SELECT query_no, round(median_ms::numeric, 6), round(min_ms::numeric, 6), round(max_ms::numeric, 6),
            calls, round(ratio_to_first::numeric, 3)
     FROM medup_bench.timeit($(query_arrays "$@"), $max_iter, $repeats, $target)"
}

# timeit_tx MAX_ITER REPEATS TARGET_MS QUERY [SETTING] [QUERY [SETTING]]...:
# like timeit, one transaction per call; SETTING is a statement run first.
timeit_tx() {
  local max_iter="$1" repeats="$2" target="$3"
  shift 3
  q "SELECT medup_bench.prepare_tx($(query_arrays "$@"))" >/dev/null
  q "CALL medup_bench._txdrive($max_iter, $repeats, $target)"
  q "SELECT query_no, round(median_ms::numeric, 6), round(min_ms::numeric, 6), round(max_ms::numeric, 6),
            calls, round(ratio_to_first::numeric, 3)
     FROM medup_bench.tx_summary()"
}

fmt_ms() {   # a readable number of milliseconds
  awk -v x="$1" 'BEGIN { if (x == "" || x == "-") print "-";
                         else if (x < 0.1) printf "%.4f", x; else if (x < 10) printf "%.3f", x;
                         else if (x < 1000) printf "%.1f", x; else printf "%.0f", x }'
}
fmt_x() {   # a readable ratio
  awk -v r="$1" 'BEGIN { if (r == "" || r == "-") print "-"; else if (r >= 100) printf "%.0fx", r;
                         else printf "%.2fx", r }'
}
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b <= 0) print "-";
                                           else print a / b }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
field() { echo "$1" | cut -d'|' -f"$2"; }
line_no() { echo "$1" | sed -n "${2}p"; }

summary=()

# --- part 1: upgrade_path over the longest path in the catalog -----------
echo
echo "== upgrade_path"
from="$(q "SELECT min(version) FROM medup.release")"
latest="$(q "SELECT max(version) FROM medup.release")"
steps="$(q "SELECT count(*) FROM medup.upgrade_path('$from', 'latest')")"
steps_req="$(q "SELECT count(*) FROM medup.upgrade_path('$from', 'latest', required_only => true)")"
echo "longest path in the catalog: $from -> latest ($latest): $steps stops, $steps_req required"

labels=("baseline: generate_series(1, $steps)"
        "upgrade_path('$from', 'latest')"
        "upgrade_path('$from', 'latest', required_only)")
out="$(timeit 2000 5 400 \
  "SELECT * FROM generate_series(1, $steps)" "" \
  "SELECT * FROM medup.upgrade_path('$from', 'latest')" "" \
  "SELECT * FROM medup.upgrade_path('$from', 'latest', required_only => true)" "")"
printf '%-48s %10s %9s %9s %7s %8s\n' "query (per call, in-server loop)" "median ms" "min ms" "max ms" "calls" "x base"
for i in 1 2 3; do
  row="$(line_no "$out" "$i")"
  printf '%-48s %10s %9s %9s %7s %8s\n' "${labels[$((i - 1))]}" "$(fmt_ms "$(field "$row" 2)")" \
    "$(fmt_ms "$(field "$row" 3)")" "$(fmt_ms "$(field "$row" 4)")" "$(field "$row" 5)x5" \
    "$(fmt_x "$(field "$row" 6)")"
done
base_ms="$(field "$(line_no "$out" 1)" 2)"
for i in 2 3; do
  row="$(line_no "$out" "$i")"
  m="$(field "$row" 2)"
  if lt "$m" 1; then verdict=PASS; else verdict=MISS; fi
  l="$(printf '%-46s %s ms per call, %s baseline (target < 1 ms): %s' "${labels[$((i - 1))]}" \
        "$(fmt_ms "$m")" "$(fmt_x "$(field "$row" 6)")" "$verdict")"
  echo "$l"
  summary+=("$l")
done

# --- part 2: status() and check() against a Medplum-shaped AsyncJob -------
echo
echo "== status() / check()"
# Generate every size first; all schemas stay, so status() can be timed on
# all sizes in interleaved rounds.  psql reads the generator as it goes: run
# a private copy, so an edit made to it meanwhile cannot break the run.
cp "$GEN" "$BENCH_DIR/asyncjob_gen.sql"
"${PSQL[@]}" -d bench -q -f "$REPO/test/medplum.sql" >/dev/null
for n in "${sizes[@]}"; do
  schema="bench_$n"
  t0=$(date +%s.%N)
  gen_out="$("${PSQL[@]}" -d bench -At -F '|' -v schema="$schema" -v rows="$n" -f "$BENCH_DIR/asyncjob_gen.sql" | tail -n 1)"
  q "VACUUM (ANALYZE) $schema.\"AsyncJob\", $schema.\"AsyncJob_History\""
  t1=$(date +%s.%N)
  printf '%s: %s rows, %s data-migration jobs, %s; generated and vacuumed in %.0f s\n' "$schema" \
    "$(field "$gen_out" 1)" "$(field "$gen_out" 2)" "$(field "$gen_out" 3)" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
done

# The naive scan parses every row's JSON: seconds at 1M rows.  At most 200
# calls a repeat, 3 repeats, after a warm-up that reads the table into memory.
NAIVE_WHERE="(content::jsonb ->> 'type') = 'data-migration' AND (content::jsonb ->> 'status') = 'active'"
declare -A st ck nv
for n in "${sizes[@]}"; do
  st[$n]="-"; ck[$n]="-"
  nv[$n]="$(field "$(timeit 200 3 1000 "SELECT count(*) FROM bench_$n.\"AsyncJob\" WHERE $NAIVE_WHERE" "")" 2)"
  echo "naive scan at $n rows: $(fmt_ms "${nv[$n]}") ms"
done

ref="${sizes[0]}"
big="${sizes[0]}"
for n in "${sizes[@]}"; do
  if [ "$n" -eq 1000 ]; then ref=1000; fi
  if [ "$n" -gt "$big" ]; then big="$n"; fi
done
# status() and check() on every size, interleaved, $ref first: the ratio to
# the first query is then status(N)/status($ref), a median of per-round ratios.
ordered=("$ref")
for n in "${sizes[@]}"; do if [ "$n" -ne "$ref" ]; then ordered+=("$n"); fi; done
declare -A st_x
for fn in status check; do
  if [ "$fn" = status ]; then call="SELECT * FROM medup.status()"; else call="SELECT * FROM medup.check('latest')"; fi
  args=()
  for n in "${ordered[@]}"; do args+=("$call" "SET medup.medplum_schema = 'bench_$n'"); done
  out="$(timeit 2000 5 400 "${args[@]}")"
  i=0
  for n in "${ordered[@]}"; do
    i=$((i + 1))
    row="$(line_no "$out" "$i")"
    if [ "$fn" = status ]; then st[$n]="$(field "$row" 2)"; st_x[$n]="$(field "$row" 6)"
    else ck[$n]="$(field "$row" 2)"; fi
  done
done

echo
printf '%10s | %12s | %11s | %11s | %13s | %s\n' rows "status() ms" "check() ms" "naive ms" "naive/status" "status(N)/status($ref)"
printf '%10s-+-%12s-+-%11s-+-%11s-+-%13s-+-%s\n' "" "" "" "" "" "------------------------" | tr ' ' '-'
for n in "${sizes[@]}"; do
  printf '%10s | %12s | %11s | %11s | %13s | %s\n' "$n" "$(fmt_ms "${st[$n]}")" "$(fmt_ms "${ck[$n]}")" \
    "$(fmt_ms "${nv[$n]}")" "$(fmt_x "$(div "${nv[$n]}" "${st[$n]}")")" \
    "$(fmt_x "${st_x[$n]:-}")"
done

echo
note=""
if [ "$big" -ne 1000000 ]; then note=" (the targets are for 1000000 rows; this run's largest size)"; fi
echo "targets at $big rows$note:"
s="${st[$big]}"
if lt "$s" 1; then v=PASS; else v=MISS; fi
t1="status() at $big rows: $(fmt_ms "$s") ms (target < 1 ms): $v"
r="${st_x[$big]}"
if lt "$r" 2; then v=PASS; else v=MISS; fi
t2="status() at $big rows / at $ref rows: $(fmt_x "$r") (target < 2x): $v"
r="$(div "${nv[$big]}" "$s")"
if ! lt "$r" 1000; then v=PASS; else v=MISS; fi
t3="naive JSON scan / status() at $big rows: $(fmt_x "$r") (target >= 1000x): $v"
for l in "$t1" "$t2" "$t3"; do echo "  $l"; summary+=("$l"); done
summary+=("check('latest') at $big rows: $(fmt_ms "${ck[$big]}") ms per call")
summary+=("naive JSON scan at $big rows: $(fmt_ms "${nv[$big]}") ms")

# --- part 3: sample(), its storage, and the worker's overhead ---------------
echo
echo "== sample(), storage and worker overhead"
clear_audit() {   # sample() writes: start every measurement from empty tables
  q "DELETE FROM medup.event" "DELETE FROM medup.sample" "DELETE FROM medup.sampler"
}
pct() { awk -v x="$1" 'BEGIN { if (x == "" || x == "-") print "-"; else printf "%.2f%%", x * 100 }'; }
fmt_bytes() {
  awk -v b="$1" 'BEGIN { if (b == "" || b == "-") print "-"; else if (b < 10240) printf "%.0f B", b;
                         else if (b < 10485760) printf "%.0f kB", b / 1024;
                         else printf "%.1f MB", b / 1048576 }'
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END {
             if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
             else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# 3a. The cost of one sample, next to status() (its biggest part), one
# transaction per call, on $ref and $big rows, each from empty tables.
# Then once more on $big rows with medup.sample holding 30 days of rows,
# as it does at steady state (see 3b).
SAMPLES_30D=259200
declare -A sp_row
sample_cost() {   # sample_cost KEY ROWS: time status() and sample(), store the rows
  local key="$1" n="$2" setting out
  setting="SET medup.medplum_schema = 'bench_$n'"
  out="$(timeit_tx 2000 5 400 "SELECT * FROM medup.status()" "$setting" "SELECT medup.take_sample()" "$setting")"
  sp_row[$key]="$(line_no "$out" 1)#$(line_no "$out" 2)"
  local outcome
  outcome="$(q "SELECT string_agg(last_outcome, ', ') FROM medup.sampler")"
  if [ "$outcome" != sampled ]; then
    echo "warning: sample() on bench_$n said \"$outcome\", not \"sampled\": the time is for that path" >&2
  fi
}
sizes_sample=("$ref")
if [ "$big" -ne "$ref" ]; then sizes_sample+=("$big"); fi
for n in "${sizes_sample[@]}"; do
  clear_audit
  sample_cost "$n" "$n"
done
loop_rows="$(q "SELECT count(*) FROM medup.sample")"
loop_events="$(q "SELECT count(*) FROM medup.event")"

# 3b. Storage, measured on what the loop on $big rows just wrote.
q "VACUUM (ANALYZE) medup.sample" "VACUUM (ANALYZE) medup.event"
st_row="$(q "SELECT count(*), pg_total_relation_size('medup.sample'), pg_relation_size('medup.sample'),
                    pg_indexes_size('medup.sample') FROM medup.sample")"
bpr="$(div "$(field "$st_row" 2)" "$(field "$st_row" 1)")"
# Then for real: fill medup.sample to 30 days at naptime 10 s with copies
# of the newest sample (older and older, inserted oldest first, as the
# worker would have), vacuum, and measure the whole table.  Every copy is
# younger than 30 days, so the retention delete still finds nothing.
q "INSERT INTO medup.sample
   SELECT r.* FROM (SELECT to_jsonb(s) AS j FROM medup.sample s ORDER BY s.sampled_at DESC LIMIT 1) newest,
                   (SELECT min(sampled_at) AS oldest, count(*) AS n FROM medup.sample) o,
                   generate_series($SAMPLES_30D - o.n, 1, -1) g,
                   LATERAL jsonb_populate_record(NULL::medup.sample,
                               newest.j || jsonb_build_object('sampled_at', o.oldest - g * interval '10 s')) r
   ORDER BY r.sampled_at"
q "VACUUM (ANALYZE) medup.sample"
full_row="$(q "SELECT count(*), pg_total_relation_size('medup.sample'), pg_relation_size('medup.sample'),
                      pg_indexes_size('medup.sample') FROM medup.sample")"
# Events: rare, so their per-row size is measured on 10,000 copies of the
# events this run recorded, in a scratch table shaped like medup.event.
ev_bpr="-"
if [ "$loop_events" -gt 0 ]; then
  ev_bpr="$(q "CREATE TABLE medup_bench.event_probe (LIKE medup.event INCLUDING ALL)" \
              "INSERT INTO medup_bench.event_probe (event_at, database_name, kind, data_version, job_id, detail)
               SELECT e.event_at - g * interval '1 min', e.database_name, e.kind, e.data_version, e.job_id, e.detail
                 FROM medup.event e, generate_series(1, ceil(10000.0 / $loop_events)::integer) g" \
              "VACUUM medup_bench.event_probe" \
              "SELECT pg_total_relation_size('medup_bench.event_probe')::float8 / count(*) FROM medup_bench.event_probe" \
              "DROP TABLE medup_bench.event_probe")"
fi

# 3a, continued: the cost of a sample at steady state, 30 days of rows.
sample_cost full "$big"

echo "one sample: per call, in-server loop, one transaction per call (commit included, as in the worker);"
echo "status() is the biggest part of sample() and is timed next to it, interleaved"
printf '%10s | %-24s | %11s | %11s | %9s | %9s | %7s | %s\n' rows "medup.sample holds" "status() ms" \
  "sample() ms" "min ms" "max ms" calls "sample/status"
printf '%10s-+-%-24s-+-%11s-+-%11s-+-%9s-+-%9s-+-%7s-+-%s\n' "" "" "" "" "" "" "" "-------------" | tr ' ' '-'
for key in "${sizes_sample[@]}" full; do
  a="${sp_row[$key]%%#*}"; b="${sp_row[$key]##*#}"
  if [ "$key" = full ]; then n="$big"; held="30 days ($SAMPLES_30D rows)"; else n="$key"; held="only this loop's rows"; fi
  printf '%10s | %-24s | %11s | %11s | %9s | %9s | %7s | %s\n' "$n" "$held" "$(fmt_ms "$(field "$a" 2)")" \
    "$(fmt_ms "$(field "$b" 2)")" "$(fmt_ms "$(field "$b" 3)")" "$(fmt_ms "$(field "$b" 4)")" \
    "$(field "$b" 5)x5" "$(fmt_x "$(field "$b" 6)")"
done
echo "the loop on $big rows wrote $loop_rows samples and $loop_events event(s)"
for key in "${sizes_sample[@]}" full; do
  a="${sp_row[$key]%%#*}"; b="${sp_row[$key]##*#}"
  m="$(field "$b" 2)"
  if lt "$m" 2; then v=PASS; else v=MISS; fi
  if [ "$key" = full ]; then what="sample() at $big rows, 30 days of samples kept:"; else what="sample() at $key rows:"; fi
  l="$(printf '%-48s %s ms per call, status() %s ms (target < 2 ms): %s' "$what" "$(fmt_ms "$m")" \
        "$(fmt_ms "$(field "$a" 2)")" "$v")"
  echo "$l"
  summary+=("$l")
done

echo
echo "storage at the defaults (naptime 10 s, retention 30 days: $SAMPLES_30D samples per database):"
printf '  after the loop on %s rows, vacuumed: %s rows, %s (heap %s, indexes %s): %s per sample\n' "$big" \
  "$(field "$st_row" 1)" "$(fmt_bytes "$(field "$st_row" 2)")" "$(fmt_bytes "$(field "$st_row" 3)")" \
  "$(fmt_bytes "$(field "$st_row" 4)")" "$(awk -v x="$bpr" 'BEGIN { printf "%.0f B", x }')"
proj="$(awk -v x="$bpr" -v n="$SAMPLES_30D" 'BEGIN { print x * n }')"
echo "  projected for 30 days: $SAMPLES_30D x that = $(fmt_bytes "$proj") (too high when the loop wrote few rows:"
echo "  each relation's fixed pages, free space map, visibility map, index metapage and root, count per row)"
full_bpr="$(div "$(field "$full_row" 2)" "$(field "$full_row" 1)")"
printf '  measured, table filled to 30 days and vacuumed: %s rows, %s (heap %s, indexes %s): %s per sample\n' \
  "$(field "$full_row" 1)" "$(fmt_bytes "$(field "$full_row" 2)")" "$(fmt_bytes "$(field "$full_row" 3)")" \
  "$(fmt_bytes "$(field "$full_row" 4)")" "$(awk -v x="$full_bpr" 'BEGIN { printf "%.0f B", x }')"
echo "  events are rare: one per change (a migration started, retried, completed, failed or cancelled,"
echo "  a deploy's schema change, Medplum's lock taken or released, a stall, an invalid index), none"
echo "  while nothing changes; an upgrade across several minors makes on the order of 100."
if [ "$ev_bpr" != "-" ]; then
  echo "  medup.event: $(awk -v x="$ev_bpr" 'BEGIN { printf "%.0f B", x }') per event with its indexes (10,000 copies of this run's events), so"
  echo "  100 events $(fmt_bytes "$(awk -v x="$ev_bpr" 'BEGIN { print 100 * x }')"), 1,000 events $(fmt_bytes "$(awk -v x="$ev_bpr" 'BEGIN { print 1000 * x }')") (kept 365 days, medup.event_retention)"
fi
l="storage, one database, 30 days at naptime 10 s: $(fmt_bytes "$(field "$full_row" 2)") measured ($(awk -v x="$full_bpr" 'BEGIN { printf "%.0f", x }') B per sample with indexes; $(fmt_bytes "$proj") projected from the loop's $(field "$st_row" 1) rows); events: $(awk -v x="$ev_bpr" 'BEGIN { if (x == "-") print "-"; else printf "%.0f B each", x }'), rare"
summary+=("$l")

# 3c. The worker's overhead on a concurrent pgbench run in the same cluster.
echo
if [ "$PGB_SECONDS" -eq 0 ]; then
  echo "worker overhead: skipped (MEDUP_BENCH_PGBENCH_SECONDS=0)"
  summary+=("worker overhead: skipped (MEDUP_BENCH_PGBENCH_SECONDS=0)")
else
  # pgbench -S (select-only), 2 clients on 2 threads: CPU-bound, so every
  # bit of CPU the worker takes shows as lost tps (the worst case for a
  # worker that is CPU: status() and a one-row insert), and its tps is
  # steady enough that a 1% difference can stand out of the noise; the
  # default TPC-B-like mix waits on WAL flushes and wanders by several %
  # between runs.  The worker samples database bench (schema bench_$big)
  # every second (naptime 1, 10x the default); off is medup.databases = ''.
  PGB=("$PG_BINDIR/pgbench" -h "$BENCH_DIR" -p "$BENCH_PORT" -U postgres)
  "${PSQL[@]}" -d postgres -c "CREATE DATABASE pgbench"
  if ! "${PGB[@]}" -i -s 10 -q pgbench >"$BENCH_DIR/pgbench-init.log" 2>&1; then
    cat "$BENCH_DIR/pgbench-init.log" >&2
    exit 1
  fi
  "${PSQL[@]}" -d postgres -c "ALTER DATABASE bench SET medup.medplum_schema = 'bench_$big'" \
    -c "ALTER SYSTEM SET medup.naptime = 1" -c "SELECT pg_reload_conf()" >/dev/null
  clear_audit
  workers() { q "SELECT count(*) FROM medup.sampling"; }
  samples_taken() { q "SELECT coalesce(sum(samples), 0) FROM medup.sampler"; }
  worker_set() {   # worker_set on|off: and wait until it is so (on: one sample taken)
    local list="" want=0 before c i
    if [ "$1" = on ]; then list=bench; want=1; fi
    before="$(samples_taken)"
    "${PSQL[@]}" -d postgres -c "ALTER SYSTEM SET medup.databases = '$list'" -c "SELECT pg_reload_conf()" >/dev/null
    for i in $(seq 1 150); do
      c="$(workers)"
      if [ "$c" -eq "$want" ] && { [ "$want" -eq 0 ] || [ "$(samples_taken)" -gt "$before" ]; }; then
        return 0
      fi
      sleep 0.2
    done
    echo "the medup worker did not turn $1 within 30 s ($c running; see $BENCH_DIR/server.log)" >&2
    tail -n 20 "$BENCH_DIR/server.log" >&2 || true
    return 1
  }
  worker_pid() { q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'medup worker'"; }
  cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat" 2>/dev/null || echo "-"; }
  pgbench_tps() {
    local out
    if ! out="$("${PGB[@]}" -n -S -c 2 -j 2 -T "$1" pgbench 2>&1)"; then
      echo "$out" >&2
      return 1
    fi
    echo "$out" | awk '/^tps = / { print $3; exit }'
  }

  # The worker's own CPU, from the kernel's account of its process
  # (/proc/PID/schedstat, ns on CPU): first with nothing else running in
  # this cluster, then during the "on" runs.  Noise-free where tps is not:
  # a CPU-bound load can lose at most this share of the machine.
  # A fresh worker's first samples cost more (process start, caches,
  # plans): the idle measurement starts after its fifth sample.
  idle_s=$((PGB_SECONDS < 10 ? PGB_SECONDS : 10))
  worker_set on
  for i in $(seq 1 100); do
    if [ "$(samples_taken)" -ge 5 ]; then break; fi
    sleep 0.2
  done
  pid="$(worker_pid)"; c0="$(cpu_ns "$pid")"; s0="$(samples_taken)"
  sleep "$idle_s"
  c1="$(cpu_ns "$pid")"; s1="$(samples_taken)"
  idle_per_sample="-"
  if [ "$c0" != "-" ] && [ "$c1" != "-" ] && [ $((s1 - s0)) -gt 0 ] && [ "$(worker_pid)" = "$pid" ]; then
    idle_per_sample="$(awk -v a="$c0" -v b="$c1" -v n="$((s1 - s0))" 'BEGIN { print (b - a) / 1e6 / n }')"
  fi
  echo "the worker alone (no pgbench), naptime 1 s, $idle_s s after its first 5 samples: $((s1 - s0)) samples, $(fmt_ms "$idle_per_sample") ms of CPU per sample"
  worker_set off
  warm=$((PGB_SECONDS < 5 ? PGB_SECONDS : 5))
  pgbench_tps "$warm" >/dev/null        # warm-up, not counted
  echo "pgbench -n -S -c 2 -j 2 -T $PGB_SECONDS (select-only) on database pgbench (scale 10), $PGB_RUNS runs,"
  echo "alternating: the medup worker off, then on (sampling database bench, schema bench_$big, naptime 1 s);"
  echo "each on run starts a fresh worker, its first samples included"
  printf '%4s | %-6s | %10s | %8s | %s\n' run worker tps samples "worker CPU"
  printf '%4s-+-%-6s-+-%10s-+-%8s-+-%s\n' "" "" "" "" "----------" | tr ' ' '-'
  offs=(); ons=(); ratios=(); cpu_ms_total=0; cpu_s_total=0; samples_total=0
  for r in $(seq 1 "$PGB_RUNS"); do
    if [ $((r % 2)) -eq 1 ]; then mode=off; else mode=on; fi
    worker_set "$mode"
    if [ "$mode" = on ]; then
      pid="$(worker_pid)"; c0="$(cpu_ns "$pid")"; s0="$(samples_taken)"; w0=$(date +%s.%N)
    fi
    tps="$(pgbench_tps "$PGB_SECONDS")"
    if [ "$mode" = on ]; then
      c1="$(cpu_ns "$pid")"; s1="$(samples_taken)"; w1=$(date +%s.%N)
      ds=$((s1 - s0))
      if [ "$c0" != "-" ] && [ "$c1" != "-" ] && [ "$(worker_pid)" = "$pid" ]; then
        dms="$(awk -v a="$c0" -v b="$c1" 'BEGIN { print (b - a) / 1e6 }')"
        cpu_ms_total="$(awk -v t="$cpu_ms_total" -v d="$dms" 'BEGIN { print t + d }')"
        cpu_s_total="$(awk -v t="$cpu_s_total" -v a="$w0" -v b="$w1" 'BEGIN { print t + b - a }')"
        cpu="$(awk -v d="$dms" -v a="$w0" -v b="$w1" 'BEGIN { printf "%.0f ms in %.0f s", d, b - a }')"
      else
        cpu="-"
      fi
      samples_total=$((samples_total + ds))
      ons+=("$tps")
      ratios+=("$(div "$tps" "${offs[$((${#offs[@]} - 1))]}")")
      printf '%4s | %-6s | %10.1f | %8s | %s\n' "$r" "$mode" "$tps" "$ds" "$cpu"
    else
      offs+=("$tps")
      printf '%4s | %-6s | %10.1f | %8s | %s\n' "$r" "$mode" "$tps" "-" "-"
    fi
  done
  worker_set off
  worker_outcome="$(q "SELECT string_agg(last_outcome, ', ') FROM medup.sampler")"
  "${PSQL[@]}" -d postgres -c "ALTER SYSTEM RESET medup.naptime" -c "SELECT pg_reload_conf()" \
    -c "ALTER DATABASE bench RESET medup.medplum_schema" >/dev/null

  off_med="$(echo "${offs[*]}" | median)"
  on_med="$(echo "${ons[*]}" | median)"
  ratio="$(echo "${ratios[*]}" | median)"
  loss="$(awk -v r="$ratio" 'BEGIN { print 1 - r }')"
  off_spread="$(echo "${offs[*]}" | tr ' ' '\n' | sort -g | awk -v m="$off_med" 'NR == 1 { lo = $1 } { hi = $1 } END { print (hi - lo) / m }')"
  on_spread="$(echo "${ons[*]}" | tr ' ' '\n' | sort -g | awk -v m="$on_med" 'NR == 1 { lo = $1 } { hi = $1 } END { print (hi - lo) / m }')"
  echo
  echo "tps median: off $(printf '%.1f' "$off_med"), on $(printf '%.1f' "$on_med"); on/off: median of the ${#ratios[@]} per-pair ratios (each on run over the off run before it) $(awk -v r="$ratio" 'BEGIN { printf "%.4f", r }')"
  echo "noise: the ${#offs[@]} off runs spread over $(pct "$off_spread") of their median (on runs: $(pct "$on_spread"))"
  if [ "$worker_outcome" != sampled ]; then
    echo "warning: the worker's last sample said \"$worker_outcome\", not \"sampled\"" >&2
  fi
  cpu_line="-"; cpu_share="-"
  if awk -v s="$cpu_s_total" 'BEGIN { exit !(s > 0) }'; then
    cpu_share="$(awk -v ms="$cpu_ms_total" -v s="$cpu_s_total" -v c="$(nproc)" 'BEGIN { print ms / s / 1000 / c }')"
    cpu_line="$(awk -v ms="$cpu_ms_total" -v s="$cpu_s_total" -v n="$samples_total" -v c="$(nproc)" \
      'BEGIN { printf "%.1f ms of CPU per second = %.2f%% of the %d cores, %.2f ms per sample (%d samples)", ms / s, ms / s / 10 / c, c, (n > 0 ? ms / n : 0), n }')"
    echo "the worker during the on runs (from /proc/PID/schedstat): $cpu_line"
    echo "  (at the default naptime of 10 s, a tenth of that)"
  fi
  if lt "$loss" 0.01; then v=PASS; else v=MISS; fi
  if lt "$(awk -v x="$loss" 'BEGIN { print (x < 0 ? -x : x) }')" "$off_spread"; then
    noise="the difference is within the spread of the off runs: noise"
    v="$v, within noise"
  else
    noise="the difference is larger than the spread of the off runs"
    v="$v, above noise"
  fi
  l1="worker overhead, pgbench -S 2 clients, ${#offs[@]}+${#ons[@]} runs of $PGB_SECONDS s: tps off $(printf '%.0f' "$off_med"), on $(printf '%.0f' "$on_med") (medians), on/off $(awk -v r="$ratio" 'BEGIN { printf "%.4f", r }'), loss $(pct "$loss") (target < 1%): $v"
  l2="  noise: off runs spread $(pct "$off_spread"), on runs $(pct "$on_spread"); $noise"
  l3="  worker CPU at naptime 1 s: $(fmt_ms "$idle_per_sample") ms per sample alone; during the on runs $cpu_line"
  for l in "$l1" "$l2" "$l3"; do echo "$l"; summary+=("$l"); done
fi

# --- summary ---------------------------------------------------------------
echo
echo "== summary (paste into a note)"
echo '```'
echo "medup bench, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git --no-optional-locks -C "$REPO" diff --quiet HEAD 2>/dev/null || echo '+dirty'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), PostgreSQL $("$PG_BINDIR/postgres" -V | awk '{print $3}')"
echo "per-call medians of in-server loops, interleaved repeats; baseline generate_series(1, $steps): $(fmt_ms "$base_ms") ms"
for l in "${summary[@]}"; do echo "$l"; done
echo '```'
