# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Warning events grouped per pod for the crash-loop classifier, plus the tolerant readers it shares.

Events come from ONE LIST per scope (never one request per pod); `summarize_events` groups them in
a single pass, O(n) time, with memory bounded by the number of distinct (object, reason) pairs.
Both shapes are read:
- core/v1 Event: involvedObject, message, count, firstTimestamp/lastTimestamp, series, eventTime;
- events.k8s.io/v1 Event: regarding, note, deprecatedCount, deprecatedLastTimestamp, series, eventTime.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339
from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import as_dict, as_int, as_str, as_time, one_line

# Warning reasons that explain a failing pod. Others (FailedKillPod, NetworkNotReady, ...) are noise here.
WARNING_REASONS = frozenset((
    "BackOff", "Unhealthy", "Failed", "FailedScheduling", "FailedMount", "FailedAttachVolume",
    "FailedCreatePodSandBox", "Evicted", "OOMKilling",
))
# kubelet sets involvedObject.fieldPath to spec.containers{name} for container-level events (probes, back-off).
_FIELD_PATH_RE = re.compile(r"spec\.(?:initContainers|containers|ephemeralContainers)\{([^}]*)\}")
_TIME_FIELDS = ("lastTimestamp", "deprecatedLastTimestamp", "eventTime", "firstTimestamp", "deprecatedFirstTimestamp")


def event_key(namespace, name, uid):
    """'namespace/name/uid', the key of summarize_events; uid may be empty."""
    return "%s/%s/%s" % (namespace or "", name or "", uid or "")


def event_count(event):
    """How many times the event happened: the largest of count, deprecatedCount and series.count, at least 1."""
    series = as_dict(event.get("series"))
    return max(1, as_int(event.get("count")), as_int(event.get("deprecatedCount")), as_int(series.get("count")))


def event_time(event):
    """When the event was last seen: the latest parseable timestamp it carries, or None."""
    series = as_dict(event.get("series"))
    times = [as_time(event.get(field)) for field in _TIME_FIELDS]
    times.append(as_time(series.get("lastObservedTime")))
    times.append(as_time(as_dict(event.get("metadata")).get("creationTimestamp")))
    times = [moment for moment in times if moment is not None]
    return max(times) if times else None


def container_of(field_path):
    """The container name in a fieldPath such as 'spec.containers{app}', or None."""
    match = _FIELD_PATH_RE.search(field_path) if isinstance(field_path, str) else None
    return match.group(1) if match else None


def _empty_summary(namespace="", name="", uid="", kind=""):
    return {
        "namespace": namespace, "name": name, "uid": uid, "kind": kind,
        "total": 0, "reasons": {}, "last_reason": None, "last_message": None, "last_time": None,
    }


def _is_newer(new, old, first):
    """Whether an event seen at `new` replaces the last one seen at `old` (later in the list wins ties)."""
    if first:
        return True
    if new is None:
        return old is None
    return old is None or new >= old


def _iter_events(events):
    if isinstance(events, dict):  # a raw List response
        events = events.get("items")
    if isinstance(events, (str, bytes)) or events is None:
        return ()
    try:
        return iter(events)
    except TypeError:
        return ()


def summarize_events(events, reasons=WARNING_REASONS):
    """Warning events grouped per involved object, keyed by event_key(namespace, name, uid).

    `events` is a list (or any iterable, e.g. pages being streamed) of Event dicts, or a raw List
    response. Only type Warning with a reason in `reasons` is kept. Each value:
    {namespace, name, uid, kind, total, last_reason, last_message, last_time,
     reasons: {reason: {count, last_message, last_time, containers: {container: count}}}}
    where counts add up event counts (count/series.count/deprecatedCount) and times are RFC 3339.
    Node-level events (e.g. OOMKilling from node-problem-detector) are grouped under their node.
    """
    out = {}
    seen = {}  # (key, reason) or key -> datetime of the last kept event, so timestamps are parsed once
    for raw in _iter_events(events):
        event = as_dict(raw)
        reason = as_str(event.get("reason"))
        if event.get("type") != "Warning" or reason not in reasons:
            continue
        obj = as_dict(event.get("involvedObject") or event.get("regarding"))
        namespace = as_str(obj.get("namespace")) or as_str(as_dict(event.get("metadata")).get("namespace"), "")
        name, uid = as_str(obj.get("name"), ""), as_str(obj.get("uid"), "")
        key = event_key(namespace, name, uid)
        entry = out.get(key)
        if entry is None:
            entry = out[key] = _empty_summary(namespace, name, uid, as_str(obj.get("kind"), ""))
        count, when = event_count(event), event_time(event)
        message = one_line(as_str(event.get("message")) or as_str(event.get("note")) or "", 1000)
        stamp = format_rfc3339(when) if when else None
        per_reason = entry["reasons"].get(reason)
        if per_reason is None:
            per_reason = entry["reasons"][reason] = {"count": 0, "last_message": None, "last_time": None, "containers": {}}
        container = container_of(obj.get("fieldPath"))
        if container is not None:
            per_reason["containers"][container] = per_reason["containers"].get(container, 0) + count
        if _is_newer(when, seen.get((key, reason)), per_reason["count"] == 0):
            per_reason["last_message"], per_reason["last_time"] = message, stamp
            seen[(key, reason)] = when
        if _is_newer(when, seen.get(key), entry["total"] == 0):
            entry["last_reason"], entry["last_message"], entry["last_time"] = reason, message, stamp
            seen[key] = when
        per_reason["count"] += count
        entry["total"] += count
    return out


def events_for_pod(summaries, pod):
    """The summary of one pod from summarize_events' result (empty if none).

    Looks the pod up by namespace/name/uid, then by namespace/name/ for events that carry no uid.
    Keying by uid keeps the events of an earlier pod with the same name (StatefulSets) apart.
    """
    meta = as_dict(as_dict(pod).get("metadata"))
    namespace, name, uid = as_str(meta.get("namespace"), ""), as_str(meta.get("name"), ""), as_str(meta.get("uid"), "")
    summaries = as_dict(summaries)
    found = summaries.get(event_key(namespace, name, uid)) or summaries.get(event_key(namespace, name, ""))
    return found if isinstance(found, dict) else _empty_summary(namespace, name, uid, "Pod")
