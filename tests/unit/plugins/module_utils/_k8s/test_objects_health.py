# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _k8s/objects.py unhealthy_reason and healthy_ready: the pod's own diagnosis the
quarantine guards read (they may not import _crashloop), checked against crashloop_info's
classify_pod on the same pods so the two never drift apart."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.classify import classify_pod
from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import healthy_ready, unhealthy_reason

NOW = "2026-11-22T03:04:05Z"


def pod(state, restarts=0, last=None, created="2026-11-22T01:00:00Z", ready=True, field="containerStatuses"):
    status = {"name": "web", "ready": ready, "restartCount": restarts, "state": state, "image": "nginx:1.27"}
    if last:
        status["lastState"] = {"terminated": last}
    return {"metadata": {"name": "web-1", "namespace": "shop", "uid": "u1", "creationTimestamp": created},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}], "nodeName": "node-a"},
            "status": {"phase": "Running", "startTime": created,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}], field: [status]}}


def crash(reason="Error", started="2026-11-22T03:03:50Z", finished="2026-11-22T03:03:55Z"):
    return {"exitCode": 137 if reason == "OOMKilled" else 1, "reason": reason, "startedAt": started, "finishedAt": finished}


RUNNING = {"running": {"startedAt": "2026-11-22T03:04:00Z"}}
CASES = {
    "healthy, never restarted": (pod({"running": {"startedAt": "2026-11-22T01:00:01Z"}}), None),
    "Ready between crashes, 5 restarts": (pod(RUNNING, 5, crash()), "restarted 5 time(s)"),
    "Ready between crashes, 3 restarts": (pod(RUNNING, 3, crash()), "restarted 3 time(s)"),
    "restarted twice, young pod": (pod(RUNNING, 2, crash(), created="2026-11-22T03:00:00Z"), None),
    "back-off now": (pod({"waiting": {"reason": "CrashLoopBackOff"}}, 1, crash(), ready=False), "CrashLoopBackOff"),
    "OOM-killed once, in the window": (pod(RUNNING, 1, crash("OOMKilled", started="2026-11-22T02:00:00Z")),
                                       "OOM-killed within"),
    "OOM-killed long ago": (pod({"running": {"startedAt": "2026-11-22T02:00:01Z"}}, 1,
                                crash("OOMKilled", "2026-11-22T01:00:00Z", "2026-11-22T02:00:00Z")), None),
    "OOM-killed now": (pod({"terminated": crash("OOMKilled")}, 0, ready=False), "was OOM-killed"),
    "one recent crash of a long-lived container": (pod(RUNNING, 7, crash(started="2026-11-22T01:00:00Z")), None),
    "running since before the window": (pod({"running": {"startedAt": "2026-11-22T02:00:00Z"}}, 9,
                                            crash(started="2026-11-22T01:50:00Z", finished="2026-11-22T01:59:59Z")),
                                        None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_unhealthy_reason(case):
    subject, expected = CASES[case]
    reason = unhealthy_reason(subject, NOW)
    if expected is None:
        assert reason is None
    else:
        assert reason and expected in reason and "container web" in reason
    assert healthy_ready(subject, NOW) is (expected is None and subject["status"]["conditions"][0]["status"] == "True")


@pytest.mark.parametrize("case", sorted(CASES))
def test_unhealthy_reason_agrees_with_crashloop_info(case):
    subject, expected = CASES[case]
    unhealthy = classify_pod(subject, None, NOW)["class"] in ("crash_loop", "oom_killed")
    assert unhealthy is (unhealthy_reason(subject, NOW) is not None)


def test_sidecar_init_containers_count_and_odd_shapes_never_raise():
    assert "restarted 4" in unhealthy_reason(pod(RUNNING, 4, crash(), field="initContainerStatuses"), NOW)
    for odd in ({}, {"status": None}, {"status": {"containerStatuses": "x"}}, {"status": {"containerStatuses": [None, 3]}},
                {"status": {"containerStatuses": [{"lastState": {"terminated": {"finishedAt": "nope"}}, "restartCount": "9"}]}}):
        assert unhealthy_reason(odd, NOW) is None
    with pytest.raises(ValueError):
        unhealthy_reason({}, "not a time")
