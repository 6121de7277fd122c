# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashloop_info's body: validate, scan (one events LIST and one paginated pods LIST per
scope, classified page by page), optionally wait for a rollout to be stable with watches, and
apply the optional JMESPath query. Read only: nothing is ever written."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import connect
from ansible_collections.triage.k8s.plugins.module_utils._crashloop.classify import classify_pod, normalize_policy
from ansible_collections.triage.k8s.plugins.module_utils._crashloop.events import summarize_events
from ansible_collections.triage.k8s.plugins.module_utils._crashloop.explain import OK_CLASSES, SEVERITY
from ansible_collections.triage.k8s.plugins.module_utils._crashloop.run_scope import list_pod_events, list_pods, resolve_scopes
from ansible_collections.triage.k8s.plugins.module_utils._crashloop.scope import controller_uid, parse_owner
from ansible_collections.triage.k8s.plugins.module_utils._k8s.selectors import selector_problems
from ansible_collections.triage.k8s.plugins.module_utils._crashloop.summary import rollout_verdict, summarize
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.names import name_problem, namespace_problem
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import parse_duration

try:
    import jmespath
    HAS_JMESPATH = True
except ImportError:
    HAS_JMESPATH = False

# A watch cycle ends at the latest after this long, so a wait re-reads the owner (a new rollout
# replaces the ReplicaSet being watched) and re-evaluates settle timers even when no pod changes.
RESYNC_SECONDS = 15
# While the owner's controller has not caught up with its spec (a Deployment whose new
# generation has no ReplicaSet yet, a StatefulSet rolling update), the owner is re-read this often.
HOLD_SECONDS = 2
# How many not-Ready pods a timeout message names.
TIMEOUT_EXAMPLES = 3


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _name_problems(params):
    """Every name and namespace that will reach a URL, checked before any call."""
    problems = [namespace_problem(ns) for ns in [params["namespace"]] + list(params["namespaces"] or [])
                if ns]
    if params["name"] is not None:
        problems.append(name_problem("Pod", params["name"]))
    if params["owner"]:
        try:
            kind, name = parse_owner(params["owner"])
            problems.append(name_problem(kind, name))
        except TriageError:
            pass  # reported below with the owner syntax
    return [p for p in problems if p]


def validate(params):
    """Everything wrong with the input, before any API call."""
    problems = _name_problems(params)
    policy = {}
    for option, key in (("window", "window_seconds"), ("grace_period", "grace_seconds")):
        try:
            policy[key] = parse_duration(params[option])
        except ValueError as exc:
            problems.append("%s: %s" % (option, exc))
    policy["restart_threshold"] = params["restart_threshold"]
    try:
        policy = normalize_policy(policy)
    except ValueError as exc:
        problems.append(str(exc))
    if params["wait_timeout"] <= 0:
        problems.append("wait_timeout must be a positive number of seconds, got %d" % params["wait_timeout"])
    try:
        settle = parse_duration(params["settle"])
    except ValueError as exc:
        problems.append("settle: %s" % exc)
        settle = None
    if params["page_size"] < 1:
        problems.append("page_size must be at least 1, got %d" % params["page_size"])
    problems.extend(selector_problems(params["label_selectors"], params["field_selectors"]))
    if params["owner"]:
        try:
            parse_owner(params["owner"])
        except TriageError as exc:
            problems.append(exc.msg)
    if params["name"] and params["namespaces"]:
        problems.append("name selects one pod in namespace; it cannot be combined with namespaces")
    if params["wait_for"] and params["namespaces"] and len(params["namespaces"]) > 1:
        problems.append("wait_for watches one scope: give owner, name, or a single namespace")
    compiled = None
    if params["query"]:
        if not HAS_JMESPATH:
            problems.append("query needs the jmespath Python library on the host that runs the module")
        else:
            try:
                compiled = jmespath.compile(params["query"])
            except jmespath.exceptions.JMESPathError as exc:
                problems.append("query %r is not a valid JMESPath expression: %s" % (params["query"], exc))
    if problems:
        raise TriageError("invalid parameters: " + "; ".join(problems))
    return policy, settle, compiled


def _bad_selector(exc, scope):
    if exc.details.get("status") == 400:
        return TriageError("the API server rejected the selectors of %s (label: %r, field: %r): %s"
                           % (scope.description, scope.label_selector, scope.field_selector,
                              exc.details.get("api_message") or exc.msg))
    return exc


