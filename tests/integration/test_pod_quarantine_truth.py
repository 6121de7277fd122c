"""pod_quarantine tells the truth under races and faults (issue 10): a release racing a quarantine
never leaves a pod marked isolated without its NetworkPolicy; a missing recorded policy is
repaired; a release that could not finish changes nothing; a failure after a write says the write
landed. Races are made deterministic with the test hook of kube.py (faults.Hook); faults kill the
API server of the dedicated cluster triage-fault."""


from kubernetes import client

from faults import Hook, background
from k8s_helpers import (SIM, create, deployment_body, pod_snapshot, serving_deployment, token_kubeconfig,
                         wait_list)

QUARANTINED = "triage.k8s/quarantined"
QUARANTINE_ID = "triage.k8s/quarantine-id"
POLICY_ANNOTATION = "triage.k8s/network-policy"


def _policy(api, namespace, name):
    try:
        return client.NetworkingV1Api(api).read_namespaced_network_policy(name, namespace)
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _quarantine(ansible, pod, namespace, **params):
    return ansible.module("triage.k8s.pod_quarantine", dict(name=pod, namespace=namespace, **params))


# The Service selects a label the Deployment does not, so scope traffic_only can take a pod out of
# traffic while it stays in its ReplicaSet.
FRONT = {"labels": {"app": "web", "tier": "front"}, "selector": {"matchLabels": {"app": "web"}},
         "service_selector": {"app": "web", "tier": "front"}}


def _isolated_pod(core, api, namespace, ansible):
    """A pod of Deployment web quarantined with network isolation: (pod name, policy name, policy uid)."""
    pod = serving_deployment(core, api, namespace, replicas=2, **FRONT)[0]
    # traffic_only: the pod stays in its ReplicaSet, so after a release the ReplicaSet has no
    # surplus pod to delete (it could pick this one, and the test would lose its subject).
    result = _quarantine(ansible, pod, namespace, network_isolation=True, reason="first", scope="traffic_only")
    assert result["changed"] is True and not result.get("failed"), result
    policy = result["network_policy"]
    return pod, policy, _policy(api, namespace, policy).metadata.uid


def test_a_release_racing_a_quarantine_leaves_the_new_isolation_in_place(core, api, namespace, ansible, tmp_path):
    pod, policy, first_uid = _isolated_pod(core, api, namespace, ansible)

    # The release is held right after its PATCH landed; a new isolated quarantine runs meanwhile.
    hook = Hook("pause:PATCH:pods:1", str(tmp_path / "hook"))
    release = background(ansible.module, "triage.k8s.pod_quarantine",
                         {"name": pod, "namespace": namespace, "state": "released"}, env=hook.env)
    hook.wait_paused(120, release)
    again = _quarantine(ansible, pod, namespace, network_isolation=True, reason="second", scope="traffic_only")
    assert again["changed"] is True and not again.get("failed"), again
    hook.resume()
    released = release.result(timeout=300)

    assert released["changed"] is True and not released.get("failed"), released
    assert released["network_policy_deleted"] is False, released  # the newer quarantine's policy
    live = pod_snapshot(core, namespace, pod)
    assert live["labels"].get(QUARANTINED) == "true"
    assert live["annotations"].get(POLICY_ANNOTATION) == policy
    now = _policy(api, namespace, policy)
    assert now is not None and now.metadata.uid != first_uid
    assert now.spec.pod_selector.match_labels == {QUARANTINE_ID: live["labels"][QUARANTINE_ID]}
    rerun = _quarantine(ansible, pod, namespace, network_isolation=True, reason="second", scope="traffic_only")
    assert rerun["changed"] is False and not rerun.get("failed"), rerun


def test_a_missing_recorded_policy_is_created_again_by_a_rerun(core, api, namespace, ansible):
    pod, policy, _uid = _isolated_pod(core, api, namespace, ansible)
    client.NetworkingV1Api(api).delete_namespaced_network_policy(policy, namespace)

    checked = ansible.module("triage.k8s.pod_quarantine", dict(name=pod, namespace=namespace, network_isolation=True),
                             check=True)
    assert checked["changed"] is True and "would be created again" in checked["msg"], checked
    assert _policy(api, namespace, policy) is None

    repaired = _quarantine(ansible, pod, namespace, network_isolation=True)
    assert repaired["changed"] is True and repaired["network_policy_repaired"] == policy, repaired
    assert "was missing" in repaired["msg"]
    assert _policy(api, namespace, policy) is not None
    assert _quarantine(ansible, pod, namespace, network_isolation=True)["changed"] is False


