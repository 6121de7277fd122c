"""pod_quarantine's budget guards on the real local control plane: PodDisruptionBudgets whose
status the disruption controller of kube-controller-manager computes, and min_healthy_replicas."""

import time

from kubernetes import client

from k8s_helpers import (
    create, daemon_set_body, deployment_body, pod_snapshot, quarantine, service_body, wait_list, wait_ready_pods,
)
from test_crashloop_single_replica import _crash_looping

QUARANTINED = "triage.k8s/quarantined"


def _deployment(core, api, namespace, replicas):
    labels = {"app": "web"}
    create(api, namespace, deployment_body("web", replicas, labels))
    create(api, namespace, service_body("web", labels))
    return sorted(p.metadata.name for p in wait_ready_pods(core, namespace, replicas, "app=web"))


def _budget(api, namespace, name, healthy, **spec):
    """Create a PodDisruptionBudget selecting app=web and watch it until the disruption controller
    has computed its status for this generation with `healthy` healthy pods."""
    create(api, namespace, {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name},
                            "spec": dict(spec, selector={"matchLabels": {"app": "web"}})})

    def settled(budgets):
        mine = [b for b in budgets if b.metadata.name == name]
        status = mine[0].status if mine else None
        return bool(status and status.observed_generation == mine[0].metadata.generation
                    and status.current_healthy == healthy and status.expected_pods == healthy)

    policy = client.PolicyV1Api(api)
    wait_list(policy.list_namespaced_pod_disruption_budget, settled, timeout=60,
              what="PodDisruptionBudget %s computed with %d healthy pods" % (name, healthy), namespace=namespace)


def _refused(result, guard):
    assert result.get("failed") is True and result["changed"] is False, result
    assert result["refused"] is True and result["guard"] == guard, result
    assert "Traceback" not in result["msg"], result
    return result["msg"]


def _quarantined(core, namespace):
    return sorted(p.metadata.name for p in core.list_namespaced_pod(
        namespace, label_selector="%s=true" % QUARANTINED).items)


def test_a_budget_at_its_minimum_refuses_in_check_mode_too_unless_forced(core, api, namespace, ansible):
    victim = _deployment(core, api, namespace, 2)[0]
    _budget(api, namespace, "web-pdb", 2, minAvailable=2)
    before = pod_snapshot(core, namespace, victim)

    for check in (False, True):
        result = quarantine(ansible, victim, namespace, check=check)

        msg = _refused(result, "pod_disruption_budget")
        assert ("refusing to quarantine %s: PodDisruptionBudget %s/web-pdb allows 0 disruption(s) (currentHealthy 2, "
                "desiredHealthy 2, disruptionsAllowed 0, expectedPods 2, minAvailable 2)" % (victim, namespace)) in msg, msg
        assert "would leave 1 healthy pod(s), fewer than the 2 it requires, until a replacement is Ready" in msg, msg
        assert "force: true" in msg and "Wait until more of its pods are Ready" in msg
        budget = result["pod_disruption_budget"]
        assert (budget["namespace"], budget["name"], budget["healthy_after"], budget["required"]) == (
            namespace, "web-pdb", 1, 2), budget
        assert pod_snapshot(core, namespace, victim) == before  # labels, annotations, owner: untouched
    assert _quarantined(core, namespace) == []

    forced = quarantine(ansible, victim, namespace, force=True)

    assert forced["changed"] is True and not forced.get("failed"), forced
    assert _quarantined(core, namespace) == [victim]


def test_budgets_with_room_let_the_quarantine_through(core, api, namespace, ansible):
    victim = _deployment(core, api, namespace, 3)[0]
    _budget(api, namespace, "web-min", 3, minAvailable=2)
    _budget(api, namespace, "web-max", 3, maxUnavailable=1)  # needs the computed expectedPods

    result = quarantine(ansible, victim, namespace, check=True)
    assert result["changed"] is True and not result.get("failed"), result

    done = quarantine(ansible, victim, namespace, wait=True, wait_timeout=60)

    assert done["changed"] is True and not done.get("failed"), done
    assert done["replacement"]["ready"] is True
    assert _quarantined(core, namespace) == [victim]


def test_a_percentage_budget_rounds_up(core, api, namespace, ansible):
    """3 pods, minAvailable 50%: 1.5 rounds up to 2, so one of 3 may go; 67% is 2.01, rounded up 3."""
    victim = _deployment(core, api, namespace, 3)[0]
    _budget(api, namespace, "web-pct", 3, minAvailable="67%")
    before = pod_snapshot(core, namespace, victim)

    msg = _refused(quarantine(ansible, victim, namespace), "pod_disruption_budget")

    assert "desiredHealthy 3" in msg and "minAvailable 67%" in msg and "fewer than the 3 it requires" in msg, msg
    assert pod_snapshot(core, namespace, victim) == before
    client.PolicyV1Api(api).patch_namespaced_pod_disruption_budget("web-pct", namespace,
                                                                   {"spec": {"minAvailable": "50%"}})
    policy = client.PolicyV1Api(api)
    wait_list(policy.list_namespaced_pod_disruption_budget,
              lambda bs: bool(bs) and bs[0].status.observed_generation == bs[0].metadata.generation
              and bs[0].status.desired_healthy == 2, timeout=60, what="web-pct recomputed for 50%",
              namespace=namespace)

    assert quarantine(ansible, victim, namespace)["changed"] is True


