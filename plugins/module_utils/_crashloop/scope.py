# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which pods crashloop_info looks at: one pod, namespaces, all namespaces, or an owner's
current pods (a Deployment's newest ReplicaSet: the version being rolled out).

A scope becomes a small list of LIST calls (namespace, label selector, field selector). Pods
are never fetched one by one. Pure: run_scope.py reads the owner, its ReplicaSets and the
namespaces, and passes them here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import selector_string

OWNER_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController")
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


class Scope(object):
    """One LIST call's worth of pods, plus an optional owner uid filter (pods whose controller is it).

    For a Deployment owner a wait watches the pods of the whole Deployment (`watch_selector`) so
    that a new ReplicaSet's pods are seen at once: `family` holds the uids of the ReplicaSets the
    Deployment had when the scope was made. `pending` says why the owner's controller has not
    acted on its latest spec yet (a rollout gate holds every verdict), `updating` that a
    StatefulSet or DaemonSet rolling update is under way (it holds a stable verdict only); None
    when not.
    """

    __slots__ = ("namespace", "label_selector", "field_selector", "owner_uid", "description", "expected",
                 "watch_selector", "family", "pending", "updating", "event_selector")

    def __init__(self, namespace=None, label_selector=None, field_selector=None, owner_uid=None, description="",
                 expected=None):
        self.expected = expected  # how many pods the owner wants (a rollout is stable with that many)
        self.namespace = namespace
        self.label_selector = label_selector or None
        self.field_selector = field_selector or None
        self.owner_uid = owner_uid
        self.description = description
        self.watch_selector = None
        self.family = None
        self.pending = None
        self.updating = None
        self.event_selector = None  # extra field selector for the events LIST (one pod: its name)

    def selects(self, pod):
        if self.owner_uid is None:
            return True
        return controller_uid(pod) == self.owner_uid

    def identity(self):
        """What a wait compares to tell whether the owner now wants other pods."""
        return (self.namespace, self.label_selector, self.field_selector, self.owner_uid, self.expected)


def controller_uid(pod, kind=None):
    """The uid of the pod's controller (of that kind, when given), or None."""
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller") and (kind is None or ref.get("kind") == kind):
            return ref.get("uid")
    return None


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def generation_pending(kind, obj):
    """Why the owner's controller has not acted on its latest spec yet (every kind but Job
    reports status.observedGeneration), or None."""
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    generation, observed = _int(meta.get("generation")), _int(status.get("observedGeneration"))
    if kind != "Job" and generation is not None and (observed is None or observed < generation):
        return "%s %s: its controller has not yet acted on generation %d (observed %s)" % (
            kind, meta.get("name"), generation, observed)
    return None


def update_pending(kind, obj):
    """Why a StatefulSet or DaemonSet rolling update is not finished, or None.

    Both report how many pods run the new revision; a StatefulSet partition leaves the pods
    below it on the old one, and an OnDelete strategy never updates by itself.
    """
    meta, spec, status = (obj.get(part) or {} for part in ("metadata", "spec", "status"))
    name = "%s %s" % (kind, meta.get("name"))
    strategy = (spec.get("updateStrategy") or {})
    if kind == "StatefulSet" and strategy.get("type", "RollingUpdate") == "RollingUpdate":
        replicas = _int(spec.get("replicas"))
        replicas = 1 if replicas is None else replicas
        partition = _int((strategy.get("rollingUpdate") or {}).get("partition")) or 0
        updated = _int(status.get("updatedReplicas")) or 0
        if status.get("updateRevision") != status.get("currentRevision") and updated < max(0, replicas - partition):
            return "%s: rolling update in progress, %d of %d pods on revision %s" % (
                name, updated, max(0, replicas - partition), status.get("updateRevision"))
    if kind == "DaemonSet" and strategy.get("type", "RollingUpdate") == "RollingUpdate":
        desired, updated = _int(status.get("desiredNumberScheduled")) or 0, _int(status.get("updatedNumberScheduled")) or 0
        if updated < desired:
            return "%s: rolling update in progress, %d of %d nodes updated" % (name, updated, desired)
    return None


def parse_owner(owner):
    """`Deployment/web` or {'kind': 'Deployment', 'name': 'web'} -> (kind, name); clear errors."""
    if isinstance(owner, dict):
        kind, name = owner.get("kind"), owner.get("name")
    else:
        kind, _sep, name = str(owner).partition("/")
    known = dict((k.lower(), k) for k in OWNER_KINDS)
    canonical = known.get((kind or "").lower())
    if not canonical or not name:
        raise TriageError("owner %r: give KIND/NAME with KIND one of %s, for example Deployment/web"
                          % (owner, ", ".join(OWNER_KINDS)))
    return canonical, name


def current_replica_set(deployment, replica_sets):
    """(newest, uids): of the ReplicaSets listed with the Deployment's selector, the newest one it
    owns (highest revision; None before the first) and the uids of every one it owns."""
    meta = deployment["metadata"]
    newest, newest_revision, uids = None, -1, set()
    for rs in replica_sets:
        if controller_uid(rs) != meta["uid"]:
            continue
        uids.add(rs["metadata"]["uid"])
        try:
            revision = int(((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION, "0"))
        except ValueError:
            revision = 0
        if revision > newest_revision:
            newest, newest_revision = rs, revision
    return newest, uids


def owner_selector(obj):
    """The label selector of the owner's pods ('' when it has none)."""
    return selector_string((obj.get("spec") or {}).get("selector") or {})


def owner_scope(namespace, kind, name, obj, replica_set=None, family=None):
    """The pods of an owner's current generation: for a Deployment (replica_set, family: see
    current_replica_set), those of its newest ReplicaSet."""
    expected = None
    if kind in ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController"):
        replicas = (obj.get("spec") or {}).get("replicas")
        expected = 1 if replicas is None else replicas  # the API's default
    pending, updating = generation_pending(kind, obj), update_pending(kind, obj)
    if kind == "Deployment":
        if replica_set is None:
            # "has no key and has the key": a valid selector that matches no pod.
            scope = Scope(namespace, label_selector="!pod-template-hash,pod-template-hash",
                          description="Deployment %s (no ReplicaSet yet)" % name, expected=expected)
        else:
            scope = Scope(namespace, label_selector=owner_selector(replica_set), owner_uid=replica_set["metadata"]["uid"],
                          description="Deployment %s/%s, ReplicaSet %s" % (namespace, name,
                                                                           replica_set["metadata"]["name"]),
                          expected=expected)
        scope.watch_selector, scope.family, scope.pending = owner_selector(obj) or None, family, pending
        return scope
    plain = kind == "ReplicationController"
    selector = selector_string((obj.get("spec") or {}).get("selector") or {}, plain_map=plain)
    scope = Scope(namespace, label_selector=selector, owner_uid=obj["metadata"]["uid"],
                  description="%s %s/%s" % (kind, namespace, name), expected=expected)
    scope.pending, scope.updating = pending, updating
    return scope


def user_selectors(params):
    """(label selector, field selector): the module's selectors joined, None when not given."""
    return (",".join(params.get("label_selectors") or []) or None,
            ",".join(params.get("field_selectors") or []) or None)


def narrowed(scope, labels, fields):
    """An owner's scope narrowed by the module's selectors (its pods that also match them)."""
    if labels:
        scope.label_selector = ",".join(s for s in (scope.label_selector, labels) if s)
        if scope.watch_selector:
            scope.watch_selector = ",".join((scope.watch_selector, labels))
    scope.field_selector = fields
    return scope


def pod_scope(namespace, name, labels, fields):
    """One named pod (and the events about it only)."""
    field = ",".join(s for s in ("metadata.name=%s" % name, fields) if s)
    scope = Scope(namespace, labels, field, description="pod %s/%s" % (namespace, name))
    scope.event_selector = "involvedObject.name=%s" % name
    return scope


def wanted_namespaces(params):
    """namespace and namespaces together, sorted, once each ([] for all namespaces)."""
    namespace = params.get("namespace")
    return sorted(set(([namespace] if namespace else []) + list(params.get("namespaces") or [])))


def namespace_scopes(namespaces, labels, fields):
    """A scope per namespace, or one over all namespaces when none is given."""
    if not namespaces:
        return [Scope(None, labels, fields, description="all namespaces")]
    return [Scope(ns, labels, fields, description="namespace %s" % ns) for ns in namespaces]


def needs_namespace(params):
    """The error for owner or name without namespace, or None."""
    if params.get("namespace"):
        return None
    if params.get("owner"):
        return TriageError("owner needs namespace: give the namespace of %s" % (params["owner"],))
    if params.get("name"):
        return TriageError("name needs namespace: give the namespace of pod %s" % params["name"])
    return None


def pod_events_selector(scope):
    """The field selector of the Warning events about the scope's pods."""
    return ",".join(s for s in ("involvedObject.kind=Pod,type=Warning", scope.event_selector) if s)
