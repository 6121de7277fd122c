"""Small helpers for integration tests: object builders, watch-based waits, and the KWOK
objects that make a simulated pod serve logs and exec."""

import datetime
import json
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


def pod_history(core, namespace, name, since, predicate, timeout=30):
    """The first version of a pod after resourceVersion `since` for which predicate(pod) holds,
    replayed by a WATCH from `since`: seen even if the pod changed again or was deleted since."""
    w = watch.Watch()
    try:
        for event in w.stream(core.list_namespaced_pod, namespace, field_selector="metadata.name=%s" % name,
                              resource_version=since, timeout_seconds=timeout):
            if event["type"] in ("ADDED", "MODIFIED", "DELETED") and predicate(event["object"]):
                return event["object"]
    finally:
        w.stop()
    raise AssertionError("no version of pod %s after resourceVersion %s matched within %ss" % (name, since, timeout))


# -- quarantine_info / quarantine_cleanup: quarantined pods and NetworkPolicies made directly ----

def contract_pod_body(name, quarantined_at=None, expires_at=None, evidence=None, label=True, extra_labels=None,
                      extra_annotations=None, network_policy=None, owner=None):
    """A bare pod carrying the on-pod contract (docs/contract.md) as pod_quarantine writes it.

    quarantined_at/expires_at are datetimes (None: annotation absent); evidence is a bundle name.
    label=False leaves out the quarantine label; quarantined_at=None leaves out the annotation."""
    import json as _json
    from ansible_collections.triage.k8s.plugins.module_utils._contract import keys as c
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339

    labels = {"app": "cleanup-test"}
    if label:
        labels[c.QUARANTINED_LABEL] = c.QUARANTINED_VALUE
    labels.update(extra_labels or {})
    annotations = {}
    if quarantined_at is not None:
        annotations.update({
            c.ANN_QUARANTINED_AT: format_rfc3339(quarantined_at),
            c.ANN_QUARANTINED_BY: "integration-test",
            c.ANN_REASON: "test " + name,
            c.ANN_ORIGINAL_LABELS: _json.dumps({"app": None}),
            c.ANN_OWNER: _json.dumps(owner),
        })
    if expires_at is not None:
        annotations[c.ANN_EXPIRES_AT] = format_rfc3339(expires_at)
    if evidence:
        annotations[c.ANN_EVIDENCE] = _json.dumps({"bundle": evidence, "manifest_sha256": "0" * 64,
                                                   "collected_at": "2026-01-01T00:00:00Z"},
                                                  sort_keys=True, separators=(",", ":"))
    if network_policy:
        annotations[c.ANN_NETWORK_POLICY] = network_policy
    annotations.update(extra_annotations or {})
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels, "annotations": annotations},
            "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.0"}],
                     "terminationGracePeriodSeconds": 0}}


def contract_policy_body(name, pod_name, pod_uid, ours=True):
    """A deny-all NetworkPolicy labelled like the ones pod_quarantine makes (ours=False: a foreign one)."""
    from ansible_collections.triage.k8s.plugins.module_utils._contract import keys as c

    labels = {c.MANAGED_BY_LABEL: c.MANAGED_BY_VALUE, c.FOR_POD_LABEL: pod_name} if ours else {"team": "net"}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "labels": labels, "annotations": {c.FOR_POD_UID_ANNOTATION: pod_uid}},
            "spec": {"podSelector": {"matchLabels": {c.QUARANTINE_ID_LABEL: pod_uid}}, "policyTypes": ["Ingress"]}}


def names_in(api, namespace, kind="Pod"):
    """Names of the pods (or NetworkPolicies) in a namespace that are not terminating."""
    if kind == "Pod":
        items = client.CoreV1Api(api).list_namespaced_pod(namespace).items
    else:
        items = client.NetworkingV1Api(api).list_namespaced_network_policy(namespace).items
    return sorted(o.metadata.name for o in items if not o.metadata.deletion_timestamp)


def serving_deployment(core, api, namespace, replicas=2, labels=None, selector=None, service_selector=None):
    """Deployment "web" and its Service "web", every pod Ready and in the EndpointSlice: the pod names, sorted."""
    labels = labels or {"app": "web"}
    create(api, namespace, deployment_body("web", replicas, labels, selector=selector))
    create(api, namespace, service_body("web", service_selector or labels))
    pods = wait_ready_pods(core, namespace, replicas, "app=%s" % labels["app"])
    names = sorted(p.metadata.name for p in pods)
    wait_in_slices(client.DiscoveryV1Api(api), namespace, "web", names)
    return names


