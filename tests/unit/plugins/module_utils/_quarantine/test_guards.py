# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _quarantine/guards.py: every refusal of pod_quarantine, from API-shaped dicts
only (run_apply reads them; nothing here talks to a cluster)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._quarantine.guards import (
    healthy_ready_peers,
    last_ready_replica,
    max_per_owner_refusal,
    needs_service_peers,
    owner_refusal,
    pod_guard,
    pod_refusal,
    refusal,
)
from ansible_collections.triage.k8s.tests.unit.plugins.module_utils._contract.pods import NOW, RS_UID, make_pod, owner_ref, quarantined

TAO = "traffic_and_owner"
TO = "traffic_only"


# --- owner_refusal ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["ReplicaSet", "ReplicationController", "DaemonSet", "Job"])
@pytest.mark.parametrize("scope", [TAO, TO])
def test_owner_refusal_allows_replacing_kinds(kind, scope):
    assert owner_refusal(kind, scope) is None


@pytest.mark.parametrize("scope", [TAO, TO])
def test_owner_refusal_allows_bare_pods(scope):
    assert owner_refusal(None, scope) is None


def test_owner_refusal_refuses_statefulset_for_traffic_and_owner():
    refusal = owner_refusal("StatefulSet", TAO)
    assert refusal and "StatefulSet" in refusal and "traffic_only" in refusal


@pytest.mark.parametrize("kind", ["StatefulSet", "Node", "VirtualMachineInstance", "CloneSet", "Rollout"])
def test_owner_refusal_traffic_only_always_allowed(kind):
    assert owner_refusal(kind, TO) is None


@pytest.mark.parametrize("kind", ["Node", "VirtualMachineInstance", "CloneSet", "Rollout", "Deployment"])
def test_owner_refusal_refuses_unknown_kinds(kind):
    refusal = owner_refusal(kind, TAO)
    assert refusal and kind in refusal and "traffic_only" in refusal


def test_owner_refusal_is_not_lifted_by_force():
    assert owner_refusal("StatefulSet", TAO, force=True)


# --- last_ready_replica -----------------------------------------------------------------------

@pytest.mark.parametrize("pod_ready, others, expected", [
    (True, [], True),
    (True, [False, False], True),
    (True, [None], True),  # a sibling without a Ready condition yet
    (True, [True], False),
    (True, [False, True], False),
    (False, [], False),
    (False, [False], False),
    (None, [], False),
])
def test_last_ready_replica(pod_ready, others, expected):
    pod = make_pod(ready=pod_ready)
    siblings = [make_pod(name="sib-%d" % i, uid="sib-%d" % i, ready=ready) for i, ready in enumerate(others)]
    assert last_ready_replica(pod, siblings) is expected
    assert last_ready_replica(pod, [pod] + siblings) is expected  # the pod itself in the list does not count


def test_last_ready_replica_reads_the_ready_condition_only():
    pod = make_pod(ready=True)
    sibling = make_pod(name="sib", uid="sib", conditions=[{"type": "ContainersReady", "status": "True"},
                                                          {"type": "Ready", "status": "False"}])
    assert last_ready_replica(pod, [sibling]) is True


# --- pod_refusal: from the pod alone ---------------------------------------------------------

def test_a_terminating_pod_is_refused_whatever_its_owner():
    pod = make_pod(owners=[owner_ref(kind="StatefulSet", name="db")])
    pod["metadata"]["deletionTimestamp"] = NOW
    for scope in (TAO, TO):
        assert pod_refusal(pod, scope) == (
            'pod "web-7d4b9c-x2x9z" is terminating (deletion requested at %s): there is nothing left to quarantine; '
            "collect what evidence remains instead" % NOW)


def test_pod_refusal_names_the_pod_the_scope_and_the_owner_refusal():
    pod = make_pod(owners=[owner_ref(kind="StatefulSet", name="db")])
    assert pod_refusal(pod, TAO) == ("cannot quarantine pod web-7d4b9c-x2x9z with scope traffic_and_owner: %s"
                                     % owner_refusal("StatefulSet", TAO))
    assert pod_refusal(make_pod(owners=[owner_ref(kind="CloneSet")]), TAO).endswith(
        "the pod's controller is a CloneSet, whose selector triage.k8s cannot read and whose replacement "
        "behaviour it cannot know: use scope: traffic_only")
    assert pod_refusal(pod, TO) is None


@pytest.mark.parametrize("owners", [None, [owner_ref()], [owner_ref(kind="StatefulSet", controller=False)]])
def test_pod_refusal_none_for_what_can_be_quarantined(owners):
    assert pod_refusal(make_pod(owners=owners), TAO) is None


# --- refusal: after the plan -----------------------------------------------------------------

