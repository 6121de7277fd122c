# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""triage.k8s.pod_health: an Event-Driven Ansible source of pod health transitions.

The I/O half only. What is news (classification, settle time, per-owner debounce, the event
shape) is decided in plugins/module_utils/_crashloop/transitions.py, a pure state machine with
unit tests; the cluster is reached through the collection's API layer (_k8s/client.connect and
Kube's paginated LIST and WATCH, which resumes a broken stream from the last version seen).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: pod_health
short_description: Pod health transitions (crash loop, OOM, image pull, ...) of one or more clusters
version_added: 0.2.0
author:
  - triage.k8s developers (@triage-k8s)
description:
  - Watches pods (one paginated LIST, then a WATCH) and classifies each one with the classifier of
    M(triage.k8s.crashloop_info). Puts one event on the queue per TRANSITION of a pod into or out
    of an unhealthy class, never one per status update.
  - A pod must stay in its new class for O(settle_seconds) before the transition is an event, and
    an owner (the pod's controller, e.g. its ReplicaSet; the pod itself when it has none) gives at
    most one C(unhealthy) event per O(debounce_seconds). The C(recovered) event of a pod whose
    C(unhealthy) event was debounced is not sent either.
  - "Every event is C({triage: {source: pod_health, cluster, namespace, pod, uid, owner: {kind,
    name, uid}, workload: {kind, name}, class, previous_class, transition: unhealthy|recovered,
    reason, restarts, next_step, observed_at, alert: null}}) (docs/eda.md)."
  - A watch that expires (410 Gone) is followed by a fresh LIST; a watch stream that breaks is
    resumed from the last version seen; when the API server cannot be reached the source tries
    again with a backoff of up to O(reconnect_max_seconds), then LISTs again, so a pod whose class
    changed while the API server was away is an event once it is back.
  - Pods already unhealthy when the source starts are events (with C(previous_class) null)
    unless O(emit_initial=false).
notes:
  - RBAC needed - list and watch on pods in the namespaces watched (cluster-wide without
    O(namespaces)).
  - C(ansible-doc) has no plugin type for event sources; this documentation is also in docs/eda.md.
