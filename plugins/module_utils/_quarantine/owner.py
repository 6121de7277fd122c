# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a quarantine writes on a pod and how to read it back (docs/contract.md), owner rules,
guards and the per-pod NetworkPolicy. Pure functions over API-shaped dicts (camelCase)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_OWNER,
    FOR_POD_LABEL,
    FOR_POD_UID_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    QUARANTINE_ID_LABEL,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import map_selector_matches, selector_matches
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.plan import SCOPE_TRAFFIC_AND_OWNER
from ansible_collections.triage.k8s.plugins.module_utils._contract.policy import for_pod_value
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import is_quarantined, quarantine_id, read_json_annotation
from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import controller_ref, pod_ready

# Owner kinds whose controller releases a relabelled pod and starts a replacement.
REPLACING_KINDS = ("ReplicaSet", "ReplicationController", "DaemonSet", "Job")
# Owner kinds whose pods are interchangeable replicas: the last Ready one is the workload's last.
# DaemonSet pods are one per node and Job pods are work items: for them (and bare pods) the
# last-Ready guard looks at the pod's Services instead.
REPLICA_KINDS = ("ReplicaSet", "ReplicationController", "StatefulSet")
WHAT_OWNER_DOES = {
    "ReplicaSet": "the ReplicaSet releases the pod and starts a replacement",
    "ReplicationController": "the ReplicationController releases the pod and starts a replacement",
    "DaemonSet": "the DaemonSet releases the pod and starts a replacement on the same node",
    "Job": ("the Job releases the pod and no longer counts it: it starts another pod while it still needs "
            "completions, and the quarantined pod's exit never counts toward success or failure"),
}


def _meta(obj):
    return obj.get("metadata") or {}



def owner_refusal(kind, scope, force=False):
    """Why this owner kind cannot be quarantined with this scope, or None when it can."""
    if kind is None or scope != SCOPE_TRAFFIC_AND_OWNER:
        return None
    if kind == "StatefulSet":
        return ("the pod belongs to a StatefulSet, which cannot start a replacement while the quarantined pod "
                "holds its name (and its volume claims): use scope: traffic_only to take it out of traffic and "
                "leave it managed, or delete the pod when the evidence is safe")
    if kind not in REPLACING_KINDS:
        return ("the pod's controller is a %s, whose selector triage.k8s cannot read and whose replacement "
                "behaviour it cannot know: use scope: traffic_only" % kind)
    return None


def owner_selector(owner):
    """{'kind', 'name', 'selector'} for the planner, from the owner object's spec.selector."""
    kind = owner.get("kind")
    return {"kind": kind, "name": _meta(owner).get("name"), "selector": (owner.get("spec") or {}).get("selector") or {}}


def owner_matches(owner, labels):
    """Whether the owner object's selector selects these labels (a ReplicationController's is a plain map)."""
    selector = (owner.get("spec") or {}).get("selector")
    if owner.get("kind") == "ReplicationController":
        return map_selector_matches(selector, labels)
    return selector_matches(selector, labels)



def owned_by(pod, owner_uid):
    ref = controller_ref(pod)
    return bool(ref and ref.get("uid") == owner_uid)


def quarantined_from_owner(pods, owner_uid):
    """Names of quarantined pods whose owner at quarantine time had this uid."""
    names = []
    for pod in pods:
        if not is_quarantined(pod):
            continue
        record = read_json_annotation(pod, ANN_OWNER)
        if isinstance(record, dict) and record.get("uid") == owner_uid:
            names.append(_meta(pod).get("name"))
    return sorted(names)


def last_ready_replica(pod, owner_pods):
    """True when the pod is Ready and no other pod of the same owner is: taking it out of traffic
    leaves the workload with no ready endpoint until a replacement is up."""
    if not pod_ready(pod):
        return False
    uid = _meta(pod).get("uid")
    return not any(pod_ready(p) for p in owner_pods if _meta(p).get("uid") != uid)


def ready_peers(pod, pods):
    """Names of the Ready, not terminating pods in pods other than pod itself."""
    uid = _meta(pod).get("uid")
    return sorted(_meta(p).get("name") for p in pods
                  if _meta(p).get("uid") != uid and pod_ready(p) and not _meta(p).get("deletionTimestamp"))


def unschedulable_pods(pods):
    """Names of pods the scheduler could not place (PodScheduled False, reason Unschedulable)."""
    names = []
    for pod in pods:
        for cond in (pod.get("status") or {}).get("conditions") or []:
            # Not SchedulingGated: a gated pod has not been tried yet, it is not known to be unplaceable.
            if (cond.get("type") == "PodScheduled" and cond.get("status") == "False"
                    and cond.get("reason") == "Unschedulable"):
                names.append(_meta(pod).get("name"))
    return sorted(names)




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



