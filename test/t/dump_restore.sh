#!/usr/bin/env bash
# What the DBA loaded into the catalog, and the audit trail, survive
# pg_dump and restore into a new database, without colliding with what
# CREATE EXTENSION ships.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

dir="$(server_tmpdir dump)"
port="${MEDUP_TEST_PORT:-54352}"
cleanup() { stop_private_cluster "$dir" immediate; rm -rf "$dir"; }
trap cleanup EXIT
start_private_cluster "$dir" "$port"
psql=("$PG_BINDIR/psql" -h "$dir" -p "$port" -U postgres -X -q -v ON_ERROR_STOP=1)
"${psql[@]}" -d postgres -c "CREATE DATABASE medplum"
"${psql[@]}" -d medplum -f "$REPO/test/medplum.sql" -f "$REPO/test/sample-medplum.sql" >/dev/null
"${psql[@]}" -d medplum -c "CREATE EXTENSION medup" \
  -c "SELECT medup.load_releases('[{\"version\": \"5.3.0\", \"released_on\": \"2026-12-01\"}, {\"version\": \"5.2.13\", \"released_on\": \"2026-11-20\"}]')" \
  -c "SELECT medup.load_data_migrations('{\"v54\": {\"serverVersion\": \"5.3.0\"}}')" \
  -c "SELECT medup.sample()" >/dev/null

as_server_user "$PG_BINDIR/pg_dump" -h "$dir" -p "$port" -U postgres -Fc -f "$dir/medplum.dump" medplum
"${psql[@]}" -d postgres -c "CREATE DATABASE restored"
as_server_user "$PG_BINDIR/pg_restore" -h "$dir" -p "$port" -U postgres --exit-on-error -d restored "$dir/medplum.dump"

q() { "${psql[@]}" -d restored -At -c "$1"; }
fail=0
expect() {  # expect WHAT QUERY WANTED
  local got; got=$(q "$2")
  if [ "$got" = "$3" ]; then echo "  ok: $1"; else echo "  FAILED: $1: got '$got', wanted '$3'"; fail=1; fi
}
expect "a loaded release is kept" "SELECT released_on FROM medup.release WHERE version = '5.3.0'" "2026-12-01"
expect "a loaded date for a shipped release is kept, once" \
  "SELECT count(*) || ' ' || max(released_on) FROM medup.release WHERE version = '5.2.13'" "1 2026-11-20"
expect "a loaded migration is kept" "SELECT server_version FROM medup.data_migration WHERE data_version = 54" "5.3.0"
expect "the shipped catalog is there once" \
  "SELECT count(*) = count(DISTINCT version) FROM medup.release" "t"
expect "the audit trail is kept" "SELECT count(*) > 0 FROM medup.sample" "t"
expect "and the events" "SELECT string_agg(kind, ',') FROM medup.event" "sampling_started"
expect "the restored database answers" "SELECT state FROM medup.status()" "migrating"
exit "$fail"
