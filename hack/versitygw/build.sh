#!/usr/bin/env bash
# Build the Versity S3 Gateway (versitygw, Apache-2.0) from its pinned upstream Go module into a
# versioned cache, next to the control plane's: the real S3 server the storage tests upload to.
#
#   hack/versitygw/build.sh     build (or reuse) and print the binary directory
#
# Environment:
#   TRIAGE_K8S_CACHE         cache root (default: $XDG_CACHE_HOME/triage-k8s or ~/.cache/triage-k8s)
#   TRIAGE_K8S_VGW_BIN_DIR   a directory that already holds versitygw: used as is
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cluster/versions.env
. "$here/../cluster/versions.env"
# shellcheck source=../lib/cache.sh
. "$here/../lib/cache.sh"

BINARIES=(versitygw)
MODULE=github.com/versity/versitygw

use_given TRIAGE_K8S_VGW_BIN_DIR
need_go "versitygw" TRIAGE_K8S_VGW_BIN_DIR

key="versitygw-${VERSITYGW_VERSION}_$(go env GOVERSION)"
use_cached "$key"

begin_build "$key"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
start=$(date +%s)
log "building versitygw $VERSITYGW_VERSION"
GOBIN="$out" go install -trimpath -ldflags "-s -w" "$MODULE/cmd/versitygw@$VERSITYGW_VERSION" \
  || die "building versitygw failed (is $MODULE@$VERSITYGW_VERSION on the Go module proxy $(go env GOPROXY)?)"
finish_build "$dest"
log "built in $(( $(date +%s) - start ))s into $dest"
echo "$dest"
