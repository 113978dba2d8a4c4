# Debian roots: a whole Debian release in a directory, built once with
# mmdebstrap from Debian's packages and cached, for the PostgreSQL versions
# that the host's release does not ship (17 comes from trixie) and for
# building and installing the Debian package on a machine without the
# build tree.  Sourced by test/check.sh and test/t/deb_package.sh, after
# lib.sh.
#
# Every run extracts the cached root into a directory of its own and runs
# in it with its own mount, process and network namespaces: two runs at
# once share nothing, the root's servers listen on a loopback of their own,
# and every process left in a root ends with it.

MEDUP_ROOT_CACHE="${MEDUP_ROOT_CACHE:-/var/cache/medup}"

# The Debian release that ships PostgreSQL MAJOR.
debian_release_of() {
  case "$1" in
    15) echo bookworm ;;
    17) echo trixie ;;
    *) echo "PostgreSQL $1 is in no Debian release that medup tests on (15: bookworm, 17: trixie)" >&2
       return 1 ;;
  esac
}

host_release() { (. /etc/os-release && echo "${VERSION_CODENAME:-}"); }

# The mirror the host's apt uses for its own release (deb822 .sources or
# one-line sources.list), else Debian's; its security archive alike.
host_mirror() {   # host_mirror [security]
  local suite found files=()
  suite="$(host_release)${1:+-$1}"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] && files+=("$f")
  done
  if [ ${#files[@]} -gt 0 ]; then
    found="$(awk -v s="$suite" '
      FILENAME ~ /\.sources$/ && /^URIs:/ { uri = $2 }
      FILENAME ~ /\.sources$/ && /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s && !found) found = uri }
      FILENAME !~ /\.sources$/ && $1 == "deb" {   # deb [options] URI SUITE COMPONENT...
        line = $0; sub(/\[[^]]*\] */, "", line); split(line, w, " ")
        if (w[3] == s && !found) found = w[2] }
      /^$/ { uri = "" }
      END { print found }' "${files[@]}")"
  fi
  if [ -n "${found:-}" ]; then echo "$found"
  elif [ -n "${1:-}" ]; then echo http://deb.debian.org/debian-security
  else echo http://deb.debian.org/debian
  fi
}

# The root's packages: the suite's for PostgreSQL MAJOR and those that build
# and check the Debian package (test/deps.sh names both).
debian_root_packages() {   # debian_root_packages MAJOR
  { PG_MAJOR="$1" bash "$REPO/test/deps.sh" --list suite
    bash "$REPO/test/deps.sh" --list packaging; } | sort -u
}

# debian_root_cache_path MAJOR: where the cached root of MAJOR's Debian
# release is (or would be): its name has a key of what goes into it
# (release, mirrors, packages), so a change of any makes a new one.
debian_root_cache_path() {
  local major="$1" release packages key
  release="$(debian_release_of "$major")" || return 1
  packages="$(debian_root_packages "$major" | paste -sd, -)"
  key="$(printf '%s\n' "$release" "$(host_mirror)" "$(host_mirror security)" "$packages" | sha256sum | cut -c1-12)"
  echo "$MEDUP_ROOT_CACHE/$release-pg$major-$key.tar"
}

