# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _crashloop/classify.py: container statuses and pods as tables (pure logic, no cluster)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.classify import (
    classify_pod, diagnose_container, normalize_policy, restarts_in_window,
)
from ansible_collections.triage.k8s.plugins.module_utils._crashloop.events import summarize_events
from ansible_collections.triage.k8s.plugins.module_utils._crashloop.explain import CLASSES
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339

NOW = datetime(2026, 1, 2, 12, 0, 0, tzinfo=timezone.utc)


def ago(seconds):
    return format_rfc3339(NOW - timedelta(seconds=seconds))


def term(reason, code, finished=60, started=None, message=None):
    body = {"reason": reason, "exitCode": code, "finishedAt": ago(finished), "startedAt": ago(finished + 5 if started is None else started)}
    return dict(body, message=message) if message else body


def cs(name="app", waiting=None, running=None, terminated=None, last=None, restarts=0, ready=False):
    """A containerStatuses entry: waiting=(reason, message), running=seconds since start, terminated/last=term(...)."""
    state = {}
    if waiting is not None:
        state["waiting"] = {"reason": waiting[0], "message": waiting[1]} if waiting[1] else {"reason": waiting[0]}
    if running is not None:
        state["running"] = {"startedAt": ago(running)}
    if terminated is not None:
        state["terminated"] = terminated
    status = {"name": name, "image": "registry.example/%s:1" % name, "ready": ready, "restartCount": restarts, "state": state}
    if last is not None:
        status["lastState"] = {"terminated": last}
    return status


def make_pod(containers=(), init=(), ephemeral=(), phase="Running", ready=None, created=3600, conditions=(), sidecars=(), **status):
    pod_status = dict(status, phase=phase, startTime=ago(created), containerStatuses=list(containers))
    if init:
        pod_status["initContainerStatuses"] = list(init)
    if ephemeral:
        pod_status["ephemeralContainerStatuses"] = list(ephemeral)
    scheduled = [] if any(c["type"] == "PodScheduled" for c in conditions) else [{"type": "PodScheduled", "status": "True"}]
    conds = scheduled + list(conditions)
    if ready is not None:
        conds.append({"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ago(100)})
    pod_status["conditions"] = conds
    return {
        "metadata": {"namespace": "shop", "name": "web-1", "uid": "u-1", "creationTimestamp": ago(created),
                     "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d9c", "controller": True}, {"kind": "Other", "name": "x"}]},
        "spec": {"nodeName": "node-a", "initContainers": [{"name": name, "restartPolicy": "Always"} for name in sidecars]},
        "status": pod_status,
    }


def warning(reason, message, count=1, container=None, uid="u-1", name="web-1", seconds=30):
    obj = {"kind": "Pod", "namespace": "shop", "name": name, "uid": uid}
    if container:
        obj["fieldPath"] = "spec.containers{%s}" % container
    return {"type": "Warning", "reason": reason, "message": message, "count": count, "involvedObject": obj, "lastTimestamp": ago(seconds)}


def diagnose(status, kind="regular", created=3600, events=None, policy=None):
    return diagnose_container(status, kind, NOW, policy, pod=make_pod(created=created), events=events)


