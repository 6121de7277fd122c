# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The on-pod contract every triage.k8s module reads and writes (see docs/contract.md).

The prefix lives here and only here: every label and annotation key is derived from it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

PREFIX = "triage.k8s/"

# Label: selects every quarantined pod with one label selector.
QUARANTINED_LABEL = PREFIX + "quarantined"
QUARANTINED_VALUE = "true"
QUARANTINED_SELECTOR = QUARANTINED_LABEL + "=" + QUARANTINED_VALUE

# Label unique to one quarantined pod; the per-pod NetworkPolicy selects on it.
QUARANTINE_ID_LABEL = PREFIX + "quarantine-id"

# Annotations written at quarantine time.
ANN_QUARANTINED_AT = PREFIX + "quarantined-at"
ANN_QUARANTINED_BY = PREFIX + "quarantined-by"
ANN_REASON = PREFIX + "reason"
ANN_EXPIRES_AT = PREFIX + "expires-at"
ANN_ORIGINAL_LABELS = PREFIX + "original-labels"
ANN_OWNER = PREFIX + "owner"
ANN_NETWORK_POLICY = PREFIX + "network-policy"
# Written by pod_evidence on a quarantined pod.
ANN_EVIDENCE = PREFIX + "evidence"

QUARANTINE_ANNOTATIONS = (
    ANN_QUARANTINED_AT,
    ANN_QUARANTINED_BY,
    ANN_REASON,
    ANN_EXPIRES_AT,
    ANN_ORIGINAL_LABELS,
    ANN_OWNER,
    ANN_NETWORK_POLICY,
)

# Label on objects this collection creates (NetworkPolicies), naming the pod they serve.
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "triage.k8s"
FOR_POD_LABEL = PREFIX + "for-pod"
# Annotation on those objects: the uid of the pod they serve (a pod of the same name is not it).
FOR_POD_UID_ANNOTATION = PREFIX + "for-pod-uid"
# Selects every NetworkPolicy this collection made, with one label selector.
OUR_POLICIES_SELECTOR = "%s=%s,%s" % (MANAGED_BY_LABEL, MANAGED_BY_VALUE, FOR_POD_LABEL)
