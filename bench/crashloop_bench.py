#!/usr/bin/env python3
"""Benchmark triage.k8s.crashloop_info, as users run it, against its floor and kubectl.

Not a test: it measures. It starts a dedicated local cluster (hack/cluster/localcluster.py,
real kube-apiserver/etcd/controller-manager, KWOK as the kubelet), creates the pods as a few
large ReplicaSets spread over namespaces (pinned to the KWOK nodes, so the scheduler's 250-pod
node capacity does not apply; 4 % of them crash-loop, OOM, cannot pull or lack a ConfigMap),
waits until every pod has a status, then times each contender in a child process, the
contenders interleaved round by round (a change of load hits all alike), and reports the median
wall time, the client CPU time (user + system of the whole process tree) and the peak RSS of its
largest process, each as a ratio to the floor measured in the same rounds:

  list-only           a fresh Python process importing the client and running the same paginated
                      LIST of every pod, JSON decoded, nothing else: the floor
  module-process      the module's own process (python crashloop_info.py args.json, exit_json
                      included), default options: what ansible-playbook runs, without ansible
  ansible-bare        ansible-playbook with one debug task: the start-up every playbook pays
  ansible-full        ansible-playbook running the module with its default options (every pod
                      in the result)
  ansible-unhealthy   the same with only_unhealthy (what crashloop_scan and rollout_gate use)
  kubectl-json        `kubectl get pods -A -o json`, the version-matched kubectl

--pods takes several sizes (1000,5000,10000): the fleet is scaled up between them and the
slope of each contender's wall time and RSS per 1,000 pods is printed. One extra, untimed run
counts the module's API requests (Kube.request wrapped here, not in the module) and stops the
bench if any pod is fetched one by one. The background request rate of the cluster (requests a
second while the bench sends none) is measured before each size. The cluster is deleted at
the end unless --keep (or it was already running).
Reproduce: .venv/bin/python bench/crashloop_bench.py   (figures: docs/performance.md)
"""

import argparse
import collections
import json
import os
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "hack", "cluster"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchlib  # noqa: E402
from benchlib import collection_importable, log  # noqa: E402

NODES = ("kwok-node-0", "kwok-node-1")
FAILURES = ("crashloop", "oomkilled", "imagepull", "configerror")
MODULE = os.path.join(REPO, "plugins", "modules", "crashloop_info.py")


def kube_for(kubeconfig, context):
    collection_importable()
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import build_api_client
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import Kube
    return Kube(build_api_client({"kubeconfig": kubeconfig, "context": context}))


# -- the fleet -------------------------------------------------------------------------------

def plan(total, namespaces, failing, replica_sets):
    """[(namespace, name, replicas, behavior or None)]: `failing` pods split over the four
    failure behaviours, the rest in `replica_sets` healthy ReplicaSets, round-robin over namespaces."""
    rows = []
    per_failure = failing // len(FAILURES)
    for index, behavior in enumerate(FAILURES):
        if per_failure:
            rows.append(("bench-%d" % (index % namespaces), "sick-%s" % behavior, per_failure, behavior))
    healthy = total - per_failure * len(FAILURES)
    base, extra = divmod(healthy, replica_sets)
    for index in range(replica_sets):
        rows.append(("bench-%d" % (index % namespaces), "fleet-%02d" % index, base + (1 if index < extra else 0), None))
    return [row for row in rows if row[2] > 0]


def replica_set(name, replicas, behavior, node):
    labels = {"app": name, "bench": "crashloop"}
    annotations = {"sim.triage.k8s/behavior": behavior} if behavior else {}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels, "annotations": annotations},
                                  "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0,
                                           "containers": [{"name": "app", "image": "registry.example/%s:1.0" % name}]}}}}


