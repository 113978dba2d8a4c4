#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with warnings as
# errors, installs, then runs every test layer against throw-away servers.
# Ends with one line "N passed, N failed" and exits non-zero on any failure.
#
# MEDUP_CHECK_TESTS="regress/gate tap/001_worker shell/check_command" runs only
# the tests named (as the summary names them).  MEDUP_CHECK_NO_BUILD=1 skips
# the build and install (test/t/check_command.sh runs this script on a copy
# of a tree that is built and installed already).
#
# PG_MAJOR=17 bash test/check.sh runs the suite against PostgreSQL 17.  A
# version that the host's Debian release does not ship (17 on Debian 12)
# comes from the Debian release that ships it: the suite runs inside a fresh
# copy of that release's root (test/debian-root.sh), and only the tests
# marked "# medup-test: host-only" (they make roots of their own) run on
# the host.  MEDUP_KEEP_ROOT=1 keeps the copy of a run that failed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$REPO/test/debian-root.sh"

selected() {   # selected NAME: is test NAME to run?
  [ -z "${MEDUP_CHECK_TESTS:-}" ] || [[ " $MEDUP_CHECK_TESTS " == *" $1 "* ]]
}

passed=0
failed=0
skipped=0
failures=()
# STATUS 0 passed; 77 skipped, for a shell test that could not run here;
# anything else failed.
tally() {   # tally NAME STATUS
  if [ "$2" -eq 0 ]; then
    passed=$((passed + 1))
  elif [ "$2" -eq 77 ] && [[ "$1" == shell/* ]]; then
    skipped=$((skipped + 1))
  else
    failed=$((failed + 1)); failures+=("$1")
  fi
}
record() {   # record NAME STATUS: tally, and say it
  tally "$@"
  if [ "$2" -eq 0 ]; then echo "ok   $1"
  elif [ "$2" -eq 77 ] && [[ "$1" == shell/* ]]; then echo "skip $1"
  else echo "FAIL $1"; fi
}
host_only() { grep -qx '# medup-test: host-only' "$1"; }

# --- shell tests: each test/t/*.sh starts what it needs ------------------
shell_tests() {   # shell_tests all|host-only
  local t name status
  for t in "$REPO"/test/t/*.sh; do
    [ -e "$t" ] || continue
    name="shell/$(basename "$t" .sh)"
    selected "$name" || continue
    if [ "$1" = host-only ] && ! host_only "$t"; then continue; fi
    if [ -n "${MEDUP_IN_ROOT:-}" ] && host_only "$t"; then continue; fi
    echo "== $(basename "$t")"
    set +e
    bash "$t"
    status=$?
    set -e
    record "$name" "$status"
  done
}

summary() {   # summary [WHERE-FAILED-FILES-ARE]
  echo
  if [ "$failed" -gt 0 ]; then echo "failed: ${failures[*]}${1:+ ($1)}"; fi
  if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
  else
    echo "$passed passed, $failed failed"
  fi
  [ "$failed" -eq 0 ]
}

# --- PostgreSQL of another Debian release: the suite in its root ---------
release="$(debian_release_of "$PG_MAJOR")"
if [ -z "${MEDUP_IN_ROOT:-}" ] && [ "$release" != "$(host_release)" ]; then
  bash "$REPO/test/deps.sh" roots
  start=$SECONDS
  if ! root="$(debian_root_new "$PG_MAJOR")"; then
    record "the Debian $release root" 1
    summary
    exit
  fi
  echo "== the suite in a copy of Debian $release's root ($root, ready in $((SECONDS - start)) s)"
  debian_root_copy_repo "$root" /medup
  set +e
  MEDUP_IN_ROOT=1 debian_root_run "$root" bash /medup/test/check.sh | tee "$root/check.log"
  status=${PIPESTATUS[0]}
  set -e
  # Its tests, by the lines it wrote for each.
  counted=0
  failed_before=$failed
  while read -r verdict name; do
    case "$verdict" in ok) tally "$name" 0 ;; skip) tally "$name" 77 ;; *) tally "$name" 1 ;; esac
    counted=$((counted + 1))
  done < <(sed -n 's/^\(ok\)   \(.*\)$/\1 \2/p; s/^\(skip\) \(.*\)$/\1 \2/p; s/^\(FAIL\) \(.*\)$/\1 \2/p' "$root/check.log")
  # It must agree with its exit status, and have run something.
  if { [ "$status" -ne 0 ] && [ "$failed" -eq "$failed_before" ]; } || [ "$counted" -eq 0 ]; then
    record "the suite in the root (exited $status)" 1
  fi
  kept=""
  if [ "$status" -ne 0 ] && [ -n "${MEDUP_KEEP_ROOT:-}" ]; then
    kept="the root is kept in $root"
  else
    debian_root_remove "$root"
  fi
  shell_tests host-only
  summary "$kept"
  exit
fi

if [ -n "${MEDUP_IN_ROOT:-}" ]; then
  bash "$REPO/test/deps.sh" suite prometheus
else
  bash "$REPO/test/deps.sh" suite roots prometheus
fi
if [ -z "${MEDUP_CHECK_NO_BUILD:-}" ]; then build_and_install; fi

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

shell_tests all

if [ "$failed" -eq 0 ]; then rm -rf "$work"; fi
summary "pg_regress and TAP files kept in $work"
