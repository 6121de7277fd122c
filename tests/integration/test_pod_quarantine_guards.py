"""pod_quarantine refusing on the real local control plane: the guards, bad input, RBAC and
configuration errors (each with a clear message and nothing changed), and a wait that times out."""

import uuid

import yaml
from kubernetes import client

from k8s_helpers import (
    bare_pod, create, deployment_body, pod_ready, pod_snapshot, quarantine, replica_set_body, service_body,
    wait_in_slices, wait_list, wait_pod, wait_ready_pods,
)

QUARANTINED = "triage.k8s/quarantined"


def _refused(result):
    assert result.get("failed") is True, result
    assert result["changed"] is False, result
    # ansible-core 2.19 puts "(traceback unavailable)" in every fail_json without an exception.
    assert "Traceback" not in result["msg"] and result.get("exception") in (None, "(traceback unavailable)"), result
    return result["msg"]


def _deployment(core, api, namespace, replicas, **kwargs):
    labels = {"app": "web"}
    create(api, namespace, deployment_body("web", replicas, labels, **kwargs))
    create(api, namespace, service_body("web", labels))
    return sorted(p.metadata.name for p in wait_ready_pods(core, namespace, replicas, "app=web"))


def _quarantined(core, namespace):
    return sorted(p.metadata.name for p in core.list_namespaced_pod(
        namespace, label_selector="%s=true" % QUARANTINED).items)


# -- guards ----------------------------------------------------------------------------------

def test_max_quarantined_per_owner(core, api, namespace, ansible):
    first, second = _deployment(core, api, namespace, 3)[:2]
    assert quarantine(ansible, first, namespace)["changed"] is True
    before = pod_snapshot(core, namespace, second)

    msg = _refused(quarantine(ansible, second, namespace))

    assert "already has 1 quarantined pod(s) (%s)" % first in msg, msg
    assert "max_quarantined_per_owner=1" in msg and "orphan a new pod on every crash" in msg
    assert pod_snapshot(core, namespace, second) == before
    assert _quarantined(core, namespace) == [first]

    raised = quarantine(ansible, second, namespace, max_quarantined_per_owner=2)

    assert raised["changed"] is True and not raised.get("failed"), raised
    assert _quarantined(core, namespace) == sorted([first, second])


def test_the_last_ready_replica_is_refused_unless_forced(core, api, namespace, ansible):
    (only,) = _deployment(core, api, namespace, 1)
    before = pod_snapshot(core, namespace, only)

    msg = _refused(quarantine(ansible, only, namespace))

    assert "is the only Ready pod of ReplicaSet web-" in msg, msg
    assert "Service(s) web" in msg and "until a replacement is Ready" in msg and "force: true" in msg
    assert pod_snapshot(core, namespace, only) == before

    forced = quarantine(ansible, only, namespace, force=True, wait=True, wait_timeout=60)

    assert forced["changed"] is True and not forced.get("failed"), forced
    assert forced["replacement"]["ready"] is True and forced["endpoints_removed"]["verified"] is True


def test_the_last_ready_replica_refusal_names_the_unschedulable_replacement(core, api, namespace, ansible):
    """Two replicas pinned to kwok-node-0, at most one per node: the second cannot be placed, so the
    owner could not place a replacement either."""
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    create(api, namespace, deployment_body("web", 2, {"app": "web"}, node_selector={
        "kubernetes.io/hostname": "kwok-node-0"}, affinity=anti))
    create(api, namespace, service_body("web", {"app": "web"}))

    def placed_and_stuck(pods):
        stuck = [p for p in pods if any(c.type == "PodScheduled" and c.reason == "Unschedulable"
                                        for c in p.status.conditions or [])]
        return len(pods) == 2 and len(stuck) == 1 and len([p for p in pods if pod_ready(p)]) == 1

    pods = wait_list(core.list_namespaced_pod, placed_and_stuck, timeout=60, what="one Ready, one Unschedulable",
                     namespace=namespace, label_selector="app=web")
    ready = [p.metadata.name for p in pods if pod_ready(p)][0]
    stuck = [p.metadata.name for p in pods if not pod_ready(p)][0]
    before = pod_snapshot(core, namespace, ready)

    result = quarantine(ansible, ready, namespace)

    msg = _refused(result)
    assert "cannot place one now" in msg and stuck in msg and "unschedulable" in msg, msg
    assert result["unschedulable_pods"] == [stuck]
    assert pod_snapshot(core, namespace, ready) == before


