# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _crashloop/events.py: Warning event summaries per pod (core/v1 and events.k8s.io shapes)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.events import (
    container_of,
    event_count,
    event_key,
    events_for_pod,
    summarize_events,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339

NOW = datetime(2026, 1, 2, 12, 0, 0, tzinfo=timezone.utc)


def ago(seconds):
    return format_rfc3339(NOW - timedelta(seconds=seconds))


def core_event(reason, message, uid="u-1", name="web-1", kind_type="Warning", seconds=None, field_path=None, **extra):
    obj = {"kind": "Pod", "namespace": "shop", "name": name, "uid": uid}
    if field_path:
        obj["fieldPath"] = field_path
    event = dict(extra, type=kind_type, reason=reason, message=message, involvedObject=obj)
    if seconds is not None:
        event["lastTimestamp"] = ago(seconds)
    return event


def test_event_counts_and_last_message():
    events = [
        core_event("BackOff", "Back-off restarting failed container", count=12, seconds=5, field_path="spec.containers{app}"),
        core_event("Unhealthy", "Readiness probe failed: 503", series={"count": 7, "lastObservedTime": ago(1)}, seconds=300,
                   field_path="spec.containers{app}"),
        core_event("Unhealthy", "Liveness probe failed", count=2, seconds=60, field_path="spec.initContainers{mesh}"),
        core_event("FailedMount", "older", seconds=900),
        core_event("FailedMount", "newer", seconds=800),
        core_event("FailedMount", "stale, listed last", seconds=2000),
        core_event("Scheduled", "normal reason", kind_type="Normal"),
        core_event("Pulling", "not a watched reason"),
        core_event("BackOff", "other pod instance", uid="u-2", count=4),
    ]
    out = summarize_events(events)
    assert set(out) == {"shop/web-1/u-1", "shop/web-1/u-2"}
    pod = out["shop/web-1/u-1"]
    assert pod["total"] == 12 + 7 + 2 + 3 and pod["kind"] == "Pod"
    assert pod["reasons"]["BackOff"] == {"count": 12, "last_message": "Back-off restarting failed container", "last_time": ago(5),
                                         "containers": {"app": 12}}
    assert pod["reasons"]["Unhealthy"]["count"] == 9 and pod["reasons"]["Unhealthy"]["containers"] == {"app": 7, "mesh": 2}
    assert pod["reasons"]["Unhealthy"]["last_message"] == "Readiness probe failed: 503"  # series.lastObservedTime is the latest
    assert pod["reasons"]["FailedMount"]["last_message"] == "newer" and pod["reasons"]["FailedMount"]["count"] == 3
    assert (pod["last_reason"], pod["last_time"]) == ("Unhealthy", ago(1))
    assert out["shop/web-1/u-2"]["total"] == 4


def test_events_k8s_io_shape_and_missing_fields():
    new_style = {"type": "Warning", "reason": "BackOff", "note": "Back-off pulling image", "deprecatedCount": 5,
                 "regarding": {"kind": "Pod", "namespace": "shop", "name": "web-1", "uid": "u-1"}, "eventTime": ago(10)}
    no_uid = {"type": "Warning", "reason": "Failed", "message": "Error: ErrImagePull", "involvedObject": {"name": "web-2"},
              "metadata": {"namespace": "shop"}}
    no_times = [core_event("Failed", "first"), core_event("Failed", "second")]
    out = summarize_events([new_style, no_uid, "junk", None] + no_times)
    assert out["shop/web-1/u-1"]["total"] == 5 + 2 and out["shop/web-1/u-1"]["reasons"]["BackOff"]["last_time"] == ago(10)
    assert out["shop/web-1/u-1"]["reasons"]["Failed"]["last_message"] == "second"  # no timestamps: the later one wins
    assert out["shop/web-2/"]["total"] == 1
    assert events_for_pod(out, {"metadata": {"namespace": "shop", "name": "web-2", "uid": "u-9"}})["total"] == 1  # uid-less fallback
    assert events_for_pod(out, {"metadata": {"namespace": "shop", "name": "nope"}})["total"] == 0
    assert events_for_pod(None, None)["reasons"] == {}


@pytest.mark.parametrize("event,count", [
    ({}, 1), ({"count": 3}, 3), ({"deprecatedCount": 4}, 4), ({"series": {"count": 9}, "count": 2}, 9), ({"count": "7"}, 1), ({"count": True}, 1),
])
def test_event_count(event, count):
    assert event_count(event) == count


def test_event_inputs_and_helpers():
    event = core_event("Evicted", "The node was low on resource: memory.")
    assert summarize_events({"kind": "EventList", "items": [event]})["shop/web-1/u-1"]["total"] == 1
    assert summarize_events(iter([event, event]))["shop/web-1/u-1"]["total"] == 2  # pages can be streamed
    assert summarize_events(None) == {} and summarize_events("text") == {} and summarize_events(42) == {}
    assert summarize_events([event], reasons=("BackOff",)) == {}
    assert container_of("spec.containers{app}") == "app" and container_of("spec.ephemeralContainers{dbg}") == "dbg" and container_of(None) is None
    assert event_key("ns", "pod", None) == "ns/pod/"
    many = [core_event("BackOff", "m%d" % i, uid="u-%d" % (i % 1000), seconds=i % 50) for i in range(20000)]
    summary = summarize_events(many)
    assert len(summary) == 1000 and sum(entry["total"] for entry in summary.values()) == 20000
