# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collectors for the items that come from the API as objects: the pod manifest, describe, events,
the owner chain, the node summary, Services and EndpointSlices, metrics and the kubelet checkpoint.

Each collector takes the Collection and returns {"status", "files", "note" or "error", ...}; the
runner turns an exception into a failed item. Reads are shared (pod events, owner chain), so an
object is listed once whichever item asks first. Nothing here talks to a pod or node address:
every request goes to the API server (the checkpoint through its node proxy).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._evidence.bundle import safe_component
from ansible_collections.triage.k8s.plugins.module_utils._evidence.describe import (
    describe_pod,
    node_summary,
    services_selecting,
)
from ansible_collections.triage.k8s.plugins.module_utils._evidence.plan import FAILED, OK, SKIPPED, UNAVAILABLE, combine
from ansible_collections.triage.k8s.plugins.module_utils._evidence.usage import summary as usage_summary
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import restore_labels
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import is_quarantined, quarantine_record
from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import controller_ref

MAX_OWNER_DEPTH = 5
METRICS_GROUP = "metrics.k8s.io"
METRICS = METRICS_GROUP + "/v1beta1"
# Answers that mean "this kubelet/cluster does not offer the checkpoint API".
CHECKPOINT_UNAVAILABLE = (400, 404, 405, 500, 501, 503)


class Collection(object):
    """Everything the collectors share: the client, the pod as read at the start, the bundle."""

    def __init__(self, kube, pod, params, bundle, redaction, client_factory=None):
        self.kube = kube
        self.pod = pod
        self.params = params
        self.bundle = bundle
        # One rule set for every file: the bundle applies it to whatever is written.
        self.redaction = redaction
        bundle.redaction = redaction
        self.client_factory = client_factory
        self.namespace = pod["metadata"]["namespace"]
        self.name = pod["metadata"]["name"]
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self._cache = {}
        self._key_locks = {}

    def once(self, key, fn):
        """fn() computed once per key, also when several workers ask at the same time."""
        with self._lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._cache:
                try:
                    self._cache[key] = (True, fn())
                except Exception as exc:  # re-raised to every caller, not retried
                    self._cache[key] = (False, exc)
            ok, value = self._cache[key]
        if not ok:
            raise value
        return value

    @property
    def redactions(self):
        return self.redaction.tally.total

    def clean(self, obj):
        """An API object without managedFields, redacted (env values by name, every string)."""
        return self.redaction.manifest(obj)

    # -- shared reads --------------------------------------------------------------------
    def events_for(self, obj):
        meta = obj.get("metadata") or {}
        return self.once(("events", meta.get("uid")), lambda: list(self.kube.list(
            "Event", meta.get("namespace") or self.namespace, field_selector="involvedObject.uid=%s" % meta.get("uid"))))

    def owner_chain(self):
        return self.once("owners", lambda: owner_chain(self.kube, self.pod))

    def clean_events_for(self, obj):
        """The object's events, redacted, oldest first: events.yaml and describe.txt show the same."""
        meta = obj.get("metadata") or {}
        return self.once(("clean-events", meta.get("uid")), lambda: sorted(
            (self.clean(e) for e in self.events_for(obj)),
            key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or ""))


def owner_chain(kube, pod):
    """(owners from the pod's controller upwards, notes on links that could not be followed)."""
    chain, notes, obj = [], [], pod
    namespace = pod["metadata"]["namespace"]
    for _depth in range(MAX_OWNER_DEPTH):
        ref = controller_ref(obj)
        if not ref:
            break
        path = kube.owner_path(ref.get("apiVersion", ""), ref.get("kind", ""), namespace, ref.get("name"))
        try:
            owner = kube.request("GET", path, "get", ref.get("kind", "owner"), namespace, ref.get("name"))
        except TriageError as exc:
            if exc.details.get("status") != 404:
                raise
            notes.append("%s %s no longer exists" % (ref.get("kind"), ref.get("name")))
            break
        if (owner.get("metadata") or {}).get("uid") != ref.get("uid"):
            notes.append("%s %s was replaced by another object of the same name" % (ref.get("kind"), ref.get("name")))
            break
        owner.setdefault("kind", ref.get("kind"))
        owner.setdefault("apiVersion", ref.get("apiVersion"))
        chain.append(owner)
        obj = owner
    return chain, notes


