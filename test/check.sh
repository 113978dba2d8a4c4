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

# --- pg_regress, then the TAP tests: `make installcheck` (PGXS) ------------
# In a copy of the tree owned by the server user: as root, the server runs
# as postgres, which may not write into the clone.
work="$(server_tmpdir installcheck)"
owner="$(stat -c %u:%g "$work")"
(cd "$REPO" && tar --exclude=./.git --exclude='*.o' --exclude='*.bc' --exclude='*.so' -cf - .) |
  (cd "$work" && tar -xf -)
chown -R "$owner" "$work"
installcheck() {   # installcheck MAKE-VARIABLE ...
  (cd "$work" && as_server_user env MEDUP_MEDPLUM_SQL="$work/test/medplum.sql" \
     MEDUP_SAMPLE_SQL="$work/test/sample-medplum.sql" \
     make -s PG_CONFIG="$PG_BINDIR/pg_config" installcheck "$@")
}

echo "== pg_regress"
set +e
installcheck TAP_TESTS= > "$work/pg_regress.out" 2>&1
set -e
grep -E '^(test|ok|not ok|     |\s+[a-z_]+ +\.\.\.)' "$work/pg_regress.out" || true
for t in $(make -s -C "$REPO" print-regress); do
  if grep -Eq "(^|[ .])$t +\.\.\. ok|ok +[0-9]+ +- +$t " "$work/pg_regress.out"; then
    record "regress/$t" 0
  else
    record "regress/$t" 1
  fi
done
if [ -s "$work/regression.diffs" ]; then
  echo "---- regression.diffs (first 200 lines; whole file: $work/regression.diffs)"
  head -200 "$work/regression.diffs"
elif ! grep -q "tests passed" "$work/pg_regress.out"; then
  tail -n 20 "$work/pg_regress.out"
fi

# One prove run per file, so that each is reported alone and, when it
# fails, its logs are shown before the next run clears them.
for t in "$work"/test/t/*.pl; do
  [ -e "$t" ] || continue
  name="$(basename "$t")"
  echo "== $name"
  set +e
  installcheck REGRESS= PROVE_TESTS="test/t/$name"
  status=$?
  set -e
  if [ "$status" -ne 0 ] && [ -d "$work/tmp_check/log" ]; then
    echo "---- logs in $work/tmp_check/log"; tail -n 30 "$work"/tmp_check/log/*.log
  fi
  record "tap/${name%.pl}" "$status"
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
  echo "failed: ${failures[*]} (pg_regress and TAP files kept in $work)"
else
  rm -rf "$work"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
