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
