# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for quarantine_state.py: the on-pod contract, owner rules, guards and the per-pod
NetworkPolicy. Inputs are API-shaped camelCase dicts, as `kubectl get -o json` prints them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_EVIDENCE,
    ANN_EXPIRES_AT,
    ANN_NETWORK_POLICY,
    ANN_ORIGINAL_LABELS,
    ANN_OWNER,
    ANN_QUARANTINED_AT,
    ANN_QUARANTINED_BY,
    ANN_REASON,
    FOR_POD_LABEL,
    FOR_POD_UID_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    QUARANTINE_ANNOTATIONS,
    QUARANTINE_ID_LABEL,
    QUARANTINED_LABEL,
    QUARANTINED_VALUE,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.policy import (
    is_our_network_policy,
    network_policy_name,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import (
    apply_merge_patch,
    has_quarantine_marks,
    is_quarantined,
    quarantine_annotations,
    quarantine_patch,
    quarantine_record,
    release_patch,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import controller_ref
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


# --- is_quarantined / has_quarantine_marks -------------------------------------------------

@pytest.mark.parametrize("labels, annotations, expected", [
    ({QUARANTINED_LABEL: "true"}, {ANN_QUARANTINED_AT: NOW}, True),
    ({QUARANTINED_LABEL: "true", "app": "x"}, {ANN_QUARANTINED_AT: "", ANN_REASON: "r"}, True),
    ({QUARANTINED_LABEL: "true"}, {}, False),  # a look-alike label put there by hand
    ({QUARANTINED_LABEL: "true"}, None, False),
    ({QUARANTINED_LABEL: "True"}, {ANN_QUARANTINED_AT: NOW}, False),
    ({QUARANTINED_LABEL: "false"}, {ANN_QUARANTINED_AT: NOW}, False),
    ({}, {ANN_QUARANTINED_AT: NOW}, False),  # an annotation without the label
    (None, {ANN_QUARANTINED_AT: NOW}, False),
    ({"quarantined": "true"}, {"quarantined-at": NOW}, False),  # unprefixed keys are not ours
    ({QUARANTINED_LABEL: "true"}, {ANN_QUARANTINED_BY: "alice", ANN_REASON: "r"}, False),
    (None, None, False),
])
def test_is_quarantined_needs_label_and_annotation(labels, annotations, expected):
    assert is_quarantined(make_pod(labels=labels, annotations=annotations)) is expected


def test_is_quarantined_tolerates_missing_metadata():
    assert is_quarantined({}) is False
    assert is_quarantined({"metadata": None}) is False


@pytest.mark.parametrize("labels, annotations, expected", [
    ({QUARANTINED_LABEL: "true"}, None, True),
    ({QUARANTINED_LABEL: "anything"}, None, True),
    ({QUARANTINE_ID_LABEL: UID}, None, True),
    (None, {ANN_QUARANTINED_AT: NOW}, True),
    (None, {ANN_NETWORK_POLICY: "triage-quarantine-x"}, True),
    (None, {ANN_ORIGINAL_LABELS: "{}"}, True),
] + [(None, {key: "x"}, True) for key in QUARANTINE_ANNOTATIONS] + [
    (None, {ANN_EVIDENCE: '{"bundle":"b"}'}, False),  # evidence alone is not a quarantine mark
    ({"app": "web"}, {"kubectl.kubernetes.io/restartedAt": NOW}, False),
    (None, None, False),
])
def test_has_quarantine_marks(labels, annotations, expected):
    assert has_quarantine_marks(make_pod(labels=labels, annotations=annotations)) is expected


# --- owners --------------------------------------------------------------------------------

def test_controller_ref_picks_the_controller():
    other = owner_ref(kind="Deployment", name="not-controller", uid="u-1", controller=False)
    ctrl = owner_ref()
    assert controller_ref(make_pod(owners=[other, ctrl])) is ctrl


@pytest.mark.parametrize("owners", [
    None,
    [],
    [owner_ref(controller=False)],
    [owner_ref(controller=None)],  # controller field absent
])
def test_controller_ref_none_for_bare_pods(owners):
    assert controller_ref(make_pod(owners=owners)) is None


def test_controller_ref_with_null_owner_references():
    pod = make_pod()
    pod["metadata"]["ownerReferences"] = None
    assert controller_ref(pod) is None


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


# --- the record ----------------------------------------------------------------------------

def test_quarantine_record_decodes_every_annotation():
    pod = make_pod(annotations={
        ANN_QUARANTINED_AT: NOW,
        ANN_QUARANTINED_BY: "alice@example.com",
        ANN_REASON: "crash loop; suspected compromise",
        ANN_EXPIRES_AT: "2026-11-23T03:04:05Z",
        ANN_ORIGINAL_LABELS: '{"app":"web","track":null}',
        ANN_OWNER: '{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d4b9c","uid":"%s"}' % RS_UID,
        ANN_NETWORK_POLICY: "triage-quarantine-web-1234abcd",
        ANN_EVIDENCE: '{"bundle":"b-1","sha256":"ab","at":"%s"}' % NOW,
    })
    assert quarantine_record(pod) == {
        "quarantined_at": NOW,
        "quarantined_by": "alice@example.com",
        "reason": "crash loop; suspected compromise",
        "expires_at": "2026-11-23T03:04:05Z",
        "original_labels": {"app": "web", "track": None},
        "owner": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c", "uid": RS_UID},
        "network_policy": "triage-quarantine-web-1234abcd",
        "evidence": {"bundle": "b-1", "sha256": "ab", "at": NOW},
    }


def test_quarantine_record_of_an_unmarked_pod():
    for pod in (make_pod(), make_pod(annotations={}), {"metadata": {}}, {}):
        record = quarantine_record(pod)
        assert set(record) == {"quarantined_at", "quarantined_by", "reason", "expires_at", "original_labels", "owner",
                               "network_policy", "evidence"}
        assert all(value is None for value in record.values())


@pytest.mark.parametrize("original, owner, evidence", [
    ("{not json", "{not json", "{not json"),
    ("[1, 2]", "", "nope"),
    ('{"app": 5}', "{", "}"),  # not a label value
    ('{"Bad Key!": "x"}', "[", "["),
    ('"just a string"', "tru", "nul"),
])
def test_quarantine_record_tolerates_bad_json(original, owner, evidence):
    pod = make_pod(annotations={ANN_QUARANTINED_AT: NOW, ANN_ORIGINAL_LABELS: original, ANN_OWNER: owner,
                                ANN_EVIDENCE: evidence})
    record = quarantine_record(pod)
    assert record["original_labels"] is None
    assert record["owner"] is None
    assert record["evidence"] is None
    assert record["quarantined_at"] == NOW


def test_quarantine_record_null_owner_is_a_bare_pod():
    assert quarantine_record(make_pod(annotations={ANN_OWNER: "null"}))["owner"] is None


# --- NetworkPolicy name --------------------------------------------------------------------

def _assert_valid_name(name):
    assert len(name) <= 253, len(name)
    assert DNS_SUBDOMAIN.fullmatch(name), name


@pytest.mark.parametrize("pod_name", [
    "web-7d4b9c-x2x9z",
    "a",
    "db-0",
    "web.example.com",
    "a" * 253,
    "a" * 221 + "-" + "b" * 31,   # the cut lands on the '-'
    "a" * 221 + "." + "b" * 31,   # the cut lands on the '.'
    "a" * 220 + "-." + "b" * 31,
    "a" * 62 + "." + "b" * 62 + "." + "c" * 62 + "." + "d" * 62,  # 4 labels of 62 and 3 dots: 251
    "x" + "-" * 251 + "y",
])
def test_network_policy_name_is_a_valid_dns_subdomain(pod_name):
    name = network_policy_name(make_pod(name=pod_name))
    _assert_valid_name(name)
    assert name.startswith("triage-quarantine-")


def test_network_policy_name_is_deterministic_and_unique_per_uid():
    first = network_policy_name(make_pod(uid="uid-1"))
    assert first == network_policy_name(make_pod(uid="uid-1"))
    assert first != network_policy_name(make_pod(uid="uid-2"))
    assert first.startswith("triage-quarantine-web-7d4b9c-x2x9z-")


def test_network_policy_name_long_pods_sharing_a_prefix_stay_apart():
    prefix = "a" * 240
    one = network_policy_name(make_pod(name=prefix + "-one", uid="u-1"))
    two = network_policy_name(make_pod(name=prefix + "-two", uid="u-2"))
    assert one != two
    _assert_valid_name(one)
    _assert_valid_name(two)


@settings(max_examples=200, deadline=None)
@given(pod_name=st.lists(st.from_regex(r"[a-z0-9]([-a-z0-9]{0,70}[a-z0-9])?", fullmatch=True), min_size=1, max_size=6).map(
    ".".join).filter(lambda n: len(n) <= 253), uid=st.uuids())
def test_network_policy_name_property(pod_name, uid):
    name = network_policy_name(make_pod(name=pod_name, uid=str(uid)))
    _assert_valid_name(name)
    assert name != network_policy_name(make_pod(name=pod_name, uid=str(uid) + "x"))


# --- the quarantine patch ------------------------------------------------------------------

CHANGES = {
    "app": {"before": "web", "after": "quarantined-web"},
    "track": {"before": None, "after": "quarantined"},   # added
    "pod-template-hash": {"before": "7d4b9c", "after": None},  # removed
}


def test_quarantine_patch_without_policy():
    pod = make_pod(labels={"app": "web", "pod-template-hash": "7d4b9c"})
    annotations = {ANN_QUARANTINED_AT: NOW}
    patch = quarantine_patch(pod, CHANGES, annotations)
    assert patch == {"metadata": {
        "resourceVersion": "4711",
        "labels": {"app": "quarantined-web", "track": "quarantined", "pod-template-hash": None,
                   QUARANTINED_LABEL: QUARANTINED_VALUE},
        "annotations": annotations,
    }}
    assert QUARANTINE_ID_LABEL not in patch["metadata"]["labels"]


def test_quarantine_patch_with_policy_adds_the_id_label():
    pod = make_pod(labels={"app": "web"})
    patch = quarantine_patch(pod, {"app": CHANGES["app"]}, {}, network_policy="triage-quarantine-x")
    assert patch["metadata"]["resourceVersion"] == "4711"
    assert patch["metadata"]["labels"] == {"app": "quarantined-web", QUARANTINED_LABEL: QUARANTINED_VALUE,
                                           QUARANTINE_ID_LABEL: UID}
    assert LABEL_VALUE.fullmatch(patch["metadata"]["labels"][QUARANTINE_ID_LABEL])


def test_quarantine_patch_with_no_label_changes_still_marks_the_pod():
    patch = quarantine_patch(make_pod(), {}, {ANN_QUARANTINED_AT: NOW})
    assert patch["metadata"]["labels"] == {QUARANTINED_LABEL: QUARANTINED_VALUE}
    assert patch["metadata"]["resourceVersion"] == "4711"


def test_quarantine_annotations_full():
    annotations = quarantine_annotations(NOW, "alice", "crash loop", "2026-11-23T03:04:05Z", CHANGES, owner_ref(),
                                         "triage-quarantine-web-1234abcd")
    assert annotations == {
        ANN_QUARANTINED_AT: NOW,
        ANN_QUARANTINED_BY: "alice",
        ANN_REASON: "crash loop",
        ANN_EXPIRES_AT: "2026-11-23T03:04:05Z",
        ANN_ORIGINAL_LABELS: '{"app":"web","pod-template-hash":"7d4b9c","track":null}',
        ANN_OWNER: '{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d4b9c","uid":"%s"}' % RS_UID,
        ANN_NETWORK_POLICY: "triage-quarantine-web-1234abcd",
    }
    assert all(isinstance(value, str) for value in annotations.values())  # annotation values are strings


def test_quarantine_annotations_minimal():
    annotations = quarantine_annotations(NOW, None, None, None, {}, None, None)
    assert annotations == {
        ANN_QUARANTINED_AT: NOW,
        ANN_QUARANTINED_BY: "unknown",
        ANN_REASON: "",
        ANN_ORIGINAL_LABELS: "{}",
        ANN_OWNER: "null",
    }


def test_quarantine_annotations_round_trip_through_the_record():
    annotations = quarantine_annotations(NOW, "alice", "r", None, CHANGES, owner_ref(), None)
    record = quarantine_record(make_pod(annotations=annotations))
    assert record["original_labels"] == {"app": "web", "track": None, "pod-template-hash": "7d4b9c"}
    assert record["owner"] == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c", "uid": RS_UID}
    assert record["expires_at"] is None and record["network_policy"] is None


# --- release -------------------------------------------------------------------------------

def _quarantined_by_patch(labels, changes, policy=None, extra_annotations=None):
    pod = make_pod(labels=labels, annotations=dict(extra_annotations or {}), owners=[owner_ref()])
    annotations = quarantine_annotations(NOW, "alice", "r", "2026-11-23T03:04:05Z", changes, owner_ref(), policy)
    patch = quarantine_patch(pod, changes, annotations, policy)
    after = apply_merge_patch(pod["metadata"], patch["metadata"])
    out = copy.deepcopy(pod)
    out["metadata"].update(after)
    out["metadata"]["resourceVersion"] = "4712"
    return out


def test_release_patch_restores_labels_and_removes_marks():
    original = {"app": "web", "pod-template-hash": "7d4b9c", "tier": "fe"}
    pod = _quarantined_by_patch(original, CHANGES, policy="triage-quarantine-web-1234abcd",
                                extra_annotations={"kubectl.kubernetes.io/restartedAt": NOW})
    pod["metadata"]["annotations"][ANN_EVIDENCE] = '{"bundle":"b-1"}'
    patch = release_patch(pod)
    assert patch["metadata"]["resourceVersion"] == "4712"
    assert patch["metadata"]["labels"] == {
        "app": "web",
        "pod-template-hash": "7d4b9c",
        "track": None,  # absent before quarantine: removed again
        QUARANTINED_LABEL: None,
        QUARANTINE_ID_LABEL: None,
    }
    assert patch["metadata"]["annotations"] == dict((key, None) for key in QUARANTINE_ANNOTATIONS)
    after = apply_merge_patch(pod["metadata"], patch["metadata"])
    assert after["labels"] == original
    assert after["annotations"] == {"kubectl.kubernetes.io/restartedAt": NOW, ANN_EVIDENCE: '{"bundle":"b-1"}'}


def test_release_patch_only_names_present_annotations():
    pod = make_pod(labels={"app": "quarantined-web", QUARANTINED_LABEL: "true"},
                   annotations={ANN_QUARANTINED_AT: NOW, ANN_ORIGINAL_LABELS: '{"app":"web"}', ANN_EVIDENCE: "{}"})
    patch = release_patch(pod)
    assert patch["metadata"]["annotations"] == {ANN_QUARANTINED_AT: None, ANN_ORIGINAL_LABELS: None}
    assert patch["metadata"]["labels"] == {"app": "web", QUARANTINED_LABEL: None}


def test_release_patch_without_record_removes_only_the_marks():
    pod = make_pod(labels={"app": "web", QUARANTINED_LABEL: "true", QUARANTINE_ID_LABEL: UID},
                   annotations={ANN_REASON: "r"})
    patch = release_patch(pod)
    assert patch["metadata"]["labels"] == {QUARANTINED_LABEL: None, QUARANTINE_ID_LABEL: None}
    assert patch["metadata"]["annotations"] == {ANN_REASON: None}


def test_release_patch_label_already_back_is_not_rewritten():
    pod = make_pod(labels={"app": "web", QUARANTINED_LABEL: "true"},
                   annotations={ANN_QUARANTINED_AT: NOW, ANN_ORIGINAL_LABELS: '{"app":"web","track":null}'})
    assert release_patch(pod)["metadata"]["labels"] == {QUARANTINED_LABEL: None}


@pytest.mark.parametrize("bad", ["{not json", "[]", '{"app": 1}', '{"triage.k8s/quarantined": "true"}'])
def test_release_patch_refuses_a_bad_record(bad):
    pod = make_pod(labels={QUARANTINED_LABEL: "true"}, annotations={ANN_ORIGINAL_LABELS: bad})
    with pytest.raises(ValueError):
        release_patch(pod)


_keys = st.from_regex(r"[a-z]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
_values = st.from_regex(r"([a-z0-9]([a-z0-9.-]{0,6}[a-z0-9])?)?", fullmatch=True)


@st.composite
def _labels_and_changes(draw):
    labels = draw(st.dictionaries(_keys, _values, max_size=6))
    changes = {}
    for key in draw(st.lists(_keys, max_size=4, unique=True)):
        before = labels.get(key)
        after = draw(st.one_of(st.none(), _values)) if before is not None else draw(_values)
        if after != before:
            changes[key] = {"before": before, "after": after}
    return labels, changes


@settings(max_examples=150, deadline=None)
@given(_labels_and_changes(), st.booleans())
def test_quarantine_then_release_round_trips(labels_and_changes, with_policy):
    labels, changes = labels_and_changes
    pod = _quarantined_by_patch(labels, changes, policy="np" if with_policy else None,
                                extra_annotations={"keep": "me"})
    assert is_quarantined(pod)
    released = apply_merge_patch(pod["metadata"], release_patch(pod)["metadata"])
    assert released["labels"] == labels
    assert released["annotations"] == {"keep": "me"}


# --- apply_merge_patch ---------------------------------------------------------------------

def test_apply_merge_patch():
    meta = {"name": "p", "labels": {"app": "web", "gone": "x"}, "annotations": {"a": "1"}}
    snapshot = copy.deepcopy(meta)
    out = apply_merge_patch(meta, {"resourceVersion": "9", "labels": {"app": "q-web", "gone": None, "new": "v",
                                                                      "never-there": None},
                                   "annotations": {"b": "2"}})
    assert out == {"labels": {"app": "q-web", "new": "v"}, "annotations": {"a": "1", "b": "2"}}
    assert meta == snapshot  # the input is not modified


@pytest.mark.parametrize("meta, patch, expected", [
    ({}, {}, {"labels": {}, "annotations": {}}),
    ({"labels": None, "annotations": None}, {"labels": {"a": "b"}}, {"labels": {"a": "b"}, "annotations": {}}),
    ({"labels": {"a": "b"}}, {"labels": None, "annotations": {"x": None}}, {"labels": {"a": "b"}, "annotations": {}}),
    ({"labels": {"a": "b"}}, {"labels": {"a": ""}}, {"labels": {"a": ""}, "annotations": {}}),
])
def test_apply_merge_patch_edges(meta, patch, expected):
    assert apply_merge_patch(meta, patch) == expected


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


@pytest.mark.parametrize("labels, pod_name, expected", [
    ({MANAGED_BY_LABEL: MANAGED_BY_VALUE, FOR_POD_LABEL: "web-1"}, "web-1", True),
    ({MANAGED_BY_LABEL: MANAGED_BY_VALUE, FOR_POD_LABEL: "web-1"}, None, True),
    ({MANAGED_BY_LABEL: MANAGED_BY_VALUE, FOR_POD_LABEL: "web-1"}, "web-2", False),
    ({MANAGED_BY_LABEL: "helm", FOR_POD_LABEL: "web-1"}, "web-1", False),
    ({MANAGED_BY_LABEL: MANAGED_BY_VALUE}, "web-1", False),
    ({MANAGED_BY_LABEL: MANAGED_BY_VALUE}, None, False),
    ({FOR_POD_LABEL: "web-1"}, "web-1", False),
    ({}, None, False),
    (None, None, False),
    ({MANAGED_BY_LABEL: MANAGED_BY_VALUE, FOR_POD_LABEL: "a" * 63}, "a" * 80, True),
    ({MANAGED_BY_LABEL: MANAGED_BY_VALUE, FOR_POD_LABEL: "a" * 62}, "a" * 62 + "-x", True),
])
def test_is_our_network_policy(labels, pod_name, expected):
    metadata = {"name": "triage-quarantine-web-1-1234abcd", "namespace": "shop"}
    if labels is not None:
        metadata["labels"] = labels
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata, "spec": {}}
    assert is_our_network_policy(policy, pod_name) is expected
