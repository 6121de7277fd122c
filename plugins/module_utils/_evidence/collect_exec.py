# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""exec and copy_from: commands run in a container over the exec websocket (channel API: 1 stdout,
2 stderr, 3 the final Status), their output streamed to the bundle with a size cap and a timeout.
copy_from runs `tar cf -` in the container, as `kubectl cp` does, and extracts it safely.

kubernetes.stream swaps the ApiClient's call_api while it opens a websocket, so exec must never
share its ApiClient with threads making ordinary requests: each lane gets its own client.
A failing command is recorded (return code, stderr, error); it never aborts the collection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import time

# kubernetes.stream opens the websocket through a generated API method. Importing CoreV1Api costs
# about 0.6 s of CPU (hundreds of validated methods), half of a whole collection, so on clients with
# param_serialize (the transport kube.raw_request uses too) a one-method stand-in serves instead.
k8s_stream = None
CoreV1Api = None


class ExecApi(object):
    """The one CoreV1Api method kubernetes.stream needs: connect_get_namespaced_pod_exec."""

    def __init__(self, api_client):
        self.api_client = api_client

    def connect_get_namespaced_pod_exec(self, name, namespace, command=None, container=None, stderr=None,
                                        stdin=None, stdout=None, tty=None, _request_timeout=None, **_options):
        query = [("command", word) for word in command or []]
        query += [(key, value) for key, value in (("container", container), ("stderr", stderr), ("stdin", stdin),
                                                  ("stdout", stdout), ("tty", tty)) if value is not None]
        # resource_path validates and quotes the names: none can move the request elsewhere.
        request = self.api_client.param_serialize(
            "GET", resource_path("Pod", namespace, name, "exec"), query_params=query, header_params={"Accept": "*/*"},
            auth_settings=["BearerToken"])
        # kubernetes.stream has replaced call_api with its websocket opener; .response is the WSClient.
        return self.api_client.call_api(*request, _request_timeout=_request_timeout).response


def _stream_api(api_client):
    """(object with connect_get_namespaced_pod_exec, kubernetes.stream.stream)."""
    global k8s_stream, CoreV1Api
    if k8s_stream is None:
        from kubernetes.stream import stream as stream_fn
        k8s_stream = stream_fn
    if hasattr(api_client, "param_serialize"):
        return ExecApi(api_client), k8s_stream
    if CoreV1Api is None:  # older clients
        from kubernetes.client import CoreV1Api as api_class
        CoreV1Api = api_class
    return CoreV1Api(api_client), k8s_stream


from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError, translate_exception
from ansible_collections.triage.k8s.plugins.module_utils._evidence.bundle import RAW, extract_tar
from ansible_collections.triage.k8s.plugins.module_utils._evidence.plan import FAILED, OK, SKIPPED, combine
from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import resource_path
from ansible_collections.triage.k8s.plugins.module_utils._k8s.names import container_problem

STDOUT, STDERR, ERROR = 1, 2, 3
# Runtimes that report a non-zero exit only in the Status message (KWOK, some older kubelets).
_EXIT_IN_MESSAGE = re.compile(r"exit (?:status|code) (\d+)\s*$")
LISTING_IN_MANIFEST = 200


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


class _Sink(object):
    """A bundle file fed by one channel (the bundle redacts it line by line), capped."""

    def __init__(self, handle, limit):
        self.handle = handle
        self.limit = limit
        self.received = 0
        self.truncated = False

    def write(self, data):
        if self.truncated or not data:
            return
        room = self.limit - self.received
        if len(data) > room:
            data, self.truncated = data[:room], True
        self.received += len(data)
        self.handle.write(data)


def run_command(api_client, namespace, pod, container, command, timeout, stdout, stderr=None, target=None,
                cancel=None):
    """Run command in the container; feed stdout/stderr sinks. Returns (returncode, problem, timed_out).

    Stops reading (and closes the stream) at the timeout or when the stdout sink is full.
    """
    problem = container_problem(container)
    if problem:  # it reaches the query string: only a name the API server could have made gets there
        raise TriageError(problem, {"error_type": "invalid_input"})
    api, open_stream = _stream_api(api_client)
    try:
        ws = open_stream(api.connect_get_namespaced_pod_exec, pod, namespace, command=command,
                         container=container, stdin=False, stdout=True, stderr=True, tty=False,
                         _preload_content=False, binary=True)
    except Exception as exc:  # translated: never a traceback
        raise translate_exception(exc, "create", "pods/exec", namespace, pod, target)
    deadline = time.monotonic() + timeout
    timed_out = False
    error_text = b""
    sinks = {STDOUT: stdout, STDERR: stderr}
    try:
        while ws.is_open():
            remaining = deadline - time.monotonic()
            if cancel is not None and cancel.is_set():
                return None, "the collection was interrupted", False
            if remaining <= 0:
                timed_out = True
                break
            ws.update(timeout=min(remaining, 1.0))
            _drain(ws, sinks)
            error_text += ws.read_channel(ERROR) or b""
            if stdout.truncated:
                break
        _drain(ws, sinks)
        error_text += ws.read_channel(ERROR) or b""
    finally:
        ws.close()
    if timed_out:
        return None, "timed out after %ss (the command may still be running in the container)" % timeout, True
    if stdout.truncated:
        return None, "output cut at %d bytes (max_bytes); the stream was closed" % stdout.limit, False
    code, problem = exit_status(error_text)
    return code, problem, False