def test_a_release_that_may_not_delete_the_policy_changes_nothing(core, api, namespace, ansible, identities):
    pod, policy, uid = _isolated_pod(core, api, namespace, ansible)
    identity = identities("quarantine", namespace, without=("networkpolicies", "delete"))
    before = pod_snapshot(core, namespace, pod)
    kubeconfig = ansible.tmpdir + "/limited.kubeconfig"
    with open(kubeconfig, "w") as f:
        f.write(token_kubeconfig(api, identity.token(), "limited"))

    result = ansible.module("triage.k8s.pod_quarantine", {"name": pod, "namespace": namespace, "state": "released",
                                                          "kubeconfig": kubeconfig}, auth=False)

    assert result.get("failed") and result["changed"] is False, result
    assert 'grant the "delete" verb on "networkpolicies"' in result["msg"], result["msg"]
    assert "Nothing was changed" in result["msg"]
    assert pod_snapshot(core, namespace, pod) == before
    assert _policy(api, namespace, policy).metadata.uid == uid


def test_a_forbidden_watch_after_the_patch_reports_the_quarantine(core, api, namespace, ansible, identities):
    # Pods that never start: the replacement is never Ready, so the wait must watch pods.
    create(api, namespace, deployment_body("slow", 1, {"app": "slow"}, pod_annotations={SIM + "behavior": "pending"}))
    pod = wait_list(core.list_namespaced_pod, lambda ps: len(ps) == 1 and ps[0].spec.node_name, timeout=60,
                    what="the pod scheduled", namespace=namespace)[0].metadata.name
    identity = identities("quarantine", namespace, without=("pods", "watch"))
    kubeconfig = ansible.tmpdir + "/nowatch.kubeconfig"
    with open(kubeconfig, "w") as f:
        f.write(token_kubeconfig(api, identity.token(), "nowatch"))

    result = ansible.module("triage.k8s.pod_quarantine", {"name": pod, "namespace": namespace, "wait": True,
                                                          "kubeconfig": kubeconfig}, auth=False)

    assert result.get("failed") and result["changed"] is True, result
    assert result["msg"].startswith("pod %s is quarantined (labels and annotations written by this run" % pod)
    assert 'grant the "watch" verb on "pods"' in result["msg"], result["msg"]
    assert pod_snapshot(core, namespace, pod)["labels"].get(QUARANTINED) == "true"


# -- the API server dies or loses a response at a write (cluster triage-fault) ------------------

def _killed_at(fault, fault_ansible, spec, args, tmp_path):
    """Run pod_quarantine held at `spec`, kill the API server while it is held, let it go on (it
    meets a refused connection), start the API server again; the module's result."""
    hook = Hook(spec, str(tmp_path / "hook"))
    run = background(fault_ansible.module, "triage.k8s.pod_quarantine", args, env=hook.env)
    hook.wait_paused(120, run)
    fault.kill_apiserver()
    hook.resume()
    result = run.result(timeout=300)
    fault.start_apiserver()
    return result


def _fault_pod(fault, fault_namespace):
    core = client.CoreV1Api(fault.api)
    return core, serving_deployment(core, fault.api, fault_namespace, replicas=2, **FRONT)[0]


def test_apiserver_dies_during_the_wait_after_the_patch_landed(fault, fault_ansible, fault_namespace, tmp_path):
    core, pod = _fault_pod(fault, fault_namespace)
    result = _killed_at(fault, fault_ansible, "pause:PATCH:pods:1",
                        {"name": pod, "namespace": fault_namespace, "wait": True, "wait_timeout": 60}, tmp_path)

    assert result.get("failed") and result["changed"] is True, result
    assert "is quarantined (labels and annotations written by this run" in result["msg"], result["msg"]
    assert "then waiting failed" in result["msg"] and "connection refused" in result["msg"], result["msg"]
    assert pod_snapshot(core, fault_namespace, pod)["labels"].get(QUARANTINED) == "true"
    rerun = fault_ansible.module("triage.k8s.pod_quarantine", {"name": pod, "namespace": fault_namespace})
    assert rerun["changed"] is False and not rerun.get("failed"), rerun


def test_a_lost_patch_response_is_found_to_be_our_write(fault, fault_ansible, fault_namespace, tmp_path):
    core, pod = _fault_pod(fault, fault_namespace)
    hook = Hook("drop:PATCH:pods:1", str(tmp_path / "hook"))

    result = fault_ansible.module("triage.k8s.pod_quarantine",
                                  {"name": pod, "namespace": fault_namespace, "network_isolation": True}, env=hook.env)

    assert result["changed"] is True and not result.get("failed"), result
    assert "delete it by hand" not in str(result)
    policy = result["network_policy"]
    assert _policy(fault.api, fault_namespace, policy) is not None
    live = pod_snapshot(core, fault_namespace, pod)
    assert live["labels"].get(QUARANTINED) == "true" and live["annotations"][POLICY_ANNOTATION] == policy


