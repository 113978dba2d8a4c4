#!/usr/bin/env bash
# medup-test: host-only
# make dist: the PGXN zip of the committed tree (it needs the git history,
# so it runs on the host).  It holds exactly the files git has at HEAD under
# medup-VERSION/, VERSION being META.json's, and what it holds builds.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

# The zip is the same for every PostgreSQL version; its build is checked
# with the one the host has (the PostgreSQL 15 run on Debian 12).
if [ ! -x "$PG_BINDIR/pg_config" ]; then
  echo "  skipped: PostgreSQL $PG_MAJOR is not installed on this host (the run of the host's PostgreSQL checks make dist)"
  exit 77
fi

fail=0
check() { if eval "$2"; then echo "  ok: $1"; else echo "  FAILED: $1"; fail=1; fi; }
dir="$(mktemp -d "${TMPDIR:-/tmp}/medup-dist-XXXXXX")"
trap 'rm -rf "$dir"' EXIT

# In a clone of HEAD, so that the work tree is left alone.
git clone -q "$REPO" "$dir/clone"
out="$(make -s -C "$dir/clone" dist 2>&1)"
meta_version="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$REPO/META.json")"
zip="$dir/clone/medup-$meta_version.zip"
check "make dist makes medup-$meta_version.zip ($out)" '[ -s "$zip" ]'
[ -s "$zip" ] || exit 1

python3 - "$zip" > "$dir/in-zip" <<'PY'
import sys, zipfile
for name in zipfile.ZipFile(sys.argv[1]).namelist():
    if not name.endswith('/'):
        print(name)
PY
git -C "$dir/clone" ls-files | sed "s|^|medup-$meta_version/|" | sort > "$dir/in-git"
sort -o "$dir/in-zip" "$dir/in-zip"
check "it holds exactly git's files at HEAD, under medup-$meta_version/" 'cmp -s "$dir/in-zip" "$dir/in-git"'
check "with META.json, the control file and the Makefile" \
  'grep -qx "medup-$meta_version/META.json" "$dir/in-zip" && grep -qx "medup-$meta_version/medup.control" "$dir/in-zip" && grep -qx "medup-$meta_version/Makefile" "$dir/in-zip"'

python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$dir/unpacked"
set +e
make -s -C "$dir/unpacked/medup-$meta_version" PG_CONFIG="$PG_BINDIR/pg_config" > "$dir/build.log" 2>&1
status=$?
set -e
check "what it holds builds with -Werror (exit $status)" '[ "$status" -eq 0 ]'
if [ "$status" -ne 0 ]; then tail -n 20 "$dir/build.log"; fi
exit "$fail"
