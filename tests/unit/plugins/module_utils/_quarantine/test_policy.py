# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _quarantine/policy.py: the deny-all NetworkPolicy pod_quarantine makes, and the
pure decisions about an existing one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_NETWORK_POLICY,
    ANN_QUARANTINED_AT,
    FOR_POD_LABEL,
    FOR_POD_UID_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    QUARANTINE_ID_LABEL,
    QUARANTINED_LABEL,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.policy import is_our_network_policy, network_policy_name, policy_links
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.policy import (
    network_policy_manifest,
    records_policy_now,
    repair_refusal,
    wanted_policy,
)
from ansible_collections.triage.k8s.tests.unit.plugins.module_utils._contract.pods import LABEL_VALUE, NOW, UID, make_pod


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


def test_wanted_policy_reads_network_allow():
    pod = make_pod()
    allow = {"namespace_labels": {"team": "sec"}, "cidrs": ["10.0.0.0/8"]}
    assert wanted_policy(pod, "np", {"network_allow": allow}) == network_policy_manifest(
        pod, "np", {"team": "sec"}, ["10.0.0.0/8"])
    assert wanted_policy(pod, "np", {"network_allow": None}) == network_policy_manifest(pod, "np")
    assert wanted_policy(pod, "np", {}) == network_policy_manifest(pod, "np")


# --- whose policy ----------------------------------------------------------------------------

POD = {"metadata": {"name": "web-1", "namespace": "shop", "uid": "u-1",
                    "labels": {"app": "quarantined-web", "triage.k8s/quarantined": "true"},
                    "annotations": {"triage.k8s/quarantined-at": "2026-12-01T03:00:00Z", "triage.k8s/reason": "oom"}}}


def test_a_policy_is_ours_only_for_the_pod_it_names_and_its_uid():
    """What pod_quarantine makes is linked to its pod by _contract/policy.policy_links, the test
    quarantine, release and cleanup share."""
    policy = network_policy_manifest(POD, "triage-quarantine-web-1-abcd1234")
    assert policy_links(policy, POD)
    other_uid = {"metadata": dict(POD["metadata"], uid="u-2")}
    assert not policy_links(policy, other_uid)
    other_name = {"metadata": dict(POD["metadata"], name="web-2")}
    assert not policy_links(policy, other_name)
    foreign = {"metadata": {"name": "triage-quarantine-web-1-abcd1234", "labels": {}}}
    assert not policy_links(foreign, POD) and not policy_links(None, POD)


def _recording(name, uid=UID, quarantined=True):
    labels = {QUARANTINED_LABEL: "true"} if quarantined else {}
    return make_pod(uid=uid, labels=labels, annotations={ANN_QUARANTINED_AT: NOW, ANN_NETWORK_POLICY: name})


def test_records_policy_now_needs_the_same_pod_quarantined_with_that_policy():
    pod = make_pod()
    assert records_policy_now(_recording("np"), pod, "np")
    assert not records_policy_now(_recording("np-other"), pod, "np")
    assert not records_policy_now(_recording("np", uid="another-pod"), pod, "np")  # replaced under its name
    assert not records_policy_now(_recording("np", quarantined=False), pod, "np")
    assert not records_policy_now(None, pod, "np")  # the pod is gone
    assert not records_policy_now(make_pod(), pod, "np")


def test_a_missing_policy_is_made_again_only_while_the_pod_has_its_quarantine_id():
    assert repair_refusal(make_pod(labels={QUARANTINE_ID_LABEL: UID}), "np") is None
    for labels in ({}, {QUARANTINE_ID_LABEL: "someone-else"}, None):
        assert repair_refusal(make_pod(labels=labels), "np") == (
            "pod web-7d4b9c-x2x9z is quarantined with NetworkPolicy np recorded, but that policy is missing and the "
            "pod no longer has its triage.k8s/quarantine-id label, so a new policy would not select it: release "
            "the pod and quarantine it again")
