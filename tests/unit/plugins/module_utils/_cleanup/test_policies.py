# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _cleanup/policies.py: which of our NetworkPolicies cleanup may delete (orphans),
with a property test that a policy without all three of our marks, or still isolating its
quarantined pod, is never chosen. (policy_links and records_policy themselves are tested in
_contract/test_policy.py.)"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._cleanup.policies import orphan_verdict, pod_lookup
from ansible_collections.triage.k8s.plugins.module_utils._contract.policy import records_policy
from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_EVIDENCE,
    ANN_NETWORK_POLICY,
    ANN_ORIGINAL_LABELS,
    ANN_QUARANTINED_AT,
    FOR_POD_LABEL,
    FOR_POD_UID_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    QUARANTINE_ID_LABEL,
    QUARANTINED_LABEL,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.policy import network_policy_name
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import apply_merge_patch, release_patch
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.policy import network_policy_manifest
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
HOUR = 3600
MIN_AGE = 600


def pod(name="p", uid="uid-p", namespace="shop", quarantined=True, policy_name=None, **meta):
    labels, annotations = {"app": "web"}, {}
    if quarantined:
        labels[QUARANTINED_LABEL] = "true"
        annotations.update({ANN_QUARANTINED_AT: format_rfc3339(NOW - timedelta(hours=2)),
                            ANN_ORIGINAL_LABELS: json.dumps({})})
        if policy_name:
            labels[QUARANTINE_ID_LABEL] = uid
            annotations[ANN_NETWORK_POLICY] = policy_name
    metadata = {"name": name, "namespace": namespace, "uid": uid, "resourceVersion": "7", "labels": labels,
                "annotations": annotations}
    metadata.update(meta)
    return {"metadata": metadata}


def policy(pod_name="p", uid="uid-p", namespace="shop", name="triage-quarantine-p-1234", ours=True, age=HOUR):
    labels = {MANAGED_BY_LABEL: MANAGED_BY_VALUE, FOR_POD_LABEL: pod_name} if ours else {"app": "x"}
    annotations = {FOR_POD_UID_ANNOTATION: uid} if uid else {}
    created = format_rfc3339(NOW - timedelta(seconds=age)) if age is not None else None
    return {"metadata": {"name": name, "namespace": namespace, "uid": "np-" + name, "resourceVersion": "3",
                         "labels": labels, "annotations": annotations, "creationTimestamp": created}}


def made_for(subject, age=HOUR):
    """The policy pod_quarantine makes for this pod."""
    body = network_policy_manifest(subject, network_policy_name(subject))
    body["metadata"].update(uid="np-uid", resourceVersion="3",
                            creationTimestamp=format_rfc3339(NOW - timedelta(seconds=age)))
    return body


def verdict(policy_, pod_, certain=True, min_age=MIN_AGE):
    return orphan_verdict(policy_, pod_, NOW, min_age, certain)


# --- links ----------------------------------------------------------------------------------

# --- the pod's name ---------------------------------------------------------------------------

def test_pod_lookup_reads_a_long_pod_name_back_from_the_policy_name():
    long_name = "a" * 40 + "-" + "b" * 60  # 101 characters: the label holds 63 of them
    subject = pod(long_name, uid="uid-long")
    assert pod_lookup(made_for(subject)) == (long_name, True)
    assert pod_lookup(made_for(pod("web-1", uid="u1"))) == ("web-1", True)


def test_pod_lookup_is_unsure_when_the_label_may_be_cut():
    long_name = "x" * 70
    subject = made_for(pod(long_name, uid="uid-x"))
    subject["metadata"]["annotations"][FOR_POD_UID_ANNOTATION] = "another-uid"  # the name's digest no longer fits
    assert pod_lookup(subject) == ("x" * 63, False)
    renamed = policy(pod_name="x" * 63, name="hand-made")
    assert pod_lookup(renamed) == ("x" * 63, False)
    assert pod_lookup(policy(pod_name="short", name="hand-made")) == ("short", True)
    # A pod name so long that the policy name was cut: the policy name cannot give it back.
    huge = pod("y" * 250, uid="uid-y")
    assert pod_lookup(made_for(huge)) == ("y" * 63, False)


# --- orphans --------------------------------------------------------------------------------

