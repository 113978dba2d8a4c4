#!/usr/bin/env bash
# The main job, from a clean clone: install what is missing, build, install,
# start a private throw-away PostgreSQL cluster with a Medplum-shaped sample
# database, and show what medup answers there.
#
# The cluster lives in $MEDUP_DEMO_DIR (default /tmp/medup-demo) on port
# $MEDUP_DEMO_PORT (default 54329).  Running this again replaces only a
# cluster this script created (it leaves a marker file); it never touches
# any other cluster.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DEMO_DIR="${MEDUP_DEMO_DIR:-/tmp/medup-demo}"
DEMO_PORT="${MEDUP_DEMO_PORT:-54329}"
MARKER="$DEMO_DIR/created-by-medup-demo"

bash "$REPO/test/deps.sh"
build_and_install

echo "== private cluster in $DEMO_DIR, port $DEMO_PORT"
if [ -e "$DEMO_DIR" ]; then
  if [ ! -e "$MARKER" ]; then
    echo "$DEMO_DIR exists and was not made by this script: refusing to touch it." >&2
    echo "Set MEDUP_DEMO_DIR to another directory." >&2
    exit 1
  fi
  stop_private_cluster "$DEMO_DIR"
  rm -rf "$DEMO_DIR"
fi
if "$PG_BINDIR/pg_isready" -q -h /tmp -p "$DEMO_PORT" 2>/dev/null; then
  echo "Port $DEMO_PORT is taken by a server this script did not start: set MEDUP_DEMO_PORT." >&2
  exit 1
fi
mkdir -p "$DEMO_DIR"
touch "$MARKER"
if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$DEMO_DIR"; fi
start_private_cluster "$DEMO_DIR" "$DEMO_PORT" \
  "shared_preload_libraries = 'medup'" "medup.databases = 'medplum'" "medup.naptime = 2"

PSQL=("$PG_BINDIR/psql" -h "$DEMO_DIR" -p "$DEMO_PORT" -U postgres -X -q -v ON_ERROR_STOP=1)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE medplum"
"${PSQL[@]}" -d medplum -f "$REPO/test/medplum.sql" -f "$REPO/test/sample-medplum.sql" >/dev/null
"${PSQL[@]}" -d medplum -c "CREATE EXTENSION medup"

show() {   # show TITLE SQL [psql options]
  echo
  [ -n "$1" ] && echo "== $1"
  echo "medplum=# $2"
  "${PSQL[@]}" -d medplum -P pager=off "${@:3}" -c "$2" 2>&1 || true
}

show "How do I get from 3.1.2 to 4.3.15? Every stop, and why" \
     "SELECT step, version, crosses_major, required, medup.format_migrations(migrations) AS migrations, reason FROM medup.upgrade_path('3.1.2', '4.3.15');"
show "Only the stops the migration manifest forces" \
     "SELECT step, version, required, medup.format_migrations(migrations) AS migrations FROM medup.upgrade_path('3.1.2', '4.3.15', required_only => true);"
show "Where is the sample Medplum database now?" "SELECT * FROM medup.status();" -x
show "The post-deploy migrations, like Medplum's admin page" \
     "SELECT data_version, server_version, required_before, state, attempts, detail FROM medup.migrations WHERE data_version BETWEEN 9 AND 14;"
show "May I deploy 4.2.6 now?" "SELECT medup.gate('4.2.6');"
show "And 4.1.18, the latest 4.1 patch?" "SELECT medup.gate('4.1.18', current => '4.1.12');"

# Give the background worker a few naptimes to record something.
for _ in $(seq 1 20); do
  n=$("${PSQL[@]}" -d medplum -Atc "SELECT count(*) FROM medup.sample")
  [ "$n" -ge 3 ] && break
  sleep 1
done
show "What happened: the worker's samples (medup.history) and events" \
     "SELECT \"time\", state, data_version, running_migration, rows_done FROM medup.history ORDER BY \"time\" DESC LIMIT 3;"
show "" "SELECT event_at, kind, data_version, detail FROM medup.event ORDER BY event_id;"
echo
echo "The cluster keeps running so you can look around:"
echo "  psql -h $DEMO_DIR -p $DEMO_PORT -U postgres medplum"
echo "Stop it with:"
echo "  $( [ "$(id -u)" -eq 0 ] && echo 'runuser -u postgres -- ')$PG_BINDIR/pg_ctl -D $DEMO_DIR/data stop"
