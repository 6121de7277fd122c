"""pod_quarantine on the real local control plane: scopes and the labels strategy, network
isolation, release and idempotency, check and diff mode, the identity and the expiry it
records. Owner kinds: test_pod_quarantine_owners.py; guards and bad input:
test_pod_quarantine_guards.py; concurrent runs: test_pod_quarantine_concurrency.py."""

import datetime
import json

from kubernetes import client

from k8s_helpers import (
    create, endpoint_slice_pods, labels_after_release, pod_history, pod_ready, pod_snapshot, quarantine,
    replica_set_body, service_body, serving_deployment, wait_in_slices, wait_list, wait_not_in_slices, wait_pod, wait_ready_pods,
)

PREFIX = "triage.k8s/"


def _ours(mapping):
    return dict((k, v) for k, v in mapping.items() if k.startswith(PREFIX))


def _time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


# -- scopes and the labels strategy ----------------------------------------------------------

def test_toggle_label_with_scope_traffic_only_keeps_the_pod_owned(core, api, namespace, ansible):
    """Toggle style: the Service selects enabled=true too, the Deployment only app=web."""
    victim = serving_deployment(core, api, namespace, labels={"app": "web", "enabled": "true"},
                                selector={"matchLabels": {"app": "web"}})[0]
    before = pod_snapshot(core, namespace, victim)

    refused = quarantine(ansible, victim, namespace, strategy="labels", labels={"enabled": "false"})

    assert refused.get("failed") is True and refused["changed"] is False
    assert "would still select it" in refused["msg"] and "ReplicaSet" in refused["msg"], refused["msg"]
    assert pod_snapshot(core, namespace, victim) == before

    result = quarantine(ansible, victim, namespace, strategy="labels", labels={"enabled": "false"},
                        scope="traffic_only", wait=True, wait_timeout=30)

    assert result["changed"] is True and not result.get("failed"), result
    assert result["labels_changed"] == {"enabled": {"before": "true", "after": "false"}}
    assert result["owner"]["released"] is False and result["replacement"]["expected"] is False
    assert result["endpoints_removed"]["verified"] is True
    pod = core.read_namespaced_pod(victim, namespace)
    assert [r.kind for r in pod.metadata.owner_references] == ["ReplicaSet"] and pod_ready(pod)
    assert pod.metadata.labels["enabled"] == "false" and pod.metadata.labels["app"] == "web"
    assert victim not in endpoint_slice_pods(client.DiscoveryV1Api(api), namespace, "web")


def test_toggle_label_the_owner_selects_on_releases_the_pod(core, api, namespace, ansible):
    labels = {"app": "web", "enabled": "true"}
    victim = serving_deployment(core, api, namespace, labels=labels)[0]

    result = quarantine(ansible, victim, namespace, strategy="labels", labels={"enabled": "false"},
                        wait=True, wait_timeout=60)

    assert result["changed"] is True and not result.get("failed"), result
    assert result["labels_changed"] == {"enabled": {"before": "true", "after": "false"}}
    assert result["owner"]["released"] is True and result["replacement"]["ready"] is True
    wait_pod(core, namespace, victim, lambda p: not p.metadata.owner_references and pod_ready(p), "release")
    wait_ready_pods(core, namespace, 2, "app=web,enabled=true")


def test_explicit_labels_that_break_no_selector_are_refused(core, api, namespace, ansible):
    victim = serving_deployment(core, api, namespace)[0]
    before = pod_snapshot(core, namespace, victim)

    result = quarantine(ansible, victim, namespace, strategy="labels", labels={"color": "red"})

    assert result.get("failed") is True and result["changed"] is False
    assert "the labels given do not quarantine the pod" in result["msg"]
    assert "web (app=web) would still select it" in result["msg"], result["msg"]
    assert pod_snapshot(core, namespace, victim) == before


def test_traffic_only_is_impossible_when_the_service_selects_only_owner_labels(core, api, namespace, ansible):
    victim = serving_deployment(core, api, namespace)[0]
    before = pod_snapshot(core, namespace, victim)

    result = quarantine(ansible, victim, namespace, scope="traffic_only")

    assert result.get("failed") is True and result["changed"] is False
    msg = result["msg"]
    assert "cannot take the pod out of Service web (app=web)" in msg, msg
    assert "app (ReplicaSet/web-" in msg and "selects on it too" in msg, msg
    assert "use scope traffic_and_owner" in msg
    assert pod_snapshot(core, namespace, victim) == before


