# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Quarantine and release one pod against the API: read, plan, guard, one guarded PATCH.

Decisions are made by pure functions: the labels by plan.py, every refusal by guards.py, the
record by _contract/record.py. This file only reads what they need (one GET of the pod and of
its owner, one LIST of Services, of the owner's pods and of the quarantined pods, the pods
behind each Service when the guard asks for them, and one LIST of PodDisruptionBudgets with the
pods of each one selecting the pod when the budget guard can refuse) and writes the result. A 409 on the guarded
patch means someone else changed the pod: it is read again and planned again, a bounded number
of times.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import QUARANTINED_SELECTOR
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import KINDS
from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import map_selector_matches, selector_string
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import restore_labels
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.plan import (
    SCOPE_TRAFFIC_AND_OWNER,
    plan_label_changes,
)
from ansible_collections.triage.k8s.plugins.module_utils._quarantine import budgets, guards
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.outcome import WriteUnknown, refused, wrote_this
from ansible_collections.triage.k8s.plugins.module_utils._quarantine import policy as policy_rules
from ansible_collections.triage.k8s.plugins.module_utils._quarantine import run_policy as quarantine_policy
from ansible_collections.triage.k8s.plugins.module_utils._contract import policy as policy_marks
from ansible_collections.triage.k8s.plugins.module_utils._contract import record as pod_record
from ansible_collections.triage.k8s.plugins.module_utils._k8s import objects
from ansible_collections.triage.k8s.plugins.module_utils._quarantine import owner as owner_rules
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
    return ref, owner, owner_rules.owner_selector(owner)


def _owner_pods(kube, namespace, owner, owner_sel):
    plain = owner["kind"] == "ReplicationController"
    selector = selector_string(owner_sel["selector"], plain_map=plain)
    pods = [p for p in kube.list("Pod", namespace, label_selector=selector or None)
            if owner_rules.owned_by(p, owner["metadata"]["uid"])]
    return pods, selector


def _ready_peers_by_service(kube, namespace, pod, selecting, now):
    """{Service name: names of the other healthy Ready pods it selects} for the Services selecting the pod."""
    return dict((service["name"], guards.healthy_ready_peers(pod, kube.list(
        "Pod", namespace, label_selector=selector_string(service["selector"], plain_map=True)), now))
        for service in selecting)


def _budgets_selecting(kube, namespace, pod):
    """[(PodDisruptionBudget, the pods its selector selects)] for the budgets selecting the pod. A
    forbidden LIST fails (the guard cannot be skipped silently), naming the grant and force."""
    labels = pod["metadata"].get("labels") or {}
    try:
        found = [pdb for pdb in kube.list("PodDisruptionBudget", namespace) if budgets.selects(pdb, labels)]
    except TriageError as exc:
        if exc.details.get("error_type") == "forbidden":
            exc.msg = ("%s. The PodDisruptionBudget guard needs list on poddisruptionbudgets.policy (see "
                       "docs/rbac/quarantine.yaml); nothing was changed. Grant it, or use force: true to quarantine "
                       "without the budget guards" % exc.msg)
        raise
    return [(pdb, list(kube.list("Pod", namespace, label_selector=selector_string(
        (pdb.get("spec") or {}).get("selector")) or None))) for pdb in found]


def _check_guards(kube, params, pod, ref, owner, owner_pods, selecting, new_labels, now):
    """Read what guards.refusal() and guards.budget_refusal() need and raise the refusal, if any.
    now: the run's time (RFC 3339), at which the pods' own diagnoses (crash loop, OOM kill) are read."""
    namespace = pod["metadata"]["namespace"]
    # A list, not the generator: needs_service_peers() and refusal() both read it (a generator read
    # twice was empty the second time, so max_quarantined_per_owner never refused a DaemonSet or Job
    # pod behind a Service).
    quarantined = list(kube.list("Pod", namespace, label_selector=QUARANTINED_SELECTOR)) if ref is not None else []
    peers = (_ready_peers_by_service(kube, namespace, pod, selecting, now)
             if guards.needs_service_peers(params, pod, ref, owner, selecting, quarantined, now) else None)
    found = guards.refusal(params, pod, ref, owner, owner_pods, selecting, quarantined, peers, now)
    if not found and guards.needs_budgets(params, pod, now):
        found = guards.budget_refusal(pod, _budgets_selecting(kube, namespace, pod), new_labels, now)
    if found:
        raise TriageError(*found)


