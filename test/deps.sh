#!/usr/bin/env bash
# Install what medup needs to build and test, and only what is missing.
# Safe to run again: a machine that has everything is left untouched
# (no apt-get update, no network).
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
packages=(
  make gcc
  "postgresql-$PG_MAJOR"
  "postgresql-server-dev-$PG_MAJOR"
  libcurl4-openssl-dev
  libipc-run-perl          # PostgreSQL's TAP test modules need IPC::Run
  python3                  # the loopback HTTP server of test/t/003_http.pl
)
# With --with-prometheus (test/check.sh), for test/t/prometheus.sh only,
# which is skipped without them: installed when the machine can, never a
# reason to fail.  Their services are not started (the test starts its
# own, on the loopback).
optional=()
if [ "${1:-}" = "--with-prometheus" ]; then
  optional=(prometheus prometheus-postgres-exporter prometheus-alertmanager)
fi

missing=()
for p in "${packages[@]}"; do
  [ -n "$p" ] || continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

missing_optional=()
for p in "${optional[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing_optional+=("$p")
  fi
done

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
