"""Small helpers for integration tests: object builders, watch-based waits, and the KWOK
objects that make a simulated pod serve logs and exec."""

import datetime
import os
import time

from kubernetes import client, watch

SIM = "sim.triage.k8s/"


def pod_ready(pod):
    for cond in (pod.status.conditions or []) if pod.status else []:
        if cond.type == "Ready":
            return cond.status == "True"
    return False


def restart_count(pod):
    return sum(cs.restart_count or 0 for cs in (pod.status.container_statuses or []))


def waiting_reasons(pod):
    return [cs.state.waiting.reason for cs in (pod.status.container_statuses or [])
            if cs.state and cs.state.waiting]


def wait_list(list_fn, predicate, timeout=60, what="condition", **kwargs):
    """Watch a list endpoint until predicate(items) is true; return the items.

    Starts from a LIST and follows with a WATCH from its resourceVersion, re-listing when the
    watch expires, so no state change between the two is missed and nothing polls.
    """
    deadline = time.monotonic() + timeout
    items = {}
    while True:
        listing = list_fn(**kwargs)
        items = {o.metadata.uid: o for o in listing.items}
        if predicate(list(items.values())):
            return list(items.values())
        rv = listing.metadata.resource_version
        w = watch.Watch()
        try:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for event in w.stream(list_fn, resource_version=rv, timeout_seconds=max(1, int(remaining)), **kwargs):
                obj = event["object"]
                if event["type"] == "ERROR":
                    break  # expired resourceVersion: re-list
                if event["type"] == "DELETED":
                    items.pop(obj.metadata.uid, None)
                else:
                    items[obj.metadata.uid] = obj
                if predicate(list(items.values())):
                    return list(items.values())
                if time.monotonic() >= deadline:
                    break
        finally:
            w.stop()
        if time.monotonic() >= deadline:
            break
    raise AssertionError("timed out after %ss waiting for %s; last state: %s" % (
        timeout, what, [(o.metadata.name, getattr(o.status, "phase", None)) for o in items.values()]))


def deployment(name, replicas=3, labels=None, pod_annotations=None, containers=None):
    labels = labels or {"app": name}
    containers = containers or [client.V1Container(name="app", image="registry.example/%s:1.0" % name)]
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels, annotations=pod_annotations),
                spec=client.V1PodSpec(containers=containers),
            ),
        ),
    )


def service(name, selector, port=80):
    return client.V1Service(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1ServiceSpec(selector=selector, ports=[client.V1ServicePort(port=port, target_port=8080)]),
    )


def bare_pod(name, labels=None, annotations=None, containers=None):
    containers = containers or [client.V1Container(name="app", image="registry.example/app:1.0")]
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels or {}, annotations=annotations or {}),
        spec=client.V1PodSpec(containers=containers, termination_grace_period_seconds=0),
    )


def endpoint_slice_pods(discovery, namespace, service_name):
    """Names of pods that the Service's EndpointSlices list as endpoints."""
    slices = discovery.list_namespaced_endpoint_slice(
        namespace, label_selector="kubernetes.io/service-name=%s" % service_name)
    names = set()
    for s in slices.items:
        for ep in s.endpoints or []:
            if ep.target_ref and ep.target_ref.kind == "Pod":
                names.add(ep.target_ref.name)
    return names


def cri_lines(lines, stream="stdout", start=None):
    """Log lines in the CRI format the kubelet (and KWOK) reads: TIMESTAMP STREAM F MESSAGE."""
    start = start or datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    out = []
    for i, line in enumerate(lines):
        ts = (start + datetime.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
        out.append("%s %s F %s\n" % (ts, stream, line))
    return "".join(out)


def serve_logs(api, namespace, pod_name, workdir, logs):
    """Make KWOK serve logs for a pod: logs is {container: (current_lines, previous_lines)}."""
    entries = []
    for container, (current, previous) in logs.items():
        cur = os.path.join(workdir, "%s-%s-%s.log" % (namespace, pod_name, container))
        prev = cur + ".previous"
        with open(cur, "w") as f:
            f.write(cri_lines(current))
        with open(prev, "w") as f:
            f.write(cri_lines(previous))
        entries.append({"containers": [container], "logsFile": cur, "previousLogsFile": prev})
    body = {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Logs",
        "metadata": {"name": pod_name, "namespace": namespace},
        "spec": {"logs": entries},
    }
    client.CustomObjectsApi(api).create_namespaced_custom_object("kwok.x-k8s.io", "v1alpha1", namespace, "logs", body)


def serve_exec(api, namespace, pod_name, workdir, env=None):
    """Make KWOK run `kubectl exec` commands for a pod as local commands in workdir.

    Tests only exec harmless commands (echo, cat of their own files)."""
    envs = [{"name": k, "value": v} for k, v in (env or {}).items()]
    body = {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Exec",
        "metadata": {"name": pod_name, "namespace": namespace},
        "spec": {"execs": [{"local": {"workDir": workdir, "envs": envs}}]},
    }
    client.CustomObjectsApi(api).create_namespaced_custom_object("kwok.x-k8s.io", "v1alpha1", namespace, "execs", body)


def annotate_behavior(core, namespace, pod_name, behavior, **extra):
    """Give a running pod a simulated failure (see hack/cluster/stages/pod-failures.yaml)."""
    ann = {SIM + "behavior": behavior}
    ann.update({SIM + k.replace("_", "-"): str(v) for k, v in extra.items()})
    core.patch_namespaced_pod(pod_name, namespace, {"metadata": {"annotations": ann}})


# -- pod_quarantine: owners of every kind (plain API dicts), snapshots and small waits --------

def _template(labels, pod_annotations=None, node_selector=None, affinity=None, restart_policy=None):
    spec = {"containers": [{"name": "app", "image": "registry.example/app:1.0"}],
            "terminationGracePeriodSeconds": 0}
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if affinity:
        spec["affinity"] = affinity
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    return {"metadata": {"labels": dict(labels), "annotations": dict(pod_annotations or {})}, "spec": spec}


def replica_set_body(name, replicas, labels, pod_annotations=None):
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                     "template": _template(labels, pod_annotations)}}


