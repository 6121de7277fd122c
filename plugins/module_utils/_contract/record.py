# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The on-pod quarantine record (docs/contract.md): what pod_quarantine writes on a pod, and the
readers every module uses to tell a quarantined pod and decode what was recorded. Pure functions
over API-shaped dicts (camelCase)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
    PREFIX,
    QUARANTINE_ANNOTATIONS,
    QUARANTINE_ID_LABEL,
    QUARANTINED_LABEL,
    QUARANTINED_VALUE,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import validate_label_key, validate_label_value
from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import meta as _meta


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


def owner_record(ref):
    if not ref:
        return None
    return dict((k, ref.get(k)) for k in ("apiVersion", "kind", "name", "uid"))


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


def remote_evidence_url(evidence):
    """Where the verified remote copy of a pod's evidence is (the evidence annotation's remote.url,
    written by pod_evidence only after its upload verified), or None. evidence: the decoded annotation."""
    remote = evidence.get("remote") if isinstance(evidence, dict) else None
    url = remote.get("url") if isinstance(remote, dict) else None
    return url if isinstance(url, str) and url else None


def quarantine_id(pod):
    """A label value unique to this pod: its uid (valid as a label value, never reused)."""
    return _meta(pod).get("uid")


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


def encode_original_labels(changes):
    """Compact JSON for the original-labels annotation: {key: value before quarantine or null}.

    Accepts the planner's changes ({key: {'before', 'after'}}) or an already flat {key: before}.
    """
    record = dict((key, change.get("before") if isinstance(change, dict) else change) for key, change in changes.items())
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def decode_original_labels(text):
    """The {key: value or None} record from the original-labels annotation; ValueError on garbage."""
    where = "annotation %s" % ANN_ORIGINAL_LABELS
    hint = ('it must be a JSON object mapping each label key to its value before quarantine, or null if the label '
            'was absent, e.g. {"app":"web","track":null}; fix it, or remove it and restore the labels by hand')
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not isinstance(text, str):
        raise ValueError("%s is missing or not text (%r): %s" % (where, text, hint))
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise ValueError("%s is not valid JSON (%s): %s" % (where, exc, hint))
    if not isinstance(record, dict):
        raise ValueError("%s holds %s, not an object: %s" % (where, type(record).__name__, hint))
    for key, value in record.items():
        problem = validate_label_key(key) or (value is not None and validate_label_value(value))
        if not problem and key.startswith(PREFIX):
            problem = "key %r is under %s, which quarantine never records" % (key, PREFIX)
        if problem:
            raise ValueError("%s has a bad entry: %s; %s" % (where, problem, hint))
    return record


def restore_labels(current_labels, original_labels_record):
    """Labels with every recorded key put back (value, or absence) and the quarantine labels removed.

    original_labels_record is the decoded record, or the annotation text itself.
    """
    if not isinstance(original_labels_record, dict):
        original_labels_record = decode_original_labels(original_labels_record)
    restored = dict(current_labels or {})
    for key, value in original_labels_record.items():
        if value is None:
            restored.pop(key, None)
        else:
            restored[key] = value
    restored.pop(QUARANTINED_LABEL, None)
    restored.pop(QUARANTINE_ID_LABEL, None)
    return restored