CONTAINER_TABLE = [
    # (case, status, kind, pod created seconds ago, expected class)
    ("backoff after exit 1", cs(waiting=("CrashLoopBackOff", "back-off 40s"), last=term("Error", 1), restarts=3), "regular", 3600, "crash_loop"),
    ("backoff after one crash", cs(waiting=("CrashLoopBackOff", None), last=term("Error", 1), restarts=1), "regular", 3600, "crash_loop"),
    ("backoff after OOM", cs(waiting=("CrashLoopBackOff", None), last=term("OOMKilled", 137), restarts=4), "regular", 3600, "oom_killed"),
    ("terminated OOMKilled now", cs(terminated=term("OOMKilled", 137, 2)), "regular", 3600, "oom_killed"),
    ("recent OOM, running again", cs(running=20, ready=True, last=term("OOMKilled", 137, 25), restarts=1), "regular", 3600, "oom_killed"),
    ("OOM two days ago, running fine", cs(running=86400, ready=True, last=term("OOMKilled", 137, 172800), restarts=1), "regular", 400000, "healthy"),
    ("exit 137 without OOMKilled", cs(waiting=("CrashLoopBackOff", None), last=term("Error", 137), restarts=5), "regular", 3600, "crash_loop"),
    ("ErrImagePull", cs(waiting=("ErrImagePull", "manifest unknown")), "regular", 10, "image_pull"),
    ("ImagePullBackOff", cs(waiting=("ImagePullBackOff", 'Back-off pulling image "x:nope"')), "regular", 3600, "image_pull"),
    ("InvalidImageName", cs(waiting=("InvalidImageName", "bad ref")), "regular", 3600, "image_pull"),
    ("ErrImageNeverPull", cs(waiting=("ErrImageNeverPull", None)), "regular", 3600, "image_pull"),
    ("RegistryUnavailable", cs(waiting=("RegistryUnavailable", None)), "regular", 3600, "image_pull"),
    ("CreateContainerConfigError", cs(waiting=("CreateContainerConfigError", 'configmap "app" not found')), "regular", 5, "config_error"),
    ("CreateContainerError", cs(waiting=("CreateContainerError", "mount failed")), "regular", 3600, "config_error"),
    ("RunContainerError", cs(waiting=("RunContainerError", "exec failed")), "regular", 3600, "config_error"),
    ("StartError then backoff", cs(waiting=("CrashLoopBackOff", None), last=term("StartError", 128, message="exec: not found"), restarts=2),
     "regular", 3600, "config_error"),
    ("flapping: 5 restarts in window, running", cs(running=30, ready=True, last=term("Error", 1, 35, 90), restarts=5), "regular", 3600, "crash_loop"),
    ("restarts exactly at threshold", cs(running=30, ready=True, last=term("Error", 1, 35, 90), restarts=3), "regular", 3600, "crash_loop"),
    ("one below threshold", cs(running=30, ready=True, last=term("Error", 1, 35, 90), restarts=2), "regular", 3600, "healthy"),
    ("last crash just outside window", cs(running=601, ready=True, last=term("Error", 1, 601, 700), restarts=9), "regular", 3600, "healthy"),
    ("long run then one crash", cs(running=30, ready=True, last=term("Error", 1, 35, 5000), restarts=9), "regular", 9000, "healthy"),
    ("terminated exit 0", cs(terminated=term("Completed", 0)), "regular", 3600, "completed"),
    ("terminated exit 1", cs(terminated=term("Error", 1)), "regular", 3600, "error"),
    ("ContainerCreating in grace", cs(waiting=("ContainerCreating", None)), "regular", 30, "starting"),
    ("ContainerCreating exactly at grace", cs(waiting=("ContainerCreating", None)), "regular", 120, "starting"),
    ("ContainerCreating past grace", cs(waiting=("ContainerCreating", None)), "regular", 121, "not_ready"),
    ("running, not ready, in grace", cs(running=30), "regular", 3600, "starting"),
    ("running, not ready, past grace", cs(running=300), "regular", 3600, "not_ready"),
    ("running and ready", cs(running=300, ready=True), "regular", 3600, "healthy"),
    ("no state at all", {"name": "app"}, "regular", 30, "starting"),
    ("init running in grace", cs("init", running=30), "init", 3600, "starting"),
    ("init running too long", cs("init", running=900), "init", 3600, "not_ready"),
    ("init completed", cs("init", terminated=term("Completed", 0), ready=True), "init", 3600, "completed"),
    ("init backoff", cs("init", waiting=("CrashLoopBackOff", None), last=term("Error", 1), restarts=4), "init", 3600, "crash_loop"),
    ("ephemeral running (never ready)", cs("debug", running=30), "ephemeral", 3600, "healthy"),
    ("ephemeral exited 1", cs("debug", terminated=term("Error", 1)), "ephemeral", 3600, "error"),
]


@pytest.mark.parametrize("case,status,kind,created,expected", CONTAINER_TABLE, ids=[row[0] for row in CONTAINER_TABLE])
def test_container_table(case, status, kind, created, expected):
    result = diagnose(status, kind, created)
    assert result["class"] == expected, result["explanation"]
    assert result["kind"] == kind and result["explanation"] and result["next_step"]
    assert "?" not in result["next_step"]


