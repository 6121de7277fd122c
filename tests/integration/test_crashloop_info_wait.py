"""triage.k8s.crashloop_info as a rollout gate (wait_for: stable) on the real local control
plane: fail fast on a diagnosed failure long before wait_timeout, pass a stable Deployment after
`settle`, follow a rollout that replaces the pods mid-wait (to a stable or a crash-looping
template), and explain a timeout with the diagnosis of the pods that never got Ready."""

import datetime
import threading
import time

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import parse_rfc3339
from k8s_helpers import create, crashloop_info, deployment_body, pods_by_name, require_stages, wait_list

SIM = "sim.triage.k8s/"


def _gate(ansible, namespace, name, **params):
    params.setdefault("wait_timeout", 300)
    return crashloop_info(ansible, namespace=namespace, owner="Deployment/%s" % name, wait_for="stable", **params)


def _in_background(fn, *args, **kwargs):
    """Start fn in a thread; return a function that joins it and returns fn's result."""
    box = {}

    def target():
        box["result"] = fn(*args, **kwargs)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()

    def join(timeout=240):
        thread.join(timeout)
        assert "result" in box, "the module did not finish within %ss" % timeout
        return box["result"]
    return join


def _replica_sets(apps, namespace, name):
    """{revision: ReplicaSet name} of a Deployment."""
    items = apps.list_namespaced_replica_set(namespace, label_selector="app=%s" % name).items
    return dict((int(rs.metadata.annotations["deployment.kubernetes.io/revision"]), rs.metadata.name) for rs in items)


def _set_template_annotations(apps, namespace, name, annotations):
    """A new pod template (a new rollout): the given annotations replace the sim ones."""
    current = apps.read_namespaced_deployment(name, namespace).spec.template.metadata.annotations or {}
    patch = dict((key, None) for key in current if key.startswith(SIM))
    patch.update(annotations)
    apps.patch_namespaced_deployment(name, namespace, {"spec": {"template": {"metadata": {"annotations": patch}}}})


FAIL_FAST = [
    ("crash_loop", {SIM + "behavior": "crashloop"}, None, ["kubectl logs", "--previous"]),
    ("image_pull", {SIM + "behavior": "imagepull"}, None, ["imagePullSecrets"]),
    ("config_error", {SIM + "behavior": "configerror"}, None, ["ConfigMap"]),
    ("unschedulable", {}, {"disk": "none-has-it"}, ["nodeSelector"]),
]


@pytest.mark.parametrize("klass,annotations,node_selector,hints", FAIL_FAST, ids=[f[0] for f in FAIL_FAST])
def test_a_failing_rollout_fails_fast_with_the_diagnosis(api, namespace, ansible, klass, annotations, node_selector,
                                                         hints):
    create(api, namespace, deployment_body("web", 2, {"app": "web"}, pod_annotations=annotations,
                                           node_selector=node_selector))

    result = _gate(ansible, namespace, "web", wait_timeout=300)

    assert result.get("failed") is True, result
    assert result["wait"]["verdict"] == "failing"
    assert result["wait"]["elapsed_seconds"] < 60, result["wait"]
    msg = result["msg"]
    assert msg.startswith("rollout is failing after") and " is %s: " % klass in msg and "Next: " in msg, msg
    for hint in hints:
        assert hint in msg, msg
    assert result["wait"]["failing"][0]["class"] == klass
    assert all(p["owner"]["kind"] == "ReplicaSet" for p in result["pods"]) and result["crashloop_detected"] is (
        klass == "crash_loop")
    assert "Traceback" not in msg


def test_a_stable_deployment_passes_after_settle(api, core, namespace, ansible):
    create(api, namespace, deployment_body("web", 3, {"app": "web"}))

    result = _gate(ansible, namespace, "web", settle="10s", wait_timeout=120)
    returned = datetime.datetime.now(datetime.timezone.utc)

    assert not result.get("failed"), result
    wait = result["wait"]
    assert wait["verdict"] == "stable" and wait["failing"] == [], wait
    assert wait["elapsed_seconds"] < 60, wait
    assert "3 pod(s) Ready and settled for 10s" in wait["message"]
    # Settled means Ready for `settle`: counted from each pod's Ready transition (whole seconds).
    last_ready = max(p["ready_since"] for p in result["pods"])
    assert returned >= parse_rfc3339(last_ready) + datetime.timedelta(seconds=9), (returned, last_ready)
    assert sorted(p["class"] for p in result["pods"]) == ["healthy"] * 3
    assert result["crashloop_detected"] is False and result["unhealthy"] == []


