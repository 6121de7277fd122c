"""pod_evidence's metrics item on the real local control plane.

triage-b runs metrics-server (hack/cluster/localcluster.py METRICS_CLUSTERS), which scrapes KWOK's
emulated kubelet resource metrics on 127.0.0.1; each container's usage comes from pod annotations
(hack/cluster/metrics/usage.yaml). The bundle records the usage against the containers' requests
and limits and the node's. triage-a has no metrics API: there the item is skipped with a note.
"""

import os
import time

import pytest
import yaml
from kubernetes import client

import localcluster
from conftest import AnsibleRunner, api_client_for, fresh_namespace
from k8s_helpers import JobIdentity, bearer_token_env, pod_ready, wait_pod

METRICS_CLUSTER = "triage-b"
USAGE = "usage.triage.k8s.test/"


@pytest.fixture(scope="module")
def metrics_api(kubeconfig, clusters):
    assert METRICS_CLUSTER in localcluster.METRICS_CLUSTERS
    assert localcluster.metrics_available(METRICS_CLUSTER), (
        "%s has no Available metrics.k8s.io APIService: recreate it (localcluster.py up %s --fresh)" % (
            METRICS_CLUSTER, METRICS_CLUSTER))
    return api_client_for(kubeconfig, localcluster.context_name(METRICS_CLUSTER))


@pytest.fixture
def metrics_namespace(metrics_api, request):
    with fresh_namespace(client.CoreV1Api(metrics_api), request, "m") as name:
        yield name


def _pod(name):
    """Two containers: `app` with requests and limits (memory near its limit), `sidecar` with none."""
    annotations = {USAGE + "app.cpu": "250m", USAGE + "app.memory": "96Mi",
                   USAGE + "sidecar.cpu": "10m", USAGE + "sidecar.memory": "20Mi"}
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, annotations=annotations),
        spec=client.V1PodSpec(termination_grace_period_seconds=0, containers=[
            client.V1Container(name="app", image="registry.example/app:1.0", resources=client.V1ResourceRequirements(
                requests={"cpu": "200m", "memory": "64Mi"}, limits={"cpu": "500m", "memory": "100Mi"})),
            client.V1Container(name="sidecar", image="registry.example/sidecar:1.0"),
        ]))


def _wait_pod_metrics(api, namespace, name, containers, timeout=90):
    """Poll pods.metrics.k8s.io until every container has usage. The metrics API offers no watch;
    metrics-server needs two scrapes (METRIC_RESOLUTION apart) to compute a CPU rate."""
    custom = client.CustomObjectsApi(api)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = custom.get_namespaced_custom_object("metrics.k8s.io", "v1beta1", namespace, "pods", name)
            if sorted(c["name"] for c in last.get("containers") or []) == sorted(containers):
                return last
        except client.ApiException as exc:
            if exc.status != 404:
                raise
        time.sleep(1)
    raise AssertionError("no usage for %s/%s in metrics.k8s.io within %ss; last answer: %s" % (
        namespace, name, timeout, last))


def _running_pod_with_metrics(metrics_api, namespace, name="web"):
    core = client.CoreV1Api(metrics_api)
    core.create_namespaced_pod(namespace, _pod(name))
    wait_pod(core, namespace, name, pod_ready, "the pod to be Ready")
    return _wait_pod_metrics(metrics_api, namespace, name, ["app", "sidecar"])


def _metrics_file(result):
    item = result["items"]["metrics"]
    assert item["status"] == "ok", item
    with open(os.path.join(result["bundle"], "metrics.yaml")) as f:
        return yaml.safe_load(f)


def test_bundle_records_each_containers_usage_against_requests_and_limits(
        metrics_api, metrics_namespace, kubeconfig, tmp_path):
    _running_pod_with_metrics(metrics_api, metrics_namespace)
    ansible = AnsibleRunner(kubeconfig, localcluster.context_name(METRICS_CLUSTER), str(tmp_path))
    result = ansible.module("triage.k8s.pod_evidence", {"name": "web", "namespace": metrics_namespace,
                                                        "dest": str(tmp_path / "ev"), "include": ["manifest", "metrics"],
                                                        "required": ["metrics"]})
    assert not result.get("failed"), result
    metrics = _metrics_file(result)

    # The raw objects as metrics.k8s.io answered.
    assert metrics["pod"]["kind"] == "PodMetrics" and metrics["node"]["kind"] == "NodeMetrics"
    assert sorted(c["name"] for c in metrics["pod"]["containers"]) == ["app", "sidecar"]

    usage = metrics["usage"]
    assert usage["timestamp"] and usage["window"]
    app, sidecar = usage["containers"]
    assert app["container"] == "app" and sidecar["container"] == "sidecar"
    # Memory is a gauge: exact. CPU is a rate over two scrapes of a cumulative counter: close.
    assert app["memory"]["bytes"] == 96 * 2 ** 20 and app["memory"]["limit"] == "100Mi"
    assert app["memory"]["percent_of_limit"] == 96.0 and app["memory"]["percent_of_request"] == 150.0
    assert abs(app["cpu"]["millicores"] - 250) < 5, app["cpu"]
    assert app["cpu"]["request"] == "200m" and abs(app["cpu"]["percent_of_request"] - 125) < 3, app["cpu"]
    assert abs(app["cpu"]["percent_of_limit"] - 50) < 2, app["cpu"]
    assert sidecar["memory"]["bytes"] == 20 * 2 ** 20 and abs(sidecar["cpu"]["millicores"] - 10) < 2
    assert sidecar["memory"]["limit"] is None and sidecar["memory"]["percent_of_limit"] is None
    # Memory near its limit is what an OOM kill follows: said in the file and the item's note.
    warning = "app: memory at 96.0% of its limit 100Mi (OOM-killed at 100%)"
    assert usage["warnings"] == [warning] and result["items"]["metrics"]["note"] == warning

    # The node: at least this pod's usage (other tests' pods may share it), against allocatable.
    node = usage["node"]
    assert node["memory"]["bytes"] >= (96 + 20) * 2 ** 20 and node["cpu"]["millicores"] >= 250
    assert node["memory"]["allocatable"] and node["memory"]["percent_of_allocatable"] is not None
    assert node["cpu"]["percent_of_allocatable"] is not None


