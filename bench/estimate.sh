#!/usr/bin/env bash
# How good are medup's estimates?  Builds a Medplum-shaped database with
# tables of known sizes (bench/estimate.sql), runs real post-deploy-like
# work on it (CREATE INDEX CONCURRENTLY of the index shapes of Medplum's
# migrations v12, v17, v22, v27, v45; reindexes of v23 and v26 as pages of
# 500 rows written again), and compares each migration's measured time with
# what medup.estimate_migrations() said before it ran:
#   - before any history (default rates), for every migration;
#   - after the first migrations (v22, v23, v45: one of each kind of work)
#     ran and wrote their durations into their jobs, as Medplum does
#     (elapsedTime per reindexed type, durationMs per action), for the
#     migrations that come after (v26, v27, v12, v17).
# Prints each measured/estimated ratio (the estimate's middle: the
# geometric mean of est_low and est_high) and whether [est_low, est_high]
# holds the measured time.
#
#   bash bench/estimate.sh
#
# Environment:
#   MEDUP_BENCH_ESTIMATE_PORT   port of the private cluster (default 54501)
#   MEDUP_BENCH_ESTIMATE_SCALE  table sizes, 1 = about 350,000 rows (default 1)
#
# A measurement, not a test: a missed target prints MISS and the script
# still exits 0; a real error exits non-zero.
set -euo pipefail
source "$(dirname "$0")/../test/lib.sh"

PORT="${MEDUP_BENCH_ESTIMATE_PORT:-54501}"
SCALE="${MEDUP_BENCH_ESTIMATE_SCALE:-1}"
if ! [[ "$SCALE" =~ ^[1-9][0-9]*$ ]]; then
  echo "MEDUP_BENCH_ESTIMATE_SCALE: \"$SCALE\" is not a positive integer" >&2
  exit 2
fi

bash "$REPO/test/deps.sh"
build_and_install

