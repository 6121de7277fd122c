#!/usr/bin/env python3
"""Benchmark: triage.k8s.quarantine_cleanup against a per-pod `kubectl delete` loop.

    .venv/bin/python bench/cleanup_bench.py [--pods 1000] [--namespaces 50] [--keep-cluster]

On a dedicated local cluster (`triage-bench`, started with hack/cluster/localcluster.py and
deleted at the end unless it already existed or --keep-cluster is given) it creates N expired,
evidence-carrying quarantined pods across M namespaces, waits until they run, and measures:

  1. the module through ansible-playbook, as a user runs it (one task);
  2. the module's own code alone (cleanup_run.cleanup in a fresh Python process), counting its
     API requests;
  3. the strongest command a user types: `kubectl delete pods -A -l triage.k8s/quarantined=true
     --wait=false` (the version-matched kubectl from hack/cluster/build.sh), which checks neither
     expiry nor evidence; with --with-loop also the per-pod loop: one `kubectl get -A -l
     triage.k8s/quarantined=true`, then one `kubectl delete pod` per pod.

Each is timed (wall clock) and its peak RSS (the largest single process of the run, from wait4)
and CPU time (user + system, the whole process tree) are printed. The pods are recreated before
each measurement. If the kubectl loop would exceed --kubectl-budget seconds, only the pods done by
then are measured and the total is extrapolated, clearly labelled. Not a test: nothing asserts.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "hack", "cluster"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
COLLECTIONS = os.path.join(REPO, ".build", "collections")
sys.path.insert(0, COLLECTIONS)

import localcluster  # noqa: E402
from kubernetes import client, config  # noqa: E402

CLUSTER = "triage-bench"
EXTRA_NODES = 4  # 2 + 4 KWOK nodes of 250 pods each: room for 1,000 running pods and more
MODULE_ALONE = r"""
import json, resource, sys, time
sys.path.insert(0, %(collections)r)
from ansible_collections.triage.k8s.plugins.module_utils._cleanup import decide as cleanup_decide
from ansible_collections.triage.k8s.plugins.module_utils._cleanup import run as cleanup_run
from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import build_api_client
from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import Kube
calls = {}
class Counting(Kube):
    def request(self, method, path, verb, resource, *args, **kwargs):
        calls[verb] = calls.get(verb, 0) + 1
        return Kube.request(self, method, path, verb, resource, *args, **kwargs)
kube = Counting(build_api_client({"kubeconfig": %(kubeconfig)r, "context": %(context)r}), %(context)r)
cfg = cleanup_decide.build_config({"max_deletions": %(pods)d, "grace_period": 0, "parallelism": %(parallelism)d,
                                   "exclude_namespaces": ["kube-system"]})
result = cleanup_run.cleanup(kube, cfg, False)
print(json.dumps({"deleted": result["summary"]["deleted"], "requests": calls}))
"""


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# Runs the measured command from a small process: a child forked from this (large) Python process
# would report this process's memory as its own peak, because ru_maxrss keeps the high-water mark of
# the address space the child had before exec.
SPAWNER = r"""
import json, os, sys, time
cmd = json.loads(sys.argv[1])
started = time.monotonic()
pid = os.posix_spawnp(cmd[0], cmd, os.environ)
_pid, status, usage = os.wait4(pid, 0)
wall = time.monotonic() - started
sys.stdout.flush()
print("\nBENCH-RUSAGE " + json.dumps({"wall": wall, "maxrss_kib": usage.ru_maxrss, "exit": os.waitstatus_to_exitcode(status),
                                    "cpu": usage.ru_utime + usage.ru_stime}))
