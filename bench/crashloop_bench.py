#!/usr/bin/env python3
"""Benchmark triage.k8s.crashloop_info against `kubectl get pods -A -o json` on one cluster.

Not a test: it measures. It starts a dedicated local cluster (hack/cluster/localcluster.py,
real kube-apiserver/etcd/controller-manager, KWOK as the kubelet), creates the pods as a few
large ReplicaSets spread over namespaces (pinned to the KWOK nodes, so the scheduler's 250-pod
node capacity does not apply; a share of them crash-loop, OOM, cannot pull or lack a ConfigMap),
waits until every pod has a status, then times each contender in a child process and reports
wall time, the child's CPU time (user + system; steadier than wall time on a busy machine) and
its peak RSS (getrusage of a wrapper process that only waits for it):

  list-only           the same paginated LIST of every pod, JSON decoded, nothing else: the floor
  module              crashloop_info's run function in-process, full result (every pod listed)
  module-unhealthy    the same with only_unhealthy (the healthy majority is counted, not kept)
  ansible-unhealthy   ansible-playbook running the module with only_unhealthy, end to end
  kubectl-json        `kubectl get pods -A -o json` with the kubectl built for the control plane

The module runs count every API request (Kube.request wrapped here, not in the module) and fail
if any pod is fetched one by one. The cluster is deleted at the end unless --keep (or it was
already running). Reproduce: .venv/bin/python bench/crashloop_bench.py   (see docs/crashloop.md)
"""

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "hack", "cluster"))
COLLECTIONS = os.path.join(REPO, ".build", "collections")
NODES = ("kwok-node-0", "kwok-node-1")
FAILURES = ("crashloop", "oomkilled", "imagepull", "configerror")

# Runs argv, waits for it, prints {wall, cpu, maxrss_kb, rc} of that single child (and its own
# children, for ansible-playbook) as JSON.
WRAPPER = r"""
import json, resource, subprocess, sys, time
out = open(sys.argv[1], "wb")
started = time.monotonic()
rc = subprocess.call(sys.argv[2:], stdout=out)
wall = time.monotonic() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss, "rc": rc}))
"""


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def collection_importable():
    """Make `ansible_collections.triage.k8s` importable (the repository is the collection)."""
    link = os.path.join(COLLECTIONS, "ansible_collections", "triage", "k8s")
    if not os.path.lexists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    if COLLECTIONS not in sys.path:
        sys.path.insert(0, COLLECTIONS)


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


# -- contenders --------------------------------------------------------------------------------

def run_list_child(args):
    """In the child: only the paginated LIST of every pod, decoded; print stats as JSON."""
    kube = kube_for(args.kubeconfig, args.context)
    started = time.monotonic()
    count = sum(1 for unused in kube.list("Pod", None, page_size=args.page_size))
    print(json.dumps({"run_seconds": time.monotonic() - started, "pods_listed": count}))


def run_module_child(args):
    """In the child: run crashloop_info's run function, counting requests; print stats as JSON."""
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
    params.update(kubeconfig=args.kubeconfig, context=args.context, page_size=args.page_size,
                  only_unhealthy=args.only_unhealthy)

    class FakeModule(object):
        def __init__(self, params):
            self.params = params
            self.check_mode = False

    started = time.monotonic()
    result = run_crashloop(FakeModule(params))
    elapsed = time.monotonic() - started
    size = len(json.dumps(result))
    print(json.dumps({"run_seconds": elapsed, "pods_listed": result["summary"]["total"], "pods_returned": len(result["pods"]),
                      "by_class": dict((k, v) for k, v in result["summary"]["by_class"].items() if v),
                      "result_bytes": size, "calls": dict(calls)}))


def measure(argv, env=None):
    """Run argv under the wrapper; return ({wall, maxrss_kb, rc}, stdout of argv)."""
    with tempfile.NamedTemporaryFile(prefix="bench-out-", delete=False) as out:
        path = out.name
    try:
        proc = subprocess.run([sys.executable, "-c", WRAPPER, path] + list(argv), stdout=subprocess.PIPE,
                              text=True, env=env, check=True)
        with open(path, "rb") as f:
            output = f.read()
    finally:
        os.unlink(path)
    stats = json.loads(proc.stdout)
    if stats["rc"] != 0:
        raise SystemExit("bench: %s exited %d: %s" % (argv[0], stats["rc"], output[-2000:]))
    return stats, output