def params(scope=TAO, force=False, limit=1):
    return {"scope": scope, "force": force, "max_quarantined_per_owner": limit}


def rs(kind="ReplicaSet", name="web-7d4b9c", uid=RS_UID):
    return {"kind": kind, "metadata": {"name": name, "uid": uid}, "spec": {"selector": {"matchLabels": {"app": "web"}}}}


WEB = [{"name": "web", "selector": {"app": "web"}}]


def sibling(name, ready=True, unschedulable=False):
    conditions = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}] if unschedulable else []
    return make_pod(name=name, uid="uid-" + name, ready=ready, conditions=conditions, owners=[owner_ref()])


def test_max_per_owner_refuses_at_the_limit_and_names_the_quarantined_pods():
    pod = make_pod(ready=True, owners=[owner_ref()])
    others = [quarantined(name="web-b", uid="b"), quarantined(name="web-a", uid="a")]
    message, details = refusal(params(limit=2, force=True), pod, owner_ref(), rs(), [], WEB, others, None)
    assert message == (
        "refusing to quarantine web-7d4b9c-x2x9z: ReplicaSet web-7d4b9c already has 2 quarantined pod(s) (web-a, "
        "web-b), the limit max_quarantined_per_owner=2. If its replacements fail the same way, the workload itself "
        "is broken: quarantining more pods would only orphan a new pod on every crash. Release or clean up the "
        "quarantined ones, or raise the limit deliberately.")
    assert details == {"quarantined_pods": ["web-a", "web-b"], "refused": True, "guard": "max_quarantined_per_owner"}
    assert max_per_owner_refusal(pod, owner_ref(), others, 2) == (message, details)
    assert max_per_owner_refusal(pod, owner_ref(), others, 3) is None


def test_max_per_owner_never_counts_the_pod_itself_nor_other_owners():
    pod = make_pod(owners=[owner_ref()])
    itself = quarantined()  # a concurrent run quarantined it meanwhile: this run loses the race, not refused
    assert max_per_owner_refusal(pod, owner_ref(), [itself], 1) is None
    assert max_per_owner_refusal(pod, owner_ref(), [quarantined(name="x", uid="x", owner_uid="other")], 1) is None
    assert max_per_owner_refusal(make_pod(), None, [quarantined(name="x", uid="x")], 1) is None  # a bare pod


def test_the_only_ready_replica_is_refused():
    pod = make_pod(ready=True, owners=[owner_ref()])
    pods = [pod, sibling("web-2", ready=False)]
    message, details = refusal(params(), pod, owner_ref(), rs(), pods, WEB, [], None)
    assert message == ("refusing to quarantine: web-7d4b9c-x2x9z is the only Ready pod of ReplicaSet web-7d4b9c, so "
                       "the workload (and Service(s) web) would have no Ready pod until a replacement is Ready. Use "
                       "force: true to quarantine it anyway.")
    assert details == {"unschedulable_pods": [], "refused": True, "guard": "last_ready_replica"}
    message, _details = refusal(params(), pod, owner_ref(), rs(), pods, [], [], None)
    assert "so the workload would have no Ready pod until" in message


def test_the_only_ready_replica_says_why_no_replacement_comes():
    pod = make_pod(ready=True, owners=[owner_ref()])
    stuck = [pod, sibling("web-z", ready=False, unschedulable=True), sibling("web-y", ready=False, unschedulable=True)]
    message, details = refusal(params(), pod, owner_ref(), rs(), stuck, WEB, [], None)
    assert message.endswith("would have no Ready pod until a replacement is Ready, and ReplicaSet cannot place one "
                            "now: its pod(s) web-y, web-z are unschedulable. Use force: true to quarantine it anyway.")
    assert details == {"unschedulable_pods": ["web-y", "web-z"], "refused": True, "guard": "last_ready_replica"}
    message, _details = refusal(params(scope=TO), pod, owner_ref(), rs(), [pod], WEB, [], None)
    assert message.endswith("would have no Ready pod and with scope traffic_only its owner does not replace it. "
                            "Use force: true to quarantine it anyway.")
    sts = owner_ref(kind="StatefulSet", name="db")
    message, _details = refusal(params(scope=TO), pod, sts, rs("StatefulSet", "db"), [pod], [], [], None)
    assert "is the only Ready pod of StatefulSet db" in message


@pytest.mark.parametrize("case", ["force", "not ready", "a Ready sibling"])
def test_the_last_replica_guard_lets_go(case):
    pod = make_pod(ready=case != "not ready", owners=[owner_ref()])
    pods = [pod] + ([sibling("web-2")] if case == "a Ready sibling" else [])
    assert refusal(params(force=case == "force"), pod, owner_ref(), rs(), pods, WEB, [], None) is None


