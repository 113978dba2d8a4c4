#!/usr/bin/env bash
# medup-test: host-only
# A PostgreSQL 17 Medplum database watched from medup on the host's
# PostgreSQL 15 (the Aurora 16 situation: the monitor a version behind the
# remote).  The 17 server runs in a fresh copy of Debian trixie's root
# (test/debian-root.sh; trixie's binaries need trixie's libc) on the host's
# network, listening on 127.0.0.1, where the monitoring role logs in with a
# password and exactly the README's grants.  The same Medplum fixtures are
# in a database of the 15 cluster with medup installed: for each era,
# status(), check(), gate(), the fleet and the views with a target column
# give for the 17 target what medup answers there.  Then a migration in
# progress on both (v10 running, Medplum's session holding the migration
# lock and building an index behind a writer, then that build cancelled):
# pg_stat_activity, pg_locks and the progress views read on 17 give the
# answers they give on 15, and the worker samples the 17 target.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$REPO/test/debian-root.sh"

remote_major=17
if [ "$PG_MAJOR" = "$remote_major" ]; then
  echo "  skipped: the monitor is the host's PostgreSQL, here $PG_MAJOR, the remote's version (tap/015_targets covers one version; PG_MAJOR=15 runs this test)"
  exit 77
fi

# --- the 17 root: cached, or built now (a few minutes) ---------------------
mirror_reachable() {   # can mmdebstrap reach the mirror the host's apt uses?
  local url host port
  url="$(host_mirror)"
  host="${url#*://}"; host="${host%%/*}"
  case "$url" in https://*) port=443 ;; *) port=80 ;; esac
  case "$host" in *:*) port="${host##*:}"; host="${host%%:*}" ;; esac
  timeout 10 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null
}
if [ ! -s "$(debian_root_cache_path "$remote_major")" ]; then
  if ! command -v mmdebstrap >/dev/null; then
    echo "  skipped: no cached PostgreSQL $remote_major root and no mmdebstrap to build one (bash test/deps.sh roots)"
    exit 77
  fi
  if ! mirror_reachable; then
    echo "  skipped: no cached PostgreSQL $remote_major root, and the Debian mirror $(host_mirror) cannot be reached to build one"
    exit 77
  fi
fi

start=$SECONDS
dir="$(server_tmpdir remote17)"
root="" spawned=()
# The monitor listens on a unix socket in $dir only; the 17 server on
# 127.0.0.1, on the first port from 25617 that nothing answers on (another
# run of this test may hold one): below Linux's ephemeral ports
# (32768-60999), which client connections take.
port15=54615
port17="${MEDUP_REMOTE17_PORT:-}"
if [ -z "$port17" ]; then
  for port17 in $(seq 25617 25716); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port17") 2>/dev/null || break
  done
fi
data17=/var/tmp/medup17          # in the root
sock17="" postmaster17=""
password='Kv9-remote17-NEVER-shown'

stop_17() {
  [ -n "$postmaster17" ] || return 0
  kill -INT "$postmaster17" 2>/dev/null || return 0   # fast shutdown
  for _ in $(seq 100); do kill -0 "$postmaster17" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$postmaster17" 2>/dev/null || true
  sleep 0.5
}
cleanup() {
  local p
  for p in "${spawned[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_17
  stop_private_cluster "$dir" immediate
  if [ -n "$root" ]; then debian_root_remove "$root"; fi
  rm -rf "$dir"
}
trap cleanup EXIT

fail=0
check() { if eval "$2"; then echo "  ok: $1"; else echo "  FAILED: $1"; fail=1; fi; }

root="$(debian_root_new "$remote_major")"
echo "  (the trixie root copied in $((SECONDS - start)) s)"

# The 17 cluster, in the root as its postgres user: the superuser through
# a unix socket in the root (the host's psql uses it through the root's
# directory), the monitoring login over TCP with a password.
cat > "$root/tmp/start17.sh" <<EOF
set -eu
bin=/usr/lib/postgresql/$remote_major/bin
mkdir -p $data17/run
chown -R postgres: $data17
runuser -u postgres -- \$bin/initdb -D $data17/data -U postgres --auth-local=trust --auth-host=reject >/dev/null
cat >> $data17/data/postgresql.conf <<CONF
port = $port17
listen_addresses = '127.0.0.1'
unix_socket_directories = '$data17/run'
password_encryption = 'scram-sha-256'
CONF
sed -i '1i host all medup_monitor 127.0.0.1/32 scram-sha-256' $data17/data/pg_hba.conf
runuser -u postgres -- \$bin/pg_ctl -D $data17/data -l $data17/server.log -w start >/dev/null
EOF
set +e
debian_root_spawn "$root" bash /tmp/start17.sh
status=$?
set -e
postmaster17="$(head -n 1 "$root$data17/data/postmaster.pid" 2>/dev/null || true)"
check "PostgreSQL $remote_major starts in the trixie root on 127.0.0.1:$port17 (exit $status)" '[ "$status" -eq 0 ] && [ -n "$postmaster17" ]'
if [ "$status" -ne 0 ]; then cat "$root$data17/server.log" 2>/dev/null | tail -n 20; exit 1; fi
sock17="$root$data17/run"

