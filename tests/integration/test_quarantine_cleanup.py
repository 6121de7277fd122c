"""quarantine_cleanup, the cleanup role and playbooks/cleanup.yml on the real local control plane.

Quarantined pods are created directly with the contract label and annotations (docs/contract.md):
expired and not, with and without evidence, released, and look-alikes. Every module call is
limited to the test's namespace: the clusters are shared with other tests."""

import datetime
import json
import os
import time

import yaml
from kubernetes import client, config

from ansible_collections.triage.k8s.plugins.module_utils._cleanup import decide as cleanup_decide
from ansible_collections.triage.k8s.plugins.module_utils._cleanup import run as cleanup_run
from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import build_api_client
from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import Kube
from k8s_helpers import (
    contract_policy_body, contract_pod_body, create, names_in, pod_ready, quarantine, wait_list, wait_ready_pods,
)

CLEANUP = "triage.k8s.quarantine_cleanup"
NOW = datetime.datetime.now(datetime.timezone.utc)
HOUR = datetime.timedelta(hours=1)


def _pods(api, namespace, bodies):
    """Create the pods; return {name: uid}."""
    return dict((b["metadata"]["name"], create(api, namespace, b).metadata.uid) for b in bodies)


def _wait_gone(api, namespace, names, timeout=30):
    core = client.CoreV1Api(api)
    wait_list(core.list_namespaced_pod, lambda pods: not set(names) & set(p.metadata.name for p in pods),
              timeout=timeout, what="%s to be deleted" % sorted(names), namespace=namespace)


def _scenario(api, namespace):
    """Every kind of pod and NetworkPolicy cleanup must tell apart."""
    past, recent = NOW - 3 * HOUR, NOW - HOUR
    uids = _pods(api, namespace, [
        contract_pod_body("expired", past, recent, evidence="bundle-expired"),
        contract_pod_body("expired-isolated", past, recent, evidence="bundle-iso", network_policy="np-isolated"),
        contract_pod_body("expired-no-evidence", past, recent),
        contract_pod_body("future", past, NOW + HOUR, evidence="bundle-future"),
        contract_pod_body("no-ttl", past, None, evidence="bundle-nottl"),
        # Released: label and annotations gone, evidence kept (what release leaves).
        contract_pod_body("released", None, None, evidence="bundle-released", label=False),
        # Look-alikes: the label without the annotations, and the annotations without the label.
        contract_pod_body("label-only", None, None, evidence="x"),
        contract_pod_body("annotations-only", past, recent, evidence="bundle-ann", label=False),
    ])
    for body in (contract_policy_body("np-isolated", "expired-isolated", uids["expired-isolated"]),
                 contract_policy_body("np-orphan", "gone-pod", "0000-gone"),
                 contract_policy_body("np-released", "released", uids["released"]),
                 contract_policy_body("np-foreign", "expired", uids["expired"], ours=False)):
        create(api, namespace, body)
    return uids


KEPT_PODS = ["annotations-only", "expired-no-evidence", "future", "label-only", "no-ttl", "released"]


def test_deletes_exactly_the_expired_pods_and_their_policies(api, namespace, ansible):
    _scenario(api, namespace)

    result = ansible.module(CLEANUP, {"namespaces": [namespace], "grace_period": 0})

    assert result["changed"] is True and not result.get("failed"), result
    assert [p["name"] for p in result["pods_deleted"]] == ["expired", "expired-isolated"]
    assert all(p["reevaluated"] is False for p in result["pods_deleted"])
    assert result["pods_deleted"][0]["evidence"] == "bundle-expired"
    assert sorted(p["name"] for p in result["network_policies_deleted"]) == ["np-isolated", "np-orphan"]
    why = dict((p["name"], p["why"]) for p in result["pods_skipped"])
    assert sorted(why) == ["expired-no-evidence", "future", "label-only", "no-ttl"]
    assert "no evidence was collected" in why["expired-no-evidence"]
    assert why["future"].startswith("not expired") and why["no-ttl"].startswith("no expiry")
    assert why["label-only"].startswith("look-alike")
    assert result["summary"]["listed"] == 6 and result["pods_failed"] == []

    _wait_gone(api, namespace, ["expired", "expired-isolated"])
    assert names_in(api, namespace) == KEPT_PODS
    assert names_in(api, namespace, "NetworkPolicy") == ["np-foreign", "np-released"]

    again = ansible.module(CLEANUP, {"namespaces": [namespace], "grace_period": 0})
    assert again["changed"] is False and again["pods_deleted"] == [] and again["network_policies_deleted"] == []


