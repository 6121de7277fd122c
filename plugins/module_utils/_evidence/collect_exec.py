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

import time

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._evidence.bundle import RAW
from ansible_collections.triage.k8s.plugins.module_utils._evidence.extract import extract_tar
from ansible_collections.triage.k8s.plugins.module_utils._evidence.plan import FAILED, OK, SKIPPED, combine
from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import Kube
from ansible_collections.triage.k8s.plugins.module_utils._k8s.stream import exit_status

LISTING_IN_MANIFEST = 200
STOPPED = {
    "cancelled": "the collection was interrupted",
    "timeout": "timed out after %ss (the command may still be running in the container)",
    "full": "output cut at %d bytes (max_bytes); the stream was closed",
}


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


def run_command(kube, namespace, pod, container, command, timeout, stdout, stderr=None, cancel=None):
    """Run command in the container; feed stdout/stderr sinks. Returns (returncode, problem, timed_out).

    Stops reading (and closes the stream) at the timeout or when the stdout sink is full.
    """
    status, stopped = kube.exec(namespace, pod, container, command).run(stdout, stderr, timeout, cancel)
    if stopped == "cancelled":
        return None, STOPPED[stopped], False
    if stopped == "timeout":
        return None, STOPPED[stopped] % timeout, True
    if stopped == "full":
        return None, STOPPED[stopped] % stdout.limit, False
    code, problem = exit_status(status)
    return code, problem, False


def _lane(ctx):
    """A Kube of its own for exec: kubernetes.stream swaps its client's call_api while it opens a
    websocket, so exec never shares a client with threads making ordinary requests."""
    return Kube(ctx.client_factory(), ctx.kube.target, ctx.kube.retry)


def collect_exec(ctx, plan):
    """Every exec entry, one after another, on a client of its own."""
    kube = _lane(ctx)
    entries = []
    for entry in plan:
        entries.append(_one_exec(ctx, kube, entry))
    result = {"status": combine(e["status"] for e in entries), "commands": entries,
              "files": [f for e in entries for f in (e["stdout"], e["stderr"], e["result"])]}
    errors = ["exec[%d] %s: %s" % (e["index"], " ".join(e["command"])[:80], e["error"]) for e in entries if e.get("error")]
    if errors:
        result["error"] = "; ".join(errors)
    return result


def _one_exec(ctx, kube, entry):
    started = time.monotonic()
    # The command runs as given; what the bundle records of it is redacted like any other text.
    shown = ctx.redaction.argv(entry["command"])
    record = {"index": entry["index"], "command": shown, "container": entry["container"],
              "stdout": entry["base"] + ".stdout", "stderr": entry["base"] + ".stderr",
              "result": entry["base"] + ".result.json"}
    if entry.get("target"):  # run in the debug container, which shares the target's processes
        record["target"] = entry["target"]
    with ctx.bundle.open(record["stdout"]) as out, ctx.bundle.open(record["stderr"]) as err:
        stdout, stderr = _Sink(out, entry["max_bytes"]), _Sink(err, entry["max_bytes"])
        try:
            code, problem, timed_out = run_command(kube, ctx.namespace, ctx.name, entry["container"],
                                                   entry["command"], entry["timeout"], stdout, stderr, ctx.cancel)
        except TriageError as exc:  # the stream could not be opened or broke: recorded, the others go on
            code, problem, timed_out = None, exc.msg, False
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
    kube = _lane(ctx)
    entries = [_one_copy(ctx, kube, entry) for entry in plan]
    roots = tuple(e["root"] + "/" for e in entries) + tuple(e["root"] + "." for e in entries)
    result = {"status": combine(e["status"] for e in entries), "copies": entries,
              "files": [f for f in ctx.bundle.paths() if f.startswith(roots)]}
    errors = ["copy_from[%d] %s: %s" % (e["index"], e["path"], e["error"]) for e in entries if e.get("error")]
    if errors:
        result["error"] = "; ".join(errors)
    return result


def _one_copy(ctx, kube, entry):
    record = {"index": entry["index"], "path": entry["path"], "container": entry["container"], "root": entry["root"]}
    if entry.get("target"):  # through the debug container: the target's file as it sees it
        record.update(target=entry["target"], source=entry["source"])
    tar_rel = entry["root"] + ".tar"
    try:
        # The tar stream is parsed, never kept: written as it comes, removed in any case.
        with ctx.bundle.open(tar_rel, RAW) as raw, ctx.bundle.open(entry["root"] + ".stderr") as err:
            stdout, stderr = _Sink(raw, entry["max_bytes"]), _Sink(err, 1024 * 1024)
            try:
                code, problem, _timed_out = run_command(kube, ctx.namespace, ctx.name, entry["container"],
                                                        entry["command"], entry["timeout"], stdout, stderr,
                                                        ctx.cancel)
            except TriageError as exc:
                code, problem = None, exc.msg
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