def plan_quarantine(kube, params, pod, now, expires_at, identity):
    """Everything the quarantine would do, without writing: a dict the module reports."""
    namespace = pod["metadata"]["namespace"]
    scope = params["scope"]
    refusal = guards.pod_guard(pod, scope)
    if refusal:
        raise TriageError(*refusal)
    ref, owner, owner_sel = _owner(kube, pod)
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
    _check_guards(kube, params, pod, ref, owner, owner_pods, selecting, plan["new_labels"], now)
    warning = guards.min_healthy_warning(params, pod, owner)
    if warning:
        plan["warnings"] = list(plan.get("warnings") or []) + [warning]
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


def _quarantine_outcome(kube, name, namespace, patch, exc):
    """After a failed PATCH that was not refused: read the pod back (with the API layer's retry)
    and return it when this run's quarantine is on it, None when it is not; raise when unknown."""
    try:
        pod = read_pod(kube, name, namespace)
    except TriageError as again:
        raise WriteUnknown("could not tell whether the quarantine of pod %s landed: the PATCH failed (%s) and reading "
                           "the pod back failed too (%s)" % (name, exc.msg, again.msg), dict(exc.details, changed=True))
    return pod if pod_record.is_quarantined(pod) and wrote_this(pod, patch) else None


def apply_quarantine(kube, params, check_mode, now, expires_at, identity):
    """Plan and write, re-planning on conflict. Returns (changed, proposal, written pod or None).

    A NetworkPolicy is created before the pod gets the label it selects, so the pod is isolated
    the moment the label lands. When this run's quarantine is known not to have landed, the policy
    it created is deleted again; when that is unknown, the policy is kept (it may be what isolates
    the pod) and the error says so."""
    name, namespace = params["name"], params["namespace"]
    created, made_for, sent = None, None, None  # the policy this run created, and the pod it was made for
    try:
        for attempt in range(CONFLICT_ATTEMPTS):
            pod = read_pod(kube, name, namespace)
            if pod_record.is_quarantined(pod):  # already, a concurrent run won the race, or our lost write
                if sent is not None and wrote_this(pod, sent["patch"]):
                    sent["created_policy"] = created is not None
                    return True, sent, pod
                if created:
                    quarantine_policy.discard(kube, made_for, created, pod)
                    created = None
                return False, {"pod": pod}, pod
            proposal = plan_quarantine(kube, params, pod, now, expires_at, identity)
            if check_mode:
                return True, proposal, None
            if proposal["policy_name"] and quarantine_policy.ensure(kube, pod, proposal["policy_name"], params,
                                                                    recorded=False):
                created, made_for = proposal["policy_name"], pod
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
        problem = quarantine_policy.discard(kube, made_for, created) if created else None
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
    if not name or kube.get_or_none("NetworkPolicy", name, pod["metadata"]["namespace"]) is not None:
        return None
    problem = policy_rules.repair_refusal(pod, name)
    if problem:
        raise TriageError(problem)
    if not check_mode:  # read once: ensure() does not GET the policy it was just told is missing
        quarantine_policy.ensure(kube, pod, name, params, recorded=True, missing=True)
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
        found["released"] = not owner_rules.owner_matches(owner, labels)
    if owner is not None and found["released"] and ref["kind"] in owner_rules.REPLACING_KINDS:
        pods, selector = _owner_pods(kube, namespace, owner, owner_rules.owner_selector(owner))
        since = record["quarantined_at"] or ""
        found["known"].update(p["metadata"]["uid"] for p in pods
                              if (p["metadata"].get("creationTimestamp") or "") < since)
        found.update(owner=owner, owner_selector=selector)
    return found