def replication_controller_body(name, replicas, labels):
    return {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": dict(labels), "template": _template(labels)}}


def daemon_set_body(name, labels):
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": dict(labels)}, "template": _template(labels)}}


def job_body(name, labels, pod_annotations=None, parallelism=1, completions=1):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"parallelism": parallelism, "completions": completions, "backoffLimit": 6,
                     "template": _template(labels, pod_annotations, restart_policy="Never")}}


def stateful_set_body(name, replicas, labels, service_name):
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "serviceName": service_name, "selector": {"matchLabels": dict(labels)},
                     "template": _template(labels)}}


def deployment_body(name, replicas, labels, selector=None, pod_annotations=None, node_selector=None, affinity=None):
    """A Deployment as a dict; selector defaults to matchLabels of labels (a LabelSelector otherwise)."""
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": selector or {"matchLabels": dict(labels)},
                     "template": _template(labels, pod_annotations, node_selector, affinity)}}


def service_body(name, selector):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": dict(selector), "ports": [{"port": 80, "targetPort": 8080}]}}


def wait_ready_pods(core, namespace, count, label_selector=None, timeout=60):
    """Watch until exactly `count` pods matching label_selector are Ready; return all matching pods."""
    return wait_list(core.list_namespaced_pod, lambda ps: len([p for p in ps if pod_ready(p)]) == count,
                     timeout=timeout, what="%d Ready pods (%s)" % (count, label_selector or "all"),
                     namespace=namespace, label_selector=label_selector)


def wait_pod(core, namespace, name, predicate, what, timeout=60):
    """Watch one pod until predicate(pod) holds (the pod must exist); return it."""
    return wait_list(core.list_namespaced_pod, lambda ps: bool(ps) and predicate(ps[0]), timeout=timeout,
                     what=what, namespace=namespace, field_selector="metadata.name=%s" % name)[0]


def wait_not_in_slices(discovery, namespace, service_name, pod_name, timeout=30):
    wait_list(discovery.list_namespaced_endpoint_slice,
              lambda _: pod_name not in endpoint_slice_pods(discovery, namespace, service_name),
              timeout=timeout, what="%s to leave the EndpointSlices of %s" % (pod_name, service_name),
              namespace=namespace)


def wait_in_slices(discovery, namespace, service_name, pod_names, timeout=30):
    want = set(pod_names)
    wait_list(discovery.list_namespaced_endpoint_slice,
              lambda _: want <= endpoint_slice_pods(discovery, namespace, service_name),
              timeout=timeout, what="%s in the EndpointSlices of %s" % (sorted(want), service_name),
              namespace=namespace)


def pod_snapshot(core, namespace, name):
    """What a write to the pod's metadata would change (resourceVersion included)."""
    meta = core.read_namespaced_pod(name, namespace).metadata
    return {"labels": dict(meta.labels or {}), "annotations": dict(meta.annotations or {}),
            "owners": [(r.kind, r.name, r.uid) for r in meta.owner_references or []],
            "resourceVersion": meta.resource_version}


def create(api, namespace, body):
    """Create one object from an API dict (any kind the client knows); return the typed object."""
    from kubernetes import utils
    return utils.create_from_dict(api, body, namespace=namespace)[0]


def quarantine(ansible, name, namespace, check=False, diff=False, **params):
    """Run triage.k8s.pod_quarantine through ansible-playbook; the registered result."""
    args = dict(params, name=name, namespace=namespace)
    return ansible.module("triage.k8s.pod_quarantine", args, check=check, diff=diff)