def test_container_shape_and_texts():
    result = diagnose(cs(waiting=("CrashLoopBackOff", "back-off"), last=term("Error", 139, 30, message="segfault at 0x0"), restarts=6))
    assert result["state"] == {"status": "waiting", "reason": "CrashLoopBackOff", "message": "back-off", "started_at": None,
                               "finished_at": None, "exit_code": None, "signal": None}
    assert result["last_terminated"]["exit_code"] == 139 and result["last_terminated"]["finished_at"] == ago(30)
    assert "status" not in result["last_terminated"] and result["restart_count"] == 6 and result["ready"] is False
    assert "6 restart(s)" in result["explanation"] and "SIGSEGV" in result["explanation"] and "segfault at 0x0" in result["explanation"]
    assert "kubectl logs -n shop web-1 -c app --previous" in result["next_step"]
    oom = diagnose(cs(terminated=term("OOMKilled", 137, 2)))
    assert "memory limit" in oom["next_step"] and "--previous" in oom["next_step"]
    pull = diagnose(cs(waiting=("ImagePullBackOff", 'Back-off pulling image "x:nope"')))
    assert "registry.example/app:1" in pull["explanation"] and "imagePullSecrets" in pull["next_step"]
    running = diagnose(cs(running=30, ready=True))
    assert running["state"]["status"] == "running" and running["state"]["started_at"] == ago(30) and running["last_terminated"] is None


def test_container_without_pod_context():
    result = diagnose_container(cs(waiting=("CrashLoopBackOff", None), restarts=2), "regular", NOW)
    assert result["class"] == "crash_loop" and "-n NAMESPACE POD -c app" in result["next_step"]
    assert diagnose_container({}, "regular", NOW)["class"] == "not_ready"  # no start time: cannot claim the grace


@pytest.mark.parametrize("kwargs,expected", [
    (dict(restart_count=0, last_finished_at=NOW), 0),
    (dict(restart_count=5, last_finished_at=None), 0),
    (dict(restart_count=5, last_finished_at=NOW - timedelta(seconds=600)), 5),  # window start is inclusive
    (dict(restart_count=5, last_finished_at=NOW - timedelta(seconds=601)), 0),
    (dict(restart_count=5, last_finished_at=NOW + timedelta(seconds=30)), 5),  # clock skew counts as now
    (dict(restart_count=5, last_finished_at=NOW, running_since=NOW - timedelta(seconds=700)), 0),
    (dict(restart_count=5, last_finished_at=NOW, last_started_at=NOW - timedelta(seconds=700)), 1),
    (dict(restart_count=5, last_finished_at=NOW, last_started_at=NOW - timedelta(seconds=700), created_at=NOW - timedelta(seconds=600)), 5),
    (dict(restart_count=5, last_finished_at=NOW, created_at=NOW - timedelta(seconds=601)), 5),
])
def test_restarts_in_window(kwargs, expected):
    assert restarts_in_window(now=NOW, window_seconds=600, **kwargs) == expected


def test_policy_changes_threshold_window_and_grace():
    flapping = cs(running=30, ready=True, last=term("Error", 1, 35, 90), restarts=3)
    assert diagnose(flapping, policy={"restart_threshold": 4})["class"] == "healthy"
    assert diagnose(cs(running=30, ready=True, last=term("Error", 1, 100, 150), restarts=3), policy={"window_seconds": 60})["class"] == "healthy"
    assert diagnose(cs(waiting=("ContainerCreating", None)), created=300, policy={"grace_seconds": 600})["class"] == "starting"
    assert normalize_policy(None) == {"restart_threshold": 3, "window_seconds": 600, "grace_seconds": 120}
    assert normalize_policy({"grace_seconds": 0, "window_seconds": None})["grace_seconds"] == 0


@pytest.mark.parametrize("policy", [{"restart_threshold": 0}, {"window_seconds": "10m"}, {"grace_seconds": -1}, {"grace": 5}, {"restart_threshold": True}, [1]])
def test_policy_rejects_bad_values(policy):
    with pytest.raises(ValueError):
        normalize_policy(policy)


def test_bad_kind_and_now():
    with pytest.raises(ValueError, match="kind"):
        diagnose_container({}, "sidecar", NOW)
    with pytest.raises(ValueError, match="now"):
        classify_pod({}, None, "yesterday")
    assert classify_pod({}, None, "2026-01-02T12:00:00Z")["class"] in CLASSES


def classify(pod, events=None, policy=None):
    return classify_pod(pod, summarize_events(events or []), NOW, policy)


