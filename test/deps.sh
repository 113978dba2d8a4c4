#!/usr/bin/env bash
# Install what medup needs to build and test, and only what is missing.
# Safe to run again: a machine that has everything is left untouched
# (no apt-get update, no network).
#
#   deps.sh [GROUP...]     install the groups named (default: suite)
#   deps.sh --list GROUP   print a group's packages, one a line
#
# suite: build medup and run its tests against PostgreSQL $PG_MAJOR.
# roots: build the Debian roots that the tests of another PostgreSQL
#        version and of the Debian package run in (test/debian-root.sh).
# packaging: build and check the Debian package (inside those roots).
# prometheus: optional, for test/t/prometheus.sh only, which is skipped
#        without them: installed when the machine can, never a reason to
#        fail, and their services are not started (the test starts its own,
#        on the loopback).
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
group_packages() {
  case "$1" in
    suite)
      printf '%s\n' make gcc "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" \
        libcurl4-openssl-dev \
        libipc-run-perl `# PostgreSQL's TAP test modules need IPC::Run` \
        python3         `# the loopback HTTP server of test/t/003_http.pl`
      ;;
    roots)
      printf '%s\n' mmdebstrap \
        iproute2        `# ip: the loopback of a root's own network namespace`
      ;;
    packaging)
      printf '%s\n' build-essential debhelper dpkg-dev postgresql-server-dev-all lintian
      ;;
    prometheus)
      printf '%s\n' prometheus prometheus-postgres-exporter prometheus-alertmanager
      ;;
    *) echo "deps.sh: unknown group $1" >&2; exit 2 ;;
  esac
}

if [ "${1:-}" = "--list" ]; then
  group_packages "$2"
  exit 0
fi

missing_of() {   # missing_of PACKAGE...: those not installed
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      echo "$p"
    fi
  done
}

packages=()
optional=()
for group in "${@:-suite}"; do
  if [ "$group" = prometheus ]; then
    mapfile -t -O "${#optional[@]}" optional < <(group_packages "$group")
  else
    mapfile -t -O "${#packages[@]}" packages < <(group_packages "$group")
  fi
done
mapfile -t missing < <(missing_of "${packages[@]}")
mapfile -t missing_optional < <(missing_of "${optional[@]}")

if [ ${#missing[@]} -eq 0 ] && [ ${#missing_optional[@]} -eq 0 ]; then
  echo "deps: everything medup needs is installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || [ ${#missing[@]} -eq 0 ]
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ${#missing_optional[@]} -gt 0 ]; then
  echo "deps: installing ${missing_optional[*]} (optional: test/t/prometheus.sh)"
  # Debian starts a package's service on install unless policy-rc.d says
  # no: keep it from starting them, for this install only.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    added_policy=1
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing_optional[@]}" >/dev/null ||
    echo "deps: could not install ${missing_optional[*]}: test/t/prometheus.sh will be skipped"
  if [ -n "${added_policy:-}" ]; then $SUDO rm -f "$policy"; fi
fi
echo "deps: done"