def test_the_last_ready_endpoint_of_a_service_is_refused():
    bare = make_pod(ready=True)
    peers = {"web": [], "api": ["api-1"], "admin": []}
    message, details = refusal(params(), bare, None, None, [], WEB, [], peers)
    assert message == ("refusing to quarantine: web-7d4b9c-x2x9z is the only Ready pod behind Service(s) admin, web, "
                       "which would have no ready endpoint and nothing replaces a bare pod. Use force: true to "
                       "quarantine it anyway.")
    assert details == {"services_left_without_endpoints": ["admin", "web"], "refused": True,
                       "guard": "last_ready_endpoint"}


def test_the_last_ready_endpoint_says_whether_a_replacement_comes():
    ds_ref = owner_ref(kind="DaemonSet", name="agent")
    pod = make_pod(ready=True, owners=[ds_ref])
    daemonset = rs("DaemonSet", "agent")
    message, _details = refusal(params(), pod, ds_ref, daemonset, [pod], WEB, [], {"web": []})
    assert message.endswith("which would have no ready endpoint until the replacement from DaemonSet agent is Ready. "
                            "Use force: true to quarantine it anyway.")
    message, _details = refusal(params(scope=TO), pod, ds_ref, daemonset, [pod], WEB, [], {"web": []})
    assert "no ready endpoint and with scope traffic_only its owner does not replace it." in message
    gone = refusal(params(), pod, ds_ref, None, [], WEB, [], {"web": []})[0]  # the owner is gone already
    assert "no ready endpoint and with scope traffic_and_owner its owner does not replace it." in gone


@pytest.mark.parametrize("case", ["force", "not ready", "no Service", "another Ready endpoint"])
def test_the_last_endpoint_guard_lets_go(case):
    pod = make_pod(ready=case != "not ready")
    selecting = [] if case == "no Service" else WEB
    peers = {"web": ["web-2"] if case == "another Ready endpoint" else []}
    assert refusal(params(force=case == "force"), pod, None, None, [], selecting, [], peers) is None


def test_force_never_lifts_the_max_per_owner_guard():
    pod = make_pod(ready=False, owners=[owner_ref()])
    found = refusal(params(force=True), pod, owner_ref(), rs(), [], [], [quarantined(name="x", uid="x")], None)
    assert found and found[1] == {"quarantined_pods": ["x"], "refused": True, "guard": "max_quarantined_per_owner"}


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("ready", [False, True])
@pytest.mark.parametrize("kind", [None, "ReplicaSet", "ReplicationController", "StatefulSet", "DaemonSet", "Job"])
@pytest.mark.parametrize("owner_gone", [False, True])
@pytest.mark.parametrize("selecting", [[], WEB])
@pytest.mark.parametrize("at_limit", [False, True])
def test_service_peers_are_read_exactly_when_the_guard_needs_them(force, ready, kind, owner_gone, selecting, at_limit):
    """run_apply lists the pods behind each Service only when needs_service_peers() says so: when
    it does not, refusal() decides without them; when it does, they decide."""
    ref = owner_ref(kind=kind) if kind else None
    owner = rs(kind) if kind and not owner_gone else None
    pod = make_pod(ready=ready, owners=[ref] if ref else None)
    others = [quarantined(name="q", uid="q")] if at_limit else []
    args = (params(force=force), pod, ref, owner, [pod], selecting, others)
    needed = needs_service_peers(*args[:4] + (selecting, others))
    alone, served = refusal(*args + ({"web": []},)), refusal(*args + ({"web": ["web-2"]},))
    if not needed:
        assert alone == served == refusal(*args + (None,))
    else:
        assert alone and "only Ready pod behind Service(s) web" in alone[0] and served is None
    assert needed is (ready and not force and bool(selecting) and not (at_limit and ref is not None)
                      and (owner is None or kind in ("DaemonSet", "Job")))


# --- an unhealthy pod is not a healthy Ready replica (issue 14 part 6) -------------------------
# NOW is 2026-11-22T03:04:05Z; the pods of make_pod were created at 01:00, long before the window.

def crashing(pod, restarts=5, finished="2026-11-22T03:03:55Z", started="2026-11-22T03:03:50Z",
             running_since="2026-11-22T03:04:00Z", reason="Error"):
    """The pod Ready between two crashes: running again, with the last crash `finished` ago."""
    pod["status"]["containerStatuses"] = [{
        "name": "web", "ready": True, "restartCount": restarts, "state": {"running": {"startedAt": running_since}},
        "lastState": {"terminated": {"exitCode": 137 if reason == "OOMKilled" else 1, "reason": reason,
                                     "startedAt": started, "finishedAt": finished}}}]
    return pod


