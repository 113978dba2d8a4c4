#!/usr/bin/env bash
# medup-test: host-only
# The Debian package postgresql-$PG_MAJOR-medup, as Debian builds its
# PostgreSQL extensions (debian/: pg_buildext, dh --with pgxs_loop), in a
# fresh root of the Debian release that ships PostgreSQL $PG_MAJOR (15:
# bookworm, 17: trixie; test/debian-root.sh): built from this tree,
# checked by lintian (its overrides are in debian/lintian-overrides), then
# installed with apt-get install ./postgresql-NN-medup_*.deb in a second
# fresh root that never saw the build tree.  There a throw-away cluster
# made with Debian's pg_createcluster preloads medup from the package's
# files: CREATE EXTENSION works, so does the update from 0.2, and the
# worker samples a Medplum database.  Nothing is installed on the host,
# and both roots go when the test ends.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$REPO/test/debian-root.sh"

fail=0
check() { if eval "$2"; then echo "  ok: $1"; else echo "  FAILED: $1"; fail=1; fi; }
build="" target=""
cleanup() {
  if [ -n "$build" ]; then debian_root_remove "$build"; fi
  if [ -n "$target" ]; then debian_root_remove "$target"; fi
}
trap cleanup EXIT

package="postgresql-$PG_MAJOR-medup"
version="$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$REPO/medup.control")"

# --- 1. build and lintian ------------------------------------------------
build="$(debian_root_new "$PG_MAJOR")"
debian_root_copy_repo "$build" /build/medup
rm -rf "$build"/build/medup/sql/medup--*.sql "$build"/build/medup/sql/install/catalog-data.sql
start=$SECONDS
set +e
# debian/control lists the packages for the newest Debian release's
# PostgreSQL (pg_buildext updatecontrol); PG_UPDATECONTROL lets an older
# release's build make its own, as the PostgreSQL APT repository's builds do.
debian_root_run "$build" bash -c 'cd /build/medup &&
  PG_UPDATECONTROL=yes dpkg-buildpackage -us -uc -b' > "$build/build.log" 2>&1
status=$?
set -e
check "dpkg-buildpackage builds (exit $status, $((SECONDS - start)) s)" '[ "$status" -eq 0 ]'
if [ "$status" -ne 0 ]; then tail -n 40 "$build/build.log"; exit 1; fi
deb="$(cd "$build/build" && ls "${package}_${version}"-*_*.deb 2>/dev/null | head -n 1)"
check "it made $package (${deb:-no .deb})" '[ -n "$deb" ]'
[ -n "$deb" ] || exit 1
check "built with -Wall -Wextra -Werror and no warning" \
  'grep -q -- "-Werror" "$build/build.log" && ! grep -q "warning:" "$build/build.log"'

set +e
lintian_out="$(debian_root_run "$build" bash -c 'cd /build && lintian --fail-on error,warning --display-info *.changes' 2>&1)"
status=$?
set -e
echo "$lintian_out" | { grep -v '^running with root privileges' || true; } | sed 's/^/  lintian: /'
check "lintian: no error or warning beyond the justified overrides (exit $status)" '[ "$status" -eq 0 ]'

contents="$(dpkg-deb -c "$build/build/$deb")"
for f in "usr/lib/postgresql/$PG_MAJOR/lib/medup.so" \
         "usr/share/postgresql/$PG_MAJOR/extension/medup.control" \
         "usr/share/postgresql/$PG_MAJOR/extension/medup--$version.sql" \
         "usr/share/postgresql/$PG_MAJOR/extension/medup--0.2--$version.sql" \
         "usr/share/postgresql/$PG_MAJOR/extension/medup--0.2.sql"; do
  check "the package has /$f" 'grep -q " \./$f$" <<<"$contents"'
done
depends="$(dpkg-deb -f "$build/build/$deb" Depends)"
check "it depends on postgresql-$PG_MAJOR and libcurl ($depends)" \
  'grep -q "postgresql-$PG_MAJOR" <<<"$depends" && grep -q "libcurl" <<<"$depends"'

# --- 2. install on a machine without the build tree ----------------------
target="$(debian_root_new "$PG_MAJOR")"
cp "$build/build/$deb" "$target/tmp/"
cp "$REPO/test/medplum.sql" "$REPO/test/sample-medplum.sql" "$target/tmp/"
debian_root_remove "$build"; build=""

cat > "$target/tmp/try.sh" <<EOF
set -eu
# No network here (the root's own loopback only): apt-get must find every
# dependency installed already.  (Not --no-download: apt then loses the
# local file's path, 'Pathname to install is not absolute'.)
apt-get install -y -q /tmp/$deb > /tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }
echo "installed: \$(dpkg-query -W -f='\${Package} \${Version} \${Status}' $package)"
echo "medup.so from: \$(dpkg -S /usr/lib/postgresql/$PG_MAJOR/lib/medup.so)"
pg_createcluster $PG_MAJOR medup_test -p 5439 -- -A trust > /dev/null
conf=/etc/postgresql/$PG_MAJOR/medup_test/conf.d/medup.conf
printf "%s\n" "shared_preload_libraries = 'medup'" "medup.databases = 'medplum'" "medup.naptime = 1" > \$conf
pg_ctlcluster $PG_MAJOR medup_test start
psql() { runuser -u postgres -- /usr/bin/psql -p 5439 -X -q -v ON_ERROR_STOP=1 "\$@"; }
psql -c "CREATE DATABASE medplum"
psql -d medplum -f /tmp/medplum.sql -f /tmp/sample-medplum.sql > /dev/null
psql -d medplum -c "CREATE EXTENSION medup"
echo "extension: \$(psql -d medplum -At -c "SELECT extversion FROM pg_extension WHERE extname = 'medup'")"
echo "status: \$(psql -d medplum -At -c "SELECT state FROM medup.status()")"
psql -c "CREATE DATABASE old" -c "\\\\c old" -c "CREATE EXTENSION medup VERSION '0.2'" -c "ALTER EXTENSION medup UPDATE"
echo "updated: \$(psql -d old -At -c "SELECT extversion FROM pg_extension WHERE extname = 'medup'")"
for i in \$(seq 1 30); do
  n=\$(psql -d medplum -At -c "SELECT count(*) FROM medup.sample")
  [ "\$n" -gt 0 ] && break
  sleep 1
done
echo "samples: \$n"
echo "library: \$(psql -At -c "SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'")"
pg_ctlcluster $PG_MAJOR medup_test stop
EOF
set +e
out="$(debian_root_run "$target" bash /tmp/try.sh 2>&1)"
status=$?
set -e
echo "$out" | sed 's/^/  /'
check "apt-get install ./$deb, a cluster, the extension, the worker (exit $status)" '[ "$status" -eq 0 ]'
check "dpkg says $package is installed" 'grep -q "^installed: $package .* install ok installed" <<<"$out"'
check "medup.so is the package's file" 'grep -q "^medup.so from: $package:" <<<"$out"'
check "CREATE EXTENSION medup makes $version" 'grep -qx "extension: $version" <<<"$out"'
check "status() answers on the sample Medplum database" 'grep -Eq "^status: [a-z_]+$" <<<"$out"'
check "0.2 updates to $version with the package's scripts" 'grep -qx "updated: $version" <<<"$out"'
check "the preloaded worker samples the database" 'grep -Eq "^samples: [1-9]" <<<"$out"'
exit "$fail"
