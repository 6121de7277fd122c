# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ephemeral containers (`kubectl debug POD --image=... --target=...`): adding one through the
pods/ephemeralcontainers subresource and watching until it runs.

The subresource takes only changes to spec.ephemeralContainers, and the API refuses to remove
or change an entry once added: a write here is for the life of the pod. The patch is strategic
(the list merges on name), as kubectl sends it; a resourceVersion in its body makes it
conditional, and the caller decides what a 409 means.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import resource_path
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError

RESOURCE = "pods/ephemeralcontainers"  # as RBAC names it: verb patch
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"


def add(kube, namespace, pod, body, timeout=60):
    """PATCH the subresource with body (a strategic merge patch); the pod as the server returns it.

    Failures are translated with verb `patch` and resource pods/ephemeralcontainers, so a 403 names
    the grant. A 404 that names no object means the server has no such subresource (ephemeral
    containers disabled, or an API server older than 1.23): said so, as kubectl says it."""
    try:
        return kube.request("PATCH", resource_path("Pod", namespace, pod, "ephemeralcontainers"), "patch", RESOURCE,
                            namespace, pod, body=body, content_type=STRATEGIC_MERGE_PATCH, timeout=timeout)
    except TriageError as exc:
        if exc.details.get("status") == 404 and kube.get_or_none("Pod", pod, namespace) is not None:
            raise TriageError("ephemeral containers are not available on this cluster: the API server has no "
                              "pods/ephemeralcontainers subresource (disabled, or older than Kubernetes 1.23); "
                              "the pod was not changed", dict(exc.details, error_type="unsupported"))
        raise


def wait(kube, namespace, pod, decide, timeout):
    """Watch the pod until decide(pod) returns something other than None, or the timeout.

    Returns (decision, pod): decision None on timeout; pod None when it was deleted meanwhile."""
    def predicate(objects):
        current = next(iter(objects.values()), None)
        if current is None:
            return ("gone",)
        value = decide(current)
        return None if value is None else (value, current)

    value, objects = kube.watch_until("Pod", namespace, predicate, timeout, field_selector="metadata.name=%s" % pod)
    if value is None:
        return None, next(iter(objects.values()), None)
    if value == ("gone",):
        return "gone", None
    return value
