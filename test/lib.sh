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

# regress_verdict FILE NAME: succeeds when pg_regress's output FILE says that
# its test NAME passed.  pg_regress writes one line per test, in one of two
# formats (fields separated by blanks):
#   PostgreSQL 15:   test NAME ... ok  12 ms      (or "     NAME ... " in a
#                    parallel group); a failure says FAILED or failed (ignored)
#   PostgreSQL 16+:  ok 1 - NAME  12 ms           (TAP; "+" in a parallel group)
#                    not ok 9 - NAME  55 ms
# Read field by field, not by pattern: "not ok 9 - access" contains
# "ok 9 - access".  A test passes only when exactly one line names it and
# that line says ok, with no note of an ignored failure or a test process
# that exited with an error.  No line at all (pg_regress stopped early) is
# a failure.
regress_verdict() {
  awk -v t="$2" '
    function seen(passed) { lines++; ok = passed && $0 !~ /ignored|exited with/ }
    $1 == "test" && $2 == t && $3 == "..."                  { seen($4 == "ok"); next }
    /^     [^ ]/ && $1 == t && $2 == "..."                  { seen($3 == "ok"); next }
    $1 == "ok" && $2 ~ /^[0-9]+$/ && $3 ~ /^[-+]$/ && $4 == t { seen(1); next }
    $1 == "not" && $2 == "ok" && $3 ~ /^[0-9]+$/ && $4 ~ /^[-+]$/ && $5 == t { seen(0); next }
    END { exit !(lines == 1 && ok) }' "$1"
}

# regress_results FILE STATUS NAME...: one line "0|1<TAB>NAME" per test
# (0: passed), from pg_regress's output FILE and the exit STATUS of the make
# that ran it.  The exit status must agree: when it says failure and every
# test's line says ok, one more line fails ("(make installcheck exited N)").
regress_results() {
  local file="$1" status="$2" t any_failed=0
  shift 2
  for t in "$@"; do
    if regress_verdict "$file" "$t"; then
      printf '0\t%s\n' "$t"
    else
      printf '1\t%s\n' "$t"; any_failed=1
    fi
  done
  if [ "$status" -ne 0 ] && [ "$any_failed" -eq 0 ]; then
    printf '1\t(make installcheck exited %s)\n' "$status"
  fi
}