POD_TABLE = [
    # (case, pod, events, expected class, expected culprit)
    ("healthy", make_pod([cs(running=600, ready=True)], ready=True), [], "healthy", None),
    ("ready without conditions", dict(make_pod([cs(running=600, ready=True)]), status={"phase": "Running",
                                      "containerStatuses": [cs(running=600, ready=True)]}), [], "healthy", None),
    ("crashing sidecar container", make_pod([cs(running=600, ready=True), cs("proxy", waiting=("CrashLoopBackOff", None), last=term("Error", 1),
                                             restarts=7)], ready=False), [], "crash_loop", "proxy"),
    ("image_pull beside crash_loop", make_pod([cs("a", waiting=("ImagePullBackOff", None)), cs("b", waiting=("CrashLoopBackOff", None),
                                               last=term("Error", 1), restarts=3)]), [], "crash_loop", "b"),
    ("config_error beside image_pull", make_pod([cs("a", waiting=("CreateContainerConfigError", "x")), cs("b", waiting=("ErrImagePull", None))]),
     [], "image_pull", "b"),
    ("oom beside crash_loop", make_pod([cs("a", waiting=("CrashLoopBackOff", None), last=term("Error", 1), restarts=3),
                                        cs("b", waiting=("CrashLoopBackOff", None), last=term("OOMKilled", 137), restarts=3)]), [], "oom_killed", "b"),
    ("init crash loop", make_pod([cs(waiting=("PodInitializing", None))], phase="Pending",
                                 init=[cs("migrate", waiting=("CrashLoopBackOff", None), last=term("Error", 2), restarts=4)]),
     [], "init_failure", "migrate"),
    ("init exit 1, restartPolicy Never", make_pod([cs(terminated=term("Error", 1, 100))], init=[cs("migrate", terminated=term("Error", 1))],
                                                  phase="Failed"), [], "init_failure", "migrate"),
    ("init image pull", make_pod([cs(waiting=("PodInitializing", None))], init=[cs("migrate", waiting=("ErrImagePull", None))], phase="Pending"),
     [], "image_pull", "migrate"),
    ("native sidecar crash loop", make_pod([cs(running=600, ready=True)], init=[cs("mesh", waiting=("CrashLoopBackOff", None), last=term("Error", 1),
                                           restarts=3)], sidecars=["mesh"]), [], "crash_loop", "mesh"),
    ("init done, app healthy", make_pod([cs(running=600, ready=True)], init=[cs("migrate", terminated=term("Completed", 0), ready=True)],
                                        ready=True), [], "healthy", None),
    ("ephemeral failure ignored", make_pod([cs(running=600, ready=True)], ephemeral=[cs("debug", terminated=term("Error", 1))], ready=True),
     [], "healthy", None),
    ("unschedulable", make_pod(phase="Pending", conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                               "message": "0/3 nodes are available: 3 Insufficient memory."}]), [], "unschedulable", None),
    ("evicted", make_pod([cs(terminated=term("ContainerStatusUnknown", 137))], phase="Failed", reason="Evicted",
                         message="The node was low on resource: memory."), [], "evicted", None),
    ("completed", make_pod([cs(terminated=term("Completed", 0))], phase="Succeeded"), [], "completed", None),
    ("error exit 2", make_pod([cs(terminated=term("Error", 2))], phase="Failed"), [], "error", "app"),
    ("failed by deadline", make_pod(phase="Failed", reason="DeadlineExceeded", message="Job was active longer than specified deadline"),
     [], "error", None),
    ("pending, just created", make_pod(phase="Pending", created=20), [], "starting", None),
    ("readiness gate past grace", make_pod([cs(running=600, ready=True)], ready=False), [], "not_ready", None),
    ("readiness gate in grace", make_pod([cs(running=60, ready=True)], ready=False, created=60), [], "starting", None),
    ("phase Unknown", make_pod(phase="Unknown"), [], "not_ready", None),
    ("probe failure", make_pod([cs(running=600)], ready=False), [warning("Unhealthy", "Readiness probe failed: HTTP 503", 40, "app")],
     "probe_failure", "app"),
    ("probe failure, pod-level event", make_pod([cs(running=600)], ready=False), [warning("Unhealthy", "Readiness probe failed")],
     "probe_failure", "app"),
    ("probe events of another container", make_pod([cs(running=600)], ready=False), [warning("Unhealthy", "x", container="other")],
     "not_ready", "app"),
    ("probe failing within grace", make_pod([cs(running=30)], ready=False), [warning("Unhealthy", "Startup probe failed", container="app")],
     "starting", "app"),
    ("missing ConfigMap volume", make_pod([cs(waiting=("ContainerCreating", None))], phase="Pending", created=30),
     [warning("FailedMount", 'MountVolume.SetUp failed for volume "cfg" : configmap "app-config" not found')], "config_error", "app"),
    ("PVC mount stuck past grace", make_pod([cs(waiting=("ContainerCreating", None))], phase="Pending", created=900),
     [warning("FailedMount", "Unable to attach or mount volumes: timed out")], "not_ready", "app"),
]


