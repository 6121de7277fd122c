# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashloop_info's body: validate, scan (one events LIST and one paginated pods LIST per
scope, classified page by page), optionally wait for a rollout to be stable with watches, and
apply the optional JMESPath query. Read only: nothing is ever written."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.triage.k8s.plugins.module_utils.client import build_api_client, describe_target
from ansible_collections.triage.k8s.plugins.module_utils.crashloop_classify import (
    OK_CLASSES,
    classify_pod,
    normalize_policy,
)
from ansible_collections.triage.k8s.plugins.module_utils.crashloop_events import summarize_events
from ansible_collections.triage.k8s.plugins.module_utils.crashloop_scope import (
    list_pod_events,
    list_pods,
    parse_owner,
    resolve_scopes,
)
from ansible_collections.triage.k8s.plugins.module_utils.crashloop_summary import rollout_verdict, summarize
from ansible_collections.triage.k8s.plugins.module_utils.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils.kube import Kube
from ansible_collections.triage.k8s.plugins.module_utils.timeutil import parse_duration

try:
    import jmespath
    HAS_JMESPATH = True
except ImportError:
    HAS_JMESPATH = False

# A watch cycle ends at the latest after this long, so a wait re-reads the owner (a new rollout
# replaces the ReplicaSet being watched) and re-evaluates settle timers even when no pod changes.
RESYNC_SECONDS = 15


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def validate(params):
    """Everything wrong with the input, before any API call."""
    problems = []
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


def scan(kube, scopes, policy, page_size):
    """Classify every pod of the scopes. Events: one LIST per scope, summarised before the pods
    are listed, so memory holds one page of pods plus the small per-pod results."""
    now = _now()
    pods = []
    for scope in scopes:
        try:
            events = summarize_events(list_pod_events(kube, scope, page_size))
            for pod in list_pods(kube, scope, page_size):
                pods.append(classify_pod(pod, events, now, policy))
        except TriageError as exc:
            raise _bad_selector(exc, scope)
    return pods


def wait_stable(kube, params, policy, settle):
    """Watch the scope until the rollout is stable (every pod Ready with no new restart for
    `settle`), fail as soon as a pod is diagnosed failing, or time out."""
    started = _now()
    deadline = started + datetime.timedelta(seconds=params["wait_timeout"])
    state = {"tracking": {}, "verdict": None}
    while True:
        scopes = resolve_scopes(kube, params)
        if len(scopes) != 1:
            raise TriageError("wait_for watches one scope: give owner, name, or a single namespace")
        scope = scopes[0]

        def decide(objects, scope=scope):
            now = _now()
            classified = [classify_pod(p, None, now, policy) for p in objects.values() if scope.selects(p)]
            verdict = rollout_verdict(classified, settle, now, state["tracking"], scope.expected)
            state["tracking"], state["verdict"] = verdict["ready_since"], verdict
            return verdict if verdict["verdict"] in ("stable", "failing") else None

        remaining = (deadline - _now()).total_seconds()
        if remaining <= 0:
            break
        cycle = min(remaining, RESYNC_SECONDS)
        pending = (state["verdict"] or {}).get("settle_remaining")
        if pending:
            cycle = min(cycle, pending + 1)
        try:
            done, _objects = kube.watch_until("Pod", scope.namespace, decide, max(1, int(cycle)),
                                              label_selector=scope.label_selector, field_selector=scope.field_selector)
        except TriageError as exc:
            raise _bad_selector(exc, scope)
        if done:
            return _wait_result(done, started, scope)
        if _now() >= deadline:
            break
    verdict = state["verdict"] or {"verdict": "progressing", "waiting": [], "failing": [], "message": "no pods yet"}
    result = _wait_result(verdict, started, None)
    raise TriageError("timed out after %ss waiting for a stable rollout: %s" % (params["wait_timeout"], verdict["message"]),
                      {"wait": result})


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
    kube = Kube(build_api_client(params), describe_target(params))
    wait = None
    if params["wait_for"]:
        wait = wait_stable(kube, params, policy, settle)
    scopes = resolve_scopes(kube, params)
    pods = scan(kube, scopes, policy, params["page_size"])
    summary = summarize(pods)
    if params["only_unhealthy"]:
        pods = [p for p in pods if p["class"] not in OK_CLASSES]
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
