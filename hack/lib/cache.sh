# Shared by the build scripts of pinned upstream binaries (hack/cluster, hack/alertmanager,
# hack/versitygw): logging, the versioned cache directory, and the "complete or absent" rule.
# Source it, set BINARIES=(...), then:
#   cache_dir KEY        print $cache_root/bin/KEY (the cache entry for KEY)
#   complete_dir DIR     true when DIR holds every binary in BINARIES, executable
#   begin_build KEY      create a temporary build directory next to the entry, removed on exit;
#                        sets $work (scratch) and $out (where binaries go)
#   finish_build DEST    check $out is complete and rename it to DEST: a build either lands whole or not at all
# shellcheck shell=bash

log() { printf 'build: %s\n' "$*" >&2; }
die() { printf 'build: error: %s\n' "$*" >&2; exit 1; }

cache_root=${TRIAGE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/triage-k8s}

cache_dir() { printf '%s/bin/%s\n' "$cache_root" "$1"; }

complete_dir() {
  local d=$1 b
  for b in "${BINARIES[@]}"; do [ -x "$d/$b" ] || return 1; done
}

begin_build() {
  mkdir -p "$cache_root/bin"
  work=$(mktemp -d "$cache_root/bin/.building-$1.XXXXXX")
  # Go's module cache is read-only: make the copy writable before removing it.
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  out="$work/bin"
  mkdir -p "$out"
}

finish_build() {
  complete_dir "$out" || die "build finished without every binary in $out"
  rm -rf "$1"
  mv "$out" "$1"
}

# use_given VAR: when $VAR is set, check that it holds every binary, print it and exit.
use_given() {
  local dir=${!1:-}
  [ -n "$dir" ] || return 0
  complete_dir "$dir" || die "$1=$dir lacks one of: ${BINARIES[*]}"
  echo "$dir"
  exit 0
}

# need_go WHAT VAR: stop with what to do when there is no Go to build WHAT with.
need_go() {
  command -v go >/dev/null 2>&1 \
    || die "Go is needed to build $1 (go 1.26 or newer on PATH), or set $2 to a directory holding ${BINARIES[*]}"
}

# use_cached KEY: set $dest to KEY's cache entry; when it is complete, print it and exit.
use_cached() {
  dest=$(cache_dir "$1")
  if complete_dir "$dest"; then
    echo "$dest"
    exit 0
  fi
}