def create_fleet(kube, rows):
    for namespace in sorted(set(row[0] for row in rows)):
        if kube.get_or_none("Namespace", namespace) is None:
            kube.create("Namespace", None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    for index, (namespace, name, replicas, behavior) in enumerate(rows):
        if kube.get_or_none("ReplicaSet", name, namespace) is None:
            kube.create("ReplicaSet", namespace, replica_set(name, replicas, behavior, NODES[index % len(NODES)]))


def wait_for_fleet(kube, total, timeout):
    """Until `total` bench pods exist and each has container statuses (progress every 10s)."""
    started = time.monotonic()
    while True:
        count = with_status = 0
        for pod in kube.list("Pod", None, label_selector="bench=crashloop", page_size=1000):
            count += 1
            with_status += bool((pod.get("status") or {}).get("containerStatuses"))
        elapsed = time.monotonic() - started
        log("%5.0fs: %d pods, %d with a status" % (elapsed, count, with_status))
        if count >= total and with_status >= total:
            return elapsed
        if elapsed > timeout:
            raise SystemExit("bench: the fleet did not come up within %ss" % timeout)
        time.sleep(10)  # developer tooling, not module code: a progress poll is fine here


def scale_fleet(kube, rows):
    """Create what is missing and set every ReplicaSet's replicas to the plan (growing sizes)."""
    create_fleet(kube, rows)
    for namespace, name, replicas, unused in rows:
        kube.patch("ReplicaSet", name, namespace, {"spec": {"replicas": replicas}})


# -- contenders --------------------------------------------------------------------------------

def run_list_child(args):
    """In the child: only the paginated LIST of every pod, decoded; print stats as JSON."""
    kube = kube_for(args.kubeconfig, args.context)
    started = time.monotonic()
    count = sum(1 for unused in kube.list("Pod", None, page_size=args.page_size))
    print(json.dumps({"run_seconds": time.monotonic() - started, "pods_listed": count}))


def run_count_child(args):
    """In the child, untimed: crashloop_info's run function with every API request counted."""
    collection_importable()
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.auth import auth_argument_spec
    from ansible_collections.triage.k8s.plugins.module_utils._crashloop.run import run_crashloop
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import Kube
    from ansible_collections.triage.k8s.plugins.modules.crashloop_info import ARGUMENT_SPEC

    calls = collections.Counter()
    original = Kube.request

    def counting(self, method, path, verb, resource, *rest, **kwargs):
        calls["%s %s" % (verb, resource)] += 1
        return original(self, method, path, verb, resource, *rest, **kwargs)

    Kube.request = counting
    spec = dict(auth_argument_spec(), **ARGUMENT_SPEC)
    params = dict((key, option.get("default")) for key, option in spec.items())
    params.update(kubeconfig=args.kubeconfig, context=args.context, page_size=args.page_size)

    class FakeModule(object):
        def __init__(self, params):
            self.params = params
            self.check_mode = False

    result = run_crashloop(FakeModule(params))
    print(json.dumps({"pods_listed": result["summary"]["total"], "result_bytes": len(json.dumps(result)),
                      "by_class": dict((k, v) for k, v in result["summary"]["by_class"].items() if v),
                      "calls": dict(calls)}))


def contenders(args, kubectl, tmpdir):
    me = [sys.executable, os.path.abspath(__file__), "--kubeconfig", args.kubeconfig, "--context", args.context,
          "--page-size", str(args.page_size)]
    auth = {"kubeconfig": args.kubeconfig, "context": args.context, "page_size": args.page_size}
    module_args = os.path.join(tmpdir, "args.json")
    with open(module_args, "w") as f:
        json.dump({"ANSIBLE_MODULE_ARGS": auth}, f)
    env = benchlib.ansible_env()
    count = {"ansible.builtin.debug": {"msg": "{{ scan.summary.total }} pods"}}
    bare = benchlib.playbook(os.path.join(tmpdir, "bare.yml"), [{"ansible.builtin.debug": {"msg": "start-up"}}])
    full = benchlib.playbook(os.path.join(tmpdir, "full.yml"), [
        {"name": "scan", "triage.k8s.crashloop_info": auth, "register": "scan"}, count])
    unhealthy = benchlib.playbook(os.path.join(tmpdir, "unhealthy.yml"), [
        {"name": "scan", "triage.k8s.crashloop_info": dict(auth, only_unhealthy=True), "register": "scan"}, count])
    return [
        ("list-only", me + ["--child-list"], None),
        ("module-process", [sys.executable, MODULE, module_args], dict(os.environ, PYTHONPATH=benchlib.COLLECTIONS)),
        ("ansible-bare", bare, env),
        ("ansible-full", full, env),
        ("ansible-unhealthy", unhealthy, env),
        ("kubectl-json", [kubectl, "--kubeconfig", args.kubeconfig, "--context", args.context,
                          "get", "pods", "-A", "-o", "json"], None),
    ]


def bench(args, kubectl):
    """One size: the interleaved rounds, then the untimed request count."""
    details = {}

    def seen(name, stats, output):
        if name == "kubectl-json":
            details[name] = {"output_bytes": len(output), "pods": len(json.loads(output)["items"])}
        elif name == "module-process":
            details[name] = {"result_bytes": len(output)}

    with tempfile.TemporaryDirectory(prefix="crashloop-bench-") as tmpdir:
        runs = benchlib.interleaved(contenders(args, kubectl, tmpdir), args.repeat, seen)
    me = [sys.executable, os.path.abspath(__file__), "--kubeconfig", args.kubeconfig, "--context", args.context,
          "--page-size", str(args.page_size), "--child-count"]
    unused, output = benchlib.measure(me)
    details["requests"] = json.loads(output.decode().strip().splitlines()[-1])
    gets = dict((call, n) for call, n in details["requests"]["calls"].items() if call == "get pods")
    if gets:
        raise SystemExit("bench: the module fetched pods one by one: %s" % gets)
    rows = [benchlib.summary_row(name, stats) for name, stats in runs.items()]
    floor = rows[0]
    for row in rows:
        row["wall_vs_floor"] = benchlib.ratio(row["wall_median_s"], floor["wall_median_s"])
        row["cpu_vs_floor"] = benchlib.ratio(row["cpu_median_s"], floor["cpu_median_s"])
        row["rss_vs_floor"] = benchlib.ratio(row["peak_rss_mib"], floor["peak_rss_mib"])
    return rows, details


def print_size(args, pods, rows, details):
    requests = details["requests"]
    print("\ncrashloop_info on %d pods (%d namespaces, page_size %d, %d interleaved rounds, medians; ratios to list-only "
          "of the same rounds; background %.1f requests/s)\n"
          % (pods, args.namespaces, args.page_size, args.repeat, details["background"]))
    print("| contender | wall (s) | fastest (s) | client CPU (s) | peak RSS (MiB) | wall / floor | CPU / floor | RSS / floor |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print("| %(contender)s | %(wall_median_s).2f | %(wall_min_s).2f | %(cpu_median_s).2f | %(peak_rss_mib).1f "
              "| %(wall_vs_floor).2f | %(cpu_vs_floor).2f | %(rss_vs_floor).2f |" % row)
    calls = ", ".join("%s: %d" % kv for kv in sorted(requests["calls"].items()))
    mib = (requests["result_bytes"] / 1048576.0, details["module-process"]["result_bytes"] / 1048576.0,
           details["kubectl-json"]["output_bytes"] / 1048576.0)
    print("\nmodule requests: %s (no per-pod GET); classes %s; full result %.1f MiB (module-process output %.1f MiB), "
          "kubectl %.1f MiB" % ((calls, requests["by_class"]) + mib))


def print_scaling(sizes):
    if len(sizes) < 2:
        return
    print("\nscaling over %s pods (least squares; per 1,000 pods)\n" % ", ".join(str(s["pods"]) for s in sizes))
    print("| contender | wall s / 1k pods | fixed wall (s) | peak RSS MiB / 1k pods |")
    print("| --- | ---: | ---: | ---: |")
    for index, row in enumerate(sizes[0]["rows"]):
        name = row["contender"]
        wall = benchlib.slope([(s["pods"] / 1000.0, s["rows"][index]["wall_median_s"]) for s in sizes])
        rss = benchlib.slope([(s["pods"] / 1000.0, s["rows"][index]["peak_rss_mib"]) for s in sizes])
        print("| %s | %.3f | %.2f | %.2f |" % (name, wall[0], wall[1], rss[0]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", default="10000", help="pods in the fleet; several sizes comma-separated, growing (default 10000)")
    parser.add_argument("--namespaces", type=int, default=10)
    parser.add_argument("--replica-sets", type=int, default=20, help="healthy ReplicaSets sharing the healthy pods")
    parser.add_argument("--failing", type=float, default=0.04, help="share of pods failing (crashloop/oomkilled/imagepull/configerror)")
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    # Not triage-bench: bench/cleanup_bench.py uses (and deletes) that one.
    parser.add_argument("--cluster", default="triage-crashbench", help="local cluster name (context kwok-NAME)")
    parser.add_argument("--keep", action="store_true", help="leave the cluster running")
    parser.add_argument("--json", help="also write the figures to this file (playbook_vs_floor: largest size)")
    parser.add_argument("--kubeconfig", help=argparse.SUPPRESS)
    parser.add_argument("--context", help=argparse.SUPPRESS)
    parser.add_argument("--child-count", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-list", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_count:
        return run_count_child(args)
    if args.child_list:
        return run_list_child(args)

    import localcluster
    before = set(n for n in localcluster.existing_clusters() if localcluster.healthy(n))
    args.kubeconfig = localcluster.up([args.cluster])
    args.context = localcluster.context_name(args.cluster)
    kubectl = os.path.join(localcluster.binaries(), "kubectl")
    sizes = []
    try:
        kube = kube_for(args.kubeconfig, args.context)
        for pods in [int(n) for n in args.pods.split(",")]:
            rows = plan(pods, args.namespaces, int(pods * args.failing), args.replica_sets)
            log("scaling to %d pods as %d ReplicaSets in %d namespaces" % (sum(r[2] for r in rows), len(rows), args.namespaces))
            scale_fleet(kube, rows)
            setup = wait_for_fleet(kube, sum(r[2] for r in rows), timeout=1800)
            background = benchlib.background_rate(kubectl, args.kubeconfig, args.context)
            log("background request rate: %.1f/s" % background)
            out, details = bench(args, kubectl)
            details["background"] = background
            sizes.append({"pods": pods, "rows": out, "details": details, "setup_seconds": round(setup, 1),
                          "background_requests_per_second": background, "machine": benchlib.machine()})
            print_size(args, pods, out, details)
        print_scaling(sizes)
        largest = dict((r["contender"], r) for r in sizes[-1]["rows"])
        load = " ".join("%.1f" % x for x in os.getloadavg())
        print("\nbackground request rate %.1f/s; CPUs %d; load average %s; playbook_vs_floor %.2f (goal <= 1.3), "
              "full result %.2f (goal <= 2)" % (background, os.cpu_count(), load,
                                                largest["ansible-unhealthy"]["wall_vs_floor"], largest["ansible-full"]["wall_vs_floor"]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"playbook_vs_floor": largest["ansible-unhealthy"]["wall_vs_floor"],
                           "full_vs_floor": largest["ansible-full"]["wall_vs_floor"],
                           "background_requests_per_second": background, "sizes": sizes,
                           "args": dict((k, v) for k, v in vars(args).items())}, f, indent=1)
    finally:
        if args.keep or args.cluster in before:
            log("leaving %s running (context %s in %s)" % (args.cluster, args.context, args.kubeconfig))
        else:
            localcluster.down([args.cluster])
    return 0


if __name__ == "__main__":
    sys.exit(main())
