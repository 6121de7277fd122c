"""quarantine_cleanup and the NetworkPolicies it made that isolate nothing any more (issue 10,
item 4), on the real local control plane: a released pod whose policy stayed (what a release
without `delete networkpolicies` left), a pod replaced under the same name, a quarantined pod that
records another policy or none. Each is deleted with why, after orphan_min_age, in check mode only
listed, counted by max_deletions; a policy that is not ours, or still isolates its pod, never."""

import datetime

from kubernetes import client

from ansible_collections.triage.k8s.plugins.module_utils._cleanup import decide as cleanup_decide
from ansible_collections.triage.k8s.plugins.module_utils._cleanup import run as cleanup_run
from ansible_collections.triage.k8s.plugins.module_utils._contract import keys as contract
from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import build_api_client
from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import Kube
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import release_patch
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339
from k8s_helpers import contract_pod_body, contract_policy_body, create, names_in, quarantine, wait_ready_pods

CLEANUP = "triage.k8s.quarantine_cleanup"
NOW = datetime.datetime.now(datetime.timezone.utc)
HOUR = datetime.timedelta(hours=1)


def _release_marks_only(api, core, namespace, name):
    """What a release that could not delete the policy left: the pod released (the recorded labels
    back and the marks removed, in one patch), its NetworkPolicy still there."""
    pod = api.sanitize_for_serialization(core.read_namespaced_pod(name, namespace))
    core.patch_namespaced_pod(name, namespace, release_patch(pod))


def _by_name(entries):
    return dict((e["name"], e) for e in entries)


def test_a_released_pod_s_leftover_policy_is_cleaned(api, core, namespace, ansible):
    create(api, namespace, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                                     "template": {"metadata": {"labels": {"app": "web"}},
                                                  "spec": {"terminationGracePeriodSeconds": 0, "containers": [
                                                      {"name": "app", "image": "registry.example/web:1"}]}}}})
    victim = sorted(p.metadata.name for p in wait_ready_pods(core, namespace, 2, "app=web"))[0]
    # traffic_only: the pod stays its ReplicaSet's, so putting its labels back makes no surplus replica.
    quarantined = quarantine(ansible, victim, namespace, network_isolation=True, reason="leak", wait=False,
                             scope="traffic_only")
    policy = quarantined["network_policy"]
    assert quarantined["changed"] is True and policy, quarantined
    _release_marks_only(api, core, namespace, victim)
    assert contract.QUARANTINED_LABEL not in (core.read_namespaced_pod(victim, namespace).metadata.labels or {})
    base = {"namespaces": [namespace], "grace_period": 0}

    # Just made: a quarantine might still be writing it, so the default orphan_min_age keeps it.
    young = ansible.module(CLEANUP, base, check=True)
    kept = _by_name(young["network_policies_skipped"])[policy]
    assert "no longer quarantined (released)" in kept["why"] and "orphan_min_age 600s" in kept["why"], young
    assert young["network_policies_deleted"] == [] and young["changed"] is False

    checked = ansible.module(CLEANUP, dict(base, orphan_min_age="0"), check=True)
    (entry,) = checked["network_policies_deleted"]
    assert entry["name"] == policy and entry["pod"] == victim
    assert entry["why"] == "its pod %s is no longer quarantined (released)" % victim
    assert checked["changed"] is True and names_in(api, namespace, "NetworkPolicy") == [policy]

    limited = ansible.module(CLEANUP, dict(base, orphan_min_age="0", max_deletions=0))
    assert limited["failed"] is True and limited["changed"] is False
    assert "max_deletions is 0 but 0 pods and 1 orphaned NetworkPolicies would be deleted" in limited["msg"]
    assert names_in(api, namespace, "NetworkPolicy") == [policy]

    result = ansible.module(CLEANUP, dict(base, orphan_min_age="0"))
    assert result["changed"] is True and not result.get("failed"), result
    assert [p["name"] for p in result["network_policies_deleted"]] == [policy]
    assert result["pods_deleted"] == []
    assert names_in(api, namespace, "NetworkPolicy") == [] and victim in names_in(api, namespace)

    again = ansible.module(CLEANUP, dict(base, orphan_min_age="0"))
    assert again["changed"] is False and again["network_policies_deleted"] == []


