# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet summary and the rollout-gate verdict over pods classified by classify.py.

Pure functions: the wait loop owns the watches and the clock, and threads the `ready_since`
tracking returned by rollout_verdict into its next call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.explain import CLASSES, FAIL_FAST_CLASSES, OK_CLASSES, SEVERITY
from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import as_dict, as_int, as_list, as_str, as_time

VERDICTS = ("stable", "failing", "progressing")


def _class(pod):
    klass = pod.get("class")
    return klass if klass in SEVERITY else "not_ready"


def describe(pod):
    """'namespace/name: class — explanation', one line for humans."""
    return "%s/%s: %s \u2014 %s" % (pod.get("namespace") or "", pod.get("name") or "", _class(pod), pod.get("explanation") or "")


def is_crashlooping(pod):
    """Whether a classified pod has a restarting container that keeps dying (ephemeral containers aside).

    True for a container classed crash_loop (init containers included: the pod itself is then
    init_failure), or oom_killed while restarting (restart_count > 0 or in CrashLoopBackOff). A
    container OOMKilled once with no restart (a Job pod) is a failure, not a crash loop.
    """
    for container in as_list(as_dict(pod).get("containers")):
        container = as_dict(container)
        if container.get("kind") == "ephemeral":
            continue
        if container.get("class") == "crash_loop":
            return True
        backoff = as_dict(container.get("state")).get("reason") == "CrashLoopBackOff"
        if container.get("class") == "oom_killed" and (as_int(container.get("restart_count")) > 0 or backoff):
            return True
    return as_dict(pod).get("class") == "crash_loop"


def summarize(pods, max_unhealthy=20):
    """Counts and a short human list over classified pods.

    Returns {total, by_class: {class: n} for every class, by_namespace: {namespace: {class: n}},
    by_owner: {"namespace/Kind/name" or "namespace/(none)": {class: n}}, crashloop_detected (see
    is_crashlooping), unhealthy: up to `max_unhealthy` lines "ns/name: class — explanation", most
    severe first (then by namespace/name), and a last "... and N more" line when cut;
    unhealthy_total}. Unhealthy = any class but starting, completed and healthy.
    """
    by_class = dict((klass, 0) for klass in CLASSES)
    by_namespace, by_owner, unhealthy, total, crashloop = {}, {}, [], 0, False
    for pod in pods:
        pod = as_dict(pod)
        klass, namespace = _class(pod), as_str(pod.get("namespace"), "")
        owner = as_dict(pod.get("owner"))
        owner_key = "%s/%s/%s" % (namespace, owner.get("kind"), owner.get("name")) if owner else "%s/(none)" % namespace
        total += 1
        by_class[klass] += 1
        for bucket in (by_namespace.setdefault(namespace, {}), by_owner.setdefault(owner_key, {})):
            bucket[klass] = bucket.get(klass, 0) + 1
        crashloop = crashloop or is_crashlooping(pod)
        if klass not in OK_CLASSES:
            unhealthy.append((SEVERITY[klass], namespace, as_str(pod.get("name"), ""), describe(pod)))
    unhealthy.sort()
    lines = [entry[3] for entry in unhealthy[:max_unhealthy]]
    if len(unhealthy) > max_unhealthy:
        lines.append("... and %d more" % (len(unhealthy) - max_unhealthy))
    return {
        "total": total, "by_class": by_class, "by_namespace": by_namespace, "by_owner": by_owner,
        "crashloop_detected": crashloop, "unhealthy": lines, "unhealthy_total": len(unhealthy),
    }


def _pod_id(pod):
    return as_str(pod.get("uid")) or "%s/%s" % (pod.get("namespace"), pod.get("name"))


def rollout_verdict(pods, settle_seconds, now, ready_since=None, expected=None):
    """stable | failing | progressing for the pods of a rollout, and the tracking for the next call.

    pods: classify_pod results for the selected pods; terminating ones are skipped (pods being
    replaced). ready_since: what the previous call returned ({} or None the first time):
    {pod uid: {"since": datetime, "restarts": int}}. A Ready pod is settled once it has been
    Ready, with an unchanged restart count, for `settle_seconds`:
    - first sight: Ready since its Ready condition's lastTransitionTime (capped at now), else now;
    - restart count unchanged: the later of the tracked time and lastTransitionTime (it went
      unready and back in between);
    - restart count changed: now (a new restart restarts the settle period).
    Pods that are not Ready drop out of the tracking.
    - failing: some pod's class is in FAIL_FAST_CLASSES (crash_loop, oom_killed, image_pull,
      config_error, init_failure, unschedulable): fail fast, do not wait out the timeout;
    - stable: at least one pod (and at least `expected` when given), every one Ready and settled;
      or `expected` is 0 and no pod is left (a workload scaled to zero);
    - progressing: anything else.
    Returns {verdict, failing: [pods], waiting: ["ns/name: why"], ready_since: new tracking,
    settle_remaining: seconds until the last Ready pod settles (0 when stable, None while some
    pod is not Ready), message}.
    """
    now = as_time(now)
    if now is None:
        raise ValueError("now must be a datetime or an RFC 3339 timestamp")
    if as_int(settle_seconds, None) is None or settle_seconds < 0:
        raise ValueError("settle_seconds must be an integer >= 0, got %r" % (settle_seconds,))
    tracked = as_dict(ready_since)
    active = [as_dict(pod) for pod in pods if not as_dict(pod).get("terminating")]
    failing = [pod for pod in active if _class(pod) in FAIL_FAST_CLASSES]
    tracking, waiting, remaining, not_ready = {}, [], 0, 0
    for pod in active:
        if not pod.get("ready"):
            not_ready += 1
            waiting.append(describe(pod))
            continue
        key, restarts = _pod_id(pod), as_int(pod.get("restarts"))
        previous = as_dict(tracked.get(key))
        transition = as_time(pod.get("ready_since"))
        transition = min(transition, now) if transition else None
        since = as_time(previous.get("since"))
        if since is not None and previous.get("restarts") == restarts:
            since = max(since, transition) if transition else since
        else:
            since = now if previous else (transition or now)
        tracking[key] = {"since": since, "restarts": restarts}
        left = settle_seconds - (now - since).total_seconds()
        if left > 0:
            remaining = max(remaining, left)
            waiting.append("%s/%s: Ready for %ds of the %ds settle period" % (pod.get("namespace"), pod.get("name"), settle_seconds - left, settle_seconds))
    ready = len(active) - not_ready
    if failing:
        verdict = "failing"
        message = "%d pod(s) failing: %s" % (len(failing), "; ".join(describe(pod) for pod in failing))
    elif expected == 0 and not active:
        verdict, message = "stable", "the owner wants no pods (replicas: 0) and none is left"
    elif active and not waiting and (expected is None or ready >= expected):
        verdict, message = "stable", "%d pod(s) Ready and settled for %ds" % (ready, settle_seconds)
    else:
        verdict = "progressing"
        want = " of %d expected" % expected if expected is not None else ""
        message = "%d pod(s) Ready%s, %d settling or not Ready" % (ready, want, len(waiting))
    return {
        "verdict": verdict, "failing": failing, "waiting": waiting, "ready_since": tracking,
        "settle_remaining": None if not_ready else (0 if verdict == "stable" else remaining), "message": message,
    }
