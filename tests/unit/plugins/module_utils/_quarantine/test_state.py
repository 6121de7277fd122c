# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for quarantine_state.py: the on-pod contract, owner rules, guards and the per-pod
NetworkPolicy. Inputs are API-shaped camelCase dicts, as `kubectl get -o json` prints them.
(The record, the policy marks and controller_ref are tested in _contract/ and _k8s/test_objects.py.)"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_ORIGINAL_LABELS,
    ANN_OWNER,
    ANN_QUARANTINED_AT,
    FOR_POD_LABEL,
    FOR_POD_UID_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    QUARANTINE_ID_LABEL,
    QUARANTINED_LABEL,
    QUARANTINED_VALUE,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.policy import (
    is_our_network_policy,
    network_policy_name,
)
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.owner import (
    last_ready_replica,
    network_policy_manifest,
    owner_refusal,
    owner_selector,
    quarantined_from_owner,
    unschedulable_pods,
)

TAO = "traffic_and_owner"
TO = "traffic_only"
NOW = "2026-11-22T03:04:05Z"
UID = "7b0c4c8e-3f4e-4b8a-9d0e-2f1a6c5b9e01"
RS_UID = "0d9f8e7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"
# Kubernetes' IsDNS1123Subdomain: at most 253 characters, lowercase alphanumeric labels joined by '.'.
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def owner_ref(kind="ReplicaSet", name="web-7d4b9c", uid=RS_UID, controller=True):
    ref = {"apiVersion": "batch/v1" if kind == "Job" else "apps/v1", "kind": kind, "name": name, "uid": uid,
           "blockOwnerDeletion": True}
    if controller is not None:
        ref["controller"] = controller
    return ref


def make_pod(name="web-7d4b9c-x2x9z", uid=UID, labels=None, annotations=None, owners=None, ready=None,
             conditions=None, resource_version="4711", namespace="shop"):
    """A pod as the API server returns it."""
    metadata = {"name": name, "namespace": namespace, "uid": uid, "resourceVersion": resource_version,
                "creationTimestamp": "2026-11-22T01:00:00Z"}
    if labels is not None:
        metadata["labels"] = labels
    if annotations is not None:
        metadata["annotations"] = annotations
    if owners is not None:
        metadata["ownerReferences"] = owners
    conds = list(conditions or [])
    if ready is not None:
        conds.append({"type": "Ready", "status": "True" if ready else "False",
                      "lastTransitionTime": "2026-11-22T01:00:05Z"})
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}], "nodeName": "node-a"},
            "status": {"phase": "Running", "podIP": "10.244.1.7", "conditions": conds}}


def quarantined(name="web-7d4b9c-x2x9z", uid=UID, owner_uid=RS_UID, extra_labels=None):
    labels = {"app": "quarantined-web", QUARANTINED_LABEL: QUARANTINED_VALUE}
    labels.update(extra_labels or {})
    annotations = {ANN_QUARANTINED_AT: NOW, ANN_ORIGINAL_LABELS: '{"app":"web"}',
                   ANN_OWNER: json.dumps({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c",
                                          "uid": owner_uid})}
    return make_pod(name=name, uid=uid, labels=labels, annotations=annotations, owners=[owner_ref(uid=owner_uid)])


# --- owners --------------------------------------------------------------------------------

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


# --- guards --------------------------------------------------------------------------------

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


# --- the NetworkPolicy ---------------------------------------------------------------------

def test_network_policy_manifest_deny_all():
    pod = make_pod()
    policy = network_policy_manifest(pod, "triage-quarantine-web-1234abcd")
    assert policy == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": "triage-quarantine-web-1234abcd",
            "namespace": "shop",
            "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE, FOR_POD_LABEL: "web-7d4b9c-x2x9z"},
            "annotations": {FOR_POD_UID_ANNOTATION: UID},
        },
        "spec": {
            "podSelector": {"matchLabels": {QUARANTINE_ID_LABEL: UID}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [],
        },
    }


@pytest.mark.parametrize("namespace_labels, cidrs, peers", [
    ({"kubernetes.io/metadata.name": "forensics"}, None,
     [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "forensics"}}}]),
    (None, ["10.0.0.0/8", "192.168.1.10/32"],
     [{"ipBlock": {"cidr": "10.0.0.0/8"}}, {"ipBlock": {"cidr": "192.168.1.10/32"}}]),
    ({"team": "sec", "role": "forensics"}, ["fd00::/8"],
     [{"namespaceSelector": {"matchLabels": {"team": "sec", "role": "forensics"}}}, {"ipBlock": {"cidr": "fd00::/8"}}]),
])
def test_network_policy_manifest_allow_list(namespace_labels, cidrs, peers):
    spec = network_policy_manifest(make_pod(), "np", namespace_labels, cidrs)["spec"]
    assert spec["podSelector"] == {"matchLabels": {QUARANTINE_ID_LABEL: UID}}
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == [{"from": peers}]
    assert spec["egress"] == [{"to": peers}]


@pytest.mark.parametrize("namespace_labels, cidrs", [(None, None), ({}, []), (None, []), ({}, None)])
def test_network_policy_manifest_empty_allow_list_denies_all(namespace_labels, cidrs):
    spec = network_policy_manifest(make_pod(), "np", namespace_labels, cidrs)["spec"]
    assert spec["ingress"] == [] and spec["egress"] == []
    assert spec["policyTypes"] == ["Ingress", "Egress"]


def test_network_policy_manifest_selects_only_the_quarantine_id():
    pod = make_pod(labels={"app": "web", "pod-template-hash": "7d4b9c", QUARANTINED_LABEL: "true"})
    selector = network_policy_manifest(pod, "np")["spec"]["podSelector"]
    assert selector == {"matchLabels": {QUARANTINE_ID_LABEL: UID}}


def test_network_policy_manifest_copies_the_namespace_labels():
    allow = {"team": "sec"}
    policy = network_policy_manifest(make_pod(), "np", allow)
    allow["team"] = "changed"
    assert policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {"team": "sec"}


@pytest.mark.parametrize("pod_name", ["a" * 63, "a" * 64, "a" * 253, "a" * 62 + "-b", "a" * 62 + ".b", "db-0"])
def test_network_policy_manifest_for_pod_label_is_a_valid_value(pod_name):
    policy = network_policy_manifest(make_pod(name=pod_name), network_policy_name(make_pod(name=pod_name)))
    value = policy["metadata"]["labels"][FOR_POD_LABEL]
    assert len(value) <= 63 and LABEL_VALUE.fullmatch(value) and value
    assert pod_name.startswith(value)
    assert is_our_network_policy(policy, pod_name)
    assert is_our_network_policy(policy)
