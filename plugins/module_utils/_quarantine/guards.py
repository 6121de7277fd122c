# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every refusal of pod_quarantine: what automation must never do, each refusal saying how to
proceed deliberately. Pure functions over what run_apply read; run_apply asks twice:

1. pod_refusal(pod, scope), from the pod alone, before anything else is read: a terminating
   pod, and an owner kind this scope cannot handle (owner_refusal).
2. refusal(...), once the labels are planned, from the owner's pods, the quarantined pods of
   the namespace and the Ready peers behind each Service: max_quarantined_per_owner, then the
   last Ready replica of its owner, then the last Ready endpoint of a Service, then
   min_healthy_replicas (budgets.py). force lifts all but the first one.
3. budget_refusal(...), last, from the PodDisruptionBudgets that select the pod and their pods
   (read only when needs_budgets() says so): force lifts it too.

A Ready pod counts as a healthy Ready replica (or endpoint) only when its own diagnosis is not
unhealthy (_k8s/objects.py unhealthy_reason: a crash loop, or an OOM kill in the restart window,
as crashloop_info diagnoses them): a crash-looping pod is Ready between crashes, and counting it
made the guard refuse or allow the same quarantine depending on the instant. So quarantining an
unhealthy pod never trips the last-Ready guards, and an unhealthy peer never lets a healthy pod go.

Every refusal carries details {refused: true, guard: GUARD_*}: a deliberate refusal, told apart
from a failure by whoever reads the module's result (crashloop_scan's outcomes).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import controller_ref, healthy_ready, meta, pod_ready
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.owner import (
    REPLACING_KINDS,
    REPLICA_KINDS,
    quarantined_from_owner,
    ready_peers,
    unschedulable_pods,
)
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.plan import SCOPE_TRAFFIC_AND_OWNER
from ansible_collections.triage.k8s.plugins.module_utils._quarantine import budgets

GUARD_TERMINATING = "terminating"
GUARD_OWNER_KIND = "owner_kind"
GUARD_MAX_PER_OWNER = "max_quarantined_per_owner"
GUARD_LAST_READY_REPLICA = "last_ready_replica"
GUARD_LAST_READY_ENDPOINT = "last_ready_endpoint"
GUARD_MIN_HEALTHY = "min_healthy_replicas"
GUARD_PDB = "pod_disruption_budget"


def refused(guard, **details):
    """The details of a refusal by `guard`: the marker a reader of the result tells refusals by."""
    return dict(details, refused=True, guard=guard)


def counts_as_ready(pod, now=None):
    """Whether the pod counts as a healthy Ready pod: Ready, and (when `now` is given) not unhealthy
    by its own diagnosis. Without `now` only the Ready condition is read."""
    return pod_ready(pod) if now is None else healthy_ready(pod, now)


def healthy_ready_peers(pod, pods, now):
    """Names of the other pods in pods that count as healthy Ready pods (see counts_as_ready)."""
    return ready_peers(pod, [p for p in pods if counts_as_ready(p, now)])


def owner_refusal(kind, scope, force=False):
    """Why this owner kind cannot be quarantined with this scope, or None when it can (force does
    not lift it: no force makes a StatefulSet start a replacement)."""
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


def pod_guard(pod, scope):
    """(message, details) of the refusal decided from the pod alone (terminating; an owner this
    scope cannot handle), or None."""
    pmeta = meta(pod)
    if pmeta.get("deletionTimestamp"):
        return ('pod "%s" is terminating (deletion requested at %s): there is nothing left to quarantine; '
                "collect what evidence remains instead" % (pmeta.get("name"), pmeta["deletionTimestamp"]),
                refused(GUARD_TERMINATING))
    ref = controller_ref(pod)
    why = owner_refusal(ref.get("kind") if ref else None, scope)
    if why:
        return ("cannot quarantine pod %s with scope %s: %s" % (pmeta.get("name"), scope, why),
                refused(GUARD_OWNER_KIND))
    return None


def pod_refusal(pod, scope):
    """The message of pod_guard(), or None."""
    found = pod_guard(pod, scope)
    return found[0] if found else None


def last_ready_replica(pod, owner_pods, now=None):
    """True when the pod is Ready and no other pod of the same owner is: taking it out of traffic
    leaves the workload with no ready endpoint until a replacement is up. With `now`, only
    healthy Ready pods count (counts_as_ready): an unhealthy pod is never the last healthy one,
    and an unhealthy peer does not stand in for it."""
    if not counts_as_ready(pod, now):
        return False
    uid = meta(pod).get("uid")
    return not any(counts_as_ready(p, now) for p in owner_pods if meta(p).get("uid") != uid)


def max_per_owner_refusal(pod, ref, quarantined_pods, limit):
    """(message, details) when the pod's owner already has `limit` quarantined pods, else None."""
    if ref is None:
        return None
    name = meta(pod).get("name")
    # Never the pod itself: a concurrent run that quarantined it meanwhile makes this run the loser of
    # the race, which finds "already quarantined" on its conflicting PATCH instead of a refusal.
    already = [other for other in quarantined_from_owner(quarantined_pods, ref.get("uid")) if other != name]
    if len(already) < limit:
        return None
    return ("refusing to quarantine %s: %s %s already has %d quarantined pod(s) (%s), the limit "
            "max_quarantined_per_owner=%d. If its replacements fail the same way, the workload itself is "
            "broken: quarantining more pods would only orphan a new pod on every crash. Release or clean up "
            "the quarantined ones, or raise the limit deliberately."
            % (name, ref["kind"], ref["name"], len(already), ", ".join(already), limit),
            refused(GUARD_MAX_PER_OWNER, quarantined_pods=already))