def test_check_mode_lists_what_would_go_and_deletes_nothing(api, namespace, ansible):
    _scenario(api, namespace)
    pods, policies = names_in(api, namespace), names_in(api, namespace, "NetworkPolicy")

    result = ansible.module(CLEANUP, {"namespaces": [namespace]}, check=True)

    assert result["changed"] is True and result["msg"].startswith("would delete 2 of 6"), result
    assert [p["name"] for p in result["pods_deleted"]] == ["expired", "expired-isolated"]
    assert all(p["why"].startswith("expired 1h") for p in result["pods_deleted"])
    assert sorted(p["name"] for p in result["network_policies_deleted"]) == ["np-isolated", "np-orphan"]
    assert (names_in(api, namespace), names_in(api, namespace, "NetworkPolicy")) == (pods, policies)


def test_max_deletions_stops_before_any_deletion(api, namespace, ansible):
    past = NOW - 3 * HOUR
    _pods(api, namespace, [contract_pod_body("exp-%d" % i, past, past, evidence="b") for i in range(3)])

    result = ansible.module(CLEANUP, {"namespaces": [namespace], "max_deletions": 2, "grace_period": 0})

    assert result["failed"] is True and result["changed"] is False
    assert "max_deletions is 2 but 3 pods would be deleted (%s (3))" % namespace in result["msg"]
    assert "nothing was deleted" in result["msg"] and result["would_delete_count"] == 3
    assert names_in(api, namespace) == ["exp-0", "exp-1", "exp-2"]


def test_bad_parameters_fail_before_anything_is_deleted(api, namespace, ansible):
    past = NOW - 3 * HOUR
    _pods(api, namespace, [contract_pod_body("exp", past, past, evidence="b")])
    cases = [
        ({"rules": [{"match": "metadata.labels.team ==", "ttl": "1h"}]},
         "invalid JMESPath expression 'metadata.labels.team =='"),
        ({"older_than": "two weeks"}, "older_than: invalid duration 'two weeks'"),
        ({"rules": [{"match": "`true`", "ttl": "0"}]}, "rules[0].ttl: invalid duration '0'"),
        ({"max_deletions": -1}, "max_deletions must be 0 or more"),
        ({"exclude_namespaces": [namespace]}, "are both in namespaces and in exclude_namespaces"),
    ]
    for params, needle in cases:
        result = ansible.module(CLEANUP, dict(params, namespaces=[namespace], grace_period=0))
        assert result["failed"] is True and needle in result["msg"], result
        assert "Traceback" not in json.dumps(result)
    assert names_in(api, namespace) == ["exp"]


