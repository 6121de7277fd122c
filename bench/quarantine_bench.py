#!/usr/bin/env python3
"""Benchmark: how long a sick pod keeps taking traffic after the operator acts.

    .venv/bin/python bench/quarantine_bench.py [--runs 3] [--keep] [--json FILE]

On a dedicated local cluster (`triage-qbench`, deleted at the end unless it already existed or
--keep) a Deployment of 3 replicas behind a Service: KWOK makes the pods Ready, the real
EndpointSlice controller lists them. Each run takes one serving pod and measures, from the moment
the command starts to the moment the pod is in no EndpointSlice of the Service (the bench polls
the slices every 50 ms from its own process):

  kubectl-label        `kubectl label --overwrite pod P app=quarantined` (the label the Service selects)
  ansible-quarantine   `ansible-playbook triage.k8s.quarantine -e pod=NS/P`, default options (evidence on:
                       the relabel first, one bundle after it)
  ansible-evidence-first  the same with -e quarantine_evidence_before_relabel=true (a first bundle of
                       manifest, events and previous logs before the relabel: the old order)

plus, untimed for traffic: the whole playbook's wall time and CPU, ansible-playbook's start-up (one
debug task) and pod_quarantine's own process (python pod_quarantine.py args.json) on a fresh pod,
its CPU. The contenders alternate, medians are printed. Not a test: nothing asserts.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "hack", "cluster"))
sys.path.insert(0, HERE)

import benchlib  # noqa: E402
from benchlib import collection_importable, log  # noqa: E402

NAMESPACE = "qbench"


def kube_for(kubeconfig, context):
    collection_importable()
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import build_api_client
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import Kube
    return Kube(build_api_client({"kubeconfig": kubeconfig, "context": context}))


def setup(kube, replicas, name):
    """A Deployment and its Service called `name` (one per run: the quarantine guards allow one
    quarantined pod per owner)."""
    labels = {"app": name}
    if kube.get_or_none("Namespace", NAMESPACE) is None:
        kube.create("Namespace", None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    if kube.get_or_none("Service", name, NAMESPACE) is None:
        kube.create("Service", NAMESPACE, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                                           "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]}})
    if kube.get_or_none("Deployment", name, NAMESPACE) is None:
        kube.create("Deployment", NAMESPACE, {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "nodeName": "kwok-node-0", "terminationGracePeriodSeconds": 0,
                         "containers": [{"name": "app", "image": "registry.example/web:1.0",
                                         "ports": [{"containerPort": 8080}]}]}}}})


def serving(kube, service):
    """Names of the pods in an EndpointSlice of the Service, ready."""
    names = set()
    for piece in kube.list("EndpointSlice", NAMESPACE, label_selector="kubernetes.io/service-name=" + service):
        for endpoint in piece.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") and (endpoint.get("targetRef") or {}).get("name"):
                names.add(endpoint["targetRef"]["name"])
    return names


def fresh_pod(kube, replicas, service, timeout=180):
    """A serving pod of a new Deployment, once all its replicas serve."""
    setup(kube, replicas, service)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = serving(kube, service)
        if len(names) >= replicas:
            return sorted(names)[0]
        time.sleep(0.5)  # developer tooling: a poll
    raise SystemExit("bench: the Service did not get %d ready endpoints" % replicas)


def timed_until_gone(kube, argv, env, service, pod, timeout=180):
    """Start argv under the wrapper; return (seconds until pod left every slice, wrapper stats)."""
    with tempfile.NamedTemporaryFile(prefix="qbench-out-", delete=False) as out:
        path = out.name
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", benchlib.WRAPPER, path] + list(argv), stdout=subprocess.PIPE,
                            text=True, env=env)
    gone = None
    while gone is None and time.monotonic() - started < timeout:
        if pod not in serving(kube, service):
            gone = time.monotonic() - started
            break
        time.sleep(0.05)
    stats = json.loads(proc.communicate()[0])
    with open(path, "rb") as f:
        output = f.read()
    os.unlink(path)
    if stats["rc"] != 0:
        raise SystemExit("bench: %s exited %d: %s" % (argv[0], stats["rc"], output[-3000:]))
    return gone, stats


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--cluster", default="triage-qbench")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    import localcluster
    before = set(n for n in localcluster.existing_clusters() if localcluster.healthy(n))
    kubeconfig = localcluster.up([args.cluster])
    context = localcluster.context_name(args.cluster)
    kubectl = os.path.join(localcluster.binaries(), "kubectl")
    env = benchlib.ansible_env()
    names = ("kubectl-label", "ansible-quarantine", "ansible-evidence-first")
    results = dict((name, []) for name in names + ("ansible-bare", "module-process"))
    try:
        kube = kube_for(kubeconfig, context)
        with tempfile.TemporaryDirectory(prefix="qbench-") as tmp:
            bare = benchlib.playbook(os.path.join(tmp, "bare.yml"), [{"ansible.builtin.debug": {"msg": "start-up"}}])
            for index in range(args.runs * len(names)):
                name = names[index % len(names)]
                service = "web-%d" % index
                pod = fresh_pod(kube, args.replicas, service)
                if name == "kubectl-label":
                    cmd = [kubectl, "--kubeconfig", kubeconfig, "--context", context, "-n", NAMESPACE, "label",
                           "--overwrite", "pod", pod, "app=quarantined"]  # what the Service selects
                else:
                    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "triage.k8s.quarantine",
                           "-i", "localhost,", "-e", "pod=%s/%s" % (NAMESPACE, pod), "-e", "kubeconfig=" + kubeconfig,
                           "-e", "context=" + context, "-e", "quarantine_evidence_dest=" + os.path.join(tmp, "evidence")]
                    if name == "ansible-evidence-first":
                        cmd += ["-e", "quarantine_evidence_before_relabel=true"]
                gone, stats = timed_until_gone(kube, cmd, env if name != "kubectl-label" else None, service, pod)
                results[name].append(dict(stats, gone=gone))
                log("%-20s %s: out of every EndpointSlice after %.2fs; command %.2fs, cpu %.2fs"
                    % (name, pod, gone or -1, stats["wall"], stats["cpu"]))
                stats, unused = benchlib.measure(bare, env)
                results["ansible-bare"].append(stats)
            for index in range(args.runs):
                pod = fresh_pod(kube, args.replicas, "mod-%d" % index)
                module_args = os.path.join(tmp, "args.json")
                with open(module_args, "w") as f:
                    json.dump({"ANSIBLE_MODULE_ARGS": {"name": pod, "namespace": NAMESPACE, "kubeconfig": kubeconfig,
                                                       "context": context, "reason": "bench"}}, f)
                stats, unused = benchlib.measure([sys.executable, os.path.join(REPO, "plugins", "modules", "pod_quarantine.py"),
                                                  module_args], dict(os.environ, PYTHONPATH=benchlib.COLLECTIONS))
                results["module-process"].append(stats)
    finally:
        if args.keep or args.cluster in before:
            log("leaving %s running" % args.cluster)
        else:
            localcluster.down([args.cluster])
    report(args, results)
    return 0


def report(args, results):
    def med(name, key):
        values = [r[key] for r in results[name] if r.get(key) is not None]
        return statistics.median(values) if values else float("nan")

    label, playbook, first = med("kubectl-label", "gone"), med("ansible-quarantine", "gone"), med("ansible-evidence-first", "gone")
    print("\nquarantine latency: command start to the pod out of every EndpointSlice (%d runs each, medians)\n" % args.runs)
    print("| contender | pod out of the Service (s) | command wall (s) | client CPU (s) | peak RSS (MiB) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in ("kubectl-label", "ansible-quarantine", "ansible-evidence-first", "ansible-bare", "module-process"):
        print("| %s | %s | %.2f | %.2f | %.0f |" % (
            name, "%.2f" % med(name, "gone") if name.startswith(("kubectl", "ansible-q", "ansible-e")) else "-",
            med(name, "wall"), med(name, "cpu"), max(r["maxrss_kb"] for r in results[name]) / 1024.0))
    print("\nplaybook - kubectl: %+.2f s default (relabel first), %+.2f s evidence first (goal <= +1 s); "
          "ansible-playbook start-up %.2f s; "
          "pod_quarantine's own process CPU %.2f s (goal <= 0.5 s); CPUs %d, load average %s" % (
              playbook - label, first - label, med("ansible-bare", "wall"), med("module-process", "cpu"), os.cpu_count(),
              " ".join("%.1f" % x for x in os.getloadavg())))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"latency_over_kubectl_s": round(playbook - label, 2),
                       "evidence_first_over_kubectl_s": round(first - label, 2),
                       "startup_s": round(med("ansible-bare", "wall"), 2),
                       "module_process_wall_s": round(med("module-process", "wall"), 2),
                       "module_process_cpu_s": round(med("module-process", "cpu"), 2), "results": results,
                       "machine": benchlib.machine()}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
