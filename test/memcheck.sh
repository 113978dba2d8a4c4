#!/usr/bin/env bash
# Memory checks of medup's C code: AddressSanitizer on a running cluster
# (launcher, workers, the pg_regress suite, 100k version inputs, binary COPY),
# then valgrind memcheck on a single-user backend (the version type,
# upgrade_path, the catalog loaders).  Ends with "N passed, N failed".
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
cat > "$work/swift_stub.c" <<'EOF'
#include <stddef.h>
#include <stdint.h>
char *swift_demangle(const char *name, size_t len, char *buf, size_t *buflen, uint32_t flags);
char *swift_demangle(const char *name, size_t len, char *buf, size_t *buflen, uint32_t flags)
{
	return NULL;
}
EOF
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
# The suite must not race the worker for medup.sample()'s lock: take
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
# sql/fixtures.sql reads test/medplum.sql relative to where pg_regress runs.
mkdir -p "$regress/test"
cp "$REPO/test/medplum.sql" "$regress/test/"
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
# A sample that fails (lock timeout on medup.sample): logged, then sampling resumes.
q regression "BEGIN" "LOCK TABLE medup.sample IN ACCESS EXCLUSIVE MODE" "SELECT pg_sleep(2.5)" "COMMIT" >/dev/null
# A worker killed by an administrator: the launcher starts another.
old_pid=$(q regression "SELECT medup.worker_pid()")
q regression "SELECT pg_terminate_backend(medup.worker_pid())" >/dev/null
wait_for 10 regression "SELECT medup.worker_pid() IS NOT NULL AND medup.worker_pid() <> $old_pid"
record "worker/restarted after pg_terminate_backend" $?
sleep $((SAMPLE_SECONDS - third - 3 > 0 ? SAMPLE_SECONDS - third - 3 : 1))
samples=$(q regression "SELECT count(*) FROM medup.sample WHERE state = 'migrating' AND running_migration = 11")
[ "${samples:-0}" -ge $((SAMPLE_SECONDS / 2)) ]
record "worker/samples of mp_mid_4_1" $? "$samples samples"
grep -q 'database "regression": sample failed: canceling statement due to lock timeout' "$log" \
  && grep -q 'sampling database "regression" again' "$log"
record "worker/failed sample logged, then resumed" $?
grep -q 'database "postgres": the medup extension is not installed' "$log" \
  && grep -q 'database "medup_memcheck_missing" in medup.databases does not exist' "$log"
record "worker/database without medup, missing database" $?
set -e

# --- 3c. the version type, hard ----------------------------------------------
echo "== medup.version: 100k inputs, binary COPY"
cat > "$work/version_text.sql" <<'EOF'
SELECT setseed(0.4242);
CREATE TEMP TABLE mc_check (name text, ok boolean);
CREATE TABLE mc_vals (id int PRIMARY KEY, src text, v medup.version);
-- 100k inputs: half valid (prefixes, big numbers, suffixes up to the limit,
-- whitespace), half not (long suffixes, leading zeros, overflow, noise,
-- truncation, bad characters).  Each valid one goes out and back in.
DO $$
DECLARE
    alnum  text := 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-';
    noise  text := '0123456789.-vV abc_+/' || chr(228) || chr(8364) || chr(9) || chr(10);
    s text; v medup.version; w medup.version; t text;
    n_ok int := 0; n_bad int := 0; kind int;
