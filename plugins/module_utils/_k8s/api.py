# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A thin, raw-JSON view of the Kubernetes API that every module uses.

Objects travel as the API server's own JSON (camelCase dicts, as `kubectl get -o json` shows
them), never as generated model classes: decisions in module_utils are pure functions over these
dicts, and large lists are parsed once, cheaply. Every call names its verb and resource so an
error becomes one actionable message (errors.translate_exception).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import time

try:
    from urllib.parse import quote
except ImportError:  # Python 2 is not supported; this keeps the import sanity test quiet
    from urllib import quote

try:
    from kubernetes.client.exceptions import ApiException
except ImportError:  # reported by client.require_kubernetes()
    ApiException = None

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError, translate_exception
from ansible_collections.triage.k8s.plugins.module_utils._k8s import faults as kube_faults
from ansible_collections.triage.k8s.plugins.module_utils._k8s.names import container_problem, dns_problem, name_problem
from ansible_collections.triage.k8s.plugins.module_utils._k8s.retry import RetryPolicy
from ansible_collections.triage.k8s.plugins.module_utils._k8s import stream as streams

# Kinds whose selectors and pods triage.k8s understands: kind -> (API path prefix, plural).
KINDS = {
    "Pod": ("/api/v1", "pods"),
    "Service": ("/api/v1", "services"),
    "Event": ("/api/v1", "events"),
    "Node": ("/api/v1", "nodes"),
    "Namespace": ("/api/v1", "namespaces"),
    "ReplicationController": ("/api/v1", "replicationcontrollers"),
    "ReplicaSet": ("/apis/apps/v1", "replicasets"),
    "Deployment": ("/apis/apps/v1", "deployments"),
    "DaemonSet": ("/apis/apps/v1", "daemonsets"),
    "StatefulSet": ("/apis/apps/v1", "statefulsets"),
    "Job": ("/apis/batch/v1", "jobs"),
    "CronJob": ("/apis/batch/v1", "cronjobs"),
    "EndpointSlice": ("/apis/discovery.k8s.io/v1", "endpointslices"),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies"),
    "PodDisruptionBudget": ("/apis/policy/v1", "poddisruptionbudgets"),
    "events.k8s.io/Event": ("/apis/events.k8s.io/v1", "events"),  # the Events we write (core "Event": what we read)
}
CLUSTER_SCOPED = ("Node", "Namespace")
MERGE_PATCH = "application/merge-patch+json"
# `v1` or `group.example/v1beta1`: nothing that could add a path segment.
_API_VERSION = re.compile(r"(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*/)?v[0-9]+[a-z0-9]*\Z")
# How often a LIST whose continue token expired (410) starts again before it gives up.
RELISTS = 3


def raw_request(api_client, method, path, query=None, headers=None, body=None, timeout=None):
    """One HTTP call through the client's auth and TLS settings; returns the unread urllib3
    response, or raises ApiException for a non-2xx status. Works with the kubernetes client's
    older transport (call_api with keyword options) and with the newer one (param_serialize)."""
    query = list((query or {}).items())
    if hasattr(api_client, "param_serialize"):
        request = api_client.param_serialize(method, path, query_params=query, header_params=headers, body=body,
                                             auth_settings=["BearerToken"])
        response = api_client.call_api(*request, _request_timeout=timeout)
        if not 200 <= response.status <= 299:
            response.read()
            api_client.response_deserialize(response, {})  # raises the matching ApiException
        return response.response
    return api_client.call_api(path, method, query_params=query, header_params=headers, body=body,
                               auth_settings=["BearerToken"], _preload_content=False,
                               _return_http_data_only=True, _request_timeout=timeout)


def _segment(kind, value):
    """A name checked for its kind, then quoted, so that it is one path segment whatever it was."""
    problem = name_problem(kind, value)
    if problem:
        raise TriageError(problem, {"error_type": "invalid_input"})
    return quote(value, safe="")


def _invalid(problem):
    return TriageError(problem, {"error_type": "invalid_input"})


def resource_path(kind, namespace=None, name=None, subresource=None):
    """The API path of a kind, a namespace's collection or one object (and its subresource).

    The only place paths are built from user input: names and namespaces are validated here."""
    prefix, plural = KINDS[kind]
    return _path(prefix, plural, None if kind in CLUSTER_SCOPED else namespace, kind, name, subresource)


