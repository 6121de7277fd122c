"""The pod_health event source and the shipped rulebooks under real ansible-rulebook (tests/integration/eda.py)
against the local control plane, asserted from Kubernetes objects.

Timings (printed with -s, stated in docs/eda.md): from a crash-looping Deployment's creation to its pod
quarantined with an evidence bundle; settle_seconds is 5 in that test (a KWOK crash cycle is ~4 s: 1.5 s
running, 2.5 s in CrashLoopBackOff; from 3 restarts on crashloop_info's class stays crash_loop)."""

import datetime
import glob
import os
import time

import pytest
from kubernetes import client

from eda import rulebook_factory
from k8s_helpers import (SIM, create, deployment_body, endpoint_slice_pods, our_events, restart_count, service_body, sim_pod_body,
                         wait_list, wait_pod, wait_ready_pods)

QUARANTINED = "triage.k8s/quarantined"
QUARANTINED_AT = "triage.k8s/quarantined-at"
# From the Deployment's creation to the quarantine annotation (ansible-rulebook already watching): what
# the first test asserts. Measured 20-23 s on the 2-core CI machine; the bound leaves room for a loaded host.
BOUND_SECONDS = 90


@pytest.fixture
def rulebook(tmp_path):
    make, stop_all = rulebook_factory(tmp_path)
    yield make
    stop_all()


def _source_vars(kubeconfig, context, namespace, **extra):
    variables = {"kubeconfig": kubeconfig, "context": context, "namespaces": [namespace],
                 "settle_seconds": 2, "debounce_seconds": 0}
    variables.update(extra)
    return variables


def _quarantined(core, namespace):
    return list(core.list_namespaced_pod(namespace, label_selector="%s=true" % QUARANTINED).items)


def _triage(rb, transition=None):
    return [e["triage"] for e in rb.events() if transition is None or e["triage"]["transition"] == transition]