BEGIN
    FOR i IN 1..100000 LOOP
        kind := i % 10;
        s := CASE
            WHEN kind <= 4 THEN
                (ARRAY['', 'v', 'V', '  ', E'\t'])[1 + floor(random() * 5)::int]
                || (ARRAY[0, 1, (random() * 20)::int, (random() * 2147483647)::int])[1 + floor(random() * 4)::int]
                || '.' || (random() * 100)::int || '.' || (random() * 10000)::int
                || CASE WHEN random() < 0.5 THEN ''
                        ELSE '-' || (SELECT string_agg(substr(alnum, 1 + floor(random() * length(alnum))::int, 1), '')
                                       FROM generate_series(1, 1 + floor(random() * 63)::int + i * 0)) END
                || (ARRAY['', ' ', E'\n'])[1 + floor(random() * 3)::int]
            WHEN kind = 5 THEN
                '4.1.12-' || repeat('x', 64 + floor(random() * 200)::int + i * 0)
            WHEN kind = 6 THEN
                (ARRAY['04.1.12', '4.01.2', '4.1.00', '2147483648.0.0', '0.2147483648.0',
                       '0.0.99999999999999999999', '-1.0.0', '4.-1.0', '2147483647.2147483647.2147483647'])
                    [1 + floor(random() * 9)::int]
            WHEN kind = 7 THEN
                (SELECT coalesce(string_agg(substr(noise, 1 + floor(random() * length(noise))::int, 1), ''), '')
                   FROM generate_series(1, floor(random() * 40)::int + i * 0))
            WHEN kind = 8 THEN
                (ARRAY['', 'v', '-', '4', '4.', '4.1', '4.1.', 'v4.1', '4..1', '.4.1.2', '4.1.2.', '4.1.2-', '4.1.2--'])
                    [1 + floor(random() * 13)::int]
            ELSE
                (ARRAY['4.1.2-a_b', '4.1.2-a b', '4.1.2-' || chr(228), '4.1.2+build', '4.1.2-' || repeat('z', 63),
                       '4.1.2-' || repeat('z', 64), '4.1.2-' || repeat('-', 63), '4.1.2-.'])
                    [1 + floor(random() * 8)::int]
            END;
        IF s IS NULL THEN
            RAISE EXCEPTION 'generator produced NULL at %', i;
        END IF;
        BEGIN
            v := s::medup.version;
        EXCEPTION WHEN invalid_text_representation THEN
            n_bad := n_bad + 1;
            CONTINUE;
        END;
        t := v::text;
        w := t::medup.version;
        IF NOT (v = w AND w::text = t AND medup.version_cmp(v, w) = 0
                AND medup.version_hash(v) = medup.version_hash(w)
                AND medup.version_send(v) = medup.version_send(w)
                AND NOT (v < w) AND NOT (v > w) AND v <= w AND v >= w AND NOT (v <> w)
                AND medup.base(v) = v
                AND medup.base(v)::text = format('%s.%s.%s', medup.major(v), medup.minor(v), medup.patch(v))) THEN
            RAISE EXCEPTION 'round trip failed for %: % -> %', quote_literal(s), t, w::text;
        END IF;
        INSERT INTO mc_vals VALUES (i, s, v);
        n_ok := n_ok + 1;
    END LOOP;
    RAISE NOTICE 'inputs: % valid, % refused', n_ok, n_bad;
    INSERT INTO mc_check VALUES ('a mix of valid and refused inputs', n_ok > 40000 AND n_bad > 40000);
END
$$;
INSERT INTO mc_check SELECT 'hash = low 32 bits of hash_extended(v, 0)', count(*) = 0 FROM mc_vals
 WHERE (medup.version_hash_extended(v, 0) & 4294967295) <> (medup.version_hash(v)::bigint & 4294967295);
INSERT INTO mc_check SELECT 'seeded hash ignores the suffix', bool_and(medup.version_hash_extended(v, 42) = medup.version_hash_extended(medup.base(v), 42)) FROM mc_vals;
SET work_mem = '64kB';   -- sorts and hashes spill to disk
INSERT INTO mc_check SELECT 'ORDER BY is ordered', count(*) = 0 FROM (SELECT v, lag(v) OVER (ORDER BY v) AS p FROM mc_vals) x WHERE p > v;
INSERT INTO mc_check SELECT 'ORDER BY agrees with (major, minor, patch)', count(*) = 0 FROM (
    SELECT row_number() OVER (ORDER BY v, id) a,
           row_number() OVER (ORDER BY medup.major(v), medup.minor(v), medup.patch(v), id) b FROM mc_vals) x WHERE a <> b;