def _drain(ws, sinks):
    for channel, sink in sinks.items():
        data = ws.read_channel(channel)
        if data and sink is not None:
            sink.write(data)


def collect_exec(ctx, plan):
    """Every exec entry, one after another, on a client of its own."""
    api_client = ctx.client_factory()
    entries = []
    for entry in plan:
        entries.append(_one_exec(ctx, api_client, entry))
    result = {"status": combine(e["status"] for e in entries), "commands": entries,
              "files": [f for e in entries for f in (e["stdout"], e["stderr"], e["result"])]}
    errors = ["exec[%d] %s: %s" % (e["index"], " ".join(e["command"])[:80], e["error"]) for e in entries if e.get("error")]
    if errors:
        result["error"] = "; ".join(errors)
    return result


def _one_exec(ctx, api_client, entry):
    started = time.monotonic()
    # The command runs as given; what the bundle records of it is redacted like any other text.
    shown = ctx.redaction.argv(entry["command"])
    record = {"index": entry["index"], "command": shown, "container": entry["container"],
              "stdout": entry["base"] + ".stdout", "stderr": entry["base"] + ".stderr",
              "result": entry["base"] + ".result.json"}
    with ctx.bundle.open(record["stdout"]) as out, ctx.bundle.open(record["stderr"]) as err:
        stdout, stderr = _Sink(out, entry["max_bytes"]), _Sink(err, entry["max_bytes"])
        try:
            code, problem, timed_out = run_command(api_client, ctx.namespace, ctx.name, entry["container"],
                                                   entry["command"], entry["timeout"], stdout, stderr, ctx.kube.target,
                                                   ctx.cancel)
        except Exception as exc:  # the stream could not be opened: recorded, the others go on
            code, problem, timed_out = None, translate_exception(exc, "create", "pods/exec", ctx.namespace,
                                                                 ctx.name, ctx.kube.target).msg, False
    record.update(returncode=code, timed_out=timed_out, truncated=stdout.truncated,
                  duration_seconds=round(time.monotonic() - started, 3),
                  stdout_bytes=stdout.received, stderr_bytes=stderr.received)
    if problem:
        record["error"] = problem
    elif code != 0:
        record["error"] = "exited with %s" % code
    record["status"] = FAILED if record.get("error") else OK
    ctx.bundle.write_json(record["result"], dict((k, v) for k, v in record.items() if k != "result"))
    return record


def collect_copy(ctx, plan):
    """Each copy_from path: tar in the container, streamed to a temporary file, extracted safely."""
    api_client = ctx.client_factory()
    entries = [_one_copy(ctx, api_client, entry) for entry in plan]
    roots = tuple(e["root"] + "/" for e in entries) + tuple(e["root"] + "." for e in entries)
    result = {"status": combine(e["status"] for e in entries), "copies": entries,
              "files": [f for f in ctx.bundle.paths() if f.startswith(roots)]}
    errors = ["copy_from[%d] %s: %s" % (e["index"], e["path"], e["error"]) for e in entries if e.get("error")]
    if errors:
        result["error"] = "; ".join(errors)
    return result


def _one_copy(ctx, api_client, entry):
    record = {"index": entry["index"], "path": entry["path"], "container": entry["container"], "root": entry["root"]}
    tar_rel = entry["root"] + ".tar"
    try:
        # The tar stream is parsed, never kept: written as it comes, removed in any case.
        with ctx.bundle.open(tar_rel, RAW) as raw, ctx.bundle.open(entry["root"] + ".stderr") as err:
            stdout, stderr = _Sink(raw, entry["max_bytes"]), _Sink(err, 1024 * 1024)
            try:
                code, problem, _timed_out = run_command(api_client, ctx.namespace, ctx.name, entry["container"],
                                                        entry["command"], entry["timeout"], stdout, stderr,
                                                        ctx.kube.target, ctx.cancel)
            except Exception as exc:
                code, problem = None, translate_exception(exc, "create", "pods/exec", ctx.namespace, ctx.name,
                                                          ctx.kube.target).msg
        return _extract_copy(ctx, entry, record, tar_rel, stdout, code, problem)
    finally:
        ctx.bundle.discard(tar_rel)


def _extract_copy(ctx, entry, record, tar_rel, stdout, code, problem):
    record["tar_bytes"] = stdout.received
    if stdout.truncated:
        problem = "larger than max_bytes=%d: not copied (raise max_bytes or copy a smaller path)" % entry["max_bytes"]
    elif not problem and code != 0:
        problem = "tar exited with %s (see %s.stderr)" % (code, entry["root"])
    if not problem:
        try:
            members = extract_tar(ctx.bundle, ctx.bundle.partial + "/" + tar_rel, entry["root"], entry["max_bytes"])
        except Exception as exc:  # a corrupt or non-tar stream
            problem = "cannot read the tar stream from the container: %s" % exc
        else:
            record.update(members=len(members), extracted=sum(1 for m in members if m["extracted"]),
                          not_extracted=[m for m in members if not m["extracted"]][:LISTING_IN_MANIFEST])
            ctx.bundle.write_json(entry["root"] + ".listing.json", members)
    record["status"] = FAILED if problem else (OK if record.get("extracted") else SKIPPED)
    if problem:
        record["error"] = problem
    elif not record.get("extracted"):
        record["note"] = "nothing to extract"
    return record