def _path(prefix, plural, namespace, kind, name, subresource):
    parts = [prefix]
    if namespace:
        parts += ["namespaces", _segment("Namespace", namespace)]
    parts.append(quote(plural, safe=""))
    if name:
        parts.append(_segment(kind, name))
    if subresource:
        parts.append(subresource)
    return "/".join(parts)


def version_path(api_version):
    """/api/v1 or /apis/GROUP/VERSION, for an apiVersion that cannot add a path segment."""
    if not isinstance(api_version, str) or not _API_VERSION.match(api_version):
        raise _invalid("apiVersion %r is not group/version" % (api_version,))
    return "/api/%s" % api_version if "/" not in api_version else "/apis/%s" % api_version


def group_path(group):
    """/apis/GROUP: an API group's discovery document."""
    problem = dns_problem(group)
    if problem:
        raise _invalid('invalid API group "%s": %s' % (group, problem))
    return "/apis/%s" % group


def group_resource_path(api_version, plural, namespace=None, name=None, kind="Pod"):
    """The path of a resource outside KINDS (metrics.k8s.io, a kind found by discovery); the name is
    checked as `kind`'s names are, the namespace as a namespace."""
    return _path(version_path(api_version), plural, namespace, kind, name, None)


def checkpoint_path(node, namespace, pod, container):
    """nodes/NODE/proxy/checkpoint/NS/POD/CONTAINER, every segment validated first."""
    problem = container_problem(container)
    if problem:
        raise _invalid(problem)
    segments = (_segment("Namespace", namespace), _segment("Pod", pod), quote(container, safe=""))
    return resource_path("Node", name=node, subresource="proxy/checkpoint/%s" % "/".join(segments))


def _selecting(label_selector, field_selector, **query):
    """A LIST or WATCH query with its selectors, when given."""
    if label_selector:
        query["labelSelector"] = label_selector
    if field_selector:
        query["fieldSelector"] = field_selector
    return query


def _status_error(status):
    """An ApiException carrying a Status the server sent inside a stream (a watch ERROR event)."""
    if ApiException is None:
        return TriageError("watch failed: %s" % (status.get("message") or status.get("reason") or "no detail"))
    exc = ApiException(status=status.get("code") or 500, reason=status.get("reason") or "")
    exc.body = json.dumps(status)
    return exc


