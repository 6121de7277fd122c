"""The fault harness itself (faults.py): a killed API server refuses connections, one started
again is healthy and still has every object (etcd kept running), and the kube.py test hook
holds a module at the chosen call until resumed."""

import time

import pytest
import urllib3
from kubernetes import client

from faults import Hook, background
from k8s_helpers import deployment_body, create, wait_ready_pods


def test_killed_apiserver_refuses_and_started_one_has_the_data(fault, fault_namespace):
    core = client.CoreV1Api(fault.api)
    core.create_namespaced_config_map(fault_namespace, {"metadata": {"name": "before"}, "data": {"k": "v"}})

    old = fault.kill_apiserver()
    assert fault.apiserver_pid() is None
    assert fault.refuses_connections()
    assert not fault.healthy()
    with pytest.raises(urllib3.exceptions.MaxRetryError) as raised:
        core.read_namespaced_config_map("before", fault_namespace, _request_timeout=5)
    assert "Connection refused" in str(raised.value)

    started = time.monotonic()
    fault.start_apiserver()
    assert fault.healthy()
    assert fault.apiserver_pid() not in (None, old)
    assert time.monotonic() - started < 120
    assert core.read_namespaced_config_map("before", fault_namespace).data == {"k": "v"}
    core.create_namespaced_config_map(fault_namespace, {"metadata": {"name": "after"}})
    assert "kube_apiserver" in fault.metrics() or "apiserver_request_total" in fault.metrics()


def test_hook_pauses_a_module_after_its_patch_until_resumed(fault, fault_ansible, fault_namespace, tmp_path):
    core = client.CoreV1Api(fault.api)
    create(fault.api, fault_namespace, deployment_body("web", 2, {"app": "web"}))
    pod = sorted(p.metadata.name for p in wait_ready_pods(core, fault_namespace, 2, "app=web"))[0]
    hook = Hook("pause:PATCH:pods:1", str(tmp_path / "hook"))
    run = background(fault_ansible.module, "triage.k8s.pod_quarantine",
                     {"name": pod, "namespace": fault_namespace}, env=hook.env)
    hook.wait_paused(120, run)
    # Held after the PATCH landed: the pod is already relabelled, the module has not finished.
    labels = core.read_namespaced_pod(pod, fault_namespace).metadata.labels
    assert labels.get("triage.k8s/quarantined") == "true", labels
    assert not run.done()
    hook.resume()
    result = run.result(timeout=300)
    assert not result.get("failed"), result
    assert result["changed"] is True
