"""pod_quarantine against every owner kind, on the real local control plane: what the module
does, and what the controllers then do (observed through the API server only)."""

import json

from kubernetes import client

from k8s_helpers import (
    create, daemon_set_body, deployment_body, endpoint_slice_pods, job_body, pod_ready, pod_snapshot, quarantine,
    replication_controller_body, service_body, stateful_set_body, wait_in_slices, wait_list,
    wait_not_in_slices, wait_pod, wait_ready_pods,
)

QUARANTINED = "triage.k8s/quarantined"


def _released_and_running(core, namespace, name):
    """The controller dropped its ownerReference and the pod still runs, Ready."""
    return wait_pod(core, namespace, name, lambda p: not p.metadata.owner_references and pod_ready(p),
                    "the owner to release %s" % name, timeout=30)


def _assert_replacement(result, owner_kind, quarantined):
    assert result["replacement"]["expected"] is True
    assert result["replacement"]["ready"] is True, result["replacement"]
    names = [p["name"] for p in result["replacement"]["pods"]]
    assert names and quarantined not in names
    assert result["owner"]["kind"] == owner_kind and result["owner"]["released"] is True


def test_deployment_pod_leaves_service_and_replicaset_and_keeps_running(core, api, namespace, ansible, kubectl):
    labels = {"app": "web", "release": "stable"}
    create(api, namespace, deployment_body("web", 3, labels))
    create(api, namespace, service_body("web", labels))
    pods = wait_ready_pods(core, namespace, 3, "app=web")
    discovery = client.DiscoveryV1Api(api)
    victim = sorted(p.metadata.name for p in pods)[0]
    wait_in_slices(discovery, namespace, "web", [p.metadata.name for p in pods])

    result = quarantine(ansible, victim, namespace, wait=True, wait_timeout=60, reason="OOM at 03:00")

    assert result["changed"] is True and not result.get("failed"), result
    assert result["services"] == ["web"]
    assert result["endpoints_removed"] == {"verified": True, "services_still_listing": []}
    _assert_replacement(result, "ReplicaSet", victim)
    assert result["pod"]["name"] == victim and result["pod"]["ip"] and result["pod"]["node"]
    # One label rewritten, the way an operator would (quarantined-<original>).
    assert len(result["labels_changed"]) == 1
    (key, change), = result["labels_changed"].items()
    assert change == {"before": labels[key], "after": "quarantined-" + labels[key]}

    # An independent observer: the pod is out of the EndpointSlice, released, still running...
    assert victim not in endpoint_slice_pods(discovery, namespace, "web")
    pod = _released_and_running(core, namespace, victim)
    assert pod.status.phase == "Running"
    assert pod.metadata.labels[QUARANTINED] == "true"
    assert json.loads(pod.metadata.annotations["triage.k8s/owner"])["kind"] == "ReplicaSet"
    # ...and the ReplicaSet is back to 3 Ready pods without it.
    replicas = wait_ready_pods(core, namespace, 3, "app=web,release=stable")
    assert victim not in [p.metadata.name for p in replicas]
    shown = json.loads(kubectl("-n", namespace, "get", "pods", "-l", "triage.k8s/quarantined=true", "-o", "json").stdout)
    assert [p["metadata"]["name"] for p in shown["items"]] == [victim]


def test_replication_controller(core, api, namespace, ansible):
    labels = {"app": "legacy", "tier": "web"}
    create(api, namespace, replication_controller_body("legacy", 2, labels))
    create(api, namespace, service_body("legacy", {"tier": "web"}))
    pods = wait_ready_pods(core, namespace, 2, "app=legacy")
    victim = pods[0].metadata.name

    result = quarantine(ansible, victim, namespace, wait=True, wait_timeout=60)

    assert result["changed"] is True and not result.get("failed"), result
    _assert_replacement(result, "ReplicationController", victim)
    assert result["endpoints_removed"]["verified"] is True
    _released_and_running(core, namespace, victim)
    wait_ready_pods(core, namespace, 2, "app=legacy,tier=web")


def test_daemonset_replacement_starts_on_the_same_node(core, api, namespace, ansible):
    labels = {"app": "agent"}
    create(api, namespace, daemon_set_body("agent", labels))
    create(api, namespace, service_body("agent", labels))
    pods = wait_ready_pods(core, namespace, 2, "app=agent")  # one per node: kwok-node-0 and kwok-node-1
    assert sorted(p.spec.node_name for p in pods) == ["kwok-node-0", "kwok-node-1"]
    victim = pods[0]

    result = quarantine(ansible, victim.metadata.name, namespace, wait=True, wait_timeout=60)

    assert result["changed"] is True and not result.get("failed"), result
    _assert_replacement(result, "DaemonSet", victim.metadata.name)
    assert "same node" in result["owner"]["note"]
    _released_and_running(core, namespace, victim.metadata.name)
    replacement = core.read_namespaced_pod(result["replacement"]["pods"][-1]["name"], namespace)
    assert replacement.spec.node_name == victim.spec.node_name
    assert pod_ready(replacement)
    # The node now runs two pods of the workload: the quarantined one and the DaemonSet's new one.
    on_node = core.list_namespaced_pod(namespace, field_selector="spec.nodeName=%s" % victim.spec.node_name).items
    assert sorted(p.metadata.name for p in on_node) == sorted([victim.metadata.name, replacement.metadata.name])