def test_every_kind_of_orphan_and_what_is_never_touched(api, namespace, ansible):
    future = NOW + HOUR
    uids = dict((b["metadata"]["name"], create(api, namespace, b).metadata.uid) for b in (
        contract_pod_body("again", None, None, label=False),  # a new pod that took a gone pod's name
        contract_pod_body("twice", NOW - HOUR, future, evidence="b", network_policy="np-twice-current"),
        contract_pod_body("bare", NOW - HOUR, future, evidence="b"),
    ))
    no_uid = contract_policy_body("np-no-uid", "gone", "x")
    no_uid["metadata"]["annotations"] = {}
    foreign = contract_policy_body("np-foreign", "bare", uids["bare"])
    del foreign["metadata"]["labels"][contract.MANAGED_BY_LABEL]
    for body in (contract_policy_body("np-replaced", "again", "0000-old-uid"),
                 contract_policy_body("np-twice-current", "twice", uids["twice"]),
                 contract_policy_body("np-twice-stale", "twice", uids["twice"]),
                 contract_policy_body("np-bare", "bare", uids["bare"]),
                 no_uid, foreign):
        create(api, namespace, body)
    base = {"namespaces": [namespace], "grace_period": 0}

    young = ansible.module(CLEANUP, base, check=True)
    assert [p["name"] for p in young["network_policies_deleted"]] == ["np-replaced"], young
    kept = _by_name(young["network_policies_skipped"])
    assert "only" in kept["np-bare"]["why"] and "np-twice-stale" in kept

    result = ansible.module(CLEANUP, dict(base, orphan_min_age="0"))

    assert result["changed"] is True and not result.get("failed"), result
    why = dict((p["name"], p["why"]) for p in result["network_policies_deleted"])
    assert sorted(why) == ["np-bare", "np-replaced", "np-twice-stale"]
    assert why["np-replaced"].startswith("its pod again (uid 0000-old-uid) is gone; a different pod (uid %s)"
                                         % uids["again"])
    assert why["np-twice-stale"] == "its pod twice is quarantined with NetworkPolicy np-twice-current, not this one"
    assert why["np-bare"] == "its pod bare is quarantined without a NetworkPolicy"
    kept = _by_name(result["network_policies_skipped"])
    assert "has no triage.k8s/for-pod-uid annotation" in kept["np-no-uid"]["why"]
    assert "np-foreign" not in kept and "np-twice-current" not in kept  # not ours / still isolating: not even listed
    assert names_in(api, namespace, "NetworkPolicy") == ["np-foreign", "np-no-uid", "np-twice-current"]
    assert names_in(api, namespace) == ["again", "bare", "twice"]


def test_an_orphan_taken_over_by_a_quarantine_before_its_delete_is_left(api, core, namespace, kubeconfig, context):
    """The pod of a leftover policy is quarantined again (recording that policy) after the plan and
    before the delete: the policy is its isolation now, and the look just before the delete sees it."""
    pod = create(api, namespace, contract_pod_body("re", None, None, label=False))
    create(api, namespace, contract_policy_body("np-re", "re", pod.metadata.uid))
    kube = Kube(build_api_client({"kubeconfig": kubeconfig, "context": context}), context)
    cfg = cleanup_decide.build_config({"namespaces": [namespace], "max_deletions": 10, "orphan_min_age": "0"})
    planned = cleanup_run.plan(kube, cfg, datetime.datetime.now(datetime.timezone.utc))
    assert [p["metadata"]["name"] for p, _why in planned["orphans"]] == ["np-re"]

    def meanwhile(_pods):
        core.patch_namespaced_pod("re", namespace, {"metadata": {
            "labels": {contract.QUARANTINED_LABEL: "true", contract.QUARANTINE_ID_LABEL: pod.metadata.uid},
            "annotations": {contract.ANN_QUARANTINED_AT: format_rfc3339(datetime.datetime.now(datetime.timezone.utc)),
                            contract.ANN_ORIGINAL_LABELS: "{}", contract.ANN_NETWORK_POLICY: "np-re"}}})

    result = cleanup_run.cleanup(kube, cfg, False, after_plan=meanwhile)

    assert result["network_policies_deleted"] == [] and result["changed"] is False, result
    (kept,) = [p for p in result["network_policies_skipped"] if p["name"] == "np-re"]
    assert kept["why"] == "changed since it was listed: the isolation of quarantined pod re: left alone"
    assert names_in(api, namespace, "NetworkPolicy") == ["np-re"]
    assert client.NetworkingV1Api(api).read_namespaced_network_policy("np-re", namespace).metadata.uid
