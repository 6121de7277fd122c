"""triage.k8s.crashloop_info on the real local control plane: every class produced by a real
controller, scheduler or a KWOK stage (hack/cluster/stages) and recognised; scopes across
namespaces with label and field selectors; pagination; bad input refused before anything is
listed. The rollout gate (wait_for) is in test_crashloop_info_wait.py."""

import uuid

import pytest
from kubernetes import client

from k8s_helpers import (
    create, crashloop_info, job_body, module_results, pods_by_name, require_stages, sim_pod_body, wait_list,
)

SIM = "sim.triage.k8s/"


def _statuses(pod, field="container_statuses"):
    return getattr(pod.status, field, None) or []


def _restarts(pod, field="container_statuses"):
    return max([cs.restart_count or 0 for cs in _statuses(pod, field)] or [0])


def _waiting(pod, field="container_statuses"):
    return {cs.state.waiting.reason for cs in _statuses(pod, field) if cs.state and cs.state.waiting}


def _condition(pod, kind):
    return next((c for c in pod.status.conditions or [] if c.type == kind), None) if pod.status else None


def _ready(pod):
    cond = _condition(pod, "Ready")
    return cond is not None and cond.status == "True"


def _probed_again(ready):
    return ready is not None and ready.last_probe_time is not None and ready.last_probe_time > ready.last_transition_time


def _job_pod(pods):
    return next((p for p in pods if (p.metadata.labels or {}).get("job-name") == "done"), None)


# What each pod of the zoo must show before the module looks at it (one watch for all of them).
SETTLED = {
    "crash": lambda p: _restarts(p) >= 2,
    "oom": lambda p: _restarts(p) >= 1,
    "pull": lambda p: bool(_waiting(p) & {"ErrImagePull", "ImagePullBackOff"}),
    "config": lambda p: "CreateContainerConfigError" in _waiting(p),
    "init": lambda p: _restarts(p, "init_container_statuses") >= 2,
    "unsched": lambda p: getattr(_condition(p, "PodScheduled"), "reason", None) == "Unschedulable",
    # The probe stage has fired at least once: a lastProbeTime after the Ready transition.
    "unready": lambda p: p.status.phase == "Running" and _probed_again(_condition(p, "Ready")),
    "evicted": lambda p: p.status.reason == "Evicted",
    "fail": lambda p: p.status.phase == "Failed",
    "pending": lambda p: "ContainerCreating" in _waiting(p),
    "ok": _ready,
    "sidecar": lambda p: _restarts(p) >= 2,
}
EXPECTED = {
    "crash": "crash_loop", "oom": "oom_killed", "pull": "image_pull", "config": "config_error",
    "init": "init_failure", "unsched": "unschedulable", "unready": "probe_failure", "evicted": "evicted",
    "fail": "error", "pending": "not_ready", "ok": "healthy", "sidecar": "crash_loop", "done": "completed",
}


@pytest.fixture(scope="module")
def zoo_namespace(core, context):
    require_stages(context, "sim-initfail-crash", "sim-unready-probe", "sim-evict", "sim-fail")
    """A namespace shared by the read-only tests of the zoo (they only look at the pods)."""
    name = "t-crashloop-zoo-%s" % uuid.uuid4().hex[:6]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name, grace_period_seconds=0, propagation_policy="Background")


@pytest.fixture(scope="module")
def zoo(api, core, zoo_namespace):
    """(namespace, name of the Job's pod): one pod per failure the module knows, each settled
    into its observable state."""
    namespace = zoo_namespace
    bodies = [
        sim_pod_body("crash", "crashloop", exit_code=3),
        sim_pod_body("oom", "oomkilled"),
        sim_pod_body("pull", "imagepull"),
        sim_pod_body("config", "configerror", message='configmap "shop-settings" not found'),
        sim_pod_body("init", "initfail", init_containers=("migrate", "warm"), container="warm", exit_code=2),
        sim_pod_body("unsched", node_selector={"disk": "nvme-none-has"}),
        sim_pod_body("unready", "unready"),
        sim_pod_body("evicted", "evicted"),
        sim_pod_body("fail", "fail", restart_policy="Never", exit_code=2),
        sim_pod_body("pending", "pending"),
        sim_pod_body("ok"),
        sim_pod_body("sidecar", "crashloop", containers=("app", "proxy"), container="proxy", exit_code=139),
    ]
    for body in bodies:
        create(api, namespace, body)
    create(api, namespace, job_body("done", {"app": "done"}))

    def settled(pods):
        by_name = {p.metadata.name: p for p in pods}
        job = _job_pod(pods)
        return job is not None and job.status.phase == "Succeeded" and all(
            name in by_name and check(by_name[name]) for name, check in SETTLED.items())

    pods = wait_list(core.list_namespaced_pod, settled, timeout=60, what="every simulated failure", namespace=namespace)
    return namespace, _job_pod(pods).metadata.name