DIR="$(server_tmpdir bench-estimate)"
cleanup() {
  local rc=$?
  stop_private_cluster "$DIR" immediate
  rm -rf "$DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== private cluster in $DIR, port $PORT"
start_private_cluster "$DIR" "$PORT" "shared_preload_libraries = 'medup'" \
  "shared_buffers = '512MB'" "max_wal_size = '4GB'" "maintenance_work_mem = '64MB'"
export PGOPTIONS="-c client_min_messages=warning"
PSQL=("$PG_BINDIR/psql" -h "$DIR" -p "$PORT" -U postgres -X -q -v ON_ERROR_STOP=1)
q() { "${PSQL[@]}" -d bench -At -F '|' -c "$1"; }
"${PSQL[@]}" -d postgres -c "CREATE DATABASE bench"

echo "== building the database (scale $SCALE)"
start=$(date +%s)
"${PSQL[@]}" -d bench -f "$REPO/test/medplum.sql" >/dev/null
"${PSQL[@]}" -d bench -v scale="$SCALE" -f "$REPO/bench/estimate.sql" >/dev/null
q "CREATE EXTENSION medup"
echo "built in $(( $(date +%s) - start )) s:"
q "SELECT format('  %-20s %9s rows %8s', table_name, live_rows, pg_size_pretty(heap_bytes))
     FROM medup.read_table_stats() WHERE live_rows > 1000 ORDER BY heap_bytes DESC"

# estimate V: "low high source" in seconds, from medup's model now.
estimate() {
  q "SELECT round(extract(epoch FROM est_low)::numeric, 3) || ' ' || round(extract(epoch FROM est_high)::numeric, 3)
            || ' ' || coalesce(est_rate_source, '-')
       FROM medup.estimate_migrations(ARRAY[$1])"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# One CREATE INDEX CONCURRENTLY, timed; appends a custom action to ACTIONS.
ACTIONS=()
build() {   # build SQL
  local t0 t1
  t0=$(now_ms)
  "${PSQL[@]}" -d bench -c "$1"
  t1=$(now_ms)
  ACTIONS+=("medplum_fixture.custom_action(\$s\$$1\$s\$, $((t1 - t0)))")
}
# The job Medplum would leave: completed, one output entry per step.
write_job() {   # write_job V ENTRY...
  local v="$1"; shift
  local entries
  entries="$(IFS=,; echo "$*")"
  q "CALL medplum_fixture.write_job('public', '4.3.12', md5('bench-v$v')::uuid, $v, 'completed',
       now(), now(), medplum_fixture.parameters($entries), now())"
}
reindex() {   # reindex V MAX_VERSION TYPE...
  local v="$1" max="$2"; shift 2
  q "TRUNCATE bench_reindexed"
  for t in "$@"; do q "CALL bench_reindex('$t', $max)"; done
  local entries
  entries="$(q "SELECT string_agg(format('medplum_fixture.reindex_done(%L, %s, %s)', resource_type, rows, ms), ',')
                  FROM bench_reindexed")"
  write_job "$v" "$entries"
}

declare -A MEASURED DEFAULT LEARNED
run() {   # run V: the migration's work, timed whole
  local v="$1" t0 t1
  ACTIONS=()
  t0=$(now_ms)
  case "$v" in
    22) build 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "ServiceRequest___reasonCode_idx" ON "ServiceRequest" USING gin ("__reasonCode")'
        build 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "ServiceRequest___reasonCodeTextTrgm_idx" ON "ServiceRequest" USING gin (token_array_to_text("__reasonCodeText") gin_trgm_ops)' ;;
    23) reindex 23 8 ServiceRequest Task ;;
    45) build 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "Observation_subject_date_idx" ON "Observation" ("subject", "date")' ;;
    26) reindex 26 9 Patient Person Practitioner RelatedPerson ;;
    27) for t in Patient Practitioner; do
          for c in familySort givenSort nameSort; do
            build "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"${t}___${c}_idx\" ON \"$t\" (\"__$c\")"
          done
        done
        build 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "Person___nameSort_idx" ON "Person" ("__nameSort")'
        build 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "RelatedPerson___nameSort_idx" ON "RelatedPerson" ("__nameSort")' ;;
    12) build 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "AllergyIntolerance_encounter_idx" ON "AllergyIntolerance" ("encounter")'
        build 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "Immunization_encounter_idx" ON "Immunization" ("encounter")'
        build 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "ProjectMembership___idnt_idx" ON "ProjectMembership" USING gin ("__identifier")'
        build 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "ProjectMembership___idntTextTrgm_idx" ON "ProjectMembership" USING gin (token_array_to_text("__identifierText") gin_trgm_ops)' ;;
    17) for c in name given family; do
          build "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"HumanName_${c}Trgm_idx\" ON \"HumanName\" USING gin ($c gin_trgm_ops)"
        done ;;
  esac
  t1=$(now_ms)
  if [ ${#ACTIONS[@]} -gt 0 ]; then write_job "$v" "${ACTIONS[@]}"; fi
  MEASURED[$v]=$(awk -v ms=$((t1 - t0)) 'BEGIN { printf "%.3f", ms / 1000 }')
}

FIRST=(22 23 45)
LATER=(26 27 12 17)
echo
echo "== before any history: default rates"
for v in "${FIRST[@]}" "${LATER[@]}"; do DEFAULT[$v]="$(estimate "$v")"; done
echo "== the first migrations run: ${FIRST[*]}"
for v in "${FIRST[@]}"; do run "$v"; echo "  v$v: ${MEASURED[$v]} s"; done
q "ANALYZE"
echo "== after them: rates learned from their jobs"
q "SELECT format('  %-15s %12s .. %-12s %-12s %s', work, round(rate_low::numeric), round(rate_high::numeric), unit, source)
     FROM medup.estimate_rates()"
for v in "${LATER[@]}"; do LEARNED[$v]="$(estimate "$v")"; done
echo "== the later migrations run: ${LATER[*]}"
for v in "${LATER[@]}"; do run "$v"; echo "  v$v: ${MEASURED[$v]} s"; done

# ratio MEASURED "LOW HIGH ...": measured over the geometric middle, and IN/OUT of the range.
judge() {
  awk -v m="$1" -v lo="$(echo "$2" | cut -d' ' -f1)" -v hi="$(echo "$2" | cut -d' ' -f2)" 'BEGIN {
    mid = sqrt(lo * hi); r = (mid > 0) ? m / mid : 0;
    printf "%8.1f..%-8.1f %7.2fx %-3s", lo, hi, r, (m >= lo && m <= hi) ? "in" : "OUT" }'
}
echo
printf '%-5s %9s   %-30s   %-30s\n' "" "measured" "default rates: est s, ratio" "learned rates: est s, ratio"
worst=1; all_in=yes; total_m=0; total_lo=0; total_hi=0
for v in "${FIRST[@]}" "${LATER[@]}"; do
  m="${MEASURED[$v]}"
  learned="-"
  if [ -n "${LEARNED[$v]:-}" ]; then
    learned="$(judge "$m" "${LEARNED[$v]}")"
    read -r lo hi _ <<< "${LEARNED[$v]}"
    worst=$(awk -v w="$worst" -v m="$m" -v lo="$lo" -v hi="$hi" 'BEGIN { r = m / sqrt(lo * hi); if (r < 1) r = 1 / r; print (r > w) ? r : w }')
    if ! awk -v m="$m" -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(m >= lo && m <= hi) }'; then all_in=no; fi
    total_m=$(awk -v a="$total_m" -v b="$m" 'BEGIN { print a + b }')
    total_lo=$(awk -v a="$total_lo" -v b="$lo" 'BEGIN { print a + b }')
    total_hi=$(awk -v a="$total_hi" -v b="$hi" 'BEGIN { print a + b }')
  fi
  printf 'v%-4s %8ss   %-30s   %-30s\n' "$v" "$m" "$(judge "$m" "${DEFAULT[$v]}")" "$learned"
done
total="$(judge "$total_m" "$total_lo $total_hi")"
echo
echo "== summary (commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) cores, scale $SCALE)"
echo "after learning, v${LATER[*]// /, v} together: measured ${total_m} s, estimate $total"
verdict=$(awk -v w="$worst" 'BEGIN { print (w <= 2) ? "PASS" : "MISS" }')
printf 'worst ratio after learning (either way): %.2fx (target within 2x): %s\n' "$worst" "$verdict"
echo "every learned range holds the measured time: $all_in"