CREATE TEMP TABLE mc_counts (what text, n bigint);
SET enable_sort = off;
INSERT INTO mc_counts SELECT 'hash groups', count(*) FROM (SELECT v FROM mc_vals GROUP BY v) g;
RESET enable_sort; SET enable_hashagg = off;
INSERT INTO mc_counts SELECT 'sort groups', count(*) FROM (SELECT v FROM mc_vals GROUP BY v) g;
RESET enable_hashagg;
INSERT INTO mc_counts SELECT 'distinct', count(DISTINCT (medup.major(v), medup.minor(v), medup.patch(v))) FROM mc_vals;
INSERT INTO mc_check SELECT 'hash and sort grouping agree with the numbers', count(DISTINCT n) = 1 FROM mc_counts;
SET enable_mergejoin = off; SET enable_nestloop = off;
INSERT INTO mc_counts SELECT 'hash join', count(*) FROM mc_vals a JOIN mc_vals b ON a.v = b.v AND a.id % 97 = 0;
RESET enable_mergejoin; SET enable_hashjoin = off;
INSERT INTO mc_counts SELECT 'merge join', count(*) FROM mc_vals a JOIN mc_vals b ON a.v = b.v AND a.id % 97 = 0;
RESET enable_hashjoin; RESET enable_nestloop;
INSERT INTO mc_check SELECT 'hash and merge joins agree', count(DISTINCT n) = 1 FROM mc_counts WHERE what LIKE '% join';
RESET work_mem;
SELECT max(v) AS mx, min(v) AS mn, count(*) FILTER (WHERE v BETWEEN '1.0.0' AND '2000.0.0') AS ranged,
       count(*) FILTER (WHERE v = (SELECT v FROM mc_vals ORDER BY id LIMIT 1)) AS eq
  FROM mc_vals \gset seq_
CREATE INDEX mc_vals_btree ON mc_vals (v);
CREATE INDEX mc_vals_hash ON mc_vals USING hash (v);
SET enable_seqscan = off; SET enable_bitmapscan = off;
INSERT INTO mc_check SELECT 'btree index scan', count(*) = :seq_ranged FROM mc_vals WHERE v BETWEEN '1.0.0' AND '2000.0.0';
SET enable_indexscan = off; SET enable_bitmapscan = on;
INSERT INTO mc_check SELECT 'hash index (bitmap) scan', count(*) = :seq_eq FROM mc_vals WHERE v = (SELECT v FROM mc_vals ORDER BY id LIMIT 1);
RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_indexscan;
INSERT INTO mc_check SELECT 'max/min', max(v) = :'seq_mx' AND min(v) = :'seq_mn' FROM mc_vals;
SELECT name, ok FROM mc_check ORDER BY name;
DO $$ BEGIN
    IF EXISTS (SELECT FROM mc_check WHERE ok IS NOT TRUE) THEN
        RAISE EXCEPTION 'version checks failed';
    END IF;
END $$;
EOF
cat > "$work/version_binary.sql" <<'EOF'
CREATE TEMP TABLE mc_check (name text, ok boolean);
-- Binary COPY round trip: version_send out, version_recv back.
COPY mc_vals (id, v) TO :'copyfile' WITH (FORMAT binary);
CREATE TABLE mc_vals2 (id int PRIMARY KEY, v medup.version);
COPY mc_vals2 FROM :'copyfile' WITH (FORMAT binary);
INSERT INTO mc_check
SELECT 'binary COPY round trip', count(*) = (SELECT count(*) FROM mc_vals)
       AND count(*) FILTER (WHERE a.v::text = b.v::text AND a.v = b.v) = count(*)
  FROM mc_vals a JOIN mc_vals2 b USING (id);
-- version_recv on malformed messages: valid, long suffix, negative,
-- truncated, bad suffix bytes, random bytes.  A bytea column COPYed out in
-- binary is exactly the bytes version_recv gets when COPYed back in.
CREATE TABLE mc_recv (v medup.version);
SET mc.recvfile = :'recvfile';
DO $$
DECLARE
    f text := current_setting('mc.recvfile');
    b bytea; n_ok int := 0; n_bad int := 0;