def test_every_class_is_produced_and_recognised(ansible, zoo):
    namespace, job_pod = zoo
    result = crashloop_info(ansible, namespace=namespace, grace_period="2s", restart_threshold=2)

    assert not result.get("failed"), result
    assert result["changed"] is False and result["scopes"] == ["namespace %s" % namespace]
    pods = pods_by_name(result)
    got = dict((name, pods[name]["class"]) for name in pods)
    want = dict(EXPECTED)
    want[job_pod] = want.pop("done")
    assert got == want, got

    crash, oom, init, unready = pods["crash"], pods["oom"], pods["init"], pods["unready"]
    assert "exit code 3" in crash["explanation"] and "--previous" in crash["next_step"]
    assert crash["containers"][0]["last_terminated"]["exit_code"] == 3
    assert crash["events"]["reasons"]["BackOff"]["count"] >= 1
    assert "OOMKilled (exit code 137)" in oom["explanation"]
    assert "memory limit" in oom["next_step"] and "--previous" in oom["next_step"]
    assert init["culprit"] == "warm" and "init container warm" in init["explanation"]
    assert [c["kind"] for c in init["containers"]] == ["init", "init", "regular"]
    assert [c["state"]["reason"] for c in init["containers"]][2] == "PodInitializing"
    assert "Readiness probe failed" in unready["explanation"]
    assert unready["events"]["reasons"]["Unhealthy"]["count"] >= 1
    assert "0/2 nodes are available" in pods["unsched"]["explanation"]
    assert "low on resource: memory" in pods["evicted"]["explanation"]
    assert "exit" in pods["fail"]["explanation"] and pods["fail"]["phase"] == "Failed"
    assert 'configmap "shop-settings" not found' in pods["config"]["explanation"]
    assert "registry.example/app:1.0" in pods["pull"]["explanation"]
    assert pods[job_pod]["owner"] == {"kind": "Job", "name": "done"}

    summary = result["summary"]
    assert summary["total"] == len(want) and summary["by_class"]["crash_loop"] == 2
    assert summary["by_namespace"][namespace]["healthy"] == 1
    assert result["crashloop_detected"] is True
    # Most severe first: OOM, then the two crash loops; healthy and completed pods are not listed.
    assert result["unhealthy"][0].startswith("%s/oom: oom_killed" % namespace)
    assert len(result["unhealthy"]) == len(want) - 2


def test_one_pod_multi_container_grace_period_only_unhealthy_and_query(ansible, zoo):
    namespace, job_pod = zoo
    sidecar, starting, late, unhealthy = module_results(ansible, "triage.k8s.crashloop_info", [
        {"name": "sidecar", "namespace": namespace, "restart_threshold": 2},
        {"name": "pending", "namespace": namespace, "grace_period": "10m"},
        {"name": "pending", "namespace": namespace, "grace_period": "1s"},
        {"namespace": namespace, "only_unhealthy": True, "grace_period": "2s", "restart_threshold": 2,
         "query": "pods[?class=='crash_loop'].name | sort(@)"},
    ])

    # A multi-container pod: the crashing sidecar is named, the app container is healthy.
    result = sidecar

    assert not result.get("failed"), result
    (pod,) = result["pods"]
    assert pod["class"] == "crash_loop" and pod["culprit"] == "proxy"
    containers = dict((c["name"], c) for c in pod["containers"])
    assert containers["app"]["class"] == "healthy" and containers["app"]["restart_count"] == 0
    assert containers["proxy"]["class"] == "crash_loop" and containers["proxy"]["last_terminated"]["exit_code"] == 139
    assert "SIGSEGV" in pod["explanation"] and "container proxy" in pod["explanation"]
    assert result["scopes"] == ["pod %s/sidecar" % namespace]

    # Pods still starting are "starting" within the grace period, "not_ready" after it.
    assert starting["pods"][0]["class"] == "starting", starting
    assert "grace period" in starting["pods"][0]["explanation"]
    assert late["pods"][0]["class"] == "not_ready" and "describe pod" in late["pods"][0]["next_step"], late

    result = unhealthy
    assert not result.get("failed"), result
    names = set(pods_by_name(result))
    assert "ok" not in names and job_pod not in names and "crash" in names
    assert result["summary"]["by_class"]["healthy"] == 1  # the summary still counts them
    assert result["query_result"] == ["crash", "sidecar"]


