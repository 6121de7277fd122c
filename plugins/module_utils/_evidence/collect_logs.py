# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container logs, streamed from the API server to the bundle in chunks: a log of any size is
never held in memory (one chunk and at most one partial line, for redaction)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._evidence.plan import (
    FAILED,
    OK,
    SKIPPED,
    combine,
    log_query,
)

CHUNK = 256 * 1024
CONNECT_TIMEOUT = 30


class Cancelled(Exception):
    pass


def copy_stream(chunks, writer, cancel=None):
    """Write chunks to writer (a bundle file, which redacts line by line); bytes read.

    Memory: one chunk plus at most one partial line.
    """
    received = 0
    for chunk in chunks:
        if cancel is not None and cancel.is_set():
            raise Cancelled("the collection was interrupted")
        received += len(chunk)
        writer.write(chunk)
    return received


def collect_log_stream(ctx, stream):
    """One container's current or previous log into stream['path']."""
    entry = dict((k, stream[k]) for k in ("container", "kind", "previous", "path"))
    query = log_query(stream["container"], stream["previous"], ctx.params)
    timeout = ctx.params["timeout"]
    try:
        log = ctx.kube.log_stream(ctx.namespace, ctx.name, query, timeout=(min(CONNECT_TIMEOUT, timeout), timeout))
    except TriageError as error:
        if error.details.get("status") == 400:
            # The kubelet has no such log: a container still waiting to start, or no previous instance.
            entry.update(status=SKIPPED, note=error.details.get("api_message") or error.msg)
            return entry
        raise
    with log:
        with ctx.bundle.open(stream["path"]) as handle:
            try:
                received = copy_stream(log.chunks(CHUNK), handle, ctx.cancel)
            except OSError as exc:  # writing failed (disk full, ...): the file keeps what was written
                entry.update(status=FAILED, bytes=handle.size, error="cannot write %s after %d bytes: %s"
                             % (stream["path"], handle.size, exc.strerror or exc))
                return entry
            except (TriageError, Cancelled) as error:  # the connection broke: the file keeps what arrived
                entry.update(status=FAILED, bytes=handle.size,
                             error="log stream interrupted after %d bytes: %s" % (handle.size, error))
                return entry
    entry.update(status=OK, bytes=received, redactions=handle.redactions)
    limit = ctx.params.get("limit_bytes")
    if limit and received >= limit:
        entry["note"] = "cut at limit_bytes=%d" % limit
    return entry


def log_item(item, streams):
    """The logs or previous_logs item from its streams' entries."""
    if not streams:
        note = ("no container has a previous instance (restartCount is 0 everywhere)" if item == "previous_logs"
                else "the pod has no containers")
        return {"status": SKIPPED, "files": [], "note": note}
    result = {"status": combine(s["status"] for s in streams),
              "files": [s["path"] for s in streams if s["status"] in (OK, FAILED) and "bytes" in s],
              "streams": streams}
    errors = ["%s: %s" % (s["container"], s["error"]) for s in streams if s.get("error")]
    notes = ["%s: %s" % (s["container"], s["note"]) for s in streams if s.get("note")]
    if errors:
        result["error"] = "; ".join(errors)
    if notes:
        result["note"] = "; ".join(notes)
    return result