BEGIN
    PERFORM setseed(0.17);
    FOR i IN 1..3000 LOOP
        b := CASE i % 6
            WHEN 0 THEN int4send((random() * 10)::int) || int4send((random() * 10)::int) || int4send((random() * 10)::int)
            WHEN 1 THEN int4send(4) || int4send(1) || int4send(12) || convert_to('-' || repeat('a', floor(random() * 70)::int), 'UTF8')
            WHEN 2 THEN int4send(-(1 + (random() * 5)::int)) || int4send(1) || int4send(2)
            WHEN 3 THEN substr(int4send(4) || int4send(1) || int4send(12), 1, floor(random() * 12)::int)
            WHEN 4 THEN int4send(4) || int4send(1) || int4send(12)
                        || (ARRAY['\x2d'::bytea, '\x2d00'::bytea, '\x2dff'::bytea, '\x61'::bytea, '\x2d2e2d'::bytea])[1 + floor(random() * 5)::int]
            ELSE (SELECT coalesce(string_agg(set_byte('\x00'::bytea, 0, floor(random() * 256)::int), ''::bytea), ''::bytea)
                    FROM generate_series(1, floor(random() * 30)::int + i * 0))
            END;
        EXECUTE format('COPY (SELECT %L::bytea) TO %L WITH (FORMAT binary)', b, f);
        BEGIN
            EXECUTE format('COPY mc_recv FROM %L WITH (FORMAT binary)', f);
            n_ok := n_ok + 1;
        EXCEPTION WHEN invalid_binary_representation OR protocol_violation THEN
            n_bad := n_bad + 1;
        END;
    END LOOP;
    RAISE NOTICE 'binary messages: % accepted, % refused', n_ok, n_bad;
    INSERT INTO mc_check VALUES ('version_recv accepts and refuses', n_ok > 500 AND n_bad > 1000);
END
$$;
INSERT INTO mc_check SELECT 'received values round-trip', bool_and(v::text::medup.version = v AND length(v::text) <= 10 * 3 + 2 + 64) FROM mc_recv;
SELECT name, ok FROM mc_check ORDER BY name;
DROP TABLE mc_vals, mc_vals2, mc_recv;
DO $$ BEGIN
    IF EXISTS (SELECT FROM mc_check WHERE ok IS NOT TRUE) THEN
        RAISE EXCEPTION 'binary checks failed';
    END IF;
END $$;
EOF
chown postgres: "$work"/version_*.sql
set +e
as_server_user "${psql_cmd[@]}" -d regression -f "$work/version_text.sql" > "$work/version_text.out" 2>&1
status=$?
sed 's/^/    /' "$work/version_text.out"
record "version/100k text inputs, hash, sort, joins, indexes" "$status"
as_server_user "${psql_cmd[@]}" -d regression -v copyfile="$work/mc_vals.bin" -v recvfile="$work/mc_recv.bin" \
  -f "$work/version_binary.sql" > "$work/version_binary.out" 2>&1
status=$?
sed 's/^/    /' "$work/version_binary.out"
record "version/binary COPY round trip, malformed binary input" "$status"
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
cat > "$work/canary.c" <<'EOF'
#include "postgres.h"
#include "fmgr.h"

PG_MODULE_MAGIC;
PG_FUNCTION_INFO_V1(memcheck_canary);

Datum
memcheck_canary(PG_FUNCTION_ARGS)
{
	volatile char *buf = malloc(8);
	char		c;

	memset((char *) buf, 'x', 8);
	c = buf[PG_GETARG_INT32(0)];	/* called with 8: one past the end */
	free((char *) buf);
	PG_RETURN_INT32(c);
}
EOF
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