@pytest.mark.parametrize("case,pod,events,expected,culprit", POD_TABLE, ids=[row[0] for row in POD_TABLE])
def test_pod_table(case, pod, events, expected, culprit):
    result = classify(pod, events)
    assert (result["class"], result["culprit"]) == (expected, culprit), result["explanation"]
    assert result["explanation"] and result["next_step"] and "?" not in result["next_step"]


def test_pod_texts_carry_the_cause():
    unschedulable = classify(POD_TABLE[12][1])
    assert "Insufficient memory" in unschedulable["explanation"] and "taints" in unschedulable["next_step"]
    evicted = classify(POD_TABLE[13][1])
    assert "low on resource: memory" in evicted["explanation"] and "kubectl describe node node-a" in evicted["next_step"]
    init = classify(POD_TABLE[6][1])
    assert init["explanation"].startswith("init container migrate fails") and "-c migrate --previous" in init["next_step"]
    assert [c["class"] for c in init["containers"]] == ["crash_loop", "not_ready"]  # per-container classes kept
    probe = classify(*POD_TABLE[21][1:3])
    assert "HTTP 503" in probe["explanation"] and "startupProbe" in probe["next_step"]
    deadline = classify(POD_TABLE[16][1])
    assert "DeadlineExceeded" in deadline["explanation"] and "--all-containers" in deadline["next_step"]
    mount = classify(*POD_TABLE[26][1:3])
    assert "timed out" in mount["explanation"]


def test_unschedulable_message_from_events_when_condition_has_none():
    pod = make_pod(phase="Pending", conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}])
    result = classify(pod, [warning("FailedScheduling", "0/3 nodes are available: 3 node(s) had untolerated taint")])
    assert result["class"] == "unschedulable" and "untolerated taint" in result["explanation"]


def test_pod_output_shape():
    pod = make_pod([cs(running=600, ready=True, restarts=1, last=term("Error", 1, 700, 800)), cs("b", running=600, ready=True, restarts=2)],
                   init=[cs("i", terminated=term("Completed", 0), restarts=1)], ephemeral=[cs("debug", running=5, restarts=0)], ready=True)
    pod["metadata"]["deletionTimestamp"] = ago(1)
    result = classify_pod(pod, [warning("BackOff", "Back-off restarting", 3), warning("BackOff", "other pod", uid="u-2")], NOW)
    assert result["class"] == "healthy" and result["ready"] is True and result["ready_since"] == ago(100)
    assert (result["namespace"], result["name"], result["uid"], result["node"], result["phase"]) == ("shop", "web-1", "u-1", "node-a", "Running")
    assert result["owner"] == {"kind": "ReplicaSet", "name": "web-5d9c"} and result["terminating"] is True
    assert result["restarts"] == 4 and result["age_seconds"] == 3600
    assert [(c["name"], c["kind"]) for c in result["containers"]] == [("i", "init"), ("app", "regular"), ("b", "regular"), ("debug", "ephemeral")]
    assert result["events"]["total"] == 3 and result["events"]["reasons"]["BackOff"]["last_message"] == "Back-off restarting"
    assert classify_pod(pod, None, NOW)["events"]["total"] == 0


_JUNK = st.one_of(st.none(), st.integers(-5, 10 ** 6), st.text(max_size=4), st.booleans(), st.just([]), st.just({}))
_TIME = st.one_of(_JUNK, st.integers(0, 10 ** 6).map(ago), st.just("2026-13-45T99:00:00Z"))
_REASON = st.sampled_from(["CrashLoopBackOff", "OOMKilled", "ErrImagePull", "CreateContainerConfigError", "Error", "Completed",
                           "ContainerCreating", "StartError", "Evicted", "Unschedulable", "Unhealthy", None, 7])
