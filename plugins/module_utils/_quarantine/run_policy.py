# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-pod NetworkPolicy against the API: create, replace, repair and delete it so that a
delete only ever removes the very object this run decided about (a uid precondition).

Why replace instead of reuse: a policy of ours that the pod does not record is left over from a
release that has not finished (or failed). Reusing it would let that release delete, by name, the
policy a new quarantine relies on. A fresh object has a new uid, so the old release's
preconditioned delete no longer matches it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._contract.policy import policy_links
from ansible_collections.triage.k8s.plugins.module_utils._contract import record
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.policy import records_policy_now, wanted_policy

# Statuses of a DELETE with a uid precondition that mean "that object is not there any more".
GONE_STATUSES = (404, 409)


def _uid(obj):
    return ((obj or {}).get("metadata") or {}).get("uid")


def delete_exact(kube, namespace, policy):
    """Delete this policy object and no other; False when it was already gone or replaced."""
    try:
        kube.delete("NetworkPolicy", policy["metadata"]["name"], namespace, preconditions={"uid": _uid(policy)})
    except TriageError as exc:
        if exc.details.get("status") in GONE_STATUSES:
            return exc.details.get("api_attempts", 1) > 1  # 404 after a lost response: ours landed
        raise
    return True


def _create(kube, namespace, wanted):
    """Create; an AlreadyExists (a concurrent run, or our own create whose response was lost and
    was sent again) returns the existing object for the caller to check."""
    try:
        return kube.create("NetworkPolicy", namespace, wanted), True
    except TriageError as exc:
        if exc.details.get("reason") != "AlreadyExists":
            found = kube.get_or_none("NetworkPolicy", wanted["metadata"]["name"], namespace)
            if found is None:
                raise
            return found, False  # the create landed although its response did not arrive
    return kube.get("NetworkPolicy", wanted["metadata"]["name"], namespace), False


def _recorded_now(kube, pod, name):
    """Whether the pod, read again, is quarantined with this policy (only asked before replacing one)."""
    return records_policy_now(kube.get_or_none("Pod", pod["metadata"]["name"], pod["metadata"]["namespace"]), pod, name)


def ensure(kube, pod, name, params, recorded, missing=False):
    """Make sure the pod's deny-all policy exists with the wanted rules. recorded: the pod's
    quarantine record already names this policy (a re-run), so an existing one is kept; otherwise
    a leftover made for this pod is replaced. missing: the caller has just read the policy and found none,
    so it is not read again. Returns "created", "replaced", "updated" or None (as wanted).

    Only a policy made for this pod (_contract/policy.policy_links: its for-pod-uid annotation
    names the pod, or, without one, the pod records it) is kept, patched or replaced."""
    namespace = pod["metadata"]["namespace"]
    wanted = wanted_policy(pod, name, params)
    existing = None if missing else kube.get_or_none("NetworkPolicy", name, namespace)
    action = "created"
    if existing is not None:
        if not policy_links(existing, pod):
            raise TriageError('NetworkPolicy "%s" exists in namespace "%s" but was not made by triage.k8s for this '
                              "pod: refusing to touch it; rename or remove it" % (name, namespace))
        if recorded:
            if existing.get("spec") != wanted["spec"]:
                kube.patch("NetworkPolicy", name, namespace, {"spec": wanted["spec"]})
                return "updated"
            return None
        if _recorded_now(kube, pod, name):
            return None  # a concurrent run quarantined the pod with it meanwhile: its policy, kept
        delete_exact(kube, namespace, existing)
        action = "replaced"
    made, fresh = _create(kube, namespace, wanted)
    if not policy_links(made, pod):
        raise TriageError('NetworkPolicy "%s" appeared in namespace "%s" meanwhile and was not made by triage.k8s '
                          "for this pod: refusing to touch it" % (name, namespace))
    if not fresh and made.get("spec") != wanted["spec"]:
        kube.patch("NetworkPolicy", name, namespace, {"spec": wanted["spec"]})
    return action


def discard(kube, made_for, policy_name, pod=None):
    """Delete a policy this run created for the pod `made_for` for a quarantine it did not write,
    unless the pod (`pod`: read again, or read here) records it (a concurrent run quarantined the
    pod with it). Only a policy still made for that pod (policy_links) is deleted, by its uid.
    Returns a problem (policy left) or None."""
    namespace, pod_name = made_for["metadata"]["namespace"], made_for["metadata"]["name"]
    try:
        if pod is None:
            pod = kube.get_or_none("Pod", pod_name, namespace)
        if pod is not None and record.quarantine_record(pod)["network_policy"] == policy_name:
            return None
        policy = kube.get_or_none("NetworkPolicy", policy_name, namespace)
        if policy is not None and policy_links(policy, made_for):
            delete_exact(kube, namespace, policy)
    except TriageError as exc:
        return ('the NetworkPolicy "%s" it created is left in place (%s); it selects only the quarantine-id label, '
                "which the pod does not have, and quarantine_cleanup deletes it as an orphan" % (policy_name, exc.msg))
    return None
