# Shared helpers for medup's scripts (sourced, not run).

PG_MAJOR="${PG_MAJOR:-15}"
PG_BINDIR="${PG_BINDIR:-/usr/lib/postgresql/$PG_MAJOR/bin}"   # another install tree can be named
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# PostgreSQL refuses to run as root: as root, run server-side commands as
# the postgres user; otherwise as whoever we are.
as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# A directory the server user may write in.
server_tmpdir() {
  local dir
  dir="$(mktemp -d "${TMPDIR:-/tmp}/medup-$1-XXXXXX")"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  echo "$dir"
}

# Build warning-free and install into the PostgreSQL found by pg_config.
build_and_install() {
  echo "== build"
  make -C "$REPO" -s clean >/dev/null
  make -C "$REPO" -s PG_CONFIG="$PG_BINDIR/pg_config" >/dev/null
  as_root make -C "$REPO" -s PG_CONFIG="$PG_BINDIR/pg_config" install >/dev/null
  echo "built and installed medup into $("$PG_BINDIR/pg_config" --pkglibdir)"
}

# start_private_cluster DIR PORT [postgresql.conf line ...]
# A throw-away cluster in DIR/data, owned by the server user, reachable only
# through a unix socket in DIR (no TCP), started and ready on return.
start_private_cluster() {
  local dir="$1" port="$2"
  shift 2
  as_server_user "$PG_BINDIR/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
  {
    echo "port = $port"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$dir'"
    printf '%s\n' "$@"
  } >> "$dir/data/postgresql.conf"
  as_server_user "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
}

# stop_private_cluster DIR [MODE]
stop_private_cluster() {
  as_server_user "$PG_BINDIR/pg_ctl" -D "$1/data" stop -m "${2:-fast}" >/dev/null 2>&1 || true
}
