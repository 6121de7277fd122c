# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""stream.py on bytes recorded from a real API server (KWOK, fixtures/record_streams.py):

- the watch decoder on a recorded watch of pods: whole, as the chunks arrived, split at every byte
  boundary, truncated at every byte, and with its ERROR (410 recorded, non-410 derived from it)
  and BOOKMARK events, through follow() (the loop Kube.watch_until runs), a broken stream included;
- exec: the recorded v4.channel.k8s.io messages replayed through ExecStream.run, as
  kubernetes.stream's WSClient hands them over (read_channel per channel).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import threading

import pytest
from urllib3.exceptions import ProtocolError

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError, translate_exception
from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import _status_error
from ansible_collections.triage.k8s.plugins.module_utils._k8s.retry import RetryPolicy
from ansible_collections.triage.k8s.plugins.module_utils._k8s.stream import (
    ByteStream,
    ExecStream,
    exec_frames,
    exit_status,
    follow,
    json_lines,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def _read(name):
    with open(os.path.join(FIXTURES, name), "rb") as handle:
        return handle.read()


WATCH = _read("watch-pods.bin")
WATCH_CHUNKS = json.loads(_read("watch-pods.chunks.json"))
EXPIRED = _read("watch-expired.bin")
LINES = [line for line in WATCH.split(b"\n") if line.strip()]
RECORDED = [json.loads(line) for line in LINES]


def _chunked(data, sizes):
    out, start = [], 0
    for size in sizes:
        out.append(data[start:start + size])
        start += size
    assert start == len(data)
    return out


def test_the_recording_is_a_real_watch():
    types = [e["type"] for e in RECORDED]
    assert types[0] == "ADDED" and "MODIFIED" in types and "DELETED" in types and types[-1] == "BOOKMARK"
    assert WATCH.endswith(b"\n") and len(WATCH_CHUNKS) > 1
    assert "✓" in json.dumps(RECORDED, ensure_ascii=False)  # the relabel wrote a multi-byte annotation
    assert json.loads(EXPIRED)["object"]["code"] == 410


def test_recorded_watch_whole_and_as_it_arrived():
    assert list(json_lines([WATCH])) == RECORDED
    assert list(json_lines(_chunked(WATCH, WATCH_CHUNKS))) == RECORDED
    assert list(json_lines(WATCH[i:i + 1] for i in range(len(WATCH)))) == RECORDED


def test_recorded_watch_split_at_every_byte_boundary():
    """Every byte boundary of every recorded event line (the decoder keeps nothing between lines
    but the start of the next one, so this covers every cut of the whole stream)."""
    for line, event in zip(LINES, RECORDED):
        data = line + b"\n"
        for cut in range(1, len(data)):
            assert list(json_lines([data[:cut], data[cut:]])) == [event], (event["type"], cut)


def test_recorded_watch_split_around_every_line_end():
    """Cuts near each line end, with the neighbours in the same chunks: the whole stream each time."""
    offset = 0
    for line in LINES:
        offset += len(line) + 1
        for cut in range(max(1, offset - 3), min(len(WATCH), offset + 3)):
            assert list(json_lines([WATCH[:cut], WATCH[cut:]])) == RECORDED, cut


def test_recorded_watch_split_in_three():
    line = LINES[1]
    start = len(LINES[0]) + 1
    for first in range(start, start + len(line) + 1, 61):
        for second in range(first + 1, len(WATCH), 1499):
            assert list(json_lines([WATCH[:first], WATCH[first:second], WATCH[second:]])) == RECORDED


def test_recorded_watch_truncated_at_every_byte():
    """A stream cut anywhere inside an event raises (half a line is not JSON) once the complete
    events before it were yielded; cut at a line end it yields exactly the events before the cut."""
    for line, event in zip(LINES, RECORDED):
        for cut in range(1, len(line)):
            with pytest.raises(ValueError):
                list(json_lines([line[:cut]]))
        assert list(json_lines([line])) == [event]  # the last line needs no newline
    offset = 0
    for index, line in enumerate(LINES):
        decoded = []
        with pytest.raises(ValueError):
            for event in json_lines([WATCH[:offset + len(line) // 2]]):
                decoded.append(event)
        assert decoded == RECORDED[:index]
        offset += len(line) + 1
        assert list(json_lines([WATCH[:offset]])) == RECORDED[:index + 1]


# --- follow() on the recording -----------------------------------------------------------------

class Response(object):
    def __init__(self, chunks, fail=None):
        self.chunks = chunks
        self.fail = fail
        self.released = False

    def stream(self, amt=None, decode_content=None):
        assert decode_content is True
        yield from self.chunks
        if self.fail is not None:
            raise self.fail

    def release_conn(self):
        self.released = True


class Opener(object):
    """open_watch(timeout) for follow(): hands out the given responses, records each query."""

    def __init__(self, query, *responses):
        self.query = query
        self.responses = list(responses)
        self.seen = []
        self.opened = []

    def __call__(self, timeout):
        self.seen.append(dict(self.query, client_timeout=timeout))
        response = self.responses.pop(0)
        if isinstance(response, Exception):
            raise response
        self.opened.append(response)
        return response


class Clock(object):
    now = 0.0

    def __call__(self):
        return self.now


def _follow(opener, predicate, objects=None, retry=None):
    objects = {} if objects is None else objects
    retry = retry or RetryPolicy(sleep=lambda _s: None)
    result = follow(opener, opener.query, objects, predicate, 100.0, retry,
                    lambda exc: translate_exception(exc, "watch", "pods", namespace="shop"), _status_error, Clock())
    return result, objects


def _query():
    return {"watch": "true", "resourceVersion": "1", "allowWatchBookmarks": "true"}


def test_follow_applies_the_recorded_events_until_the_predicate_holds():
    opener = Opener(_query(), Response(_chunked(WATCH, WATCH_CHUNKS)))

    def labelled(objects):
        return [o["metadata"]["name"] for o in objects.values()
                if "triage.k8s/quarantined" in (o["metadata"].get("labels") or {})]

    (expired, value), objects = _follow(opener, labelled)
    assert (expired, value) == (False, ["web-1"])
    assert opener.opened[0].released
    first = next(e for e in RECORDED if "triage.k8s/quarantined" in (e["object"]["metadata"].get("labels") or {}))
    assert opener.query["resourceVersion"] == first["object"]["metadata"]["resourceVersion"]
    assert opener.seen[0]["timeoutSeconds"] == 100 and opener.seen[0]["client_timeout"] == 110


def test_follow_a_bookmark_moves_the_version_without_asking_the_predicate():
    calls = []
    opener = Opener(_query(), Response([WATCH]), Response([b""]))

    def predicate(objects):
        calls.append(len(objects))
        return None

    clock_stop = {"after": 2}

    def open_then_stop(timeout):
        clock_stop["after"] -= 1
        if not clock_stop["after"]:
            Clock.now = 1000.0  # the deadline passes while the second (empty) watch is open
        return opener(timeout)

    open_then_stop.query = opener.query
    try:
        (expired, value), objects = _follow(open_then_stop, predicate)
    finally:
        Clock.now = 0.0
    assert (expired, value, objects) == (False, None, {})
    assert len(calls) == sum(1 for e in RECORDED if e["type"] != "BOOKMARK")  # bookmarks never reach it
    assert opener.seen[1]["resourceVersion"] == RECORDED[-1]["object"]["metadata"]["resourceVersion"]


def test_follow_recorded_error_410_means_list_again():
    opener = Opener(_query(), Response([WATCH[:len(LINES[0]) + 1], EXPIRED]))
    (expired, value), objects = _follow(opener, lambda _objects: None)
    assert (expired, value) == (True, None) and list(objects) == [RECORDED[0]["object"]["metadata"]["uid"]]
    assert opener.opened[0].released


def test_follow_a_410_answer_to_the_watch_itself_means_list_again():
    gone = TriageError("gone", {"status": 410})
    assert _follow(Opener(_query(), gone), lambda _objects: None)[0] == (True, None)
    refused = TriageError("Forbidden", {"status": 403})
    with pytest.raises(TriageError) as caught:
        _follow(Opener(_query(), refused), lambda _objects: None)
    assert caught.value is refused


def test_follow_a_non_410_error_event_is_the_error_it_reports():
    status = json.loads(EXPIRED)
    status["object"].update(code=403, reason="Forbidden", message='pods is forbidden: User "bob" cannot watch '
                            'resource "pods" in API group "" in the namespace "shop"')
    opener = Opener(_query(), Response([WATCH, json.dumps(status).encode() + b"\n"]))
    with pytest.raises(TriageError) as caught:
        _follow(opener, lambda _objects: None)
    assert caught.value.details["status"] == 403
    assert 'grant the "watch" verb on "pods"' in caught.value.msg and "timed out" not in caught.value.msg
    assert opener.opened[0].released


def test_follow_resumes_a_broken_stream_from_the_last_version_seen():
    cut = len(LINES[0]) + len(LINES[1]) + 2 + 30  # two whole events, then 30 bytes of the third
    rest = b"\n".join(LINES[2:]) + b"\n"
    opener = Opener(_query(), Response([WATCH[:cut]], fail=ProtocolError("Connection broken: IncompleteRead")),
                    Response([rest]))

    def gone(objects):
        return not objects and len(opener.seen) > 1

    (expired, value), objects = _follow(opener, gone)
    assert (expired, value) == (False, True) and objects == {}
    assert opener.seen[1]["resourceVersion"] == RECORDED[1]["object"]["metadata"]["resourceVersion"]
    assert all(response.released for response in opener.opened)


def test_follow_gives_up_on_a_stream_that_keeps_breaking_or_is_not_transient():
    broken = [Response([], fail=ProtocolError("Connection broken")) for _attempt in range(3)]
    opener = Opener(_query(), *broken)
    with pytest.raises(TriageError) as caught:
        _follow(opener, lambda _objects: None, retry=RetryPolicy(attempts=2, sleep=lambda _s: None))
    assert "was reset while trying to watch pods" in caught.value.msg and len(opener.seen) == 3
    opener = Opener(_query(), Response([b"{not json\n"]))
    with pytest.raises(TriageError, match="unexpected JSONDecodeError while trying to watch pods"):
        _follow(opener, lambda _objects: None)
    assert len(opener.seen) == 1


# --- exec: recorded websocket messages through ExecStream.run -------------------------------------

def _frames(name):
    recording = json.loads(_read(name))
    assert recording["subprotocol"] == "v4.channel.k8s.io"
    return [base64.b64decode(m) for m in recording["messages_base64"]]


class WS(object):
    """kubernetes.stream WSClient's reading side: update() receives one message into its channel
    buffer; read_channel() hands a channel's bytes over once; closed after the last message."""

    def __init__(self, messages, stay_open=False, fail=None):
        self.messages = list(messages)
        self.stay_open = stay_open
        self.fail = fail
        self.buffers = {}
        self.closed = False

    def is_open(self):
        return not self.closed and (bool(self.messages) or self.stay_open)

    def update(self, timeout=0):
        if self.fail is not None and not self.messages:
            raise self.fail
        if self.messages:
            for channel, payload in exec_frames([self.messages.pop(0)]):
                self.buffers[channel] = self.buffers.get(channel, b"") + payload

    def read_channel(self, channel, timeout=0):
        return self.buffers.pop(channel, b"")

    def close(self):
        self.closed = True


class Sink(object):
    def __init__(self, limit=1 << 20):
        self.data = b""
        self.limit = limit
        self.truncated = False

    def write(self, data):
        room = self.limit - len(self.data)
        if len(data) > room:
            data, self.truncated = data[:room], True
        self.data += data


def _translate(exc):
    return translate_exception(exc, "create", "pods/exec", "shop", "web-1")


def test_recorded_exec_frames():
    messages = _frames("exec-frames.json")
    frames = list(exec_frames(messages))
    assert [channel for channel, _payload in frames] == [1, 1, 2, 3]
    assert frames[0] == (1, b"")  # the server opens stdout with an empty frame
    assert exit_status(frames[-1][1]) == (3, None)  # KWOK: the exit code only in the message
    assert exit_status(list(exec_frames(_frames("exec-frames-ok.json")))[-1][1]) == (0, None)


def test_exec_stream_run_on_the_recorded_messages():
    ws = WS(_frames("exec-frames.json"))
    out, err = Sink(), Sink()
    status, stopped = ExecStream(ws, _translate).run(out, err, 30)
    assert stopped is None and ws.closed
    assert (out.data, err.data) == (b"out one\nout two\n", b"err\n")
    assert exit_status(status) == (3, None)
    ws = WS(_frames("exec-frames-ok.json"))
    out = Sink()
    status, stopped = ExecStream(ws, _translate).run(out, None, 30)
    assert (out.data, exit_status(status), stopped) == (b"ok\n", (0, None), None)


def test_exec_stream_stops_when_stdout_is_full_on_timeout_and_on_cancel():
    out = Sink(limit=5)
    ws = WS(_frames("exec-frames.json"))
    assert ExecStream(ws, _translate).run(out, Sink(), 30)[1] == "full"
    assert out.data == b"out o" and ws.closed
    ws = WS(_frames("exec-frames.json")[:2], stay_open=True)
    out = Sink()
    assert ExecStream(ws, _translate).run(out, Sink(), 0.05) == (b"", "timeout")
    assert out.data == b"out one\nout two\n" and ws.closed
    cancel = threading.Event()
    cancel.set()
    ws = WS(_frames("exec-frames.json"))
    assert ExecStream(ws, _translate).run(Sink(), Sink(), 30, cancel) == (b"", "cancelled")
    assert ws.closed


def test_exec_stream_that_breaks_is_translated_and_closed():
    ws = WS(_frames("exec-frames.json")[:2], stay_open=True, fail=ProtocolError("Connection broken"))
    out = Sink()
    with pytest.raises(TriageError, match='was reset while trying to create pod "web-1" in namespace "shop"'):
        ExecStream(ws, _translate).run(out, Sink(), 30)
    assert ws.closed and out.data == b"out one\nout two\n"


# --- ByteStream (logs) ---------------------------------------------------------------------------

def test_byte_stream_translates_a_read_that_breaks_but_not_the_writer():
    response = Response([b"line 1\n", b"line 2\n"], fail=ProtocolError("Connection broken"))

    def translate(exc):
        return translate_exception(exc, "stream", "pods/log", "shop", "web-1")

    got = []
    with ByteStream(response, translate) as log:
        with pytest.raises(TriageError, match='was reset while trying to stream pod "web-1" in namespace "shop"'):
            for chunk in log.chunks(4):
                got.append(chunk)
    assert got == [b"line 1\n", b"line 2\n"] and response.released
    with pytest.raises(OSError):
        for _chunk in ByteStream(Response([b"x"]), translate).chunks(4):
            raise OSError(28, "No space left on device")  # the writer's failure stays the writer's