# -- scopes --------------------------------------------------------------------------------------

@pytest.fixture
def other_namespace(core, request):
    name = "t-other-%s" % uuid.uuid4().hex[:8]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name, grace_period_seconds=0, propagation_policy="Background")


def test_all_namespaces_with_label_and_field_selectors(ansible, api, core, namespace, other_namespace):
    suite = uuid.uuid4().hex[:10]
    for ns, name, tier, behavior in ((namespace, "web-a", "web", None), (namespace, "db-a", "db", "crashloop"),
                                     (namespace, "cache-a", "cache", None), (other_namespace, "web-b", "web", None),
                                     (other_namespace, "stuck-b", "web", "pending")):
        create(api, ns, sim_pod_body(name, behavior, labels={"suite": suite, "tier": tier}))
    for ns, count in ((namespace, 3), (other_namespace, 2)):
        wait_list(core.list_namespaced_pod, lambda ps, n=count: len(ps) == n and all(p.status.container_statuses for p in ps),
                  timeout=60, what="pods with container statuses", namespace=ns)

    result, both = module_results(ansible, "triage.k8s.crashloop_info", [
        {"label_selectors": ["suite=%s" % suite, "tier in (web, db)"],
         "field_selectors": ["status.phase=Running", "spec.restartPolicy!=Never"]},
        {"namespaces": [other_namespace, namespace], "label_selectors": ["suite=%s" % suite]},
    ])

    assert not result.get("failed"), result
    assert result["scopes"] == ["all namespaces"]
    got = sorted((p["namespace"], p["name"]) for p in result["pods"])
    # cache-a has another tier; stuck-b is Pending. The pods come from both namespaces.
    assert got == sorted([(namespace, "web-a"), (namespace, "db-a"), (other_namespace, "web-b")]), got
    assert set(result["summary"]["by_namespace"]) == {namespace, other_namespace}

    assert both["scopes"] == ["namespace %s" % ns for ns in sorted([namespace, other_namespace])]
    assert len(both["pods"]) == 5


def _comparable(result):
    return sorted((dict((k, v) for k, v in p.items() if k != "age_seconds") for p in result["pods"]),
                  key=lambda p: p["name"])


