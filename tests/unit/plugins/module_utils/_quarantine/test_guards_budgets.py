# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the budget guards (_quarantine/budgets.py, wired by guards.py): percentages,
PodDisruptionBudgets as the disruption controller computes them, and min_healthy_replicas."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._quarantine import budgets
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.guards import (
    budget_refusal,
    min_healthy_warning,
    needs_budgets,
    refusal,
)
from ansible_collections.triage.k8s.tests.unit.plugins.module_utils._contract.pods import NOW, make_pod, owner_ref, quarantined
from ansible_collections.triage.k8s.tests.unit.plugins.module_utils._quarantine.test_guards import WEB, crashing, rs, sibling

APP = {"app": "web"}
MOVED = {"app": "quarantined-web"}


def params(force=False, min_healthy=None):
    return {"scope": "traffic_and_owner", "force": force, "max_quarantined_per_owner": 1,
            "min_healthy_replicas": min_healthy}


def pod(name="web-1", ready=True):
    return make_pod(name=name, uid="uid-" + name, labels=dict(APP), ready=ready, owners=[owner_ref()])


def pdb(min_available=None, max_unavailable=None, expected=None, generation=1, observed=1, selector=None, **status):
    spec = {"selector": {"matchLabels": dict(APP)} if selector is None else selector}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    state = dict(status)
    if observed is not None:
        state["observedGeneration"] = observed
    if expected is not None:
        state["expectedPods"] = expected
    return {"kind": "PodDisruptionBudget", "metadata": {"name": "web-pdb", "namespace": "shop", "generation": generation},
            "spec": spec, "status": state}


# --- percentages ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (2, (2, False)), (0, (0, False)), ("3", (3, False)), (" 3 ", (3, False)),
    ("50%", (50, True)), ("0%", (0, True)), ("100%", (100, True)),
])
def test_parse_int_or_percent(value, expected):
    assert budgets.parse_int_or_percent(value) == expected


@pytest.mark.parametrize("value", [-1, "-1", "150%", "50 %", "half", "", "1.5", 1.5, True, None, [2]])
def test_bad_values_are_refused_with_a_clear_message(value):
    with pytest.raises(ValueError):
        budgets.parse_int_or_percent(value)
    assert budgets.min_healthy_problem(value).startswith("min_healthy_replicas: ")


@pytest.mark.parametrize("number, is_percent, total, expected", [
    (2, False, 10, 2), (50, True, 7, 4), (50, True, 4, 2), (30, True, 10, 3), (1, True, 3, 1), (0, True, 5, 0),
    (100, True, 3, 3), (34, True, 3, 2),
])
def test_percentages_round_up_as_kubernetes_does(number, is_percent, total, expected):
    assert budgets.scaled(number, is_percent, total) == expected


# --- desiredHealthy -------------------------------------------------------------------------------

@pytest.mark.parametrize("budget, expected", [
    (pdb(min_available=2, observed=None), 2),  # an int minAvailable needs no status
    (pdb(min_available="50%", expected=7), 4),  # 7 pods, 50%: 3.5 rounds up to 4
    (pdb(max_unavailable=1, expected=3), 2),
    (pdb(max_unavailable="30%", expected=10), 7),  # 3 may be disrupted
    (pdb(max_unavailable="25%", expected=3), 2),  # 0.75 may be disrupted: rounds up to 1
    (pdb(max_unavailable=5, expected=3), 0),  # never below 0
    (pdb(), 0),
])
def test_desired_healthy(budget, expected):
    assert budgets.desired_healthy(budget) == (expected, None)


@pytest.mark.parametrize("budget, why", [
    (pdb(max_unavailable=1, expected=3, generation=2, observed=1), "has not computed its status yet"),
    (pdb(min_available="50%", expected=3, observed=None), "has not computed its status yet"),
    (pdb(max_unavailable=1, conditions=[{"type": "DisruptionAllowed", "status": "False", "reason": "SyncFailed",
                                         "message": "found no controller ref for pod"}]), "found no controller ref"),
    (pdb(min_available="half"), "minAvailable cannot be read"),
])
def test_desired_healthy_unknown(budget, why):
    desired, unknown = budgets.desired_healthy(budget)
    assert desired is None and why in unknown


# --- PodDisruptionBudget refusals -----------------------------------------------------------------

