# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for kube.resource_path and the watch-stream decoder kube._events.

The decoder is fed a fake *byte stream* (an object with urllib3's `stream()` signature), not a
fake Kubernetes: the events are the JSON lines an API server sends on a watch."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import CLUSTER_SCOPED, KINDS, _events, resource_path


@pytest.mark.parametrize("args, expected", [
    (("Pod", "shop", "web-1"), "/api/v1/namespaces/shop/pods/web-1"),
    (("Pod", "shop"), "/api/v1/namespaces/shop/pods"),
    (("Pod",), "/api/v1/pods"),  # all namespaces
    (("Pod", None, None), "/api/v1/pods"),
    (("Pod", "shop", "web-1", "log"), "/api/v1/namespaces/shop/pods/web-1/log"),
    (("Pod", "shop", "web-1", "eviction"), "/api/v1/namespaces/shop/pods/web-1/eviction"),
    (("Service", "shop", "web"), "/api/v1/namespaces/shop/services/web"),
    (("Event", "shop"), "/api/v1/namespaces/shop/events"),
    (("ReplicationController", "shop", "legacy"), "/api/v1/namespaces/shop/replicationcontrollers/legacy"),
    (("ReplicaSet", "shop", "web-7d4b9c"), "/apis/apps/v1/namespaces/shop/replicasets/web-7d4b9c"),
    (("Deployment", "shop", "web", "scale"), "/apis/apps/v1/namespaces/shop/deployments/web/scale"),
    (("DaemonSet", "kube-system", "agent"), "/apis/apps/v1/namespaces/kube-system/daemonsets/agent"),
    (("StatefulSet", "db", "pg"), "/apis/apps/v1/namespaces/db/statefulsets/pg"),
    (("Job", "shop", "migrate"), "/apis/batch/v1/namespaces/shop/jobs/migrate"),
    (("CronJob", "shop"), "/apis/batch/v1/namespaces/shop/cronjobs"),
    (("EndpointSlice", "shop"), "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices"),
    (("NetworkPolicy", "shop", "triage-quarantine-web-1234abcd"),
     "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies/triage-quarantine-web-1234abcd"),
    # cluster-scoped kinds ignore a namespace
    (("Node", None, "node-a"), "/api/v1/nodes/node-a"),
    (("Node", "shop", "node-a"), "/api/v1/nodes/node-a"),
    (("Node",), "/api/v1/nodes"),
    (("Node", "shop", "node-a", "proxy"), "/api/v1/nodes/node-a/proxy"),
    (("Namespace", None, "shop"), "/api/v1/namespaces/shop"),
    (("Namespace", "shop", "shop"), "/api/v1/namespaces/shop"),
    (("Namespace",), "/api/v1/namespaces"),
    (("Namespace", None, "shop", "finalize"), "/api/v1/namespaces/shop/finalize"),
])
def test_resource_path(args, expected):
    assert resource_path(*args) == expected


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_resource_path_every_kind(kind):
    prefix, plural = KINDS[kind]
    expected = "%s/%s/x" % (prefix, plural) if kind in CLUSTER_SCOPED else "%s/namespaces/ns/%s/x" % (prefix, plural)
    assert resource_path(kind, "ns", "x") == expected
    assert resource_path(kind, "ns", "x").startswith(("/api/v1/", "/apis/"))


def test_resource_path_unknown_kind():
    with pytest.raises(KeyError):
        resource_path("VirtualMachineInstance", "shop", "vm")


# --- _events -------------------------------------------------------------------------------

class ByteStream(object):
    """urllib3 response stand-in: stream() yields the given byte chunks, as read from the socket."""

    def __init__(self, chunks):
        self.chunks = chunks
        self.calls = []

    def stream(self, amt=2 ** 16, decode_content=None):
        self.calls.append((amt, decode_content))
        yield from self.chunks


def pod_event(kind, name, version, **extra):
    obj = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "shop", "uid": "uid-" + name, "resourceVersion": str(version)},
           "status": {"phase": "Running"}}
    obj["metadata"].update(extra)
    return {"type": kind, "object": obj}


EVENTS = [
    pod_event("ADDED", "web-1", 101),
    pod_event("MODIFIED", "web-1", 102, labels={"app": "quarantined-web", "triage.k8s/quarantined": "true"}),
    {"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": "150"}}},
    pod_event("MODIFIED", "web-2", 151, annotations={"triage.k8s/reason": "vérifié ✓ — 事件"}),  # multi-byte UTF-8
    pod_event("DELETED", "web-1", 152),
    {"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired",
                                 "message": "too old resource version: 1 (152)", "code": 410}},
]


