"""The triage.k8s.kubeconfig inventory on the real multi-context kubeconfig of the local clusters,
and a playbook run across it that reaches every cluster with its own context."""

import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
import yaml
from k8s_helpers import bare_pod
from kubernetes import client, config

BIN = os.path.dirname(sys.executable)
CRASHLOOP = {"sim.triage.k8s/behavior": "crashloop"}


def _unwrap(value):
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


@pytest.fixture
def inventory_file(kubeconfig, clusters, tmp_path):
    # The merged kubeconfig lists every local cluster that exists (a developer's bench cluster
    # too): select the test clusters by name.
    path = tmp_path / "clusters.kubeconfig.yml"
    path.write_text(yaml.safe_dump({"plugin": "triage.k8s.kubeconfig", "kubeconfig": [kubeconfig],
                                    "include_contexts": clusters["contexts"]}))
    return str(path)


@pytest.fixture
def strict_env():
    # A broken inventory source must fail the run instead of leaving only localhost.
    return {"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"}


def test_ansible_inventory_lists_one_host_per_context(ansible, clusters, kubeconfig, inventory_file, strict_env):
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", inventory_file, "--list"],
                          env=ansible.env(strict_env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    inv = _unwrap(json.loads(proc.stdout))

    with open(kubeconfig) as f:
        kc = yaml.safe_load(f)
    servers = {c["name"]: c["cluster"]["server"] for c in kc["clusters"]}
    contexts = {c["name"]: c["context"] for c in kc["contexts"]}
    assert set(inv["k8s_clusters"]["hosts"]) == set(clusters["contexts"])
    assert set(inv["_meta"]["hostvars"]) == set(clusters["contexts"])
    for name in clusters["contexts"]:
        cluster = contexts[name]["cluster"]
        assert inv["_meta"]["hostvars"][name] == {
            "ansible_connection": "local",
            "k8s_kubeconfig": kubeconfig,
            "k8s_context": name,
            "k8s_cluster": cluster,
            "k8s_server": servers[cluster],
            "k8s_fleet_hosts": sorted(clusters["contexts"]),  # the all group's variable, merged in by --list
        }

    # The users' credentials (client certificate and key files here) never show, not even their paths.
    out = proc.stdout + proc.stderr
    for user in kc["users"]:
        for key, value in user["user"].items():
            assert str(value) not in out, key
            if key in ("client-key", "client-certificate") and os.path.exists(value):
                with open(value) as f:
                    body = f.read().strip().splitlines()
                assert all(line not in out for line in body[1:-1] if len(line) > 20), key


def _client(kubeconfig, context):
    return client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig, context=context,
                                                          persist_config=False))


def _wait_restarting(core, namespace, name, restarts=3, timeout=120):
    # The simulated crash loop alternates Running and CrashLoopBackOff; from the scan's default
    # restart_threshold (3) on it is diagnosed in either phase.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pod = core.read_namespaced_pod(name, namespace)
        if any(cs.restart_count >= restarts for cs in pod.status.container_statuses or []):
            return
        time.sleep(0.5)
    raise AssertionError("pod %s/%s did not restart %d times" % (namespace, name, restarts))


@pytest.fixture
def pod_per_cluster(clusters, kubeconfig):
    """The same namespace in every cluster, holding a crash-looping pod named after the cluster."""
    namespace = "inv-%s" % uuid.uuid4().hex[:8]
    made = []
    try:
        for context in clusters["contexts"]:
            core = _client(kubeconfig, context)
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
            made.append(core)
            core.create_namespaced_pod(namespace, bare_pod("only-in-%s" % context, annotations=CRASHLOOP))
        for context, core in zip(clusters["contexts"], made):
            _wait_restarting(core, namespace, "only-in-%s" % context)
        yield namespace
    finally:
        for core in made:
            try:
                core.delete_namespace(namespace, grace_period_seconds=0, propagation_policy="Background")
            except client.ApiException:
                pass


def _report(reports, context):
    with open(os.path.join(reports, "crashloop-%s.json" % context)) as f:
        return json.load(f)


def test_a_playbook_runs_on_every_cluster_of_the_inventory(ansible, clusters, inventory_file, pod_per_cluster,
                                                           tmp_path, strict_env):
    reports = str(tmp_path / "reports")
    proc = ansible.playbook("triage.k8s.crashloop_scan", inventory=inventory_file, env=strict_env,
                            extra_vars={"target": "k8s_clusters", "namespaces": pod_per_cluster,
                                        "report_dir": reports}, args=["-f", "5"])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    contexts = clusters["contexts"]
    assert sorted(os.listdir(reports)) == sorted(
        ["crashloop-%s.%s" % (c, ext) for c in contexts for ext in ("json", "md")]
        + ["crashloop-fleet.json", "crashloop-fleet.md"])
    for context in contexts:
        report = _report(reports, context)
        assert report["cluster"] == context
        # Each host reached its own cluster: it sees its own pod and not the other cluster's.
        assert [p["name"] for p in report["unhealthy_pods"]] == ["only-in-%s" % context], report
    for context in contexts:  # PLAY RECAP: both hosts ran, neither failed
        assert re.search(r"^%s\s+:\s+ok=[1-9].*failed=0" % re.escape(context), proc.stdout, re.M), out


def test_limit_targets_one_cluster(ansible, clusters, inventory_file, pod_per_cluster, tmp_path, strict_env):
    reports = str(tmp_path / "reports")
    one = clusters["contexts"][-1]
    proc = ansible.playbook("triage.k8s.crashloop_scan", inventory=inventory_file, env=strict_env,
                            extra_vars={"target": "k8s_clusters", "namespaces": pod_per_cluster,
                                        "report_dir": reports}, args=["-l", one])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(os.listdir(reports)) == sorted(["crashloop-%s.json" % one, "crashloop-%s.md" % one,
                                                  "crashloop-fleet.json", "crashloop-fleet.md"])
    assert [p["name"] for p in _report(reports, one)["unhealthy_pods"]] == ["only-in-%s" % one]