def test_auto_strategy_with_match_expressions_adds_a_label_and_release_removes_it(core, api, namespace, ansible):
    """A ReplicaSet selects with matchExpressions only (app Exists, debug DoesNotExist) and the
    Service on tier: the cheapest way out of both is to rewrite tier and to add debug."""
    labels = {"app": "web", "tier": "fe"}
    body = replica_set_body("web", 2, labels)
    body["spec"]["selector"] = {"matchExpressions": [{"key": "app", "operator": "Exists"},
                                                     {"key": "debug", "operator": "DoesNotExist"}]}
    create(api, namespace, body)
    create(api, namespace, service_body("web", {"tier": "fe"}))
    victim = sorted(p.metadata.name for p in wait_ready_pods(core, namespace, 2, "app=web"))[0]
    original = pod_snapshot(core, namespace, victim)["labels"]

    result = quarantine(ansible, victim, namespace, wait=True, wait_timeout=60)

    assert result["changed"] is True and not result.get("failed"), result
    assert result["labels_changed"] == {"tier": {"before": "fe", "after": "quarantined-fe"},
                                        "debug": {"before": None, "after": "quarantined"}}
    assert result["replacement"]["ready"] is True and result["endpoints_removed"]["verified"] is True
    pod = core.read_namespaced_pod(victim, namespace)
    assert json.loads(pod.metadata.annotations["triage.k8s/original-labels"]) == {"tier": "fe", "debug": None}

    since = pod.metadata.resource_version
    released = quarantine(ansible, victim, namespace, state="released", diff=True)
    assert released["changed"] is True and released["diff"]["after"]["labels"] == original
    back = pod_history(core, namespace, victim, since, lambda p: "triage.k8s/quarantined" not in p.metadata.labels)
    assert back.metadata.labels == original  # "debug" absent again (the ReplicaSet may then delete the pod)


# -- network isolation -----------------------------------------------------------------------

def test_network_isolation_policy_selects_only_the_pod_and_release_deletes_it(core, api, namespace, ansible):
    victim = serving_deployment(core, api, namespace, replicas=3)[0]
    net = client.NetworkingV1Api(api)
    allow = {"namespace_labels": {"kubernetes.io/metadata.name": "forensics"}, "cidrs": ["192.0.2.0/24"]}

    result = quarantine(ansible, victim, namespace, network_isolation=True, network_allow=allow)

    assert result["changed"] is True and not result.get("failed"), result
    name = result["network_policy"]
    assert name and name.startswith("triage-quarantine-%s-" % victim)
    pod = core.read_namespaced_pod(victim, namespace)
    assert pod.metadata.annotations["triage.k8s/network-policy"] == name
    assert pod.metadata.labels["triage.k8s/quarantine-id"] == pod.metadata.uid
    policy = net.read_namespaced_network_policy(name, namespace)
    assert policy.metadata.labels == {"app.kubernetes.io/managed-by": "triage.k8s", "triage.k8s/for-pod": victim}
    assert policy.metadata.annotations == {"triage.k8s/for-pod-uid": pod.metadata.uid}
    assert policy.spec.pod_selector.match_labels == {"triage.k8s/quarantine-id": pod.metadata.uid}
    assert not policy.spec.pod_selector.match_expressions
    assert sorted(policy.spec.policy_types) == ["Egress", "Ingress"]
    peers = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "forensics"}}},
             {"ipBlock": {"cidr": "192.0.2.0/24"}}]
    as_dict = api.sanitize_for_serialization(policy.spec)
    assert as_dict["ingress"] == [{"from": peers}] and as_dict["egress"] == [{"to": peers}]
    # Only this pod matches the policy's selector, never the rest of the workload.
    selected = core.list_namespaced_pod(namespace, label_selector="triage.k8s/quarantine-id=%s" % pod.metadata.uid)
    assert [p.metadata.name for p in selected.items] == [victim]
    assert [p.metadata.name for p in net.list_namespaced_network_policy(namespace).items] == [name]

    again = quarantine(ansible, victim, namespace, network_isolation=True, network_allow=allow)
    assert again["changed"] is False and again["network_policy"] == name

    released = quarantine(ansible, victim, namespace, state="released")

    assert released["changed"] is True and released["network_policy_deleted"] is True
    assert released["network_policy"] == name
    assert net.list_namespaced_network_policy(namespace).items == []
    # Released, the pod matches its ReplicaSet again, which may adopt it and delete it as surplus.
    labels = labels_after_release(core, victim, namespace, {"app": "web"})
    assert not _ours(labels)