def test_rules_change_ttls(api, namespace, ansible):
    two_hours_ago = NOW - 2 * HOUR
    _pods(api, namespace, [
        contract_pod_body("team-a", two_hours_ago, None, evidence="b", extra_labels={"team": "a"}),
        contract_pod_body("team-b", two_hours_ago, None, evidence="b", extra_labels={"team": "b"}),
        # Its own expires-at has passed, but team b's rule keeps quarantines for a day.
        contract_pod_body("team-b-expired", two_hours_ago, NOW - HOUR, evidence="b", extra_labels={"team": "b"}),
        contract_pod_body("other", two_hours_ago, None, evidence="b"),
    ])
    rules = [{"match": "metadata.labels.team == 'a'", "ttl": "1h"}, {"match": "metadata.labels.team == 'b'", "ttl": "1d"}]

    without = ansible.module(CLEANUP, {"namespaces": [namespace]}, check=True)
    assert [p["name"] for p in without["pods_deleted"]] == ["team-b-expired"]

    result = ansible.module(CLEANUP, {"namespaces": [namespace], "rules": rules, "older_than": "3h", "grace_period": 0})

    assert [p["name"] for p in result["pods_deleted"]] == ["team-a"], result
    assert "rules[0] (match: metadata.labels.team == 'a') ttl 1h" in result["pods_deleted"][0]["why"]
    why = dict((p["name"], p["why"]) for p in result["pods_skipped"])
    assert "rules[1]" in why["team-b"] and "rules[1]" in why["team-b-expired"] and "older_than 3h" in why["other"]
    _wait_gone(api, namespace, ["team-a"])
    assert names_in(api, namespace) == ["other", "team-b", "team-b-expired"]


def test_a_pod_modified_between_list_and_delete_is_decided_again(api, namespace, kubeconfig, context):
    """The I/O function's after_plan seam runs after the LIST and the decisions, before the first
    delete: there another client extends one quarantine and touches another pod, through the API."""
    past = NOW - 3 * HOUR
    _pods(api, namespace, [contract_pod_body(n, past, past, evidence="b") for n in ("extended", "touched", "steady")])
    core = client.CoreV1Api(api)
    params = {"kubeconfig": kubeconfig, "context": context}
    kube = Kube(build_api_client(params), context)
    cfg = cleanup_decide.build_config({"namespaces": [namespace], "max_deletions": 10, "grace_period": 0,
                                       "parallelism": 2})
    seen = []

    def meanwhile(pods):
        seen.extend(sorted(p["metadata"]["name"] for p in pods))
        later = (NOW + 24 * HOUR).strftime("%Y-%m-%dT%H:%M:%SZ")
        core.patch_namespaced_pod("extended", namespace, {"metadata": {"annotations": {
            "triage.k8s/expires-at": later}}})
        core.patch_namespaced_pod("touched", namespace, {"metadata": {"labels": {"looked-at": "yes"}}})

    result = cleanup_run.cleanup(kube, cfg, False, after_plan=meanwhile)

    assert seen == ["extended", "steady", "touched"]
    deleted = dict((p["name"], p) for p in result["pods_deleted"])
    assert sorted(deleted) == ["steady", "touched"]
    assert deleted["touched"]["reevaluated"] is True
    skipped = dict((p["name"], p["why"]) for p in result["pods_skipped"])
    assert skipped["extended"].startswith("changed since it was listed, decided again and kept: not expired")
    _wait_gone(api, namespace, ["steady", "touched"])
    assert names_in(api, namespace) == ["extended"]


