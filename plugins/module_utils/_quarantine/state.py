# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a quarantine writes on a pod and how to read it back (docs/contract.md), owner rules,
guards and the per-pod NetworkPolicy. Pure functions over API-shaped dicts (camelCase)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

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
from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import map_selector_matches, selector_matches
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.plan import (
    SCOPE_TRAFFIC_AND_OWNER,
    decode_original_labels,
    encode_original_labels,
    restore_labels,
)

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


def is_quarantined(pod):
    """Ours and quarantined: the label AND the quarantined-at annotation (a look-alike is not)."""
    meta = _meta(pod)
    return ((meta.get("labels") or {}).get(QUARANTINED_LABEL) == QUARANTINED_VALUE
            and ANN_QUARANTINED_AT in (meta.get("annotations") or {}))


def has_quarantine_marks(pod):
    """Any trace of a quarantine (label or one of our annotations): release cleans these up."""
    meta = _meta(pod)
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    return (QUARANTINED_LABEL in labels or QUARANTINE_ID_LABEL in labels
            or any(key in annotations for key in QUARANTINE_ANNOTATIONS))


def controller_ref(pod):
    """The ownerReference with controller: true, or None (a bare pod)."""
    for ref in _meta(pod).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def owner_record(ref):
    if not ref:
        return None
    return dict((k, ref.get(k)) for k in ("apiVersion", "kind", "name", "uid"))


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


def pod_ready(pod):
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


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


def read_json_annotation(pod, key):
    text = (_meta(pod).get("annotations") or {}).get(key)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def quarantine_record(pod):
    """The contract annotations of a pod, decoded, for results and readers."""
    annotations = _meta(pod).get("annotations") or {}
    try:
        original = decode_original_labels(annotations[ANN_ORIGINAL_LABELS]) if ANN_ORIGINAL_LABELS in annotations else None
    except ValueError:
        original = None
    return {
        "quarantined_at": annotations.get(ANN_QUARANTINED_AT),
        "quarantined_by": annotations.get(ANN_QUARANTINED_BY),
        "reason": annotations.get(ANN_REASON),
        "expires_at": annotations.get(ANN_EXPIRES_AT),
        "original_labels": original,
        "owner": read_json_annotation(pod, ANN_OWNER),
        "network_policy": annotations.get(ANN_NETWORK_POLICY),
        "evidence": read_json_annotation(pod, ANN_EVIDENCE),
    }


def quarantine_id(pod):
    """A label value unique to this pod: its uid (valid as a label value, never reused)."""
    return _meta(pod).get("uid")


def network_policy_name(pod):
    """`triage-quarantine-<pod>`, kept to a valid name length with a uid suffix for uniqueness."""
    meta = _meta(pod)
    digest = hashlib.sha256(meta.get("uid", "").encode("utf-8")).hexdigest()[:8]
    return ("triage-quarantine-%s" % meta.get("name", ""))[:240].rstrip("-.") + "-" + digest


def quarantine_patch(pod, changes, annotations, network_policy=None):
    """One merge patch, guarded by resourceVersion, that writes the label changes, the quarantine
    label (and id label for a NetworkPolicy) and the contract annotations together."""
    labels = dict((key, change["after"]) for key, change in changes.items())
    labels[QUARANTINED_LABEL] = QUARANTINED_VALUE
    if network_policy:
        labels[QUARANTINE_ID_LABEL] = quarantine_id(pod)
    return {"metadata": {"resourceVersion": _meta(pod).get("resourceVersion"), "labels": labels,
                         "annotations": annotations}}


def quarantine_annotations(now, by, reason, expires_at, changes, owner_ref, network_policy):
    annotations = {
        ANN_QUARANTINED_AT: now,
        ANN_QUARANTINED_BY: by or "unknown",
        ANN_REASON: reason or "",
        ANN_ORIGINAL_LABELS: encode_original_labels(changes),
        ANN_OWNER: json.dumps(owner_record(owner_ref), sort_keys=True, separators=(",", ":")),
    }
    if expires_at:
        annotations[ANN_EXPIRES_AT] = expires_at
    if network_policy:
        annotations[ANN_NETWORK_POLICY] = network_policy
    return annotations


def release_patch(pod):
    """Merge patch that restores the recorded labels and removes every quarantine mark except the
    evidence annotation (the bundle still describes this pod). ValueError if the record is bad."""
    meta = _meta(pod)
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    record = decode_original_labels(annotations[ANN_ORIGINAL_LABELS]) if ANN_ORIGINAL_LABELS in annotations else {}
    restored = restore_labels(labels, record)
    label_patch = dict((key, restored.get(key)) for key in set(labels) | set(restored) if labels.get(key) != restored.get(key))
    annotation_patch = dict((key, None) for key in QUARANTINE_ANNOTATIONS if key in annotations)
    return {"metadata": {"resourceVersion": meta.get("resourceVersion"), "labels": label_patch,
                         "annotations": annotation_patch}}


def apply_merge_patch(obj_meta, patch_meta):
    """The labels and annotations a metadata merge patch would leave (for check mode and diff)."""
    out = {}
    for field in ("labels", "annotations"):
        current = dict(obj_meta.get(field) or {})
        for key, value in (patch_meta.get(field) or {}).items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        out[field] = current
    return out


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
            "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE, FOR_POD_LABEL: meta.get("name")[:63].rstrip("-.")},
            "annotations": {FOR_POD_UID_ANNOTATION: meta.get("uid")},
        },
        "spec": spec,
    }


def policy_for_pod_uid(policy):
    """The uid of the pod a NetworkPolicy of ours was made for (its for-pod-uid annotation), or None."""
    return (_meta(policy).get("annotations") or {}).get(FOR_POD_UID_ANNOTATION)


def is_our_network_policy(policy, pod_name=None):
    labels = _meta(policy).get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE or FOR_POD_LABEL not in labels:
        return False
    return pod_name is None or labels[FOR_POD_LABEL] == pod_name[:63].rstrip("-.")
