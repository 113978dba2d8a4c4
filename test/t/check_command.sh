#!/usr/bin/env bash
# The test command itself can fail.  First, how it scores pg_regress's
# output (regress_results in lib.sh), on canned output of both formats:
# PostgreSQL 15's "test NAME ... ok" and 16+'s TAP lines, where a failure
# reads "not ok 9 - NAME" and so contains a pass's "ok 9 - NAME".  Then a
# real run: test/check.sh on a copy of the tree whose expected output of one
# pg_regress test is wrong must exit non-zero and count that failure, and
# the same run with the expected output intact must pass (so it is the
# wrong line that fails it).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

dir="$(mktemp -d "${TMPDIR:-/tmp}/medup-check-command-XXXXXX")"
trap 'rm -rf "$dir"' EXIT

fail=0
check() { if eval "$2"; then echo "  ok: $1"; else echo "  FAILED: $1"; fail=1; fi; }
scored() {   # scored FILE STATUS NAME...: the verdicts on one line, "0:a 1:b"
  regress_results "$@" | awk -F'\t' '{ printf "%s%s:%s", (NR > 1 ? " " : ""), $1, $2 }'
}

# --- 1. canned output ----------------------------------------------------
cat > "$dir/pg15.out" <<'OUT'
============== running regression test queries        ==============
test version                      ... ok          566 ms
test status                       ... FAILED      114 ms
test status_more                  ... ok           21 ms
test gate                         ... failed (ignored)       30 ms
test audit                        ... ok           12 ms (test process exited with exit code 2)
parallel group (2 tests):  access servers
     access                       ... ok           40 ms
     servers                      ... FAILED       41 ms
============== shutting down postmaster               ==============
OUT
check "15: ok, FAILED, ignored, crashed, parallel group" \
  '[ "$(scored "$dir/pg15.out" 1 version status status_more gate audit access servers update)" = \
     "0:version 1:status 0:status_more 1:gate 1:audit 0:access 1:servers 1:update" ]'

cat > "$dir/pg17.out" <<'OUT'
# using temp instance on port 61704 with PID 2304
ok 1         - version                                   530 ms
not ok 2     - status                                    112 ms
ok 3         - status_more                                20 ms
# parallel group (2 tests):  access servers
not ok 4     + access                                     40 ms
ok 5         + servers                                    41 ms
1..5
# 2 of 5 tests failed.
OUT
check "17: ok, not ok (which contains 'ok 2 - status'), parallel group" \
  '[ "$(scored "$dir/pg17.out" 1 version status status_more access servers update)" = \
     "0:version 1:status 0:status_more 1:access 0:servers 1:update" ]'

printf 'ok 1         - version   5 ms\nok 1         - version   5 ms\n' > "$dir/twice.out"
check "a test reported twice fails" '[ "$(scored "$dir/twice.out" 0 version)" = "1:version" ]'
check "every line ok but make exited 2: one more failure" \
  '[ "$(scored "$dir/pg17.out" 2 version)" = "0:version 1:(make installcheck exited 2)" ]'
check "every line ok and make exited 0: passed" '[ "$(scored "$dir/pg17.out" 0 version)" = "0:version" ]'

# --- 2. a real run of test/check.sh with a wrong expected line ----------
# The tree is built and installed already (check.sh builds before it runs
# the tests): the copy only runs pg_regress's version test.
mkdir "$dir/tree"
(cd "$REPO" && tar --exclude=./.git --exclude='*.o' --exclude='*.bc' --exclude='*.so' -cf - .) |
  (cd "$dir/tree" && tar -xf -)
run_check() {   # run_check LOG: the copy's check.sh, its exit status in $status
  set +e
  MEDUP_CHECK_TESTS=regress/version MEDUP_CHECK_NO_BUILD=1 bash "$dir/tree/test/check.sh" > "$1" 2>&1
  status=$?
  set -e
  # A failed run keeps its pg_regress files: not ours to keep.
  sed -n 's/.*(pg_regress and TAP files kept in \(.*\))$/\1/p' "$1" | xargs -r rm -rf
}

run_check "$dir/intact.log"
check "intact expected output: check.sh exits 0 (exit $status)" '[ "$status" -eq 0 ]'
check "and ends '1 passed, 0 failed'" '[ "$(tail -n 1 "$dir/intact.log")" = "1 passed, 0 failed" ]'

echo "a line that version.sql does not print" >> "$dir/tree/expected/version.out"
run_check "$dir/broken.log"
check "a wrong expected line: check.sh exits non-zero (exit $status)" '[ "$status" -ne 0 ]'
check "and ends '0 passed, 1 failed'" '[ "$(tail -n 1 "$dir/broken.log")" = "0 passed, 1 failed" ]'
check "naming the test" 'grep -qx "FAIL regress/version" "$dir/broken.log"'
if [ "$fail" -ne 0 ]; then
  echo "---- the runs' output"; cat "$dir/intact.log" "$dir/broken.log"
fi
exit "$fail"
