#!/usr/bin/env bash
# The fleet benchmark: what reading remote targets costs.  Builds and
# installs medup, starts two private throw-away clusters on the loopback
# (a monitoring one with medup, a "remote" one holding a Medplum database
# of 4.1.12 mid-migration, reached over TCP with a password login), and
# prints, measured in this one run:
#   - status() of the local database and status('remote') of one target;
#   - medup.fleet over 1, 10 and 50 targets (read concurrently), next to
#     50 targets read one after the other (50 x status(target));
#   - the same fleet with one target that never answers (the timeout).
#
#   bash bench/fleet.sh
#
# Environment: MEDUP_FLEET_PORT (monitor; the remote is the next port,
# default 54465), MEDUP_FLEET_REPEATS (default 5).  A measurement, not a
# test: it exits 0 unless something fails.
set -euo pipefail
source "$(dirname "$0")/../test/lib.sh"

PORT="${MEDUP_FLEET_PORT:-54465}"
RPORT=$((PORT + 1))
REPEATS="${MEDUP_FLEET_REPEATS:-5}"
PW="bench-$RANDOM-$RANDOM"

bash "$REPO/test/deps.sh"
build_and_install

DIR="$(server_tmpdir fleet)"
cleanup() {
  local rc=$?
  for n in monitor remote; do
    if [ -f "$DIR/$n/postmaster.pid" ]; then
      as_server_user "$PG_BINDIR/pg_ctl" -D "$DIR/$n" stop -m immediate >/dev/null 2>&1 || true
    fi
  done
  rm -rf "$DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for n in monitor remote; do
  as_server_user "$PG_BINDIR/initdb" -D "$DIR/$n" -A trust -U postgres >/dev/null
done
cat >> "$DIR/monitor/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$DIR'
shared_preload_libraries = 'medup'
max_connections = 100
CONF
cat >> "$DIR/remote/postgresql.conf" <<CONF
port = $RPORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
password_encryption = 'scram-sha-256'
max_connections = 200
CONF
{ echo "host all medup_monitor 127.0.0.1/32 scram-sha-256"; cat "$DIR/remote/pg_hba.conf"; } > "$DIR/hba"
as_server_user cp "$DIR/hba" "$DIR/remote/pg_hba.conf"
for n in monitor remote; do
  as_server_user "$PG_BINDIR/pg_ctl" -D "$DIR/$n" -l "$DIR/$n.log" -w start >/dev/null
done

export PGOPTIONS="-c client_min_messages=warning"
mon() { "$PG_BINDIR/psql" -h "$DIR" -p "$PORT" -U postgres -X -q -v ON_ERROR_STOP=1 -d monitor -At "$@"; }
rem() { "$PG_BINDIR/psql" -h "$DIR" -p "$RPORT" -U postgres -X -q -v ON_ERROR_STOP=1 -d medplum -At "$@"; }

"$PG_BINDIR/psql" -h "$DIR" -p "$RPORT" -U postgres -X -q -d postgres -c 'CREATE DATABASE medplum'
rem -f "$REPO/test/medplum.sql" >/dev/null
rem -f "$REPO/test/sample-medplum.sql" >/dev/null
rem -c "CREATE ROLE medup_monitor LOGIN PASSWORD '$PW'" \
    -c 'GRANT SELECT ON public."DatabaseMigration", public."AsyncJob" TO medup_monitor' \
    -c 'GRANT pg_monitor TO medup_monitor'
"$PG_BINDIR/psql" -h "$DIR" -p "$PORT" -U postgres -X -q -d postgres -c 'CREATE DATABASE monitor'
mon -c 'CREATE EXTENSION medup' -c 'CREATE SCHEMA medup_dblink' -c 'CREATE EXTENSION dblink SCHEMA medup_dblink' \
    -c "CREATE SERVER remote FOREIGN DATA WRAPPER dblink_fdw OPTIONS (host '127.0.0.1', port '$RPORT', dbname 'medplum', connect_timeout '5')" \
    -c "CREATE USER MAPPING FOR postgres SERVER remote OPTIONS (user 'medup_monitor', password '$PW')"
# A server that accepts connections and never answers: a listening socket
# nobody accepts from (the kernel completes the handshake, then nothing).
python3 - "$DIR/hung.port" <<'PY' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(3600)
PY
HUNG_PID=$!
trap 'kill $HUNG_PID 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 50); do [ -s "$DIR/hung.port" ] && break; sleep 0.1; done
HPORT=$(cat "$DIR/hung.port")
mon -c "CREATE SERVER hung FOREIGN DATA WRAPPER dblink_fdw OPTIONS (host '127.0.0.1', port '$HPORT', dbname 'medplum', connect_timeout '2')" \
    -c "CREATE USER MAPPING FOR postgres SERVER hung OPTIONS (user 'medup_monitor', password '$PW')"
mon -c "SELECT medup.add_target('one', 'remote', 'n1', 'standalone')" >/dev/null
mon -c "SELECT medup.add_target('ten' || i, 'remote', 'n10', 'standalone') FROM generate_series(1, 10) i" >/dev/null
mon -c "SELECT medup.add_target('fifty' || i, 'remote', 'n50', 'standalone') FROM generate_series(1, 50) i" >/dev/null
mon -c "SELECT medup.add_target('fifty-hung', 'hung', 'n50h', 'standalone');
        SELECT medup.add_target('fifty-h' || i, 'remote', 'n50h', 'standalone') FROM generate_series(1, 49) i" >/dev/null

# ms QUERY: the median wall time of REPEATS runs of QUERY, in one session.
ms() {
  mon -c "CREATE OR REPLACE FUNCTION pg_temp.t(q text, n int) RETURNS float8 LANGUAGE plpgsql AS \$\$
          DECLARE t0 timestamptz; ts float8[] := '{}';
          BEGIN FOR i IN 1 .. n LOOP t0 := clock_timestamp(); EXECUTE q;
                  ts := ts || extract(epoch FROM clock_timestamp() - t0) * 1000; END LOOP;
                RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(ts) x); END \$\$" \
      -c "SELECT round(pg_temp.t(\$q\$$1\$q\$, $REPEATS)::numeric, 1)"
}
echo "== remote targets on the loopback, over TCP with a SCRAM password login (medians of $REPEATS)"
echo "machine load: $(cut -d' ' -f1-3 /proc/loadavg)"
local_ms=$(ms "SELECT * FROM medup.status()")
one_ms=$(ms "SELECT * FROM medup.status('one')")
f1=$(ms "SELECT * FROM medup.read_fleet('n1')")
f10=$(ms "SELECT * FROM medup.read_fleet('n10')")
f50=$(ms "SELECT * FROM medup.read_fleet('n50')")
seq50=$(ms "SELECT count(*) FROM medup.target t, LATERAL medup.status(t.name) s WHERE t.cluster = 'n50'")
connect_ms=$(ms "SELECT medup_dblink.dblink_connect('c', 'remote'), medup_dblink.dblink_disconnect('c')")
hung=$(ms "SELECT * FROM medup.read_fleet('n50h')")
printf '%-55s %10s ms\n' "status() of this database (not Medplum)" "$local_ms"
printf '%-55s %10s ms\n' "one connection (dblink_connect + disconnect)" "$connect_ms"
printf '%-55s %10s ms\n' "status('one'): one remote target" "$one_ms"
printf '%-55s %10s ms\n' "medup.fleet of 1 target" "$f1"
printf '%-55s %10s ms\n' "medup.fleet of 10 targets" "$f10"
printf '%-55s %10s ms\n' "medup.fleet of 50 targets" "$f50"
printf '%-55s %10s ms\n' "50 x status(target), one after the other" "$seq50"
printf '%-55s %10s ms\n' "medup.fleet of 50 targets, one never answers (2 s)" "$hung"
awk -v a="$seq50" -v b="$f50" -v c="$connect_ms" 'BEGIN {
  printf "fleet of 50 vs one after the other: %.2fx; fleet of 50 less 50 connections: %.0f ms\n", a / b, b - 50 * c }'
mon -c "SELECT name, state, error_code, round(extract(epoch FROM read_in) * 1000) AS read_ms
          FROM medup.read_fleet('n50h') WHERE error_code IS NOT NULL"