def test_min_healthy_replicas_as_a_count_and_a_percentage(core, api, namespace, ansible):
    victim = _deployment(core, api, namespace, 3)[0]
    before = pod_snapshot(core, namespace, victim)

    for value, required in ((3, 3), ("3", 3), ("67%", 3), ("100%", 3)):
        result = quarantine(ansible, victim, namespace, min_healthy_replicas=value)
        msg = _refused(result, "min_healthy_replicas")
        assert msg.startswith("refusing to quarantine %s: min_healthy_replicas=%s (" % (victim, value)), msg
        assert "would leave 2 healthy Ready replica(s)" in msg and "force: true" in msg, msg
        assert result["min_healthy_replicas"]["required"] == required, result
    check = quarantine(ansible, victim, namespace, check=True, min_healthy_replicas="67%")
    assert _refused(check, "min_healthy_replicas")
    assert pod_snapshot(core, namespace, victim) == before

    bad = quarantine(ansible, victim, namespace, min_healthy_replicas="half")
    assert bad.get("failed") is True and bad["changed"] is False, bad
    assert "min_healthy_replicas: expected a count such as 2 or a percentage" in bad["msg"], bad["msg"]
    assert "nothing was read or written" in bad["msg"]
    assert pod_snapshot(core, namespace, victim) == before

    allowed = quarantine(ansible, victim, namespace, min_healthy_replicas="50%")  # 1.5 rounds up to 2: 2 remain
    assert allowed["changed"] is True and not allowed.get("failed"), allowed
    assert _quarantined(core, namespace) == [victim]


def test_min_healthy_replicas_as_a_count_allows_and_force_lifts_it(core, api, namespace, ansible):
    first, second = _deployment(core, api, namespace, 2)[:2]

    assert quarantine(ansible, first, namespace, min_healthy_replicas=1)["changed"] is True

    wait_ready_pods(core, namespace, 2, "app=web")  # the replacement, and the peer left behind
    msg = _refused(quarantine(ansible, second, namespace, min_healthy_replicas=2, max_quarantined_per_owner=2),
                   "min_healthy_replicas")
    assert "ReplicaSet web-" in msg and "needs 2" in msg, msg
    forced = quarantine(ansible, second, namespace, min_healthy_replicas=2, max_quarantined_per_owner=2, force=True)
    assert forced["changed"] is True and not forced.get("failed"), forced
    assert _quarantined(core, namespace) == sorted([first, second])


def test_max_quarantined_per_owner_refuses_a_daemon_set_pod_behind_a_service(core, api, namespace, ansible):
    """Regression: the guards read the namespace's quarantined pods twice (the Service-peer check,
    then the refusal); read from a generator, the second read was empty and this was let through."""
    labels = {"app": "agent"}
    create(api, namespace, daemon_set_body("agent", labels))
    create(api, namespace, service_body("agent", labels))
    first, second = sorted(p.metadata.name for p in wait_ready_pods(core, namespace, 2, "app=agent"))
    assert quarantine(ansible, first, namespace)["changed"] is True
    before = pod_snapshot(core, namespace, second)

    msg = _refused(quarantine(ansible, second, namespace), "max_quarantined_per_owner")

    assert "DaemonSet agent already has 1 quarantined pod(s) (%s)" % first in msg, msg
    assert pod_snapshot(core, namespace, second) == before


def test_a_crash_looping_pod_is_not_refused_by_its_budget(core, api, namespace, ansible):
    """A one-replica crash loop (KWOK stages: Ready 1.5 s, then 2.5 s in back-off) under a budget of
    minAvailable 1: by its own diagnosis the pod is not a healthy pod, so taking it out leaves the
    budget as it is, at every instant of the cycle (the budget's own status flips with the Ready
    condition)."""
    name = _crash_looping(core, api, namespace, "web")
    create(api, namespace, {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web-pdb"},
                            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
    wait_list(client.PolicyV1Api(api).list_namespaced_pod_disruption_budget,
              lambda bs: bool(bs) and bs[0].status is not None
              and bs[0].status.observed_generation == bs[0].metadata.generation,
              timeout=60, what="web-pdb observed", namespace=namespace)

    for index in range(3):
        time.sleep(index * 1.3)  # a different phase of the 4 s cycle each time
        result = quarantine(ansible, name, namespace, check=True)
        assert result["changed"] is True and not result.get("failed") and not result.get("refused"), result

    done = quarantine(ansible, name, namespace)
    assert done["changed"] is True and not done.get("failed"), done
