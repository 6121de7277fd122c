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

import os

from ansible_collections.triage.k8s.plugins.module_utils.contract import QUARANTINED_SELECTOR
from ansible_collections.triage.k8s.plugins.module_utils.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils.kube import KINDS
from ansible_collections.triage.k8s.plugins.module_utils.labels import map_selector_matches, selector_string
from ansible_collections.triage.k8s.plugins.module_utils.quarantine_plan import (
    SCOPE_TRAFFIC_AND_OWNER,
    plan_label_changes,
    restore_labels,
)
from ansible_collections.triage.k8s.plugins.module_utils import quarantine_state as state

CONFLICT_ATTEMPTS = 5


def read_pod(kube, name, namespace):
    pod = kube.get_or_none("Pod", name, namespace)
    if pod is None:
        if kube.get_or_none("Namespace", namespace) is None:
            raise TriageError('namespace "%s" not found%s: check namespace and context'
                              % (namespace, " on %s" % kube.target if kube.target else ""))
        raise TriageError('pod "%s" not found in namespace "%s"%s' % (
            name, namespace, " on %s" % kube.target if kube.target else ""))
    return pod


def pod_summary(pod):
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    return {"name": meta.get("name"), "namespace": meta.get("namespace"), "uid": meta.get("uid"),
            "ip": status.get("podIP"), "node": (pod.get("spec") or {}).get("nodeName"),
            "phase": status.get("phase"), "ready": state.pod_ready(pod)}


def caller_identity(kube, given):
    """quarantined-by: the parameter, else who the API server says we are, else the AWX job."""
    if given:
        return given
    who = kube.whoami()
    if who:
        return who
    if os.environ.get("JOB_ID"):
        return "awx-job-%s" % os.environ["JOB_ID"]
    return None


def _services(kube, namespace):
    return [{"name": s["metadata"]["name"], "selector": (s.get("spec") or {}).get("selector")}
            for s in kube.list("Service", namespace)]


def _owner(kube, pod):
    """(controller ownerReference, owner object or None, planner owner selector or None)."""
    ref = state.controller_ref(pod)
    if not ref or ref.get("kind") not in KINDS:
        return ref, None, None
    owner = kube.get_or_none(ref["kind"], ref["name"], pod["metadata"]["namespace"])
    if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
        return ref, None, None  # owner already gone: nothing will adopt or replace the pod
    return ref, owner, state.owner_selector(owner)


def _owner_pods(kube, namespace, owner, owner_sel):
    plain = owner["kind"] == "ReplicationController"
    selector = selector_string(owner_sel["selector"], plain_map=plain)
    pods = [p for p in kube.list("Pod", namespace, label_selector=selector or None)
            if state.owned_by(p, owner["metadata"]["uid"])]
    return pods, selector


def _ready_peers_by_service(kube, namespace, pod, selecting):
    """{Service name: names of the other Ready pods it selects} for the Services selecting the pod."""
    return dict((service["name"], state.ready_peers(pod, kube.list(
        "Pod", namespace, label_selector=selector_string(service["selector"], plain_map=True))))
        for service in selecting)


def _max_per_owner_guard(kube, params, pod, ref):
    if ref is None:
        return
    limit = params["max_quarantined_per_owner"]
    already = state.quarantined_from_owner(
        kube.list("Pod", pod["metadata"]["namespace"], label_selector=QUARANTINED_SELECTOR), ref.get("uid"))
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
    if params["force"] or not state.pod_ready(pod):
        return
    name = pod["metadata"]["name"]
    replaced = owner is not None and params["scope"] == SCOPE_TRAFFIC_AND_OWNER
    services = ", ".join(s["name"] for s in selecting)
    if owner is not None and owner["kind"] in state.REPLICA_KINDS:
        if not state.last_ready_replica(pod, owner_pods):
            return
        stuck = state.unschedulable_pods(owner_pods)
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
    refusal = state.owner_refusal(ref.get("kind") if ref else None, scope)
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
    policy_name = state.network_policy_name(pod) if params["network_isolation"] else None
    annotations = state.quarantine_annotations(now, identity, params["reason"], expires_at, plan["changes"],
                                               ref, policy_name)
    patch = state.quarantine_patch(pod, plan["changes"], annotations, policy_name)
    releases_owner = bool(owner is not None and scope == SCOPE_TRAFFIC_AND_OWNER)
    return {
        "pod": pod, "ref": ref, "owner": owner, "plan": plan, "patch": patch, "policy_name": policy_name,
        "owner_pods": owner_pods, "owner_selector": owner_selector_text, "releases_owner": releases_owner,
        "services": plan["services_selecting"],
    }


def ensure_network_policy(kube, pod, name, params):
    """Create the pod's deny-all policy. One of ours for this pod already there (an earlier run, or
    a concurrent one) is kept, with its rules brought up to date. Returns True when created."""
    namespace = pod["metadata"]["namespace"]
    allow = params.get("network_allow") or {}
    wanted = state.network_policy_manifest(pod, name, allow.get("namespace_labels"), allow.get("cidrs"))
    existing = kube.get_or_none("NetworkPolicy", name, namespace)
    if existing is None:
        try:
            kube.create("NetworkPolicy", namespace, wanted)
            return True
        except TriageError as exc:
            if exc.details.get("reason") != "AlreadyExists":
                raise
        existing = kube.get("NetworkPolicy", name, namespace)  # made by a concurrent run meanwhile
    if not state.is_our_network_policy(existing, pod["metadata"]["name"]):
        raise TriageError('NetworkPolicy "%s" exists in namespace "%s" but was not made by triage.k8s for this '
                          "pod: refusing to touch it; rename or remove it" % (name, namespace))
    if existing.get("spec") != wanted["spec"]:
        kube.patch("NetworkPolicy", name, namespace, {"spec": wanted["spec"]})
    return False


