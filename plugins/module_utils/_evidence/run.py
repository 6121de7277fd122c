# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pod_evidence's body: validate, read the pod once, collect the items in parallel with a bounded
pool into `<bundle>.partial`, write the manifest, rename, archive, annotate a quarantined pod.
Any failure after the bundle directory exists reports what is on disk (evidence_outcome)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import functools
import getpass
import os
import re
import socket
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import connect, sibling_api_client
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError, scrub, translate_exception
from ansible_collections.triage.k8s.plugins.module_utils._evidence import outcome as evidence_outcome
from ansible_collections.triage.k8s.plugins.module_utils._evidence.bundle import Bundle, bundle_name, stale_partials
from ansible_collections.triage.k8s.plugins.module_utils._evidence import plan
from ansible_collections.triage.k8s.plugins.module_utils._evidence.collect_exec import collect_copy, collect_exec
from ansible_collections.triage.k8s.plugins.module_utils._evidence.collect_items import COLLECTORS, Collection
from ansible_collections.triage.k8s.plugins.module_utils._evidence.collect_logs import collect_log_stream, log_item
from ansible_collections.triage.k8s.plugins.module_utils._evidence.outcome import annotate
from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact import compile_patterns
from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact_objects import Redaction
from ansible_collections.triage.k8s.plugins.module_utils._k8s.lookup import caller_identity, read_pod
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import is_quarantined, quarantine_record
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339

_CONTEXT_RE = re.compile(r"^context '([^']+)'")


def cluster_label(params, api_client, target):
    """The `<context-or-cluster>` part of the bundle name."""
    if params.get("context"):
        return params["context"]
    match = _CONTEXT_RE.match(target or "")
    if match:
        return match.group(1)
    host = re.sub(r"^[a-z]+://", "", getattr(api_client.configuration, "host", "") or "")
    return host.split("/")[0].split(":")[0] or "cluster"


def dest_problem(dest):
    """Why dest cannot receive a bundle, without writing anything (check mode), or None."""
    path = dest
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    if not os.path.isdir(path):
        return "%s is not a directory" % path
    if not os.access(path, os.W_OK | os.X_OK):
        return "%s is not writable by this user" % path
    return None


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def run_evidence(module):
    params = module.params
    kube = connect(params)
    api_client, target = kube.api_client, kube.target
    items = plan.validate_params(params, getattr(api_client, "impersonation", None))
    pod = read_pod(kube, params["name"], params["namespace"])
    plan.check_containers(pod, params, items)
    started = _utcnow()
    name = bundle_name(cluster_label(params, api_client, target), params["namespace"], params["name"], started)
    dest = os.path.abspath(os.path.expanduser(params["dest"]))
    quarantined = is_quarantined(pod)
    if module.check_mode:
        problem = dest_problem(dest)
        if problem:
            raise TriageError("dest %s cannot receive the bundle: %s" % (dest, problem), {"error_type": "dest"})
        return {"changed": True, "would_collect": plan.check_mode_plan(pod, params, items, os.path.join(dest, name),
                                                                       quarantined),
                "msg": "check mode: nothing was collected or written"}
    identity = caller_identity(kube, params["collected_by"])
    bundle = Bundle.create(dest, name)
    stale = [n for n in stale_partials(dest, "%s_" % name.rsplit("_", 1)[0]) if n != os.path.basename(bundle.partial)]
    if stale:
        module.warn("earlier collections for this pod were interrupted and left incomplete bundles in %s: %s "
                    "(inspect or delete them)" % (dest, ", ".join(stale)))
    # From here on something is on disk: every outcome reports it (evidence_outcome.failure).
    try:
        return _collect_and_finish(module, kube, pod, items, bundle, identity, api_client, target, started)
    except TriageError as exc:
        raise evidence_outcome.failure(exc, bundle, params["archive"])
    except KeyboardInterrupt:
        interrupted = TriageError("interrupted: the collection stopped before the bundle was finished.")
        raise evidence_outcome.failure(interrupted, bundle, params["archive"])
    except Exception as exc:  # a bug must still say what it left on disk
        error = translate_exception(exc, None, None, target=target)
        error.details["exception"] = traceback.format_exc()
        raise evidence_outcome.failure(error, bundle, params["archive"])


