# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which pods crashloop_info looks at: one pod, namespaces, all namespaces, or an owner's
current pods (a Deployment's newest ReplicaSet: the version being rolled out).

A scope becomes a small list of LIST calls (namespace, label selector, field selector). Pods
are never fetched one by one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils.labels import selector_string

OWNER_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController")
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


class Scope(object):
    """One LIST call's worth of pods, plus an optional owner uid filter (pods whose controller is it)."""

    __slots__ = ("namespace", "label_selector", "field_selector", "owner_uid", "description", "expected")

    def __init__(self, namespace=None, label_selector=None, field_selector=None, owner_uid=None, description="",
                 expected=None):
        self.expected = expected  # how many pods the owner wants (a rollout is stable with that many)
        self.namespace = namespace
        self.label_selector = label_selector or None
        self.field_selector = field_selector or None
        self.owner_uid = owner_uid
        self.description = description

    def selects(self, pod):
        if self.owner_uid is None:
            return True
        for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
            if ref.get("controller") and ref.get("uid") == self.owner_uid:
                return True
        return False


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


def check_namespaces(kube, namespaces):
    """Fail with the names of namespaces that do not exist (a typo would otherwise scan nothing)."""
    missing = [ns for ns in namespaces if kube.get_or_none("Namespace", ns) is None]
    if missing:
        raise TriageError("namespace%s %s not found%s: check the name and the context"
                          % ("s" if len(missing) > 1 else "", ", ".join('"%s"' % ns for ns in missing),
                             " on %s" % kube.target if kube.target else ""))


def current_replica_set(kube, deployment):
    """The Deployment's newest ReplicaSet (highest revision it owns), or None before the first."""
    meta = deployment["metadata"]
    selector = selector_string((deployment.get("spec") or {}).get("selector") or {})
    newest, newest_revision = None, -1
    for rs in kube.list("ReplicaSet", meta["namespace"], label_selector=selector or None):
        refs = (rs.get("metadata") or {}).get("ownerReferences") or []
        if not any(r.get("controller") and r.get("uid") == meta["uid"] for r in refs):
            continue
        try:
            revision = int(((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION, "0"))
        except ValueError:
            revision = 0
        if revision > newest_revision:
            newest, newest_revision = rs, revision
    return newest


def owner_scope(kube, namespace, owner):
    """The pods of an owner's current generation: for a Deployment, those of its newest ReplicaSet."""
    kind, name = parse_owner(owner)
    obj = kube.get_or_none(kind, name, namespace)
    if obj is None:
        check_namespaces(kube, [namespace])
        raise TriageError('%s "%s" not found in namespace "%s"' % (kind, name, namespace))
    expected = (obj.get("spec") or {}).get("replicas") if kind in ("Deployment", "ReplicaSet", "StatefulSet") else None
    if kind == "Deployment":
        rs = current_replica_set(kube, obj)
        if rs is None:
            # "has no key and has the key": a valid selector that matches no pod.
            return Scope(namespace, label_selector="!pod-template-hash,pod-template-hash",
                         description="Deployment %s (no ReplicaSet yet)" % name, expected=expected)
        obj, kind = rs, "ReplicaSet"
        name = rs["metadata"]["name"]
    plain = kind == "ReplicationController"
    selector = selector_string((obj.get("spec") or {}).get("selector") or {}, plain_map=plain)
    return Scope(namespace, label_selector=selector, owner_uid=obj["metadata"]["uid"],
                 description="%s %s/%s" % (kind, namespace, name), expected=expected)


def resolve_scopes(kube, params):
    """The LIST calls for the module's parameters (validated before anything is listed)."""
    name, namespace, namespaces = params.get("name"), params.get("namespace"), params.get("namespaces") or []
    labels = ",".join(params.get("label_selectors") or []) or None
    fields = ",".join(params.get("field_selectors") or []) or None
    if params.get("owner"):
        if not namespace:
            raise TriageError("owner needs namespace: give the namespace of %s" % (params["owner"],))
        scope = owner_scope(kube, namespace, params["owner"])
        if labels:
            scope.label_selector = ",".join(s for s in (scope.label_selector, labels) if s)
        scope.field_selector = fields
        return [scope]
    if name:
        if not namespace:
            raise TriageError("name needs namespace: give the namespace of pod %s" % name)
        field = ",".join(s for s in ("metadata.name=%s" % name, fields) if s)
        check_namespaces(kube, [namespace])
        return [Scope(namespace, labels, field, description="pod %s/%s" % (namespace, name))]
    if namespace or namespaces:
        wanted = sorted(set(([namespace] if namespace else []) + list(namespaces)))
        check_namespaces(kube, wanted)
        return [Scope(ns, labels, fields, description="namespace %s" % ns) for ns in wanted]
    return [Scope(None, labels, fields, description="all namespaces")]


def list_pods(kube, scope, page_size):
    """Yield the scope's pods page by page (memory: one page)."""
    for pod in kube.list("Pod", scope.namespace, label_selector=scope.label_selector,
                         field_selector=scope.field_selector, page_size=page_size):
        if scope.selects(pod):
            yield pod


def list_pod_events(kube, scope, page_size):
    """The Warning events about pods in the scope's namespace (or everywhere): one LIST."""
    return kube.list("Event", scope.namespace, field_selector="involvedObject.kind=Pod,type=Warning",
                     page_size=page_size)