def delete_network_policy(kube, namespace, name, pod_name):
    policy = kube.get_or_none("NetworkPolicy", name, namespace)
    if policy is None or not state.is_our_network_policy(policy, pod_name):
        return False
    kube.delete("NetworkPolicy", name, namespace)
    return True


def _discard_policy(kube, namespace, pod_name, policy, pod=None):
    """Delete a NetworkPolicy this run created for a quarantine it did not write, unless the pod
    records it (a concurrent run quarantined the pod with it). Returns a problem or None."""
    try:
        if pod is None:
            pod = kube.get_or_none("Pod", pod_name, namespace)
        if pod is not None and state.quarantine_record(pod)["network_policy"] == policy:
            return None
        delete_network_policy(kube, namespace, policy, pod_name)
    except TriageError as exc:
        return 'the NetworkPolicy "%s" it created could not be deleted (%s); delete it by hand' % (policy, exc.msg)
    return None


def apply_quarantine(kube, params, check_mode, now, expires_at, identity):
    """Plan and write, re-planning on conflict. Returns (changed, proposal, written pod or None).

    A NetworkPolicy is created before the pod gets the label it selects, so the pod is isolated
    the moment the label lands; when this run does not write the quarantine after all, the policy
    it created is deleted again, so a refusal or a failure leaves nothing behind."""
    name, namespace = params["name"], params["namespace"]
    created = None
    try:
        for attempt in range(CONFLICT_ATTEMPTS):
            pod = read_pod(kube, name, namespace)
            if state.is_quarantined(pod):  # already, or a concurrent run won the race
                if created:
                    _discard_policy(kube, namespace, name, created, pod)
                    created = None
                return False, {"pod": pod}, pod
            proposal = plan_quarantine(kube, params, pod, now, expires_at, identity)
            if check_mode:
                return True, proposal, None
            if proposal["policy_name"] and ensure_network_policy(kube, pod, proposal["policy_name"], params):
                created = proposal["policy_name"]
            try:
                written = kube.patch("Pod", name, namespace, proposal["patch"])
            except TriageError as exc:
                if exc.details.get("status") == 409 and attempt < CONFLICT_ATTEMPTS - 1:
                    continue  # the pod changed since it was read: read, plan and write again
                raise
            proposal["created_policy"] = created is not None
            created = None
            return True, proposal, written
    except TriageError as exc:
        problem = _discard_policy(kube, namespace, name, created) if created else None
        if problem:
            exc.msg = "%s; also, %s" % (exc.msg, problem)
        raise
    raise TriageError("pod %s kept changing while being quarantined (%d conflicts); try again"
                      % (name, CONFLICT_ATTEMPTS))


def apply_release(kube, params, check_mode):
    """Restore the recorded labels, remove the marks and the pod's NetworkPolicy.
    Returns (changed, pod before, patch, policy deleted)."""
    name, namespace = params["name"], params["namespace"]
    for attempt in range(CONFLICT_ATTEMPTS):
        pod = read_pod(kube, name, namespace)
        if not state.has_quarantine_marks(pod):
            return False, pod, None, False
        try:
            patch = state.release_patch(pod)
        except ValueError as exc:
            raise TriageError("cannot release pod %s: %s" % (name, exc))
        if check_mode:
            return True, pod, patch, bool(state.quarantine_record(pod)["network_policy"])
        try:
            kube.patch("Pod", name, namespace, patch)
        except TriageError as exc:
            if exc.details.get("status") != 409 or attempt == CONFLICT_ATTEMPTS - 1:
                raise
            continue
        policy = state.quarantine_record(pod)["network_policy"]
        deleted = delete_network_policy(kube, namespace, policy, name) if policy else False
        return True, pod, patch, deleted
    raise TriageError("pod %s kept changing while being released; try again" % name)  # not reached


def services_selecting(kube, namespace, labels):
    return sorted(s["name"] for s in _services(kube, namespace) if map_selector_matches(s["selector"], labels))


def existing_quarantine(kube, pod):
    """What an earlier quarantine of this pod did, from its record and the cluster now: the Services
    its original labels are in, the owner it had, whether that owner lets it go, and (to wait for a
    replacement) the owner, its pod selector and the uids of its pods from before the quarantine."""
    namespace = pod["metadata"]["namespace"]
    record = state.quarantine_record(pod)
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
    current = state.controller_ref(pod)
    if current is None or current.get("uid") != ref.get("uid"):
        found["released"] = True
    elif owner is not None:  # still owned: released once the owner sees its selector no longer matches
        found["released"] = not state.owner_matches(owner, labels)
    if owner is not None and found["released"] and ref["kind"] in state.REPLACING_KINDS:
        pods, selector = _owner_pods(kube, namespace, owner, state.owner_selector(owner))
        since = record["quarantined_at"] or ""
        found["known"].update(p["metadata"]["uid"] for p in pods
                              if (p["metadata"].get("creationTimestamp") or "") < since)
        found.update(owner=owner, owner_selector=selector)
    return found
