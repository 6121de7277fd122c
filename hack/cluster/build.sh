#!/usr/bin/env bash
# Build the local control plane from pinned upstream Go modules into a versioned cache.
#
#   hack/cluster/build.sh          build (or reuse) and print the binary directory
#
# Environment:
#   TRIAGE_K8S_CACHE   cache root (default: $XDG_CACHE_HOME/triage-k8s or ~/.cache/triage-k8s)
#   TRIAGE_K8S_BIN_DIR a directory that already holds kube-apiserver, kube-controller-manager,
#                      kube-scheduler, etcd, kwok and kwokctl: used as is, nothing is built
#   KUBEBUILDER_ASSETS envtest's directory (kube-apiserver, etcd): only the missing binaries
#                      are built
#
# A build goes to a temporary directory and is renamed into place only when every binary is
# there, so an interrupted build is never mistaken for a complete one.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
# shellcheck source=../lib/cache.sh
. "$here/../lib/cache.sh"

BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl)

use_given TRIAGE_K8S_BIN_DIR
need_go "the control plane" TRIAGE_K8S_BIN_DIR

gover=$(go env GOVERSION)
key="kube-${KUBE_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_${gover}"
use_cached "$key"

begin_build "$key"

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
start=$(date +%s)

# A cache entry from before a binary was added to the list keeps what it has.
if [ -d "$dest" ]; then
  for b in "${BINARIES[@]}"; do [ -x "$dest/$b" ] && cp -p "$dest/$b" "$out/$b"; done
fi

# Reuse envtest binaries when present: they are the same upstream builds.
if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  for b in kube-apiserver etcd; do
    if [ -x "$KUBEBUILDER_ASSETS/$b" ]; then cp "$KUBEBUILDER_ASSETS/$b" "$out/$b"; log "took $b from KUBEBUILDER_ASSETS"; fi
  done
fi

need() { [ ! -x "$out/$1" ]; }

# kube components: k8s.io/kubernetes pins its staging modules at v0.0.0 with directory
# replaces, so `go install` cannot build it. A wrapper module replaces each with the published
# k8s.io/<m> v0.<minor>.<patch>.
build_kube() {
  local m="$work/kube" stage_ver="v0.${KUBE_VERSION#v1.}"
  mkdir -p "$m"
  (
    cd "$m"
    go mod init triage-k8s/kube-build >/dev/null 2>&1
    local modfile
    modfile=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
    [ -f "$modfile" ] || die "could not download k8s.io/kubernetes@$KUBE_VERSION from the Go module proxy ($(go env GOPROXY))"
    local args=(-require "k8s.io/kubernetes@$KUBE_VERSION")
    local s
    for s in $(awk '/=> \.\/staging/ {print $1}' "$modfile"); do
      args+=(-replace "$s=$s@$stage_ver")
    done
    go mod edit "${args[@]}"
    printf 'package tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' > tools.go
    go mod tidy >/dev/null || die "resolving k8s.io/kubernetes@$KUBE_VERSION failed (see above)"
    local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
    local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"
    for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
      need "$b" || continue
      log "building $b $KUBE_VERSION"
      go build -trimpath -tags selinux,notest -ldflags "$ldflags" -o "$out/$b" "k8s.io/kubernetes/cmd/$b" || die "building $b failed"
    done
  )
}

build_etcd() {
  local m="$work/etcd"
  mkdir -p "$m"
  (
    cd "$m"
    go mod init triage-k8s/etcd-build >/dev/null 2>&1
    printf 'package tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null || die "could not fetch go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    go mod tidy >/dev/null || die "resolving etcd $ETCD_VERSION failed"
    log "building etcd $ETCD_VERSION"
    go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3 || die "building etcd failed"
  )
}

build_kwok() {
  local b
  for b in kwok kwokctl; do
    need "$b" || continue
    log "building $b $KWOK_VERSION"
    GOBIN="$out" go install -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/$b@$KWOK_VERSION" || die "building $b failed"
  done
}

build_kwok
if need etcd; then build_etcd; fi
if need kube-apiserver || need kube-controller-manager || need kube-scheduler || need kubectl; then build_kube; fi

finish_build "$dest"
log "built in $(( $(date +%s) - start ))s into $dest"
echo "$dest"
