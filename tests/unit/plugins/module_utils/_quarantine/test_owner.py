# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _quarantine/owner.py: reading an owner's selector, the pods it owns, which of
them are Ready or unschedulable, and the quarantined pods it had."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import ANN_OWNER, QUARANTINED_LABEL
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.owner import (
    REPLACING_KINDS,
    REPLICA_KINDS,
    WHAT_OWNER_DOES,
    owned_by,
    owner_matches,
    owner_selector,
    quarantined_from_owner,
    ready_peers,
    unschedulable_pods,
)
from ansible_collections.triage.k8s.tests.unit.plugins.module_utils._contract.pods import NOW, RS_UID, make_pod, owner_ref, quarantined


@pytest.mark.parametrize("owner, expected", [
    ({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-7d4b9c", "uid": RS_UID},
      "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "7d4b9c"}}}},
     {"kind": "ReplicaSet", "name": "web-7d4b9c", "selector": {"matchLabels": {"app": "web", "pod-template-hash": "7d4b9c"}}}),
    ({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "legacy"},
      "spec": {"selector": {"app": "legacy"}}},
     {"kind": "ReplicationController", "name": "legacy", "selector": {"app": "legacy"}}),
    ({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"},
      "spec": {"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}}}},
     {"kind": "Job", "name": "migrate", "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}}}),
    ({"kind": "DaemonSet", "metadata": {"name": "agent"}, "spec": {}},
     {"kind": "DaemonSet", "name": "agent", "selector": {}}),
    ({"kind": "DaemonSet", "metadata": {"name": "agent"}},
     {"kind": "DaemonSet", "name": "agent", "selector": {}}),
])
def test_owner_selector(owner, expected):
    assert owner_selector(owner) == expected


def test_quarantined_from_owner():
    pods = [
        quarantined(name="web-b", uid="u-b"),
        quarantined(name="web-a", uid="u-a"),
        quarantined(name="other-owner", uid="u-c", owner_uid="someone-else"),
        # look-alike: label without the quarantined-at annotation
        make_pod(name="look-alike", uid="u-d", labels={QUARANTINED_LABEL: "true"},
                 annotations={ANN_OWNER: json.dumps({"uid": RS_UID})}),
        make_pod(name="not-quarantined", uid="u-e", owners=[owner_ref()]),
    ]
    assert quarantined_from_owner(pods, RS_UID) == ["web-a", "web-b"]
    assert quarantined_from_owner(pods, "someone-else") == ["other-owner"]
    assert not quarantined_from_owner(pods, "nobody")
    assert not quarantined_from_owner([], RS_UID)


@pytest.mark.parametrize("owner_annotation", [None, "null", "{not json", '["a"]', '"uid"', '{"kind":"ReplicaSet"}'])
def test_quarantined_from_owner_ignores_unusable_owner_records(owner_annotation):
    pod = quarantined()
    if owner_annotation is None:
        del pod["metadata"]["annotations"][ANN_OWNER]
    else:
        pod["metadata"]["annotations"][ANN_OWNER] = owner_annotation
    assert not quarantined_from_owner([pod], RS_UID)


def test_quarantined_from_owner_uses_the_recorded_owner_not_the_current_reference():
    pod = quarantined(owner_uid="old-rs")
    pod["metadata"]["ownerReferences"] = [owner_ref(uid="new-rs")]
    assert quarantined_from_owner([pod], "old-rs") == [pod["metadata"]["name"]]
    assert not quarantined_from_owner([pod], "new-rs")


def _scheduled(status, reason=None):
    cond = {"type": "PodScheduled", "status": status, "lastTransitionTime": NOW}
    if reason:
        cond["reason"] = reason
        cond["message"] = "0/3 nodes are available: 3 Insufficient cpu."
    return [cond]


def test_unschedulable_pods():
    pods = [
        make_pod(name="web-z", uid="z", conditions=_scheduled("False", "Unschedulable")),
        make_pod(name="web-a", uid="a", conditions=_scheduled("False", "Unschedulable")),
        make_pod(name="web-ok", uid="ok", conditions=_scheduled("True"), ready=True),
        make_pod(name="web-new", uid="new"),  # no conditions yet
        make_pod(name="web-init", uid="init", conditions=[{"type": "Initialized", "status": "False"}]),
    ]
    pods[3]["status"] = {"phase": "Pending"}
    assert unschedulable_pods(pods) == ["web-a", "web-z"]
    assert not unschedulable_pods([])


def test_unschedulable_pods_skips_scheduling_gated_pods():
    """Docstring: 'PodScheduled False, reason Unschedulable'. A pod held by a scheduling gate has
    PodScheduled False with reason SchedulingGated: the scheduler has not tried to place it."""
    gated = make_pod(name="web-gated", uid="g", conditions=_scheduled("False", "SchedulingGated"))
    stuck = make_pod(name="web-stuck", uid="s", conditions=_scheduled("False", "Unschedulable"))
    assert unschedulable_pods([gated, stuck]) == ["web-stuck"]


def test_every_replacing_kind_says_what_its_owner_does():
    assert sorted(WHAT_OWNER_DOES) == sorted(REPLACING_KINDS)
    assert "StatefulSet" in REPLICA_KINDS and "StatefulSet" not in REPLACING_KINDS


@pytest.mark.parametrize("owner, labels, expected", [
    ({"kind": "ReplicaSet", "spec": {"selector": {"matchLabels": {"app": "web"}}}}, {"app": "web", "x": "y"}, True),
    ({"kind": "ReplicaSet", "spec": {"selector": {"matchLabels": {"app": "web"}}}}, {"app": "quarantined-web"}, False),
    ({"kind": "ReplicaSet", "spec": {"selector": {"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["web", "api"]}]}}}, {"app": "api"}, True),
    ({"kind": "ReplicationController", "spec": {"selector": {"app": "legacy"}}}, {"app": "legacy"}, True),
    ({"kind": "ReplicationController", "spec": {"selector": {"app": "legacy"}}}, {"app": "other"}, False),
])
def test_owner_matches(owner, labels, expected):
    assert owner_matches(owner, labels) is expected


def test_owned_by_reads_the_controller_reference_only():
    assert owned_by(make_pod(owners=[owner_ref()]), RS_UID)
    assert not owned_by(make_pod(owners=[owner_ref(uid="other")]), RS_UID)
    assert not owned_by(make_pod(owners=[owner_ref(controller=False)]), RS_UID)
    assert not owned_by(make_pod(), RS_UID)


def test_ready_peers_are_the_other_ready_pods_not_terminating():
    pod = make_pod(ready=True)
    leaving = make_pod(name="web-leaving", uid="l", ready=True)
    leaving["metadata"]["deletionTimestamp"] = NOW
    pods = [pod, make_pod(name="web-b", uid="b", ready=True), make_pod(name="web-a", uid="a", ready=True),
            make_pod(name="web-unready", uid="u", ready=False), leaving]
    assert ready_peers(pod, pods) == ["web-a", "web-b"]
    assert not ready_peers(pod, [pod])