"""


def measure(cmd, env=None):
    """(wall seconds, peak RSS MiB of the largest process, CPU seconds of the tree, stdout)."""
    proc = subprocess.run([sys.executable, "-c", SPAWNER, json.dumps(cmd)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)
    out, _sep, tail = proc.stdout.rpartition("BENCH-RUSAGE ")
    usage = json.loads(tail)
    if proc.returncode != 0 or usage["exit"] != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd[:3]), usage["exit"], out[-3000:]))
    return usage["wall"], usage["maxrss_kib"] / 1024.0, usage["cpu"], out


def add_nodes(core):
    for i in range(localcluster.NODES_PER_CLUSTER, localcluster.NODES_PER_CLUSTER + EXTRA_NODES):
        name = "kwok-node-%d" % i
        body = {"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": name, "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "type": "kwok"}}}
        try:
            core.create_node(body)
        except client.ApiException as exc:
            if exc.status != 409:
                raise


def populate(core, pods, namespaces):
    """Clear what an earlier run left, then create the pods and wait until they run."""
    from k8s_helpers import contract_pod_body

    for ns in core.list_namespace().items:
        if ns.metadata.name.startswith("bench-"):
            core.delete_collection_namespaced_pod(ns.metadata.name, grace_period_seconds=0,
                                                  label_selector="triage.k8s/quarantined=true")
    wait_empty(core)

    now = datetime.datetime.now(datetime.timezone.utc)
    names = ["bench-%02d" % i for i in range(namespaces)]
    existing = set(n.metadata.name for n in core.list_namespace().items)
    for ns in names:
        if ns not in existing:
            core.create_namespace({"metadata": {"name": ns}})
    jobs = [(names[i % namespaces], "q-%04d" % i) for i in range(pods)]

    def make(job):
        ns, name = job
        body = contract_pod_body(name, now - datetime.timedelta(days=2), now - datetime.timedelta(days=1),
                                 evidence="bundle-" + name)
        for _ in range(5):  # a fresh namespace may not have its default ServiceAccount yet
            try:
                return core.create_namespaced_pod(ns, body)
            except client.ApiException as exc:
                if exc.status not in (403, 409, 500, 503):
                    raise
                time.sleep(0.5)
        raise RuntimeError("could not create %s/%s" % (ns, name))

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(make, jobs))
    log("created %d pods in %d namespaces in %.1fs" % (pods, namespaces, time.monotonic() - started))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # a benchmark, not a module: polling is fine here
        listed = core.list_pod_for_all_namespaces(label_selector="triage.k8s/quarantined=true").items
        running = sum(1 for p in listed if p.status.phase == "Running")
        if running == pods:
            log("all %d pods Running" % pods)
            return
        time.sleep(1)
    log("warning: only %d of %d pods are Running; measuring anyway" % (running, pods))


def wait_empty(core):
    while core.list_pod_for_all_namespaces(label_selector="triage.k8s/quarantined=true").items:
        time.sleep(0.5)


def run_playbook(kubeconfig, context, pods, parallelism, workdir):
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
             "vars": {"ansible_python_interpreter": sys.executable},
             "tasks": [{"name": "cleanup", "triage.k8s.quarantine_cleanup": {
                 "kubeconfig": kubeconfig, "context": context, "max_deletions": pods, "grace_period": 0,
                 "parallelism": parallelism}, "register": "r"},
                 {"name": "count", "ansible.builtin.debug": {"msg": "DELETED={{ r.summary.deleted }}"}}]}]
    path = os.path.join(workdir, "bench.yml")
    with open(path, "w") as f:
        json.dump(play, f)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    wall, rss, cpu, out = measure([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                                   "-i", "localhost,", path], env=env)
    deleted = int(out.split("DELETED=")[1].split('"')[0])
    return wall, rss, cpu, deleted


def run_module_alone(kubeconfig, context, pods, parallelism):
    code = MODULE_ALONE % {"collections": COLLECTIONS, "kubeconfig": kubeconfig, "context": context, "pods": pods,
                           "parallelism": parallelism}
    wall, rss, cpu, out = measure([sys.executable, "-c", code])
    return wall, rss, cpu, json.loads(out.strip().splitlines()[-1])


def run_kubectl_loop(kubectl, kubeconfig, context, budget):
    base = [kubectl, "--kubeconfig", kubeconfig, "--context", context]
    totals = {"wall": 0.0, "rss": 0.0, "cpu": 0.0}

    def account(wall, rss, cpu):
        totals["wall"] += wall
        totals["rss"] = max(totals["rss"], rss)
        totals["cpu"] += cpu

    wall, rss, cpu, out = measure(base + ["get", "pods", "-A", "-l", "triage.k8s/quarantined=true", "-o",
                                          "jsonpath={range .items[*]}{.metadata.namespace} {.metadata.name}{\"\\n\"}{end}"])
    account(wall, rss, cpu)
    targets = [line.split() for line in out.splitlines() if line.strip()]
    done = 0
    for ns, name in targets:
        if totals["wall"] > budget:
            break
        account(*measure(base + ["delete", "pod", "-n", ns, name, "--grace-period=0", "--force", "--wait=false"])[:3])
        done += 1
    return totals, done, len(targets)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--namespaces", type=int, default=50)
    parser.add_argument("--parallelism", type=int, default=5, help="the module's parallelism (default 5)")
    parser.add_argument("--skip-kubectl", action="store_true", help="measure only the module (for parallelism sweeps)")
    parser.add_argument("--kubectl-budget", type=float, default=180.0,
                        help="seconds the kubectl loop may take before the rest is extrapolated")
    parser.add_argument("--keep-cluster", action="store_true")
    parser.add_argument("--with-loop", action="store_true", help="also the per-pod kubectl get + delete loop")
    parser.add_argument("--json", help="also write the rows and the playbook / kubectl one-liner ratio here")
    args = parser.parse_args()

    existed = CLUSTER in localcluster.existing_clusters()
    kubeconfig = localcluster.up([CLUSTER])
    context = localcluster.context_name(CLUSTER)
    kubectl = os.path.join(localcluster.binaries(), "kubectl")
    workdir = tempfile.mkdtemp(prefix="cleanup-bench-")
    try:
        api = config.new_client_from_config(config_file=kubeconfig, context=context, persist_config=False)
        core = client.CoreV1Api(api)
        add_nodes(core)
        rows = []

        populate(core, args.pods, args.namespaces)
        wall, rss, cpu, deleted = run_playbook(kubeconfig, context, args.pods, args.parallelism, workdir)
        rows.append(("quarantine_cleanup via ansible-playbook", wall, rss, cpu, "%d deleted" % deleted))

        populate(core, args.pods, args.namespaces)
        wall, rss, cpu, info = run_module_alone(kubeconfig, context, args.pods, args.parallelism)
        rows.append(("quarantine_cleanup code alone", wall, rss, cpu,
                     "%d deleted; API requests: %s" % (info["deleted"], json.dumps(info["requests"], sort_keys=True))))

        if not args.skip_kubectl:
            # The strongest command a user types: one request per pod from one process, checking
            # neither expiry nor evidence (the module checks both).
            populate(core, args.pods, args.namespaces)
            wall, rss, cpu, out = measure([kubectl, "--kubeconfig", kubeconfig, "--context", context, "delete", "pods",
                                           "-A", "-l", "triage.k8s/quarantined=true", "--wait=false"])
            rows.append(("kubectl delete pods -A -l triage.k8s/quarantined=true --wait=false", wall, rss, cpu,
                         "%d deleted; no expiry or evidence check" % sum(1 for line in out.splitlines() if "deleted" in line)))
        if args.with_loop:
            populate(core, args.pods, args.namespaces)
            rows.append(kubectl_row(kubectl, kubeconfig, context, args.kubectl_budget))

        print()
        print("%d expired quarantined pods in %d namespaces, cluster %s (%d KWOK nodes), %d CPU(s), module parallelism %d"
              % (args.pods, args.namespaces, CLUSTER, localcluster.NODES_PER_CLUSTER + EXTRA_NODES, os.cpu_count(),
                 args.parallelism))
        print("| run | wall time | peak RSS (largest process) | CPU time (user+sys) | note |")
        print("| --- | ---: | ---: | ---: | --- |")
        for name, wall, rss, cpu, note in rows:
            print("| %s | %.1f s | %.0f MiB | %.1f s | %s |" % (name, wall, rss, cpu, note))
        oneliner = [r for r in rows if r[0].startswith("kubectl delete pods -A")]
        if oneliner:
            print("\nansible-playbook / kubectl one-liner: %.2f (wall)" % (rows[0][1] / oneliner[0][1]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"rows": [dict(zip(("run", "wall_s", "peak_rss_mib", "cpu_s", "note"), r)) for r in rows],
                           "playbook_vs_oneliner": round(rows[0][1] / oneliner[0][1], 2) if oneliner else None,
                           "load_average": os.getloadavg()}, f, indent=1)
    finally:
        if not existed and not args.keep_cluster:
            localcluster.down([CLUSTER])


def kubectl_row(kubectl, kubeconfig, context, budget):
    totals, done, total = run_kubectl_loop(kubectl, kubeconfig, context, budget)
    if done < total:
        per_pod = totals["wall"] / max(done, 1)
        return ("kubectl get + delete loop (EXTRAPOLATED from %d of %d pods)" % (done, total), per_pod * total,
                totals["rss"], totals["cpu"] / max(done, 1) * total,
                "measured %.1f s for %d pods; the rest estimated at the same rate" % (totals["wall"], done))
    return ("kubectl get + delete loop", totals["wall"], totals["rss"], totals["cpu"], "%d kubectl processes" % (done + 1))


if __name__ == "__main__":
    main()
