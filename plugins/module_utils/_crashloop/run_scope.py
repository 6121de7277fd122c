# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashloop_info's reads for its scopes (scope.py decides them): the owner and its ReplicaSets,
that the given namespaces exist, and the LISTs of a scope's pods and Warning events."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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


def list_pods(kube, scope, page_size):
    """Yield the scope's pods page by page (memory: one page)."""
    for pod in kube.list("Pod", scope.namespace, label_selector=scope.label_selector,
                         field_selector=scope.field_selector, page_size=page_size):
        if scope.selects(pod):
            yield pod


def list_pod_events(kube, scope, page_size):
    """The Warning events about pods in the scope's namespace (or everywhere; about one pod for
    a name scope): one paginated LIST."""
    return kube.list("Event", scope.namespace, field_selector=pod_events_selector(scope), page_size=page_size)
