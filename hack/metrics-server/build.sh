#!/usr/bin/env bash
# Build metrics-server from its pinned upstream Go module into a versioned cache, next to the
# control plane's (hack/cluster/build.sh): kwokctl runs it in the local clusters so that the
# metrics.k8s.io API (resource usage in evidence bundles) is real.
#
#   hack/metrics-server/build.sh     build (or reuse) and print the binary directory
#
# Environment:
#   TRIAGE_K8S_CACHE        cache root (default: $XDG_CACHE_HOME/triage-k8s or ~/.cache/triage-k8s)
#   TRIAGE_K8S_MS_BIN_DIR   a directory that already holds metrics-server: used as is
#
# The module has no replace directives, so a plain `go install` works. The version is stamped
# where upstream's Makefile stamps it (client-go's version package), so `--version` tells the truth.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cluster/versions.env
. "$here/../cluster/versions.env"
# shellcheck source=../lib/cache.sh
. "$here/../lib/cache.sh"

BINARIES=(metrics-server)
MODULE=sigs.k8s.io/metrics-server

use_given TRIAGE_K8S_MS_BIN_DIR
need_go "metrics-server" TRIAGE_K8S_MS_BIN_DIR

key="metrics-server-${METRICS_SERVER_VERSION}_$(go env GOVERSION)"
use_cached "$key"

begin_build "$key"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
start=$(date +%s)
log "building metrics-server $METRICS_SERVER_VERSION"
GOBIN="$out" go install -trimpath \
  -ldflags "-s -w -X k8s.io/client-go/pkg/version.gitVersion=$METRICS_SERVER_VERSION" \
  "$MODULE/cmd/metrics-server@$METRICS_SERVER_VERSION" \
  || die "building metrics-server failed (is $MODULE@$METRICS_SERVER_VERSION on the Go module proxy $(go env GOPROXY)?)"
finish_build "$dest"
log "built in $(( $(date +%s) - start ))s into $dest"
echo "$dest"