def needs_service_peers(params, pod, ref, owner, selecting, quarantined_pods, now=None):
    """Whether refusal() looks at the Ready peers behind the pod's Services (so run_apply lists the
    pods of each, and only then): a healthy Ready pod (counts_as_ready), without force, selected by
    a Service, whose owner (if any) is not a replica set, and not refused already for
    max_quarantined_per_owner."""
    if params["force"] or not counts_as_ready(pod, now) or not selecting:
        return False
    if owner is not None and owner["kind"] in REPLICA_KINDS:
        return False
    return max_per_owner_refusal(pod, ref, quarantined_pods, params["max_quarantined_per_owner"]) is None


def _last_replica_refusal(params, pod, owner, owner_pods, selecting, now):
    if not last_ready_replica(pod, owner_pods, now):
        return None
    replaced = params["scope"] == SCOPE_TRAFFIC_AND_OWNER
    services = ", ".join(s["name"] for s in selecting)
    stuck = unschedulable_pods(owner_pods)
    if not replaced:
        after = "and with scope %s its owner does not replace it" % params["scope"]
    elif stuck:
        after = ("until a replacement is Ready, and %s cannot place one now: its pod(s) %s are unschedulable"
                 % (owner["kind"], ", ".join(stuck)))
    else:
        after = "until a replacement is Ready"
    return ("refusing to quarantine: %s is the only Ready pod of %s %s, so the workload%s would have no Ready pod "
            "%s. Use force: true to quarantine it anyway."
            % (meta(pod).get("name"), owner["kind"], meta(owner).get("name"),
               " (and Service(s) %s)" % services if services else "", after),
            refused(GUARD_LAST_READY_REPLICA, unschedulable_pods=stuck))


def _last_endpoint_refusal(params, pod, ref, owner, service_peers):
    alone = sorted(service for service, others in (service_peers or {}).items() if not others)
    if not alone:
        return None
    if ref is None:
        after = "and nothing replaces a bare pod"
    elif owner is not None and params["scope"] == SCOPE_TRAFFIC_AND_OWNER:
        after = "until the replacement from %s %s is Ready" % (ref["kind"], ref["name"])
    else:
        after = "and with scope %s its owner does not replace it" % params["scope"]
    return ("refusing to quarantine: %s is the only Ready pod behind Service(s) %s, which would have no ready "
            "endpoint %s. Use force: true to quarantine it anyway." % (meta(pod).get("name"), ", ".join(alone), after),
            refused(GUARD_LAST_READY_ENDPOINT, services_left_without_endpoints=alone))


def refusal(params, pod, ref, owner, owner_pods, selecting, quarantined_pods, service_peers, now=None):
    """The refusal of a planned quarantine as (message, details for the error), or None to go ahead.

    params: the module's (force, scope, max_quarantined_per_owner, min_healthy_replicas); ref: the pod's controller
    ownerReference or None; owner: the owner object when it still exists (same uid), else None;
    owner_pods: the owner's pods; selecting: the Services ({name, selector}) selecting the pod;
    quarantined_pods: the quarantined pods of the namespace; service_peers: {Service name: names
    of the other healthy Ready pods it selects (healthy_ready_peers)}, read when needs_service_peers()
    says so; now: the time the pods' diagnoses are made at (None: the Ready condition alone)."""
    found = max_per_owner_refusal(pod, ref, quarantined_pods, params["max_quarantined_per_owner"])
    if found or params["force"] or not counts_as_ready(pod, now):
        return found
    if owner is not None and owner["kind"] in REPLICA_KINDS:
        found = _last_replica_refusal(params, pod, owner, owner_pods, selecting, now)
    elif selecting:
        found = _last_endpoint_refusal(params, pod, ref, owner, service_peers)
    return found or _min_healthy_refusal(params, pod, owner, owner_pods, now)


def _min_healthy_refusal(params, pod, owner, owner_pods, now):
    found = budgets.min_healthy_refusal(pod, owner, owner_pods, params.get("min_healthy_replicas"), now)
    return (found[0], refused(GUARD_MIN_HEALTHY, **found[1])) if found else None


def min_healthy_warning(params, pod, owner):
    """The warning when min_healthy_replicas is set but cannot apply (a bare pod, a Job's pod, an
    owner already gone), so that a guard the caller asked for never silently does not run."""
    if params.get("min_healthy_replicas") is None or params["force"] or budgets.min_healthy_applies(owner):
        return None
    what = ("its owner is gone" if controller_ref(pod) and owner is None else
            "it has no owner" if owner is None else "a %s has no replica count" % owner["kind"])
    return ("min_healthy_replicas=%s does not apply to pod %s: %s; it was not checked"
            % (params["min_healthy_replicas"], meta(pod).get("name"), what))


def needs_budgets(params, pod, now=None):
    """Whether budget_refusal() can refuse, so that run_apply lists the PodDisruptionBudgets (and
    only then): without force, for a pod that counts as healthy (budgets.counts_healthy)."""
    return not params["force"] and budgets.counts_healthy(pod, now)


def budget_refusal(pod, selecting_budgets, new_labels, now=None):
    """The refusal of the first PodDisruptionBudget (by name) the quarantine would break, or None.
    selecting_budgets: [(budget, the pods its selector selects)] for the budgets selecting the pod."""
    for pdb, selected in sorted(selecting_budgets, key=lambda item: meta(item[0]).get("name") or ""):
        found = budgets.pdb_refusal(pod, pdb, selected, new_labels, now)
        if found:
            return found[0], refused(GUARD_PDB, **found[1])
    return None
