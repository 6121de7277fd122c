# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The owner rules of a quarantine: which controllers replace a relabelled pod and what they do,
reading an owner's selector, which pods it owns, which of them are Ready or cannot be scheduled,
and which quarantined pods it had. Pure functions over API-shaped dicts (camelCase); the
refusals built on them are in guards.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import ANN_OWNER
from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import map_selector_matches, selector_matches
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import is_quarantined, read_json_annotation
from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import controller_ref, meta as _meta, pod_ready

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