options:
  kubeconfig:
    description: Kubeconfig path (or paths joined by C(:)); default as the modules (K8S_AUTH_KUBECONFIG, KUBECONFIG, ~/.kube/config).
    type: path
  context:
    description: One context to watch. Default the current-context (or in-cluster, or O(host)).
    type: str
  contexts:
    description:
      - Several contexts of O(kubeconfig), each watched on its own (one thread per context and
        namespace). Entries are names or patterns as in the inventory plugin C(triage.k8s.kubeconfig)
        (C(prod-*); C(~regex)); O(exclude_contexts) removes some. Mutually exclusive with O(context).
    type: list
    elements: str
  exclude_contexts:
    description: Patterns of contexts left out of O(contexts).
    type: list
    elements: str
  host:
    description: API server URL (with O(api_key), O(ca_cert)... as the modules' connection options).
    type: str
  api_key:
    description: Bearer token. The other connection options of the modules are accepted too
      (validate_certs, ca_cert, client_cert, client_key, proxy, no_proxy, proxy_headers, username,
      password, impersonate_user, impersonate_groups, persist_config), with the same K8S_AUTH_* environment fallbacks.
    type: str
  namespaces:
    description: Namespaces to watch (one watch each). Empty or absent means every namespace (one cluster-wide watch).
    type: list
    elements: str
  label_selectors:
    description: Label selectors, ANDed (joined with commas), as in M(triage.k8s.crashloop_info).
    type: list
    elements: str
  field_selectors:
    description: Field selectors, ANDed, as in M(triage.k8s.crashloop_info).
    type: list
    elements: str
  classes:
    description: The classes that count as unhealthy. Default oom_killed, crash_loop, image_pull,
      config_error, init_failure, unschedulable, probe_failure, evicted.
    type: list
    elements: str
  settle_seconds:
    description: How long a pod must stay in its new class before the transition is an event.
    type: float
    default: 10
  debounce_seconds:
    description: At most one unhealthy event per owner in this many seconds.
    type: float
    default: 300
  emit_initial:
    description: Whether pods already unhealthy at start are events.
    type: bool
    default: true
  restart_threshold:
    description: crashloop_info's restart_threshold (restarts within window_seconds that make a crash loop).
    type: int
    default: 3
  window_seconds:
    description: crashloop_info's window, in seconds.
    type: int
    default: 600
  grace_seconds:
    description: crashloop_info's grace_period, in seconds.
    type: int
    default: 120
  relist_seconds:
    description: A watch is ended and a fresh LIST made after this long (a consistency check; the API server may end it sooner).
    type: int
    default: 600
  reconnect_max_seconds:
    description: Longest wait between two attempts to reach an API server that is away.
    type: float
    default: 30
"""

import asyncio
import os
import sys
import threading
import time
from datetime import datetime, timezone

# ansible-rulebook runs this file with runpy.run_path: nothing puts the collection's root on
# sys.path (ansible-core's collection loader is not installed in the rulebook process), so the
# collection's own imports need the directory holding ansible_collections/. The file is found at
# <root>/ansible_collections/triage/k8s/extensions/eda/plugins/event_source/pod_health.py (the
# path `ansible-galaxy collection list` gave, symlinks kept): add <root> when the import fails.
try:
    from ansible_collections.triage.k8s.plugins.module_utils._crashloop import transitions as _probe
    del _probe
except ImportError:
    _HERE = os.path.abspath(__file__).split(os.sep)
    if len(_HERE) > 8 and _HERE[-8:-5] == ["ansible_collections", "triage", "k8s"]:
        sys.path.insert(0, os.sep.join(_HERE[:-8]) or os.sep)
    for _path in reversed((os.environ.get("ANSIBLE_COLLECTIONS_PATH") or "").split(os.pathsep)):
        if _path and os.path.isdir(os.path.join(_path, "ansible_collections")) and _path not in sys.path:
            sys.path.append(_path)

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.classify import classify_pod, normalize_policy
from ansible_collections.triage.k8s.plugins.module_utils._crashloop.transitions import (
    DEFAULTS, UNHEALTHY_CLASSES, PodHealth, check_classes,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.auth import AUTH_OPTION_NAMES
from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import connect, describe_target
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.kubeconfig import (
    context_filter, context_names, default_paths, load_file, split_paths,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.names import namespace_problem
from ansible_collections.triage.k8s.plugins.module_utils._k8s.retry import backoff_delay
from ansible_collections.triage.k8s.plugins.module_utils._k8s.selectors import selector_problems

OPTIONS = {
    "kubeconfig": None, "context": None, "contexts": None, "exclude_contexts": None, "namespaces": None,
    "label_selectors": None, "field_selectors": None, "classes": None,
    "settle_seconds": DEFAULTS["settle_seconds"], "debounce_seconds": DEFAULTS["debounce_seconds"],
    "emit_initial": True, "restart_threshold": 3, "window_seconds": 600, "grace_seconds": 120,
    "relist_seconds": 600, "reconnect_max_seconds": 30,
}
TICK_SECONDS = 1.0


class _Stopped(BaseException):
    """Raised inside a watch thread when the source stops (not an Exception: the API layer's
    stream code resumes a watch on any Exception)."""


def _as_list(value):
    if value is None or value == "":
        return []
    return [value] if isinstance(value, str) else list(value)


def options(args):
    """The source's settings from the rulebook's args, or ValueError listing every problem."""
    args = dict((k, v) for k, v in (args or {}).items() if not k.startswith("eda_"))
    unknown = sorted(k for k in args if k not in OPTIONS and k not in AUTH_OPTION_NAMES
                     and k not in ("verify_ssl", "ssl_ca_cert", "cert_file", "key_file"))
    problems = ["unknown option(s): %s" % ", ".join(unknown)] if unknown else []
    opts = dict(OPTIONS)
    opts.update((k, v) for k, v in args.items() if k in OPTIONS)
    for name in ("contexts", "exclude_contexts", "namespaces", "label_selectors", "field_selectors"):
        opts[name] = _as_list(opts[name])
    if opts["context"] and opts["contexts"]:
        problems.append("context and contexts are mutually exclusive")
    problems += [p for p in (namespace_problem(ns) for ns in opts["namespaces"]) if p]
    problems += selector_problems(opts["label_selectors"], opts["field_selectors"])
    try:
        opts["classes"] = check_classes(_as_list(opts["classes"])) if opts["classes"] else UNHEALTHY_CLASSES
    except ValueError as exc:
        problems.append("classes: %s" % exc)
    for name in ("settle_seconds", "debounce_seconds", "restart_threshold", "window_seconds", "grace_seconds",
                 "relist_seconds", "reconnect_max_seconds"):
        try:
            opts[name] = float(opts[name])
            if opts[name] < 0:
                raise ValueError()
        except (TypeError, ValueError):
            problems.append("%s must be a number >= 0, got %r" % (name, args.get(name)))
    try:
        opts["policy"] = normalize_policy({"restart_threshold": int(opts["restart_threshold"]),
                                           "window_seconds": int(opts["window_seconds"]),
                                           "grace_seconds": int(opts["grace_seconds"])})
    except (TypeError, ValueError) as exc:
        problems.append(str(exc))
    opts["emit_initial"] = opts["emit_initial"] not in (False, "false", "False", "no", 0, "0")
    if problems:
        raise ValueError("triage.k8s.pod_health: " + "; ".join(problems))
    opts["auth"] = dict((k, v) for k, v in args.items() if k not in OPTIONS or k in ("kubeconfig", "context"))
    return opts


def targets(opts, environ=None):
    """[(cluster name, connection params)]: one per context watched."""
    environ = os.environ if environ is None else environ
    auth = opts["auth"]
    if not opts["contexts"]:
        return [(_cluster_name(auth, environ), auth)]
    kubeconfig = auth.get("kubeconfig") or environ.get("K8S_AUTH_KUBECONFIG")
    paths = split_paths(kubeconfig) if kubeconfig else default_paths(environ)[0]
    configs = [load_file(p) for p in paths]
    names, _current = context_names(configs)
    wanted = context_filter(opts["contexts"], opts["exclude_contexts"])
    chosen = [n for n in names if wanted(n)]
    if not chosen:
        raise ValueError("triage.k8s.pod_health: no context of %s matches contexts %s" % (", ".join(paths), opts["contexts"]))
    return [(name, dict(auth, context=name, kubeconfig=os.pathsep.join(paths))) for name in chosen]


def _cluster_name(auth, environ):
    """The event's cluster: the context name when there is one, else the server as the client describes it."""
    context = auth.get("context") or environ.get("K8S_AUTH_CONTEXT")
    if context:
        return context
    if not (auth.get("host") or environ.get("K8S_AUTH_HOST")):
        try:
            from ansible_collections.triage.k8s.plugins.module_utils._k8s.kubeconfig import select_context
            kubeconfig = auth.get("kubeconfig") or environ.get("K8S_AUTH_KUBECONFIG")
            if kubeconfig or not environ.get("KUBERNETES_SERVICE_HOST"):
                return select_context(kubeconfig, None, environ).context
        except Exception:
            pass
    return describe_target(auth, environ)


def _slim(pod):
    """What the classifier and the event need of a pod; managedFields and last-applied go."""
    meta = pod.get("metadata") or {}
    meta.pop("managedFields", None)
    (meta.get("annotations") or {}).pop("kubectl.kubernetes.io/last-applied-configuration", None)
    return pod


class _Forward(dict):
    """The `objects` mapping Kube's watch applies events to: nothing is kept here, each ADDED or
    MODIFIED pod and each DELETED uid is handed to the asyncio loop instead."""

    def __init__(self, post, stop):
        dict.__init__(self)
        self.post, self.stop = post, stop

    def __setitem__(self, uid, pod):
        if self.stop.is_set():
            raise _Stopped()
        self.post("pod", _slim(pod))

    def pop(self, uid, *default):
        if self.stop.is_set():
            raise _Stopped()
        self.post("deleted", uid)
        return None


def watch(params, namespace, opts, post, stop, sleep=time.sleep, clock=time.monotonic):
    """One watch, in its own thread, until stop: connect, LIST (post 'list'), WATCH; a 410 or the
    end of relist_seconds LISTs again, an API server that is away is tried again with backoff."""
    label_selector = ",".join(opts["label_selectors"]) or None
    field_selector = ",".join(opts["field_selectors"]) or None
    failures, kube = 0, None
    while not stop.is_set():
        try:
            kube = kube or connect(params)
            items, version = kube.list_with_version("Pod", namespace, label_selector, field_selector)
            post("list", [_slim(p) for p in items])
            if failures:
                post("log", "watch of %s resumed after %d failed attempt(s)" % (namespace or "all namespaces", failures))
            failures = 0
            deadline = clock() + opts["relist_seconds"]
            # Kube's watch: events applied to _Forward, resumed from the last version when the stream breaks.
            kube.follow("Pod", namespace, version, _Forward(post, stop), lambda objects: stop.is_set(),
                        deadline, label_selector, field_selector)
        except _Stopped:
            return
        except TriageError as exc:
            if exc.details.get("error_type") == "config" or exc.details.get("status") in (400, 401, 403, 404, 422):
                post("fatal", str(exc))  # a wrong context, selector or permission does not heal by waiting
                return
            failures += 1
            post("log", "watch of %s: %s (attempt %d, trying again)" % (namespace or "all namespaces", exc, failures))
            sleep(backoff_delay(failures - 1, base_delay=0.5, max_delay=opts["reconnect_max_seconds"]))
        except Exception as exc:  # never let the thread die silently
            failures += 1
            post("log", "watch of %s: unexpected %s: %s" % (namespace or "all namespaces", type(exc).__name__, exc))
            sleep(backoff_delay(failures - 1, base_delay=0.5, max_delay=opts["reconnect_max_seconds"]))


async def _tick(inbox):
    """Time passing, as an inbox item: settle timers and time-dependent classes are due on it."""
    while True:
        await asyncio.sleep(TICK_SECONDS)
        inbox.put_nowait((None, "tick", None))


def _now():
    return datetime.now(timezone.utc)


def _log(message):
    print("triage.k8s.pod_health: %s" % message, file=sys.stderr, flush=True)


async def main(queue, args):
    opts = options(args)
    loop = asyncio.get_running_loop()
    inbox = asyncio.Queue()
    stop = threading.Event()
    machines, threads = [], []
    for cluster, params in targets(opts):
        for namespace in opts["namespaces"] or [None]:
            index = len(machines)
            machines.append(PodHealth(cluster, lambda pod, now: classify_pod(pod, None, now, opts["policy"]),
                                      opts["classes"], opts["settle_seconds"], opts["debounce_seconds"], opts["emit_initial"]))

            def post(kind, payload, index=index):
                try:
                    loop.call_soon_threadsafe(inbox.put_nowait, (index, kind, payload))
                except RuntimeError:  # the loop is closed: the source has ended
                    stop.set()
            thread = threading.Thread(target=watch, args=(params, namespace, opts, post, stop), daemon=True,
                                      name="pod_health %s %s" % (cluster, namespace or "(all namespaces)"))
            threads.append(thread)
    for thread in threads:
        thread.start()
    _log("watching %d scope(s): %s" % (len(threads), ", ".join(t.name[len("pod_health "):] for t in threads)))
    ticker = asyncio.ensure_future(_tick(inbox))
    try:
        while True:
            # A plain get: cancelling it is never lost (asyncio.wait_for may swallow a cancel before 3.12).
            index, kind, payload = await inbox.get()
            now = _now()
            events = []
            if kind == "pod":
                events = machines[index].observe(payload, now)
            elif kind == "deleted":
                events = machines[index].deleted(payload)
            elif kind == "list":
                events = machines[index].resync(payload, now)
            elif kind == "tick":
                for machine in machines:
                    events.extend(machine.tick(now))
            elif kind == "log":
                _log(payload)
            elif kind == "fatal":
                raise RuntimeError("triage.k8s.pod_health: %s" % payload)
            for event in events:
                await queue.put(event)
    finally:
        stop.set()
        ticker.cancel()


if __name__ == "__main__":
    # Try it without a rulebook: python pod_health.py '{"namespaces": ["default"], "settle_seconds": 5}'
    import json

    class _Print(object):
        async def put(self, event):
            print(json.dumps(event), flush=True)

    asyncio.run(main(_Print(), json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
