# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _contract/policy.py: the marks of our per-pod NetworkPolicies, their name, and
policy_links, the one test of whether a policy was made for a pod (quarantine and cleanup)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_NETWORK_POLICY,
    FOR_POD_LABEL,
    FOR_POD_UID_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.policy import (
    is_our_network_policy,
    network_policy_name,
    policy_links,
    records_policy,
)
from ansible_collections.triage.k8s.tests.unit.plugins.module_utils._contract.pods import DNS_SUBDOMAIN, make_pod


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


# --- our marks ------------------------------------------------------------------------------

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


# --- policy_links: made for this pod ---------------------------------------------------------

def _pod(annotations=None, name="p", uid="uid-p", namespace="shop"):
    return {"metadata": {"name": name, "namespace": namespace, "uid": uid, "annotations": annotations or {}}}


def _policy(pod_name="p", uid="uid-p", namespace="shop", name="triage-quarantine-p-1234", ours=True):
    labels = {MANAGED_BY_LABEL: MANAGED_BY_VALUE, FOR_POD_LABEL: pod_name} if ours else {"app": "x"}
    annotations = {FOR_POD_UID_ANNOTATION: uid} if uid else {}
    return {"metadata": {"name": name, "namespace": namespace, "uid": "np-" + name, "labels": labels,
                         "annotations": annotations}}


def test_policy_links_by_uid_or_by_the_pod_annotation():
    subject = _pod()
    assert policy_links(_policy(), subject)
    assert not policy_links(_policy(uid="someone-else"), subject)
    assert not policy_links(_policy(namespace="other"), subject)
    assert not policy_links(_policy(ours=False), subject)
    assert not policy_links(_policy(uid=None), subject)
    subject["metadata"]["annotations"][ANN_NETWORK_POLICY] = "triage-quarantine-p-1234"
    assert policy_links(_policy(uid=None), subject) and records_policy(subject, _policy(uid=None))


def test_a_policy_without_the_uid_annotation_is_not_taken_by_its_name_alone():
    """pod_quarantine always writes for-pod-uid: a policy without it that carries our labels and the
    pod's name is for this pod only if the pod records it by name (never adopted or deleted otherwise)."""
    assert not policy_links(_policy(uid=None), _pod())
    assert not policy_links(_policy(uid=None), _pod({ANN_NETWORK_POLICY: "triage-quarantine-p-other"}))
    assert policy_links(_policy(uid=None), _pod({ANN_NETWORK_POLICY: "triage-quarantine-p-1234"}))


def test_the_uid_annotation_decides_even_when_the_pod_records_the_policy():
    recorded = _pod({ANN_NETWORK_POLICY: "triage-quarantine-p-1234"})
    assert not policy_links(_policy(uid="old-pod-uid"), recorded)  # a pod replaced under the same name
    assert policy_links(_policy(), recorded)


@pytest.mark.parametrize("policy", [None, {}, {"metadata": None}])
def test_policy_links_of_nothing(policy):
    assert not policy_links(policy, _pod())
