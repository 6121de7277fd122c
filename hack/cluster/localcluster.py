#!/usr/bin/env python3
"""Local throwaway Kubernetes clusters for tests and the demo.

Real kube-apiserver, kube-controller-manager, kube-scheduler and etcd, with KWOK standing in
for the kubelet, started by `kwokctl --runtime binary` from binaries that hack/cluster/build.sh
builds from pinned upstream Go modules. Everything listens on 127.0.0.1; nothing here ever
connects to the pod or node IPs that KWOK invents.

    localcluster.py up [NAME ...]      start (or reuse healthy) clusters; default: triage-a triage-b
    localcluster.py down [NAME ...]    stop and delete them (default: every cluster in the workdir)
    localcluster.py status             list clusters and whether their API server answers
    localcluster.py kubeconfig         print the path of the merged kubeconfig

State lives in $TRIAGE_K8S_STATE (default: <repo>/.cache/kwok). The merged kubeconfig has one
context per cluster, named kwok-<NAME>.
"""

import argparse
import hashlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_NAMES = ("triage-a", "triage-b")
NODES_PER_CLUSTER = 2
# The kinds a test may create as objects at run time (per-pod logs and exec behaviour).
RUNTIME_CRDS = ("Logs", "ClusterLogs", "Exec", "ClusterExec")
# Per-cluster differences from the options of _config_file. API Priority and Fairness stays on
# in the fault cluster: the throttling tests need real 429s from it (disableQPSLimits turns it off).
CLUSTER_OPTIONS = {
    "triage-fault": {"disableQPSLimits": False},
}
# Clusters that run metrics-server (metrics.k8s.io, fed by kwok's emulated kubelet resource
# metrics, hack/cluster/metrics/usage.yaml). The others, triage-a and triage-fault among them,
# have no metrics API, so the evidence's "not served" path runs on a real cluster too.
METRICS_CLUSTERS = ("triage-b",)
METRICS_DIR = os.path.join(HERE, "metrics")
# metrics-server's floor (it refuses less than 10s; kwokctl's default is 15s), and a kubelet
# timeout below 9/10 of it, which metrics-server also requires (its default, 10s, is not).
METRIC_RESOLUTION = "10s"
KUBELET_REQUEST_TIMEOUT = "5s"
METRICS_APISERVICE = "v1beta1.metrics.k8s.io"
METRICS_PATH_ANNOTATION = "metrics.k8s.io/resource-metrics-path"


class ClusterError(Exception):
    pass


def state_dir():
    return os.environ.get("TRIAGE_K8S_STATE") or os.path.join(REPO, ".cache", "kwok")


def kubeconfig_path():
    return os.path.join(state_dir(), "kubeconfig")


def cluster_dir(name):
    return os.path.join(state_dir(), "clusters", name)


def context_name(name):
    return "kwok-" + name


def log(msg):
    print("cluster: " + msg, file=sys.stderr, flush=True)


def binaries():
    """Build (or reuse) the pinned binaries; return their directory."""
    return _build(os.path.join(HERE, "build.sh"), "the control plane")


def metrics_server_binary():
    """Build (or reuse) the pinned metrics-server (its own cache key); return its path."""
    return os.path.join(_build(os.path.join(HERE, "..", "metrics-server", "build.sh"), "metrics-server"), "metrics-server")


