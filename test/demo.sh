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

# --- Medplum where medup cannot be installed: remote targets, a sharded fleet
# Three more databases of this cluster play a sharded Medplum on a managed
# server (Aurora, RDS): a global database and two shards, with no medup in
# them.  Medplum keeps every shard's data-migration jobs in the global
# database: v11 runs there; shard 1 has completed v10, shard 2 v11.  medup,
# in "medplum", reads them over a connection as a plain monitoring login,
# exactly as README's "Medplum on Aurora, RDS or Cloud SQL" says.
for db in eu_global eu_shard1 eu_shard2; do
  "${PSQL[@]}" -d postgres -c "CREATE DATABASE medplum_$db"
  "${PSQL[@]}" -d "medplum_$db" -f "$REPO/test/medplum.sql" >/dev/null
done
"${PSQL[@]}" -d medplum_eu_global >/dev/null <<'SQL'
CALL medplum_fixture.create_tables('public', '4.1.12', 93, 10);
CALL medplum_fixture.complete_migrations('public', 10, '2026-10-01 02:00:00+00');
CALL medplum_fixture.write_job('public', '4.1.12', md5('eu-v11')::uuid, 11, 'accepted',
  now() - interval '25 min', now() - interval '25 min');
SQL
"${PSQL[@]}" -d medplum_eu_shard1 -c "CALL medplum_fixture.create_tables('public', '4.1.12', 93, 10)" -c 'DELETE FROM "AsyncJob"' >/dev/null
"${PSQL[@]}" -d medplum_eu_shard2 -c "CALL medplum_fixture.create_tables('public', '4.1.12', 93, 11)" -c 'DELETE FROM "AsyncJob"' >/dev/null
# On each Medplum database: the monitoring login (the README's script).
"${PSQL[@]}" -d postgres -c "CREATE ROLE medup_monitor LOGIN PASSWORD 'demo only'" -c "GRANT pg_monitor TO medup_monitor"
for db in eu_global eu_shard1 eu_shard2; do
  "${PSQL[@]}" -d "medplum_$db" -c 'GRANT USAGE ON SCHEMA public TO medup_monitor' \
    -c 'GRANT SELECT ON public."DatabaseMigration", public."AsyncJob" TO medup_monitor'
done
# On the monitoring side: dblink in a schema only superusers use, a foreign
# server and user mapping per database, a target each.
"${PSQL[@]}" -d medplum -c 'CREATE SCHEMA medup_dblink' -c 'CREATE EXTENSION dblink SCHEMA medup_dblink'
for db in eu_global eu_shard1 eu_shard2; do
  role=shard; [ "$db" = eu_global ] && role=global
  "${PSQL[@]}" -d medplum \
    -c "CREATE SERVER medplum_$db FOREIGN DATA WRAPPER dblink_fdw OPTIONS (host '$DEMO_DIR', port '$DEMO_PORT', dbname 'medplum_$db', connect_timeout '3')" \
    -c "CREATE USER MAPPING FOR postgres SERVER medplum_$db OPTIONS (user 'medup_monitor', password 'demo only')" \
    -c "SELECT medup.add_target('$db', 'medplum_$db', cluster => 'eu', role => '$role')" >/dev/null
done
show "Medplum where medup cannot be installed: a sharded Medplum (global + 2 shards) as remote targets" \
     "SELECT name, kind, cluster, role, dbname FROM medup.targets;"
show "A remote target answers like a local one" \
     "SELECT state, data_version, running_migration, next_step, advice FROM medup.status('eu_global');" -x
show "The fleet: every target at once, read concurrently" \
     "SELECT name, cluster, role, reachable, state, data_version AS data, running_migration AS running, next_step, server_version_range AS range FROM medup.fleet;"
show "Which Medplum versions can run the eu cluster (global and shards at once)?" \
     "SELECT cluster, targets, server_version_range AS range, low_bound_by, high_bound_by FROM medup.clusters;"
show "May I deploy 4.2.6 to the whole eu cluster?" "SELECT medup.fleet_gate('4.2.6', 'eu');"
show "And 4.1.18?" "SELECT medup.fleet_gate('4.1.18', 'eu');"
echo
echo "The cluster keeps running so you can look around:"
echo "  psql -h $DEMO_DIR -p $DEMO_PORT -U postgres medplum"
echo "Stop it with:"
echo "  $( [ "$(id -u)" -eq 0 ] && echo 'runuser -u postgres -- ')$PG_BINDIR/pg_ctl -D $DEMO_DIR/data stop"
