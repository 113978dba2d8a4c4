#!/usr/bin/env bash
# Memory checks of medup's C code: AddressSanitizer on a running cluster
# (launcher, workers, the whole pg_regress suite, its version fuzz tests
# included), then valgrind memcheck on a server whose backends run the same
# version fuzz tests with fewer inputs, upgrade_path and the catalog
# loaders.  Ends with "N passed, N failed".
#
# Run as root (or as a user with sudo); PostgreSQL runs as the postgres user.
#
# Nothing outside a temporary directory is touched: the repository is
# copied and built there, and PostgreSQL's installation is copied there too
# (bin, lib, share, in the same layout, so the copied server finds the
# copied libraries by its relative paths).  The sanitized medup.so is
# installed only into that copy, so the system-wide medup, other people's
# servers and the repository's own build stay as they are: there is no
# build to restore afterwards.  The trap stops the throw-away server.
#
# Both tools also prove they can see an error here: a throw-away canary
# function reads past a malloc'd buffer and must be reported.
#
# Environment: MEDUP_MEMCHECK_PORT (54360), MEDUP_MEMCHECK_KEEP=1 keeps the
# temporary directory even when everything passed, MEDUP_MEMCHECK_SAMPLE_SECONDS
# (10), MEDUP_MEMCHECK_VALGRIND=0 skips valgrind.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PORT="${MEDUP_MEMCHECK_PORT:-54360}"
SAMPLE_SECONDS="${MEDUP_MEMCHECK_SAMPLE_SECONDS:-10}"
PG_CONFIG_SYS="$PG_BINDIR/pg_config"
started_at=$(date +%s)

passed=0
failed=0
failures=()
record() {   # record NAME STATUS [NOTE]
  if [ "$2" -eq 0 ]; then
    passed=$((passed + 1)); echo "ok   $1${3:+ ($3)}"
  else
    failed=$((failed + 1)); failures+=("$1"); echo "FAIL $1${3:+ ($3)}"
  fi
}

# --- what this needs -------------------------------------------------------
bash "$REPO/test/deps.sh"
if ! command -v valgrind >/dev/null && [ "${MEDUP_MEMCHECK_VALGRIND:-1}" != 0 ]; then
  echo "memcheck: installing valgrind"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null
fi
libasan="$(gcc -print-file-name=libasan.so)"
if [ "$libasan" = "libasan.so" ] || [ ! -e "$libasan" ]; then
  echo "memcheck: gcc has no libasan.so (install libasan8)" >&2
  exit 1
fi
libasan="$(readlink -f "$libasan")"