def _owner_label(owner):
    return "%s/%s" % (owner.get("kind"), owner["metadata"].get("name"))


# ---------------------------------------------------------------- collectors

def collect_manifest(ctx):
    return {"status": OK, "files": [ctx.bundle.write_yaml("pod.yaml", ctx.clean(ctx.pod))]}


def collect_owners(ctx):
    chain, notes = ctx.owner_chain()
    if not chain:
        return {"status": SKIPPED, "files": [], "note": "; ".join(notes) or "bare pod: no controller owns it"}
    files = []
    for index, owner in enumerate(chain, 1):
        rel = "owners/%02d-%s-%s.yaml" % (
            index, safe_component(owner.get("kind")), safe_component(owner["metadata"].get("name")))
        files.append(ctx.bundle.write_yaml(rel, ctx.clean(owner)))
    result = {"status": OK, "files": files, "chain": [_owner_label(o) for o in chain]}
    if notes:
        result["note"] = "; ".join(notes)
    return result


def collect_events(ctx):
    """One LIST per object (the pod, then each owner), by involvedObject.uid."""
    chain, _notes = ctx.owner_chain()
    groups = []
    for obj in [ctx.pod] + chain:
        events = ctx.clean_events_for(obj)
        meta = obj["metadata"]
        groups.append({"object": {"kind": obj.get("kind") or "Pod", "name": meta.get("name"), "uid": meta.get("uid")},
                       "events": events})
    total = sum(len(g["events"]) for g in groups)
    return {"status": OK, "files": [ctx.bundle.write_yaml("events.yaml", groups)], "count": total}


def collect_describe(ctx):
    try:
        chain = ctx.owner_chain()[0]
    except TriageError:
        chain = []  # describe still says what the pod's ownerReference names
    # Redacted before describe shortens long values, so no cut can leave half a secret behind.
    text = describe_pod(ctx.clean(ctx.pod), ctx.clean_events_for(ctx.pod), chain)
    return {"status": OK, "files": [ctx.bundle.write_text("describe.txt", text)]}


def collect_node(ctx):
    node_name = (ctx.pod.get("spec") or {}).get("nodeName")
    if not node_name:
        return {"status": SKIPPED, "files": [], "note": "the pod is not scheduled on a node"}
    node = ctx.kube.get("Node", node_name)
    return {"status": OK, "files": [ctx.bundle.write_yaml("node.yaml", node_summary(node))]}


def collect_services(ctx):
    """Services that select the pod now or selected it before its quarantine, and their slices."""
    labels = (ctx.pod["metadata"].get("labels") or {})
    original = None
    if is_quarantined(ctx.pod):
        record = quarantine_record(ctx.pod)["original_labels"]
        original = restore_labels(labels, record) if isinstance(record, dict) else None
    services = list(ctx.kube.list("Service", ctx.namespace))
    selecting = services_selecting(services, labels, original)
    if not selecting:
        return {"status": SKIPPED, "files": [], "note": "no Service selects the pod%s" % (
            " (nor did one before its quarantine)" if original is not None else "")}
    by_name = dict((s["metadata"]["name"], s) for s in services)
    out = [dict(entry, service=ctx.clean(by_name[entry["name"]])) for entry in selecting]
    names = sorted(entry["name"] for entry in selecting)
    slices = [ctx.clean(s) for s in ctx.kube.list("EndpointSlice", ctx.namespace,
                                                  label_selector="kubernetes.io/service-name in (%s)" % ",".join(names))]
    files = [ctx.bundle.write_yaml("services.yaml", out), ctx.bundle.write_yaml("endpointslices.yaml", slices)]
    return {"status": OK, "files": files, "services": names}