_TERM = st.fixed_dictionaries({}, optional={"reason": _REASON, "exitCode": _JUNK, "signal": _JUNK, "finishedAt": _TIME,
                                            "startedAt": _TIME, "message": _JUNK})
_STATE = st.one_of(_JUNK, st.fixed_dictionaries({}, optional={"waiting": st.one_of(_JUNK, st.fixed_dictionaries(
    {}, optional={"reason": _REASON, "message": _JUNK})), "running": st.one_of(_JUNK, st.fixed_dictionaries({}, optional={
        "startedAt": _TIME})), "terminated": st.one_of(_JUNK, _TERM)}))
_STATUS = st.one_of(_JUNK, st.fixed_dictionaries({}, optional={
    "name": st.one_of(st.sampled_from(["app", "mesh"]), _JUNK), "ready": _JUNK, "restartCount": _JUNK, "image": _JUNK,
    "state": _STATE, "lastState": st.one_of(_JUNK, st.fixed_dictionaries({}, optional={"terminated": st.one_of(_JUNK, _TERM)}))}))
_CONDITION = st.fixed_dictionaries({}, optional={"type": st.sampled_from(["Ready", "PodScheduled", 3]), "status": st.sampled_from(
    ["True", "False", "Unknown", None]), "reason": _REASON, "message": _JUNK, "lastTransitionTime": _TIME})
_POD = st.fixed_dictionaries({}, optional={
    "metadata": st.one_of(_JUNK, st.fixed_dictionaries({}, optional={
        "namespace": _JUNK, "name": _JUNK, "uid": _JUNK, "creationTimestamp": _TIME, "deletionTimestamp": _TIME,
        "ownerReferences": st.one_of(_JUNK, st.lists(st.fixed_dictionaries({}, optional={"kind": _JUNK, "controller": _JUNK}), max_size=2))})),
    "spec": st.one_of(_JUNK, st.fixed_dictionaries({}, optional={"nodeName": _JUNK, "initContainers": st.one_of(_JUNK, st.lists(
        st.fixed_dictionaries({"name": st.just("mesh")}, optional={"restartPolicy": st.sampled_from(["Always", None])}), max_size=1))})),
    "status": st.one_of(_JUNK, st.fixed_dictionaries({}, optional={
        "phase": st.sampled_from(["Pending", "Running", "Succeeded", "Failed", "Unknown", None, 1]), "reason": _REASON, "message": _JUNK,
        "startTime": _TIME, "conditions": st.one_of(_JUNK, st.lists(st.one_of(_CONDITION, _JUNK), max_size=3)),
        "containerStatuses": st.one_of(_JUNK, st.lists(_STATUS, max_size=3)),
        "initContainerStatuses": st.one_of(_JUNK, st.lists(_STATUS, max_size=2)),
        "ephemeralContainerStatuses": st.one_of(_JUNK, st.lists(_STATUS, max_size=1))})),
})
_EVENT = st.fixed_dictionaries({"type": st.sampled_from(["Warning", "Normal", None])}, optional={
    "reason": st.sampled_from(["Unhealthy", "FailedMount", "FailedScheduling", "BackOff", None]), "message": _JUNK, "count": _JUNK,
    "involvedObject": st.one_of(_JUNK, st.fixed_dictionaries({}, optional={"namespace": _JUNK, "name": _JUNK, "uid": _JUNK, "fieldPath": _JUNK})),
    "lastTimestamp": _TIME, "series": st.one_of(_JUNK, st.fixed_dictionaries({}, optional={"count": _JUNK, "lastObservedTime": _TIME}))})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pod=_POD, events=st.lists(_EVENT, max_size=3))
def test_classify_pod_never_raises_and_always_returns_a_class(pod, events):
    result = classify_pod(pod, events, NOW)
    assert result["class"] in CLASSES
    assert all(container["class"] in CLASSES for container in result["containers"])
    assert isinstance(result["explanation"], str) and isinstance(result["next_step"], str)
    assert isinstance(result["restarts"], int) and isinstance(result["ready"], bool)
