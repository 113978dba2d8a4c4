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

missing=()
for p in "${packages[@]}"; do
  [ -n "$p" ] || continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: everything medup needs is installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
