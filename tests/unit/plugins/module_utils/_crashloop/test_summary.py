# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _crashloop/summary.py (fleet summary, rollout verdict). The event summaries are in test_events.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.classify import classify_pod
from ansible_collections.triage.k8s.plugins.module_utils._crashloop.explain import CLASSES
from ansible_collections.triage.k8s.plugins.module_utils._crashloop.summary import is_crashlooping, rollout_verdict, summarize
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339

NOW = datetime(2026, 1, 2, 12, 0, 0, tzinfo=timezone.utc)


def ago(seconds):
    return format_rfc3339(NOW - timedelta(seconds=seconds))


def classified(name, klass, namespace="shop", owner=("ReplicaSet", "web-1a"), ready=False, ready_since=None, restarts=0, uid=None,
               containers=(), terminating=False):
    return {"namespace": namespace, "name": name, "uid": uid or "uid-" + name, "class": klass, "explanation": "why " + name,
            "owner": {"kind": owner[0], "name": owner[1]} if owner else None, "ready": ready, "ready_since": ready_since,
            "restarts": restarts, "containers": list(containers), "terminating": terminating}


def container(klass, kind="regular", restarts=0, reason=None):
    return {"class": klass, "kind": kind, "restart_count": restarts, "state": {"reason": reason}}


def test_summarize_counts_and_unhealthy_lines():
    pods = [
        classified("a", "healthy", ready=True), classified("b", "crash_loop", containers=[container("crash_loop", restarts=5)]),
        classified("c", "image_pull", namespace="dev"), classified("d", "starting", owner=None), classified("e", "oom_killed"),
        classified("f", "completed", owner=("Job", "nightly")),
    ]
    out = summarize(pods)
    assert out["total"] == 6 and set(out["by_class"]) == set(CLASSES) and sum(out["by_class"].values()) == 6
    assert out["by_class"]["crash_loop"] == 1 and out["by_class"]["probe_failure"] == 0
    assert out["by_namespace"] == {"shop": {"healthy": 1, "crash_loop": 1, "starting": 1, "oom_killed": 1, "completed": 1}, "dev": {"image_pull": 1}}
    assert out["by_owner"]["shop/ReplicaSet/web-1a"] == {"healthy": 1, "crash_loop": 1, "oom_killed": 1}
    assert out["by_owner"]["shop/(none)"] == {"starting": 1} and out["by_owner"]["dev/ReplicaSet/web-1a"] == {"image_pull": 1}
    assert out["unhealthy"] == ["shop/e: oom_killed \u2014 why e", "shop/b: crash_loop \u2014 why b", "dev/c: image_pull \u2014 why c"]
    assert out["unhealthy_total"] == 3 and out["crashloop_detected"] is True
    short = summarize(pods, max_unhealthy=1)
    assert short["unhealthy"] == ["shop/e: oom_killed \u2014 why e", "... and 2 more"]
    empty = summarize([])
    assert empty["total"] == 0 and empty["unhealthy"] == [] and empty["crashloop_detected"] is False


@pytest.mark.parametrize("pod,expected", [
    (classified("a", "healthy"), False),
    (classified("a", "init_failure", containers=[container("crash_loop", kind="init", restarts=4)]), True),
    (classified("a", "oom_killed", containers=[container("oom_killed", restarts=2)]), True),
    (classified("a", "oom_killed", containers=[container("oom_killed", reason="CrashLoopBackOff")]), True),
    (classified("a", "oom_killed", containers=[container("oom_killed")]), False),  # a Job pod OOMKilled once is not a loop
    (classified("a", "healthy", containers=[container("crash_loop", kind="ephemeral")]), False),
    (classified("a", "crash_loop"), True),
])
def test_is_crashlooping(pod, expected):
    assert is_crashlooping(pod) is expected