# --- 5. valgrind: a normal build, a single-user backend ----------------------
if [ "${MEDUP_MEMCHECK_VALGRIND:-1}" != 0 ]; then
  echo "== valgrind memcheck (postgres --single)"
  set +e
  build_into_tree
  status=$?
  set -e
  record "build/normal" "$status"
  vg="$work/vg"
  mkdir -p "$vg"
  # PostgreSQL's src/tools/valgrind.supp is not packaged; look anyway.
  pg_supp="$(find "$pkglibdir/pgxs" "$sharedir" -name valgrind.supp 2>/dev/null | head -1 || true)"
  # Without it, the two false positives PostgreSQL itself raises here:
  # WAL records written with uninitialized padding (XLogWrite, a static
  # function, under XLogFlush), and the memmove in RE_compile_and_cache that
  # valgrind sees as an overlapping __memcpy_chk (glibc's fortified memmove
  # and memcpy share an entry point).  Neither stack can pass through medup.
  cat > "$vg/postgres.supp" <<'EOF'
{
   postgres-wal-padding-commit
   Memcheck:Param
   pwrite64(buf)
   fun:pwrite
   obj:*/bin/postgres
   fun:XLogFlush
}
{
   postgres-wal-padding-buffer-full
   Memcheck:Param
   pwrite64(buf)
   fun:pwrite
   obj:*/bin/postgres
   ...
   fun:XLogInsertRecord
}
{
   postgres-regexp-cache-memmove
   Memcheck:Overlap
   fun:__memcpy_chk
   fun:RE_compile_and_cache
}
EOF
  supp_args=(--suppressions="$vg/postgres.supp")
  if [ -n "$pg_supp" ]; then
    supp_args+=(--suppressions="$pg_supp")
    echo "using $pg_supp and $vg/postgres.supp"
  else
    echo "no valgrind.supp from PostgreSQL installed; using $vg/postgres.supp"
  fi
  # Single-user mode with -j: a statement ends at a semicolon followed by an
  # empty line.
  cat > "$vg/vg.sql" <<EOF
CREATE EXTENSION medup;

SELECT setseed(0.31);

CREATE TABLE vg_vals (id int PRIMARY KEY, v medup.version);

DO \$\$ DECLARE s text; v medup.version; w medup.version; n_ok int := 0; n_bad int := 0;
BEGIN
  FOR i IN 1..3000 LOOP
    s := CASE i % 6
      WHEN 0 THEN format('%s%s.%s.%s', (ARRAY['', 'v', ' '])[1 + i % 3], i % 7, (random() * 100)::int, (random() * 2147483647)::int)
      WHEN 1 THEN format('%s.%s.%s-%s', i % 5, i % 11, i, repeat(substr('ab.c-9Z', 1 + i % 7, 1), 1 + i % 70))
      WHEN 2 THEN (ARRAY['04.1.2', '4.1', '', 'v', '4.1.2-', '2147483648.0.0', '4.1.2-a_b', '4.1.2 x'])[1 + i % 8]
      WHEN 3 THEN format('%s.%s.%s-%s ', i, i % 3, i % 4, md5(i::text))
      WHEN 4 THEN repeat(chr(48 + i % 10) || '.', 1 + i % 5)
      ELSE format('%s.%s.%s-%s', 2147483647, 0, i, repeat('x', 60 + i % 8)) END;
    BEGIN
      v := s::medup.version;
    EXCEPTION WHEN invalid_text_representation THEN
      n_bad := n_bad + 1; CONTINUE;
    END;
    w := v::text::medup.version;
    IF NOT (v = w AND v::text = w::text AND medup.version_hash(v) = medup.version_hash(w)
            AND medup.version_hash_extended(v, i) = medup.version_hash_extended(medup.base(w), i)
            AND medup.version_cmp(v, w) = 0 AND v <= w AND v >= w AND NOT v < w AND NOT v > w AND NOT v <> w
            AND medup.version_send(v) = medup.version_send(w)) THEN
      RAISE EXCEPTION 'round trip failed for %', s;
    END IF;
    INSERT INTO vg_vals VALUES (i, v);
    n_ok := n_ok + 1;
  END LOOP;
  RAISE WARNING 'vg: versions % valid, % refused', n_ok, n_bad;
