"""quarantine_info reports lost isolation, and quarantine_info / quarantine_cleanup refuse a
namespace that does not exist (issue 10, items 2 and 7), on the real local control plane.

The policies are read with one LIST per namespace scope, never a GET per pod: the tests run the
module as the cleanup job's identity (docs/rbac/cleanup.yaml), which may list NetworkPolicies but
not get them, so a GET would be refused."""

import datetime

from kubernetes import client

from k8s_helpers import (
    bearer_token_env, contract_pod_body, create, names_in, quarantine, rbac_cluster_roles,
    wait_ready_pods,
)

INFO = "triage.k8s.quarantine_info"
CLEANUP = "triage.k8s.quarantine_cleanup"
NOW = datetime.datetime.now(datetime.timezone.utc)
HOUR = datetime.timedelta(hours=1)


def _as_cleanup_job(api, identities, namespace, tmp_path):
    return bearer_token_env(api, identities("cleanup", namespace).token(), str(tmp_path))


def test_a_quarantined_pod_whose_policy_is_gone_is_reported(api, core, namespace, ansible, identities, tmp_path):
    create(api, namespace, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                                     "template": {"metadata": {"labels": {"app": "web"}},
                                                  "spec": {"terminationGracePeriodSeconds": 0, "containers": [
                                                      {"name": "app", "image": "registry.example/web:1"}]}}}})
    isolated, lost = sorted(p.metadata.name for p in wait_ready_pods(core, namespace, 3, "app=web"))[:2]
    policies = {}
    for name in (isolated, lost):
        done = quarantine(ansible, name, namespace, network_isolation=True, wait=False, scope="traffic_only",
                          max_quarantined_per_owner=2)
        assert done["changed"] is True and done["network_policy"], done
        policies[name] = done["network_policy"]
    # Someone deletes the isolation of one of them: it is quarantined, but no longer isolated.
    client.NetworkingV1Api(api).delete_namespaced_network_policy(policies[lost], namespace)
    env = _as_cleanup_job(api, identities, namespace, tmp_path)

    for params in ({"namespaces": [namespace]}, {}):
        result = ansible.module(INFO, params, auth=False, env=env)

        assert not result.get("failed"), result
        pods = dict((p["name"], p) for p in result["pods"] if p["namespace"] == namespace)
        assert pods[lost]["network_policy_missing"] is True and pods[isolated]["network_policy_missing"] is False
        assert pods[lost]["network_policy"] == policies[lost]
        assert result["summary"]["network_policy_missing"] >= 1
        warning = 'pod %s/%s is quarantined with NetworkPolicy "%s"' % (namespace, lost, policies[lost])
        assert any(warning in w and "not network-isolated" in w for w in result.get("warnings", [])), result
        assert not any(isolated in w for w in result.get("warnings", []))
        assert result["summary"]["by_namespace"][namespace]["total"] == 2


def test_info_without_any_isolated_pod_lists_no_policies(api, namespace, ansible):
    create(api, namespace, contract_pod_body("plain", NOW - HOUR, None))
    result = ansible.module(INFO, {"namespaces": [namespace]})
    assert result["pods"][0]["network_policy_missing"] is False and result["summary"]["network_policy_missing"] == 0
    assert not result.get("warnings")


def _grants_namespaces():
    rules = rbac_cluster_roles()["triage-k8s-cleanup"]["rules"]
    return any("namespaces" in r["resources"] and "get" in r["verbs"] for r in rules)


def test_a_namespace_that_does_not_exist_fails_naming_it_and_the_cluster(api, namespace, ansible, context):
    past = NOW - 3 * HOUR
    create(api, namespace, contract_pod_body("old", past, past, evidence="b"))
    for module in (INFO, CLEANUP):
        for given, missing in (([namespace + "-typo"], [namespace + "-typo"]),  # one: a GET
                               ([namespace, "nope-a", "nope-b"], ["nope-a", "nope-b"])):  # several: one LIST
            result = ansible.module(module, {"namespaces": given, "grace_period": 0} if module == CLEANUP
                                    else {"namespaces": given})
            assert result["failed"] is True and result.get("changed") is False, result
            what = ('namespace "%s"' % missing[0]) if len(missing) == 1 else (
                "namespaces " + ", ".join('"%s"' % n for n in missing))
            assert result["msg"].startswith("%s not found on context '%s'" % (what, context)), result["msg"]
            assert result["missing_namespaces"] == missing
            assert ("nothing was deleted" if module == CLEANUP else "nothing was read") in result["msg"]
    assert names_in(api, namespace) == ["old"]


def test_without_permission_to_read_namespaces_it_warns(api, namespace, ansible, identities, tmp_path):
    env = _as_cleanup_job(api, identities, namespace, tmp_path)
    result = ansible.module(INFO, {"namespaces": [namespace, namespace + "-typo"]}, auth=False, env=env)
    if _grants_namespaces():
        assert result["failed"] is True and 'namespace "%s-typo" not found' % namespace in result["msg"], result
    else:
        assert not result.get("failed"), result
        assert any("could not check that the given namespaces exist" in w and "Forbidden" in w
                   for w in result.get("warnings", [])), result