def test_pagination_with_a_small_page_gives_the_same_pods(ansible, api, core, namespace, kubeconfig, context):
    for index in range(7):
        create(api, namespace, sim_pod_body("p%d" % index, "configerror" if index == 3 else None))
    wait_list(core.list_namespaced_pod, lambda ps: len(ps) == 7 and all(p.status.container_statuses for p in ps),
              timeout=60, what="7 pods with container statuses", namespace=namespace)

    small, large = module_results(ansible, "triage.k8s.crashloop_info", [
        {"namespace": namespace, "page_size": 2}, {"namespace": namespace, "page_size": 500}])

    assert not small.get("failed") and not large.get("failed"), small
    assert len(small["pods"]) == 7 and _comparable(small) == _comparable(large)
    assert small["summary"] == large["summary"]

    # The same scan in-process, counting requests: 4 pages of pods and 1 of events, no GET of a pod.
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import build_api_client
    from ansible_collections.triage.k8s.plugins.module_utils._crashloop.classify import normalize_policy
    from ansible_collections.triage.k8s.plugins.module_utils._crashloop.run import scan
    from ansible_collections.triage.k8s.plugins.module_utils._crashloop.scope import Scope
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import Kube

    calls = []

    class CountingKube(Kube):
        def request(self, method, path, verb, resource, *args, **kwargs):
            calls.append((verb, resource, dict(kwargs.get("query") or {})))
            return super(CountingKube, self).request(method, path, verb, resource, *args, **kwargs)

    kube = CountingKube(build_api_client({"kubeconfig": kubeconfig, "context": context}))
    pods = scan(kube, [Scope(namespace)], normalize_policy(None), 2)
    assert sorted(p["name"] for p in pods) == ["p%d" % i for i in range(7)]
    pod_pages = [c for c in calls if c[1] == "pods"]
    assert len(pod_pages) == 4 and all(c[0] == "list" and c[2]["limit"] == 2 for c in pod_pages), calls
    assert [c[0] for c in calls if c[1] == "events"] == ["list"]
    assert pods_by_name({"pods": pods})["p3"]["class"] == "config_error"


# -- bad input: a clear message, and nothing listed ----------------------------------------------

BAD_INPUT = [
    ({"label_selectors": ["app in (web"]}, ["label_selectors[0]", "app in (web", "missing ')'"]),
    ({"label_selectors": ["app=web", "=web"]}, ["label_selectors[1]", "expected a label key"]),
    ({"label_selectors": ["Bad Key!=x"]}, ["label_selectors[0]", "invalid"]),
    ({"field_selectors": ["status.phase"]}, ["field_selectors[0]", "has no operator"]),
    ({"field_selectors": ["=Running"]}, ["field_selectors[0]", "names no field"]),
    ({"field_selectors": ["spec.image=x"]}, ["rejected the selectors", "spec.image"]),
    ({"wait_timeout": 0}, ["wait_timeout must be a positive number of seconds, got 0"]),
    ({"wait_timeout": -5, "wait_for": "stable"}, ["wait_timeout must be a positive number of seconds, got -5"]),
    ({"owner": "CronJob/nightly"}, ["owner 'CronJob/nightly'", "Deployment, ReplicaSet, StatefulSet"]),
    ({"owner": "Deployment/"}, ["give KIND/NAME"]),
    ({"query": "pods[?class=='crash_loop'"}, ["query \"pods[?class=='crash_loop'\" is not a valid JMESPath"]),
    ({"settle": "soon"}, ["settle: invalid duration 'soon'"]),
    ({"page_size": 0}, ["page_size must be at least 1"]),
]


def test_bad_input_is_refused_with_a_clear_message(ansible, namespace):
    results = module_results(ansible, "triage.k8s.crashloop_info",
                             [dict(params, namespace=namespace) for params, unused in BAD_INPUT])

    for (params, expected), result in zip(BAD_INPUT, results):
        assert result.get("failed") is True, (params, result)
        for text in expected:
            assert text in result["msg"], (params, result["msg"])
        assert "Traceback" not in result["msg"] and "pods" not in result, (params, result)


def test_unknown_namespace_and_name_without_namespace(ansible, namespace):
    missing, several, nameless, owner = module_results(ansible, "triage.k8s.crashloop_info", [
        {"namespace": "no-such-namespace-%s" % uuid.uuid4().hex[:6]},
        {"namespaces": [namespace, "nope-a", "nope-b"]},
        {"name": "web-1"},
        {"namespace": namespace, "owner": "Deployment/absent"},
    ])

    assert missing["failed"] and 'namespace "no-such-namespace-' in missing["msg"] and "not found" in missing["msg"]
    assert several["failed"] and 'namespaces "nope-a", "nope-b" not found' in several["msg"], several["msg"]
    assert nameless["failed"] and "name" in nameless["msg"] and "namespace" in nameless["msg"], nameless["msg"]
    assert owner["failed"] and 'Deployment "absent" not found in namespace "%s"' % namespace in owner["msg"]
    for result in (missing, several, nameless, owner):
        assert "pods" not in result and "Traceback" not in result["msg"], result