def iter_scan(kube, scopes, policy, page_size):
    """Yield every pod of the scopes, classified. Per scope, the first page of pods is fetched
    first (a selector the API server rejects fails before anything else is listed), then the
    Warning events (one LIST, skipped when there is no pod), then the rest of the pods page by
    page: memory holds one page of pods plus the event summary."""
    now = _now()
    for scope in scopes:
        try:
            listing = iter(list_pods(kube, scope, page_size))
            first = next(listing, None)
            if first is None:
                continue
            events = summarize_events(list_pod_events(kube, scope, page_size))
            yield classify_pod(first, events, now, policy)
            for pod in listing:
                yield classify_pod(pod, events, now, policy)
        except TriageError as exc:
            raise _bad_selector(exc, scope)


def scan(kube, scopes, policy, page_size):
    """Every pod of the scopes, classified (a list; see iter_scan)."""
    return list(iter_scan(kube, scopes, policy, page_size))


def _keep(pods, kept, only_unhealthy):
    """Pass pods through to the summary, keeping (in `kept`) the ones the result lists: with
    only_unhealthy the healthy majority of a large fleet is counted and dropped at once."""
    for pod in pods:
        if not only_unhealthy or pod["class"] not in OK_CLASSES:
            kept.append(pod)
        yield pod


def _wait_scope(kube, params):
    scopes = resolve_scopes(kube, params)
    if len(scopes) != 1:
        raise TriageError("wait_for watches one scope: give owner, name, or a single namespace")
    return scopes[0]


class _Decider(object):
    """The watch predicate of one wait cycle over `scope`; state carries across cycles."""

    def __init__(self, scope, policy, settle, state):
        self.scope, self.policy, self.settle, self.state = scope, policy, settle, state

    def __call__(self, objects):
        scope, state = self.scope, self.state
        if scope.family is not None:
            # A pod of a ReplicaSet the Deployment did not have: a new rollout. Re-read the owner now.
            unknown = set(uid for uid in (controller_uid(p, "ReplicaSet") for p in objects.values())
                          if uid and uid not in scope.family and uid not in state["foreign"])
            if unknown:
                state["unknown"] = unknown
                return {"verdict": "rescope"}
        now = _now()
        classified = [classify_pod(p, None, now, self.policy) for p in objects.values() if scope.selects(p)]
        verdict = rollout_verdict(classified, self.settle, now, state["tracking"], scope.expected)
        state["tracking"], state["verdict"] = verdict["ready_since"], verdict
        if scope.pending or (scope.updating and verdict["verdict"] == "stable"):
            return None  # hold: the owner's controller is not done with its latest spec
        return verdict if verdict["verdict"] in ("stable", "failing") else None


def wait_stable(kube, params, policy, settle):
    """Watch the scope until the rollout is stable (every pod Ready with no new restart for
    `settle`), fail as soon as a pod is diagnosed failing, or time out.

    A verdict counts only if the owner still wants the same pods when it is reached (same newest
    ReplicaSet, same replicas, controller caught up); otherwise the wait goes on with the pods the
    owner wants now. Returns (wait result, scope, pods): the pods as the verdict saw them."""
    started = _now()
    deadline = started + datetime.timedelta(seconds=params["wait_timeout"])
    state = {"tracking": {}, "verdict": None, "foreign": set(), "unknown": set()}
    scope = _wait_scope(kube, params)
    while True:
        remaining = (deadline - _now()).total_seconds()
        if remaining <= 0:
            break
        cycle = min(remaining, HOLD_SECONDS if scope.pending or scope.updating else RESYNC_SECONDS)
        settle_left = (state["verdict"] or {}).get("settle_remaining")
        if settle_left:
            cycle = min(cycle, settle_left + 1)  # wake up when the last Ready pod has settled
        decide = _Decider(scope, policy, settle, state)
        try:
            done, objects = kube.watch_until("Pod", scope.namespace, decide, max(1, int(cycle)),
                                             label_selector=scope.watch_selector or scope.label_selector,
                                             field_selector=scope.field_selector)
        except TriageError as exc:
            raise _bad_selector(exc, scope)
        fresh = _wait_scope(kube, params)
        if done and done["verdict"] == "rescope":
            # ReplicaSets that are still not the Deployment's (a selector overlap) are ignored from now on.
            state["foreign"].update(uid for uid in state["unknown"] if uid not in (fresh.family or ()))
        elif done and fresh.identity() == scope.identity() and not fresh.pending \
                and not (fresh.updating and done["verdict"] == "stable"):
            return _wait_result(done, started, fresh), fresh, [p for p in objects.values() if fresh.selects(p)]
        scope = fresh
    verdict = state["verdict"] or {"verdict": "progressing", "waiting": [], "failing": [], "message": "no pods yet"}
    raise _timeout(kube, params, policy, scope, verdict, started)