def _redaction(params):
    if not params["redact"]:
        return Redaction([])
    return Redaction(compile_patterns(params["redact_patterns"]), params.get("redact_env_names"),
                     len(params["redact_patterns"] or []))


def _collect_and_finish(module, kube, pod, items, bundle, identity, api_client, target, started):
    params = module.params
    ctx = Collection(kube, pod, params, bundle, _redaction(params), client_factory=lambda: sibling_api_client(kube.api_client))
    clock = time.monotonic()
    results = collect(ctx, items)
    finished = _utcnow()
    manifest = build_manifest(ctx, items, results, identity, api_client, target, started, finished,
                              round(time.monotonic() - clock, 3))
    try:
        final, manifest_sha, manifest = bundle.finalize(manifest)
    except TriageError as exc:
        failed, _skipped = plan.failed_and_skipped(results)
        if failed:
            exc.msg += "; items that also failed: %s" % "; ".join("%s (%s)" % (f["item"], f["error"]) for f in failed)
        raise TriageError(exc.msg, dict(exc.details, failed_items=failed))
    result = _result(bundle, final, manifest, manifest_sha, results)
    archive_error = None
    if params["archive"]:
        try:
            result["archive"], result["archive_sha256"], result["archive_size"] = bundle.archive()
        except TriageError as exc:  # the bundle is complete: still annotate, then fail
            archive_error = exc.msg
    missing = plan.required_failures(results, params["required"])
    if missing:
        if params["annotate"]:
            result["annotation"] = {"written": False, "note": "required evidence is missing"}
        raise TriageError("required evidence was not collected: %s; the pod was not annotated."
                          % "; ".join("%s %s: %s" % m for m in missing), result)
    if params["annotate"]:
        value = plan.annotation_value(os.path.basename(final), manifest_sha, manifest["finished_at"])
        try:
            result["annotation"] = annotate(kube, pod, value)
        except TriageError as exc:
            raise TriageError("the bundle was written, but annotating the quarantined pod failed: %s. Run "
                              "pod_evidence again to annotate it (a new bundle is collected)." % exc.msg,
                              dict(result, annotation=exc.details.get("annotation")))
        if not result["annotation"]["written"] and result["annotation"]["note"].startswith("the pod was not q"):
            module.warn("pod_evidence could not check whether the pod was quarantined meanwhile: %s"
                        % result["annotation"]["note"])
    if archive_error:
        raise TriageError("the archive could not be written: %s." % archive_error, result)
    result["msg"] = evidence_outcome.summary(evidence_outcome.on_disk(bundle), params["archive"],
                                             result["annotation"] if params["annotate"] else None)
    return result


def collect(ctx, items):
    """Run every unit of work on a bounded pool; {item: result}. Long units are queued first."""
    params = ctx.params
    units = []
    if "exec" in items:
        units.append(("exec", None, lambda: collect_exec(ctx, plan.exec_plan(ctx.pod, params))))
    if "copy_from" in items:
        units.append(("copy_from", None, lambda: collect_copy(ctx, plan.copy_plan(ctx.pod, params))))
    for stream in plan.log_streams(ctx.pod, items):
        units.append(("previous_logs" if stream["previous"] else "logs", stream,
                      functools.partial(collect_log_stream, ctx, stream)))
    for item in items:
        if item in COLLECTORS:
            units.append((item, None, functools.partial(COLLECTORS[item], ctx)))
    executor = ThreadPoolExecutor(max_workers=params["workers"])
    try:
        futures = [(item, stream, executor.submit(_guarded, fn, stream)) for item, stream, fn in units]
        done = [(item, stream, future.result()) for item, stream, future in futures]
    except BaseException:
        ctx.cancel.set()  # running exec and log streams stop within a second
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
    results, streams = {}, {"logs": [], "previous_logs": []}
    for item, stream, outcome in done:
        if stream is not None:
            streams[item].append(outcome)
        else:
            results[item] = outcome
    for item in ("logs", "previous_logs"):
        if item in items:
            results[item] = log_item(item, streams[item])
    return dict((item, results[item]) for item in plan.ITEMS if item in results)


