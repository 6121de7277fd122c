# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for api.py's paths: resource_path, the paths outside KINDS (other API groups,
discovery, the checkpoint node proxy) and the exec and log subresources, every segment validated.
The watch-stream decoder's tests are in test_stream.py and test_stream_recorded.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._k8s import api
from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import (
    CLUSTER_SCOPED,
    KINDS,
    Kube,
    checkpoint_path,
    group_path,
    group_resource_path,
    resource_path,
    version_path,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.stream import ExecApi


@pytest.mark.parametrize("args, expected", [
    (("Pod", "shop", "web-1"), "/api/v1/namespaces/shop/pods/web-1"),
    (("Pod", "shop"), "/api/v1/namespaces/shop/pods"),
    (("Pod",), "/api/v1/pods"),  # all namespaces
    (("Pod", None, None), "/api/v1/pods"),
    (("Pod", "shop", "web-1", "log"), "/api/v1/namespaces/shop/pods/web-1/log"),
    (("Pod", "shop", "web-1", "eviction"), "/api/v1/namespaces/shop/pods/web-1/eviction"),
    (("Service", "shop", "web"), "/api/v1/namespaces/shop/services/web"),
    (("Event", "shop"), "/api/v1/namespaces/shop/events"),
    (("ReplicationController", "shop", "legacy"), "/api/v1/namespaces/shop/replicationcontrollers/legacy"),
    (("ReplicaSet", "shop", "web-7d4b9c"), "/apis/apps/v1/namespaces/shop/replicasets/web-7d4b9c"),
    (("Deployment", "shop", "web", "scale"), "/apis/apps/v1/namespaces/shop/deployments/web/scale"),
    (("DaemonSet", "kube-system", "agent"), "/apis/apps/v1/namespaces/kube-system/daemonsets/agent"),
    (("StatefulSet", "db", "pg"), "/apis/apps/v1/namespaces/db/statefulsets/pg"),
    (("Job", "shop", "migrate"), "/apis/batch/v1/namespaces/shop/jobs/migrate"),
    (("CronJob", "shop"), "/apis/batch/v1/namespaces/shop/cronjobs"),
    (("EndpointSlice", "shop"), "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices"),
    (("NetworkPolicy", "shop", "triage-quarantine-web-1234abcd"),
     "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies/triage-quarantine-web-1234abcd"),
    # cluster-scoped kinds ignore a namespace
    (("Node", None, "node-a"), "/api/v1/nodes/node-a"),
    (("Node", "shop", "node-a"), "/api/v1/nodes/node-a"),
    (("Node",), "/api/v1/nodes"),
    (("Node", "shop", "node-a", "proxy"), "/api/v1/nodes/node-a/proxy"),
    (("Namespace", None, "shop"), "/api/v1/namespaces/shop"),
    (("Namespace", "shop", "shop"), "/api/v1/namespaces/shop"),
    (("Namespace",), "/api/v1/namespaces"),
    (("Namespace", None, "shop", "finalize"), "/api/v1/namespaces/shop/finalize"),
])
def test_resource_path(args, expected):
    assert resource_path(*args) == expected


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_resource_path_every_kind(kind):
    prefix, plural = KINDS[kind]
    expected = "%s/%s/x" % (prefix, plural) if kind in CLUSTER_SCOPED else "%s/namespaces/ns/%s/x" % (prefix, plural)
    assert resource_path(kind, "ns", "x") == expected
    assert resource_path(kind, "ns", "x").startswith(("/api/v1/", "/apis/"))


def test_resource_path_unknown_kind():
    with pytest.raises(KeyError):
        resource_path("VirtualMachineInstance", "shop", "vm")


# --- paths outside KINDS, subresources, exec and logs ------------------------------------------

TRAVERSALS = ["../../other/pods/x", "..", ".", "a/b", "%2e%2e", "x?dryRun=All", "X"]


def test_checkpoint_path():
    assert checkpoint_path("kwok-node-0", "shop", "web-1", "app") == \
        "/api/v1/nodes/kwok-node-0/proxy/checkpoint/shop/web-1/app"
    for bad in TRAVERSALS:
        with pytest.raises(TriageError):
            checkpoint_path(bad, "shop", "web-1", "app")
        with pytest.raises(TriageError):
            checkpoint_path("kwok-node-0", "shop", "web-1", bad)
        with pytest.raises(TriageError):
            checkpoint_path("kwok-node-0", bad, "web-1", "app")
        with pytest.raises(TriageError):
            checkpoint_path("kwok-node-0", "shop", bad, "app")
    with pytest.raises(TriageError, match="invalid container name"):
        checkpoint_path("kwok-node-0", "shop", "web-1", "App")


def test_group_paths():
    assert group_path("metrics.k8s.io") == "/apis/metrics.k8s.io"
    assert version_path("v1") == "/api/v1" and version_path("apps/v1") == "/apis/apps/v1"
    assert group_resource_path("metrics.k8s.io/v1beta1", "pods", "shop", "web-1") == \
        "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1"
    assert group_resource_path("metrics.k8s.io/v1beta1", "nodes", None, "kwok-node-0", kind="Node") == \
        "/apis/metrics.k8s.io/v1beta1/nodes/kwok-node-0"
    for bad in TRAVERSALS:
        with pytest.raises(TriageError, match="invalid pod name"):
            group_resource_path("metrics.k8s.io/v1beta1", "pods", "shop", bad)
        with pytest.raises(TriageError, match="invalid namespace"):
            group_resource_path("metrics.k8s.io/v1beta1", "pods", bad, "web-1")
        with pytest.raises(TriageError, match="invalid node name"):
            group_resource_path("metrics.k8s.io/v1beta1", "nodes", None, bad, kind="Node")
        with pytest.raises(TriageError, match="invalid API group"):
            group_path(bad)


@pytest.mark.parametrize("api_version", ["../../api/v1", "v1/../..", "apps/v1/namespaces/x", "", "apps", None])
def test_version_path_refuses_an_api_version_that_adds_segments(api_version):
    with pytest.raises(TriageError, match="not group/version"):
        version_path(api_version)


class _Requests(object):
    """A Kube whose request() answers from a table (no transport): the paths it was asked for."""

    def __init__(self, answers=None):
        self.kube = Kube(None)
        self.paths = []
        answers = answers or {}

        def request(method, path, verb, resource, namespace=None, name=None, **_options):
            self.paths.append((method, path, verb, resource, namespace, name))
            return answers[path]
        self.kube.request = request


@pytest.mark.parametrize("api_version", ["../../api/v1", "v1/../..", "apps/v1/namespaces/x", "", "apps"])
def test_owner_paths_refuse_an_api_version_that_adds_segments(api_version):
    with pytest.raises(TriageError, match="not group/version"):
        Kube(None).owner_path(api_version, "Widget", "shop", "w-1")


def test_owner_names_are_checked_before_discovery():
    with pytest.raises(TriageError, match='invalid widget name "../x"'):
        Kube(None).owner_path("example.com/v1", "Widget", "shop", "../x")
    with pytest.raises(TriageError, match='invalid namespace "Shop"'):
        Kube(None).owner_path("example.com/v1", "Widget", "Shop", "w-1")


def test_owner_path_of_a_known_kind_and_by_discovery():
    assert Kube(None).owner_path("apps/v1", "ReplicaSet", "shop", "web-7d4b9c") == \
        "/apis/apps/v1/namespaces/shop/replicasets/web-7d4b9c"
    listing = {"resources": [{"name": "widgets/status", "kind": "Widget", "namespaced": True},
                             {"name": "widgets", "kind": "Widget", "namespaced": True},
                             {"name": "clusterwidgets", "kind": "ClusterWidget", "namespaced": False}]}
    fake = _Requests({"/apis/example.com/v1": listing})
    assert fake.kube.owner_path("example.com/v1", "Widget", "shop", "w-1") == \
        "/apis/example.com/v1/namespaces/shop/widgets/w-1"
    assert fake.kube.owner_path("example.com/v1", "ClusterWidget", "shop", "w-1") == \
        "/apis/example.com/v1/clusterwidgets/w-1"
    assert fake.paths[0] == ("GET", "/apis/example.com/v1", "get", "API discovery for example.com/v1", None, None)
    with pytest.raises(TriageError, match=r"Gadget g-1 is not served by this cluster's API \(example.com/v1\)"):
        fake.kube.owner_path("example.com/v1", "Gadget", "shop", "g-1")


def _raising(error):
    def request(*_args, **_kwargs):
        raise error
    return request


def test_has_api_and_get_resource():
    fake = _Requests({"/apis/metrics.k8s.io": {"kind": "APIGroup"},
                      "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1": {"kind": "PodMetrics"}})
    assert fake.kube.has_api("metrics.k8s.io") is True
    assert fake.kube.get_resource("metrics.k8s.io/v1beta1", "pods", "web-1", "shop",
                                  what="pods.metrics.k8s.io") == {"kind": "PodMetrics"}
    assert fake.paths == [("GET", "/apis/metrics.k8s.io", "get", "API group metrics.k8s.io", None, None),
                          ("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1", "get",
                           "pods.metrics.k8s.io", "shop", "web-1")]
    for status, served in ((404, False), (503, False)):
        kube = Kube(None)
        kube.request = _raising(TriageError("no", {"status": status}))
        assert kube.has_api("metrics.k8s.io") is served
    kube.request = _raising(TriageError("Forbidden", {"status": 403}))
    with pytest.raises(TriageError, match="Forbidden"):
        kube.has_api("metrics.k8s.io")


def test_checkpoint_posts_to_the_node_proxy():
    fake = _Requests({"/api/v1/nodes/kwok-node-0/proxy/checkpoint/shop/web-1/app": {"items": ["a.tar"]}})
    assert fake.kube.checkpoint("kwok-node-0", "shop", "web-1", "app", 60) == {"items": ["a.tar"]}
    assert fake.paths == [("POST", "/api/v1/nodes/kwok-node-0/proxy/checkpoint/shop/web-1/app", "create",
                           "nodes/proxy", None, "kwok-node-0")]


def test_exec_path_is_built_from_validated_segments(monkeypatch):
    opened = []
    monkeypatch.setattr(api.streams, "open_exec", lambda client, path, *args: opened.append((path,) + args) or "ws")
    kube = Kube("client")
    assert kube.exec("shop", "web-1", "app", ["true"]).ws == "ws"
    assert opened == [("/api/v1/namespaces/shop/pods/web-1/exec", "shop", "web-1", "app", ["true"])]
    for bad in TRAVERSALS:
        with pytest.raises(TriageError, match="invalid pod name"):
            kube.exec("shop", bad, "app", ["true"])
        with pytest.raises(TriageError, match="invalid namespace"):
            kube.exec(bad, "web-1", "app", ["true"])
    assert len(opened) == 1


@pytest.mark.parametrize("container", ["../x", "app&command=sh", "a/b", "App", None])
def test_a_container_name_that_is_not_a_label_never_reaches_exec_or_logs(container, monkeypatch):
    monkeypatch.setattr(api, "raw_request", lambda *_a, **_k: pytest.fail("a request was sent"))
    monkeypatch.setattr(api.streams, "open_exec", lambda *_a, **_k: pytest.fail("a websocket was opened"))
    with pytest.raises(TriageError, match="invalid container name"):
        Kube(None).exec("shop", "web-1", container, ["true"])
    with pytest.raises(TriageError, match="invalid container name"):
        Kube(None).log_stream("shop", "web-1", {"container": container}, 5)


class _Serializer(object):
    """Records the path the exec stand-in asks the client to serialize (no request is made)."""

    def __init__(self):
        self.requests = []

    def param_serialize(self, method, path, **kwargs):
        self.requests.append((method, path, kwargs))
        return (method, path)

    def call_api(self, *_args, **_kwargs):
        class _Answer(object):
            response = "ws"
        return _Answer()


def test_the_exec_stand_in_serializes_the_path_it_was_given():
    client = _Serializer()
    assert ExecApi(client, "/api/v1/namespaces/shop/pods/web-1/exec").connect_get_namespaced_pod_exec(
        "ignored", "ignored", command=["sh", "-c", "true"], container="app", stdout=True, stdin=False) == "ws"
    method, path, options = client.requests[0]
    assert (method, path) == ("GET", "/api/v1/namespaces/shop/pods/web-1/exec")
    assert options["query_params"] == [("command", "sh"), ("command", "-c"), ("command", "true"),
                                       ("container", "app"), ("stdin", False), ("stdout", True)]


def test_a_watch_error_event_becomes_the_error_it_reports():
    # The Status object a watch sends as {"type": "ERROR"} (here: RBAC refused the watch verb).
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import translate_exception
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import _status_error

    status = {"kind": "Status", "code": 403, "reason": "Forbidden",
              "message": 'pods is forbidden: User "bob" cannot watch resource "pods" in API group "" '
                         'in the namespace "shop"'}
    error = translate_exception(_status_error(status), "watch", "pods", namespace="shop")
    assert error.details["status"] == 403
    assert 'grant the "watch" verb on "pods"' in error.msg and "timed out" not in error.msg