def classify_seen(kube, scope, pods, policy, page_size):
    """The pods a wait's verdict was reached on, classified with the scope's Warning events (one
    LIST), so the result shows what the gate saw - not a later state of a pod that has restarted since."""
    events = summarize_events(list_pod_events(kube, scope, page_size)) if pods else {}
    now = _now()
    ordered = sorted(pods, key=lambda p: ((p.get("metadata") or {}).get("namespace") or "", p["metadata"].get("name") or ""))
    return [classify_pod(pod, events, now, policy) for pod in ordered]


def _timeout(kube, params, policy, scope, verdict, started):
    """The timeout error, with a diagnosis of the pods that never got Ready (events included)."""
    result = {"wait": _wait_result(verdict, started, scope)}
    why = verdict["message"]
    for hold in (scope.pending, scope.updating):
        if hold:
            why += "; " + hold
    try:
        pods = scan(kube, [scope], policy, params["page_size"])
    except TriageError:
        pods = None  # the timeout is the news; a failed diagnosis must not hide it
    if pods is not None:
        summary = summarize(pods)
        result.update(pods=pods, summary=summary, unhealthy=summary["unhealthy"])
        stuck = [p for p in sorted(pods, key=lambda p: SEVERITY[p["class"]]) if not p["ready"] and not p["terminating"]]
        if stuck:
            why += "; not Ready: " + "; ".join("%s/%s is %s: %s Next: %s" % (
                p["namespace"], p["name"], p["class"], p["explanation"], p["next_step"]) for p in stuck[:TIMEOUT_EXAMPLES])
            if len(stuck) > TIMEOUT_EXAMPLES:
                why += "; and %d more" % (len(stuck) - TIMEOUT_EXAMPLES)
    return TriageError("timed out after %ss waiting for a stable rollout of %s: %s"
                       % (params["wait_timeout"], scope.description, why), result)


def _wait_result(verdict, started, scope):
    return {
        "verdict": verdict["verdict"],
        "message": verdict["message"],
        "waiting": verdict.get("waiting") or [],
        "failing": [dict((k, p.get(k)) for k in ("namespace", "name", "class", "explanation", "next_step"))
                    for p in verdict.get("failing") or []],
        "elapsed_seconds": round((_now() - started).total_seconds(), 1),
        "scope": scope.description if scope else None,
    }


def run_crashloop(module):
    params = module.params
    policy, settle, query = validate(params)
    kube = connect(params)

    wait = None
    if params["wait_for"]:
        wait, scope, seen = wait_stable(kube, params, policy, settle)
        scopes = [scope]
        classified = classify_seen(kube, scope, seen, policy, params["page_size"])
    else:
        scopes = resolve_scopes(kube, params)
        classified = iter_scan(kube, scopes, policy, params["page_size"])
    pods = []
    summary = summarize(_keep(classified, pods, params["only_unhealthy"]))
    if params["name"] and not params["wait_for"] and not params["label_selectors"] and not params["field_selectors"] \
            and summary["total"] == 0:
        # One named pod that is not there is a typo or a pod already gone, not a healthy scan.
        raise TriageError('pod "%s" not found in namespace "%s"%s' % (
            params["name"], params["namespace"], " on %s" % kube.target if kube.target else ""),
            {"error_type": "not_found"})
    result = {
        "changed": False,
        "pods": pods,
        "summary": summary,
        "crashloop_detected": summary["crashloop_detected"],
        "unhealthy": summary["unhealthy"],
        "scopes": [s.description for s in scopes],
    }
    if wait is not None:
        result["wait"] = wait
        if wait["verdict"] == "failing":
            first = wait["failing"][0] if wait["failing"] else {}
            raise TriageError("rollout is failing after %ss: %s/%s is %s: %s Next: %s" % (
                wait["elapsed_seconds"], first.get("namespace"), first.get("name"), first.get("class"),
                first.get("explanation"), first.get("next_step")), result)
    if query is not None:
        result["query_result"] = query.search(dict((k, v) for k, v in result.items() if k != "changed"))
    return result