def _guarded(fn, stream=None):
    """Run one unit; any failure becomes a failed outcome with one readable message."""
    started = time.monotonic()
    try:
        outcome = fn()
    except TriageError as exc:
        outcome = {"status": plan.FAILED, "files": [], "error": exc.msg}
    except OSError as exc:
        outcome = {"status": plan.FAILED, "files": [],
                   "error": "cannot write to the bundle: %s%s" % (exc.strerror or exc,
                                                                  " (%s)" % exc.filename if exc.filename else "")}
    except Exception as exc:  # a bug must not lose the other items' evidence
        outcome = {"status": plan.FAILED, "files": [], "error": "unexpected %s: %s" % (type(exc).__name__, scrub(exc))}
    if stream is not None:
        outcome = dict(dict((k, stream[k]) for k in ("container", "kind", "previous", "path")), **outcome)
    outcome.setdefault("files", [])
    outcome["seconds"] = round(time.monotonic() - started, 3)
    return outcome


def build_manifest(ctx, items, results, identity, api_client, target, started, finished, seconds):
    pod, params = ctx.pod, ctx.params
    meta = pod["metadata"]
    failed, skipped = plan.failed_and_skipped(results)
    quarantined = is_quarantined(pod)
    return {
        "format": plan.BUNDLE_FORMAT,
        "bundle": os.path.basename(ctx.bundle.final),
        "complete": not failed,
        "collection": {"name": plan.COLLECTION_NAME, "version": plan.COLLECTION_VERSION},
        "cluster": {"server": api_client.configuration.host, "target": target, "context": params.get("context")},
        "collected_by": {"identity": identity, "local_user": _local_user(), "host": socket.gethostname()},
        "pod": {"name": meta.get("name"), "namespace": meta.get("namespace"), "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"), "node": (pod.get("spec") or {}).get("nodeName"),
                "phase": (pod.get("status") or {}).get("phase"), "quarantined": quarantined,
                "quarantine": dict((k, v) for k, v in quarantine_record(pod).items() if k != "evidence")
                if quarantined else None},
        "started_at": format_rfc3339(started), "finished_at": format_rfc3339(finished), "duration_seconds": seconds,
        "options": {"items": items, "required": params["required"] or [], "tail_lines": params["tail_lines"],
                    "since_seconds": params["since_seconds"], "limit_bytes": params["limit_bytes"],
                    "redact": params["redact"], "redact_patterns": params["redact_patterns"] or [],
                    "workers": params["workers"]},
        "notes": params.get("notes") or {},
        "items": results, "failed": failed, "skipped": skipped,
    }


def _local_user():
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return None


def _result(bundle, final, manifest, manifest_sha, results):
    return {
        "changed": True, "bundle": final, "bundle_name": os.path.basename(final), "partial": None, "archive": None,
        "manifest_sha256": manifest_sha, "manifest": plan.manifest_summary(manifest),
        "complete": manifest["complete"], "files": len(manifest["files"]), "size_bytes": manifest["size_bytes"],
        "failed_items": manifest["failed"], "skipped_items": manifest["skipped"],
        "items": dict((k, dict((f, v[f]) for f in ("status", "note", "error") if v.get(f))) for k, v in results.items()),
        "redactions": manifest["redactions"], "annotation": None,
    }