# debian_root_tarball MAJOR: the cached root of MAJOR's Debian release, built
# when missing or when what goes into it changed.  Prints its path.
# Concurrent runs wait for one build (a lock).
debian_root_tarball() {
  local major="$1" release packages mirror security tarball
  release="$(debian_release_of "$major")" || return 1
  packages="$(debian_root_packages "$major" | paste -sd, -)"
  mirror="$(host_mirror)"
  security="$(host_mirror security)"
  tarball="$(debian_root_cache_path "$major")" || return 1
  mkdir -p "$MEDUP_ROOT_CACHE" || return 1
  (
    flock 9
    [ -s "$tarball" ] && exit 0
    echo "== building the Debian $release root for PostgreSQL $major (cached as $tarball)" >&2
    start=$SECONDS
    partial="${tarball%.tar}.partial.tar"
    # A new key replaces the release's older roots.
    rm -f "$MEDUP_ROOT_CACHE/$release-pg$major-"*.tar "$MEDUP_ROOT_CACHE/$release-pg$major-"*.log
    # force-unsafe-io: no fsync per file (a failed build is thrown away whole).
    if ! mmdebstrap --variant=apt --format=tar --dpkgopt=force-unsafe-io --include="$packages" "$release" "$partial" \
           "deb $mirror $release $release-updates main" \
           "deb $security $release-security main" > "$partial.log" 2>&1; then
      cat "$partial.log" >&2
      rm -f "$partial"
      exit 1
    fi
    mv "$partial" "$tarball"
    rm -f "$partial.log"
    echo "== root built in $((SECONDS - start)) s" >&2
  ) 9> "$MEDUP_ROOT_CACHE/$release-pg$major.lock" || return 1
  echo "$tarball"
}

# debian_root_new MAJOR: a fresh copy of MAJOR's root in a new directory
# (printed).  Remove it with debian_root_remove.
debian_root_new() {
  local tarball dir
  tarball="$(debian_root_tarball "$1")" || return 1
  dir="$(mktemp -d "${TMPDIR:-/tmp}/medup-root-XXXXXX")" || return 1
  if ! tar -xf "$tarball" -C "$dir"; then debian_root_remove "$dir"; return 1; fi
  echo "$dir"
}

debian_root_remove() {
  # The namespaces' mounts went with their last process; --one-file-system
  # is the guard should one be left.
  [ -n "$1" ] && [ -d "$1" ] && rm -rf --one-file-system "$1"
}

# The clean environment of a command in a root (PG_MAJOR, MEDUP_* and CI
# pass), one VAR=VALUE a line.
debian_root_env() {
  printf '%s\n' PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive
  local v
  for v in $(compgen -e); do
    case "$v" in PG_MAJOR|CI|MEDUP_*) printf '%s\n' "$v=${!v}" ;; esac
  done
}

# The mounts of a command in the root in $1, then the command ($2...) in
# the root, in that clean environment (run by unshare, in a mount
# namespace of its own).
debian_root_enter='set -e
  dir="$1"; shift
  mount -t proc proc "$dir/proc"
  mount --rbind /dev "$dir/dev"
  mount -t tmpfs -o mode=1777 tmpfs "$dir/dev/shm"
  exec chroot "$dir" /usr/bin/env -i "$@"'

# debian_root_run DIR COMMAND...: COMMAND as root inside the root in DIR,
# with /proc, /dev and a /dev/shm of its own, a network namespace with only
# a loopback, and a clean environment.  Every process it leaves ends with it.
debian_root_run() {
  local dir="$1" env
  shift
  mapfile -t env < <(debian_root_env)
  unshare --mount --pid --net --fork --propagation private --kill-child -- \
    bash -c "set -e; ip link set lo up; $debian_root_enter" debian-root "$dir" "${env[@]}" "$@"
}

# debian_root_spawn DIR COMMAND...: like debian_root_run, but on the host's
# network and among the host's processes: for a server in the root that the
# host reaches on 127.0.0.1 (test/t/remote_17.sh).  What COMMAND leaves
# running goes on after it (with the mounts, in their own namespace, which
# go with the last process that uses them); the caller ends it, by the
# pid it has on the host, which is the one it has in the root.
debian_root_spawn() {
  local dir="$1" env
  shift
  mapfile -t env < <(debian_root_env)
  unshare --mount --propagation private -- \
    bash -c "$debian_root_enter" debian-root "$dir" "${env[@]}" "$@"
}

# debian_root_copy_repo DIR PATH: the work tree (no .git, no build products)
# at PATH inside the root in DIR.
debian_root_copy_repo() {
  mkdir -p "$1$2"
  (cd "$REPO" && tar --exclude=./.git --exclude=./build --exclude='*.o' --exclude='*.bc' --exclude='*.so' -cf - .) |
    (cd "$1$2" && tar -xf -)
}
