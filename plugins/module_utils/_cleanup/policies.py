# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which of this collection's NetworkPolicies quarantine_cleanup may delete. Pure functions over
API-shaped dicts (camelCase): no I/O, no clock (the caller passes `now`).

A policy is ours only with all three marks pod_quarantine writes: the managed-by label, the
for-pod label and the for-pod-uid annotation. Anything else is never touched. One of ours goes:
  - with its pod, when cleanup deletes that pod (matched by uid);
  - when its pod is gone: no pod of that name, or one with another uid;
  - when its pod is still there but no longer isolated by it (released, or quarantined with
    another NetworkPolicy or none), once the policy is older than orphan_min_age: pod_quarantine
    creates the policy a moment before it labels the pod, and that moment must not look orphaned.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_NETWORK_POLICY,
    FOR_POD_LABEL,
    FOR_POD_UID_ANNOTATION,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.policy import (
    is_our_network_policy,
    network_policy_name,
    policy_for_pod_uid,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import has_quarantine_marks, is_quarantined
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import parse_rfc3339
from ansible_collections.triage.k8s.plugins.module_utils._contract.policy import POLICY_NAME_CUT, POLICY_NAME_PREFIX, policy_pod_name, records_policy
from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import LABEL_VALUE_MAX
from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import meta as _meta


def pod_lookup(policy):
    """(pod name, certain): the name to look the policy's pod up by, and whether a 404 for it
    proves the pod gone. The for-pod label holds at most LABEL_VALUE_MAX (63) characters; a longer pod name is
    read back from the policy's own name when that name is exactly what pod_quarantine would
    have made for this uid."""
    label = policy_pod_name(policy) or ""
    uid = policy_for_pod_uid(policy)
    name = _meta(policy).get("name") or ""
    if uid and name.startswith(POLICY_NAME_PREFIX) and len(name) > len(POLICY_NAME_PREFIX) + 9:
        candidate = name[len(POLICY_NAME_PREFIX):-9]
        uncut = len(POLICY_NAME_PREFIX) + len(candidate) < POLICY_NAME_CUT
        if (uncut and candidate[:LABEL_VALUE_MAX].rstrip("-.") == label
                and network_policy_name({"metadata": {"name": candidate, "uid": uid}}) == name):
            return candidate, True
    return label, len(label) < LABEL_VALUE_MAX


def age_seconds(obj, now):
    try:
        return (now - parse_rfc3339(_meta(obj).get("creationTimestamp"))).total_seconds()
    except (TypeError, ValueError):
        return None


def _pod_state(pod, recorded):
    if is_quarantined(pod):
        if recorded:
            return "quarantined with NetworkPolicy %s, not this one" % recorded
        return "quarantined without a NetworkPolicy"
    if has_quarantine_marks(pod):
        return "no longer quarantined (some quarantine marks are left, naming no NetworkPolicy or another one)"
    return "no longer quarantined (released)"


def orphan_verdict(policy, pod, now, min_age, certain=True):
    """For one of our policies not going with a pod cleanup deletes: delete it now?

    `pod` is the pod found for it (the listed quarantined pod of its uid, or a GET of the name
    pod_lookup gave; None when not found); `certain` is pod_lookup's second value; `now` an aware
    UTC datetime; `min_age` seconds. Returns (delete, why). Total: never raises.
    """
    uid, name = policy_for_pod_uid(policy), policy_pod_name(policy) or ""
    if not is_our_network_policy(policy):
        return False, "not made by triage.k8s (no %s label or no %s label): never touched" % (
            "app.kubernetes.io/managed-by=triage.k8s", FOR_POD_LABEL)
    if not uid:
        return False, ("it has no %s annotation, so which pod it was made for cannot be told: left alone"
                       % FOR_POD_UID_ANNOTATION)
    if pod is None:
        if not certain:
            return False, ("its pod %s... may still exist under a longer name (the %s label holds at most %d "
                           "characters): kept; delete it by hand once its pod is gone" % (name, FOR_POD_LABEL,
                                                                                          LABEL_VALUE_MAX))
        return True, "its pod %s (uid %s) is gone" % (name, uid)
    meta = _meta(pod)
    if meta.get("uid") != uid:
        return True, "its pod %s (uid %s) is gone; a different pod (uid %s) has that name now" % (
            meta.get("name") or name, uid, meta.get("uid"))
    pod_name = meta.get("name") or name
    if meta.get("deletionTimestamp"):
        return False, "its pod %s is being deleted: the policy goes with it, or in the next run" % pod_name
    if records_policy(pod, policy):
        if is_quarantined(pod):
            return False, "the isolation of quarantined pod %s: left alone" % pod_name
        return False, ("pod %s still names it in its %s annotation: left alone; release the pod to remove both"
                       % (pod_name, ANN_NETWORK_POLICY))
    state = _pod_state(pod, (meta.get("annotations") or {}).get(ANN_NETWORK_POLICY))
    age = age_seconds(policy, now)
    if age is None:
        return False, "its pod %s is %s, but the policy has no readable creationTimestamp: kept" % (pod_name, state)
    if age < min_age:
        return False, ("its pod %s is %s, but the policy is only %ds old (orphan_min_age %ds): a quarantine may "
                       "still be writing it; left for a later run" % (pod_name, state, max(0, int(age)), min_age))
    return True, "its pod %s is %s" % (pod_name, state)
