# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the API layer reads as it arrives: watch events, log bytes, exec channels.

The decoders are pure generators over byte chunks or channel frames, separable from any socket
(tests/unit/plugins/module_utils/_k8s/test_stream*.py feeds them bytes recorded from a real API
server). The I/O here starts from a path api.py built and validated, or from a response or
websocket api.py opened: nothing in this file builds a path, and the only request sent again is
follow()'s reopening of a broken watch from the last version seen, on the layer's RetryPolicy.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import time

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError

# kubernetes.stream opens the websocket through a generated API method. Importing CoreV1Api costs
# about 0.6 s of CPU (hundreds of validated methods), half of a whole collection, so on clients with
# param_serialize (the transport api.raw_request uses too) a one-method stand-in serves instead.
k8s_stream = None
CoreV1Api = None

STDOUT, STDERR, ERROR = 1, 2, 3
# Runtimes that report a non-zero exit only in the Status message (KWOK, some older kubelets).
_EXIT_IN_MESSAGE = re.compile(r"exit (?:status|code) (\d+)\s*$")


# -- decoders (pure) --------------------------------------------------------------------------

def json_lines(chunks):
    """Decode a watch body: one JSON event per line, whatever the chunk boundaries.

    Lines may be split anywhere (inside a multi-byte character too); blank lines are skipped; a
    last line without its newline is still an event. A line that is not JSON raises ValueError."""
    buffered = b""
    for chunk in chunks:
        buffered += chunk
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            if line.strip():
                yield json.loads(line)
    if buffered.strip():
        yield json.loads(buffered)


def watch_events(response, chunk_size=4096):
    """The events of a watch response (urllib3, gzip undone)."""
    return json_lines(response.stream(chunk_size, decode_content=True))


def apply_event(objects, event):
    """Apply one watch event to objects ({uid: object}).

    Returns (what, resourceVersion): what is "changed" (objects was updated), "bookmark",
    "expired" (ERROR 410: list again) or "error" (any other ERROR; the version is None and the
    Status is event["object"])."""
    kind = event.get("type")
    obj = event.get("object") or {}
    if kind == "ERROR":
        return ("expired" if obj.get("code") == 410 else "error"), None
    version = obj["metadata"]["resourceVersion"]
    if kind == "BOOKMARK":
        return "bookmark", version
    if kind == "DELETED":
        objects.pop(obj["metadata"]["uid"], None)
    else:
        objects[obj["metadata"]["uid"]] = obj
    return "changed", version


def exec_frame(message):
    """(channel, payload) of one v4.channel.k8s.io websocket message: the first byte is the channel."""
    if not message:
        return None, b""
    return message[0], message[1:]


def exec_frames(messages):
    """(channel, payload) per non-empty message, in order."""
    for message in messages:
        channel, payload = exec_frame(message)
        if channel is not None:
            yield channel, payload


def exit_status(error_text):
    """(return code or None, problem or None) from the exec error channel's metav1.Status."""
    if not error_text:
        return None, "the exec stream ended without a final status (connection closed early)"
    if isinstance(error_text, bytes):
        error_text = error_text.decode("utf-8", "replace")
    try:
        status = json.loads(error_text)
    except ValueError:
        return None, "unreadable exec status: %s" % error_text[:300]
    if status.get("status") == "Success":
        return 0, None
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message")), None
            except (TypeError, ValueError):
                break
    message = status.get("message") or status.get("reason") or "exec failed"
    match = _EXIT_IN_MESSAGE.search(message)
    if match:
        return int(match.group(1)), None
    return None, message


class ChannelSink(object):
    """Where the frames of one exec go: stdout and stderr to their sinks, the Status collected."""

    def __init__(self, stdout, stderr=None):
        self.sinks = {STDOUT: stdout, STDERR: stderr}
        self.status = b""

    def feed(self, channel, payload):
        if channel == ERROR:
            self.status += payload or b""
            return
        sink = self.sinks.get(channel)
        if payload and sink is not None:
            sink.write(payload)


# -- watches ---------------------------------------------------------------------------------

def follow(open_watch, query, objects, predicate, deadline, retry, translate, status_error, clock=time.monotonic):
    """Apply watch events to objects until predicate(objects) holds, the deadline, or expiry.

    open_watch(timeout) opens the watch for query (whose resourceVersion and timeoutSeconds this
    keeps current) and raises the layer's TriageError; translate(exc) phrases a broken stream,
    status_error(status) turns an ERROR event's Status into an exception to translate. Returns
    (expired, value): expired means the caller lists again (410, before or during the watch). A
    stream that breaks is opened again from the last version seen, at most retry.attempts times."""
    resets = 0
    while clock() < deadline:
        query["timeoutSeconds"] = max(1, int(deadline - clock()))
        try:
            response = open_watch(query["timeoutSeconds"] + 10)
        except TriageError as error:
            if error.details.get("status") == 410:
                return True, None  # the version expired before the watch began: list again
            raise
        try:
            for event in watch_events(response):
                what, seen = apply_event(objects, event)
                if what == "expired":
                    return True, None
                if what == "error":
                    raise translate(status_error(event.get("object") or {}))
                query["resourceVersion"] = seen
                if what == "bookmark":
                    continue
                value = predicate(objects)
                if value:
                    return False, value
                if clock() >= deadline:
                    return False, None
        except TriageError:
            raise
        except Exception as exc:  # the stream broke: resume from the last version seen, a few times
            resets += 1
            if resets > retry.attempts or not retry.transient(exc):
                raise translate(exc)
            retry.sleep(retry.delay(resets - 1))
        finally:
            response.release_conn()
    return False, None