def test_job_releases_the_pod_and_starts_another(core, api, namespace, ansible):
    """A Job pod kept running (sim behaviour `running`): quarantine releases it from the Job,
    which no longer counts it, starts another pod, and records the released pod nowhere."""
    batch = client.BatchV1Api(api)
    create(api, namespace, job_body("report", {"app": "report"}, {"sim.triage.k8s/behavior": "running"}))
    pods = wait_ready_pods(core, namespace, 1, "app=report")
    victim = pods[0].metadata.name
    assert "batch.kubernetes.io/job-tracking" in (pods[0].metadata.finalizers or [])

    result = quarantine(ansible, victim, namespace, wait=True, wait_timeout=60)

    assert result["changed"] is True and not result.get("failed"), result
    _assert_replacement(result, "Job", victim)
    assert result["services"] == [] and result["endpoints_removed"]["verified"] is True
    # The Job's selector is its controller-uid label: that is the label the module rewrote.
    assert list(result["labels_changed"]) == ["batch.kubernetes.io/controller-uid"]

    # The Job controller releases the pod and removes its tracking finalizer: the pod keeps running.
    pod = wait_pod(core, namespace, victim,
                   lambda p: not p.metadata.owner_references and not p.metadata.finalizers and pod_ready(p),
                   "the Job to release %s and drop its finalizer" % victim, timeout=30)
    assert pod.status.phase == "Running"
    # The Job counts one active pod (the new one); the quarantined pod is neither failed nor succeeded.
    job = wait_list(batch.list_namespaced_job, lambda js: js and (js[0].status.active or 0) == 1
                    and (js[0].status.ready or 0) == 1, timeout=30, what="the Job to count its new pod",
                    namespace=namespace)[0]
    assert not job.status.failed and not job.status.succeeded, job.status
    uncounted = job.status.uncounted_terminated_pods
    assert not (uncounted and (uncounted.failed or uncounted.succeeded)), uncounted
    owned = [p for p in core.list_namespaced_pod(namespace).items
             if p.metadata.owner_references and p.metadata.owner_references[0].kind == "Job"]
    replacement = result["replacement"]["pods"][-1]["name"]
    assert [p.metadata.name for p in owned] == [replacement]

    # When the new pod succeeds the Job is Complete with succeeded=1, while the quarantined pod,
    # no longer the Job's, keeps running (and would outlive the Job: nothing garbage-collects it).
    core.patch_namespaced_pod(replacement, namespace, {"metadata": {"annotations": {"sim.triage.k8s/behavior": None}}})
    job = wait_list(batch.list_namespaced_job, lambda js: js and any(
        c.type == "Complete" and c.status == "True" for c in js[0].status.conditions or []), timeout=30,
        what="the Job to complete", namespace=namespace)[0]
    assert job.status.succeeded == 1 and not job.status.failed and not job.status.active
    pod = core.read_namespaced_pod(victim, namespace)
    assert pod.status.phase == "Running" and pod_ready(pod) and not pod.metadata.owner_references


def test_statefulset_refuses_traffic_and_owner_and_allows_traffic_only(core, api, namespace, ansible):
    labels = {"app": "db"}
    create(api, namespace, service_body("db", {"app": "db", "role": "replica"}))
    sts = stateful_set_body("db", 2, labels, "db")
    sts["spec"]["template"]["metadata"]["labels"]["role"] = "replica"
    create(api, namespace, sts)
    wait_ready_pods(core, namespace, 2, "app=db")
    before = pod_snapshot(core, namespace, "db-1")

    refused = quarantine(ansible, "db-1", namespace)

    assert refused.get("failed") is True and refused["changed"] is False
    assert "StatefulSet" in refused["msg"] and "scope: traffic_only" in refused["msg"]
    assert "holds its name" in refused["msg"]
    assert pod_snapshot(core, namespace, "db-1") == before

    result = quarantine(ansible, "db-1", namespace, scope="traffic_only", wait=True, wait_timeout=30)

    assert result["changed"] is True and not result.get("failed"), result
    assert result["labels_changed"] == {"role": {"before": "replica", "after": "quarantined-replica"}}
    assert result["owner"]["kind"] == "StatefulSet" and result["owner"]["released"] is False
    assert result["replacement"]["expected"] is False
    assert result["endpoints_removed"]["verified"] is True
    pod = core.read_namespaced_pod("db-1", namespace)
    assert [r.kind for r in pod.metadata.owner_references] == ["StatefulSet"]
    assert pod_ready(pod)
    assert endpoint_slice_pods(client.DiscoveryV1Api(api), namespace, "db") == {"db-0"}
    assert json.loads(pod.metadata.annotations["triage.k8s/owner"])["name"] == "db"


def test_bare_pod_is_taken_out_of_traffic_with_the_default_scope(core, api, namespace, ansible):
    for name in ("api-1", "api-2"):
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "api"}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/api:1.0"}],
                         "terminationGracePeriodSeconds": 0}}
        create(api, namespace, body)
    create(api, namespace, service_body("api", {"app": "api"}))
    wait_ready_pods(core, namespace, 2, "app=api")
    discovery = client.DiscoveryV1Api(api)
    wait_in_slices(discovery, namespace, "api", ["api-1", "api-2"])

    result = quarantine(ansible, "api-1", namespace, wait=True, wait_timeout=30)

    assert result["changed"] is True and not result.get("failed"), result
    assert result["labels_changed"] == {"app": {"before": "api", "after": "quarantined-api"}}
    assert result["owner"]["kind"] is None and result["owner"]["released"] is False
    assert "bare pod" in result["owner"]["note"]
    assert result["replacement"] == {"expected": False, "ready": None, "pods": []}
    assert result["endpoints_removed"]["verified"] is True
    wait_not_in_slices(discovery, namespace, "api", "api-1")
    pod = core.read_namespaced_pod("api-1", namespace)
    assert pod_ready(pod) and pod.metadata.annotations["triage.k8s/owner"] == "null"
    assert endpoint_slice_pods(discovery, namespace, "api") == {"api-2"}
