"""The local control plane is real Kubernetes: controllers, RBAC, logs and exec behave as on a
real cluster. Everything else in the suite relies on these facts."""

import json

import pytest
from kubernetes import client
from kubernetes.stream import stream

from k8s_helpers import (
    annotate_behavior, bare_pod, deployment, endpoint_slice_pods, pod_ready, restart_count, serve_exec,
    serve_logs, service, wait_list, waiting_reasons,
)
from conftest import api_client_for
import localcluster


def _web(core, apps, namespace, replicas=3):
    labels = {"app": "web", "release": "stable"}
    apps.create_namespaced_deployment(namespace, deployment("web", replicas, labels))
    core.create_namespaced_service(namespace, service("web", {"app": "web", "release": "stable"}))
    return wait_list(core.list_namespaced_pod, lambda ps: len([p for p in ps if pod_ready(p)]) == replicas,
                     timeout=60, what="%d ready web pods" % replicas, namespace=namespace, label_selector="app=web")


def test_deployment_pods_run_with_ips_and_endpointslice_lists_them(core, apps, api, namespace):
    pods = _web(core, apps, namespace)
    assert all(p.status.phase == "Running" and p.status.pod_ip for p in pods)
    discovery = client.DiscoveryV1Api(api)
    want = {p.metadata.name for p in pods}
    wait_list(discovery.list_namespaced_endpoint_slice,
              lambda _: endpoint_slice_pods(discovery, namespace, "web") == want,
              timeout=30, what="EndpointSlice to list the 3 pods", namespace=namespace)


def test_relabel_releases_pod_from_service_and_replicaset(core, apps, api, namespace, kubectl):
    """The seed procedure by hand: `kubectl label --overwrite pod P release=crashed-...`."""
    pods = _web(core, apps, namespace)
    discovery = client.DiscoveryV1Api(api)
    victim = sorted(p.metadata.name for p in pods)[0]
    wait_list(discovery.list_namespaced_endpoint_slice,
              lambda _: victim in endpoint_slice_pods(discovery, namespace, "web"),
              timeout=30, what="victim in EndpointSlice", namespace=namespace)

    kubectl("-n", namespace, "label", "--overwrite", "pod", victim, "release=crashed-stable")

    wait_list(discovery.list_namespaced_endpoint_slice,
              lambda _: victim not in endpoint_slice_pods(discovery, namespace, "web"),
              timeout=30, what="victim to leave the EndpointSlice", namespace=namespace)
    orphan = wait_list(core.list_namespaced_pod, lambda ps: ps and not ps[0].metadata.owner_references,
                       timeout=30, what="ReplicaSet to drop the ownerReference",
                       namespace=namespace, field_selector="metadata.name=%s" % victim)[0]
    assert orphan.status.phase == "Running"
    # The ReplicaSet starts a replacement: 3 ready pods select as app=web,release=stable again.
    replacements = wait_list(
        core.list_namespaced_pod, lambda ps: len([p for p in ps if pod_ready(p)]) == 3,
        timeout=60, what="a Ready replacement", namespace=namespace, label_selector="app=web,release=stable")
    assert victim not in {p.metadata.name for p in replacements}
    # The relabelled pod keeps running.
    assert pod_ready(core.read_namespaced_pod(victim, namespace))


def test_crash_loop_previous_logs_and_exec(core, api, namespace, workdir, kubectl):
    core.create_namespaced_pod(namespace, bare_pod("crasher", labels={"app": "crasher"}))
    wait_list(core.list_namespaced_pod, lambda ps: ps and pod_ready(ps[0]), timeout=60, what="pod running",
              namespace=namespace, field_selector="metadata.name=crasher")
    serve_logs(api, namespace, "crasher", workdir,
               {"app": (["started", "serving"], ["boom: null pointer", "exiting with 3"])})
    with open(workdir + "/diag.txt", "w") as f:
        f.write("thread dump here\n")
    serve_exec(api, namespace, "crasher", workdir)
    annotate_behavior(core, namespace, "crasher", "crashloop", exit_code=3)

    seen = {}

    def crash_looping(ps):
        if not ps:
            return False
        p = ps[0]
        if "CrashLoopBackOff" in waiting_reasons(p):
            seen.setdefault("backoff", restart_count(p))
        return "backoff" in seen and restart_count(p) >= seen["backoff"] + 1

    wait_list(core.list_namespaced_pod, crash_looping, timeout=60, what="CrashLoopBackOff and a rising restartCount",
              namespace=namespace, field_selector="metadata.name=crasher")
    pod = core.read_namespaced_pod("crasher", namespace)
    last = pod.status.container_statuses[0].last_state.terminated
    assert last.exit_code == 3 and last.reason == "Error"

    previous = core.read_namespaced_pod_log("crasher", namespace, container="app", previous=True)
    assert "boom: null pointer" in previous and "serving" not in previous
    current = core.read_namespaced_pod_log("crasher", namespace, container="app")
    assert "serving" in current
    assert "exiting with 3" in kubectl("-n", namespace, "logs", "crasher", "--previous").stdout

    out = stream(client.CoreV1Api(api).connect_get_namespaced_pod_exec, "crasher", namespace,
                 command=["cat", "diag.txt"], container="app", stderr=True, stdout=True, stdin=False, tty=False)
    assert "thread dump here" in out
    assert "thread dump here" in kubectl("-n", namespace, "exec", "crasher", "--", "cat", "diag.txt").stdout

    events = core.list_namespaced_event(namespace, field_selector="involvedObject.name=crasher,reason=BackOff")
    assert events.items, "the crash loop emits BackOff events"


