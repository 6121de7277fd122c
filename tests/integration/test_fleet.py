"""A fleet run: one inventory host per context from the triage.k8s.kubeconfig inventory plugin,
three clusters, one of them broken (its API server stopped). The others are scanned, the fleet
report merges them and names the broken one, and the run fails saying which."""

import json
import os
import signal

import localcluster
from k8s_helpers import annotate_behavior, bare_pod, wait_list, waiting_reasons
from test_localcluster import _apiserver_pid
from conftest import api_client_for
from kubernetes import client

BROKEN = "triage-fleet-broken"


def test_crashloop_scan_across_the_fleet_with_one_cluster_down(clusters, ansible, tmp_path):
    sick = {}
    ns = "fleet-%s" % os.urandom(3).hex()  # the same namespace on every cluster
    for ctx in clusters["contexts"]:
        core = client.CoreV1Api(api_client_for(clusters["kubeconfig"], ctx))
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
        name = "sick-%s" % ctx.rsplit("-", 1)[-1]
        core.create_namespaced_pod(ns, bare_pod(name))
        wait_list(core.list_namespaced_pod, lambda ps: bool(ps) and ps[0].status.phase == "Running", timeout=60,
                  what="pod running", namespace=ns)
        annotate_behavior(core, ns, name, "crashloop")
        wait_list(core.list_namespaced_pod, lambda ps: "CrashLoopBackOff" in waiting_reasons(ps[0]), timeout=60,
                  what="CrashLoopBackOff", namespace=ns)
        sick[ctx] = (core, ns, name)
    try:
        localcluster.up([BROKEN])
        os.kill(_apiserver_pid(BROKEN), signal.SIGKILL)
        inventory = tmp_path / "fleet.kubeconfig.yml"
        inventory.write_text("plugin: triage.k8s.kubeconfig\nkubeconfig: [%s]\ninclude_contexts: [%s]\n" % (
            localcluster.kubeconfig_path(),
            ", ".join(clusters["contexts"] + [localcluster.context_name(BROKEN)])))
        reports = tmp_path / "reports"
        proc = ansible.playbook("triage.k8s.crashloop_scan", inventory=str(inventory), args=["-f", "3"], extra_vars={
            "target": "k8s_clusters", "report_dir": str(reports), "namespaces": ns,
            "crashloop_scan_restart_threshold": 1})
        out = proc.stdout + proc.stderr
    finally:
        localcluster.down([BROKEN])
        for core, _ns, _name in sick.values():
            core.delete_namespace(ns, grace_period_seconds=0)

    broken = localcluster.context_name(BROKEN)
    assert proc.returncode != 0, out
    assert "the scan failed on 1 of 3 cluster(s): %s" % broken in out, out
    with open(str(reports / "crashloop-fleet.json")) as f:
        fleet = json.load(f)
    assert fleet["failed_clusters"] == [broken]
    status = dict((c["cluster"], c["status"]) for c in fleet["clusters"])
    assert status == dict([(ctx, "scanned") for ctx in clusters["contexts"]] + [(broken, "failed")])
    for ctx, (_core, _ns, name) in sick.items():
        (entry,) = [c for c in fleet["clusters"] if c["cluster"] == ctx]
        assert [p["name"] for p in entry["unhealthy_pods"]] == [name]
        assert os.path.exists(str(reports / ("crashloop-%s.json" % ctx)))
    with open(str(reports / "crashloop-fleet.md")) as f:
        markdown = f.read()
    assert "| %s | failed" % broken in markdown
    assert all("| %s | scanned |" % ctx in markdown for ctx in clusters["contexts"])