psql=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -U postgres)
export PGOPTIONS="-c client_min_messages=error"   # gate()'s warnings: its answer is compared
p17() { "${psql[@]}" -h "$sock17" -p "$port17" "$@"; }
p15() { "${psql[@]}" -h "$dir" -p "$port15" "$@"; }
v17="$(p17 -d postgres -At -c 'SHOW server_version_num')"
check "the remote is PostgreSQL $remote_major ($v17)" '[ "${v17:0:2}" = "$remote_major" ]'
echo "  (PostgreSQL $remote_major up at $((SECONDS - start)) s)"

# --- the same Medplum databases on both ----------------------------------
# The demo's (4.1.12, v10 running) in public, every fixture era in a
# schema of its own.
start_private_cluster "$dir" "$port15" "shared_preload_libraries = 'medup'" \
  "medup.databases = 'medplum'" "medup.naptime = 1" "medup.target_timeout = '10s'"
for p in p17 p15; do
  $p -d postgres -c "CREATE DATABASE medplum"
  (cd "$REPO" && $p -d medplum -f test/medplum.sql -f test/sample-medplum.sql -f sql/fixtures.sql) > /dev/null
done
mapfile -t schemas < <(p17 -d medplum -At -c "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'mp\_%' ORDER BY 1")
check "every fixture era is on the remote (${#schemas[@]} schemas)" '[ "${#schemas[@]}" -ge 20 ]'

# The monitoring login on 17 with exactly the README's grants, for each
# Medplum schema: USAGE on it, SELECT on its two tables (where it has them).
p17 -d medplum -c "CREATE ROLE medup_monitor LOGIN PASSWORD '$password'" -c "GRANT pg_monitor TO medup_monitor" -c "
DO \$\$
DECLARE s text; t text;
BEGIN
    FOR s IN SELECT nspname FROM pg_namespace WHERE nspname = 'public' OR nspname LIKE 'mp\\_%' LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO medup_monitor', s);
        FOR t IN SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = s AND c.relname IN ('DatabaseMigration', 'AsyncJob') LOOP
            EXECUTE format('GRANT SELECT ON %I.%I TO medup_monitor', s, t);
        END LOOP;
    END LOOP;
END
\$\$"

# medup on 15: answers for its own copy, and for the 17 remote as targets
# (t17: public; each era under its schema's name).
p15 -d medplum -c "CREATE EXTENSION medup" -c "CREATE SCHEMA medup_dblink" -c "CREATE EXTENSION dblink SCHEMA medup_dblink" \
  -c "CREATE SERVER medplum17 FOREIGN DATA WRAPPER dblink_fdw
        OPTIONS (host '127.0.0.1', port '$port17', dbname 'medplum', connect_timeout '3')" \
  -c "CREATE USER MAPPING FOR CURRENT_USER SERVER medplum17 OPTIONS (user 'medup_monitor', password '$password')" \
  -c "SELECT medup.add_target('t17', 'medplum17')" > /dev/null
for s in "${schemas[@]}"; do
  p15 -d medplum -c "SELECT medup.add_target('$s', 'medplum17', medplum_schema => '$s')" > /dev/null
done
echo "  (fixtures, roles and targets ready at $((SECONDS - start)) s)"