# -- docs/rbac: a job's ServiceAccount, its ClusterRoles bound, a token, AWX-style credentials --

RBAC_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs", "rbac")


def rbac_manifests(job):
    """The objects of docs/rbac/<job>.yaml (a v1 List), as a list of dicts."""
    import yaml
    with open(os.path.join(RBAC_DIR, "%s.yaml" % job)) as f:
        listing = yaml.safe_load(f)
    assert listing["kind"] == "List", job
    return listing["items"]


def rbac_cluster_roles():
    """Every ClusterRole defined under docs/rbac/, by name."""
    roles = {}
    for name in sorted(os.listdir(RBAC_DIR)):
        if name.endswith(".yaml"):
            for doc in rbac_manifests(name[:-len(".yaml")]):
                if doc["kind"] == "ClusterRole":
                    roles[doc["metadata"]["name"]] = doc
    return roles


def rules_without(rules, resource, verb):
    """(rules with one verb taken from one resource, whether any was taken); a rule naming several
    resources is split."""
    out, removed = [], False
    for rule in rules:
        if resource in rule["resources"] and verb in rule["verbs"]:
            removed = True
            others = [r for r in rule["resources"] if r != resource]
            if others:
                out.append(dict(rule, resources=others))
            verbs = [v for v in rule["verbs"] if v != verb]
            if verbs:
                out.append(dict(rule, resources=[resource], verbs=verbs))
        else:
            out.append(rule)
    return out, removed


class JobIdentity:
    """The ServiceAccount of docs/rbac/<job>.yaml, created in `namespace`, with every ClusterRole
    that file's ClusterRoleBindings name bound to it, as the file binds them.

    ClusterRoles and bindings are created under unique names (cluster-scoped objects outlive the
    test namespace: call delete()). bind_in: None for ClusterRoleBindings, or a list of namespaces
    for RoleBindings (docs/rbac/namespaced.yaml). without=(resource, verb) takes that verb away
    from every role bound.
    """

    def __init__(self, api, job, namespace, without=None, bind_in=None):
        import uuid
        self.api, self.job, self.namespace = api, job, namespace
        docs = rbac_manifests(job)
        roles = rbac_cluster_roles()
        suffix = uuid.uuid4().hex[:6]
        self.sa = [d for d in docs if d["kind"] == "ServiceAccount"][0]["metadata"]["name"]
        self.user = "system:serviceaccount:%s:%s" % (namespace, self.sa)
        self.roles = {}  # unique name -> rules
        removed = False
        for binding in [d for d in docs if d["kind"] == "ClusterRoleBinding"]:
            rules = roles[binding["roleRef"]["name"]]["rules"]
            if without:
                rules, taken = rules_without(rules, *without)
                removed = removed or taken
            self.roles["%s-%s" % (binding["roleRef"]["name"], suffix)] = rules
        if without and not removed:
            raise AssertionError("no role of %s grants %s on %s" % (job, without[1], without[0]))
        rbac = client.RbacAuthorizationV1Api(api)
        client.CoreV1Api(api).create_namespaced_service_account(namespace, {"metadata": {"name": self.sa}})
        subject = [{"kind": "ServiceAccount", "name": self.sa, "namespace": namespace}]
        self.cluster_bindings = []
        for name, rules in self.roles.items():
            rbac.create_cluster_role({"metadata": {"name": name}, "rules": rules})
            body = {"metadata": {"name": name}, "subjects": subject,
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}}
            if bind_in is None:
                rbac.create_cluster_role_binding(body)
                self.cluster_bindings.append(name)
            else:
                for ns in bind_in:
                    rbac.create_namespaced_role_binding(ns, body)
        self.wait_effective(bind_in[0] if bind_in else namespace)

    def wait_effective(self, namespace, timeout=10):
        """The authorizer caches RBAC objects: wait until it allows this identity each role's first rule."""
        authz = client.AuthorizationV1Api(self.api)
        deadline = time.monotonic() + timeout
        for rules in self.roles.values():
            rule = rules[0]
            resource, _sep, subresource = rule["resources"][0].partition("/")
            attributes = {"namespace": namespace, "verb": rule["verbs"][0], "group": rule["apiGroups"][0],
                          "resource": resource, "subresource": subresource}
            while not authz.create_subject_access_review(
                    {"spec": {"user": self.user, "resourceAttributes": attributes}}).status.allowed:
                if time.monotonic() >= deadline:
                    raise AssertionError("RBAC for %s did not take effect within %ss" % (self.user, timeout))
                time.sleep(0.1)  # the authorizer's cache offers nothing to watch

    def token(self, seconds=900):
        """A short-lived token from the TokenRequest API."""
        answer = client.CoreV1Api(self.api).create_namespaced_service_account_token(
            self.sa, self.namespace, {"spec": {"expirationSeconds": seconds}})
        return answer.status.token

    def delete(self):
        rbac = client.RbacAuthorizationV1Api(self.api)
        for name in self.roles:
            for call in ((rbac.delete_cluster_role_binding, name) if name in self.cluster_bindings else None,
                         (rbac.delete_cluster_role, name)):
                try:
                    if call:
                        call[0](call[1])
                except client.ApiException:
                    pass