def test_a_crash_looping_pod_ready_between_crashes_is_not_the_last_healthy_replica():
    pod = crashing(make_pod(ready=True, owners=[owner_ref()]))
    assert last_ready_replica(pod, [pod]) is True  # the Ready condition alone: refused at this instant
    assert last_ready_replica(pod, [pod], NOW) is False
    assert refusal(params(), pod, owner_ref(), rs(), [pod], WEB, [], None, NOW) is None
    assert refusal(params(), pod, owner_ref(), rs(), [pod], WEB, [], None)[1]["guard"] == "last_ready_replica"


def test_an_oom_kill_in_the_window_makes_a_ready_pod_unhealthy_even_after_one_restart():
    pod = crashing(make_pod(ready=True, owners=[owner_ref()]), restarts=1, reason="OOMKilled",
                   started="2026-11-22T02:00:00Z")
    assert refusal(params(), pod, owner_ref(), rs(), [pod], WEB, [], None, NOW) is None
    long_ago = crashing(make_pod(ready=True, owners=[owner_ref()]), restarts=1, reason="OOMKilled",
                        started="2026-11-22T01:00:00Z", finished="2026-11-22T02:00:00Z", running_since="2026-11-22T02:00:01Z")
    assert refusal(params(), long_ago, owner_ref(), rs(), [long_ago], WEB, [], None, NOW)[1]["guard"] == "last_ready_replica"


def test_a_ready_pod_that_restarted_once_recently_is_still_healthy():
    pod = crashing(make_pod(ready=True, owners=[owner_ref()]), restarts=1, started="2026-11-22T01:00:00Z")
    found = refusal(params(), pod, owner_ref(), rs(), [pod], WEB, [], None, NOW)
    assert found and found[1]["guard"] == "last_ready_replica"


def test_a_crash_looping_peer_does_not_stand_in_for_the_last_healthy_replica():
    pod = make_pod(ready=True, owners=[owner_ref()])
    peer = crashing(sibling("web-2", ready=True))
    assert refusal(params(), pod, owner_ref(), rs(), [pod, peer], WEB, [], None) is None  # Ready condition alone
    message, details = refusal(params(), pod, owner_ref(), rs(), [pod, peer], WEB, [], None, NOW)
    assert "is the only Ready pod of ReplicaSet web-7d4b9c" in message
    assert details["refused"] is True and details["guard"] == "last_ready_replica"
    healthy = sibling("web-3", ready=True)
    assert refusal(params(), pod, owner_ref(), rs(), [pod, peer, healthy], WEB, [], None, NOW) is None


def test_the_last_endpoint_guard_counts_only_healthy_peers_and_lets_an_unhealthy_pod_go():
    bare = make_pod(ready=True)
    peer = crashing(make_pod(name="web-2", uid="uid-web-2", ready=True))
    assert healthy_ready_peers(bare, [bare, peer], NOW) == []
    assert healthy_ready_peers(bare, [bare, peer], None) == ["web-2"]
    assert healthy_ready_peers(bare, [bare, make_pod(name="web-3", uid="uid-web-3", ready=True)], NOW) == ["web-3"]
    sick = crashing(make_pod(ready=True))
    assert needs_service_peers(params(), sick, None, None, WEB, [], NOW) is False
    assert refusal(params(), sick, None, None, [], WEB, [], {"web": []}, NOW) is None
    found = refusal(params(), bare, None, None, [], WEB, [], {"web": []}, NOW)
    assert found[1] == {"services_left_without_endpoints": ["web"], "refused": True, "guard": "last_ready_endpoint"}


def test_force_and_max_per_owner_are_unchanged_by_the_diagnosis():
    sick = crashing(make_pod(ready=True, owners=[owner_ref()]))
    found = refusal(params(), sick, owner_ref(), rs(), [sick], WEB, [quarantined(name="q", uid="q")], None, NOW)
    assert found[1]["guard"] == "max_quarantined_per_owner"
    healthy = make_pod(ready=True, owners=[owner_ref()])
    assert refusal(params(force=True), healthy, owner_ref(), rs(), [healthy], WEB, [], None, NOW) is None


def test_every_refusal_from_the_pod_alone_carries_the_marker():
    terminating = make_pod(owners=[owner_ref()])
    terminating["metadata"]["deletionTimestamp"] = NOW
    assert pod_guard(terminating, TAO)[1] == {"refused": True, "guard": "terminating"}
    sts = make_pod(owners=[owner_ref(kind="StatefulSet", name="db")])
    message, details = pod_guard(sts, TAO)
    assert details == {"refused": True, "guard": "owner_kind"} and message == pod_refusal(sts, TAO)
    assert pod_guard(sts, TO) is None and pod_refusal(sts, TO) is None
