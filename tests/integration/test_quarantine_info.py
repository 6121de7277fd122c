"""quarantine_info on the real local control plane: every quarantined pod from one LIST, described
from its contract annotations and its current status; look-alikes apart; read only."""

import datetime

from k8s_helpers import (
    annotate_behavior, contract_pod_body, create, pod_ready, pod_snapshot, quarantine, restart_count, wait_list, wait_pod,
    wait_ready_pods,
)

INFO = "triage.k8s.quarantine_info"
NOW = datetime.datetime.now(datetime.timezone.utc)
HOUR = datetime.timedelta(hours=1)


def test_describes_every_quarantined_pod_and_counts(api, core, namespace, ansible):
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "rs-uid"}
    for body in (contract_pod_body("expired", NOW - 26 * HOUR, NOW - 2 * HOUR, evidence="bundle-1", owner=owner,
                                   network_policy="triage-quarantine-expired-1"),
                 contract_pod_body("future", NOW - HOUR, NOW + HOUR),
                 contract_pod_body("no-ttl", NOW - HOUR, None),
                 contract_pod_body("label-only", None, None),
                 contract_pod_body("released", None, None, evidence="bundle-2", label=False)):
        create(api, namespace, body)
    wait_ready_pods(core, namespace, 5)
    annotate_behavior(core, namespace, "future", "crashloop")
    wait_pod(core, namespace, "future", lambda p: restart_count(p) >= 1, "a restart of future", timeout=60)
    before = pod_snapshot(core, namespace, "expired")

    result = ansible.module(INFO, {"namespaces": [namespace]})

    assert result["changed"] is False and not result.get("failed"), result
    pods = dict((p["name"], p) for p in result["pods"])
    assert sorted(pods) == ["expired", "future", "no-ttl"]
    expired = pods["expired"]
    assert expired["namespace"] == namespace and expired["uid"] and expired["node"].startswith("kwok-node-")
    assert expired["reason"] == "test expired" and expired["quarantined_by"] == "integration-test"
    assert expired["expired"] is True and expired["age"] == "1d2h" and expired["age_seconds"] >= 26 * 3600
    assert expired["evidence"]["exists"] is True and expired["evidence"]["name"] == "bundle-1"
    assert expired["owner"] == owner and expired["network_policy"] == "triage-quarantine-expired-1"
    assert expired["health"] == {"phase": "Running", "ready": True, "restarts": 0, "terminating": False}
    assert pods["future"]["expired"] is False and pods["future"]["evidence"] == {
        "exists": False, "name": None, "collected_at": None, "url": None}
    assert pods["future"]["health"]["restarts"] >= 1
    assert pods["no-ttl"]["expires_at"] is None and pods["no-ttl"]["expired"] is False
    assert [p["name"] for p in result["look_alikes"]] == ["label-only"]
    # "expired" records a NetworkPolicy nobody made: its isolation is reported lost.
    assert expired["network_policy_missing"] is True and pods["future"]["network_policy_missing"] is False
    assert any('pod %s/expired is quarantined with NetworkPolicy "triage-quarantine-expired-1"' % namespace in w
               for w in result.get("warnings", [])), result.get("warnings")
    assert result["summary"] == {
        "total": 3, "expired": 1, "not_expired": 1, "no_expiry": 1, "with_evidence": 1, "look_alikes": 1,
        "network_policy_missing": 1,
        "by_namespace": {namespace: {"total": 3, "expired": 1, "not_expired": 1, "no_expiry": 1}}}
    assert pod_snapshot(core, namespace, "expired") == before  # read only

    checked = ansible.module(INFO, {"namespaces": [namespace]}, check=True)
    assert checked["changed"] is False and [p["name"] for p in checked["pods"]] == ["expired", "future", "no-ttl"]


def test_all_namespaces_and_a_real_quarantine(api, core, namespace, ansible):
    """Without namespaces it lists the whole cluster; a pod quarantined by pod_quarantine is in it."""
    create(api, namespace, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                                     "template": {"metadata": {"labels": {"app": "web"}},
                                                  "spec": {"terminationGracePeriodSeconds": 0, "containers": [
                                                      {"name": "app", "image": "registry.example/web:1"}]}}}})
    victim = sorted(p.metadata.name for p in wait_ready_pods(core, namespace, 2, "app=web"))[0]
    assert quarantine(ansible, victim, namespace, ttl="2h", reason="heap dump")["changed"] is True
    wait_list(core.list_namespaced_pod, lambda ps: len([p for p in ps if pod_ready(p)]) == 3, timeout=60,
              what="the replacement", namespace=namespace)

    result = ansible.module(INFO, {})

    ours = [p for p in result["pods"] if p["namespace"] == namespace]
    assert [p["name"] for p in ours] == [victim], result["summary"]
    entry = ours[0]
    assert entry["reason"] == "heap dump" and entry["expired"] is False and entry["expires_at"]
    assert entry["owner"]["kind"] == "ReplicaSet" and entry["original_labels"]
    assert entry["health"]["phase"] == "Running" and entry["health"]["ready"] is True
    assert result["summary"]["by_namespace"][namespace]["total"] == 1
    assert result["summary"]["total"] >= 1


def test_an_unreachable_cluster_is_a_clear_error(ansible):
    result = ansible.module(INFO, {"context": "kwok-triage-nope"})
    assert result["failed"] is True and "context 'kwok-triage-nope' not found" in result["msg"]
    assert "Traceback" not in str(result)
