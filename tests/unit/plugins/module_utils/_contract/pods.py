# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""API-shaped pods and owner references (camelCase, as `kubectl get -o json` prints them) shared
by the unit tests of _contract, _quarantine and _k8s/objects.py. Not a test file itself."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_ORIGINAL_LABELS,
    ANN_OWNER,
    ANN_QUARANTINED_AT,
    QUARANTINED_LABEL,
    QUARANTINED_VALUE,
)

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
