# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pod_evidence's body: validate, read the pod once, collect the items in parallel with a bounded
pool into `<bundle>.partial`, write the manifest, rename, archive, upload to object storage and
read it back (with the storage option: run_upload.py), annotate a quarantined pod.
Any failure after the bundle directory exists reports what is on disk (evidence_outcome).
Only I/O and its order are here: every decision is in plan.py, manifest.py, outcome.py, bundle.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import functools
import getpass
import os
import socket
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import connect, sibling_api_client
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError, translate_exception
from ansible_collections.triage.k8s.plugins.module_utils._evidence import outcome as evidence_outcome
from ansible_collections.triage.k8s.plugins.module_utils._evidence.bundle import Bundle, bundle_name, dest_problem
from ansible_collections.triage.k8s.plugins.module_utils._evidence import plan
from ansible_collections.triage.k8s.plugins.module_utils._evidence import debug as dbg, run_debug
from ansible_collections.triage.k8s.plugins.module_utils._evidence.collect_exec import collect_copy, collect_exec
from ansible_collections.triage.k8s.plugins.module_utils._evidence.collect_items import COLLECTORS, Collection
from ansible_collections.triage.k8s.plugins.module_utils._evidence.collect_logs import collect_log_stream, log_item
from ansible_collections.triage.k8s.plugins.module_utils._evidence.manifest import build_manifest, module_result
from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact_objects import Redaction
from ansible_collections.triage.k8s.plugins.module_utils._evidence.run_annotate import annotate
from ansible_collections.triage.k8s.plugins.module_utils._evidence.run_upload import check_storage, upload_bundle
from ansible_collections.triage.k8s.plugins.module_utils._evidence import upload_outcome
from ansible_collections.triage.k8s.plugins.module_utils._s3 import keys as s3_keys, plan as s3_plan
from ansible_collections.triage.k8s.plugins.module_utils._s3.spec import wanted as storage_wanted
from ansible_collections.triage.k8s.plugins.module_utils._k8s.lookup import caller_identity, read_pod
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import is_quarantined
from ansible_collections.triage.k8s.plugins.module_utils._contract import events as event_contract
from ansible_collections.triage.k8s.plugins.module_utils._k8s import events as pod_events


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def run_evidence(module):
    params = module.params
    kube = connect(params)
    api_client, target = kube.api_client, kube.target
    items = plan.validate_params(params, getattr(api_client, "impersonation", None))
    storage = params.get("storage") if storage_wanted(params.get("storage")) else None
    if storage:
        check_storage(storage, params["timeout"])  # bad options fail here, before anything is written
    pod = read_pod(kube, params["name"], params["namespace"])
    plan.check_containers(pod, params, items)
    started = _utcnow()
    server = getattr(api_client.configuration, "host", None)
    name = bundle_name(plan.cluster_label(params.get("context"), target, server), params["namespace"], params["name"],
                       started)
    dest = os.path.abspath(os.path.expanduser(params["dest"]))
    quarantined = is_quarantined(pod)
    option = params.get("debug")
    if module.check_mode:
        problem = dest_problem(dest)
        if problem:
            raise TriageError("dest %s cannot receive the bundle: %s" % (dest, problem), {"error_type": "dest"})
        debugging = _would_debug(kube, pod, option, params) if option else None
        would = plan.check_mode_plan(pod, params, items, os.path.join(dest, name), quarantined,
                                     _router(pod, debugging))
        result = {"changed": True, "would_collect": would, "msg": "check mode: nothing was collected, written or uploaded"}
        if storage:
            would["remote"] = s3_keys.url(storage["bucket"], s3_plan.bundle_prefix(storage.get("prefix"), name))
        if debugging:
            would["debug"] = debugging["outcome"]
            result["msg"] += "; the debug container %s would be %s" % (
                debugging["outcome"]["container"], "reused" if debugging["outcome"]["reused"] else "added")
            if module._diff:
                result["diff"] = debugging["diff"]
        return result
    debugging = None
    if option:  # before the bundle: a pod that cannot take it is refused with nothing written
        debugging = _debug(module, kube, pod, option, params)
        pod = debugging["pod"]
    identity = caller_identity(kube, params["collected_by"])
    bundle = Bundle.create(dest, name)
    stale = bundle.interrupted()
    if stale:
        module.warn("earlier collections for this pod were interrupted and left incomplete bundles in %s: %s "
                    "(inspect or delete them)" % (dest, ", ".join(stale)))
    # From here on something is on disk: every outcome reports it (evidence_outcome.failure).
    remote = bool(storage)
    try:
        return _collect_and_finish(module, kube, pod, items, bundle, identity, server, target, started, storage,
                                   debugging)
    except TriageError as exc:
        raise _with_debug(evidence_outcome.failure(exc, bundle, params["archive"], remote_wanted=remote), debugging)
    except KeyboardInterrupt:
        interrupted = TriageError("interrupted: the collection stopped before the bundle was finished.")
        raise _with_debug(evidence_outcome.failure(interrupted, bundle, params["archive"], remote_wanted=remote),
                          debugging)
    except Exception as exc:  # a bug must still say what it left on disk
        error = translate_exception(exc, None, None, target=target)
        error.details["exception"] = traceback.format_exc()
        raise _with_debug(evidence_outcome.failure(error, bundle, params["archive"], remote_wanted=remote), debugging)


