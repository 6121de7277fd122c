# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tolerant readers of API-shaped dicts (camelCase), shared by every feature: a field of the wrong
type reads as empty instead of raising, so one odd object never breaks a fleet-wide scan."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import datetime, timedelta, timezone
from functools import lru_cache

from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import parse_rfc3339


def meta(obj):
    """The object's metadata, or {}."""
    return (obj or {}).get("metadata") or {}


def as_dict(value):
    return value if isinstance(value, dict) else {}


def as_list(value):
    return value if isinstance(value, list) else []


def as_str(value, default=None):
    return value if isinstance(value, str) else default


def as_int(value, default=0):
    """An int from an API integer field; anything else (None, bool, text) gives `default`."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default


@lru_cache(maxsize=4096)
def _parse_time(text):
    try:
        return parse_rfc3339(text)
    except ValueError:
        return None


def as_time(value):
    """An aware UTC datetime from an RFC 3339 string or a datetime; None when absent or malformed.

    Strings are parsed once (a fleet's pods share most timestamps); datetimes are immutable."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return _parse_time(value) if isinstance(value, str) else None


def one_line(text, limit=300):
    """Whitespace collapsed and cut to `limit` characters, for one-line explanations."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


def controller_ref(pod):
    """The ownerReference with controller: true, or None (a bare pod)."""
    for ref in meta(pod).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def pod_ready(pod):
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


# A pod's own containers say it is unhealthy, whatever its Ready condition says at this instant
# (a crash-looping container is Ready between crashes): the defaults of crashloop_info's policy.
UNHEALTHY_RESTARTS = 3
UNHEALTHY_WINDOW_SECONDS = 600


def _restarts_in_window(status, created, start):
    """How many of a container's restarts fall in the window starting at `start` (the estimate
    of _crashloop/classify.py restarts_in_window: the API keeps only the last termination)."""
    restarts = as_int(status.get("restartCount"))
    last = as_dict(as_dict(status.get("lastState")).get("terminated"))
    finished = as_time(last.get("finishedAt"))
    if restarts <= 0 or finished is None or finished < start:
        return 0
    running_since = as_time(as_dict(as_dict(status.get("state")).get("running")).get("startedAt"))
    if running_since is not None and running_since < start:
        return 0
    if created is not None and created >= start:
        return restarts
    started = as_time(last.get("startedAt"))
    return 1 if started is not None and started < start else restarts


def unhealthy_reason(pod, now, restart_threshold=UNHEALTHY_RESTARTS, window_seconds=UNHEALTHY_WINDOW_SECONDS):
    """Why the pod's own diagnosis is unhealthy, or None: a container (init or regular, never an
    ephemeral one) in CrashLoopBackOff or OOM-killed now, OOM-killed within the window, or with at
    least `restart_threshold` restarts within it (crashloop_info's crash_loop and oom_killed).
    `now`: an aware datetime or RFC 3339 text; a time later than `now` (clock skew) counts as now."""
    now = as_time(now)
    if now is None:
        raise ValueError("now must be a datetime or an RFC 3339 timestamp")
    status = as_dict((pod or {}).get("status"))
    created = as_time(meta(pod).get("creationTimestamp"))
    start = now - timedelta(seconds=window_seconds)
    for field in ("initContainerStatuses", "containerStatuses"):
        for raw in as_list(status.get(field)):
            container = as_dict(raw)
            name = as_str(container.get("name"), "?")
            state = as_dict(container.get("state"))
            if as_dict(state.get("waiting")).get("reason") == "CrashLoopBackOff":
                return "container %s is in CrashLoopBackOff" % name
            if as_dict(state.get("terminated")).get("reason") == "OOMKilled":
                return "container %s was OOM-killed" % name
            last = as_dict(as_dict(container.get("lastState")).get("terminated"))
            finished = as_time(last.get("finishedAt"))
            if last.get("reason") == "OOMKilled" and finished is not None and min(finished, now) >= start:
                return "container %s was OOM-killed within the last %ds" % (name, window_seconds)
            count = _restarts_in_window(container, created, start)
            if count >= restart_threshold:
                return "container %s restarted %d time(s) within the last %ds" % (name, count, window_seconds)
    return None


def healthy_ready(pod, now):
    """Ready, and not unhealthy by its own diagnosis (unhealthy_reason)."""
    return pod_ready(pod) and unhealthy_reason(pod, now) is None