def test_a_bare_pod_that_is_its_services_only_ready_endpoint_is_refused_unless_forced(core, api, namespace, ansible):
    core.create_namespaced_pod(namespace, bare_pod("solo", labels={"app": "solo"}))
    create(api, namespace, service_body("solo", {"app": "solo"}))
    wait_ready_pods(core, namespace, 1, "app=solo")
    before = pod_snapshot(core, namespace, "solo")

    result = quarantine(ansible, "solo", namespace)

    msg = _refused(result)
    assert "only Ready pod behind Service(s) solo" in msg and "nothing replaces a bare pod" in msg, msg
    assert result["services_left_without_endpoints"] == ["solo"]
    assert pod_snapshot(core, namespace, "solo") == before
    assert quarantine(ansible, "solo", namespace, force=True)["changed"] is True


# -- bad input: a clear message and nothing changed ------------------------------------------

def test_missing_pod_and_missing_namespace(core, namespace, ansible, context):
    msg = _refused(quarantine(ansible, "ghost", namespace))
    assert msg.startswith('pod "ghost" not found in namespace "%s" on context \'%s\' (https://' % (namespace, context)), msg
    missing = "nowhere-%s" % uuid.uuid4().hex[:6]
    msg = _refused(quarantine(ansible, "ghost", missing))
    assert msg.startswith('namespace "%s" not found' % missing) and "check namespace and context" in msg, msg
    released = quarantine(ansible, "ghost", namespace, state="released")
    assert 'pod "ghost" not found' in _refused(released)


def test_a_terminating_pod_is_refused(core, api, namespace, ansible):
    pod = bare_pod("leaving", labels={"app": "leaving"})
    pod.metadata.finalizers = ["example.com/hold"]
    core.create_namespaced_pod(namespace, pod)
    create(api, namespace, service_body("leaving", {"app": "leaving"}))
    wait_ready_pods(core, namespace, 1, "app=leaving")
    core.delete_namespaced_pod("leaving", namespace)
    try:
        wait_pod(core, namespace, "leaving", lambda p: p.metadata.deletion_timestamp is not None, "deletionTimestamp")
        before = pod_snapshot(core, namespace, "leaving")

        msg = _refused(quarantine(ansible, "leaving", namespace, force=True))

        assert 'pod "leaving" is terminating' in msg and "nothing left to quarantine" in msg, msg
        assert pod_snapshot(core, namespace, "leaving") == before
    finally:
        core.patch_namespaced_pod("leaving", namespace, {"metadata": {"finalizers": None}})


def test_invalid_parameters_are_refused_before_anything_is_read(core, api, namespace, ansible):
    victim = _deployment(core, api, namespace, 2)[0]
    before = pod_snapshot(core, namespace, victim)
    cases = [
        ({"ttl": "1 day"}, "ttl: invalid duration '1 day'"),
        ({"ttl": "0s"}, "must be greater than zero"),
        ({"strategy": "labels", "labels": {"bad key!": "x"}}, "label key 'bad key!' is invalid"),
        ({"strategy": "labels", "labels": {"app": "-web"}}, "label value '-web' is invalid"),
        ({"strategy": "labels", "labels": {"app": "x" * 64}}, "the limit is 63"),
        ({"labels": {"enabled": "false"}}, "labels is only used with strategy: labels"),
        ({"strategy": "labels"}, "strategy is labels but all of the following are missing: labels"),
        ({"wait_timeout": 0}, "wait_timeout must be a positive number"),
        ({"network_allow": {"cidrs": ["192.0.2.0/24"]}}, "network_allow only applies with network_isolation: true"),
    ]
    for params, expected in cases:
        msg = _refused(quarantine(ansible, victim, namespace, **params))
        assert expected in msg, (params, msg)
    assert pod_snapshot(core, namespace, victim) == before


def test_a_bare_pod_no_service_selects_has_nothing_to_leave(core, namespace, ansible):
    core.create_namespaced_pod(namespace, bare_pod("lonely", labels={"app": "lonely"}))
    wait_ready_pods(core, namespace, 1, "app=lonely")
    before = pod_snapshot(core, namespace, "lonely")

    msg = _refused(quarantine(ansible, "lonely", namespace))

    assert "no Service selects the pod and it has no owner: nothing to take it out of" in msg, msg
    assert pod_snapshot(core, namespace, "lonely") == before