# -- log streams -----------------------------------------------------------------------------

class ByteStream(object):
    """An open response whose body is read as it arrives; close() gives the connection back.

    translate(exc) turns a failure while reading into the layer's TriageError: the stream is
    never sent again (after the first byte a GET cannot be resumed where it broke)."""

    def __init__(self, response, translate):
        self.response = response
        self.translate = translate

    def chunks(self, size):
        try:
            yield from self.response.stream(size, decode_content=True)
        except Exception as exc:  # the connection broke: translated, what arrived stays written
            raise self.translate(exc)

    def close(self):
        self.response.release_conn()

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()


# -- exec websockets ------------------------------------------------------------------------

class ExecApi(object):
    """The one CoreV1Api method kubernetes.stream needs: connect_get_namespaced_pod_exec, on a path
    api.py built from validated names."""

    def __init__(self, api_client, path):
        self.api_client = api_client
        self.path = path

    def connect_get_namespaced_pod_exec(self, name, namespace, command=None, container=None, stderr=None,
                                        stdin=None, stdout=None, tty=None, _request_timeout=None, **_options):
        query = [("command", word) for word in command or []]
        query += [(key, value) for key, value in (("container", container), ("stderr", stderr), ("stdin", stdin),
                                                  ("stdout", stdout), ("tty", tty)) if value is not None]
        request = self.api_client.param_serialize(
            "GET", self.path, query_params=query, header_params={"Accept": "*/*"}, auth_settings=["BearerToken"])
        # kubernetes.stream has replaced call_api with its websocket opener; .response is the WSClient.
        return self.api_client.call_api(*request, _request_timeout=_request_timeout).response


def _stream_api(api_client, path):
    """(object with connect_get_namespaced_pod_exec, kubernetes.stream.stream)."""
    global k8s_stream, CoreV1Api
    if k8s_stream is None:
        from kubernetes.stream import stream as stream_fn
        k8s_stream = stream_fn
    if hasattr(api_client, "param_serialize"):
        return ExecApi(api_client, path), k8s_stream
    if CoreV1Api is None:  # older clients
        from kubernetes.client import CoreV1Api as api_class
        CoreV1Api = api_class
    return CoreV1Api(api_client), k8s_stream


def open_exec(api_client, path, namespace, pod, container, command):
    """The exec websocket (kubernetes.stream.ws_client.WSClient) of command in the container.

    kubernetes.stream swaps the ApiClient's call_api while it opens the websocket: api_client must
    not be shared with threads making ordinary requests."""
    api, open_stream = _stream_api(api_client, path)
    return open_stream(api.connect_get_namespaced_pod_exec, pod, namespace, command=command,
                       container=container, stdin=False, stdout=True, stderr=True, tty=False,
                       _preload_content=False, binary=True)


class ExecStream(object):
    """An open exec websocket, read channel by channel into sinks until the command ends."""

    def __init__(self, ws, translate):
        self.ws = ws
        self.translate = translate

    def run(self, stdout, stderr, timeout, cancel=None):
        """Feed stdout/stderr (sinks with write() and .truncated) until the command ends.

        Returns (status bytes from channel 3, stopped): stopped is None when the stream ended,
        "cancelled", "timeout" or "full" (stdout.truncated) when reading stopped early and the stream
        was closed. Any failure while reading becomes the layer's TriageError."""
        frames = ChannelSink(stdout, stderr)
        deadline = time.monotonic() + timeout
        stopped = None
        ws = self.ws
        try:
            while ws.is_open():
                remaining = deadline - time.monotonic()
                if cancel is not None and cancel.is_set():
                    return frames.status, "cancelled"
                if remaining <= 0:
                    stopped = "timeout"
                    break
                ws.update(timeout=min(remaining, 1.0))
                self._drain(frames)
                if stdout.truncated:
                    stopped = "full"
                    break
            self._drain(frames)
        except Exception as exc:  # translated: never a traceback
            raise self.translate(exc)
        finally:
            ws.close()
        return frames.status, stopped

    def _drain(self, frames):
        for channel in (STDOUT, STDERR, ERROR):
            frames.feed(channel, self.ws.read_channel(channel))