def cluster_server_and_ca(api):
    """(API server URL, PEM bytes of the cluster CA) of a client built from the kubeconfig."""
    with open(api.configuration.ssl_ca_cert, "rb") as f:
        return api.configuration.host, f.read()


def bearer_token_env(api, token, directory):
    """The environment AWX's "OpenShift or Kubernetes API Bearer Token" credential injects: the CA
    goes to a private file in `directory` (AWX writes it to the job's private data dir)."""
    import stat
    import tempfile
    server, ca = cluster_server_and_ca(api)
    handle, path = tempfile.mkstemp(dir=directory)
    with os.fdopen(handle, "wb") as f:
        f.write(ca)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return {"K8S_AUTH_HOST": server, "K8S_AUTH_API_KEY": token, "K8S_AUTH_SSL_CA_CERT": path,
            "K8S_AUTH_VERIFY_SSL": "True"}


def token_kubeconfig(api, token, context_name):
    """A self-contained kubeconfig (CA inline) for a token: what a user pastes into a credential."""
    import base64
    import yaml
    server, ca = cluster_server_and_ca(api)
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": context_name,
        "clusters": [{"name": context_name, "cluster": {
            "server": server, "certificate-authority-data": base64.b64encode(ca).decode()}}],
        "users": [{"name": context_name, "user": {"token": token}}],
        "contexts": [{"name": context_name, "context": {"cluster": context_name, "user": context_name}}],
    })


# -- crashloop_info: pods with simulated failures, and running the module ----------------------

def sim_pod_body(name, behavior=None, labels=None, containers=("app",), init_containers=(), restart_policy=None,
                 node_selector=None, **sim):
    """A bare pod (API dict) with the sim.triage.k8s/ annotations of hack/cluster/stages/pod-failures.yaml:
    behavior plus container=, exit_code=, reason=, message= as keyword arguments."""
    annotations = {SIM + "behavior": behavior} if behavior else {}
    annotations.update({SIM + k.replace("_", "-"): str(v) for k, v in sim.items()})
    spec = {"containers": [{"name": c, "image": "registry.example/%s:1.0" % c} for c in containers],
            "terminationGracePeriodSeconds": 0}
    if init_containers:
        spec["initContainers"] = [{"name": c, "image": "registry.example/%s:1.0" % c} for c in init_containers]
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": dict(labels or {}), "annotations": annotations}, "spec": spec}


def crashloop_info(ansible, **params):
    """Run triage.k8s.crashloop_info through ansible-playbook; the registered result."""
    return ansible.module("triage.k8s.crashloop_info", params)


def pods_by_name(result):
    """{name: pod entry} of a crashloop_info result."""
    return {p["name"]: p for p in result.get("pods") or []}


def module_results(ansible, module, args_list):
    """Run one play with a task per entry of args_list (each with the auth options, failures
    ignored); return the registered results in order. One ansible-playbook start for many calls."""
    import uuid as _uuid

    out = os.path.join(ansible.tmpdir, "results-%s.json" % _uuid.uuid4().hex)
    tasks = []
    for index, args in enumerate(args_list):
        args = dict(args)
        args.setdefault("kubeconfig", ansible.kubeconfig)
        args.setdefault("context", ansible.context)
        tasks.append({"name": "call %d" % index, module: args, "register": "r%d" % index, "ignore_errors": True})
    proc = ansible.playbook_content([{"hosts": "localhost", "gather_facts": False, "connection": "local",
                                      "tasks": tasks}], env=ansible.results_env(out))
    saved = ansible.saved_results(out, module, proc.stdout + proc.stderr)
    return [saved["r%d" % index] for index in range(len(args_list))]


