# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for stream.py's decoders: the watch decoder (json_lines, watch_events, apply_event)
on hand-written events, and the exec channel frames and Status (exec_frames, exit_status).

The decoders are fed *byte streams* (an object with urllib3's `stream()` signature, or a list of
chunks), not a fake Kubernetes. test_stream_recorded.py replays bytes recorded from a real API server."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._k8s.stream import (
    ChannelSink,
    apply_event,
    exec_frame,
    exec_frames,
    exit_status,
    json_lines,
    watch_events,
)


class ByteStream(object):
    """urllib3 response stand-in: stream() yields the given byte chunks, as read from the socket."""

    def __init__(self, chunks):
        self.chunks = chunks
        self.calls = []

    def stream(self, amt=2 ** 16, decode_content=None):
        self.calls.append((amt, decode_content))
        yield from self.chunks


def _events(stream):
    return watch_events(stream)


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


# --- json_lines / watch_events ----------------------------------------------------------------

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


def test_json_lines_is_a_generator_over_chunks():
    assert list(json_lines(iter([encoded(EVENTS[:1])[:7], encoded(EVENTS[:1])[7:]]))) == EVENTS[:1]


# --- apply_event ------------------------------------------------------------------------------

def test_apply_event_keeps_the_current_state_by_uid():
    objects = {}
    assert apply_event(objects, EVENTS[0]) == ("changed", "101")
    assert apply_event(objects, EVENTS[1]) == ("changed", "102")
    assert objects == {"uid-web-1": EVENTS[1]["object"]}
    assert apply_event(objects, EVENTS[2]) == ("bookmark", "150")
    assert list(objects) == ["uid-web-1"]  # a bookmark changes no object
    assert apply_event(objects, EVENTS[3]) == ("changed", "151")
    assert apply_event(objects, EVENTS[4]) == ("changed", "152")
    assert list(objects) == ["uid-web-2"]
    assert apply_event(objects, pod_event("DELETED", "never-seen", 153)) == ("changed", "153")


def test_apply_event_error_410_means_list_again_and_others_are_errors():
    objects = {"uid-web-1": {}}
    assert apply_event(objects, EVENTS[5]) == ("expired", None)
    forbidden = {"type": "ERROR", "object": {"kind": "Status", "code": 403, "reason": "Forbidden"}}
    assert apply_event(objects, forbidden) == ("error", None)
    assert apply_event(objects, {"type": "ERROR"}) == ("error", None)
    assert objects == {"uid-web-1": {}}


# --- exec frames and the Status on channel 3 --------------------------------------------------

SUCCESS = b'{"metadata":{},"status":"Success"}'
NONZERO = json.dumps({"status": "Failure", "reason": "NonZeroExitCode", "message": "command terminated with exit code 3",
                      "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}).encode()


@pytest.mark.parametrize("text,expected", [
    (SUCCESS, (0, None)),
    (NONZERO, (3, None)),
    (b'{"status":"Failure","message":"error executing command in container: cmd wait: false : exit status 1"}', (1, None)),
    (b'{"status":"Failure","message":"exec: \\"nope\\": executable file not found in $PATH"}',
     (None, 'exec: "nope": executable file not found in $PATH')),
    (b"", (None, "the exec stream ended without a final status (connection closed early)")),
    (b"not json", (None, "unreadable exec status: not json")),
])
def test_exit_status(text, expected):
    assert exit_status(text) == expected


def test_exit_status_accepts_text():
    assert exit_status(SUCCESS.decode()) == (0, None)
    assert exit_status(u'{"status":"Failure","details":{"causes":[{"reason":"ExitCode","message":"x"}]}}') == \
        (None, "exec failed")


def test_exec_frame_channel_byte():
    assert exec_frame(b"\x01out") == (1, b"out")
    assert exec_frame(b"\x02") == (2, b"")
    assert exec_frame(b"\x03{}") == (3, b"{}")
    assert exec_frame(b"") == (None, b"")
    assert list(exec_frames([b"\x01a", b"", b"\x02b"])) == [(1, b"a"), (2, b"b")]


class _Collect(object):
    def __init__(self):
        self.data = b""

    def write(self, data):
        self.data += data


def test_channel_sink_routes_stdout_stderr_and_collects_the_status():
    out, err = _Collect(), _Collect()
    sink = ChannelSink(out, err)
    for channel, payload in [(1, b"a"), (2, b"e"), (3, b'{"status":'), (1, b""), (1, None), (3, b'"Success"}'),
                             (4, b"resize"), (1, b"b")]:
        sink.feed(channel, payload)
    assert (out.data, err.data, sink.status) == (b"ab", b"e", b'{"status":"Success"}')
    no_stderr = ChannelSink(out, None)
    no_stderr.feed(2, b"dropped")
    assert out.data == b"ab"
