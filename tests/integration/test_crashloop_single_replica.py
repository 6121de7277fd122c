"""A crash-looping single-replica Deployment is quarantined whatever the instant (issue 14 part 6).

The KWOK stages of hack/cluster/stages/pod-failures.yaml make a crash loop alternate, as a
kubelet does: Ready for 1.5 s, then 2.5 s in CrashLoopBackOff. The last-Ready guard used to count
the pod as Ready between crashes, so the same quarantine was refused or done depending on the
instant. To test each instant deterministically, the pod is frozen in one phase: its behavior
annotation is changed to one no stage knows ("frozen"), and the pod keeps the status it has
(Ready with its restarts and lastState.terminated, or in back-off) until it is set back.
"""

import json
import os
import time

from k8s_helpers import (
    create, deployment_body, pod_ready, quarantine, restart_count, service_body, wait_list,
    wait_ready_pods,
)

SIM = "sim.triage.k8s/behavior"


def _crash_looping(core, api, namespace, name, restarts=3):
    """A one-replica Deployment (and Service) whose pod crash-loops; its name once it restarted `restarts` times."""
    labels = {"app": name}
    create(api, namespace, deployment_body(name, 1, labels, pod_annotations={SIM: "crashloop"}))
    create(api, namespace, service_body(name, labels))
    pods = wait_list(core.list_namespaced_pod, lambda ps: len(ps) == 1 and restart_count(ps[0]) >= restarts,
                     timeout=90, what="the pod of %s restarting %d times" % (name, restarts),
                     namespace=namespace, label_selector="app=%s" % name)
    return pods[0].metadata.name


def _freeze(core, namespace, name, ready):
    """Stop the pod's crash loop in its Ready phase (ready=True) or its back-off phase; the frozen pod.

    A stage KWOK has already scheduled still lands after the annotation changed, so the pod is
    frozen in the phase before the one wanted, and is then left alone (same resourceVersion)."""
    for attempt in range(6):
        core.patch_namespaced_pod(name, namespace, {"metadata": {"annotations": {SIM: "crashloop"}}})
        wait_list(core.list_namespaced_pod, lambda ps: ps and pod_ready(ps[0]) is not ready, timeout=30,
                  what="pod %s %s" % (name, "not Ready" if ready else "Ready"), namespace=namespace,
                  field_selector="metadata.name=%s" % name)
        core.patch_namespaced_pod(name, namespace, {"metadata": {"annotations": {SIM: "frozen"}}})
        time.sleep(3.5)  # longer than either phase: the stage already scheduled has landed
        seen = core.read_namespaced_pod(name, namespace)
        time.sleep(3.5)
        pod = core.read_namespaced_pod(name, namespace)
        if pod.metadata.resource_version == seen.metadata.resource_version and pod_ready(pod) is ready:
            return pod
    raise AssertionError("could not freeze pod %s %s" % (name, "Ready" if ready else "in back-off"))


def _would_quarantine(result):
    assert result.get("failed") is not True, result
    assert result["changed"] is True and "would be quarantined" in result["msg"], result
    assert not result.get("refused"), result


def test_the_crash_looping_only_replica_is_not_a_healthy_ready_replica(core, api, namespace, ansible):
    name = _crash_looping(core, api, namespace, "loop")

    # Ready between crashes: the instant the last-Ready guard used to refuse.
    frozen = _freeze(core, namespace, name, ready=True)
    assert pod_ready(frozen) and restart_count(frozen) >= 3
    _would_quarantine(quarantine(ansible, name, namespace, check=True))

    # In back-off: not Ready at all.
    _freeze(core, namespace, name, ready=False)
    _would_quarantine(quarantine(ansible, name, namespace, check=True))

    # Crash-looping freely: the same decision at every instant of several cycles.
    core.patch_namespaced_pod(name, namespace, {"metadata": {"annotations": {SIM: "crashloop"}}})
    decisions = []
    for index in range(3):
        time.sleep(index * 1.3)  # a different phase of the 4 s cycle each time
        decisions.append(quarantine(ansible, name, namespace, check=True))
    for result in decisions:
        _would_quarantine(result)

    # For real, at the Ready instant: quarantined, and the Deployment starts a replacement.
    _freeze(core, namespace, name, ready=True)
    done = quarantine(ansible, name, namespace)
    assert done["changed"] is True and not done.get("failed"), done
    assert core.read_namespaced_pod(name, namespace).metadata.labels.get("triage.k8s/quarantined") == "true"