# answers TARGET SCHEMA: medup's answers through TARGET (empty: this
# database, its Medplum tables in SCHEMA), one line each; times, the
# views' target column and the worker of this database aside (status()
# tells worker_running and last_sample_at of this database's own worker
# only: a remote target has none of its own).  gate() and the fleet row too, an error as
# its SQLSTATE, message, DETAIL and HINT.
versions="ARRAY['4.2.6', '4.1.18', '4.1.12', '4.0.4', '3.3.1', '5.0.15', '4.3.15']"
answers() {
  local t="${1:-}" s="$2" arg="NULL" name="current_database()"
  if [ -n "$t" ]; then arg="'$t'"; name="'$t'"; fi
  p15 -d medplum -At -c "SET medup.medplum_schema = '$s'" -c "
CREATE FUNCTION pg_temp.gate_answer(v text, t text) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE m text; d text; h text;
BEGIN
    RETURN medup.gate(v, target => t);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RETURN concat_ws(' / ', SQLSTATE, m, d, h);
END \$\$" -c "
SELECT concat('status ', to_jsonb(st) - 'checked_at' - 'est_time_left_low' - 'est_time_left_high'
                     - 'worker_running' - 'last_sample_at')
  FROM medup.status($arg) st;
SELECT concat('migrations ', coalesce(jsonb_agg(jsonb_set(to_jsonb(m) - 'target', '{duration}',
                                 to_jsonb(date_trunc('hour', m.duration))) ORDER BY m.data_version), '[]'))
  FROM medup.migrations m WHERE m.target = $name;
SELECT concat('jobs ', coalesce(jsonb_agg(to_jsonb(j) - 'target' ORDER BY j.job_id, j.parse_error), '[]'))
  FROM medup.jobs j WHERE j.target = $name;
SELECT concat('invalid_indexes ', coalesce(jsonb_agg(to_jsonb(i) - 'target' ORDER BY i.table_name, i.index_name), '[]'))
  FROM medup.invalid_indexes i WHERE i.target = $name;
SELECT concat('check ', jsonb_agg(to_jsonb(c) ORDER BY v, c.rule)) FROM unnest($versions) v, medup.check(v, target => $arg) c;
SELECT 'gate ' || string_agg(v || ': ' || pg_temp.gate_answer(v, $arg), '; ' ORDER BY v) FROM unnest($versions) v;
SELECT concat('durations ', coalesce(jsonb_agg(to_jsonb(d) - 'target' ORDER BY d.data_version, d.started), '[]'))
  FROM medup.durations d WHERE d.target = $name;
SELECT concat('progress ', coalesce(jsonb_agg(to_jsonb(p) - 'target' - 'started_at' ORDER BY p.pid), '[]'))
  FROM medup.progress p WHERE p.target = $name;
SELECT concat('fleet ', to_jsonb(f) - 'name' - 'read_in' - 'last_sample_at' - 'sampling_late')
  FROM medup.fleet f WHERE f.name = $name;"
}

# The pids of the Medplum sessions that the test starts (below), which
# differ between the two servers, by their part.
normalize() {
  sed -E "${pid_names:-}"
}

# compare WHAT TARGET SCHEMA: the answers through the 17 target are this
# database's, line by line.
compare() {
  local what="$1" here there
  here="$(answers "$2" "$3" 2>&1 | normalize || true)"
  there="$(answers "" "$3" 2>&1 | normalize || true)"
  # The fleet leaves this database out when it is not Medplum and only
  # monitors others: a not_medplum era has no local row to compare with.
  if grep -q '^status .*"state": "not_medplum"' <<<"$there"; then
    here="$(grep -v '^fleet ' <<<"$here")"
    there="$(grep -v '^fleet ' <<<"$there")"$'\n(no fleet row)'
    here+=$'\n(no fleet row)'
  fi
  if [ "$here" = "$there" ] && [ "$(wc -l <<<"$here")" -eq 9 ]; then
    echo "  ok: $what: the 17 target answers as medup on 15 does"
  else
    echo "  FAILED: $what: the 17 target answers otherwise (< 17 target, > local 15)"
    diff <(tr -s ' ' <<<"$here") <(tr -s ' ' <<<"$there") | head -n 20 | sed 's/^/    /' || true
    fail=1
  fi
}

# --- every era, both ways --------------------------------------------------
compare "t17 (4.1.12, v10 running)" t17 public
for s in "${schemas[@]}"; do compare "$s" "$s" "$s"; done
# The comparisons compare something.
answer="$(p15 -d medplum -At -c "SELECT concat_ws(' ', state, data_version, running_migration) FROM medup.status('t17')")"
check "status('t17') sees v10 running after v9 ($answer)" '[ "$answer" = "migrating 9 10" ]'
answer="$(p15 -d medplum -At -c "SELECT concat_ws(' ', name, reachable, state) FROM medup.fleet WHERE name = 't17'")"
check "the fleet reads the 17 target ($answer)" '[ "$answer" = "t17 t migrating" ]'

