"""quarantine_cleanup after a failed delete (issue 10, item 3), on the real local control plane:
a DELETE that landed but whose answer was lost (the kube.py test hook `drop:`) is reported as a
deletion, not a failure; a DELETE the API server really refuses (a ValidatingAdmissionPolicy that
denies it) is a failure with the server's reason, the others are still deleted, the message names
both, and the cleanup role's reports record the deleted pods although the module failed."""

import datetime
import json
import os
import time
import uuid

import yaml
from kubernetes import client

from faults import Hook
from k8s_helpers import contract_pod_body, contract_policy_body, create, names_in, wait_list

CLEANUP = "triage.k8s.quarantine_cleanup"
NOW = datetime.datetime.now(datetime.timezone.utc)
HOUR = datetime.timedelta(hours=1)
PROTECTED = "cleanup-test-protected"


def _expired(api, namespace, names, protected=(), policies=()):
    past = NOW - 3 * HOUR
    uids = {}
    for name in names:
        labels = {PROTECTED: "yes"} if name in protected else None
        body = contract_pod_body(name, past, past, evidence="b", extra_labels=labels,
                                 network_policy=("np-" + name) if name in policies else None)
        uids[name] = create(api, namespace, body).metadata.uid
    for name in policies:
        create(api, namespace, contract_policy_body("np-" + name, name, uids[name]))
    return uids


def _wait_gone(api, namespace, names, timeout=30):
    wait_list(client.CoreV1Api(api).list_namespaced_pod,
              lambda pods: not set(names) & set(p.metadata.name for p in pods),
              timeout=timeout, what="%s to be deleted" % sorted(names), namespace=namespace)


def test_a_delete_whose_answer_was_lost_is_a_deletion(api, namespace, ansible, tmp_path):
    _expired(api, namespace, ["p1", "p2", "p3"], policies=["p3"])
    hook = Hook("drop:DELETE:pods:2;drop:DELETE:networkpolicies:1", str(tmp_path / "hook"))

    result = ansible.module(CLEANUP, {"namespaces": [namespace], "grace_period": 0, "parallelism": 1},
                            env=hook.env)

    assert not result.get("failed") and result["changed"] is True, result
    assert [p["name"] for p in result["pods_deleted"]] == ["p1", "p2", "p3"]
    notes = dict((p["name"], p.get("note")) for p in result["pods_deleted"])
    assert [name for name, note in notes.items() if note] == ["p2"], notes
    assert "the answer to its DELETE was lost" in notes["p2"]
    assert result["pods_failed"] == [] and result["pods_unknown"] == []
    (policy,) = result["network_policies_deleted"]
    assert policy["name"] == "np-p3" and "the answer to its DELETE was lost" in policy["note"]
    assert result["summary"]["deleted"] == 3 and result["summary"]["network_policies_deleted"] == 1
    _wait_gone(api, namespace, ["p1", "p2", "p3"])
    assert names_in(api, namespace, "NetworkPolicy") == []

    again = ansible.module(CLEANUP, {"namespaces": [namespace], "grace_period": 0})
    assert again["changed"] is False and again["summary"]["listed"] == 0