def test_two_replicas_min_available_two_is_refused_naming_the_budget_and_its_numbers():
    victim, peer = pod("web-1"), pod("web-2")
    budget = pdb(min_available=2, expected=2, currentHealthy=2, desiredHealthy=2, disruptionsAllowed=0)
    message, details = budget_refusal(victim, [(budget, [victim, peer])], MOVED, NOW)
    assert message.startswith("refusing to quarantine web-1: PodDisruptionBudget shop/web-pdb allows 0 disruption(s) "
                              "(currentHealthy 2, desiredHealthy 2, disruptionsAllowed 0, expectedPods 2, "
                              "minAvailable 2)"), message
    assert "would leave 1 healthy pod(s), fewer than the 2 it requires, until a replacement is Ready" in message
    assert "force: true" in message and "Wait until more of its pods are Ready" in message
    assert details["refused"] is True and details["guard"] == "pod_disruption_budget"
    assert details["pod_disruption_budget"] == {
        "namespace": "shop", "name": "web-pdb", "currentHealthy": 2, "desiredHealthy": 2, "disruptionsAllowed": 0,
        "expectedPods": 2, "minAvailable": 2, "healthy": 2, "healthy_after": 1, "required": 2,
        "still_selects_pod": False}


@pytest.mark.parametrize("budget", [
    pdb(min_available=2, expected=3), pdb(max_unavailable=1, expected=3), pdb(min_available="50%", expected=3),
    pdb(max_unavailable="34%", expected=3),
])
def test_three_replicas_leave_room(budget):
    victim = pod("web-1")
    selected = [victim, pod("web-2"), pod("web-3")]
    assert budget_refusal(victim, [(budget, selected)], MOVED, NOW) is None


def test_max_unavailable_zero_and_percentages_refuse():
    victim = pod("web-1")
    selected = [victim, pod("web-2"), pod("web-3")]
    for budget in (pdb(max_unavailable=0, expected=3), pdb(min_available="67%", expected=3),
                   pdb(max_unavailable="0%", expected=3)):
        assert budget_refusal(victim, [(budget, selected)], MOVED, NOW)[1]["guard"] == "pod_disruption_budget"


def test_an_unhealthy_pod_does_not_reduce_the_healthy_count():
    sick = crashing(pod("web-1"))
    not_ready = pod("web-3", ready=False)
    budget = pdb(min_available=2, expected=2)
    assert budget_refusal(sick, [(budget, [sick, pod("web-2")])], MOVED, NOW) is None
    assert budget_refusal(not_ready, [(budget, [not_ready, pod("web-2")])], MOVED, NOW) is None
    assert needs_budgets(params(), sick, NOW) is False and needs_budgets(params(), pod(), NOW) is True
    assert needs_budgets(params(force=True), pod(), NOW) is False


def test_unhealthy_quarantined_and_terminating_peers_do_not_stand_in():
    victim = pod("web-1")
    leaving = pod("web-4")
    leaving["metadata"]["deletionTimestamp"] = NOW
    still_selected = quarantined(name="web-5", uid="uid-web-5", extra_labels=APP)
    still_selected["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    selected = [victim, crashing(pod("web-2")), pod("web-3"), leaving, still_selected]
    message, details = budget_refusal(victim, [(pdb(min_available=2, currentHealthy=4), selected)], MOVED, NOW)
    assert "would leave 1 healthy pod(s)" in message
    assert "Not counted as healthy here although Ready: web-2, web-5" in message, message
    assert details["pod_disruption_budget"]["healthy_after"] == 1
    assert budget_refusal(victim, [(pdb(min_available=2), selected)], MOVED) is None  # Ready condition alone: web-2 counts


def test_a_budget_that_still_selects_the_relabelled_pod_still_loses_it():
    victim = pod("web-1")
    budget = pdb(selector={"matchLabels": {"team": "shop"}}, min_available=2)
    for p in (victim, pod("web-2")):
        p["metadata"]["labels"]["team"] = "shop"
    message, details = budget_refusal(victim, [(budget, [victim, pod("web-2")])], {"team": "shop"}, NOW)
    assert details["pod_disruption_budget"]["still_selects_pod"] is True
    assert "still match the budget's selector" in message


def test_a_budget_whose_status_is_not_current_is_refused_when_it_needs_the_status():
    victim = pod("web-1")
    selected = [victim, pod("web-2"), pod("web-3")]
    message, details = budget_refusal(victim, [(pdb(max_unavailable=1, expected=3, generation=2), selected)], MOVED, NOW)
    assert "whether it allows a disruption cannot be told: the disruption controller has not computed" in message
    assert "force: true" in message and details["guard"] == "pod_disruption_budget"


def test_the_first_refusing_budget_by_name_is_named():
    victim = pod("web-1")
    selected = [victim, pod("web-2")]
    loose, tight = pdb(min_available=1), pdb(min_available=2)
    loose["metadata"]["name"], tight["metadata"]["name"] = "a-loose", "b-tight"
    assert "shop/b-tight" in budget_refusal(victim, [(tight, selected), (loose, selected)], MOVED, NOW)[0]
    assert budget_refusal(victim, [(loose, selected)], MOVED, NOW) is None
    assert budget_refusal(victim, [], MOVED, NOW) is None


@pytest.mark.parametrize("selector, labels, expected", [
    ({}, APP, True), (None, APP, False), ({"matchLabels": APP}, MOVED, False),
    ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, MOVED, True),
])
def test_selects(selector, labels, expected):
    assert budgets.selects({"spec": {"selector": selector}}, labels) is expected