def test_network_isolation_deny_all_without_allow_list(core, api, namespace, ansible):
    victim = serving_deployment(core, api, namespace)[0]
    result = quarantine(ansible, victim, namespace, network_isolation=True)
    assert result["changed"] is True, result
    policy = client.NetworkingV1Api(api).read_namespaced_network_policy(result["network_policy"], namespace)
    spec = api.sanitize_for_serialization(policy.spec)
    assert spec.get("ingress", []) == [] and spec.get("egress", []) == []
    assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]


# -- release and idempotency -----------------------------------------------------------------

def _same_shape(second, first):
    assert set(second) == set(first)
    for key in ("pod", "owner", "replacement", "endpoints_removed", "commands"):
        assert set(second[key]) == set(first[key]), key
    for key in ("labels_changed", "services", "quarantined_at", "quarantined_by", "reason", "expires_at",
                "network_policy"):
        assert second[key] == first[key], key


def test_release_restores_labels_exactly_and_both_directions_are_idempotent(core, api, namespace, ansible):
    """scope traffic_only keeps the pod with its ReplicaSet, so release changes nothing but the pod."""
    labels = {"app": "web", "enabled": "true"}
    victim = serving_deployment(core, api, namespace, labels=labels, selector={"matchLabels": {"app": "web"}})[0]
    original = pod_snapshot(core, namespace, victim)
    explicit = {"enabled": None, "triaged": "yes"}  # remove a label, add one that was absent
    params = dict(strategy="labels", labels=explicit, scope="traffic_only", reason="heap dump", ttl="1h")

    first = quarantine(ansible, victim, namespace, wait=True, wait_timeout=30, **params)
    assert first["changed"] is True and not first.get("failed"), first
    assert first["labels_changed"] == {"enabled": {"before": "true", "after": None},
                                       "triaged": {"before": None, "after": "yes"}}
    quarantined = pod_snapshot(core, namespace, victim)
    assert json.loads(quarantined["annotations"]["triage.k8s/original-labels"]) == {"enabled": "true", "triaged": None}

    second = quarantine(ansible, victim, namespace, wait=True, wait_timeout=30, **params)
    assert second["changed"] is False and not second.get("failed"), second
    _same_shape(second, first)
    assert second["endpoints_removed"] == first["endpoints_removed"] == {"verified": True, "services_still_listing": []}
    assert second["owner"] == first["owner"]
    assert pod_snapshot(core, namespace, victim) == quarantined  # not even the resourceVersion moved

    released = quarantine(ansible, victim, namespace, state="released", diff=True)

    assert released["changed"] is True and not released.get("failed"), released
    assert released["labels_changed"]["triaged"] == {"before": "yes", "after": None}
    assert released["labels_changed"]["enabled"] == {"before": None, "after": "true"}
    after = pod_snapshot(core, namespace, victim)
    assert after["labels"] == original["labels"]  # "triaged" absent again, "enabled" back
    assert after["annotations"] == original["annotations"]
    assert after["owners"] == original["owners"]
    assert released["diff"]["after"]["labels"] == original["labels"]
    wait_in_slices(client.DiscoveryV1Api(api), namespace, "web", [victim])

    again = quarantine(ansible, victim, namespace, state="released")
    assert again["changed"] is False and not again.get("failed") and "not quarantined" in again["msg"]
    assert pod_snapshot(core, namespace, victim) == after


def test_release_lets_the_replicaset_adopt_the_pod_and_delete_a_surplus(core, api, namespace, ansible):
    victim = serving_deployment(core, api, namespace)[0]
    original = pod_snapshot(core, namespace, victim)

    first = quarantine(ansible, victim, namespace, wait=True, wait_timeout=60)
    assert first["changed"] is True and first["replacement"]["ready"] is True, first
    rs_name = first["owner"]["name"]
    second = quarantine(ansible, victim, namespace, wait=True, wait_timeout=30)
    assert second["changed"] is False and not second.get("failed"), second
    _same_shape(second, first)
    assert second["owner"]["released"] is True and second["replacement"]["ready"] is True
    assert [p["name"] for p in second["replacement"]["pods"]] == [p["name"] for p in first["replacement"]["pods"]]
    since = pod_snapshot(core, namespace, victim)["resourceVersion"]

    released = quarantine(ansible, victim, namespace, state="released")

    assert released["changed"] is True and not released.get("failed"), released
    assert "ReplicaSet %s may adopt it again" % rs_name in released["note"] and "surplus" in released["note"]
    # The released pod's labels match the ReplicaSet's selector again (seen in its history: the
    # ReplicaSet may delete it right away)...
    back = pod_history(core, namespace, victim, since, lambda p: "triage.k8s/quarantined" not in (p.metadata.labels or {}))
    assert back.metadata.labels == original["labels"]
    assert not _ours(back.metadata.annotations or {})
    # ...so the ReplicaSet adopts it, has 3 pods for 2 replicas and deletes one: it settles at 2.
    pods = wait_list(core.list_namespaced_pod,
                     lambda ps: len(ps) == 2 and all(pod_ready(p) and p.metadata.owner_references
                                                     and p.metadata.owner_references[0].name == rs_name for p in ps),
                     timeout=60, what="the ReplicaSet to settle at 2 owned pods", namespace=namespace,
                     label_selector="app=web")
    assert all(p.metadata.labels == original["labels"] for p in pods if p.metadata.name == victim)


