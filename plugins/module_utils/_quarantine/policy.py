# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-pod NetworkPolicy of a quarantine: the manifest it wants, and the pure decisions about
an existing one. Whether a policy was made for a pod is _contract/policy.policy_links (one test,
shared with cleanup); run_policy.py does the API calls."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    FOR_POD_LABEL,
    FOR_POD_UID_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    QUARANTINE_ID_LABEL,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.policy import for_pod_value
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import (
    is_quarantined,
    quarantine_id,
    quarantine_record,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import meta as _meta


def network_policy_manifest(pod, name, allow_namespace_labels=None, allow_cidrs=None):
    """Deny all ingress and egress to this pod only (it selects the pod's quarantine-id label),
    except from/to the allow-list that lets forensics tooling in."""
    meta = _meta(pod)
    peers = []
    if allow_namespace_labels:
        peers.append({"namespaceSelector": {"matchLabels": dict(allow_namespace_labels)}})
    for cidr in allow_cidrs or []:
        peers.append({"ipBlock": {"cidr": cidr}})
    spec = {
        "podSelector": {"matchLabels": {QUARANTINE_ID_LABEL: quarantine_id(pod)}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": peers}] if peers else [],
        "egress": [{"to": peers}] if peers else [],
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "namespace": meta.get("namespace"),
            "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE, FOR_POD_LABEL: for_pod_value(meta.get("name"))},
            "annotations": {FOR_POD_UID_ANNOTATION: meta.get("uid")},
        },
        "spec": spec,
    }


def wanted_policy(pod, name, params):
    """The manifest pod_quarantine's parameters ask for (network_allow's namespace labels and CIDRs)."""
    allow = params.get("network_allow") or {}
    return network_policy_manifest(pod, name, allow.get("namespace_labels"), allow.get("cidrs"))


def records_policy_now(now, pod, name):
    """Whether `now` (the pod read again) is still this pod (same uid) and quarantined with the
    policy `name`: then that policy isolates it and is kept, not replaced or discarded."""
    return bool(now and _meta(now).get("uid") == _meta(pod).get("uid") and is_quarantined(now)
                and quarantine_record(now)["network_policy"] == name)


def repair_refusal(pod, name):
    """Why the missing recorded policy `name` of a quarantined pod cannot simply be created again
    (the pod lost its quarantine-id label, which a new policy would select), or None."""
    meta = _meta(pod)
    if (meta.get("labels") or {}).get(QUARANTINE_ID_LABEL) != quarantine_id(pod):
        return ("pod %s is quarantined with NetworkPolicy %s recorded, but that policy is missing and the pod "
                "no longer has its %s label, so a new policy would not select it: release the pod and "
                "quarantine it again" % (meta.get("name"), name, QUARANTINE_ID_LABEL))
    return None