class _DenyDelete(object):
    """A ValidatingAdmissionPolicy (and binding) that denies DELETE of the pods labelled PROTECTED
    in one namespace: the API server itself refuses, as a webhook or policy engine would."""

    def __init__(self, api, namespace):
        self.admission = client.AdmissionregistrationV1Api(api)
        self.core = client.CoreV1Api(api)
        self.name = "triage-test-deny-%s" % uuid.uuid4().hex[:6]
        self.admission.create_validating_admission_policy({
            "metadata": {"name": self.name},
            "spec": {"failurePolicy": "Fail",
                     "matchConstraints": {
                         "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                         "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["DELETE"],
                                            "resources": ["pods"]}]},
                     "validations": [{"expression": "!has(oldObject.metadata.labels) || !('%s' in "
                                                    "oldObject.metadata.labels)" % PROTECTED,
                                      "message": "protected pod: deletes are denied by the test's policy",
                                      "reason": "Forbidden"}]}})
        self.admission.create_validating_admission_policy_binding({
            "metadata": {"name": self.name},
            "spec": {"policyName": self.name, "validationActions": ["Deny"]}})

    def wait_effective(self, namespace, pod, timeout=30):
        """The policy reaches the admission chain asynchronously: wait until a dry-run delete is denied."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.core.delete_namespaced_pod(pod, namespace, dry_run="All")
            except client.ApiException as exc:
                if exc.status in (403, 422):
                    return
                raise
            if time.monotonic() >= deadline:
                raise AssertionError("the ValidatingAdmissionPolicy %s did not take effect in %ss" % (self.name, timeout))
            time.sleep(0.2)

    def delete(self):
        for call in (self.admission.delete_validating_admission_policy_binding,
                     self.admission.delete_validating_admission_policy):
            try:
                call(self.name)
            except client.ApiException:
                pass


def test_a_refused_delete_is_a_failure_and_the_rest_is_deleted(api, namespace, ansible, kubeconfig, context,
                                                               tmp_path):
    _expired(api, namespace, ["a-ok", "b-denied", "c-ok"], protected=["b-denied"], policies=["b-denied"])
    deny = _DenyDelete(api, namespace)
    try:
        deny.wait_effective(namespace, "b-denied")

        result = ansible.module(CLEANUP, {"namespaces": [namespace], "grace_period": 0})

        assert result["failed"] is True and result["changed"] is True, result
        assert [p["name"] for p in result["pods_deleted"]] == ["a-ok", "c-ok"]
        (failed,) = result["pods_failed"]
        assert failed["name"] == "b-denied" and "protected pod: deletes are denied" in failed["error"], failed
        assert result["pods_unknown"] == []
        msg = result["msg"]
        assert msg.startswith("deleted 2 of 3 quarantined pods and 0 NetworkPolicies; 0 kept, 1 failed"), msg
        assert "Deleted: %s/a-ok, %s/c-ok" % (namespace, namespace) in msg
        assert "Not deleted: pod %s/b-denied: " % namespace in msg
        # Its pod is still there, isolated: its NetworkPolicy stays too.
        assert result["network_policies_deleted"] == [] and names_in(api, namespace, "NetworkPolicy") == ["np-b-denied"]
        _wait_gone(api, namespace, ["a-ok", "c-ok"])
        assert names_in(api, namespace) == ["b-denied"]

        # The role: the cluster fails, its report still records what was deleted, and the last
        # line of the run says why.
        _expired(api, namespace, ["d-ok"])
        inventory = tmp_path / "clusters.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": {
            "cluster-a": {"k8s_kubeconfig": kubeconfig, "k8s_context": context}}}}))
        reports = tmp_path / "reports"
        proc = ansible.playbook(os.path.join(os.path.dirname(__file__), "..", "..", "playbooks", "cleanup.yml"),
                                inventory=str(inventory),
                                extra_vars={"target": "all", "namespaces": [namespace], "grace_period": 0,
                                            "report_dir": str(reports)})
        out = proc.stdout
        assert proc.returncode != 0, out
        last = [line for line in out.splitlines() if "cleanup failed on" in line][-1]
        assert "cleanup failed on 1 of 1 cluster(s): %s (deleted 1 of 2 quarantined pods" % context in last, last
        assert "Not deleted: pod %s/b-denied: Forbidden: an admission check of the API server refused to delete pods" % namespace in last, last
        (run_dir,) = list(reports.iterdir())
        report = json.loads((run_dir / ("%s.json" % context)).read_text())
        assert report["status"] == "failed" and report["changed"] is True
        assert [p["name"] for p in report["pods_deleted"]] == ["d-ok"]
        assert [p["name"] for p in report["pods_failed"]] == ["b-denied"]
        assert "| %s | d-ok |" % namespace in (run_dir / ("%s.md" % context)).read_text()
    finally:
        deny.delete()