# --- min_healthy_replicas -------------------------------------------------------------------------

def replicas(count):
    owner = rs()
    owner["spec"]["replicas"] = count
    return owner


@pytest.mark.parametrize("value, count, healthy_peers, refused", [
    (2, 3, 2, False), (2, 3, 1, True), (3, 3, 2, True), ("2", 2, 1, True), (1, 2, 1, False),
    ("50%", 3, 1, True),  # 50% of 3 rounds up to 2
    ("50%", 4, 2, False), ("34%", 3, 1, True), ("33%", 3, 1, False), ("0%", 2, 1, False), (0, 2, 1, False),
    ("100%", 2, 1, True),
])
def test_min_healthy_replicas(value, count, healthy_peers, refused):
    victim = pod("web-1")
    peers = [sibling("web-%d" % (i + 2)) for i in range(healthy_peers)] + [sibling("web-9", ready=False)]
    found = refusal(params(min_healthy=value), victim, owner_ref(), replicas(count), [victim] + peers, WEB, [],
                    None, NOW)
    assert (found is not None) is refused
    if refused:
        message, details = found
        assert details["guard"] == "min_healthy_replicas" and details["refused"] is True
        assert message.startswith("refusing to quarantine web-1: min_healthy_replicas=%s (" % value), message
        assert "would leave %d healthy Ready replica(s)" % healthy_peers in message and "force: true" in message
        assert details["min_healthy_replicas"]["healthy_left"] == sorted(p["metadata"]["name"] for p in peers[:-1])


def test_min_healthy_replicas_says_how_a_percentage_was_rounded():
    victim = pod("web-1")
    message, details = refusal(params(min_healthy="50%"), victim, owner_ref(), replicas(3), [victim, sibling("web-2")],
                               WEB, [], None, NOW)
    assert "50% of the 3 desired replica(s) of ReplicaSet web-7d4b9c, rounded up, is 2" in message, message
    assert "would leave 1 healthy Ready replica(s) (web-2) until a replacement is Ready" in message
    assert details["min_healthy_replicas"] == {"value": "50%", "required": 2, "desired_replicas": 3,
                                               "healthy_left": ["web-2"]}


def test_min_healthy_replicas_is_lifted_by_force_and_spares_an_unhealthy_pod():
    victim = pod("web-1")
    peers = [victim, sibling("web-2")]
    assert refusal(params(force=True, min_healthy=3), victim, owner_ref(), replicas(3), peers, WEB, [], None, NOW) is None
    sick = crashing(pod("web-1"))
    assert refusal(params(min_healthy=3), sick, owner_ref(), replicas(3), [sick], WEB, [], None, NOW) is None
    # The last-Ready guard speaks first: its message is the more specific one.
    assert refusal(params(min_healthy=1), victim, owner_ref(), replicas(1), [victim], WEB, [], None,
                   NOW)[1]["guard"] == "last_ready_replica"


def test_min_healthy_replicas_of_a_daemon_set_reads_its_desired_number_scheduled():
    ds = {"kind": "DaemonSet", "metadata": {"name": "agent", "uid": "ds"}, "spec": {}, "status": {"desiredNumberScheduled": 4}}
    victim = pod("agent-1")
    peers = [victim, sibling("agent-2"), sibling("agent-3")]
    assert budgets.min_healthy_refusal(victim, ds, peers, "75%", NOW)[1]["min_healthy_replicas"]["required"] == 3
    assert budgets.min_healthy_refusal(victim, ds, peers, "50%", NOW) is None


def test_min_healthy_replicas_warns_where_it_cannot_apply():
    bare = make_pod(name="solo", ready=True)
    job = {"kind": "Job", "metadata": {"name": "batch", "uid": "j"}, "spec": {}}
    assert "it has no owner; it was not checked" in min_healthy_warning(params(min_healthy=2), bare, None)
    assert "its owner is gone" in min_healthy_warning(params(min_healthy=2), pod(), None)
    assert "a Job has no replica count" in min_healthy_warning(params(min_healthy=2), pod(), job)
    assert min_healthy_warning(params(min_healthy=2), pod(), rs()) is None
    assert min_healthy_warning(params(), bare, None) is None
    assert min_healthy_warning(params(force=True, min_healthy=2), bare, None) is None