def test_apiserver_dies_between_the_policy_and_the_patch(fault, fault_ansible, fault_namespace, tmp_path):
    core, pod = _fault_pod(fault, fault_namespace)
    before = pod_snapshot(core, fault_namespace, pod)
    result = _killed_at(fault, fault_ansible, "pause:POST:networkpolicies:1",
                        {"name": pod, "namespace": fault_namespace, "network_isolation": True}, tmp_path)

    # The policy landed; the pod was never patched. The result says both, and keeps changed true.
    assert result.get("failed") and result["changed"] is True, result
    assert "could not tell whether the quarantine of pod %s landed" % pod in result["msg"], result["msg"]
    assert "is kept" in result["msg"]
    assert pod_snapshot(core, fault_namespace, pod) == before
    rerun = fault_ansible.module("triage.k8s.pod_quarantine",
                                 {"name": pod, "namespace": fault_namespace, "network_isolation": True})
    assert rerun["changed"] is True and not rerun.get("failed"), rerun
    assert _policy(fault.api, fault_namespace, rerun["network_policy"]) is not None


def test_apiserver_dies_after_the_release_patch(fault, fault_ansible, fault_namespace, tmp_path):
    core, pod = _fault_pod(fault, fault_namespace)
    first = fault_ansible.module("triage.k8s.pod_quarantine", {"name": pod, "namespace": fault_namespace,
                                                               "network_isolation": True, "scope": "traffic_only"})
    assert first["changed"] is True, first
    result = _killed_at(fault, fault_ansible, "pause:PATCH:pods:1",
                        {"name": pod, "namespace": fault_namespace, "state": "released"}, tmp_path)

    assert result.get("failed") and result["changed"] is True, result
    assert result["msg"].startswith("pod %s is released" % pod), result["msg"]
    assert "quarantine_cleanup deletes it as an orphan" in result["msg"]
    live = pod_snapshot(core, fault_namespace, pod)
    assert QUARANTINED not in live["labels"]
    # The release is done; a re-run has nothing left to do on the pod.
    again = fault_ansible.module("triage.k8s.pod_quarantine",
                                 {"name": pod, "namespace": fault_namespace, "state": "released"})
    assert again["changed"] is False and not again.get("failed"), again


def test_the_loser_of_a_race_on_the_same_pod_reports_already_quarantined(core, api, namespace, ansible, tmp_path):
    # The loser has read the pod (not quarantined yet) when the winner quarantines it; it then
    # finds the pod among the owner's quarantined pods and its PATCH conflicts.
    pod = serving_deployment(core, api, namespace, replicas=3)[0]
    hook = Hook("pause:GET:pods:1", str(tmp_path / "hook"))
    loser = background(ansible.module, "triage.k8s.pod_quarantine",
                       {"name": pod, "namespace": namespace, "network_isolation": True}, env=hook.env)
    hook.wait_paused(120, loser)
    winner = _quarantine(ansible, pod, namespace, network_isolation=True)
    assert winner["changed"] is True and not winner.get("failed"), winner
    policy_uid = _policy(api, namespace, winner["network_policy"]).metadata.uid
    hook.resume()
    lost = loser.result(timeout=300)

    assert not lost.get("failed") and lost["changed"] is False, lost
    assert "already quarantined" in lost["msg"], lost["msg"]
    assert _policy(api, namespace, winner["network_policy"]).metadata.uid == policy_uid  # not replaced


def test_a_wait_with_no_replacement_created_points_at_the_controller_manager(core, api, namespace, ansible):
    # A ResourceQuota full with the Deployment's pods: the ReplicaSet cannot create a replacement.
    names = serving_deployment(core, api, namespace, replicas=2, **FRONT)
    core.create_namespaced_resource_quota(namespace, {"metadata": {"name": "full"}, "spec": {"hard": {"pods": "2"}}})
    wait_list(core.list_namespaced_resource_quota, lambda qs: bool(qs) and (qs[0].status.used or {}).get("pods") == "2",
              timeout=60, what="the quota counting the pods", namespace=namespace)

    result = _quarantine(ansible, names[0], namespace, wait=True, wait_timeout=8)

    assert result.get("failed") and result["changed"] is True, result
    assert result["msg"].startswith("timed out after 8s waiting"), result["msg"]
    assert "created no replacement at all: is kube-controller-manager running" in result["msg"], result["msg"]
    assert result["replacement"]["pods"] == []