# -- check mode and diff ---------------------------------------------------------------------

def test_check_mode_returns_the_plan_and_writes_nothing(core, api, namespace, ansible):
    victim = serving_deployment(core, api, namespace)[0]
    before = pod_snapshot(core, namespace, victim)

    result = quarantine(ansible, victim, namespace, check=True, diff=True, network_isolation=True, ttl="24h",
                        reason="check mode")

    assert result["changed"] is True and not result.get("failed"), result
    plan = result["plan"]["metadata"]
    assert plan["resourceVersion"] == before["resourceVersion"]
    assert plan["labels"] == {"app": "quarantined-web", "triage.k8s/quarantined": "true",
                              "triage.k8s/quarantine-id": result["pod"]["uid"]}
    assert plan["annotations"]["triage.k8s/reason"] == "check mode"
    assert plan["annotations"]["triage.k8s/quarantined-by"] == "kwok-admin"
    assert result["expires_at"] and result["network_policy"]
    assert result["labels_changed"] == {"app": {"before": "web", "after": "quarantined-web"}}
    diff = result["diff"]
    assert diff["before"]["labels"] == before["labels"] and diff["before"]["annotations"] == before["annotations"]
    assert diff["after"]["labels"]["app"] == "quarantined-web"
    assert diff["after"]["annotations"]["triage.k8s/expires-at"] == result["expires_at"]
    # Nothing written: the pod is as it was and no NetworkPolicy exists.
    assert pod_snapshot(core, namespace, victim) == before
    assert client.NetworkingV1Api(api).list_namespaced_network_policy(namespace).items == []

    done = quarantine(ansible, victim, namespace, diff=True)
    assert done["changed"] is True and done["diff"]["after"]["labels"]["triage.k8s/quarantined"] == "true"
    quarantined = pod_snapshot(core, namespace, victim)

    check_release = quarantine(ansible, victim, namespace, state="released", check=True, diff=True)

    assert check_release["changed"] is True and check_release["plan"]["metadata"]["labels"]["app"] == "web"
    assert check_release["diff"]["after"]["labels"] == before["labels"]
    assert check_release["diff"]["before"]["labels"] == quarantined["labels"]
    assert pod_snapshot(core, namespace, victim) == quarantined


# -- what the quarantine records -------------------------------------------------------------

def test_quarantined_by_defaults_to_the_api_identity_and_expires_at_is_quarantined_at_plus_ttl(
        core, api, namespace, ansible):
    first, second = serving_deployment(core, api, namespace, replicas=3)[:2]

    default = quarantine(ansible, first, namespace, ttl="90m", reason="who am i")

    assert default["changed"] is True, default
    assert default["quarantined_by"] == "kwok-admin"
    assert _time(default["expires_at"]) - _time(default["quarantined_at"]) == datetime.timedelta(minutes=90)
    annotations = core.read_namespaced_pod(first, namespace).metadata.annotations
    assert annotations["triage.k8s/quarantined-by"] == "kwok-admin"
    assert annotations["triage.k8s/expires-at"] == default["expires_at"]
    assert annotations["triage.k8s/quarantined-at"] == default["quarantined_at"]
    assert annotations["triage.k8s/reason"] == "who am i"
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert abs((_time(default["quarantined_at"]) - now).total_seconds()) < 60

    explicit = quarantine(ansible, second, namespace, quarantined_by="alice@example.com", ttl="7d",
                          max_quarantined_per_owner=2)

    assert explicit["changed"] is True, explicit
    assert explicit["quarantined_by"] == "alice@example.com"
    assert _time(explicit["expires_at"]) - _time(explicit["quarantined_at"]) == datetime.timedelta(days=7)
    assert core.read_namespaced_pod(second, namespace).metadata.annotations[
        "triage.k8s/quarantined-by"] == "alice@example.com"

    no_ttl = quarantine(ansible, first, namespace)
    assert no_ttl["changed"] is False and no_ttl["expires_at"] == default["expires_at"]
    wait_not_in_slices(client.DiscoveryV1Api(api), namespace, "web", first)