def encoded(events, trailing_newline=True):
    text = b"".join(json.dumps(e, ensure_ascii=False).encode("utf-8") + b"\n" for e in events)
    return text if trailing_newline else text[:-1]


def test_events_one_chunk():
    stream = ByteStream([encoded(EVENTS)])
    assert list(_events(stream)) == EVENTS
    assert stream.calls and stream.calls[0][1] is True  # decode_content: gzip is undone by urllib3


def test_events_one_byte_at_a_time():
    data = encoded(EVENTS)
    assert list(_events(ByteStream([data[i:i + 1] for i in range(len(data))]))) == EVENTS


def test_event_split_across_chunks():
    first, second = encoded(EVENTS[:1]), encoded(EVENTS[1:2])
    middle = len(second) // 2
    chunks = [first + second[:middle], second[middle:]]
    assert list(_events(ByteStream(chunks))) == EVENTS[:2]


def test_event_split_inside_a_multibyte_character():
    data = encoded([EVENTS[3]])
    cut = data.index("✓".encode("utf-8")) + 1
    assert list(_events(ByteStream([data[:cut], data[cut:]]))) == [EVENTS[3]]


def test_events_several_in_one_chunk_and_a_split_newline():
    data = encoded(EVENTS[:3])
    cut = data.rindex(b"\n", 0, len(data) - 1)
    assert list(_events(ByteStream([data[:cut], data[cut:cut + 1], data[cut + 1:]]))) == EVENTS[:3]


def test_events_trailing_line_without_newline():
    data = encoded(EVENTS, trailing_newline=False)
    assert not data.endswith(b"\n")
    assert list(_events(ByteStream([data[:40], data[40:]]))) == EVENTS


def test_events_skip_blank_lines_and_empty_chunks():
    data = b"\n" + encoded(EVENTS[:1]) + b"\n  \n\r\n" + encoded(EVENTS[1:2]) + b"\n\n"
    assert list(_events(ByteStream([b"", data[:5], b"", data[5:], b""]))) == EVENTS[:2]


def test_events_crlf_lines():
    data = b"".join(json.dumps(e).encode("utf-8") + b"\r\n" for e in EVENTS[:2])
    assert list(_events(ByteStream([data]))) == EVENTS[:2]


@pytest.mark.parametrize("chunks", [[], [b""], [b"\n\n"], [b"   "]])
def test_events_empty_stream(chunks):
    assert list(_events(ByteStream(chunks))) == []


def test_events_are_yielded_as_they_arrive():
    """A watch is read lazily: the first event is available before later chunks are read."""
    data = encoded(EVENTS[:2])
    cut = data.index(b"\n") + 1
    seen = []

    def chunks():
        seen.append("first")
        yield data[:cut]
        seen.append("second")
        yield data[cut:]

    decoder = _events(ByteStream(chunks()))
    assert next(decoder) == EVENTS[0]
    assert seen == ["first"]
    assert list(decoder) == EVENTS[1:2]


def test_events_bad_json_raises():
    with pytest.raises(ValueError):
        list(_events(ByteStream([b'{"type": "ADDED", "object": \n'])))


@settings(max_examples=200, deadline=None)
@given(st.data(), st.booleans())
def test_events_any_split(data, trailing_newline):
    payload = encoded(EVENTS, trailing_newline)
    cuts = sorted(data.draw(st.sets(st.integers(min_value=1, max_value=len(payload) - 1), max_size=30)))
    bounds = [0] + cuts + [len(payload)]
    chunks = [payload[start:end] for start, end in zip(bounds, bounds[1:])]
    assert b"".join(chunks) == payload
    assert list(_events(ByteStream(chunks))) == EVENTS


def test_a_watch_error_event_becomes_the_error_it_reports():
    # The Status object a watch sends as {"type": "ERROR"} (here: RBAC refused the watch verb).
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import translate_exception
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import _status_error

    status = {"kind": "Status", "code": 403, "reason": "Forbidden",
              "message": 'pods is forbidden: User "bob" cannot watch resource "pods" in API group "" '
                         'in the namespace "shop"'}
    error = translate_exception(_status_error(status), "watch", "pods", namespace="shop")
    assert error.details["status"] == 403
    assert 'grant the "watch" verb on "pods"' in error.msg and "timed out" not in error.msg
