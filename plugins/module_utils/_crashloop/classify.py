# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tell a crash loop from a slow start: a class, a one-line explanation and a next step per container and pod.

Pure functions over API-shaped (camelCase) Pod dicts, as `kubectl get pod -o json` prints them,
and the Warning event summaries of crashloop_events. No I/O and no clock: the caller LISTs pods
and events once per scope and passes `now`. Malformed or missing fields never raise.

CLASSES is in severity order, most severe first: what an operator must act on first.
- oom_killed: a crash loop whose cause is known (the kernel kills the container at its memory
  limit). Above crash_loop because it is the more specific diagnosis and has a direct fix.
- crash_loop: the app keeps dying; back-off grows to 5 minutes, each crash costs capacity.
- image_pull, config_error: the container never starts. A manifest or cluster-object mistake
  (image/tag/credentials; missing ConfigMap/Secret/key, bad command) that never heals by itself.
- init_failure: an init container fails, so the app containers never start.
- unschedulable: placed on no node (capacity, taints, affinity, PVCs); an autoscaler may clear it.
- probe_failure: running but not Ready, so out of Service endpoints: the app or its probe config.
- evicted: terminal and already replaced by its controller; the action is on the node (pressure).
- error: terminal non-zero exit (Job-style pods); usually retried by the owner.
- not_ready (added): past the start grace, not Ready, and no known failure signal (volumes still
  mounting, sandbox/CNI errors, readiness gates, a lost node). Without it `starting` would last
  forever; it needs a look, but is not a diagnosed failure, so a rollout gate keeps waiting.
- starting: within the grace period and not failing: wait.  completed, healthy: nothing to do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from datetime import timedelta

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.events import events_for_pod, summarize_events
from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import (
    as_dict,
    as_int,
    as_list,
    as_str,
    as_time,
    one_line,
)

CLASSES = (
    "oom_killed", "crash_loop", "image_pull", "config_error", "init_failure", "unschedulable",
    "probe_failure", "evicted", "error", "not_ready", "starting", "completed", "healthy",
)
SEVERITY = dict((klass, rank) for rank, klass in enumerate(CLASSES))
# A rollout gate fails fast on these. init_failure is an init container crash loop (or failure)
# under another name: the new pods can never become Ready either.
FAIL_FAST_CLASSES = frozenset(("oom_killed", "crash_loop", "image_pull", "config_error", "init_failure", "unschedulable"))
OK_CLASSES = frozenset(("starting", "completed", "healthy"))
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

EXIT_MEANINGS = {
    0: "success", 1: "application error", 2: "misuse of a shell builtin or bad arguments",
    126: "command not executable", 127: "command not found", 128: "the runtime could not start the process",
    130: "SIGINT", 134: "SIGABRT: abort, e.g. a failed assertion", 137: "SIGKILL: OOM killer, or killed after a failed liveness probe",
    139: "SIGSEGV: segmentation fault", 143: "SIGTERM: asked to stop",
}

EXPLANATIONS = {  # a container is the cause
    "oom_killed": "container {container} was OOMKilled (exit code {exit_code}) and has restarted {restarts} time(s){detail}",
    "crash_loop": "container {container} is crash-looping: {restarts} restart(s), last exit code {exit_code} ({exit_meaning}){detail}",
    "image_pull": "container {container} cannot pull image {image}: {reason}{detail}",
    "config_error": "container {container} cannot be created or started: {reason}{detail}",
    "init_failure": "init container {container} fails ({reason}, exit code {exit_code}: {exit_meaning}), so the app never starts{detail}",
    "probe_failure": "container {container} runs but is not Ready {seconds}s after starting: its probes fail{detail}",
    "error": "container {container} exited with code {exit_code} ({exit_meaning}){detail}",
    "not_ready": "container {container} is not Ready {seconds}s after start ({reason}){detail}",
    "starting": "container {container} is starting ({reason}, {seconds}s into the {grace}s grace period)",
    "completed": "container {container} ran to completion",
    "healthy": "container {container} is running and Ready",
}
POD_EXPLANATIONS = {  # the pod as a whole is the cause
    "unschedulable": "the scheduler cannot place the pod{detail}",
    "evicted": "the pod was evicted from node {node}{detail}",
    "error": "the pod failed ({reason}){detail}",
    "not_ready": "the pod is not Ready {seconds}s after creation ({reason}){detail}",
    "starting": "the pod is starting ({reason}, {seconds}s into the {grace}s grace period)",
    "completed": "the pod ran to completion",
    "healthy": "all containers are running and Ready",
}
NEXT_STEPS = {
    "oom_killed": "compare the memory limit of {container} with its real usage (kubectl top pod) and raise the limit or fix the leak; read `{logs} --previous`",
    "crash_loop": "read `{logs} --previous`; exit code 1 = application error, 137 = SIGKILL (OOM or failed liveness probe), "
                  "139 = SIGSEGV, 143 = SIGTERM; check the liveness probe in `kubectl describe pod -n {namespace} {pod}`",
    "image_pull": "check that image {image} exists (name, tag or digest), that the node can reach the registry, and the registry "
                  "credentials (imagePullSecrets of the pod or its service account)",
    "config_error": "create or fix the ConfigMap, Secret or key named in the message (or the command or volume it names); the kubelet retries by itself",
    "init_failure": "read `{logs} --previous`: init containers must exit 0 before the app starts; "
                    "check what it waits for (a Service, a migration, permissions)",
    "unschedulable": "read the scheduler message: requested CPU/memory vs free capacity, node taints vs tolerations, nodeSelector/affinity, "
                     "unbound PersistentVolumeClaims; a cluster autoscaler may clear it by adding a node",
    "probe_failure": "compare the probe (path, port, timeoutSeconds, failureThreshold) with how long the app takes to start; "
                     "add a startupProbe for slow starts; read the Unhealthy events in `kubectl describe pod -n {namespace} {pod}`",
    "evicted": "check the node's pressure conditions (`kubectl describe node {node}`) and the pod's requests vs usage; "
               "its controller has replaced it, delete it once understood",
    "error": "read `{logs}` (add --previous if it restarted) and the exit code meaning",
    "not_ready": "run `kubectl describe pod -n {namespace} {pod}`: events (volumes, sandbox), conditions and readiness gates",
    "starting": "wait: the pod is within its start grace period",
    "completed": "nothing to do",
    "healthy": "nothing to do",
}