def test_a_healthy_only_replica_is_still_refused_and_says_so(core, api, namespace, ansible):
    labels = {"app": "calm"}
    create(api, namespace, deployment_body("calm", 1, labels))
    create(api, namespace, service_body("calm", labels))
    (only,) = [p.metadata.name for p in wait_ready_pods(core, namespace, 1, "app=calm")]

    result = quarantine(ansible, only, namespace)

    assert result.get("failed") is True and result["changed"] is False, result
    assert "is the only Ready pod of ReplicaSet calm-" in result["msg"], result
    assert result["refused"] is True and result["guard"] == "last_ready_replica", result


def _stateful_set(api, namespace, name):
    labels = {"app": name}
    create(api, namespace, {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
        "spec": {"replicas": 1, "serviceName": name, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels, "annotations": {SIM: "crashloop"}},
                              "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.0"}],
                                       "terminationGracePeriodSeconds": 0}}}})


def _scan(ansible, namespace, kubeconfig, context, reports):
    extra = {"namespaces": namespace, "report_dir": reports, "auto_quarantine": True,
             "kubeconfig": kubeconfig, "context": context}
    proc = ansible.playbook("triage.k8s.crashloop_scan", extra_vars=extra)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    with open(os.path.join(reports, "crashloop-%s.json" % context)) as f:
        report = json.load(f)
    with open(os.path.join(reports, "crashloop-%s.md" % context)) as f:
        markdown = f.read()
    return report, markdown, out


def test_crashloop_scan_quarantines_the_only_replica_and_reports_a_refusal_as_a_refusal(
        core, api, namespace, ansible, kubeconfig, context, tmp_path):
    _stateful_set(api, namespace, "db")
    name = _crash_looping(core, api, namespace, "loop")
    wait_list(core.list_namespaced_pod, lambda ps: ps and restart_count(ps[0]) >= 3, timeout=90,
              what="the StatefulSet pod restarting 3 times", namespace=namespace, label_selector="app=db")
    _freeze(core, namespace, "db-0", ready=True)
    _freeze(core, namespace, name, ready=True)  # the instant the scan used to list under "quarantine failed"
    reports = str(tmp_path / "reports")

    report, markdown, out = _scan(ansible, namespace, kubeconfig, context, reports)

    classes = dict((p["name"], p["class"]) for p in report["unhealthy_pods"])
    assert classes == {name: "crash_loop", "db-0": "crash_loop"}, report["unhealthy_pods"]
    outcomes = report["auto_quarantine"]
    assert outcomes["quarantined"] == ["%s/%s" % (namespace, name)], outcomes
    assert outcomes["failed"] == [] and outcomes["workload_failing"] == [], outcomes
    # A deliberate refusal (a StatefulSet cannot start a replacement): refused, with the guard's message.
    (refused,) = outcomes["refused"]
    assert refused["pod"] == "%s/db-0" % namespace and refused["guard"] == "owner_kind", refused
    assert "StatefulSet" in refused["msg"] and "traffic_only" in refused["msg"], refused
    assert "quarantine refused (owner_kind): %s/db-0" % namespace in out
    assert "quarantine failed" not in out, out
    assert "**refused** (owner_kind): %s/db-0" % namespace in markdown and "quarantine failed" not in markdown

    # Again at the other instant (the replacement in back-off): nothing new, nothing failed.
    replacement = wait_list(core.list_namespaced_pod, lambda ps: len(ps) == 1 and restart_count(ps[0]) >= 3,
                            timeout=90, what="the replacement restarting 3 times", namespace=namespace,
                            label_selector="app=loop")[0].metadata.name
    _freeze(core, namespace, replacement, ready=False)
    again = _scan(ansible, namespace, kubeconfig, context, reports)[0]["auto_quarantine"]
    assert again["quarantined"] == [] and again["failed"] == [], again
    assert [w["pod"] for w in again["workload_failing"]] == ["%s/%s" % (namespace, replacement)], again
    assert [r["guard"] for r in again["refused"]] == ["owner_kind"], again