def collect_metrics(ctx):
    """Current CPU and memory from metrics.k8s.io: the raw PodMetrics/NodeMetrics and, beside them,
    each container's usage against its requests and limits and the node's against its allocatable."""
    if not ctx.kube.has_api(METRICS_GROUP):
        return {"status": UNAVAILABLE, "files": [],
                "note": "metrics.k8s.io is not served by this cluster (no metrics-server or the adapter is "
                        "down): CPU and memory usage not collected"}
    out = {}
    try:
        out["pod"] = ctx.kube.get_resource(METRICS, "pods", ctx.name, ctx.namespace, what="pods.metrics.k8s.io")
    except TriageError as exc:
        if exc.details.get("status") != 404:
            raise
        return {"status": UNAVAILABLE, "files": [],
                "note": "metrics.k8s.io has no usage for this pod yet (scraped about every 15-60 s after start)"}
    node_name = (ctx.pod.get("spec") or {}).get("nodeName")
    node = None
    if node_name:
        try:
            out["node"] = ctx.kube.get_resource(METRICS, "nodes", node_name, kind="Node", what="nodes.metrics.k8s.io")
        except TriageError as exc:
            out["node_error"] = exc.msg
        if "node" in out:
            try:  # allocatable, for the node's share; the usage stands without it
                node = ctx.kube.get("Node", node_name)
            except TriageError as exc:
                out["node_read_error"] = exc.msg
    out["usage"] = usage_summary(ctx.pod, out["pod"], out.get("node"), node)
    result = {"status": OK, "files": [ctx.bundle.write_yaml("metrics.yaml", out)]}
    if out["usage"]["warnings"]:
        result["note"] = "; ".join(out["usage"]["warnings"])
    return result


def collect_checkpoint(ctx):
    """Ask the kubelet, through the API server's node proxy, to checkpoint each container.

    The checkpoint archive is written by the kubelet on the node (/var/lib/kubelet/checkpoints);
    the bundle records where. Never contacts the node directly.
    """
    node_name = (ctx.pod.get("spec") or {}).get("nodeName")
    if not node_name:
        return {"status": SKIPPED, "files": [], "note": "the pod is not scheduled on a node"}
    results, statuses = [], []
    for container in [c.get("name") for c in (ctx.pod.get("spec") or {}).get("containers") or []]:
        entry = {"container": container}
        try:
            answer = ctx.kube.checkpoint(node_name, ctx.namespace, ctx.name, container, ctx.params["timeout"])
            entry.update(status=OK, archives_on_node=answer.get("items") or [])
        except TriageError as exc:
            if exc.details.get("status") in CHECKPOINT_UNAVAILABLE:
                entry.update(status=UNAVAILABLE, note=(
                    "the kubelet checkpoint API is not available through the node proxy (HTTP %s: %s); it needs "
                    "the ContainerCheckpoint feature and a runtime that supports it (CRI-O, containerd >= 2.0 with "
                    "CRIU)" % (exc.details.get("status"), exc.details.get("api_message") or exc.msg)))
            else:
                entry.update(status=FAILED, error=exc.msg)
        results.append(entry)
        statuses.append(entry["status"])
    files = [ctx.bundle.write_yaml("checkpoint.yaml", results)]
    status = combine(statuses)
    result = {"status": status, "files": files, "containers": results}
    notes = sorted(set(r["note"] for r in results if r.get("note")))
    errors = sorted(set(r["error"] for r in results if r.get("error")))
    if notes:
        result["note"] = "; ".join(notes)
    if errors:
        result["error"] = "; ".join(errors)
    return result


COLLECTORS = {
    "manifest": collect_manifest,
    "describe": collect_describe,
    "events": collect_events,
    "owners": collect_owners,
    "node": collect_node,
    "services": collect_services,
    "metrics": collect_metrics,
    "checkpoint": collect_checkpoint,
}
