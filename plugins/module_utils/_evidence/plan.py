# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What pod_evidence collects, decided before anything is written. Pure functions over the
module parameters and the pod as the API returns it (camelCase dicts)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import posixpath
import re
import shlex

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError, scrub
from ansible_collections.triage.k8s.plugins.module_utils._evidence.bundle import safe_component
from ansible_collections.triage.k8s.plugins.module_utils._evidence.debug import validate as debug_problems
from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact import compile_patterns
from ansible_collections.triage.k8s.plugins.module_utils._k8s.names import name_problem, namespace_problem

ITEMS = ("manifest", "describe", "events", "owners", "node", "services", "logs", "previous_logs", "metrics",
         "exec", "copy_from", "checkpoint")
# Cheap items, on by default. exec, copy_from and checkpoint are added by their own options.
DEFAULT_ITEMS = ITEMS[:9]
# What to grab first when the pod may soon change (the quarantine role, before relabelling).
QUICK_ITEMS = ("manifest", "events", "previous_logs")
# Item outcomes. `skipped`: nothing to collect; `unavailable`: the cluster does not offer it.
OK, PARTIAL, FAILED, SKIPPED, UNAVAILABLE = "ok", "partial", "failed", "skipped", "unavailable"
NOT_COLLECTED = (FAILED, PARTIAL, UNAVAILABLE)
DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
# How _k8s.client.describe_target names a kubeconfig context.
_CONTEXT_RE = re.compile(r"^context '([^']+)'")


def selected_items(params):
    """The items this run collects, in ITEMS order."""
    chosen = set(params.get("include") or DEFAULT_ITEMS)
    if params.get("exec"):
        chosen.add("exec")
    if params.get("copy_from"):
        chosen.add("copy_from")
    if params.get("checkpoint"):
        chosen.add("checkpoint")
    chosen -= set(params.get("exclude") or [])
    return [item for item in ITEMS if item in chosen]


def _command(value):
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValueError("cannot split %r into words (%s); give the command as a list" % (value, exc))
    if isinstance(value, list):
        return [str(word) for word in value]
    return []


def validate_params(params, impersonation=None):
    """Every parameter problem at once, before any request. Normalises exec commands in place."""
    problems = [p for p in (name_problem("Pod", params.get("name")), namespace_problem(params.get("namespace"))) if p]
    items = selected_items(params)
    for key in ("tail_lines", "since_seconds", "limit_bytes"):
        if params.get(key) is not None and params[key] <= 0:
            problems.append("%s must be a positive number, got %d" % (key, params[key]))
    if not 1 <= params["workers"] <= 32:
        problems.append("workers must be between 1 and 32, got %d" % params["workers"])
    if params["timeout"] <= 0:
        problems.append("timeout must be a positive number of seconds, got %d" % params["timeout"])
    if "exec" in (params.get("include") or []) and not params.get("exec"):
        problems.append("include lists exec but no exec commands are given: add exec: [{command: [...]}]")
    if "copy_from" in (params.get("include") or []) and not params.get("copy_from"):
        problems.append("include lists copy_from but no paths are given: add copy_from: [{path: ...}]")
    for index, entry in enumerate(params.get("exec") or [], 1):
        try:
            entry["command"] = _command(entry.get("command"))
        except ValueError as exc:
            problems.append("exec[%d]: %s" % (index, exc))
            continue
        if not entry["command"]:
            problems.append("exec[%d]: command is empty" % index)
        if entry.get("timeout") is not None and entry["timeout"] <= 0:
            problems.append("exec[%d]: timeout must be a positive number of seconds" % index)
    for index, entry in enumerate(params.get("copy_from") or [], 1):
        if not (entry.get("path") or "").strip():
            problems.append("copy_from[%d]: path is empty" % index)
        if entry.get("max_bytes") is not None and entry["max_bytes"] <= 0:
            problems.append("copy_from[%d]: max_bytes must be positive" % index)
    for item in params.get("required") or []:
        if item not in items:
            problems.append("required item %s is not collected by this run (not included, or excluded)" % item)
    if impersonation and any(item in items for item in ("exec", "copy_from")):
        problems.append("exec and copy_from cannot run with impersonate_user/impersonate_groups: the kubernetes "
                        "client opens exec websockets without the Impersonate-* headers, so the command would run "
                        "as the real identity, not the impersonated one. Drop the impersonation for this run, or "
                        "leave out exec and copy_from")
    if params.get("debug") is not None:
        problems.extend(debug_problems(params["debug"]))
    try:
        compile_patterns(params.get("redact_patterns"))
    except ValueError as exc:
        problems.append(str(exc))
    if problems:
        raise TriageError("invalid parameters: %s; nothing was read or written" % "; ".join(problems),
                          {"error_type": "parameters"})
    return items


