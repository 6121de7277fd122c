#!/usr/bin/env bash
# Build Alertmanager (and amtool) from the pinned upstream Go module into a versioned cache,
# next to the control plane's (hack/cluster/build.sh), for the Event-Driven Ansible tests.
#
#   hack/alertmanager/build.sh     build (or reuse) and print the binary directory
#
# Environment:
#   TRIAGE_K8S_CACHE        cache root (default: $XDG_CACHE_HOME/triage-k8s or ~/.cache/triage-k8s)
#   TRIAGE_K8S_AM_BIN_DIR   a directory that already holds alertmanager and amtool: used as is
#
# `go install github.com/prometheus/alertmanager/cmd/alertmanager@VERSION` fails: ui/web.go embeds
# ui/app/dist, the web UI that upstream builds with npm and leaves out of the module. The script
# copies the module's source, puts a one-page placeholder where the UI goes (the API, /api/v2/, is
# all the tests use) and builds it there; amtool has no such embed and is `go install`ed.
# As in build.sh, a build goes to a temporary directory renamed into place only when complete.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cluster/versions.env
. "$here/../cluster/versions.env"
# shellcheck source=../lib/cache.sh
. "$here/../lib/cache.sh"

BINARIES=(alertmanager amtool)
MODULE=github.com/prometheus/alertmanager

use_given TRIAGE_K8S_AM_BIN_DIR
need_go "Alertmanager" TRIAGE_K8S_AM_BIN_DIR

gover=$(go env GOVERSION)
key="alertmanager-${ALERTMANAGER_VERSION}_${gover}"
use_cached "$key"

begin_build "$key"

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
start=$(date +%s)
ldflags="-s -w -X github.com/prometheus/common/version.Version=${ALERTMANAGER_VERSION#v} -X github.com/prometheus/common/version.Branch=HEAD"

src=$(go mod download -json "$MODULE@$ALERTMANAGER_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p') || true
[ -d "$src" ] || die "could not download $MODULE@$ALERTMANAGER_VERSION from the Go module proxy ($(go env GOPROXY))"

log "building alertmanager $ALERTMANAGER_VERSION"
cp -R "$src" "$work/src"
chmod -R u+w "$work/src"
for ui in elm mantine; do
  mkdir -p "$work/src/ui/app/dist/$ui"
  printf '<!doctype html>\n<title>Alertmanager</title>\n<p>This Alertmanager was built without its web UI (triage.k8s test build). The API is at /api/v2/.</p>\n' \
    > "$work/src/ui/app/dist/$ui/index.html"
done
(cd "$work/src" && go build -trimpath -tags netgo -ldflags "$ldflags" -o "$out/alertmanager" ./cmd/alertmanager) || die "building alertmanager failed"

log "building amtool $ALERTMANAGER_VERSION"
GOBIN="$out" go install -trimpath -tags netgo -ldflags "$ldflags" "$MODULE/cmd/amtool@$ALERTMANAGER_VERSION" || die "building amtool failed"

finish_build "$dest"
log "built in $(( $(date +%s) - start ))s into $dest"
echo "$dest"
