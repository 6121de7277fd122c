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
from ansible_collections.triage.k8s.plugins.module_utils._k8s.names import name_problem
from ansible_collections.triage.k8s.plugins.module_utils._k8s.retry import RetryPolicy

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
}
CLUSTER_SCOPED = ("Node", "Namespace")
MERGE_PATCH = "application/merge-patch+json"


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


def resource_path(kind, namespace=None, name=None, subresource=None):
    """The API path of a kind, a namespace's collection or one object (and its subresource).

    The only place paths are built from user input: names and namespaces are validated here."""
    prefix, plural = KINDS[kind]
    parts = [prefix]
    if namespace and kind not in CLUSTER_SCOPED:
        parts += ["namespaces", _segment("Namespace", namespace)]
    parts.append(plural)
    if name:
        parts.append(_segment(kind, name))
    if subresource:
        parts.append(subresource)
    return "/".join(parts)


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
        query = {"limit": page_size}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        while True:
            page = self.request("GET", resource_path(kind, namespace), "list", KINDS[kind][1], namespace, query=query)
            yield from page.get("items") or []
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return
            query["continue"] = token

    def list_with_version(self, kind, namespace=None, label_selector=None, field_selector=None, page_size=500):
        """All items plus the list's resourceVersion, to start a watch from. Paginated: every page
        of one LIST comes from the same snapshot and carries its resourceVersion."""
        query = {"limit": page_size}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        items, version = [], None
        while True:
            page = self.request("GET", resource_path(kind, namespace), "list", KINDS[kind][1], namespace, query=query)
            items.extend(page.get("items") or [])
            meta = page.get("metadata") or {}
            version = version or meta.get("resourceVersion")
            if not meta.get("continue"):
                return items, version
            query["continue"] = meta["continue"]

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

    # -- watching --------------------------------------------------------------------------
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
            expired, value = self._follow(kind, namespace, version, objects, predicate, deadline,
                                          label_selector, field_selector)
            if value:
                return value, objects
            if not expired:
                return None, objects

    def _follow(self, kind, namespace, version, objects, predicate, deadline, label_selector, field_selector):
        """Apply watch events to objects until predicate holds, the deadline, or expiry (410)."""
        query = {"watch": "true", "resourceVersion": version, "allowWatchBookmarks": "true"}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        resets = 0
        while time.monotonic() < deadline:
            query["timeoutSeconds"] = max(1, int(deadline - time.monotonic()))
            try:
                response = self.retry.call(
                    raw_request, True, self.api_client, "GET", resource_path(kind, namespace), query,
                    {"Accept": "application/json"}, timeout=query["timeoutSeconds"] + 10)
            except Exception as exc:  # translated: never a traceback
                error = translate_exception(exc, "watch", KINDS[kind][1], namespace=namespace, target=self.target)
                if error.details.get("status") == 410:
                    return True, None  # the version expired before the watch began: list again
                raise error
            try:
                for event in _events(response):
                    kind_of_event = event.get("type")
                    obj = event.get("object") or {}
                    if kind_of_event == "ERROR":
                        if obj.get("code") == 410:
                            return True, None  # expired: the caller lists again
                        raise translate_exception(_status_error(obj), "watch", KINDS[kind][1], namespace=namespace,
                                                  target=self.target)
                    if kind_of_event == "BOOKMARK":
                        query["resourceVersion"] = obj["metadata"]["resourceVersion"]
                        continue
                    query["resourceVersion"] = obj["metadata"]["resourceVersion"]
                    if kind_of_event == "DELETED":
                        objects.pop(obj["metadata"]["uid"], None)
                    else:
                        objects[obj["metadata"]["uid"]] = obj
                    value = predicate(objects)
                    if value:
                        return False, value
                    if time.monotonic() >= deadline:
                        return False, None
            except TriageError:
                raise
            except Exception as exc:  # the stream broke: resume from the last version seen, a few times
                resets += 1
                if resets > self.retry.attempts or not self.retry.transient(exc):
                    raise translate_exception(exc, "watch", KINDS[kind][1], namespace=namespace, target=self.target)
                time.sleep(self.retry.delay(resets - 1))
            finally:
                response.release_conn()
        return False, None


def _events(response):
    """Decode a watch stream: one JSON event per line."""
    buffered = b""
    for chunk in response.stream(4096, decode_content=True):
        buffered += chunk
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            if line.strip():
                yield json.loads(line)
    if buffered.strip():
        yield json.loads(buffered)