def test_a_policy_whose_pod_is_gone_or_replaced_goes_at_once():
    assert verdict(policy(), None) == (True, "its pod p (uid uid-p) is gone")
    assert verdict(policy(age=1), None)[0] is True  # a gone pod cannot be in the middle of a quarantine
    delete, why = verdict(policy(), pod(uid="new-uid"))
    assert delete is True and "a different pod (uid new-uid) has that name now" in why
    assert verdict(policy(pod_name="x" * 63), None, certain=False)[0] is False


def test_a_released_pod_leaves_an_orphan():
    """What release without `delete networkpolicies` leaves: the pod released, its policy there."""
    subject = pod(policy_name="triage-quarantine-p-1234")
    meta = subject["metadata"]
    meta.update(apply_merge_patch(meta, release_patch(subject)["metadata"]))
    assert verdict(policy(), subject) == (True, "its pod p is no longer quarantined (released)")
    young, why = verdict(policy(age=30), subject)
    assert young is False and "only 30s old (orphan_min_age 600s)" in why
    assert verdict(policy(age=30), subject, min_age=0)[0] is True
    assert verdict(policy(age=None), subject)[0] is False  # no creationTimestamp: age unknown


def test_a_quarantined_pod_recording_another_policy_or_none():
    assert verdict(policy(), pod(policy_name="triage-quarantine-p-9999")) == (
        True, "its pod p is quarantined with NetworkPolicy triage-quarantine-p-9999, not this one")
    assert verdict(policy(), pod()) == (True, "its pod p is quarantined without a NetworkPolicy")


def test_a_policy_still_recorded_by_its_pod_is_left_alone():
    live = pod(policy_name="triage-quarantine-p-1234")
    assert verdict(policy(), live) == (False, "the isolation of quarantined pod p: left alone")
    half = pod(policy_name="triage-quarantine-p-1234")
    del half["metadata"]["labels"][QUARANTINED_LABEL]
    delete, why = verdict(policy(), half)
    assert delete is False and "still names it" in why


def test_a_terminating_pod_keeps_its_policy_until_it_is_gone():
    terminating = pod(quarantined=False, deletionTimestamp="2026-06-01T11:59:00Z")
    assert verdict(policy(), terminating)[0] is False


@pytest.mark.parametrize("subject", [policy(ours=False), policy(uid=None),
                                     dict(policy(), metadata=dict(policy()["metadata"], labels={
                                         MANAGED_BY_LABEL: MANAGED_BY_VALUE}))],
                         ids=["foreign", "no-uid-annotation", "no-for-pod-label"])
def test_a_policy_without_all_our_marks_is_never_touched(subject):
    for found in (None, pod(quarantined=False), pod(uid="other")):
        assert verdict(subject, found)[0] is False


# --- properties -------------------------------------------------------------------------------

PODS = st.builds(
    pod, name=st.sampled_from(["p", "q"]), uid=st.sampled_from(["uid-p", "uid-q"]), quarantined=st.booleans(),
    policy_name=st.sampled_from([None, "triage-quarantine-p-1234", "other"]),
    deletionTimestamp=st.sampled_from([None, "2026-06-01T11:00:00Z"])) | st.none()
POLICIES = st.builds(policy, pod_name=st.sampled_from(["p", "q"]), uid=st.sampled_from([None, "uid-p", "uid-q"]),
                     ours=st.booleans(), age=st.sampled_from([None, 0, 30, 599, 600, HOUR]))


@given(POLICIES, PODS, st.booleans(), st.sampled_from([0, 600]))
def test_never_deletes_what_is_not_ours_or_still_isolates(policy_, pod_, certain, min_age):
    delete, why = orphan_verdict(policy_, pod_, NOW, min_age, certain)
    assert isinstance(why, str) and why
    if not delete:
        return
    meta = policy_["metadata"]
    assert meta["labels"].get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE and meta["annotations"].get(FOR_POD_UID_ANNOTATION)
    if pod_ is None:
        assert certain
        return
    same = pod_["metadata"]["uid"] == meta["annotations"][FOR_POD_UID_ANNOTATION]
    if same:
        assert not records_policy(pod_, policy_)  # never the isolation its pod records
        assert not pod_["metadata"].get("deletionTimestamp")
        assert meta["creationTimestamp"] and NOW - timedelta(seconds=min_age) >= datetime.strptime(
            meta["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def test_evidence_is_not_a_quarantine_mark():
    released = pod(quarantined=False)
    released["metadata"]["annotations"][ANN_EVIDENCE] = "{}"
    assert verdict(policy(), released) == (True, "its pod p is no longer quarantined (released)")