def test_the_evidence_role_reads_usage_through_the_aggregator(metrics_api, metrics_namespace, kubeconfig, tmp_path):
    """docs/rbac/evidence.yaml's `get` on pods/nodes.metrics.k8s.io is enough: the API server
    authorizes the ServiceAccount before it proxies to metrics-server."""
    _running_pod_with_metrics(metrics_api, metrics_namespace)
    identity = JobIdentity(metrics_api, "evidence", metrics_namespace)
    try:
        env = bearer_token_env(metrics_api, identity.token(), str(tmp_path))
        ansible = AnsibleRunner(kubeconfig, localcluster.context_name(METRICS_CLUSTER), str(tmp_path))
        result = ansible.module("triage.k8s.pod_evidence", {
            "name": "web", "namespace": metrics_namespace, "dest": str(tmp_path / "ev"),
            "include": ["manifest", "metrics"], "required": ["metrics"]}, auth=False, env=env)
    finally:
        identity.delete()
    assert not result.get("failed"), result
    metrics = _metrics_file(result)
    assert [c["container"] for c in metrics["usage"]["containers"]] == ["app", "sidecar"]
    assert "node_error" not in metrics and metrics["usage"]["node"]["cpu"]["percent_of_allocatable"] is not None


def test_without_the_metrics_api_the_item_is_skipped_with_a_note(core, namespace, ansible, tmp_path):
    """triage-a runs no metrics-server: the real "not served" path, not a stand-in."""
    assert "triage-a" not in localcluster.METRICS_CLUSTERS and localcluster.metrics_apiservice("triage-a") is None
    core.create_namespaced_pod(namespace, _pod("web"))
    wait_pod(core, namespace, "web", pod_ready, "the pod to be Ready")
    result = ansible.module("triage.k8s.pod_evidence", {
        "name": "web", "namespace": namespace, "dest": str(tmp_path / "ev"), "include": ["manifest", "metrics"]})
    assert not result.get("failed") and result["changed"] is True, result
    item = result["items"]["metrics"]
    assert item["status"] == "unavailable"
    assert "metrics.k8s.io is not served by this cluster" in item["note"]
    assert {"item": "metrics", "status": "unavailable", "note": item["note"]} in result["skipped_items"]
    assert not os.path.exists(os.path.join(result["bundle"], "metrics.yaml"))


def test_without_the_grant_the_item_fails_naming_the_verb(metrics_api, metrics_namespace, kubeconfig, tmp_path):
    """The evidence role minus its metrics.k8s.io rule: the API server refuses before proxying,
    the item fails with the verb and resource named, the rest of the bundle is collected."""
    _running_pod_with_metrics(metrics_api, metrics_namespace)
    identity = JobIdentity(metrics_api, "evidence", metrics_namespace)
    try:
        rbac = client.RbacAuthorizationV1Api(metrics_api)
        for name, rules in identity.roles.items():
            kept = [r for r in rules if "metrics.k8s.io" not in r.get("apiGroups", [])]
            if kept != rules:
                rbac.replace_cluster_role(name, {"metadata": {"name": name}, "rules": kept})
        _wait_denied(metrics_api, identity.user, metrics_namespace)
        env = bearer_token_env(metrics_api, identity.token(), str(tmp_path))
        ansible = AnsibleRunner(kubeconfig, localcluster.context_name(METRICS_CLUSTER), str(tmp_path))
        result = ansible.module("triage.k8s.pod_evidence", {
            "name": "web", "namespace": metrics_namespace, "dest": str(tmp_path / "ev"),
            "include": ["manifest", "metrics"]}, auth=False, env=env)
    finally:
        identity.delete()
    item = result["items"]["metrics"]
    assert item["status"] == "failed", result
    assert item["error"].startswith("Forbidden: cannot get pods.metrics.k8s.io in namespace"), item
    assert 'grant the "get" verb on "pods" (API group "metrics.k8s.io")' in item["error"], item
    assert result["items"]["manifest"]["status"] == "ok"


def _wait_denied(api, user, namespace, timeout=10):
    """The authorizer caches RBAC: wait until it no longer allows `get pods.metrics.k8s.io`."""
    authz = client.AuthorizationV1Api(api)
    attributes = {"namespace": namespace, "verb": "get", "group": "metrics.k8s.io", "resource": "pods"}
    deadline = time.monotonic() + timeout
    while authz.create_subject_access_review({"spec": {"user": user, "resourceAttributes": attributes}}).status.allowed:
        assert time.monotonic() < deadline, "RBAC change did not take effect within %ss" % timeout
        time.sleep(0.1)  # nothing to watch