def test_summarize_real_classified_pods():
    crashing = {"metadata": {"namespace": "shop", "name": "web-1", "uid": "u-1", "creationTimestamp": ago(600)},
                "status": {"phase": "Running", "containerStatuses": [{"name": "app", "restartCount": 4, "state": {"waiting": {
                    "reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"reason": "Error", "exitCode": 1, "finishedAt": ago(20)}}}]}}
    out = summarize([classify_pod(crashing, None, NOW)])
    assert out["crashloop_detected"] and out["unhealthy"][0].startswith("shop/web-1: crash_loop \u2014 container app is crash-looping")


def test_rollout_failing_fast():
    pods = [classified("a", "healthy", ready=True, ready_since=ago(600)), classified("b", "crash_loop"), classified("c", "unschedulable")]
    out = rollout_verdict(pods, 30, NOW)
    assert out["verdict"] == "failing" and [p["name"] for p in out["failing"]] == ["b", "c"]
    assert "2 pod(s) failing" in out["message"] and "shop/b: crash_loop" in out["message"]
    for klass in ("oom_killed", "image_pull", "config_error", "init_failure"):
        assert rollout_verdict([classified("x", klass)], 30, NOW)["verdict"] == "failing"
    for klass in ("probe_failure", "not_ready", "starting", "evicted", "error"):
        assert rollout_verdict([classified("x", klass)], 30, NOW)["verdict"] == "progressing"


def test_rollout_settle_tracking():
    pods = [classified("a", "healthy", ready=True, ready_since=ago(10)), classified("b", "healthy", ready=True, ready_since=ago(100))]
    first = rollout_verdict(pods, 60, NOW)
    assert first["verdict"] == "progressing" and first["settle_remaining"] == 50 and len(first["waiting"]) == 1
    assert first["ready_since"]["uid-a"] == {"since": NOW - timedelta(seconds=10), "restarts": 0}
    later = NOW + timedelta(seconds=50)
    second = rollout_verdict(pods, 60, later, first["ready_since"])
    assert second["verdict"] == "stable" and second["settle_remaining"] == 0 and second["waiting"] == []
    restarted = [dict(pods[0], restarts=1), pods[1]]  # a new restart, same Ready timestamp: settle starts again from now
    third = rollout_verdict(restarted, 60, later, second["ready_since"])
    assert third["verdict"] == "progressing" and third["ready_since"]["uid-a"]["since"] == later and third["settle_remaining"] == 60
    flapped = [dict(pods[0], ready_since=format_rfc3339(later - timedelta(seconds=5))), pods[1]]  # went unready and back in between
    fourth = rollout_verdict(flapped, 60, later, second["ready_since"])
    assert fourth["ready_since"]["uid-a"]["since"] == later - timedelta(seconds=5) and fourth["verdict"] == "progressing"


def test_rollout_progressing_cases():
    assert rollout_verdict([], 0, NOW)["verdict"] == "progressing"
    not_ready = rollout_verdict([classified("a", "starting"), classified("b", "healthy", ready=True)], 0, NOW)
    assert not_ready["verdict"] == "progressing" and not_ready["settle_remaining"] is None and "uid-a" not in not_ready["ready_since"]
    assert not_ready["waiting"] == ["shop/a: starting \u2014 why a"]
    one_of_two = rollout_verdict([classified("a", "healthy", ready=True)], 0, NOW, expected=2)
    assert one_of_two["verdict"] == "progressing" and "1 pod(s) Ready of 2 expected" in one_of_two["message"]
    replaced = [classified("old", "crash_loop", terminating=True), classified("new", "healthy", ready=True, ready_since=ago(5))]
    assert rollout_verdict(replaced, 0, NOW, expected=1)["verdict"] == "stable"  # the terminating pod is being replaced
    future = rollout_verdict([classified("a", "healthy", ready=True, ready_since=ago(-30))], 10, NOW)  # node clock ahead: capped at now
    assert future["ready_since"]["uid-a"]["since"] == NOW and future["settle_remaining"] == 10
    no_time = rollout_verdict([classified("a", "healthy", ready=True)], 0, NOW)
    assert no_time["verdict"] == "stable" and no_time["ready_since"]["uid-a"]["since"] == NOW


@pytest.mark.parametrize("settle,now", [(-1, NOW), ("30s", NOW), (30, None), (30, "soon")])
def test_rollout_rejects_bad_input(settle, now):
    with pytest.raises(ValueError):
        rollout_verdict([], settle, now)


def test_a_workload_scaled_to_zero_is_stable_once_no_pod_is_left():
    now = "2026-01-02T12:00:00Z"
    assert rollout_verdict([], 30, now, expected=0)["verdict"] == "stable"
    leaving = [{"namespace": "s", "name": "p", "uid": "u", "class": "healthy", "ready": True, "terminating": True}]
    assert rollout_verdict(leaving, 30, now, expected=0)["verdict"] == "stable"
    assert rollout_verdict([], 30, now, expected=None)["verdict"] == "progressing"
    assert rollout_verdict([], 30, now, expected=2)["verdict"] == "progressing"
