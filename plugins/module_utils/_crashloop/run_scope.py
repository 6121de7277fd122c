# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashloop_info's reads for its scopes (scope.py decides them): the owner and its ReplicaSets,
that the given namespaces exist, and the LISTs of a scope's pods and Warning events."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

try:
    import queue
except ImportError:  # Python 2 is not supported; this keeps the import sanity test quiet
    import Queue as queue

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.scope import (
    current_replica_set,
    namespace_scopes,
    narrowed,
    needs_namespace,
    owner_scope,
    owner_selector,
    parse_owner,
    pod_events_selector,
    pod_scope,
    user_selectors,
    wanted_namespaces,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.namespaces import check_namespaces

# The end of the message naming namespaces that do not exist (a typo would otherwise scan nothing).
# No warn: a namespace that may not be read fails with the Forbidden error.
NAMESPACE_ADVICE = "check the name and the context"


def replica_sets(kube, deployment):
    """(newest, uids) of the Deployment's ReplicaSets (scope.current_replica_set). One LIST."""
    items = kube.list("ReplicaSet", deployment["metadata"]["namespace"], label_selector=owner_selector(deployment) or None)
    return current_replica_set(deployment, items)


def read_owner_scope(kube, namespace, owner):
    """The pods of an owner's current generation, read from the cluster (scope.owner_scope)."""
    kind, name = parse_owner(owner)
    obj = kube.get_or_none(kind, name, namespace)
    if obj is None:
        check_namespaces(kube, [namespace], NAMESPACE_ADVICE)
        raise TriageError('%s "%s" not found in namespace "%s"' % (kind, name, namespace))
    if kind == "Deployment":
        replica_set, family = replica_sets(kube, obj)
        return owner_scope(namespace, kind, name, obj, replica_set, family)
    return owner_scope(namespace, kind, name, obj)


def resolve_scopes(kube, params):
    """The LIST calls for the module's parameters (validated before anything is listed)."""
    error = needs_namespace(params)
    if error is not None:
        raise error
    labels, fields = user_selectors(params)
    if params.get("owner"):
        return [narrowed(read_owner_scope(kube, params["namespace"], params["owner"]), labels, fields)]
    if params.get("name"):
        check_namespaces(kube, [params["namespace"]], NAMESPACE_ADVICE)
        return [pod_scope(params["namespace"], params["name"], labels, fields)]
    wanted = wanted_namespaces(params)
    check_namespaces(kube, wanted, NAMESPACE_ADVICE)  # none: all namespaces, nothing to check
    return namespace_scopes(wanted, labels, fields)


# Pages of pods fetched ahead of the classification (memory: this many pages plus the one in hand).
PREFETCH_PAGES = 1
_DONE = object()


def prefetched(items, batch=100, depth=PREFETCH_PAGES, page_size=500):
    """Yield what the iterable `items` yields, while a thread runs it ahead: the next LIST page
    is requested and read while the caller classifies the current one, so the API server's time
    to produce a page overlaps the client's work instead of adding to it. At most `depth` pages
    (in batches of `batch` items) wait in between, so memory stays bounded by pages, not pods.
    An exception in the thread is raised here, in the caller; a caller that stops early stops
    the thread at its next batch (it never sends another request after that)."""
    slots = queue.Queue(max(1, depth * page_size // batch))
    stop = threading.Event()

    def put(value):
        while not stop.is_set():
            try:
                slots.put(value, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def run():
        chunk = []
        try:
            for item in items:
                chunk.append(item)
                if len(chunk) >= batch:
                    if not put(chunk):
                        return
                    chunk = []
        except BaseException as exc:  # handed to the caller, who raises it after the items before it
            if put(chunk):
                put(exc)
            return
        if put(chunk):
            put(_DONE)

    worker = threading.Thread(target=run, name="crashloop-list", daemon=True)
    worker.start()
    try:
        while True:
            value = slots.get()
            if value is _DONE:
                return
            if isinstance(value, BaseException):
                raise value
            yield from value
    finally:
        stop.set()


def list_pods(kube, scope, page_size, ahead=True):
    """Yield the scope's pods page by page (memory: one page, plus one fetched ahead with `ahead`)."""
    pods = kube.list("Pod", scope.namespace, label_selector=scope.label_selector,
                     field_selector=scope.field_selector, page_size=page_size)
    if ahead:
        pods = prefetched(pods, page_size=page_size)
    for pod in pods:
        if scope.selects(pod):
            yield pod


def list_pod_events(kube, scope, page_size):
    """The Warning events about pods in the scope's namespace (or everywhere; about one pod for
    a name scope): one paginated LIST."""
    return kube.list("Event", scope.namespace, field_selector=pod_events_selector(scope), page_size=page_size)
