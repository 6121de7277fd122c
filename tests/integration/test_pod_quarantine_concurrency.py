"""Concurrent pod_quarantine runs on the same pod, on the real local control plane: exactly one
reports a change, and the pod (and its NetworkPolicy) end up written once."""

import json
import threading

from kubernetes import client

from k8s_helpers import quarantine, serving_deployment


# -- concurrent runs -------------------------------------------------------------------------

def _consistent(core, namespace, victim):
    pod = core.read_namespaced_pod(victim, namespace)
    assert pod.metadata.labels["app"] == "quarantined-web"  # rewritten once, not quarantined-quarantined-web
    assert json.loads(pod.metadata.annotations["triage.k8s/original-labels"]) == {"app": "web"}
    return pod


def test_two_concurrent_playbook_runs_change_the_pod_once(core, api, namespace, ansible):
    victim = serving_deployment(core, api, namespace, replicas=3)[0]
    results = [None, None]

    def run(index):
        results[index] = quarantine(ansible, victim, namespace, network_isolation=True)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert all(r and not r.get("failed") for r in results), results
    assert sorted(r["changed"] for r in results) == [False, True]
    pod = _consistent(core, namespace, victim)
    assert results[0]["quarantined_at"] == results[1]["quarantined_at"]
    policies = client.NetworkingV1Api(api).list_namespaced_network_policy(namespace).items
    assert [p.metadata.name for p in policies] == [pod.metadata.annotations["triage.k8s/network-policy"]]


def test_concurrent_writers_from_one_read_conflict_and_replan(core, api, namespace, kubeconfig, context):
    """Both runs read the pod at the same resourceVersion before either writes (a barrier holds
    their PATCHes): the API server refuses the second (409), which reads again, finds the pod
    quarantined and reports no change. The NetworkPolicy both wanted exists once."""
    from ansible_collections.triage.k8s.plugins.module_utils._quarantine import run_apply as ops
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import build_api_client
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import Kube

    victim = serving_deployment(core, api, namespace, replicas=3)[0]
    barrier = threading.Barrier(2, timeout=30)
    patches = []

    class RacingKube(Kube):
        def patch(self, kind, name, namespace, body):  # pylint: disable=redefined-outer-name
            if kind == "Pod" and len(patches) < 2:
                patches.append(body["metadata"]["resourceVersion"])
                barrier.wait()
            return Kube.patch(self, kind, name, namespace, body)

    params = dict(name=victim, namespace=namespace, state="quarantined", strategy="auto", labels=None,
                  scope="traffic_and_owner", value_prefix="quarantined-", reason="race", ttl=None,
                  quarantined_by="tester", network_isolation=True, network_allow=None, wait=False, wait_timeout=30,
                  max_quarantined_per_owner=1, force=False, kubeconfig=kubeconfig, context=context)
    outcomes = [None, None]

    def run(index):
        kube = RacingKube(build_api_client(params), "test")
        try:
            outcomes[index] = ops.apply_quarantine(kube, dict(params), False, "2026-01-01T00:00:00Z", None, "tester")[0]
        except Exception as exc:  # recorded for the assertion message
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(outcomes, key=str) == [False, True], outcomes
    assert len(patches) == 2 and patches[0] == patches[1]  # both planned from the same read
    pod = _consistent(core, namespace, victim)
    policies = client.NetworkingV1Api(api).list_namespaced_network_policy(namespace).items
    assert [p.metadata.name for p in policies] == [pod.metadata.annotations["triage.k8s/network-policy"]]
