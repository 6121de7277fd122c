# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release one quarantined pod against the API: restore its labels, remove the marks, delete its
NetworkPolicy. The policy is read (and the permission to delete it checked) before the pod is
changed, and deleted by uid afterwards, so a quarantine that raced this release keeps its own."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._quarantine import run_policy as quarantine_policy
from ansible_collections.triage.k8s.plugins.module_utils._contract import record
from ansible_collections.triage.k8s.plugins.module_utils._contract.policy import policy_links
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.outcome import WriteUnknown, refused
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.run_apply import CONFLICT_ATTEMPTS
from ansible_collections.triage.k8s.plugins.module_utils._k8s.lookup import read_pod


def _release_outcome(kube, name, namespace, exc):
    try:
        pod = read_pod(kube, name, namespace)
    except TriageError as again:
        raise WriteUnknown("could not tell whether the release of pod %s landed: the PATCH failed (%s) and reading the "
                           "pod back failed too (%s); re-run the same task to converge" % (name, exc.msg, again.msg),
                           dict(exc.details, changed=True))
    return not record.has_quarantine_marks(pod)


def _policy_to_delete(kube, pod, namespace, check_mode):
    """The recorded NetworkPolicy object (read before the pod is released, so the delete can be
    preconditioned on its uid), after checking that this identity may delete it."""
    policy_name = record.quarantine_record(pod)["network_policy"]
    if not policy_name:
        return None
    policy = kube.get_or_none("NetworkPolicy", policy_name, namespace)
    if policy is None or not policy_links(policy, pod):
        return None
    if not check_mode and kube.can_i("delete", "networkpolicies", namespace, "networking.k8s.io",
                                     policy_name) is False:
        raise TriageError(
            'Forbidden: cannot delete networkpolicies in namespace "%s": the pod would be released but its '
            'NetworkPolicy "%s" would stay behind; grant the "delete" verb on "networkpolicies" (API group '
            '"networking.k8s.io") to this identity. Nothing was changed.' % (namespace, policy_name),
            {"error_type": "forbidden", "status": 403})
    return policy


def apply_release(kube, params, check_mode):
    """Restore the recorded labels, remove the marks and the pod's NetworkPolicy.
    Returns (changed, pod before, patch, policy deleted)."""
    name, namespace = params["name"], params["namespace"]
    sent = False
    for attempt in range(CONFLICT_ATTEMPTS):
        pod = read_pod(kube, name, namespace)
        if not record.has_quarantine_marks(pod):
            if sent:  # our first PATCH landed but its answer was lost; the retry then conflicted
                return True, sent[0], sent[1], _delete_released_policy(kube, namespace, name, sent[2])
            return False, pod, None, False
        try:
            patch = record.release_patch(pod)
        except ValueError as exc:
            raise TriageError("cannot release pod %s: %s" % (name, exc))
        policy = _policy_to_delete(kube, pod, namespace, check_mode)
        if check_mode:
            return True, pod, patch, bool(record.quarantine_record(pod)["network_policy"])
        try:
            kube.patch("Pod", name, namespace, patch)
        except TriageError as exc:
            if exc.details.get("status") == 409 and attempt < CONFLICT_ATTEMPTS - 1:
                sent = (pod, patch, policy) if exc.details.get("api_attempts", 1) > 1 else False
                continue
            if refused(exc) or exc.details.get("status") == 409 or not _release_outcome(kube, name, namespace, exc):
                raise
        return True, pod, patch, _delete_released_policy(kube, namespace, name, policy)
    raise TriageError("pod %s kept changing while being released; try again" % name)


def _delete_released_policy(kube, namespace, pod_name, policy):
    """Delete the policy read before the release; a newer one (a quarantine that raced this
    release) has another uid and is left alone. The pod is released by now: a failure says so."""
    if policy is None:
        return False
    try:
        return quarantine_policy.delete_exact(kube, namespace, policy)
    except TriageError as exc:
        raise TriageError('pod %s is released (labels restored, quarantine marks removed), but its NetworkPolicy "%s" '
                          "could not be deleted: %s. quarantine_cleanup deletes it as an orphan, or delete it by hand"
                          % (pod_name, policy["metadata"]["name"], exc.msg), dict(exc.details, changed=True))
