# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tell a crash loop from a slow start: a class, a one-line explanation and a next step per container and pod.

Pure functions over API-shaped (camelCase) Pod dicts, as `kubectl get pod -o json` prints them,
and the Warning event summaries of events.py. No I/O and no clock: the caller LISTs pods
and events once per scope and passes `now`. Malformed or missing fields never raise.

The classes, their severity order and the words for each (explanation and next step templates,
exit code meanings) are in explain.py; this file decides which class applies.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from datetime import timedelta

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.events import events_for_pod, summarize_events
from ansible_collections.triage.k8s.plugins.module_utils._crashloop.explain import (
    SEVERITY,
    explain,
    template_values,
    termination_values,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import (
    as_dict,
    as_int,
    as_list,
    as_str,
    as_time,
)

CONTAINER_KINDS = (("init", "initContainerStatuses"), ("regular", "containerStatuses"), ("ephemeral", "ephemeralContainerStatuses"))

IMAGE_PULL_REASONS = frozenset(("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable", "ImageInspectError"))
CONFIG_REASONS = frozenset(("CreateContainerConfigError", "CreateContainerError", "RunContainerError"))
# Terminated reasons when the runtime could not exec the command (containerd StartError, exit 128).
START_ERROR_REASONS = frozenset(("StartError", "ContainerCannotRun"))
CREATING_REASONS = frozenset(("ContainerCreating", "PodInitializing"))
# kubelet FailedMount: 'MountVolume.SetUp failed for volume "cfg" : configmap "app" not found'
_MISSING_CONFIG_RE = re.compile(r"\b(?:configmap|secret)s?\b.*\bnot found\b", re.IGNORECASE)

DEFAULT_POLICY = {"restart_threshold": 3, "window_seconds": 600, "grace_seconds": 120}
_POLICY_MINIMUM = {"restart_threshold": 1, "window_seconds": 1, "grace_seconds": 0}


def normalize_policy(policy=None):
    """DEFAULT_POLICY updated with `policy`; ValueError on an unknown key or a value that is not a large enough int."""
    merged = dict(DEFAULT_POLICY)
    if policy is None:
        return merged
    if not isinstance(policy, dict):
        raise ValueError("policy must be a dict with keys %s, got %r" % (", ".join(sorted(DEFAULT_POLICY)), policy))
    for key, value in policy.items():
        if key not in DEFAULT_POLICY:
            raise ValueError("unknown policy key %r; expected one of %s" % (key, ", ".join(sorted(DEFAULT_POLICY))))
        if value is None:
            continue
        if as_int(value, None) is None or value < _POLICY_MINIMUM[key]:
            raise ValueError("policy %s must be an integer >= %d, got %r" % (key, _POLICY_MINIMUM[key], value))
        merged[key] = value
    return merged


def restarts_in_window(restart_count, last_finished_at, now, window_seconds, last_started_at=None, created_at=None, running_since=None):
    """How many of `restart_count` restarts fall within the `window_seconds` before `now` (an estimate).

    The API keeps only the last termination (lastState.terminated), so:
    - no restart, or the last crash finished before the window: 0;
    - the container has been running since before the window: 0 (it stayed up all along);
    - the pod was created within the window: every restart is in it, exactly `restart_count`;
    - the last run started before the window: only the last crash is in it: 1 (a long-lived
      container that crashed once recently is not a crash loop);
    - otherwise the earlier restarts cannot be dated: assume all are in the window. This errs
      towards crash_loop when old restarts are followed by two quick crashes, which is rare.
    Timestamps are datetimes; one later than `now` (clock skew) counts as `now`. The window start is inclusive.
    """
    if restart_count <= 0 or last_finished_at is None:
        return 0
    start = now - timedelta(seconds=window_seconds)
    if min(last_finished_at, now) < start:
        return 0
    if running_since is not None and running_since < start:
        return 0
    if created_at is not None and created_at >= start:
        return restart_count
    if last_started_at is not None and last_started_at < start:
        return 1
    return restart_count


def _read_state(raw):
    """A flat container state: status waiting|running|terminated|unknown with every key present, and parsed times."""
    state = as_dict(raw)
    status = next((name for name in ("waiting", "running", "terminated") if isinstance(state.get(name), dict)), "unknown")
    body = as_dict(state.get(status))
    started, finished = as_time(body.get("startedAt")), as_time(body.get("finishedAt"))
    out = {
        "status": status, "reason": as_str(body.get("reason")), "message": as_str(body.get("message")),
        "started_at": body.get("startedAt") if started else None, "finished_at": body.get("finishedAt") if finished else None,
        "exit_code": as_int(body.get("exitCode"), None), "signal": as_int(body.get("signal"), None),
    }
    return out, {"started": started, "finished": finished}


def _pod_context(pod, events):
    meta, spec, status = (as_dict(pod.get(part)) for part in ("metadata", "spec", "status"))
    created = as_time(meta.get("creationTimestamp"))
    namespace, name = as_str(meta.get("namespace"), ""), as_str(meta.get("name"), "")
    return {
        "namespace": namespace, "pod": name, "node": as_str(spec.get("nodeName"), "?"), "created": created,
        "started": as_time(status.get("startTime")) or created, "events": events,
        "sidecars": set(as_str(as_dict(c).get("name")) for c in as_list(spec.get("initContainers")) if as_dict(c).get("restartPolicy") == "Always"),
    }


def _fields(ctx, policy, container="", **values):
    return template_values(ctx["namespace"], ctx["pod"], ctx["node"], policy["grace_seconds"], container, **values)


def _warning(events):
    if events.get("last_message"):
        return "last warning %s: %s" % (events.get("last_reason"), events.get("last_message"))
    return None


def _probe_events(events, container):
    """(count, last message) of Unhealthy events for `container`; pod-level ones (no fieldPath) count for every container."""
    unhealthy = as_dict(as_dict(events.get("reasons")).get("Unhealthy"))
    per_container = as_dict(unhealthy.get("containers"))
    count = per_container.get(container, 0) if per_container else as_int(unhealthy.get("count"))
    return count, unhealthy.get("last_message")


def _container_class(kind, sidecar, name, state, times, last, last_times, restarts, ready, now, policy, ctx):
    """(class, template values) for one container, the most specific diagnosis first."""
    status, reason = state["status"], state["reason"]
    backoff = status == "waiting" and reason == "CrashLoopBackOff"
    current = state if status == "terminated" else None
    recent = last is not None and last_times["finished"] is not None and last_times["finished"] >= now - timedelta(seconds=policy["window_seconds"])
    live_last = last if backoff or recent else None  # the last termination still explains the present
    for term in (current, live_last):
        if term and term["reason"] == "OOMKilled":
            return "oom_killed", termination_values(term)
    if status == "waiting" and reason in IMAGE_PULL_REASONS:
        return "image_pull", {"reason": reason, "detail": state["message"]}
    if status == "waiting" and reason in CONFIG_REASONS:
        return "config_error", {"reason": reason, "detail": state["message"]}
    for term in (current, live_last):
        if term and term["reason"] in START_ERROR_REASONS:
            return "config_error", termination_values(term)
    if backoff:
        return "crash_loop", termination_values(last)
    running_since = times["started"] if status == "running" else None
    count = restarts_in_window(restarts, last_times["finished"], now, policy["window_seconds"], last_times["started"], ctx["created"], running_since)
    if kind != "ephemeral" and count >= policy["restart_threshold"]:
        return "crash_loop", termination_values(last)
    if current:
        success = current["exit_code"] == 0 or (current["exit_code"] is None and current["reason"] == "Completed")
        return ("completed" if success else "error"), termination_values(current)
    ref = running_since or ctx["started"]
    seconds = int((now - ref).total_seconds()) if ref else None
    in_grace = seconds is not None and seconds <= policy["grace_seconds"]
    events = ctx["events"]
    if status == "running":
        if ready or kind == "ephemeral":
            return "healthy", {}
        if kind == "init" and not sidecar:
            return ("starting" if in_grace else "not_ready"), {"reason": "init container still running", "seconds": seconds}
        if in_grace:
            return "starting", {"reason": "running, not Ready yet", "seconds": seconds}
        probes, message = _probe_events(events, name)
        if probes:
            return "probe_failure", {"seconds": seconds, "detail": message}
        return "not_ready", {"reason": "running, not Ready", "seconds": seconds, "detail": _warning(events)}
    mount = as_dict(as_dict(events.get("reasons")).get("FailedMount")).get("last_message")
    if reason in CREATING_REASONS and mount and _MISSING_CONFIG_RE.search(mount):
        return "config_error", {"reason": "FailedMount", "detail": mount}
    waiting = {"reason": reason or "waiting", "seconds": seconds, "detail": state["message"] or _warning(events)}
    if seconds is None:
        waiting.update(reason=(reason or "waiting") + ", start time unknown", seconds="?")
    return ("starting" if in_grace else "not_ready"), waiting


def _diagnose(status, kind, now, policy, ctx):
    raw = as_dict(status)
    name = as_str(raw.get("name"), "")
    state, times = _read_state(raw.get("state"))
    last, last_times = _read_state({"terminated": as_dict(raw.get("lastState")).get("terminated")})
    last = last if isinstance(as_dict(raw.get("lastState")).get("terminated"), dict) else None
    restarts = max(0, as_int(raw.get("restartCount")))
    sidecar = kind == "init" and name in ctx["sidecars"]
    klass, values = _container_class(kind, sidecar, name, state, times, last, last_times, restarts, raw.get("ready") is True, now, policy, ctx)
    fields = _fields(ctx, policy, name or "?", image=as_str(raw.get("image")), restarts=restarts, **values)
    if last is not None:
        del last["status"]
    result = {
        "name": name, "kind": kind, "sidecar": sidecar, "image": as_str(raw.get("image")), "ready": raw.get("ready") is True,
        "started": raw.get("started") is True, "restart_count": restarts, "state": state, "last_terminated": last,
        "class": klass,
    }
    result["explanation"], result["next_step"] = explain(klass, fields)
    return result, fields


def diagnose_container(status, kind, now, policy=None, pod=None, events=None):
    """One entry of containerStatuses/initContainerStatuses/ephemeralContainerStatuses, diagnosed.

    kind: init|regular|ephemeral. `pod` (optional) gives the namespace/name for the next step,
    the start time for the grace period and sidecar init containers; `events` is that pod's
    summary from events.py (probe and mount failures). Returns {name, kind, sidecar, image,
    ready, started, restart_count, state: {status, reason, message, started_at, finished_at,
    exit_code, signal}, last_terminated: same keys without status, or None, class, explanation, next_step}.
    """
    if kind not in ("init", "regular", "ephemeral"):
        raise ValueError("kind must be init, regular or ephemeral, got %r" % (kind,))
    ctx = _pod_context(as_dict(pod), as_dict(events))
    return _diagnose(status, kind, _require_now(now), normalize_policy(policy), ctx)[0]


def _require_now(now):
    moment = as_time(now)
    if moment is None:
        raise ValueError("now must be a datetime or an RFC 3339 timestamp, got %r" % (now,))
    return moment


def _condition(status, kind):
    return next((as_dict(c) for c in as_list(status.get("conditions")) if as_dict(c).get("type") == kind), {})


def _pod_candidates(status, ctx, diagnosed, now, policy):
    """[(class, template values, container or None)] for a pod, in discovery order (ties keep the first)."""
    phase, reason, message = as_str(status.get("phase"), ""), as_str(status.get("reason")), as_str(status.get("message"))
    events = ctx["events"]
    if reason == "Evicted":
        return [("evicted", _fields(ctx, policy, detail=message), None)]
    if phase == "Succeeded":
        return [("completed", _fields(ctx, policy), None)]
    candidates = []
    scheduled = _condition(status, "PodScheduled")
    if scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
        scheduler = as_str(scheduled.get("message")) or as_dict(as_dict(events.get("reasons")).get("FailedScheduling")).get("last_message")
        candidates.append(("unschedulable", _fields(ctx, policy, detail=scheduler), None))
    for container, fields in diagnosed:
        klass = container["class"]
        if container["kind"] == "ephemeral" or klass in ("healthy", "completed"):
            continue  # ephemeral containers are debugging tools, not the workload
        if container["kind"] == "init" and not container["sidecar"] and klass in ("crash_loop", "error"):
            klass = "init_failure"
        candidates.append((klass, fields, container))
    if phase == "Failed":
        candidates.append(("error", _fields(ctx, policy, reason=reason or "phase Failed", detail=message), None))
    if not candidates and not _pod_ready(status, diagnosed):
        ready = _condition(status, "Ready")
        if phase == "Unknown":
            why = "phase Unknown: the node stopped reporting"
        elif ready:
            why = as_str(ready.get("reason")) or "Ready is %s" % ready.get("status")
        else:
            why = "not scheduled yet" if scheduled.get("status") != "True" else "no container status yet"
        detail = "; ".join(text for text in (as_str(ready.get("message")), _warning(events)) if text)
        seconds = int((now - ctx["started"]).total_seconds()) if ctx["started"] else None
        klass = "starting" if seconds is not None and seconds <= policy["grace_seconds"] else "not_ready"
        candidates.append((klass, _fields(ctx, policy, reason=why, detail=detail, seconds=seconds), None))
    return candidates or [("healthy", _fields(ctx, policy), None)]


def _pod_ready(status, diagnosed):
    ready = _condition(status, "Ready")
    if ready:
        return ready.get("status") == "True"
    regular = [container for container, fields in diagnosed if container["kind"] == "regular"]
    return bool(regular) and all(c["ready"] and c["state"]["status"] == "running" for c in regular)


def classify_pod(pod, events, now, policy=None):
    """A pod's class (the most severe of its containers and pod-level conditions), explained.

    `events` is the result of summarize_events over the scope's one event LIST (the pod's entry
    is looked up), or a list of raw Event dicts, or None. `now`: aware datetime (or RFC 3339).
    Returns {namespace, name, uid, owner: {kind, name} | None, node, phase, reason, ready,
    ready_since (RFC 3339 | None), terminating, restarts, age_seconds, class, culprit (container
    name | None), explanation, next_step, containers: [diagnose_container results], events:
    {total, last_reason, last_message, last_time, reasons}}.
    """
    policy, now, pod = normalize_policy(policy), _require_now(now), as_dict(pod)
    if not isinstance(events, dict) or "items" in events:
        events = summarize_events(events)
    summary = events_for_pod(events, pod)
    ctx = _pod_context(pod, summary)
    meta, spec, status = (as_dict(pod.get(part)) for part in ("metadata", "spec", "status"))
    diagnosed = [_diagnose(raw, kind, now, policy, ctx) for kind, field in CONTAINER_KINDS for raw in as_list(status.get(field))]
    candidates = _pod_candidates(status, ctx, diagnosed, now, policy)
    klass, fields, container = min(candidates, key=lambda candidate: SEVERITY[candidate[0]])
    explanation, next_step = explain(klass, fields, by_container=container is not None)
    owner = next((as_dict(ref) for ref in as_list(meta.get("ownerReferences")) if as_dict(ref).get("controller") is True), None)
    ready = _condition(status, "Ready")
    ready_since = ready.get("lastTransitionTime") if ready.get("status") == "True" and as_time(ready.get("lastTransitionTime")) else None
    containers = [result for result, unused in diagnosed]
    return {
        "namespace": ctx["namespace"], "name": ctx["pod"], "uid": as_str(meta.get("uid"), ""),
        "owner": {"kind": as_str(owner.get("kind"), ""), "name": as_str(owner.get("name"), "")} if owner else None,
        "node": as_str(spec.get("nodeName")), "phase": as_str(status.get("phase")), "reason": as_str(status.get("reason")),
        "ready": _pod_ready(status, diagnosed), "ready_since": ready_since, "terminating": meta.get("deletionTimestamp") is not None,
        "restarts": sum(c["restart_count"] for c in containers if c["kind"] != "ephemeral"),
        "age_seconds": max(0, int((now - ctx["created"]).total_seconds())) if ctx["created"] else None,
        "class": klass, "culprit": container["name"] if container is not None else None,
        "explanation": explanation, "next_step": next_step,
        "containers": containers,
        "events": dict((key, summary.get(key)) for key in ("total", "last_reason", "last_message", "last_time", "reasons")),
    }