def ansible_playbook(args, tmpdir):
    scan = {"kubeconfig": args.kubeconfig, "context": args.context, "only_unhealthy": True, "page_size": args.page_size}
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": [
        {"name": "scan", "triage.k8s.crashloop_info": scan, "register": "scan"},
        {"name": "count", "ansible.builtin.debug": {"msg": "{{ scan.summary.total }} pods"}}]}]
    path = os.path.join(tmpdir, "bench-play.yml")
    with open(path, "w") as f:
        json.dump(play, f)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False", ANSIBLE_NOCOLOR="1")
    return [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", path], env


def contenders(args, kubectl, tmpdir):
    me = [sys.executable, os.path.abspath(__file__), "--kubeconfig", args.kubeconfig, "--context", args.context,
          "--page-size", str(args.page_size)]
    playbook, env = ansible_playbook(args, tmpdir)
    return [
        ("list-only", me + ["--child-list"], None),
        ("module", me + ["--child-module"], None),
        ("module-unhealthy", me + ["--child-module", "--only-unhealthy"], None),
        ("ansible-unhealthy", playbook, env),
        ("kubectl-json", [kubectl, "--kubeconfig", args.kubeconfig, "--context", args.context,
                          "get", "pods", "-A", "-o", "json"], None),
    ]


def bench(args, kubectl):
    rows, details = [], {}
    with tempfile.TemporaryDirectory(prefix="crashloop-bench-") as tmpdir:
        for name, argv, env in contenders(args, kubectl, tmpdir):
            runs = []
            for attempt in range(args.repeat):
                stats, output = measure(argv, env)
                runs.append(stats)
                if name.startswith("module") or name == "list-only":
                    details[name] = json.loads(output.decode().strip().splitlines()[-1])
                elif name == "kubectl-json":
                    details[name] = {"output_bytes": len(output), "pods": len(json.loads(output)["items"])}
                log("%-18s run %d: %.2fs, cpu %.2fs, %.0f MiB" % (name, attempt + 1, stats["wall"], stats["cpu"],
                                                                  stats["maxrss_kb"] / 1024.0))
            rows.append({"contender": name, "wall_median_s": round(statistics.median(r["wall"] for r in runs), 2),
                         "wall_min_s": round(min(r["wall"] for r in runs), 2),
                         "cpu_median_s": round(statistics.median(r["cpu"] for r in runs), 2),
                         "peak_rss_mib": round(max(r["maxrss_kb"] for r in runs) / 1024.0, 1)})
    for name in ("module", "module-unhealthy"):
        gets = dict((call, n) for call, n in details[name]["calls"].items() if call == "get pods")
        if gets:
            raise SystemExit("bench: the module fetched pods one by one: %s" % gets)
    return rows, details


def report(args, rows, details, setup_seconds):
    module = details["module"]
    lists = dict((call, n) for call, n in module["calls"].items() if call.startswith("list"))
    print("\ncrashloop_info vs kubectl on %d pods (%d namespaces, page_size %d, %d run(s) each, median)\n"
          % (module["pods_listed"], args.namespaces, args.page_size, args.repeat))
    print("| contender | wall time (s) | fastest (s) | client CPU (s) | peak RSS (MiB) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        cells = (row["contender"], row["wall_median_s"], row["wall_min_s"], row["cpu_median_s"], row["peak_rss_mib"])
        print("| %s | %.2f | %.2f | %.2f | %.1f |" % cells)
    print("\nmodule requests: %s (no per-pod GET)" % ", ".join("%s: %d" % kv for kv in sorted(module["calls"].items())))
    print("module: %d pods listed in %s LIST pages, run function %.2fs, result %.1f MiB of JSON; classes %s"
          % (module["pods_listed"], lists.get("list pods"), module["run_seconds"], module["result_bytes"] / 1048576.0,
             module["by_class"]))
    print("module-unhealthy: %d pods returned, result %.2f MiB" % (
        details["module-unhealthy"]["pods_returned"], details["module-unhealthy"]["result_bytes"] / 1048576.0))
    print("kubectl-json: %d pods, %.1f MiB of JSON" % (details["kubectl-json"]["pods"],
                                                       details["kubectl-json"]["output_bytes"] / 1048576.0))
    print("fleet ready in %.0fs (creation and KWOK statuses, not measured above); CPUs: %d; load average %s"
          % (setup_seconds, os.cpu_count(), " ".join("%.1f" % x for x in os.getloadavg())))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "details": details, "setup_seconds": setup_seconds, "args": vars(args)}, f, indent=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=10000, help="pods in the fleet (default 10000)")
    parser.add_argument("--namespaces", type=int, default=10)
    parser.add_argument("--replica-sets", type=int, default=20, help="healthy ReplicaSets sharing the healthy pods")
    parser.add_argument("--failing", type=int, default=400, help="pods split over crashloop/oomkilled/imagepull/configerror")
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    # Not triage-bench: bench/cleanup_bench.py uses (and deletes) that one.
    parser.add_argument("--cluster", default="triage-crashbench", help="local cluster name (context kwok-NAME)")
    parser.add_argument("--keep", action="store_true", help="leave the cluster running")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--kubeconfig", help=argparse.SUPPRESS)
    parser.add_argument("--context", help=argparse.SUPPRESS)
    parser.add_argument("--child-module", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-list", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only-unhealthy", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_module:
        return run_module_child(args)
    if args.child_list:
        return run_list_child(args)

    import localcluster
    before = set(n for n in localcluster.existing_clusters() if localcluster.healthy(n))
    args.kubeconfig = localcluster.up([args.cluster])
    args.context = localcluster.context_name(args.cluster)
    kubectl = os.path.join(localcluster.binaries(), "kubectl")
    try:
        kube = kube_for(args.kubeconfig, args.context)
        rows = plan(args.pods, args.namespaces, args.failing, args.replica_sets)
        log("creating %d pods as %d ReplicaSets in %d namespaces" % (sum(r[2] for r in rows), len(rows), args.namespaces))
        create_fleet(kube, rows)
        setup = wait_for_fleet(kube, sum(r[2] for r in rows), timeout=1200)
        rows_out, details = bench(args, kubectl)
        report(args, rows_out, details, setup)
    finally:
        if args.keep or args.cluster in before:
            log("leaving %s running (context %s in %s)" % (args.cluster, args.context, args.kubeconfig))
        else:
            localcluster.down([args.cluster])
    return 0


if __name__ == "__main__":
    sys.exit(main())