def test_a_rollout_that_replaces_the_pods_mid_wait_is_followed_to_the_new_pods(api, apps, core, namespace, ansible):
    # Version 1 never gets Ready (not a failure the gate fails on: it keeps waiting).
    create(api, namespace, deployment_body("web", 2, {"app": "web"}, pod_annotations={SIM + "behavior": "pending"}))
    wait_list(core.list_namespaced_pod, lambda ps: len(ps) == 2, timeout=60, what="2 pods of version 1",
              namespace=namespace)
    started = time.monotonic()
    join = _in_background(_gate, ansible, namespace, "web", settle="3s", wait_timeout=120)
    time.sleep(4)  # the gate is watching version 1

    _set_template_annotations(apps, namespace, "web", {"rollout": "v2"})
    result = join()

    assert not result.get("failed"), result
    assert result["wait"]["verdict"] == "stable", result["wait"]
    assert time.monotonic() - started > 4
    new_rs = _replica_sets(apps, namespace, "web")[2]
    assert new_rs in result["wait"]["scope"], result["wait"]
    pods = result["pods"]
    assert len(pods) == 2 and all(p["owner"]["name"] == new_rs and p["class"] == "healthy" for p in pods), pods


def test_a_rollout_to_a_crash_looping_template_mid_wait_fails_on_the_new_pods(api, apps, core, namespace, ansible):
    create(api, namespace, deployment_body("web", 2, {"app": "web"}))
    join = _in_background(_gate, ansible, namespace, "web", settle="90s", wait_timeout=240)
    time.sleep(4)  # the gate is watching version 1 settle

    _set_template_annotations(apps, namespace, "web", {SIM + "behavior": "crashloop", SIM + "exit-code": "42"})
    result = join()

    assert result.get("failed") is True and result["wait"]["verdict"] == "failing", result
    assert result["wait"]["elapsed_seconds"] < 80, result["wait"]
    new_rs = _replica_sets(apps, namespace, "web")[2]
    failing = result["wait"]["failing"]
    assert failing and all(p["name"].startswith(new_rs + "-") for p in failing), (new_rs, failing)
    assert "exit code 42" in result["msg"] and "crash_loop" in result["msg"]
    assert new_rs in result["wait"]["scope"]


def test_a_timeout_names_the_pods_that_never_got_ready_and_why(api, core, namespace, ansible, context):
    require_stages(context, "sim-unready-start", "sim-unready-probe")
    create(api, namespace, deployment_body("web", 2, {"app": "web"}, pod_annotations={SIM + "behavior": "unready"}))
    wait_list(core.list_namespaced_pod, lambda ps: len(ps) == 2 and all(p.status.phase == "Running" for p in ps),
              timeout=60, what="2 running pods", namespace=namespace)

    result = _gate(ansible, namespace, "web", wait_timeout=6, grace_period="1s", settle="3s")

    assert result.get("failed") is True, result
    msg = result["msg"]
    assert msg.startswith("timed out after 6s waiting for a stable rollout of Deployment %s/web" % namespace), msg
    assert "0 pod(s) Ready of 2 expected" in msg and "is probe_failure" in msg and "Readiness probe failed" in msg, msg
    assert result["wait"]["verdict"] == "progressing"
    assert sorted(p["class"] for p in result["pods"]) == ["probe_failure"] * 2
    assert set(pods_by_name(result)) == set(p.metadata.name for p in core.list_namespaced_pod(namespace).items)


def test_a_deployment_scaled_to_zero_is_stable_at_once(api, namespace, ansible):
    create(api, namespace, deployment_body("idle", 0, {"app": "idle"}))

    result = _gate(ansible, namespace, "idle", settle="30s", wait_timeout=60)

    assert not result.get("failed"), result
    assert result["wait"]["verdict"] == "stable" and result["wait"]["elapsed_seconds"] < 30, result["wait"]
    assert result["pods"] == []