work="$(server_tmpdir memcheck)"
tree="$work/pg"              # the private copy of PostgreSQL's installation
build="$work/build"          # the private copy of the repository
data="$work/data"
asan_dir="$work/asan"
log="$work/server.log"
bindir="$("$PG_CONFIG_SYS" --bindir)"
pkglibdir="$("$PG_CONFIG_SYS" --pkglibdir)"
sharedir="$("$PG_CONFIG_SYS" --sharedir)"
pbin="$tree$bindir"          # the copied server, initdb, pg_ctl
psql_cmd=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$PORT" -U postgres)
echo "== memcheck in $work"
# The SQL and C it runs (test/memcheck/), where the server user may read them.
cp "$REPO"/test/memcheck/* "$work/"

cleanup() {
  local status=$?
  if [ -f "$data/postmaster.pid" ]; then
    as_server_user "$pbin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ "$status" -eq 0 ] && [ "$failed" -eq 0 ] && [ "${MEDUP_MEMCHECK_KEEP:-0}" != 1 ]; then
    rm -rf "$work"
  else
    echo "memcheck: logs kept in $work"
  fi
}
trap cleanup EXIT

q() {   # q DB SQL...: run statements as the superuser, output unaligned
  local db="$1"; shift
  local args=()
  for s in "$@"; do args+=(-c "$s"); done
  as_server_user "${psql_cmd[@]}" -At -d "$db" "${args[@]}"
}

# --- 1. build medup with AddressSanitizer into a private installation ------
echo "== build (AddressSanitizer)"
for d in "$bindir" "$pkglibdir" "$sharedir"; do
  mkdir -p "$tree$(dirname "$d")"
  cp -a "$d" "$tree$(dirname "$d")/"
done
mkdir -p "$build"
(cd "$REPO" && cp -r Makefile medup.control src sql expected "$build/")
asan_cflags="-Wall -Wextra -Werror -Wno-unused-parameter -fsanitize=address -fno-omit-frame-pointer -g -O1"
build_into_tree() {   # build_into_tree [PG_CFLAGS SHLIB_LINK]: clean build, install into $tree
  make -C "$build" -s PG_CONFIG="$PG_CONFIG_SYS" clean >/dev/null
  if [ $# -gt 0 ]; then
    make -C "$build" -s PG_CONFIG="$PG_CONFIG_SYS" with_llvm=no PG_CFLAGS="$1" SHLIB_LINK="$2" >/dev/null
  else
    make -C "$build" -s PG_CONFIG="$PG_CONFIG_SYS" with_llvm=no >/dev/null
  fi
  make -C "$build" -s PG_CONFIG="$PG_CONFIG_SYS" with_llvm=no DESTDIR="$tree" install >/dev/null
}
set +e
build_into_tree "$asan_cflags" "-fsanitize=address"
status=$?
set -e
# (grep reads all of ldd's output: with pipefail, an early exit would fail ldd)
[ "$status" -eq 0 ] && [ "$(ldd "$tree$pkglibdir/medup.so" | grep -c libasan)" -gt 0 ] || status=1
record "build/asan" "$status"
[ "$status" -eq 0 ] || exit 1

# ASan initializes lazily at the first malloc.  Preloaded into a Debian
# postgres, that first malloc is inside bindtextdomain() called by
# libgpg-error's constructor, with glibc's gettext lock held; ASan's
# initialization then calls dlsym("swift_demangle") and dlerror(), which
# translates its message and takes the same lock: the lock is corrupted and
# the next bindtextdomain() (postgres's main) hangs forever.  A preloaded
# stub that defines swift_demangle makes that dlsym succeed, so dlerror()
# has nothing to translate.  The stub returns NULL: "cannot demangle".
gcc -shared -fPIC -O2 -o "$work/swift_stub.so" "$work/swift_stub.c"
chmod 755 "$work/swift_stub.so"

# --- 2. a throw-away cluster with the sanitizer preloaded ------------------
echo "== cluster on port $PORT (AddressSanitizer)"
mkdir -p "$asan_dir"
chown -R postgres: "$work" 2>/dev/null || true
as_server_user "$pbin/initdb" -D "$data" -A trust -U postgres --no-sync >/dev/null
cat >> "$data/postgresql.conf" <<EOF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$work'
shared_preload_libraries = 'medup'
medup.databases = 'regression'
medup.naptime = 1
jit = off
fsync = off
EOF
# Leak detection is off: PostgreSQL frees by resetting memory contexts and
# exits without freeing, so leaks at exit are noise.
asan_options="detect_leaks=0:abort_on_error=1:log_path=$asan_dir/asan"
set +e
as_server_user env LD_PRELOAD="$libasan $work/swift_stub.so" ASAN_OPTIONS="$asan_options" \
  timeout 120 "$pbin/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null
status=$?
set -e
pid="$(head -1 "$data/postmaster.pid" 2>/dev/null || true)"
if [ "$status" -eq 0 ] && ! grep -q "$tree$pkglibdir/medup.so" "/proc/$pid/maps" 2>/dev/null; then
  echo "the server did not load the sanitized medup.so"; status=1
fi
if [ "$status" -eq 0 ] && ! grep -q libasan "/proc/$pid/maps" 2>/dev/null; then
  echo "the server does not run with libasan"; status=1
fi
record "server/start with asan" "$status"
if [ "$status" -ne 0 ]; then tail -20 "$log" 2>/dev/null || true; exit 1; fi

# The test database, as pg_regress would create it (with --use-existing it
# creates nothing).
q postgres "CREATE DATABASE regression TEMPLATE=template0" \
  "ALTER DATABASE regression SET lc_messages TO 'C'" "ALTER DATABASE regression SET lc_monetary TO 'C'" \
  "ALTER DATABASE regression SET lc_numeric TO 'C'" "ALTER DATABASE regression SET lc_time TO 'C'" \
  "ALTER DATABASE regression SET bytea_output TO 'hex'" \
  "ALTER DATABASE regression SET timezone_abbreviations TO 'Default'" \
  "CREATE DATABASE vg TEMPLATE=template0"
q regression "CREATE EXTENSION medup"

wait_for() {   # wait_for SECONDS DB SQL: until SQL returns t
  local i
  for ((i = 0; i < $1 * 5; i++)); do
    [ "$(q "$2" "$3" 2>/dev/null || true)" = t ] && return 0
    sleep 0.2
  done
  return 1
}
# The launcher logged "regression" missing at start; it must start a worker
# once the database exists.
set +e
wait_for 10 regression "SELECT medup.worker_pid() IS NOT NULL"
record "worker/started once the database exists" $?
# The suite must not race the worker for the sampler's lock: take
# "regression" off the list (the launcher stops its worker) until it is done.
q postgres "ALTER SYSTEM SET medup.databases = ''" "SELECT pg_reload_conf()" >/dev/null
wait_for 10 regression "SELECT medup.worker_pid() IS NULL"
record "worker/stopped when unlisted" $?
set -e

# --- 3a. pg_regress against this cluster ------------------------------------
echo "== pg_regress (--use-existing)"
regress="$work/regress"
mkdir -p "$regress"
cp -r "$build/sql" "$build/expected" "$regress/"
# sql/fixtures.sql and sql/update.sql read test/medplum.sql,
# test/sample-medplum.sql and test/update-scenario.sql relative to where
# pg_regress runs.
mkdir -p "$regress/test"
cp "$REPO/test/medplum.sql" "$REPO/test/sample-medplum.sql" "$REPO/test/update-scenario.sql" "$regress/test/"
chown -R postgres: "$regress"
tests=$(make -s -C "$REPO" print-regress)
set +e
(cd "$regress" && as_server_user "$PG_BINDIR/../lib/pgxs/src/test/regress/pg_regress" \
  --bindir="$PG_BINDIR" --use-existing --host="$work" --port="$PORT" --user=postgres \
  --dbname=regression --load-extension=medup \
  --inputdir="$regress" --outputdir="$regress" $tests > "$regress/pg_regress.out" 2>&1)
set -e
grep -E '^(test |ok |not ok )' "$regress/pg_regress.out" || true
# The one difference this cluster makes: medup.naptime is 1 here, 10 in the
# expected output of the settings query.
env_only_diff() {   # env_only_diff TEST: its diff shows nothing but the naptime line
  [ -s "$regress/regression.diffs" ] || return 1
  awk -v t="$1" '
    /^diff / { insec = ($0 ~ ("/expected/" t "(_[0-9]+)?\\.out ")); next }
    !insec || /^(\+\+\+|---) / || /^@@/ { next }
    /^[-+]/ { n++; if ($0 !~ /^[-+] medup\.naptime +\| (1|10) +\| s +\| sighup$/) bad++ }
    END { exit !(n > 0 && bad == 0) }' "$regress/regression.diffs"
}
for t in $tests; do
  if grep -Eq "(^|[ .])$t +\.\.\. ok|ok +[0-9]+ +- +$t " "$regress/pg_regress.out"; then
    record "regress/$t" 0
  elif env_only_diff "$t"; then
    record "regress/$t" 0 "only medup.naptime differs"
  else
    record "regress/$t" 1
    sed -n "/expected\/$t\(_[0-9]*\)\?\.out /,/^diff /p" "$regress/regression.diffs" | head -60 || true
  fi
done

# --- 3b. the worker samples a fixture schema --------------------------------
echo "== worker sampling for ${SAMPLE_SECONDS}s"
set +e
have_fixture=$(q regression "SELECT count(*) FROM pg_namespace WHERE nspname = 'mp_mid_4_1'")
if [ "$have_fixture" != 1 ]; then
  # The suite normally leaves its fixtures; build them if it did not.
  as_server_user "${psql_cmd[@]}" -d regression -f "$build/sql/fixtures.sql" >/dev/null
fi
q regression "DELETE FROM medup.sample" "DELETE FROM medup.event" "DELETE FROM medup.sampler" \
  "ALTER DATABASE regression SET medup.medplum_schema = 'mp_mid_4_1'"
# Back on the list, with a database without medup and one that does not exist.
q postgres "ALTER SYSTEM SET medup.databases = 'regression, postgres, medup_memcheck_missing'" \
  "SELECT pg_reload_conf()" >/dev/null
wait_for 10 regression "SELECT medup.worker_pid() IS NOT NULL"
record "worker/restarted when listed again" $?
third=$((SAMPLE_SECONDS / 3))
sleep "$third"
# A sample that fails (medup.sample locked past the sample's 10 s
# statement timeout): logged, then sampling resumes.
q regression "BEGIN" "LOCK TABLE medup.sample IN ACCESS EXCLUSIVE MODE" "SELECT pg_sleep(11)" "COMMIT" >/dev/null
# The launcher killed by an administrator: the postmaster starts another (10 s).
old_pid=$(q regression "SELECT medup.worker_pid()")
q regression "SELECT pg_terminate_backend(medup.worker_pid())" >/dev/null
wait_for 20 regression "SELECT medup.worker_pid() IS NOT NULL AND medup.worker_pid() <> $old_pid"
record "worker/restarted after pg_terminate_backend" $?
sleep $((SAMPLE_SECONDS - third - 3 > 0 ? SAMPLE_SECONDS - third - 3 : 1))
samples=$(q regression "SELECT count(*) FROM medup.sample WHERE state = 'migrating' AND running_migration = 11")
[ "${samples:-0}" -ge $((SAMPLE_SECONDS / 2)) ]
record "worker/samples of mp_mid_4_1" $? "$samples samples"
grep -q 'database "regression": sample failed: canceling statement due to statement timeout' "$log" \
  && grep -q 'sampling database "regression" again' "$log"
record "worker/failed sample logged, then resumed" $?
grep -q 'database "postgres": the medup extension is not installed' "$log" \
  && grep -q 'database "medup_memcheck_missing" in medup.databases does not exist' "$log"
record "worker/database without medup, missing database" $?
set -e

# --- 4. read what the sanitizer wrote ----------------------------------------
set +e
! grep -Eq 'terminated by signal|AddressSanitizer' "$log"
record "server/no backend crashed" $?
reports=("$asan_dir"/asan.*)
if [ -e "${reports[0]}" ]; then
  for r in "${reports[@]}"; do echo "---- $r"; head -80 "$r"; done
  record "asan/reports" 1 "${#reports[@]} report(s) in $asan_dir"
else
  record "asan/reports" 0 "none"
fi
set -e

# The harness must be able to see an error: a canary function reads one byte
# past a malloc'd buffer.  Under ASan its backend must abort and leave a
# heap-buffer-overflow report (the server then restarts after the crash).
server_include="$("$PG_CONFIG_SYS" --includedir-server)"
gcc -shared -fPIC -O0 -g -fsanitize=address -I"$server_include" -o "$work/canary_asan.so" "$work/canary.c"
gcc -shared -fPIC -O0 -g -I"$server_include" -o "$work/canary_plain.so" "$work/canary.c"
chmod 755 "$work"/canary_*.so
set +e
q postgres "CREATE FUNCTION memcheck_canary(int) RETURNS int AS '$work/canary_asan.so', 'memcheck_canary' LANGUAGE C STRICT" \
  "SELECT memcheck_canary(8)" >/dev/null 2>&1
for ((i = 0; i < 50; i++)); do
  grep -qs 'heap-buffer-overflow' "$asan_dir"/asan.* && break
  sleep 0.2
done
grep -qs 'heap-buffer-overflow' "$asan_dir"/asan.*
record "asan/canary overflow is caught" $?
# Wait for the restart after the canary's crash, then stop.
wait_for 30 postgres "SELECT true"
set -e
as_server_user "$pbin/pg_ctl" -D "$data" -m fast -w stop >/dev/null

# --- 5. valgrind: a normal build, the server under valgrind ----------------
if [ "${MEDUP_MEMCHECK_VALGRIND:-1}" != 0 ]; then
  echo "== valgrind memcheck (the server and its backends)"
  set +e
  build_into_tree
  status=$?
  set -e
  record "build/normal" "$status"
  vg="$work/vg"
  mkdir -p "$vg"
  # PostgreSQL's src/tools/valgrind.supp is not packaged; look anyway.
  pg_supp="$(find "$pkglibdir/pgxs" "$sharedir" -name valgrind.supp 2>/dev/null | head -1 || true)"
  # Without it, the false positives PostgreSQL itself raises here: WAL
  # records written with uninitialized padding (XLogWrite, a static
  # function, under XLogFlush), the relcache init file's padding (written
  # by each new backend), the unused tail of a sort's spilled tape block,
  # and the memmove in RE_compile_and_cache that valgrind sees as an
  # overlapping __memcpy_chk (glibc's fortified memmove and memcpy share an
  # entry point).  None of these stacks passes through medup.
  supp_args=(--suppressions="$work/postgres.supp")
  if [ -n "$pg_supp" ]; then
    supp_args+=(--suppressions="$pg_supp")
    echo "using $pg_supp and $vg/postgres.supp"
  else
    echo "no valgrind.supp from PostgreSQL installed; using $vg/postgres.supp"
  fi
  chown -R postgres: "$vg"
  # The postmaster under valgrind: its backends are forks of it, so valgrind
  # follows each (one log per process).  Nothing preloaded: the worker ran
  # under AddressSanitizer above.
  as_server_user valgrind --leak-check=no --track-origins=yes --num-callers=30 --gen-suppressions=all \
    "${supp_args[@]}" --log-file="$vg/valgrind.%p.log" \
    "$pbin/postgres" -D "$data" -c shared_preload_libraries= > "$vg/server.log" 2>&1 &
  vg_ready=1
  for ((i = 0; i < 600; i++)); do
    q postgres "SELECT 1" >/dev/null 2>&1 && { vg_ready=0; break; }
    sleep 0.2
  done
  record "valgrind/server started" "$vg_ready"
  # The pg_regress suite's version fuzz tests, the very files, with fewer
  # inputs (valgrind runs them about fifty times slower), then upgrade_path
  # and the loaders.
  set +e
  # (Each file in a session of its own, as pg_regress runs them.)
  q vg "CREATE EXTENSION medup" >/dev/null
  run_version_tests() {
    local f
    for f in version_fuzz version_binary; do
      (cd "$build" && as_server_user env PGOPTIONS="-c medup_test.version_inputs=3000 -c medup_test.binary_messages=120" \
         "${psql_cmd[@]}" -d vg -f "sql/$f.sql") || return 1
    done
  }
  run_version_tests > "$vg/version.out" 2>&1
  record "valgrind/sql/version_fuzz.sql and version_binary.sql ran" $? "output: $vg/version.out"
  as_server_user "${psql_cmd[@]}" -d vg -f "$work/valgrind.sql" > "$vg/vg.out" 2>&1
  status=$?
  grep -o 'WARNING:  vg: .*' "$vg/vg.out" | sed 's/^/    /'
  record "valgrind/upgrade_path and loaders ran" "$status" "output: $vg/vg.out"
  as_server_user "$pbin/pg_ctl" -D "$data" -m fast -w -t 120 stop >/dev/null
  wait
  # Every process's log: no error, none naming medup.so.
  grep -h 'ERROR SUMMARY' "$vg"/valgrind.*.log | sort | uniq -c | sed 's/^/    valgrind: /'
  ! grep -l 'ERROR SUMMARY: [1-9]' "$vg"/valgrind.*.log
  status=$?
  if [ "$status" -ne 0 ]; then
    grep -h -v '^   \|^{\|^}' $(grep -l 'ERROR SUMMARY: [1-9]' "$vg"/valgrind.*.log) | head -80
  fi
  record "valgrind/no error in any process" "$status" "logs: $vg/valgrind.*.log"
  ! grep -q 'medup\.so' "$vg"/valgrind.*.log
  record "valgrind/no report names medup.so" $?
  # The canary, unsanitized, under the same valgrind: it must be reported.
  printf '%s\n\n%s\n\n' \
    "CREATE OR REPLACE FUNCTION memcheck_canary(int) RETURNS int AS '$work/canary_plain.so', 'memcheck_canary' LANGUAGE C STRICT;" \
    "SELECT memcheck_canary(8);" > "$vg/canary.sql"
  chown postgres: "$vg/canary.sql" 2>/dev/null
  (cd "$vg" && as_server_user valgrind --error-exitcode=1 --leak-check=no "${supp_args[@]}" \
     --log-file="$vg/canary.log" "$pbin/postgres" --single -j -D "$data" postgres < "$vg/canary.sql" > /dev/null 2>&1)
  [ $? -eq 1 ] && grep -q 'Invalid read of size 1' "$vg/canary.log"
  record "valgrind/canary overflow is caught" $?
  set -e
fi

echo
elapsed=$(( $(date +%s) - started_at ))
if [ "$failed" -gt 0 ]; then
  echo "failed: ${failures[*]}"
  echo "memcheck: FAIL in ${elapsed}s"
else
  echo "memcheck: PASS in ${elapsed}s"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