END \$\$;

SELECT count(DISTINCT v), max(v), min(v), max(medup.major(v)), max(medup.minor(v)), max(medup.patch(v)), count(DISTINCT medup.base(v)) FROM vg_vals;

SET work_mem = '64kB';

SELECT count(*) FROM (SELECT v, lag(v) OVER (ORDER BY v) AS p FROM vg_vals) x WHERE p > v;

SET enable_sort = off;

SELECT count(*) FROM (SELECT v FROM vg_vals GROUP BY v) g;

RESET enable_sort;

SET enable_mergejoin = off;

SELECT count(*) FROM vg_vals a JOIN vg_vals b ON a.v = b.v;

RESET enable_mergejoin;

SET enable_hashjoin = off;

SELECT count(*) FROM vg_vals a JOIN vg_vals b ON a.v = b.v;

RESET enable_hashjoin;

RESET work_mem;

CREATE INDEX vg_vals_btree ON vg_vals (v);

CREATE INDEX vg_vals_hash ON vg_vals USING hash (v);

SET enable_seqscan = off;

SELECT count(*) FROM vg_vals WHERE v >= '1.0.0' AND v < '3.0.0';

SELECT count(*) FROM vg_vals WHERE v = '4.1.12';

RESET enable_seqscan;

COPY vg_vals TO '$vg/vg_vals.bin' WITH (FORMAT binary);

CREATE TABLE vg_vals2 (LIKE vg_vals);

COPY vg_vals2 FROM '$vg/vg_vals.bin' WITH (FORMAT binary);

DO \$\$ BEGIN
  IF (SELECT count(*) FILTER (WHERE a.v::text = b.v::text) FROM vg_vals a JOIN vg_vals2 b USING (id)) <> (SELECT count(*) FROM vg_vals) THEN
    RAISE EXCEPTION 'binary round trip differs';
  END IF;
  RAISE WARNING 'vg: binary COPY round trip ok';
END \$\$;

CREATE TABLE vg_recv (v medup.version);

DO \$\$ DECLARE b bytea; n_ok int := 0; n_bad int := 0;
BEGIN
  FOR i IN 1..60 LOOP
    b := CASE i % 6
      WHEN 0 THEN int4send(i) || int4send(1) || int4send(2)
      WHEN 1 THEN int4send(4) || int4send(1) || int4send(12) || convert_to('-' || repeat('a', i), 'UTF8')
      WHEN 2 THEN int4send(-i) || int4send(1) || int4send(2)
      WHEN 3 THEN substr(int4send(4) || int4send(1) || int4send(12), 1, i % 12)
      WHEN 4 THEN int4send(4) || int4send(1) || int4send(12) || '\x2dff'::bytea
      ELSE decode(md5(i::text), 'hex') END;
    EXECUTE format('COPY (SELECT %L::bytea) TO %L WITH (FORMAT binary)', b, '$vg/vg_recv.bin');
    BEGIN
      EXECUTE format('COPY vg_recv FROM %L WITH (FORMAT binary)', '$vg/vg_recv.bin');
      n_ok := n_ok + 1;
    EXCEPTION WHEN invalid_binary_representation OR protocol_violation THEN
      n_bad := n_bad + 1;
    END;
  END LOOP;
  RAISE WARNING 'vg: binary messages % accepted, % refused', n_ok, n_bad;
END \$\$;

SELECT count(*) FROM medup.upgrade_path('3.1.2', '4.3.15');

SELECT count(*) FROM medup.upgrade_path('3.1.2', '4.3.15', required_only => true);

SELECT count(*) FROM medup.upgrade_path('3.0.0', 'latest');

SELECT count(*) FROM medup.upgrade_path('4.1.2', '4.3');

SELECT count(*) FROM medup.upgrade_path('4.1.12-1', 'v4.2.6');

