"""The local cluster tooling itself: stale clusters are found and replaced, teardown leaves no
process behind, and the build refuses to pass off a half-built cache."""

import os
import signal
import subprocess

import localcluster

NAME = "triage-stale"


def _processes_of(name):
    marker = localcluster.cluster_dir(name) + os.sep
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if marker.encode() in f.read():
                    pids.append(int(pid))
        except OSError:
            continue
    return pids


def _apiserver_pid(name):
    for pid in _processes_of(name):
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if b"kube-apiserver" in f.read().split(b"\0")[0]:
                return pid
    return None


def test_stale_cluster_is_replaced_and_down_leaves_nothing(clusters):
    try:
        localcluster.up([NAME])
        assert localcluster.healthy(NAME)
        # A run killed half-way: the API server dies, the rest of the cluster lingers.
        os.kill(_apiserver_pid(NAME), signal.SIGKILL)
        assert not localcluster.healthy(NAME)

        localcluster.up([NAME])
        assert localcluster.healthy(NAME), "a stale cluster is deleted and started afresh"
    finally:
        localcluster.down([NAME])
    assert _processes_of(NAME) == []
    assert NAME not in localcluster.existing_clusters()
    # The merged kubeconfig no longer names it, and still names the suite's clusters.
    with open(localcluster.kubeconfig_path()) as f:
        text = f.read()
    assert "kwok-" + NAME not in text
    assert all(ctx in text for ctx in clusters["contexts"])


def test_build_without_go_says_what_is_needed(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TRIAGE_K8S_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([os.path.join(localcluster.HERE, "build.sh")], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    assert proc.returncode != 0
    assert "Go is needed" in proc.stderr and "TRIAGE_K8S_BIN_DIR" in proc.stderr
    assert not (tmp_path / "cache" / "bin").exists() or not any(
        p.name.startswith("kube-") for p in (tmp_path / "cache" / "bin").iterdir())


def test_build_rejects_an_incomplete_binary_directory(tmp_path):
    (tmp_path / "kube-apiserver").write_text("#!/bin/sh\n")
    (tmp_path / "kube-apiserver").chmod(0o755)
    env = dict(os.environ, TRIAGE_K8S_BIN_DIR=str(tmp_path))
    proc = subprocess.run([os.path.join(localcluster.HERE, "build.sh")], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    assert proc.returncode != 0
    assert "lacks one of" in proc.stderr


def test_metrics_server_runs_only_in_the_metrics_clusters():
    """kwokctl's own metrics-server support, given our pinned binary and a local manifest (nothing
    downloaded), the usage config, and metrics-server's lowest resolution; triage-a and the fault
    cluster have none (the evidence's "not served" path)."""
    import json
    bindir = localcluster.binaries()
    for name in ("triage-a", "triage-b", "triage-fault"):
        configs = localcluster._config_file(bindir, name)
        with open(configs[0]) as f:
            doc = json.load(f)
        usage = os.path.join(localcluster.METRICS_DIR, "usage.yaml")
        if name in localcluster.METRICS_CLUSTERS:
            options = doc["options"]
            assert options["enableMetricsServer"] is True and os.access(options["metricsServerBinary"], os.X_OK)
            assert options["metricsServerManifests"] == [localcluster.METRICS_DIR] and usage in configs
            args = doc["componentsPatches"][0]["extraArgs"]
            assert {"key": "metric-resolution", "value": "10s", "override": True} in args
        else:
            assert "enableMetricsServer" not in doc["options"] and usage not in configs
    assert "triage-b" in localcluster.METRICS_CLUSTERS
    assert not set(localcluster.METRICS_CLUSTERS) & {"triage-a", "triage-fault"}


def test_metrics_server_build_without_go_says_what_is_needed(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TRIAGE_K8S_CACHE": str(tmp_path / "cache")}
    script = os.path.join(localcluster.HERE, "..", "metrics-server", "build.sh")
    proc = subprocess.run([script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    assert proc.returncode != 0
    assert "Go is needed to build metrics-server" in proc.stderr and "TRIAGE_K8S_MS_BIN_DIR" in proc.stderr
