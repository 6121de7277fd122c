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

from ansible_collections.triage.k8s.plugins.module_utils.errors import TriageError, translate_exception

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


def resource_path(kind, namespace=None, name=None, subresource=None):
    prefix, plural = KINDS[kind]
    parts = [prefix]
    if namespace and kind not in CLUSTER_SCOPED:
        parts += ["namespaces", namespace]
    parts.append(plural)
    if name:
        parts.append(name)
    if subresource:
        parts.append(subresource)
    return "/".join(parts)


class Kube(object):
    """One cluster. `api_client` comes from client.build_api_client; `target` describes it."""

    def __init__(self, api_client, target=None):
        self.api_client = api_client
        self.target = target

    # -- transport -------------------------------------------------------------------------
    def request(self, method, path, verb, resource, namespace=None, name=None, query=None, body=None,
                content_type="application/json", timeout=60):
        """Call the API and return the decoded JSON; any failure becomes a TriageError."""
        headers = {"Accept": "application/json", "Content-Type": content_type}
        try:
            data = raw_request(self.api_client, method, path, query, headers, body, timeout).data
        except Exception as exc:  # translated below: never a traceback for the user
            raise translate_exception(exc, verb, resource, namespace=namespace, name=name, target=self.target)
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

    def list_with_version(self, kind, namespace=None, label_selector=None, field_selector=None):
        """All items plus the list's resourceVersion, to start a watch from."""
        query = {}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        page = self.request("GET", resource_path(kind, namespace), "list", KINDS[kind][1], namespace, query=query)
        return page.get("items") or [], (page.get("metadata") or {}).get("resourceVersion")

    def patch(self, kind, name, namespace, body):
        return self.request("PATCH", resource_path(kind, namespace, name), "patch", KINDS[kind][1], namespace, name,
                            body=body, content_type=MERGE_PATCH)

    def create(self, kind, namespace, body):
        name = (body.get("metadata") or {}).get("name")
        return self.request("POST", resource_path(kind, namespace), "create", KINDS[kind][1], namespace, name, body=body)

    def delete(self, kind, name, namespace=None, preconditions=None, grace_period=None):
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
                                  "selfsubjectreviews", body=body)
        except TriageError:
            return None  # older servers, or not allowed: identity is best effort
        return ((review.get("status") or {}).get("userInfo") or {}).get("username")

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
        while time.monotonic() < deadline:
            query["timeoutSeconds"] = max(1, int(deadline - time.monotonic()))
            try:
                response = raw_request(self.api_client, "GET", resource_path(kind, namespace), query,
                                       {"Accept": "application/json"}, timeout=query["timeoutSeconds"] + 10)
            except Exception as exc:  # translated: never a traceback
                raise translate_exception(exc, "watch", KINDS[kind][1], namespace=namespace, target=self.target)
            try:
                for event in _events(response):
                    kind_of_event = event.get("type")
                    obj = event.get("object") or {}
                    if kind_of_event == "ERROR":
                        return (obj.get("code") == 410), None
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