def crash_looping_pod(core, api, namespace, name):
    """A one-replica Deployment whose pod crash-loops; returns the pod's name once it has restarted."""
    create(api, namespace, deployment_body(name, 1, {"app": name}, pod_annotations={SIM + "behavior": "crashloop"}))
    pods = wait_list(core.list_namespaced_pod,
                     lambda ps: ps and all(any(cs.restart_count for cs in p.status.container_statuses or []) for p in ps),
                     timeout=60, what="the pod of %s restarting" % name, namespace=namespace,
                     label_selector="app=%s" % name)
    return pods[0].metadata.name


def require_stages(context, *stages):
    """Fail at once, saying what to do, on a cluster created before these KWOK stages existed
    (stages are loaded when a cluster is created; the tests reuse a healthy cluster as it is)."""
    import localcluster  # hack/cluster, put on sys.path by conftest
    import pytest

    name = context[len("kwok-"):] if context.startswith("kwok-") else context
    path = os.path.join(localcluster.cluster_dir(name), "kwok.yaml")
    if not os.path.exists(path):
        return
    with open(path) as f:
        loaded = f.read()
    missing = [stage for stage in stages if "name: %s\n" % stage not in loaded]
    if missing:
        pytest.fail("cluster %s was created without the KWOK stage(s) %s of hack/cluster/stages: recreate it "
                    "(make cluster-down cluster-up, or localcluster.py down %s)" % (name, ", ".join(missing), name))


# reportingController of the Events the collection writes on the pods it changes.
CONTROLLER = "triage.k8s"


def our_events(api, namespace, pod):
    """Our Events about the pod, oldest first, listed as event pipelines would: events.k8s.io/v1
    with a field selector on regarding.name. Listed as raw JSON and only ours turned into models:
    the client's EventsV1Event model refuses other components' Events that lack an eventTime."""
    response = client.EventsV1Api(api).list_namespaced_event(
        namespace, field_selector="regarding.name=%s" % pod, _preload_content=False)
    items = [item for item in json.loads(response.data)["items"] if item.get("reportingController") == CONTROLLER]
    events = [api.deserialize(json.dumps(item), "EventsV1Event", None) for item in items]
    return sorted(events, key=lambda e: e.event_time)


def keep_through_release(core, name, namespace):
    """Give a pod the highest deletion cost its ReplicaSet honours, so that after a release (the pod
    matches its owner again, which adopts it and now has one replica too many) the owner deletes
    another replica, not this one; a test that goes on with the released pod needs it."""
    core.patch_namespaced_pod(name, namespace, {"metadata": {"annotations": {
        "controller.kubernetes.io/pod-deletion-cost": "2147483647"}}})


def labels_after_release(core, name, namespace, selector_labels):
    """The labels of a released pod. After release the pod matches its ReplicaSet again, which adopts
    it and may delete it at once as its surplus replica: a 404 then stands for the selector's labels,
    since only a pod whose labels were restored is adopted (and only an adopted pod deleted)."""
    try:
        return core.read_namespaced_pod(name, namespace).metadata.labels or {}
    except client.ApiException as exc:
        if exc.status != 404:
            raise
        return dict(selector_labels)


def ensure_default_service_account(api, namespace, wait=20):
    """The namespace's default ServiceAccount, which bare pods need. kube-controller-manager makes it,
    but right after a test restarted the API server its informers may still be backing off; after
    `wait` seconds the test makes the same object itself (AlreadyExists: the controller won)."""
    core = client.CoreV1Api(api)
    try:
        wait_list(core.list_namespaced_service_account, lambda sas: any(sa.metadata.name == "default" for sa in sas),
                  timeout=wait, what="the default ServiceAccount", namespace=namespace)
        return
    except AssertionError:
        pass
    try:
        core.create_namespaced_service_account(namespace, {"metadata": {"name": "default"}})
    except client.ApiException as exc:
        if exc.status != 409:
            raise