def _would_debug(kube, pod, option, params):
    """Check mode: the debug container that would be used or added (refusals as a real run has them)."""
    wanted, name, reuse = run_debug.plan(pod, option, params.get("copy_from"), run_debug.node_of(kube, pod))
    return {"name": name, "target": wanted["target"], "diff": run_debug.diff(pod, name, reuse),
            "outcome": dict(run_debug.outcome(pod, wanted, name, reuse),
                            would_add=None if reuse else dbg.container(name, wanted))}


def _debug(module, kube, pod, option, params):
    """The running debug container: {name, target, outcome, diff, pod} (the pod as seen running it)."""
    before = pod
    outcome, pod = run_debug.ensure(kube, pod, option, params.get("copy_from"))
    return {"name": outcome["container"], "target": outcome["target"], "outcome": outcome, "pod": pod,
            "diff": run_debug.diff(before, outcome["container"], not outcome["added"])}


def _router(pod, debugging):
    """exec and copy plans -> the same, routed through the debug container when there is one."""
    if not debugging:
        return None
    return lambda exec_plan, copy_plan: dbg.route_plans(exec_plan, copy_plan, pod, debugging["name"],
                                                        debugging["target"])


def _with_debug(error, debugging):
    """A failure after the debug container was added still says it was (changed, the message)."""
    if debugging and debugging["outcome"]["added"]:
        error.details["changed"] = True
        error.msg += (" The debug container %s was added to the pod (%s)."
                      % (debugging["name"], run_debug.STAYS))
    if debugging:
        error.details["debug"] = debugging["outcome"]
    return error


def _collect_and_finish(module, kube, pod, items, bundle, identity, server, target, started, storage, debugging):
    params = module.params
    ctx = Collection(kube, pod, params, bundle, Redaction.from_params(params),
                     client_factory=lambda: sibling_api_client(kube.api_client))

    clock = time.monotonic()
    results = collect(ctx, items, _router(pod, debugging))
    finished = _utcnow()
    manifest = build_manifest(pod, params, items, results, os.path.basename(bundle.final),
                              {"server": server, "target": target},
                              {"identity": identity, "local_user": _local_user(), "host": socket.gethostname()},
                              started, finished, round(time.monotonic() - clock, 3))
    manifest["debug"] = debugging["outcome"] if debugging else None
    try:
        final, manifest_sha, manifest = bundle.finalize(manifest)
    except TriageError as exc:
        raise evidence_outcome.finish_failed(exc, results)
    result = module_result(final, manifest, manifest_sha, results)
    if debugging:
        result["debug"] = debugging["outcome"]
        if module._diff and debugging["outcome"]["added"]:
            result["diff"] = debugging["diff"]
    archive_error = None
    if params["archive"]:
        try:
            result["archive"], result["archive_sha256"], result["archive_size"] = bundle.archive()
        except TriageError as exc:  # the bundle is complete: still annotate, then fail
            archive_error = exc.msg
    if storage:  # before the checks below: whatever was collected should outlive this host
        archived = {"path": result["archive"], "sha256": result["archive_sha256"], "size": result["archive_size"]} \
            if result.get("archive") else None
        result["remote"] = upload_bundle(storage, final, manifest, manifest_sha, archived, params["timeout"])
    verified = (result.get("remote") or {}).get("record")
    missing = plan.required_failures(results, params["required"])
    if missing:
        raise evidence_outcome.required_missing(missing, result, params["annotate"])
    if params["annotate"]:
        value = plan.annotation_value(os.path.basename(final), manifest_sha, manifest["finished_at"], verified)
        try:
            result["annotation"] = annotate(kube, pod, value)
        except TriageError as exc:
            raise evidence_outcome.annotate_failed(exc, result)
        warning = evidence_outcome.unchecked_quarantine(result["annotation"])
        if warning:
            module.warn(warning)
    if archive_error:
        raise evidence_outcome.archive_failed(archive_error, result)
    if storage and not verified:
        raise upload_outcome.upload_failed(result["remote"], result)
    result["msg"] = evidence_outcome.summary(evidence_outcome.on_disk(bundle), params["archive"],
                                             result["annotation"] if params["annotate"] else None,
                                             result.get("remote"), bool(storage))
    if debugging:
        result["msg"] += " %s" % dbg.summary(debugging["outcome"])
    note = event_contract.evidence_note(identity, result["bundle_name"], manifest_sha,
                                        [f.get("item") for f in result["failed_items"]],
                                        bool((result["annotation"] or {}).get("written")),
                                        verified["url"] if verified else None)
    event = event_contract.pod_event(pod, event_contract.EVIDENCE_COLLECTED, note, pod_events.now(), pod_events.host())
    result["event"] = pod_events.record(kube, event, module.warn)
    return result


def collect(ctx, items, route=None):
    """Run every unit of work on a bounded pool; {item: result}. Long units are queued first.
    route(exec_plan, copy_plan) sends the entries meant for it through the debug container."""
    params = ctx.params
    exec_plan, copy_plan = plan.exec_plan(ctx.pod, params), plan.copy_plan(ctx.pod, params)
    if route:
        exec_plan, copy_plan = route(exec_plan, copy_plan)
    units = []
    if "exec" in items:
        units.append(("exec", None, lambda: collect_exec(ctx, exec_plan)))
    if "copy_from" in items:
        units.append(("copy_from", None, lambda: collect_copy(ctx, copy_plan)))
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
    except Exception as exc:  # TriageError, OSError, or a bug: it must not lose the other items' evidence
        outcome = plan.unit_failure(exc)
    return plan.unit_outcome(outcome, stream, round(time.monotonic() - started, 3))


def _local_user():
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return None