class Kube(object):
    """One cluster. `api_client` comes from client.build_api_client; `target` describes it.

    Every call goes through request(), which retries what is safe to send again (retry.RetryPolicy)
    while the HTTP status is still visible, and only then translates the failure for the user."""

    def __init__(self, api_client, target=None, retry=None):
        self.api_client = api_client
        self.target = target
        self.retry = retry or RetryPolicy()

    # -- transport -------------------------------------------------------------------------
    def request(self, method, path, verb, resource, namespace=None, name=None, query=None, body=None,
                content_type="application/json", timeout=60, idempotent=None):
        """Call the API and return the decoded JSON; any failure becomes a TriageError.

        idempotent: whether sending the request again after an unknown outcome is harmless. By
        default reads, merge patches and preconditioned deletes are; creates and bare deletes are
        retried only when the server says it did not process them (429)."""
        headers = {"Accept": "application/json", "Content-Type": content_type}
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PATCH") or (
                method == "DELETE" and bool((body or {}).get("preconditions")))

        def once():
            response = raw_request(self.api_client, method, path, query, headers, body, timeout)
            data = response.data
            kube_faults.after_response(method, resource)
            return data

        try:
            data = self.retry.call(once, idempotent)
        except Exception as exc:  # translated below: never a traceback for the user
            error = translate_exception(exc, verb, resource, namespace=namespace, name=name, target=self.target)
            error.details["api_attempts"] = getattr(exc, "triage_attempts", 1)
            raise error
        return json.loads(data) if data else {}

    def get(self, kind, name, namespace=None):
        return self.request("GET", resource_path(kind, namespace, name), "get", KINDS[kind][1], namespace, name)

    def get_or_none(self, kind, name, namespace=None):
        try:
            return self.get(kind, name, namespace)
        except TriageError as exc:
            if exc.details.get("status") == 404:
                return None
            raise

    def list(self, kind, namespace=None, label_selector=None, field_selector=None, page_size=500):
        """Yield every object of a paginated LIST (limit/continue): memory stays one page."""
        query = _selecting(label_selector, field_selector, limit=page_size)
        while True:
            page = self.request("GET", resource_path(kind, namespace), "list", KINDS[kind][1], namespace, query=query)
            yield from page.get("items") or []
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return
            query["continue"] = token

    def list_with_version(self, kind, namespace=None, label_selector=None, field_selector=None, page_size=500):
        """All items plus the list's resourceVersion, to start a watch from. Paginated (limit/continue):
        every page of one LIST comes from the same snapshot and carries its resourceVersion. When
        the snapshot expires between pages (410 on the continue token), the LIST starts again."""
        for restart in range(RELISTS + 1):
            query = _selecting(label_selector, field_selector, limit=page_size)
            items, version = [], None
            try:
                while True:
                    page = self.request("GET", resource_path(kind, namespace), "list", KINDS[kind][1], namespace,
                                        query=query)
                    items.extend(page.get("items") or [])
                    meta = page.get("metadata") or {}
                    version = version or meta.get("resourceVersion")
                    if not meta.get("continue"):
                        return items, version
                    query["continue"] = meta["continue"]
            except TriageError as exc:
                if "continue" not in query or exc.details.get("status") != 410 or restart == RELISTS:
                    raise
        raise AssertionError("not reached")  # pragma: no cover

    def patch(self, kind, name, namespace, body):
        return self.request("PATCH", resource_path(kind, namespace, name), "patch", KINDS[kind][1], namespace, name,
                            body=body, content_type=MERGE_PATCH)

    def create(self, kind, namespace, body):
        name = (body.get("metadata") or {}).get("name")
        return self.request("POST", resource_path(kind, namespace), "create", KINDS[kind][1], namespace, name, body=body)

    def delete(self, kind, name, namespace=None, preconditions=None, grace_period=None):
        """DELETE one object. Give preconditions ({"uid": ...}, {"resourceVersion": ...}) to delete only
        the object that was read: a 409 then means it is not that object any more."""
        body = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if preconditions:
            body["preconditions"] = preconditions
        if grace_period is not None:
            body["gracePeriodSeconds"] = grace_period
        return self.request("DELETE", resource_path(kind, namespace, name), "delete", KINDS[kind][1], namespace, name,
                            body=body)

    def whoami(self):
        """The caller's username as the API server sees it (SelfSubjectReview), or None."""
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        try:
            review = self.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", "create",
                                  "selfsubjectreviews", body=body, idempotent=True)
        except TriageError:
            return None  # older servers, or not allowed: identity is best effort
        return ((review.get("status") or {}).get("userInfo") or {}).get("username")

    def can_i(self, verb, resource, namespace=None, group="", name=None):
        """Whether the API server would allow verb on resource (SelfSubjectAccessReview), or None when
        it cannot say (an older server, or the review itself refused). Used to refuse a change whose
        second half would be forbidden before its first half is written."""
        attributes = {"verb": verb, "resource": resource, "group": group}
        if namespace:
            attributes["namespace"] = namespace
        if name:
            attributes["name"] = name
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attributes}}
        try:
            review = self.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "create",
                                  "selfsubjectaccessreviews", body=body, idempotent=True)
        except TriageError:
            return None
        return bool((review.get("status") or {}).get("allowed"))

    # -- streams: watch, logs, exec -----------------------------------------------------------
    def _translate(self, exc, verb, resource, namespace=None, name=None):
        return translate_exception(exc, verb, resource, namespace=namespace, name=name, target=self.target)

    def open_stream(self, path, verb, resource, namespace=None, name=None, query=None, accept="application/json",
                    timeout=None):
        """GET a body to read as it arrives (a watch, a log): the unread response. Retried as a read
        until the response starts; after its first byte nothing is sent again. Failures translated."""
        try:
            return self.retry.call(raw_request, True, self.api_client, "GET", path, query, {"Accept": accept},
                                   timeout=timeout)
        except Exception as exc:  # translated: never a traceback
            raise self._translate(exc, verb, resource, namespace, name)

    def log_stream(self, namespace, pod, query, timeout):
        """A container's log (query: container, previous, tailLines, ...) as a stream.ByteStream;
        a read that breaks raises the translated error (verb "stream")."""
        problem = container_problem(query.get("container"))
        if problem:  # it reaches the query string: only a name the API server could have made gets there
            raise _invalid(problem)
        response = self.open_stream(resource_path("Pod", namespace, pod, "log"), "get", "pods/log", namespace, pod,
                                    query=query, accept="*/*", timeout=timeout)
        return streams.ByteStream(response, lambda exc: self._translate(exc, "stream", "pods/log", namespace, pod))

    def exec(self, namespace, pod, container, command):
        """command's exec websocket in the container, as a stream.ExecStream. Opening goes through the
        retry policy as a read (the command starts only once the connection is upgraded), but the
        websocket client reports every refused handshake as status 0, which is never retried."""
        problem = container_problem(container)
        if problem:
            raise _invalid(problem)
        path = resource_path("Pod", namespace, pod, "exec")
        try:
            ws = self.retry.call(streams.open_exec, True, self.api_client, path, namespace, pod, container, command)
        except Exception as exc:  # translated: never a traceback
            raise self._translate(exc, "create", "pods/exec", namespace, pod)
        return streams.ExecStream(ws, lambda exc: self._translate(exc, "create", "pods/exec", namespace, pod))

    def watch_until(self, kind, namespace, predicate, timeout, label_selector=None, field_selector=None):
        """LIST, then WATCH from its resourceVersion until predicate(objects) returns a truthy value.

        objects is {uid: object} with the current state. Returns (value, objects); on timeout
        returns (None, objects). A watch that expires (410 Gone) is resumed with a fresh LIST,
        so no change is missed and nothing polls.
        """
        deadline = time.monotonic() + timeout
        objects = {}
        while True:
            items, version = self.list_with_version(kind, namespace, label_selector, field_selector)
            objects = dict((o["metadata"]["uid"], o) for o in items)
            value = predicate(objects)
            if value or time.monotonic() >= deadline:
                return value or None, objects
            expired, value = self.follow(kind, namespace, version, objects, predicate, deadline,
                                         label_selector, field_selector)
            if value:
                return value, objects
            if not expired:
                return None, objects

    def follow(self, kind, namespace, version, objects, predicate, deadline, label_selector, field_selector):
        """Apply watch events to objects until predicate holds, the deadline, or expiry (410)."""
        query = _selecting(label_selector, field_selector, watch="true", resourceVersion=version,
                           allowWatchBookmarks="true")
        resource = KINDS[kind][1]

        def open_watch(timeout):
            return self.open_stream(resource_path(kind, namespace), "watch", resource, namespace, query=query,
                                    timeout=timeout)

        def translate(exc):
            return self._translate(exc, "watch", resource, namespace)

        return streams.follow(open_watch, query, objects, predicate, deadline, self.retry, translate, _status_error)

    # -- discovery and other API groups ---------------------------------------------------------
    def has_api(self, group):
        """Whether the cluster serves an API group: False when its discovery document answers 404 or
        503 (not installed, or its aggregated API server is down); any other failure raises."""
        try:
            self.request("GET", group_path(group), "get", "API group %s" % group)
        except TriageError as exc:
            if exc.details.get("status") in (404, 503):
                return False
            raise
        return True

    def get_resource(self, api_version, plural, name, namespace=None, kind="Pod", what=None):
        """GET one object of a resource outside KINDS (e.g. metrics.k8s.io/v1beta1 pods)."""
        path = group_resource_path(api_version, plural, namespace, name, kind)
        return self.request("GET", path, "get", what or plural, namespace, name)

    def owner_path(self, api_version, kind, namespace, name):
        """The path of the object an ownerReference names: for the kinds we know, and by discovery
        of its apiVersion for any other. Every segment is checked before any call."""
        if kind in KINDS:
            return resource_path(kind, namespace, name)
        for problem in (name_problem(kind or "owner", name), name_problem("Namespace", namespace)):
            if problem:  # names from ownerReferences reach the path as they are
                raise _invalid(problem)
        if not _API_VERSION.match(api_version or ""):
            raise TriageError("%s %s has an ownerReference apiVersion %r that is not group/version"
                              % (kind, name, api_version))
        base = version_path(api_version)
        listing = self.request("GET", base, "get", "API discovery for %s" % api_version)
        for resource in listing.get("resources") or []:
            if resource.get("kind") == kind and "/" not in resource.get("name", ""):
                scoped = namespace if resource.get("namespaced") else None
                return _path(base, resource["name"], scoped, kind or "owner", name, None)
        raise TriageError("%s %s is not served by this cluster's API (%s)" % (kind, name, api_version))

    def checkpoint(self, node, namespace, pod, container, timeout):
        """Ask the kubelet, through the API server's node proxy, to checkpoint a container."""
        return self.request("POST", checkpoint_path(node, namespace, pod, container), "create", "nodes/proxy",
                            name=node, query={"timeout": str(timeout)}, timeout=timeout + 10)
