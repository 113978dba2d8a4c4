#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with warnings as
# errors, installs, then runs every test layer against throw-away servers.
# Ends with one line "N passed, N failed" and exits non-zero on any failure.
#
# MEDUP_CHECK_TESTS="regress/gate tap/001_worker shell/check_command" runs only
# the tests named (as the summary names them).  MEDUP_CHECK_NO_BUILD=1 skips
# the build and install (test/t/check_command.sh runs this script on a copy
# of a tree that is built and installed already).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

selected() {   # selected NAME: is test NAME to run?
  [ -z "${MEDUP_CHECK_TESTS:-}" ] || [[ " $MEDUP_CHECK_TESTS " == *" $1 "* ]]
}

bash "$REPO/test/deps.sh" --with-prometheus
if [ -z "${MEDUP_CHECK_NO_BUILD:-}" ]; then build_and_install; fi

passed=0
failed=0
skipped=0
failures=()
record() {   # record NAME STATUS (77: a shell test that could not run here, skipped)
  if [ "$2" -eq 0 ]; then
    passed=$((passed + 1)); echo "ok   $1"
  elif [ "$2" -eq 77 ] && [[ "$1" == shell/* ]]; then
    skipped=$((skipped + 1)); echo "skip $1"
  else
    failed=$((failed + 1)); failures+=("$1"); echo "FAIL $1"
  fi
}

# --- pg_regress, then the TAP tests: `make installcheck` (PGXS) ------------
# In a copy of the tree owned by the server user: as root, the server runs
# as postgres, which may not write into the clone.
work="$(server_tmpdir installcheck)"
owner="$(stat -c %u:%g "$work")"
(cd "$REPO" && tar --exclude=./.git --exclude=./build --exclude='*.o' --exclude='*.bc' --exclude='*.so' -cf - .) |
  (cd "$work" && tar -xf -)
chown -R "$owner" "$work"
installcheck() {   # installcheck MAKE-VARIABLE ...
  (cd "$work" && as_server_user env MEDUP_MEDPLUM_SQL="$work/test/medplum.sql" \
     MEDUP_SAMPLE_SQL="$work/test/sample-medplum.sql" \
     make -s PG_CONFIG="$PG_BINDIR/pg_config" installcheck "$@")
}

regress=()
for t in $(make -s -C "$REPO" print-regress); do
  if selected "regress/$t"; then regress+=("$t"); fi
done
if [ ${#regress[@]} -gt 0 ]; then
  echo "== pg_regress"
  set +e
  installcheck REGRESS="${regress[*]}" TAP_TESTS= > "$work/pg_regress.out" 2>&1
  status=$?
  set -e
  grep -E '^(test |     [^ ]|ok |not ok )' "$work/pg_regress.out" || true
  # Each test by its own line of pg_regress's output, and the exit status
  # besides (regress_results in lib.sh).
  while IFS=$'\t' read -r verdict t; do
    record "regress/$t" "$verdict"
  done < <(regress_results "$work/pg_regress.out" "$status" "${regress[@]}")
  if [ -s "$work/regression.diffs" ]; then
    echo "---- regression.diffs (first 200 lines; whole file: $work/regression.diffs)"
    head -200 "$work/regression.diffs"
  elif [ "$status" -ne 0 ]; then
    tail -n 20 "$work/pg_regress.out"
  fi
fi

# One prove run per file, so that each is reported alone and, when it
# fails, its logs are shown before the next run clears them.
for t in "$work"/test/t/*.pl; do
  [ -e "$t" ] || continue
  name="$(basename "$t")"
  selected "tap/${name%.pl}" || continue
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
  selected "shell/$(basename "$t" .sh)" || continue
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
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