def _build(script, what):
    proc = subprocess.run([script], stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise ClusterError("building %s failed (see the messages above)" % what)
    return proc.stdout.strip().splitlines()[-1]


def _kwokctl(bindir, *args, check=True, quiet=False):
    env = dict(os.environ, KWOK_WORKDIR=state_dir())
    cmd = [os.path.join(bindir, "kwokctl")] + list(args)
    out = subprocess.PIPE if quiet else None
    proc = subprocess.run(cmd, env=env, stdout=out, stderr=out, text=True, check=False)
    if check and proc.returncode != 0:
        detail = (proc.stderr or "").strip()[-2000:] if quiet else ""
        raise ClusterError("kwokctl %s failed (exit %d) %s" % (" ".join(args[:3]), proc.returncode, detail))
    return proc


def existing_clusters():
    root = os.path.join(state_dir(), "clusters")
    if not os.path.isdir(root):
        return []
    return sorted(n for n in os.listdir(root) if os.path.isfile(os.path.join(root, n, "kwok.yaml")))


def _load_yaml(path):
    import yaml  # the virtualenv has PyYAML; only needed once a cluster exists

    with open(path) as f:
        return yaml.safe_load(f)


def _tls_context(cfg, name):
    """An SSL context and server URL from a kwokctl kubeconfig (admin client cert)."""
    kc = _load_yaml(os.path.join(cluster_dir(name), "kubeconfig.yaml"))
    cluster = kc["clusters"][0]["cluster"]
    user = kc["users"][0]["user"]
    ctx = ssl.create_default_context(cafile=_abs(name, cluster["certificate-authority"]))
    ctx.load_cert_chain(_abs(name, user["client-certificate"]), _abs(name, user["client-key"]))
    return ctx, cluster["server"]


def _abs(name, path):
    return path if os.path.isabs(path) else os.path.join(cluster_dir(name), path)


def _get(name, path, timeout=5):
    ctx, server = _tls_context(None, name)
    with urllib.request.urlopen(server + path, context=ctx, timeout=timeout) as resp:
        return resp.status, resp.read()


def healthy(name):
    try:
        status, body = _get(name, "/readyz", timeout=3)
        return status == 200 and body.strip() == b"ok"
    except Exception:  # any failure means "not usable"; the caller recreates the cluster
        return False


def _wait(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise ClusterError("timed out after %ss waiting for %s" % (timeout, what))


def _ready_for_workloads(name):
    """API ready, default ServiceAccount made (pods can be created) and every node Ready."""
    try:
        if not healthy(name):
            return False
        _get(name, "/api/v1/namespaces/default/serviceaccounts/default")
        body = _get(name, "/api/v1/nodes")[1]
        nodes = json.loads(body)["items"]
        ready = [
            n for n in nodes
            if any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", []))
        ]
        return len(ready) >= NODES_PER_CLUSTER
    except Exception:  # not ready yet
        return False


def metrics_apiservice(name):
    """The metrics.k8s.io APIService object, or None (not registered, or no answer)."""
    try:
        return json.loads(_get(name, "/apis/apiregistration.k8s.io/v1/apiservices/" + METRICS_APISERVICE)[1])
    except Exception:  # absent (404) or the API server is not answering
        return None


def metrics_available(name):
    """The metrics.k8s.io APIService is Available: metrics-server runs and the aggregator reaches it."""
    conditions = ((metrics_apiservice(name) or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Available" and c.get("status") == "True" for c in conditions)


def _as_configured(name):
    """A cluster made before its metrics-server was configured lacks the APIService: not reusable.
    (Registered, not Available: a metrics-server restarting for a moment is no reason to recreate.)"""
    return name not in METRICS_CLUSTERS or metrics_apiservice(name) is not None


def _config_file(bindir, name):
    """The kwokctl configuration: local binaries, loopback only, our stages, runtime CRDs."""
    stages = os.path.join(HERE, "stages")
    options = {
        "runtime": "binary",
        "bindAddress": "127.0.0.1",
        "kubeApiserverBinary": os.path.join(bindir, "kube-apiserver"),
        "kubeControllerManagerBinary": os.path.join(bindir, "kube-controller-manager"),
        "kubeSchedulerBinary": os.path.join(bindir, "kube-scheduler"),
        "kwokControllerBinary": os.path.join(bindir, "kwok"),
        "etcdBinary": os.path.join(bindir, "etcd"),
        "enableCRDs": list(RUNTIME_CRDS),
        "kubeAuthorization": True,
        "disableQPSLimits": True,
        "nodeLeaseDurationSeconds": 40,
    }
    if os.path.exists(os.path.join(bindir, "kubectl")):
        options["kubectlBinary"] = os.path.join(bindir, "kubectl")
    options.update(CLUSTER_OPTIONS.get(name, {}))
    doc = {"apiVersion": "config.kwok.x-k8s.io/v1alpha1", "kind": "KwokctlConfiguration", "options": options}
    extra = []
    if name in METRICS_CLUSTERS:
        options.update({
            "enableMetricsServer": True,
            "metricsServerBinary": metrics_server_binary(),
            # A local kustomize directory: kwokctl would otherwise download upstream's manifest.
            "metricsServerManifests": [METRICS_DIR],
        })
        doc["componentsPatches"] = [{
            "name": "metrics-server",
            "extraArgs": [{"key": "metric-resolution", "value": METRIC_RESOLUTION, "override": True},
                          {"key": "kubelet-request-timeout", "value": KUBELET_REQUEST_TIMEOUT}],
        }]
        extra.append(os.path.join(METRICS_DIR, "usage.yaml"))
        # kwokctl caches a built manifest by its source path (KWOK_WORKDIR/cache/manifest/
        # sha256(path).yaml) and never rebuilds it: drop it so an edit of METRICS_DIR applies.
        cached = os.path.join(state_dir(), "cache", "manifest", hashlib.sha256(METRICS_DIR.encode()).hexdigest() + ".yaml")
        if os.path.exists(cached):
            os.remove(cached)
    # One file per cluster: two test sessions may create different clusters at the same time.
    path = os.path.join(state_dir(), "kwokctl-%s.yaml" % name)
    os.makedirs(state_dir(), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f)  # JSON is YAML
    return [path] + sorted(os.path.join(stages, n) for n in os.listdir(stages) if n.endswith(".yaml")) + extra


def _create_nodes(bindir, name):
    nodes = []
    for i in range(NODES_PER_CLUSTER):
        nodes.append({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": "kwok-node-%d" % i,
                # kwok serves each node's resource metrics under its own path on its one loopback
                # server (the node's address is kwok's --node-name, localhost): metrics-server
                # reads the path from this annotation.
                "annotations": {
                    "kwok.x-k8s.io/node": "fake",
                    "node.alpha.kubernetes.io/ttl": "0",
                    METRICS_PATH_ANNOTATION: "/metrics/nodes/kwok-node-%d/metrics/resource" % i,
                },
                "labels": {
                    "kubernetes.io/hostname": "kwok-node-%d" % i,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": "kwok",
                },
            },
        })
    manifest = os.path.join(cluster_dir(name), "nodes.json")
    with open(manifest, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": nodes}, f)
    _kwokctl(bindir, "--name", name, "kubectl", "apply", "-f", manifest, quiet=True)


def _kill_leftovers(name):
    """Kill any process still running from this cluster's directory (a killed kwokctl run)."""
    marker = cluster_dir(name) + os.sep
    killed = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd:
            try:
                os.kill(int(pid), signal.SIGKILL)
                killed.append(pid)
            except OSError:
                pass
    return killed


def delete(name, bindir=None):
    if bindir and os.path.exists(os.path.join(bindir, "kwokctl")):
        _kwokctl(bindir, "delete", "cluster", "--name", name, check=False, quiet=True)
    killed = _kill_leftovers(name)
    if killed:
        log("killed %d leftover process(es) of %s" % (len(killed), name))
    shutil.rmtree(cluster_dir(name), ignore_errors=True)


def create(name, bindir):
    configs = _config_file(bindir, name)
    args = ["create", "cluster", "--name", name, "--wait", "120s", "--quiet-pull"]
    for c in configs:
        args += ["--config", c]
    _kwokctl(bindir, *args, quiet=True)
    _create_nodes(bindir, name)


def up(names, reuse=True):
    bindir = binaries()
    for name in names:
        if name in existing_clusters():
            if reuse and healthy(name) and _as_configured(name):
                log("%s is up, reusing it" % name)
                continue
            log("%s is stale (left by an interrupted run, or made without metrics-server), removing it" % name)
            delete(name, bindir)
        started = time.monotonic()
        log("starting %s" % name)
        try:
            create(name, bindir)
            _wait("%s to accept workloads" % name, lambda n=name: _ready_for_workloads(n), 180)
            if name in METRICS_CLUSTERS:
                _wait("the APIService %s of %s to be Available (see %s)" % (
                    METRICS_APISERVICE, name, os.path.join(cluster_dir(name), "logs", "metrics-server.log")),
                    lambda n=name: metrics_available(n), 60)
        except Exception:
            delete(name, bindir)
            raise
        log("%s ready in %.0fs" % (name, time.monotonic() - started))
    write_kubeconfig()
    return kubeconfig_path()


def down(names=None):
    bindir = None
    try:
        bindir = binaries()
    except ClusterError:
        pass  # still kill what is running, by process table
    for name in names or existing_clusters():
        log("deleting %s" % name)
        delete(name, bindir)
    write_kubeconfig()


def write_kubeconfig():
    """Merge every cluster's kubeconfig into one file, one context per cluster, atomically."""
    merged = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": [], "current-context": ""}
    for name in existing_clusters():
        path = os.path.join(cluster_dir(name), "kubeconfig.yaml")
        if not os.path.exists(path):
            continue
        kc = _load_yaml(path)
        ctx = context_name(name)
        cluster = dict(kc["clusters"][0]["cluster"])
        user = dict(kc["users"][0]["user"])
        cluster["certificate-authority"] = _abs(name, cluster["certificate-authority"])
        user["client-certificate"] = _abs(name, user["client-certificate"])
        user["client-key"] = _abs(name, user["client-key"])
        merged["clusters"].append({"name": ctx, "cluster": cluster})
        merged["users"].append({"name": ctx, "user": user})
        merged["contexts"].append({"name": ctx, "context": {"cluster": ctx, "user": ctx}})
        merged["current-context"] = merged["current-context"] or ctx
    os.makedirs(state_dir(), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=state_dir(), prefix=".kubeconfig.")
    with os.fdopen(fd, "w") as f:
        json.dump(merged, f, indent=1)
    os.replace(tmp, kubeconfig_path())


def status():
    rows = []
    for name in existing_clusters():
        try:
            server = _tls_context(None, name)[1]
        except Exception:  # half-made cluster directory
            server = "?"
        rows.append((context_name(name), server, "up" if healthy(name) else "DOWN"))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status", "kubeconfig"])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--fresh", action="store_true", help="recreate clusters even when healthy")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            path = up(args.names or list(DEFAULT_NAMES), reuse=not args.fresh)
            print("export KUBECONFIG=%s" % path)
            for ctx, server, state in status():
                print("#   context %-16s %s  %s" % (ctx, server, state))
        elif args.command == "down":
            down(args.names)
        elif args.command == "status":
            for row in status():
                print("%-18s %-28s %s" % row)
        else:
            print(kubeconfig_path())
    except ClusterError as exc:
        print("cluster: error: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
