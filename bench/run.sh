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

# The timer.  medup_bench.timeit(queries, settings) wraps each query in a
# plpgsql function medup_bench._loop_K(n) that runs
#   PERFORM count(q) FROM (query) q
# n times (static SQL: planned once, like a prepared statement) and returns
# ms per call; settings[K], if given, is a SET clause of that function (e.g.
# SET medup.medplum_schema = 'bench_1000').  count(q), not count(*): with
# count(*) the planner drops an aggregate subquery whose output is unused,
# and nothing would be measured.
# Each loop is called once to warm up and once more to pick n so that one
# repeat takes about target_ms (at most max_iter calls); then `repeats`
# rounds run every query once each, interleaved.  One row per query: the
# median, fastest and slowest per-call time, n, and the median over the
# rounds of (this query's time / the first query's time).
q "$(cat <<'SQL'
CREATE SCHEMA medup_bench;
CREATE FUNCTION medup_bench.timeit(queries text[], settings text[] DEFAULT NULL,
                                   max_iter integer DEFAULT 2000, repeats integer DEFAULT 5,
                                   target_ms float8 DEFAULT 400)
RETURNS TABLE (query_no integer, median_ms float8, min_ms float8, max_ms float8,
               calls integer, ratio_to_first float8)
LANGUAGE plpgsql AS $timeit$
DECLARE
    nq       integer := cardinality(queries);
    iters    integer[] := '{}';
    t        float8[] := '{}';      -- round r, query i at (r - 1) * nq + i
    estimate float8;
    x        float8;
BEGIN
    FOR i IN 1..nq LOOP
        EXECUTE format($create$
            CREATE OR REPLACE FUNCTION medup_bench._loop_%s(n integer) RETURNS float8
            LANGUAGE plpgsql %s AS $loop$
            DECLARE
                t0 timestamptz;
            BEGIN
                t0 := clock_timestamp();
                FOR i IN 1..n LOOP
                    PERFORM count(q) FROM (%s) q;
                END LOOP;
                RETURN extract(epoch FROM clock_timestamp() - t0) * 1000 / n;
            END
            $loop$ $create$, i, coalesce(settings[i], ''), queries[i]);
        EXECUTE format('SELECT medup_bench._loop_%s(1)', i) INTO estimate;      -- warm-up
        IF estimate < target_ms THEN                                            -- else: 1 call
            EXECUTE format('SELECT medup_bench._loop_%s(1)', i) INTO estimate;
            IF estimate < target_ms / 100 THEN                                  -- finer
                EXECUTE format('SELECT medup_bench._loop_%s(least(20, $1))', i)
                    INTO estimate USING max_iter;
            END IF;
        END IF;
        iters := iters || greatest(1, least(max_iter, ceil(target_ms / greatest(estimate, 1e-6))))::integer;
    END LOOP;
    FOR r IN 1..repeats LOOP
        FOR i IN 1..nq LOOP
            EXECUTE format('SELECT medup_bench._loop_%s($1)', i) INTO x USING iters[i];
            t := t || x;
        END LOOP;
    END LOOP;
    RETURN QUERY
        WITH m AS (SELECT (o - 1) / nq + 1 AS rnd, ((o - 1) % nq + 1)::integer AS qno, v
                   FROM unnest(t) WITH ORDINALITY u(v, o))
        SELECT a.qno, percentile_cont(0.5) WITHIN GROUP (ORDER BY a.v), min(a.v), max(a.v),
               iters[a.qno], percentile_cont(0.5) WITHIN GROUP (ORDER BY a.v / nullif(b.v, 0))
        FROM m a JOIN m b ON b.rnd = a.rnd AND b.qno = 1
        GROUP BY a.qno ORDER BY a.qno;
END
$timeit$;
SQL
)"

# timeit MAX_ITER REPEATS TARGET_MS QUERY [SETTING] [QUERY [SETTING]]...
# (pairs; use "" for no setting).  Prints one line per query:
# "no|median ms|min ms|max ms|calls|median ratio to the first query"
timeit() {
  local max_iter="$1" repeats="$2" target="$3"
  shift 3
  local qs=() ss=()
  while [ $# -gt 0 ]; do
    qs+=("\$q\$$1\$q\$")
    if [ -n "${2:-}" ]; then ss+=("\$s\$$2\$s\$"); else ss+=("NULL"); fi
    shift 2 || shift 1
  done
  q "SELECT query_no, round(median_ms::numeric, 6), round(min_ms::numeric, 6), round(max_ms::numeric, 6),
            calls, round(ratio_to_first::numeric, 3)
     FROM medup_bench.timeit(ARRAY[$(IFS=,; echo "${qs[*]}")]::text[],
                             ARRAY[$(IFS=,; echo "${ss[*]}")]::text[], $max_iter, $repeats, $target)"
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
echo "== upgrade_path (issue \"foundation\")"
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
echo "== status() / check() (issue \"inspection\")"
have_status="$(q "SELECT to_regprocedure('medup.status()') IS NOT NULL")"
have_check="$(q "SELECT to_regprocedure('medup.check(text,text)') IS NOT NULL")"
if [ "$have_status" != t ]; then
  echo "status(): not built yet, skipped"
  echo "(the data is still generated and the naive scan timed)"
  summary+=("status(): not built yet, skipped")
fi
if [ "$have_check" != t ]; then
  echo "check(): not built yet, skipped"
fi

# Generate every size first; all schemas stay, so status() can be timed on
# all sizes in interleaved rounds.  psql reads the generator as it goes: run
# a private copy, so an edit made to it meanwhile cannot break the run.
cp "$GEN" "$BENCH_DIR/asyncjob_gen.sql"
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
  if [ "$fn" = status ] && [ "$have_status" != t ]; then continue; fi
  if [ "$fn" = check ] && [ "$have_check" != t ]; then continue; fi
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
if [ "$have_status" = t ]; then
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
  if [ "$have_check" = t ]; then
    summary+=("check('latest') at $big rows: $(fmt_ms "${ck[$big]}") ms per call")
  fi
else
  echo "targets for status(): not evaluated (status() not built yet)"
fi
summary+=("naive JSON scan at $big rows: $(fmt_ms "${nv[$big]}") ms")

# --- summary ---------------------------------------------------------------
echo
echo "== summary (paste into a note)"
echo '```'
echo "medup bench, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git --no-optional-locks -C "$REPO" diff --quiet HEAD 2>/dev/null || echo '+dirty'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), PostgreSQL $("$PG_BINDIR/postgres" -V | awk '{print $3}')"
echo "per-call medians of in-server loops, interleaved repeats; baseline generate_series(1, $steps): $(fmt_ms "$base_ms") ms"
for l in "${summary[@]}"; do echo "$l"; done
echo '```'