# ---------------------------------------------------------------- containers and logs

def containers(pod):
    """Every container of the pod (init, regular, ephemeral) with what its status says."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    out = []
    for kind, spec_key, status_key in (("init", "initContainers", "initContainerStatuses"),
                                       ("regular", "containers", "containerStatuses"),
                                       ("ephemeral", "ephemeralContainers", "ephemeralContainerStatuses")):
        statuses = dict((s.get("name"), s) for s in status.get(status_key) or [])
        for container in spec.get(spec_key) or []:
            st = statuses.get(container.get("name")) or {}
            restarts = st.get("restartCount") or 0
            out.append({
                "name": container.get("name"), "kind": kind, "image": container.get("image"),
                "restart_count": restarts,
                "previous": bool(restarts > 0 or (st.get("lastState") or {}).get("terminated")),
                "state": sorted((st.get("state") or {}).keys()),
            })
    return out


def default_container(pod):
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    wanted = annotations.get(DEFAULT_CONTAINER_ANNOTATION)
    return wanted if wanted in names else (names[0] if names else None)


def log_streams(pod, items):
    """[{container, kind, previous, path}] for the logs and previous_logs items."""
    streams = []
    for container in containers(pod):
        base = "logs/%s" % safe_component(container["name"])
        if "logs" in items:
            streams.append({"container": container["name"], "kind": container["kind"], "previous": False,
                            "path": base + ".log"})
        if "previous_logs" in items and container["previous"]:
            streams.append({"container": container["name"], "kind": container["kind"], "previous": True,
                            "path": base + ".previous.log"})
    return streams


def log_query(container, previous, params):
    query = {"container": container}
    if previous:
        query["previous"] = "true"
    for param, key in (("tail_lines", "tailLines"), ("since_seconds", "sinceSeconds"), ("limit_bytes", "limitBytes")):
        if params.get(param):
            query[key] = str(params[param])
    return query


# ---------------------------------------------------------------- exec and copy_from

def _check_container(pod, where, name):
    names = [c["name"] for c in containers(pod)]
    if name not in names:
        return "%s: container %r is not in the pod (containers: %s)" % (where, name, ", ".join(names))
    return None


def check_containers(pod, params, items):
    """TriageError when an exec or copy_from entry names a container the pod does not have."""
    problems = []
    for key in ("exec", "copy_from"):
        if key not in items:
            continue
        for index, entry in enumerate(params.get(key) or [], 1):
            problem = _check_container(pod, "%s[%d]" % (key, index), entry.get("container") or default_container(pod))
            if problem:
                problems.append(problem)
    if problems:
        raise TriageError("invalid parameters: " + "; ".join(problems), {"error_type": "parameters"})


def exec_plan(pod, params):
    """Normalised exec entries, each with the bundle path its files start with."""
    plan = []
    for index, entry in enumerate(params.get("exec") or [], 1):
        word = posixpath.basename(entry["command"][0]) if entry["command"] else "command"
        plan.append({"index": index, "command": list(entry["command"]), "given_container": entry.get("container"),
                     "container": entry.get("container") or default_container(pod),
                     "timeout": entry.get("timeout") or 60, "max_bytes": entry.get("max_bytes") or 64 * 1024 * 1024,
                     "base": "exec/%02d-%s" % (index, safe_component(entry.get("name") or word))})
    return plan


def copy_plan(pod, params):
    plan = []
    for index, entry in enumerate(params.get("copy_from") or [], 1):
        path = entry["path"].rstrip("/") or "/"
        parent, base = posixpath.split(path)
        plan.append({"index": index, "path": path, "given_container": entry.get("container"),
                     "container": entry.get("container") or default_container(pod),
                     "max_bytes": entry.get("max_bytes") or 100 * 1024 * 1024,
                     "timeout": entry.get("timeout") or 300,
                     # As kubectl cp: tar in the container, from the parent directory.
                     "command": ["tar", "cf", "-", "-C", parent or "/", base or "."],
                     "root": "copy/%02d-%s" % (index, safe_component(base or "root"))})
    return plan


# ---------------------------------------------------------------- outcomes and summaries

def unit_failure(exc):
    """The outcome of a unit of work that raised exc, with one readable message (a bug must not
    lose the other items' evidence)."""
    if isinstance(exc, TriageError):
        error = exc.msg
    elif isinstance(exc, OSError):
        error = "cannot write to the bundle: %s%s" % (exc.strerror or exc,
                                                      " (%s)" % exc.filename if exc.filename else "")
    else:
        error = "unexpected %s: %s" % (type(exc).__name__, scrub(exc))
    return {"status": FAILED, "files": [], "error": error}


def unit_outcome(outcome, stream, seconds):
    """A unit's outcome as the items record it: a log stream's entry names its stream."""
    if stream is not None:
        outcome = dict(dict((k, stream[k]) for k in ("container", "kind", "previous", "path")), **outcome)
    outcome.setdefault("files", [])
    outcome["seconds"] = seconds
    return outcome


def combine(statuses):
    """One item status from the statuses of its parts (one per log stream, command, ...)."""
    statuses = list(statuses)
    if not statuses:
        return SKIPPED
    if all(s == FAILED for s in statuses):
        return FAILED
    if any(s in (FAILED, PARTIAL) for s in statuses):
        return PARTIAL
    if all(s == UNAVAILABLE for s in statuses):
        return UNAVAILABLE
    if any(s == OK for s in statuses):
        return OK
    return SKIPPED if SKIPPED in statuses else UNAVAILABLE


def required_failures(items, required):
    """[(item, status, why)] of required items that were not collected."""
    out = []
    for item in required or []:
        result = items.get(item) or {"status": FAILED, "error": "not run"}
        if result["status"] in NOT_COLLECTED:
            out.append((item, result["status"], result.get("error") or result.get("note") or ""))
    return out


def failed_and_skipped(items):
    failed = [{"item": k, "status": v["status"], "error": v.get("error") or v.get("note")}
              for k, v in items.items() if v["status"] in (FAILED, PARTIAL)]
    skipped = [{"item": k, "status": v["status"], "note": v.get("note")}
               for k, v in items.items() if v["status"] in (SKIPPED, UNAVAILABLE)]
    return failed, skipped


def annotation_value(bundle, manifest_sha256, collected_at, remote=None):
    """The triage.k8s/evidence annotation (docs/contract.md): compact JSON, sorted keys; `remote`
    (where the verified copy in object storage is) only after a verified upload."""
    value = {"bundle": bundle, "manifest_sha256": manifest_sha256, "collected_at": collected_at}
    if remote:
        value["remote"] = remote
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def check_mode_plan(pod, params, items, bundle_path, quarantined, route=None):
    """What a real run would collect, for check mode; route as run.collect takes it."""
    streams = log_streams(pod, items)
    execs, copies = exec_plan(pod, params), copy_plan(pod, params)
    if route:
        execs, copies = route(execs, copies)
    return {
        "bundle": bundle_path,
        "archive": bundle_path + ".tar.gz" if params["archive"] else None,
        "items": items,
        "logs": [dict((k, s[k]) for k in ("container", "kind", "previous", "path")) for s in streams],
        "exec": [dict((k, e[k]) for k in ("command", "container", "timeout")) for e in execs]
        if "exec" in items else [],
        "copy_from": [dict((k, c[k]) for k in ("path", "container", "max_bytes")) for c in copies]
        if "copy_from" in items else [],
        "redact": params["redact"],
        "annotate": bool(params["annotate"] and quarantined),
    }


def cluster_label(context, target, server):
    """The `<context-or-cluster>` part of the bundle name: the context asked for, the one the
    kubeconfig chose (as describe_target names it), else the server's host name."""
    if context:
        return context
    match = _CONTEXT_RE.match(target or "")
    if match:
        return match.group(1)
    host = re.sub(r"^[a-z]+://", "", server or "")
    return host.split("/")[0].split(":")[0] or "cluster"