def test_real_quarantine_then_cleanup(api, core, namespace, ansible):
    """pod_quarantine writes the contract (ttl 1s, NetworkPolicy); cleanup removes pod and policy."""
    create(api, namespace, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                                     "template": {"metadata": {"labels": {"app": "web"}},
                                                  "spec": {"terminationGracePeriodSeconds": 0, "containers": [
                                                      {"name": "app", "image": "registry.example/web:1"}]}}}})
    victim = sorted(p.metadata.name for p in wait_ready_pods(core, namespace, 2, "app=web"))[0]
    quarantined = quarantine(ansible, victim, namespace, ttl="1s", network_isolation=True, reason="leak")
    assert quarantined["changed"] is True and quarantined["network_policy"], quarantined
    wait_list(core.list_namespaced_pod, lambda ps: all(pod_ready(p) for p in ps) and len(ps) == 3, timeout=60,
              what="the replacement to be Ready", namespace=namespace)
    # The quarantine's 1s ttl must have run out: a TTL is time, so here the test waits for time.
    expires = datetime.datetime.strptime(quarantined["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    time.sleep(max(0.0, (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) + 0.2)

    result = ansible.module(CLEANUP, {"namespaces": [namespace], "require_evidence": False, "grace_period": 0})

    assert [p["name"] for p in result["pods_deleted"]] == [victim], result
    assert result["pods_deleted"][0]["quarantine_reason"] == "leak"
    assert [p["name"] for p in result["network_policies_deleted"]] == [quarantined["network_policy"]]
    _wait_gone(api, namespace, [victim])
    assert names_in(api, namespace, "NetworkPolicy") == []


# -- the playbook, on two clusters ---------------------------------------------------------

def _runtime_groups(ansible):
    path = os.path.join(ansible.env()["ANSIBLE_COLLECTIONS_PATH"], "ansible_collections", "triage", "k8s", "meta",
                        "runtime.yml")
    with open(path) as f:
        return (yaml.safe_load(f).get("action_groups") or {}).get("k8s") or []


def test_playbook_cleans_two_clusters_and_names_the_one_that_failed(api, namespace, kubeconfig, clusters, ansible,
                                                                    tmp_path):
    group = _runtime_groups(ansible)
    assert "quarantine_cleanup" in group, (
        "meta/runtime.yml must list quarantine_cleanup in action group k8s: the playbook passes the connection "
        "options through module_defaults group/triage.k8s.k8s")
    context_b = clusters["contexts"][1]
    api_b = config.new_client_from_config(config_file=kubeconfig, context=context_b, persist_config=False)
    core_b = client.CoreV1Api(api_b)
    core_b.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        past = NOW - 3 * HOUR
        for target in (api, api_b):
            _pods(target, namespace, [contract_pod_body("old", past, past, evidence="b"),
                                      contract_pod_body("young", past, NOW + HOUR, evidence="b")])
        inventory = tmp_path / "clusters.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": {
            "cluster-a": {"k8s_kubeconfig": kubeconfig, "k8s_context": clusters["contexts"][0]},
            "cluster-b": {"k8s_kubeconfig": kubeconfig, "k8s_context": context_b},
            "cluster-broken": {"k8s_kubeconfig": kubeconfig, "k8s_context": "kwok-triage-nope"},
        }}}))
        reports = tmp_path / "reports"
        proc = ansible.playbook(os.path.join(os.path.dirname(__file__), "..", "..", "playbooks", "cleanup.yml"),
                                inventory=str(inventory),
                                extra_vars={"target": "all", "namespaces": [namespace], "grace_period": 0,
                                            "report_dir": str(reports)})
        out = proc.stdout
        assert proc.returncode != 0, out
        # The last line names the cluster and why it failed, not only "see the table above".
        last = [line for line in out.splitlines() if "cleanup failed on" in line][-1]
        assert "cleanup failed on 1 of 3 cluster(s): kwok-triage-nope (" in last, last
        assert "context 'kwok-triage-nope' not found" in last, last
        for target in (api, api_b):
            _wait_gone(target, namespace, ["old"])
            assert names_in(target, namespace) == ["young"]
        # The per-cluster tables and the reports.
        assert "kwok-triage-a: deleted 1 of 2 quarantined pods" in out and "kwok-triage-b: deleted 1 of 2" in out
        (run_dir,) = list(reports.iterdir())
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["failed_clusters"] == ["kwok-triage-nope"]
        assert sorted((c["cluster"], c["status"]) for c in summary["clusters"]) == [
            ("kwok-triage-a", "ok"), ("kwok-triage-b", "ok"), ("kwok-triage-nope", "failed")]
        cluster_a = json.loads((run_dir / "kwok-triage-a.json").read_text())
        assert [p["name"] for p in cluster_a["pods_deleted"]] == ["old"]
        assert "| kwok-triage-nope | failed |" in (run_dir / "summary.md").read_text()
        assert "| %s | old |" % namespace in (run_dir / "kwok-triage-b.md").read_text()
    finally:
        core_b.delete_namespace(namespace, grace_period_seconds=0)