# --- a migration in progress, on both --------------------------------------
# With v10 running, Medplum's session (application_name medplum-server)
# holds the migration lock and writes to "Patient" in an open transaction;
# a second one builds an index on "Patient" concurrently, which waits for
# the first: the lock in pg_locks, the sessions in pg_stat_activity, a row
# in pg_stat_progress_create_index, read on 17 as on 15.
poll() {   # poll SERVER SQL: until SQL answers t on SERVER's medplum (30 s at most)
  local _
  for _ in $(seq 150); do
    [ "$($1 -d medplum -At -c "$2")" = t ] && return 0
    sleep 0.2
  done
  return 1
}
pid_names=""
for p in p17 p15; do
  PGAPPNAME=medplum-server $p -d medplum -c "SELECT pg_advisory_lock(1)" -c "BEGIN" \
    -c 'LOCK TABLE public."Patient" IN ROW EXCLUSIVE MODE' -c "SELECT pg_sleep(600)" > /dev/null 2>&1 &
  spawned+=($!)
  poll $p "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'medplum-server' AND query = 'SELECT pg_sleep(600)'"
  PGAPPNAME=medplum-server $p -d medplum -c 'CREATE INDEX CONCURRENTLY "Patient_medup17_idx" ON public."Patient" (id)' > /dev/null 2>&1 &
  spawned+=($!)
  check "$p: Medplum's index build waits for its writer" \
    'poll $p "SELECT count(*) = 1 FROM pg_stat_progress_create_index WHERE phase = '"'waiting for writers before build'"'"'
  pids="$($p -d medplum -At -F ' ' -c "SELECT (SELECT pid FROM pg_stat_activity WHERE application_name = 'medplum-server' AND query LIKE 'SELECT pg_sleep%'),
                                              (SELECT pid FROM pg_stat_progress_create_index)")"
  read -r writer builder <<<"$pids"
  eval "${p}_writer=$writer ${p}_builder=$builder"
  pid_names+="s/\\b$writer\\b/WRITER/g; s/\\b$builder\\b/BUILDER/g; "
done
compare "a migration in progress (the migration lock, the sessions, the index build)" t17 public
answer="$(p15 -d medplum -At -c "SELECT concat_ws(' ', migration_lock_pid = $p17_writer, migration_lock_application,
                                                     blocked_by = ARRAY[$p17_writer]) FROM medup.status('t17')")"
check "status('t17') names the lock's holder on 17, who blocks the build ($answer)" '[ "$answer" = "t medplum-server t" ]'
answer="$(p15 -d medplum -At -c "SELECT concat_ws(' ', pid = $p17_builder, command, phase, blocked_by = ARRAY[$p17_writer], application_name)
                                    FROM medup.progress WHERE target = 't17'")"
check "medup.progress shows the 17 target's index build ($answer)" \
  '[ "$answer" = "t CREATE INDEX CONCURRENTLY waiting for writers before build t medplum-server" ]'

# The worker samples the 17 target as it samples this database.
sampled="SELECT concat_ws(' ', state, data_version, running_migration, command, phase, lock_pid IS NOT NULL)
           FROM medup.sample WHERE target = %s AND command IS NOT NULL ORDER BY sampled_at DESC LIMIT 1"
check "the worker samples the 17 target while the index builds" \
  "poll p15 \"SELECT EXISTS ($(printf "$sampled" "'t17'"))\" && poll p15 \"SELECT EXISTS ($(printf "$sampled" "'medplum'"))\""
here="$(p15 -d medplum -At -c "$(printf "$sampled" "'t17'")")"
there="$(p15 -d medplum -At -c "$(printf "$sampled" "'medplum'")")"
check "its sample is this database's ($here)" '[ -n "$here" ] && [ "$here" = "$there" ]'

# The build cancelled: an invalid index left behind, as on 15.
for p in p17 p15; do
  eval "builder=\$${p}_builder"
  $p -d medplum -At -c "SELECT pg_cancel_backend($builder)" > /dev/null
  poll $p "SELECT count(*) = 0 FROM pg_stat_progress_create_index"
done
compare "a cancelled index build" t17 public
answer="$(p15 -d medplum -At -c "SELECT index_name || ': ' || fix FROM medup.invalid_indexes WHERE target = 't17'")"
check "medup.invalid_indexes names the 17 target's ($answer)" \
  '[ "$answer" = "Patient_medup17_idx: REINDEX INDEX CONCURRENTLY public.\"Patient_medup17_idx\";" ]'
for p in p17 p15; do
  eval "writer=\$${p}_writer"
  $p -d medplum -At -c "SELECT pg_terminate_backend($writer)" > /dev/null
done
answer="$(p15 -d medplum -At -c "SELECT count(*) > 0 FROM medup.history WHERE target = 't17'")"
check "medup.history has the 17 target's samples" '[ "$answer" = t ]'

check "the password is in neither server's log" \
  '! grep -q -- "$password" "$root$data17/server.log" "$dir/server.log"'
echo "  (remote_17: $((SECONDS - start)) s)"
exit "$fail"
