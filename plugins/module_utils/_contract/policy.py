# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The marks of the per-pod NetworkPolicies this collection makes (docs/contract.md): their name,
the for-pod label and for-pod-uid annotation, and the one test of whether a policy was made for a
pod. Pure functions over API-shaped dicts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_NETWORK_POLICY,
    FOR_POD_LABEL,
    FOR_POD_UID_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import LABEL_VALUE_MAX
from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import meta as _meta

POLICY_NAME_PREFIX = "triage-quarantine-"
# network_policy_name() cuts "triage-quarantine-<pod>" at this length before the uid suffix.
POLICY_NAME_CUT = 240


def for_pod_value(pod_name):
    """The for-pod label value for a pod name: cut to a label value's length, ending alphanumeric."""
    return (pod_name or "")[:LABEL_VALUE_MAX].rstrip("-.")


def network_policy_name(pod):
    """`triage-quarantine-<pod>`, kept to a valid name length with a uid suffix for uniqueness."""
    meta = _meta(pod)
    digest = hashlib.sha256(meta.get("uid", "").encode("utf-8")).hexdigest()[:8]
    return (POLICY_NAME_PREFIX + meta.get("name", ""))[:POLICY_NAME_CUT].rstrip("-.") + "-" + digest


def policy_for_pod_uid(policy):
    """The uid of the pod a NetworkPolicy of ours was made for (its for-pod-uid annotation), or None."""
    return (_meta(policy).get("annotations") or {}).get(FOR_POD_UID_ANNOTATION)


def is_our_network_policy(policy, pod_name=None):
    labels = _meta(policy).get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE or FOR_POD_LABEL not in labels:
        return False
    return pod_name is None or labels[FOR_POD_LABEL] == for_pod_value(pod_name)


def policy_pod_name(policy):
    return (_meta(policy).get("labels") or {}).get(FOR_POD_LABEL)


def is_ours(policy):
    """All three marks: managed-by and for-pod labels, for-pod-uid annotation."""
    return is_our_network_policy(policy) and bool(policy_for_pod_uid(policy))


def records_policy(pod, policy):
    """Whether the pod names this policy in its network-policy annotation."""
    return (_meta(pod).get("annotations") or {}).get(ANN_NETWORK_POLICY) == _meta(policy).get("name")


def policy_links(policy, pod):
    """Whether this NetworkPolicy was made for this pod: same namespace, ours, and the pod's uid in
    its for-pod-uid annotation (or, without one, the pod names it in its network-policy annotation)."""
    pmeta, meta = _meta(policy), _meta(pod)
    if pmeta.get("namespace") != meta.get("namespace") or not is_our_network_policy(policy, meta.get("name") or ""):
        return False
    uid = policy_for_pod_uid(policy)
    if uid:
        return uid == meta.get("uid")
    return records_policy(pod, policy)