DO \$\$ DECLARE n int := 0;
BEGIN
  FOR t IN 1..6 LOOP
    BEGIN
      PERFORM * FROM medup.upgrade_path((ARRAY['4.3.0', '4.1.2', '4.1.2', '3.1.2', '4.1.2', '9.9.9'])[t],
                                        (ARRAY['4.1.0', '9.0.0', '4.77', 'nonsense', NULL, 'latest'])[t]);
    EXCEPTION WHEN OTHERS THEN n := n + 1;
    END;
  END LOOP;
  RAISE WARNING 'vg: upgrade_path refused % of 6', n;
END \$\$;

SELECT medup.load_releases('[{"version": "5.3.0", "released_on": "2026-12-01"}, {"version": "v5.2.13", "released_on": "2026-11-20", "source": "GitHub"}, {"version": "5.3.1-1"}]');

SELECT medup.load_releases('[{"version": "5.3.0", "released_on": "2026-12-02"}]');

SELECT medup.load_data_migrations('{"v1": {"serverVersion": "3.3.0", "requiredBefore": "4.0.0", "note": "ignored"}, "v90": {"serverVersion": "5.3.0"}}');

DO \$\$ DECLARE n int := 0;
BEGIN
  FOR t IN 1..6 LOOP
    BEGIN
      CASE t
        WHEN 1 THEN PERFORM medup.load_releases('[{"version": "5.3"}]');
        WHEN 2 THEN PERFORM medup.load_releases('{"version": "5.3.0"}');
        WHEN 3 THEN PERFORM medup.load_data_migrations('{"v91": {"serverVersion": "x"}}');
        WHEN 4 THEN PERFORM medup.load_data_migrations('[1, 2]');
        WHEN 5 THEN PERFORM medup.load_data_migrations('{"other": {"serverVersion": "5.3.0"}}');
        ELSE PERFORM medup.load_releases('[{"version": "5.4.0", "released_on": "not a date"}]');
      END CASE;
    EXCEPTION WHEN OTHERS THEN n := n + 1;
    END;
  END LOOP;
  RAISE WARNING 'vg: loaders refused % of 6', n;
END \$\$;

SELECT count(*) FROM medup.upgrade_path('5.2.0', 'latest');

SELECT state FROM medup.status();

DELETE FROM medup.release_loaded;

DELETE FROM medup.data_migration_loaded;

DROP TABLE vg_vals, vg_vals2, vg_recv;

DROP EXTENSION medup;
EOF
  chown -R postgres: "$vg"
  set +e
  (cd "$vg" && as_server_user valgrind --error-exitcode=1 --leak-check=no --track-origins=yes \
     --num-callers=30 --gen-suppressions=all "${supp_args[@]}" --log-file="$vg/valgrind.log" \
     "$pbin/postgres" --single -j -D "$data" vg < "$vg/vg.sql" > "$vg/single.out" 2>&1)
  status=$?
  set -e
  # (In single-user mode a NOTICE reaches no client: the checkpoints are WARNINGs.)
  grep -o 'WARNING:  vg: .*' "$vg/single.out" | sed 's/^/    /' || true
  grep -h 'ERROR SUMMARY' "$vg/valgrind.log" | sed 's/^==[0-9]*== /    valgrind: /' || true
  if [ "$status" -ne 0 ]; then
    grep -v '^   \|^{\|^}' "$vg/valgrind.log" | head -80 || true
  fi
  record "valgrind/version, upgrade_path, loaders" "$status" "valgrind log: $vg/valgrind.log"
  # Every statement ran, and none failed outside the blocks that expect it.
  set +e
  checkpoints=$(grep -c 'WARNING:  vg: ' "$vg/single.out")
  ! grep -Eq '(ERROR|FATAL|PANIC):' "$vg/single.out" && [ "$checkpoints" -eq 5 ]
  record "valgrind/script ran without errors" $? "$checkpoints of 5 checkpoints"
  ! grep -q 'medup\.so' "$vg/valgrind.log"
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