def _poll(fn, timeout, what, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


# The source alone, its events printed: for the fault test, where a playbook per event would only add load.
WATCH_ONLY = """---
- name: pod_health events
  hosts: all
  sources:
    - triage.k8s.pod_health:
        kubeconfig: "{{ kubeconfig }}"
        context: "{{ context }}"
        namespaces: "{{ namespaces }}"
        settle_seconds: "{{ settle_seconds }}"
        debounce_seconds: "{{ debounce_seconds }}"
  rules:
    - name: every event
      condition: event.triage.transition is defined
      action:
        debug:
          msg: "pod_health {{ event.triage.transition }} {{ event.triage.pod }} {{ event.triage['class'] }}"
"""


def _parse(stamp):
    return datetime.datetime.strptime(stamp.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")


def test_crash_looping_deployment_is_quarantined_once_with_evidence(rulebook, kubeconfig, context, core, api,
                                                                    namespace, tmp_path):
    """auto_quarantine.yml: the first crash-looping pod of the owner is quarantined with an evidence bundle;
    its sibling and every replacement, over several crash cycles, are refused (max_per_owner 1). The
    source's debounce is off here so the playbook's own guard is what is tested."""
    evidence = str(tmp_path / "evidence")
    rb = rulebook("triage.k8s.auto_quarantine", _source_vars(
        kubeconfig, context, namespace, evidence_dest=evidence, ttl="1h", max_quarantines_per_hour=1000, settle_seconds=5))
    rb.wait_for_log("triage.k8s.pod_health: watching", timeout=90)
    create(api, namespace, service_body("web", {"app": "web"}))
    started = datetime.datetime.now(datetime.timezone.utc)
    create(api, namespace, deployment_body("web", 2, {"app": "web"}, pod_annotations={SIM + "behavior": "crashloop"}))

    pods = wait_list(core.list_namespaced_pod, lambda ps: len(ps) == 1 and ps, timeout=BOUND_SECONDS,
                     what="a quarantined pod", namespace=namespace, label_selector="%s=true" % QUARANTINED)
    victim = pods[0]
    quarantined_at = _parse(victim.metadata.annotations[QUARANTINED_AT])
    bundles = _poll(lambda: glob.glob(os.path.join(evidence, "**", "manifest.json"), recursive=True), 60,
                    "the evidence bundle")
    # Its ReplicaSet releases it (traffic_and_owner: the owner's labels go) and makes a replacement.
    wait_pod(core, namespace, victim.metadata.name, lambda p: not [r for r in p.metadata.owner_references or [] if r.controller],
             "the pod released by its ReplicaSet", timeout=60)
    seconds = (quarantined_at - started).total_seconds()
    print("crash-looping Deployment created -> pod quarantined: %.0f s (bound %d s); evidence %s"
          % (seconds, BOUND_SECONDS, bundles[0]))
    assert seconds <= BOUND_SECONDS

    # Several crash cycles later (the replacements crash-loop too): still exactly one quarantined pod.
    time.sleep(20)
    rb.wait_for(lambda r: "refused:" in r.log(), 90, "a replacement refused by max_quarantined_per_owner")
    assert [p.metadata.name for p in _quarantined(core, namespace)] == [victim.metadata.name]
    owned = [p for p in core.list_namespaced_pod(namespace, label_selector="app=web").items
             if any(r.controller for r in p.metadata.owner_references or [])]
    assert len(owned) == 2 and victim.metadata.name not in [p.metadata.name for p in owned]
    assert victim.metadata.name not in endpoint_slice_pods(client.DiscoveryV1Api(api), namespace, "web")
    # What was done is on the pod for `kubectl events`: one quarantine, then the evidence (the
    # quarantine role relabels first); and no replacement carries a Quarantined Event.

    def reasons_once_collected():
        reasons = [e.reason for e in our_events(api, namespace, victim.metadata.name)]
        return reasons if "EvidenceCollected" in reasons else None

    reasons = _poll(reasons_once_collected, 60, "the EvidenceCollected Event")
    assert reasons.count("Quarantined") == 1, reasons
    assert "EvidenceCollected" in reasons[reasons.index("Quarantined") + 1:], reasons
    for pod in owned:
        assert "Quarantined" not in [e.reason for e in our_events(api, namespace, pod.metadata.name)]
    unhealthy = _triage(rb, "unhealthy")
    assert unhealthy and all(e["class"] == "crash_loop" and e["namespace"] == namespace for e in unhealthy)
    assert victim.metadata.name in [e["pod"] for e in unhealthy]
    # Transitions, never status updates: the victim restarted every ~4 s, each restart two status updates.
    restarts = core.read_namespaced_pod(victim.metadata.name, namespace).status.container_statuses[0].restart_count
    mine = [e for e in _triage(rb) if e["uid"] == victim.metadata.uid]
    assert restarts >= 5 and 1 <= len(mine) <= 2, (restarts, mine)


def test_a_healthy_rollout_triggers_nothing(rulebook, kubeconfig, context, core, api, apps, namespace):
    create(api, namespace, deployment_body("web", 2, {"app": "web"}))
    wait_ready_pods(core, namespace, 2, "app=web")
    rb = rulebook("triage.k8s.auto_quarantine", _source_vars(kubeconfig, context, namespace, dry_run=True))
    rb.wait_for_log("triage.k8s.pod_health: watching", timeout=90)
    # A rollout: new ReplicaSet, pods created, started, Ready; old ones deleted.
    apps.patch_namespaced_deployment("web", namespace, {"spec": {"replicas": 3, "template": {
        "metadata": {"annotations": {"rollout": "2"}}}}})
    wait_list(apps.list_namespaced_replica_set, lambda rss: len(rss) == 2 and all(
        (rs.status.ready_replicas or 0) == (rs.spec.replicas or 0) for rs in rss), timeout=90,
        what="the rollout done", namespace=namespace)
    wait_ready_pods(core, namespace, 3, "app=web")
    time.sleep(6)  # three settle periods
    assert _triage(rb) == []
    assert "PLAY [" not in rb.log()
    # The source was live all along: a crash-looping pod now is the one event (dry run: nothing changes).
    create(api, namespace, sim_pod_body("canary", "crashloop"))
    events = rb.wait_for(_triage, 60, "the canary's crash loop")
    assert [(e["pod"], e["transition"], e["class"], e["owner"]) for e in events] == [("canary", "unhealthy", "crash_loop", None)]
    # Its job ran the guard only (a bare pod without Service is refused; anything else would be a dry run).
    rb.wait_for(lambda r: "refused: " in r.log() or "dry run: " in r.log(), 90, "the canary's job")
    assert _quarantined(core, namespace) == []


def test_the_source_resumes_after_an_api_server_restart_and_misses_no_transition(rulebook, fault, fault_namespace,
                                                                                 tmp_path):
    """A pod reported before the API server dies is not reported again; a pod that starts crash-looping
    while the API server is away (KWOK's status update lands once it is back, before the source has
    reconnected) is reported once."""
    core = client.CoreV1Api(fault.api)
    rules = tmp_path / "watch_only.yml"
    rules.write_text(WATCH_ONLY)
    create(fault.api, fault_namespace, deployment_body("before", 1, {"app": "before"},
                                                       pod_annotations={SIM + "behavior": "crashloop"}))
    create(fault.api, fault_namespace, deployment_body("during", 1, {"app": "during"}))
    wait_ready_pods(core, fault_namespace, 1, "app=during")
    rb = rulebook(rules, _source_vars(fault.kubeconfig, fault.context, fault_namespace))
    rb.wait_for(lambda r: [e for e in _triage(r, "unhealthy") if e["pod"].startswith("before-")], 90,
                "the crash loop of 'before' reported")
    # From 3 restarts on, crashloop_info's class is crash_loop while it runs too (restart_threshold): no
    # recovered event however long KWOK leaves it running while the API server is away.
    wait_list(core.list_namespaced_pod, lambda ps: ps and restart_count(ps[0]) >= 3, timeout=60,
              what="'before' restarted 3 times", namespace=fault_namespace, label_selector="app=before")
    during = core.list_namespaced_pod(fault_namespace, label_selector="app=during").items[0].metadata.name
    core.patch_namespaced_pod(during, fault_namespace, {"metadata": {"annotations": {SIM + "behavior": "crashloop"}}})
    fault.kill_apiserver()
    rb.wait_for(lambda r: "trying again" in r.log(), 60, "the source noticing the API server is gone")
    time.sleep(3)
    fault.start_apiserver()
    rb.wait_for(lambda r: "resumed after" in r.log(), 120, "the source reconnecting")
    rb.wait_for(lambda r: [e for e in _triage(r, "unhealthy") if e["pod"] == during], 60,
                "the crash loop that began while the API server was away")
    time.sleep(4)
    seen = [(e["pod"], e["transition"], e["class"]) for e in _triage(rb)]
    pods = [pod for pod, transition, klass in seen]
    assert sorted(pods) == sorted(set(pods)), "a transition reported twice: %s" % seen
    assert len([p for p in pods if p.startswith("before-")]) == 1 and pods.count(during) == 1, seen
    assert set(t for p, t, k in seen) == set(["unhealthy"]) and set(k for p, t, k in seen) == set(["crash_loop"]), seen


def test_the_safety_switches_refuse_with_rc_0_and_change_nothing(ansible, core, api, namespace, tmp_path):
    """playbooks/eda_quarantine.yml, as the rulebooks run it: dry run, allow-list and hourly budget each stop
    before any evidence or change, with rc 0 and a line saying why."""
    create(api, namespace, deployment_body("web", 1, {"app": "web"}, pod_annotations={SIM + "behavior": "crashloop"}))
    pod = wait_list(core.list_namespaced_pod, lambda ps: ps and restart_count(ps[0]) >= 1, timeout=60,
                    what="a crash-looping pod", namespace=namespace, label_selector="app=web")[0].metadata.name
    base = {"pod": pod, "namespace": namespace, "kubeconfig": ansible.kubeconfig, "context": ansible.context,
            "quarantine_evidence_dest": str(tmp_path / "evidence"), "max_quarantines_per_hour": 1000}
    for extra, said in (({"dry_run": True}, "dry run: would collect evidence and quarantine"),
                        ({"allowed_namespaces": ["elsewhere"]}, "refused: namespace %s is not in allowed_namespaces" % namespace),
                        ({"max_quarantines_per_hour": 0}, "in the last hour, max_quarantines_per_hour is 0")):
        proc = ansible.playbook("triage.k8s.eda_quarantine", extra_vars=dict(base, **extra))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert said in proc.stdout, proc.stdout
    assert _quarantined(core, namespace) == [] and not os.path.exists(str(tmp_path / "evidence"))
