"""quarantine_cleanup with its API server killed at each of its writes (issue 10, items 3 and 5),
on the dedicated cluster triage-fault: the kube.py test hook holds the module right after a
DELETE got its answer (`pause:`), the test kills the API server, the module goes on and meets
"connection refused" (and, with `drop:`, the answer of that DELETE is lost too). The result's
pods_deleted / pods_unknown / changed / message are checked against what the cluster holds once
its API server is started again, and a re-run converges."""

import datetime

import pytest
from kubernetes import client

from faults import Hook, background
from k8s_helpers import contract_pod_body, contract_policy_body, create, ensure_default_service_account, names_in

CLEANUP = "triage.k8s.quarantine_cleanup"
HOUR = datetime.timedelta(hours=1)
PODS = ["p1", "p2", "p3"]
PARAMS = {"grace_period": 0, "parallelism": 1}  # one delete at a time: the hook's count is the order


def _scenario(api, namespace):
    """Three expired quarantines; p2 is isolated by np-p2, which goes after the pods."""
    # Bare pods need the namespace's default ServiceAccount, which the controller manager adds.
    ensure_default_service_account(api, namespace)
    past = datetime.datetime.now(datetime.timezone.utc) - 3 * HOUR
    uid = None
    for name in PODS:
        pod = create(api, namespace, contract_pod_body(name, past, past, evidence="b",
                                                       network_policy="np-p2" if name == "p2" else None))
        uid = pod.metadata.uid if name == "p2" else uid
    create(api, namespace, contract_policy_body("np-p2", "p2", uid))


@pytest.mark.parametrize("spec, deleted, unknown, policies_unknown", [
    # After the first pod's DELETE: the other two cannot be deleted, nor read again.
    ("pause:DELETE:pods:1", ["p1"], ["p2", "p3"], []),
    # The second DELETE landed, its answer is lost and the API server is gone: p2 is unknown
    # although the cluster no longer has it; p3 is unknown and still there.
    ("pause:DELETE:pods:2;drop:DELETE:pods:2", ["p1"], ["p2", "p3"], []),
    # Every pod went; the policy's DELETE landed and its answer was lost with the API server.
    ("pause:DELETE:networkpolicies:1;drop:DELETE:networkpolicies:1", PODS, [], ["np-p2"]),
], ids=["after-pod-1", "lost-answer-pod-2", "lost-answer-policy"])
def test_apiserver_dies_at_a_write(fault, fault_ansible, fault_namespace, tmp_path, spec, deleted, unknown,
                                   policies_unknown):
    api, namespace = fault.api, fault_namespace
    _scenario(api, namespace)
    hook = Hook(spec, str(tmp_path / "hook"))
    run = background(fault_ansible.module, CLEANUP, dict(PARAMS, namespaces=[namespace]), env=hook.env)
    hook.wait_paused(120, run)
    fault.kill_apiserver()
    hook.resume()
    result = run.result(timeout=300)  # it ends on its own: connection refused is not retried
    fault.start_apiserver()

    assert result["failed"] is True and result["changed"] is True, result
    assert [p["name"] for p in result["pods_deleted"]] == deleted
    assert [p["name"] for p in result["pods_unknown"]] == unknown
    assert [p["name"] for p in result["network_policies_unknown"]] == policies_unknown
    assert result["pods_failed"] == [] and result["network_policies_failed"] == []
    assert result["summary"]["unknown"] == len(unknown)
    msg = result["msg"]
    assert msg.startswith("deleted %d of 3 quarantined pods" % len(deleted)), msg
    assert "%d unknown" % (len(unknown) + len(policies_unknown)) in msg
    assert "Outcome unknown (re-run to find out): " in msg
    for name in unknown:
        assert "pod %s/%s: its DELETE failed" % (namespace, name) in msg
    assert "Deleted: " + ", ".join("%s/%s" % (namespace, n) for n in deleted) in msg
    for entry in result["pods_unknown"] + result["network_policies_unknown"]:
        assert "may or may not be deleted" in entry["error"]

    # What the cluster says: every pod reported deleted is gone; the unknown ones are either.
    left = names_in(api, namespace)
    assert not set(deleted) & set(left), left
    lost = "drop:DELETE:pods:2" in spec
    assert ("p2" in left) is (not lost and "p2" in unknown)
    assert names_in(api, namespace, "NetworkPolicy") == ([] if policies_unknown else ["np-p2"])

    again = fault_ansible.module(CLEANUP, dict(PARAMS, namespaces=[namespace]))
    assert not again.get("failed"), again
    assert sorted(p["name"] for p in again["pods_deleted"]) == sorted(left)
    assert again["changed"] is bool(left or not policies_unknown)
    assert names_in(api, namespace) == [] and names_in(api, namespace, "NetworkPolicy") == []
    third = fault_ansible.module(CLEANUP, dict(PARAMS, namespaces=[namespace]))
    assert third["changed"] is False and third["summary"]["listed"] == 0, third
    assert client.CoreV1Api(api).list_namespaced_pod(namespace).items == []
