#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with warnings as
# errors, installs, then runs every test layer against throw-away servers.
# Ends with one line "N passed, N failed" and exits non-zero on any failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

bash "$REPO/test/deps.sh"
build_and_install

passed=0
failed=0
failures=()
record() {   # record NAME STATUS
  if [ "$2" -eq 0 ]; then
    passed=$((passed + 1)); echo "ok   $1"
  else
    failed=$((failed + 1)); failures+=("$1"); echo "FAIL $1"
  fi
}

# --- pg_regress: one temporary instance with medup preloaded -------------
echo "== pg_regress"
work="$(server_tmpdir regress)"
cp -r "$REPO/sql" "$REPO/expected" "$REPO/test/regress.conf" "$work/"
chown -R --reference="$work" "$work"
tests=$(make -s -C "$REPO" print-regress)
set +e
as_server_user "$PG_BINDIR/../lib/pgxs/src/test/regress/pg_regress" \
  --bindir="$PG_BINDIR" \
  --temp-instance="$work/instance" --temp-config="$work/regress.conf" \
  --inputdir="$work" --outputdir="$work" \
  --load-extension=medup --dbname=contrib_regression $tests > "$work/pg_regress.out" 2>&1
set -e
cat "$work/pg_regress.out" | grep -E '^(test|ok|not ok|     |\s+[a-z_]+ +\.\.\.)' || true
for t in $tests; do
  if grep -Eq "(^|[ .])$t +\.\.\. ok|ok +[0-9]+ +- +$t " "$work/pg_regress.out"; then
    record "regress/$t" 0
  else
    record "regress/$t" 1
  fi
done
if [ -s "$work/regression.diffs" ]; then
  echo "---- regression.diffs (first 200 lines; whole file: $work/regression.diffs)"
  head -200 "$work/regression.diffs"
fi

# --- TAP tests: PostgreSQL's own Perl test modules, via prove -----------
tap="$(server_tmpdir tap)"
cp "$REPO"/test/t/*.pl "$REPO/test/sample-medplum.sql" "$tap/"
chown -R --reference="$tap" "$tap"
for t in "$tap"/*.pl; do
  [ -e "$t" ] || continue
  echo "== $(basename "$t")"
  set +e
  (cd "$tap" && as_server_user env PATH="$PG_BINDIR:$PATH" TESTDIR="$tap" \
      PERL5LIB="$PG_BINDIR/../lib/pgxs/src/test/perl" \
      PG_REGRESS="$PG_BINDIR/../lib/pgxs/src/test/regress/pg_regress" \
      MEDUP_SAMPLE_SQL="$tap/sample-medplum.sql" \
      prove --timer "$(basename "$t")")
  status=$?
  set -e
  if [ "$status" -ne 0 ] && [ -d "$tap/tmp_check/log" ]; then
    echo "---- logs in $tap/tmp_check/log"; tail -n 30 "$tap"/tmp_check/log/*.log
  fi
  record "tap/$(basename "$t" .pl)" "$status"
done

# --- shell tests: each test/t/*.sh starts what it needs ------------------
for t in "$REPO"/test/t/*.sh; do
  [ -e "$t" ] || continue
  echo "== $(basename "$t")"
  set +e
  bash "$t"
  status=$?
  set -e
  record "shell/$(basename "$t" .sh)" "$status"
done

echo
if [ "$failed" -gt 0 ]; then
  echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