def test_forbidden_names_the_verb_and_resource(core, api, namespace, ansible, kubeconfig, context, tmp_path):
    """A ServiceAccount token bound to a read-only Role, given as host/api_key/ca_cert."""
    victim = _deployment(core, api, namespace, 2)[0]
    rbac = client.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "viewer"}})
    rbac.create_namespaced_role(namespace, {"metadata": {"name": "read-only"}, "rules": [
        {"apiGroups": ["", "apps", "discovery.k8s.io", "networking.k8s.io"],
         "resources": ["pods", "services", "replicasets", "endpointslices", "networkpolicies"],
         "verbs": ["get", "list", "watch"]},
        # The PDB guard lists the namespace's budgets before any write.
        {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": ["list"]}]})
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "viewer-read-only"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-only"},
        "subjects": [{"kind": "ServiceAccount", "name": "viewer", "namespace": namespace}]})
    token = core.create_namespaced_service_account_token("viewer", namespace, {"spec": {
        "audiences": [], "expirationSeconds": 600}}).status.token
    with open(kubeconfig) as f:
        config = yaml.safe_load(f)
    cluster_name = [c["context"]["cluster"] for c in config["contexts"] if c["name"] == context][0]
    cluster = [c["cluster"] for c in config["clusters"] if c["name"] == cluster_name][0]
    before = pod_snapshot(core, namespace, victim)
    auth = {"host": cluster["server"], "api_key": token, "ca_cert": cluster["certificate-authority"]}

    result = ansible.module("triage.k8s.pod_quarantine", dict(auth, name=victim, namespace=namespace), auth=False)

    msg = _refused(result)
    assert msg.startswith('Forbidden: cannot patch pods in namespace "%s"' % namespace), msg
    assert 'grant the "patch" verb on "pods"' in msg
    assert "system:serviceaccount:%s:viewer" % namespace in msg
    assert token not in str(result)
    assert pod_snapshot(core, namespace, victim) == before

    # Allowed to make NetworkPolicies but not to patch pods: the policy made before the refused
    # PATCH is deleted again, so nothing is left behind.
    rbac.create_namespaced_role(namespace, {"metadata": {"name": "policies"}, "rules": [
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["create", "delete"]}]})
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "viewer-policies"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "policies"},
        "subjects": [{"kind": "ServiceAccount", "name": "viewer", "namespace": namespace}]})
    isolated = ansible.module("triage.k8s.pod_quarantine", dict(auth, name=victim, namespace=namespace,
                                                                network_isolation=True), auth=False)

    msg = _refused(isolated)
    assert msg.startswith('Forbidden: cannot patch pods in namespace "%s"' % namespace), msg
    assert pod_snapshot(core, namespace, victim) == before
    assert client.NetworkingV1Api(api).list_namespaced_network_policy(namespace).items == []


def test_a_wrong_context_lists_the_contexts(namespace, ansible, clusters):
    msg = _refused(quarantine(ansible, "web", namespace, context="kwok-triage-nope"))
    assert "context 'kwok-triage-nope' not found" in msg, msg
    for name in clusters["contexts"]:
        assert name in msg


# -- a wait that times out -------------------------------------------------------------------

def test_wait_timeout_says_what_was_and_was_not_reached(core, api, namespace, ansible):
    """A ReplicaSet whose template (changed after its pods are Ready) makes new pods stay Pending:
    a ReplicaSet, unlike a Deployment, does not roll its existing pods when the template changes."""
    apps = client.AppsV1Api(api)
    labels = {"app": "web"}
    create(api, namespace, replica_set_body("web", 2, labels))
    create(api, namespace, service_body("web", labels))
    victim = sorted(p.metadata.name for p in wait_ready_pods(core, namespace, 2, "app=web"))[0]
    wait_in_slices(client.DiscoveryV1Api(api), namespace, "web", [victim])
    apps.patch_namespaced_replica_set("web", namespace, {"spec": {"template": {"metadata": {"annotations": {
        "sim.triage.k8s/behavior": "pending"}}}}})

    result = quarantine(ansible, victim, namespace, wait=True, wait_timeout=8)

    assert result.get("failed") is True and result["changed"] is True, result
    msg = result["msg"]
    assert msg.startswith("timed out after 8s waiting"), msg
    assert "reached: the pod is quarantined (labels and annotations written)" in msg
    assert "it left the EndpointSlices of every Service it was in (web)" in msg
    assert "not reached: no replacement from ReplicaSet web is Ready yet (web-" in msg and "Pending" in msg, msg
    assert result["endpoints_removed"]["verified"] is True
    assert result["replacement"]["ready"] is False and len(result["replacement"]["pods"]) == 1
    pending = result["replacement"]["pods"][0]["name"]
    assert core.read_namespaced_pod(victim, namespace).metadata.labels[QUARANTINED] == "true"

    # Running it again waits again, for what the first run started, and writes nothing.
    again = quarantine(ansible, victim, namespace, wait=True, wait_timeout=2)
    assert again.get("failed") is True and again["changed"] is False
    assert "labels and annotations already there" in again["msg"] and pending in again["msg"], again["msg"]

    # Once the replacement can start, the re-run succeeds without changing anything.
    core.patch_namespaced_pod(pending, namespace, {"metadata": {"annotations": {"sim.triage.k8s/behavior": None}}})
    done = quarantine(ansible, victim, namespace, wait=True, wait_timeout=30)
    assert done["changed"] is False and not done.get("failed"), done
    assert done["replacement"]["ready"] is True and [p["name"] for p in done["replacement"]["pods"]] == [pending]
