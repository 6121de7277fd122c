#!/usr/bin/env bash
# make demo: a local cluster, a 3-replica app with one crash-looping pod, and the quarantine
# playbook run on that pod. The cluster stays up afterwards: `make cluster-down` removes it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export TRIAGE_K8S_STATE=${TRIAGE_K8S_STATE:-$root/.cache/kwok}
export ANSIBLE_COLLECTIONS_PATH=$root/.build/collections
py=$root/.venv/bin/python
cluster=triage-a
ctx=kwok-$cluster

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "Starting a local cluster (real kube-apiserver, controller-manager, scheduler; KWOK as kubelet)"
$py hack/cluster/localcluster.py up "$cluster" >/dev/null
export KUBECONFIG=$($py hack/cluster/localcluster.py kubeconfig)
kubectl="$(hack/cluster/build.sh)/kubectl --context $ctx"

say "Deploying shop/web: 3 replicas behind Service web"
$kubectl delete namespace shop --ignore-not-found --wait=true >/dev/null
$kubectl apply -f examples/demo/namespace.yaml -f examples/demo/deployment.yaml -f examples/demo/service.yaml >/dev/null
$kubectl -n shop rollout status deployment/web --timeout=60s

sick=$($kubectl -n shop get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
say "Making $sick crash-loop (it logged an OOM-ish error before each restart)"
logs=$TRIAGE_K8S_STATE/demo-logs
mkdir -p "$logs"
printf '2026-11-22T03:00:00.000000000Z stdout F serving on :8080\n' > "$logs/current.log"
printf '2026-11-22T02:59:58.000000000Z stderr F java.lang.OutOfMemoryError: Java heap space\n2026-11-22T02:59:59.000000000Z stderr F exiting\n' > "$logs/previous.log"
$kubectl apply -f - >/dev/null <<YAML
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Logs
metadata: {name: $sick, namespace: shop}
spec:
  logs:
    - containers: [web]
      logsFile: $logs/current.log
      previousLogsFile: $logs/previous.log
YAML
$kubectl -n shop annotate pod "$sick" sim.triage.k8s/behavior=crashloop sim.triage.k8s/exit-code=1 --overwrite >/dev/null
$kubectl -n shop wait pod "$sick" --for=jsonpath='{.status.containerStatuses[0].state.waiting.reason}'=CrashLoopBackOff --timeout=60s >/dev/null
$kubectl -n shop get pods -l app=web -o wide
echo "EndpointSlice of Service web lists:"
$kubectl -n shop get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{range .items[*].endpoints[*]}  {.targetRef.name} ready={.conditions.ready}{"\n"}{end}'

say "ansible-playbook triage.k8s.quarantine -e pod=$sick -e namespace=shop ..."
.venv/bin/ansible-playbook triage.k8s.quarantine \
  -e "{\"pod\": \"$sick\", \"namespace\": \"shop\", \"reason\": \"crash loop, heap dump pending\", \"ttl\": \"24h\", \"context\": \"$ctx\"}"

say "Afterwards"
echo "EndpointSlice of Service web lists (the sick pod is gone from it):"
$kubectl -n shop get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{range .items[*].endpoints[*]}  {.targetRef.name} ready={.conditions.ready}{"\n"}{end}'
echo "Pods (the quarantined one keeps running, released by its ReplicaSet; a replacement is Ready):"
$kubectl -n shop get pods -L app,release,triage.k8s/quarantined
echo "Its previous log is still there for the investigation:"
$kubectl -n shop logs "$sick" --previous

say "Done. KUBECONFIG=$KUBECONFIG (context $ctx). Release it with:"
echo "  ansible-playbook triage.k8s.release -e pod=shop/$sick -e context=$ctx"
echo "Stop the cluster with: make cluster-down"