class _Fields(dict):
    """Template values; a missing one renders as '?' rather than raising."""

    def __missing__(self, key):
        return "?"


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


def exit_code_meaning(exit_code, signal=None):
    """What an exit code usually means: 1 application error, 137 SIGKILL, 139 SIGSEGV, 143 SIGTERM, 128+n signal n."""
    code = as_int(exit_code, None)
    if code is None:
        return "unknown" if as_int(signal, None) is None else "signal %d" % signal
    if code in EXIT_MEANINGS:
        return EXIT_MEANINGS[code]
    if 128 < code < 160:
        return "killed by signal %d" % (code - 128)
    return "application-defined exit code"


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


def most_severe(classes):
    """The most severe of an iterable of classes ('healthy' when empty)."""
    return min(classes, key=SEVERITY.__getitem__, default="healthy")


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
    logs = "kubectl logs -n %s %s %s" % (ctx["namespace"] or "NAMESPACE", ctx["pod"] or "POD", "-c " + container if container else "--all-containers")
    fields = _Fields(container=container, namespace=ctx["namespace"] or "NAMESPACE", pod=ctx["pod"] or "POD", node=ctx["node"],
                     logs=logs, grace=policy["grace_seconds"], reason="?", detail="", image="?", restarts=0, seconds="?")
    fields.update((key, value) for key, value in values.items() if value is not None)
    if fields.get("detail"):
        fields["detail"] = ": " + one_line(fields["detail"])
    return fields


def _term_fields(term):
    code = term["exit_code"] if term else None
    return {"exit_code": "?" if code is None else code, "exit_meaning": exit_code_meaning(code, term and term["signal"]),
            "reason": term and term["reason"], "detail": term and term["message"]}


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
            return "oom_killed", _term_fields(term)
    if status == "waiting" and reason in IMAGE_PULL_REASONS:
        return "image_pull", {"reason": reason, "detail": state["message"]}
    if status == "waiting" and reason in CONFIG_REASONS:
        return "config_error", {"reason": reason, "detail": state["message"]}
    for term in (current, live_last):
        if term and term["reason"] in START_ERROR_REASONS:
            return "config_error", _term_fields(term)
    if backoff:
        return "crash_loop", _term_fields(last)
    running_since = times["started"] if status == "running" else None
    count = restarts_in_window(restarts, last_times["finished"], now, policy["window_seconds"], last_times["started"], ctx["created"], running_since)
    if kind != "ephemeral" and count >= policy["restart_threshold"]:
        return "crash_loop", _term_fields(last)
    if current:
        success = current["exit_code"] == 0 or (current["exit_code"] is None and current["reason"] == "Completed")
        return ("completed" if success else "error"), _term_fields(current)
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
        "class": klass, "explanation": EXPLANATIONS[klass].format_map(fields), "next_step": NEXT_STEPS[klass].format_map(fields),
    }
    return result, fields


def diagnose_container(status, kind, now, policy=None, pod=None, events=None):
    """One entry of containerStatuses/initContainerStatuses/ephemeralContainerStatuses, diagnosed.

    kind: init|regular|ephemeral. `pod` (optional) gives the namespace/name for the next step,
    the start time for the grace period and sidecar init containers; `events` is that pod's
    summary from crashloop_events (probe and mount failures). Returns {name, kind, sidecar, image,
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
    template = (EXPLANATIONS if container is not None and klass in EXPLANATIONS else POD_EXPLANATIONS)[klass]
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
        "explanation": template.format_map(fields), "next_step": NEXT_STEPS[klass].format_map(fields),
        "containers": containers,
        "events": dict((key, summary.get(key)) for key in ("total", "last_reason", "last_message", "last_time", "reasons")),
    }