@pytest.mark.parametrize("behavior,reason", [("imagepull", "ImagePullBackOff"), ("oomkilled", "CrashLoopBackOff")])
def test_failure_stages(core, namespace, behavior, reason):
    pod = bare_pod("sick", annotations={"sim.triage.k8s/behavior": behavior})
    core.create_namespaced_pod(namespace, pod)
    wait_list(core.list_namespaced_pod, lambda ps: ps and reason in waiting_reasons(ps[0]), timeout=60,
              what=reason, namespace=namespace, field_selector="metadata.name=sick")
    if behavior == "oomkilled":
        last = core.read_namespaced_pod("sick", namespace).status.container_statuses[0].last_state.terminated
        assert (last.exit_code, last.reason) == (137, "OOMKilled")


def test_rbac_is_enforced_for_a_read_only_service_account(core, api, namespace, kubeconfig, context):
    rbac = client.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account(namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="viewer")))
    rbac.create_namespaced_role(namespace, client.V1Role(
        metadata=client.V1ObjectMeta(name="pod-reader"),
        rules=[client.V1PolicyRule(api_groups=[""], resources=["pods"], verbs=["get", "list", "watch"])]))
    rbac.create_namespaced_role_binding(namespace, client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="viewer-reads-pods"),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="pod-reader"),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name="viewer", namespace=namespace)]))
    core.create_namespaced_pod(namespace, bare_pod("target"))
    token = core.create_namespaced_service_account_token(
        "viewer", namespace, client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(
            audiences=[], expiration_seconds=600))).status.token

    admin = api_client_for(kubeconfig, context).configuration
    cfg = client.Configuration()
    cfg.host = admin.host
    cfg.ssl_ca_cert = admin.ssl_ca_cert
    cfg.api_key = {"authorization": "Bearer " + token}
    viewer = client.CoreV1Api(client.ApiClient(cfg))

    assert viewer.read_namespaced_pod("target", namespace).metadata.name == "target"
    with pytest.raises(client.ApiException) as err:
        viewer.patch_namespaced_pod("target", namespace, {"metadata": {"labels": {"x": "y"}}})
    assert err.value.status == 403
    assert 'cannot patch resource "pods"' in json.loads(err.value.body)["message"]


def test_two_contexts_reach_two_independent_clusters(clusters):
    uids = []
    for ctx in clusters["contexts"]:
        core = client.CoreV1Api(api_client_for(clusters["kubeconfig"], ctx))
        uids.append(core.read_namespace("kube-system").metadata.uid)
        assert len(core.list_node().items) >= 2
    assert len(set(uids)) == len(clusters["contexts"]) == 2


def _loopback(address):
    return address == "localhost" or address.startswith("127.")


def test_metrics_api_only_where_metrics_server_runs_and_nodes_are_loopback(clusters):
    """metrics-server reaches the nodes' kubelet (KWOK) at their addresses: they must be loopback,
    never an address KWOK invents; the clusters without metrics-server have no metrics API at all."""
    for name in localcluster.DEFAULT_NAMES:
        core = client.CoreV1Api(api_client_for(clusters["kubeconfig"], localcluster.context_name(name)))
        for node in core.list_node().items:
            addresses = [a.address for a in node.status.addresses or []]
            assert addresses and all(_loopback(a) for a in addresses), (name, node.metadata.name, addresses)
            assert node.metadata.annotations[localcluster.METRICS_PATH_ANNOTATION].startswith(
                "/metrics/nodes/%s/" % node.metadata.name)
        if name in localcluster.METRICS_CLUSTERS:
            assert localcluster.metrics_available(name), name
        else:
            assert localcluster.metrics_apiservice(name) is None, name
