"""The playbooks end to end, run by FQCN the way an operator (or AWX) runs them."""

import json
import os

from k8s_helpers import deployment, endpoint_slice_pods, labels_after_release, pod_ready, service, wait_list
from kubernetes import client


def _ready_pods(core, namespace, selector, count):
    return wait_list(core.list_namespaced_pod, lambda ps: len([p for p in ps if pod_ready(p)]) >= count,
                     timeout=60, what="%d ready pods" % count, namespace=namespace, label_selector=selector)


def _play(ansible, name, extra_vars, kubeconfig, context):
    extra = dict(extra_vars, kubeconfig=kubeconfig, context=context)
    proc = ansible.playbook("triage.k8s.%s" % name, extra_vars=extra)
    return proc, proc.stdout + proc.stderr


def test_quarantine_then_release_playbooks(core, apps, api, namespace, ansible, kubeconfig, context):
    labels = {"app": "shop", "release": "stable"}
    apps.create_namespaced_deployment(namespace, deployment("shop", 3, labels))
    core.create_namespaced_service(namespace, service("shop", labels))
    pods = _ready_pods(core, namespace, "app=shop", 3)
    sick = sorted(p.metadata.name for p in pods)[0]

    proc, out = _play(ansible, "quarantine", {"pod": sick, "namespace": namespace, "reason": "it hurts, badly",
                                              "ttl": "2h"}, kubeconfig, context)
    assert proc.returncode == 0, out
    # The human summary: what moved, where traffic goes, what to paste, how to release, when it expires.
    assert "%s/%s is quarantined: it hurts, badly" % (namespace, sick) in out
    assert "release: stable -> quarantined-stable" in out
    assert "verified: no EndpointSlice lists it" in out
    assert "kubectl --context %s -n %s logs %s" % (context, namespace, sick) in out
    assert "port-forward pod/%s" % sick in out
    assert "kubectl --context %s debug -it -n %s %s --image=busybox:1.36" % (context, namespace, sick) in out
    assert "ansible-playbook triage.k8s.release -e pod=%s/%s" % (namespace, sick) in out
    assert "Expires: 20" in out
    discovery = client.DiscoveryV1Api(api)
    assert sick not in endpoint_slice_pods(discovery, namespace, "shop")

    proc, out = _play(ansible, "release", {"pod": sick, "namespace": namespace}, kubeconfig, context)
    assert proc.returncode == 0, out
    assert "may adopt it again" in out
    assert labels_after_release(core, sick, namespace, labels)["release"] == "stable"


def test_quarantine_playbook_refuses_a_missing_pod_with_a_clear_message(namespace, ansible, kubeconfig, context):
    proc, out = _play(ansible, "quarantine", {"pod": "nope", "namespace": namespace}, kubeconfig, context)
    assert proc.returncode != 0
    assert 'pod "nope" not found in namespace "%s"' % namespace in out
    assert "Traceback" not in out


def _crashing_deployment(apps, core, namespace, name, replicas):
    labels = {"app": name}
    apps.create_namespaced_deployment(namespace, deployment(
        name, replicas, labels, pod_annotations={"sim.triage.k8s/behavior": "crashloop"}))
    # Three restarts: crashloop_info's default restart_threshold, so the loop is diagnosed
    # whether the container is in back-off or briefly running again when the scan looks.
    wait_list(core.list_namespaced_pod,
              lambda ps: len([p for p in ps if sum(cs.restart_count for cs in p.status.container_statuses or []) >= 3]) >= replicas,
              timeout=90, what="every pod restarted three times", namespace=namespace, label_selector="app=%s" % name)


def test_crashloop_scan_reports_and_quarantines_one_pod_per_owner(core, apps, namespace, ansible, kubeconfig,
                                                                  context, tmp_path):
    apps.create_namespaced_deployment(namespace, deployment("calm", 1, {"app": "calm"}))
    _crashing_deployment(apps, core, namespace, "broken", 2)
    reports = str(tmp_path / "reports")

    proc, out = _play(ansible, "crashloop_scan", {"namespaces": namespace, "report_dir": reports,
                                                  "auto_quarantine": True}, kubeconfig, context)
    assert proc.returncode == 0, out
    with open(os.path.join(reports, "crashloop-%s.json" % context)) as f:
        report = json.load(f)
    unhealthy = {p["name"]: p for p in report["unhealthy_pods"]}
    assert len(unhealthy) == 2 and all(p["class"] == "crash_loop" for p in unhealthy.values())
    assert report["summary"]["crashloop_detected"] is True
    outcomes = report["auto_quarantine"]
    # One pod of the owner is quarantined; the other is not: the workload itself is failing.
    assert len(outcomes["quarantined"]) + len(outcomes["already"]) == 1, outcomes
    assert len(outcomes["workload_failing"]) + len(outcomes["failed"]) == 1, outcomes
    with open(os.path.join(reports, "crashloop-%s.md" % context)) as f:
        markdown = f.read()
    assert "| crash_loop |" in markdown and "Automatic quarantine" in markdown
    assert "NAMESPACE/POD" in out

    # A second scan quarantines nothing new: never a new orphan on every crash cycle.
    proc, out = _play(ansible, "crashloop_scan", {"namespaces": namespace, "report_dir": reports,
                                                  "auto_quarantine": True}, kubeconfig, context)
    assert proc.returncode == 0, out
    with open(os.path.join(reports, "crashloop-%s.json" % context)) as f:
        again = json.load(f)["auto_quarantine"]
    assert again["quarantined"] == [], again
    quarantined = core.list_namespaced_pod(namespace, label_selector="triage.k8s/quarantined=true").items
    assert len(quarantined) == 1


def test_rollout_gate_passes_a_stable_deployment(core, apps, namespace, ansible, kubeconfig, context):
    apps.create_namespaced_deployment(namespace, deployment("steady", 2, {"app": "steady"}))
    proc, out = _play(ansible, "rollout_gate", {"deployment": "steady", "namespace": namespace, "settle": "3s",
                                                "wait_timeout": 120}, kubeconfig, context)
    assert proc.returncode == 0, out
    assert "%s/steady: stable" % namespace in out


def test_rollout_gate_fails_fast_with_the_diagnosis(core, apps, namespace, ansible, kubeconfig, context):
    _crashing_deployment(apps, core, namespace, "flaky", 2)
    proc, out = _play(ansible, "rollout_gate", {"deployment": "flaky", "namespace": namespace, "wait_timeout": 300},
                      kubeconfig, context)
    assert proc.returncode != 0
    assert "rollout is failing after" in out and "crash_loop" in out
    assert "logs" in out and "--previous" in out
