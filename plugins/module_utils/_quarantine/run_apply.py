# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Quarantine and release one pod against the API: read, plan, guard, one guarded PATCH.

Decisions are made by the pure functions in quarantine_plan and quarantine_state; this file
only reads what they need (one GET of the pod, one LIST of Services, one of the owner's pods)
and writes the result. A 409 on the guarded patch means someone else changed the pod: it is read
again and planned again, a bounded number of times.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import QUARANTINE_ID_LABEL, QUARANTINED_SELECTOR
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import KINDS
from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import map_selector_matches, selector_string
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import restore_labels
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.plan import (
    SCOPE_TRAFFIC_AND_OWNER,
    plan_label_changes,
)
from ansible_collections.triage.k8s.plugins.module_utils._quarantine import run_policy as quarantine_policy
from ansible_collections.triage.k8s.plugins.module_utils._contract import policy as policy_marks
from ansible_collections.triage.k8s.plugins.module_utils._contract import record as pod_record
from ansible_collections.triage.k8s.plugins.module_utils._k8s import objects
from ansible_collections.triage.k8s.plugins.module_utils._quarantine import owner
from ansible_collections.triage.k8s.plugins.module_utils._k8s.lookup import read_pod

CONFLICT_ATTEMPTS = 5



def pod_summary(pod):
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    return {"name": meta.get("name"), "namespace": meta.get("namespace"), "uid": meta.get("uid"),
            "ip": status.get("podIP"), "node": (pod.get("spec") or {}).get("nodeName"),
            "phase": status.get("phase"), "ready": objects.pod_ready(pod)}



def _services(kube, namespace):
    return [{"name": s["metadata"]["name"], "selector": (s.get("spec") or {}).get("selector")}
            for s in kube.list("Service", namespace)]


def _owner(kube, pod):
    """(controller ownerReference, owner object or None, planner owner selector or None)."""
    ref = objects.controller_ref(pod)
    if not ref or ref.get("kind") not in KINDS:
        return ref, None, None
    owner = kube.get_or_none(ref["kind"], ref["name"], pod["metadata"]["namespace"])
    if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
        return ref, None, None  # owner already gone: nothing will adopt or replace the pod
    return ref, owner, owner.owner_selector(owner)


def _owner_pods(kube, namespace, owner, owner_sel):
    plain = owner["kind"] == "ReplicationController"
    selector = selector_string(owner_sel["selector"], plain_map=plain)
    pods = [p for p in kube.list("Pod", namespace, label_selector=selector or None)
            if owner.owned_by(p, owner["metadata"]["uid"])]
    return pods, selector


def _ready_peers_by_service(kube, namespace, pod, selecting):
    """{Service name: names of the other Ready pods it selects} for the Services selecting the pod."""
    return dict((service["name"], owner.ready_peers(pod, kube.list(
        "Pod", namespace, label_selector=selector_string(service["selector"], plain_map=True))))
        for service in selecting)


def _max_per_owner_guard(kube, params, pod, ref):
    if ref is None:
        return
    limit = params["max_quarantined_per_owner"]
    # Never the pod itself: a concurrent run that quarantined it meanwhile makes this run the loser of
    # the race, which finds "already quarantined" on its conflicting PATCH instead of a refusal.
    already = [other for other in owner.quarantined_from_owner(
        kube.list("Pod", pod["metadata"]["namespace"], label_selector=QUARANTINED_SELECTOR), ref.get("uid"))
        if other != pod["metadata"]["name"]]
    if len(already) >= limit:
        raise TriageError(
            "refusing to quarantine %s: %s %s already has %d quarantined pod(s) (%s), the limit "
            "max_quarantined_per_owner=%d. If its replacements fail the same way, the workload itself is "
            "broken: quarantining more pods would only orphan a new pod on every crash. Release or clean up "
            "the quarantined ones, or raise the limit deliberately."
            % (pod["metadata"]["name"], ref["kind"], ref["name"], len(already), ", ".join(already), limit),
            {"quarantined_pods": already})


def _guards(kube, params, pod, ref, owner, owner_pods, selecting):
    """Refuse what automation must never do; each refusal says how to proceed deliberately."""
    _max_per_owner_guard(kube, params, pod, ref)
    if params["force"] or not objects.pod_ready(pod):
        return
    name = pod["metadata"]["name"]
    replaced = owner is not None and params["scope"] == SCOPE_TRAFFIC_AND_OWNER
    services = ", ".join(s["name"] for s in selecting)
    if owner is not None and owner["kind"] in owner.REPLICA_KINDS:
        if not owner.last_ready_replica(pod, owner_pods):
            return
        stuck = owner.unschedulable_pods(owner_pods)
        if not replaced:
            after = "and with scope %s its owner does not replace it" % params["scope"]
        elif stuck:
            after = ("until a replacement is Ready, and %s cannot place one now: its pod(s) %s are unschedulable"
                     % (owner["kind"], ", ".join(stuck)))
        else:
            after = "until a replacement is Ready"
        raise TriageError(
            "refusing to quarantine: %s is the only Ready pod of %s %s, so the workload%s would have no Ready pod "
            "%s. Use force: true to quarantine it anyway."
            % (name, owner["kind"], owner["metadata"]["name"],
               " (and Service(s) %s)" % services if services else "", after),
            {"unschedulable_pods": stuck})
    if not selecting:
        return
    peers = _ready_peers_by_service(kube, pod["metadata"]["namespace"], pod, selecting)
    alone = sorted(service for service, others in peers.items() if not others)
    if not alone:
        return
    if ref is None:
        after = "and nothing replaces a bare pod"
    elif replaced:
        after = "until the replacement from %s %s is Ready" % (ref["kind"], ref["name"])
    else:
        after = "and with scope %s its owner does not replace it" % params["scope"]
    raise TriageError(
        "refusing to quarantine: %s is the only Ready pod behind Service(s) %s, which would have no ready "
        "endpoint %s. Use force: true to quarantine it anyway." % (name, ", ".join(alone), after),
        {"services_left_without_endpoints": alone})


def plan_quarantine(kube, params, pod, now, expires_at, identity):
    """Everything the quarantine would do, without writing: a dict the module reports."""
    namespace = pod["metadata"]["namespace"]
    if (pod["metadata"]).get("deletionTimestamp"):
        raise TriageError('pod "%s" is terminating (deletion requested at %s): there is nothing left to quarantine; '
                          "collect what evidence remains instead" % (pod["metadata"]["name"], pod["metadata"]["deletionTimestamp"]))
    ref, owner, owner_sel = _owner(kube, pod)
    scope = params["scope"]
    refusal = owner.owner_refusal(ref.get("kind") if ref else None, scope)
    if refusal:
        raise TriageError("cannot quarantine pod %s with scope %s: %s" % (pod["metadata"]["name"], scope, refusal))
    services = _services(kube, namespace)
    planner_owner = owner_sel
    if scope == SCOPE_TRAFFIC_AND_OWNER and ref is None:
        planner_owner = None  # a bare pod: traffic only, there is no owner to leave
    plan = plan_label_changes(pod["metadata"].get("labels") or {}, services, planner_owner, scope=scope,
                              prefix=params["value_prefix"], explicit_labels=params["labels"])
    if plan["error"]:
        raise TriageError("cannot quarantine pod %s: %s" % (pod["metadata"]["name"], plan["error"]),
                          {"services_selecting": plan["services_selecting"]})
    owner_pods, owner_selector_text = ([], None) if owner is None else _owner_pods(kube, namespace, owner, owner_sel)
    selecting = [s for s in services if s["name"] in plan["services_selecting"]]
    _guards(kube, params, pod, ref, owner, owner_pods, selecting)
    policy_name = policy_marks.network_policy_name(pod) if params["network_isolation"] else None
    annotations = pod_record.quarantine_annotations(now, identity, params["reason"], expires_at, plan["changes"],
                                               ref, policy_name)
    patch = pod_record.quarantine_patch(pod, plan["changes"], annotations, policy_name)
    releases_owner = bool(owner is not None and scope == SCOPE_TRAFFIC_AND_OWNER)
    return {
        "pod": pod, "ref": ref, "owner": owner, "plan": plan, "patch": patch, "policy_name": policy_name,
        "owner_pods": owner_pods, "owner_selector": owner_selector_text, "releases_owner": releases_owner,
        "services": plan["services_selecting"],
    }


def _wrote_this(pod, patch):
    """Whether the pod carries exactly what this run's patch wrote: a 409 on a PATCH sent twice (the
    first response lost) finds our own write, which must be reported as ours."""
    meta = pod.get("metadata") or {}
    for field in ("labels", "annotations"):
        have = meta.get(field) or {}
        if any(have.get(key) != value for key, value in (patch["metadata"].get(field) or {}).items()):
            return False
    return True


# A failed write with one of these statuses was refused: nothing of it landed.
REFUSED_STATUSES = (400, 401, 403, 404, 405, 413, 415, 422)


def refused(exc):
    return exc.details.get("status") in REFUSED_STATUSES


class WriteUnknown(TriageError):
    """A write whose outcome could not be found out: the result must not claim nothing changed."""


def _quarantine_outcome(kube, name, namespace, patch, exc):
    """After a failed PATCH that was not refused: read the pod back (with the API layer's retry)
    and return it when this run's quarantine is on it, None when it is not; raise when unknown."""
    try:
        pod = read_pod(kube, name, namespace)
    except TriageError as again:
        raise WriteUnknown("could not tell whether the quarantine of pod %s landed: the PATCH failed (%s) and reading "
                           "the pod back failed too (%s)" % (name, exc.msg, again.msg), dict(exc.details, changed=True))
    return pod if pod_record.is_quarantined(pod) and _wrote_this(pod, patch) else None


def apply_quarantine(kube, params, check_mode, now, expires_at, identity):
    """Plan and write, re-planning on conflict. Returns (changed, proposal, written pod or None).

    A NetworkPolicy is created before the pod gets the label it selects, so the pod is isolated
    the moment the label lands. When this run's quarantine is known not to have landed, the policy
    it created is deleted again; when that is unknown, the policy is kept (it may be what isolates
    the pod) and the error says so."""
    name, namespace = params["name"], params["namespace"]
    created, sent = None, None
    try:
        for attempt in range(CONFLICT_ATTEMPTS):
            pod = read_pod(kube, name, namespace)
            if pod_record.is_quarantined(pod):  # already, a concurrent run won the race, or our lost write
                if sent is not None and _wrote_this(pod, sent["patch"]):
                    sent["created_policy"] = created is not None
                    return True, sent, pod
                if created:
                    quarantine_policy.discard(kube, namespace, name, created, pod)
                    created = None
                return False, {"pod": pod}, pod
            proposal = plan_quarantine(kube, params, pod, now, expires_at, identity)
            if check_mode:
                return True, proposal, None
            if proposal["policy_name"] and quarantine_policy.ensure(kube, pod, proposal["policy_name"], params,
                                                                    recorded=False):
                created = proposal["policy_name"]
            try:
                written = kube.patch("Pod", name, namespace, proposal["patch"])
            except TriageError as exc:
                if exc.details.get("status") == 409 and attempt < CONFLICT_ATTEMPTS - 1:
                    sent = proposal if exc.details.get("api_attempts", 1) > 1 else None
                    continue  # the pod changed since it was read (maybe by our own first send): read again
                if refused(exc) or exc.details.get("status") == 409:
                    raise
                landed = _quarantine_outcome(kube, name, namespace, proposal["patch"], exc)
                if landed is None:
                    raise
                written = landed
            proposal["created_policy"] = created is not None
            created = None
            return True, proposal, written
    except WriteUnknown as exc:
        if created:
            exc.msg += ('; the NetworkPolicy "%s" this run created is kept, because it isolates the pod if the '
                        "quarantine landed; re-run the same task to converge" % created)
        raise
    except TriageError as exc:
        problem = quarantine_policy.discard(kube, namespace, name, created) if created else None
        if problem:
            exc.msg = "%s; also, %s" % (exc.msg, problem)
            exc.details["changed"] = True
        raise
    raise TriageError("pod %s kept changing while being quarantined (%d conflicts); try again"
                      % (name, CONFLICT_ATTEMPTS))


def repair_network_policy(kube, pod, params, check_mode):
    """A quarantined pod whose recorded NetworkPolicy is missing (deleted by hand, or by a release
    that raced this quarantine) is isolated again. Returns the policy name when it was (or in
    check mode would be) re-created, else None."""
    name = pod_record.quarantine_record(pod)["network_policy"]
    labels = pod["metadata"].get("labels") or {}
    if not name or kube.get_or_none("NetworkPolicy", name, pod["metadata"]["namespace"]) is not None:
        return None
    if labels.get(QUARANTINE_ID_LABEL) != pod_record.quarantine_id(pod):
        raise TriageError("pod %s is quarantined with NetworkPolicy %s recorded, but that policy is missing and the pod "
                          "no longer has its %s label, so a new policy would not select it: release the pod and "
                          "quarantine it again" % (pod["metadata"]["name"], name, QUARANTINE_ID_LABEL))
    if not check_mode:
        quarantine_policy.ensure(kube, pod, name, params, recorded=True)
    return name


def services_selecting(kube, namespace, labels):
    return sorted(s["name"] for s in _services(kube, namespace) if map_selector_matches(s["selector"], labels))


def existing_quarantine(kube, pod):
    """What an earlier quarantine of this pod did, from its record and the cluster now: the Services
    its original labels are in, the owner it had, whether that owner lets it go, and (to wait for a
    replacement) the owner, its pod selector and the uids of its pods from before the quarantine."""
    namespace = pod["metadata"]["namespace"]
    record = pod_record.quarantine_record(pod)
    labels = pod["metadata"].get("labels") or {}
    original = restore_labels(labels, record["original_labels"] or {})
    ref = record["owner"] if isinstance(record["owner"], dict) and record["owner"].get("kind") else None
    found = {"services": services_selecting(kube, namespace, original), "ref": ref, "released": False,
             "owner": None, "owner_selector": None, "known": set([pod["metadata"]["uid"]])}
    if ref is None:
        return found
    owner = kube.get_or_none(ref["kind"], ref["name"], namespace) if ref["kind"] in KINDS else None
    if owner is not None and owner["metadata"].get("uid") != ref.get("uid"):
        owner = None  # a new object of the same name is not the owner it had
    current = objects.controller_ref(pod)
    if current is None or current.get("uid") != ref.get("uid"):
        found["released"] = True
    elif owner is not None:  # still owned: released once the owner sees its selector no longer matches
        found["released"] = not owner.owner_matches(owner, labels)
    if owner is not None and found["released"] and ref["kind"] in owner.REPLACING_KINDS:
        pods, selector = _owner_pods(kube, namespace, owner, owner.owner_selector(owner))
        since = record["quarantined_at"] or ""
        found["known"].update(p["metadata"]["uid"] for p in pods
                              if (p["metadata"].get("creationTimestamp") or "") < since)
        found.update(owner=owner, owner_selector=selector)
    return found
