"""Real 429s from kube-apiserver's API Priority and Fairness, retried to success by every module.

On the fault cluster (APF on): a PriorityLevelConfiguration with no seats of its own
(nominalConcurrencyShares 0, nothing lent or borrowed, limitResponse Reject) lets one request run
at a time and rejects every other with 429 and Retry-After. Two FlowSchemas send to it the job
ServiceAccounts that run the modules (docs/rbac) and a load ServiceAccount, whose one thread keeps
that single seat busy with slowly read LISTs of 43 MB. A module's requests then meet 429s; the
load stops once the module's own FlowSchema has had REJECTIONS of them rejected (read from
apiserver_flowcontrol_rejected_requests_total), and the module, retrying in Kube.request, must
succeed. Separate FlowSchemas make the rejections countable per identity.
"""

import datetime
import os
import socket
import threading
import time
import uuid

import pytest
import urllib3
from kubernetes import client
from urllib3.connection import HTTPConnection

from conftest import AnsibleRunner
from faults import background, metric_sum
from k8s_helpers import JobIdentity, contract_pod_body, create, deployment_body, service_body, token_kubeconfig, \
    wait_ready_pods

# Unique per run: the API server keeps each priority level's Retry-After history by name for
# its lifetime, and grows Retry-After (up to 32 s) after many rejections, so a level made anew
# under an old name could start with a long Retry-After. Also lets two test sessions run this.
RUN = uuid.uuid4().hex[:5]
LEVEL = "triage-throttle-%s" % RUN
MODULES_FLOW = "triage-throttle-modules-%s" % RUN
LOAD_FLOW = "triage-throttle-load-%s" % RUN
JOBS = {"pod_quarantine": "quarantine", "crashloop_info": "scan", "pod_evidence": "evidence",
        "quarantine_info": "cleanup", "quarantine_cleanup": "cleanup"}
REJECTIONS = 3
# ~43 MB of ConfigMaps for the load to LIST. The API server holds the seat until what is left of
# the response fits in the kernel's socket buffers (~3 MB here), so the seat is busy for ~93% of
# each slowly read LIST.
LOAD_OBJECTS = 48
REJECTED = "apiserver_flowcontrol_rejected_requests_total"


def _flow_schema(name, subjects):
    return {"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema", "metadata": {"name": name},
            "spec": {"priorityLevelConfiguration": {"name": LEVEL}, "matchingPrecedence": 300,
                     "distinguisherMethod": {"type": "ByUser"},
                     "rules": [{"subjects": subjects,
                                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                                                   "clusterScope": True, "namespaces": ["*"]}],
                                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]}}


def _sa_subject(namespace, name):
    return {"kind": "ServiceAccount", "serviceAccount": {"name": name, "namespace": namespace}}


class _Http(object):
    """Raw HTTPS as one ServiceAccount: status and headers; the body is read and dropped."""

    def __init__(self, fault, token, socket_options=None):
        self.host = fault.api.configuration.host
        options = {"socket_options": socket_options} if socket_options else {}
        self.pool = urllib3.PoolManager(ca_certs=fault.api.configuration.ssl_ca_cert, retries=False, **options)
        self.headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}

    def call(self, method, path, body=None, chunk_pause=None, stop=None):
        headers = dict(self.headers, **({"Content-Type": "application/json"} if body else {}))
        response = self.pool.request(method, self.host + path, body=body, headers=headers, preload_content=False,
                                     timeout=60)
        try:
            for _chunk in response.stream(16384):
                if stop is not None and stop.is_set():
                    break
                if chunk_pause:
                    time.sleep(chunk_pause)
        finally:
            if stop is not None and stop.is_set():
                response.close()  # abandoned half read: drop the connection, freeing the seat
            else:
                response.release_conn()
        return response.status, response.headers


class _Load(object):
    """One thread of back-to-back LISTs of ~43 MB as the load identity, each read slowly through a
    small receive window: the API server stays blocked writing the response, so the request holds
    the priority level's one seat for seconds while costing almost no CPU. stop() abandons the
    request being read, which frees the seat at once."""

    def __init__(self, fault, token, path):
        small_window = [(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)]
        self.http = _Http(fault, token, socket_options=HTTPConnection.default_socket_options + small_window)
        self.path = path
        self.stop_event = threading.Event()
        self.statuses = {}
        self.thread = None

    def start(self):
        self.stop_event.clear()
        self.statuses = {}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_event.is_set():
            status = self.http.call("GET", self.path, chunk_pause=0.005, stop=self.stop_event)[0]
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 429:
                # Only while a module request runs; pausing keeps this identity from driving the
                # priority level's Retry-After up.
                self.stop_event.wait(0.05)

    def stop(self):
        self.stop_event.set()
        if self.thread:
            self.thread.join(30)


def _wait_flow(http, flow_uid, timeout=30):
    """The APF configuration controller works asynchronously: wait until this identity's requests
    are classified into our FlowSchema (the response names it)."""
    deadline = time.monotonic() + timeout
    body = '{"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}'
    while True:
        status, headers = http.call("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body)
        if headers.get("X-Kubernetes-PF-FlowSchema-UID") == flow_uid:
            return
        if time.monotonic() >= deadline:
            raise AssertionError("requests were not classified into FlowSchema %s within %ss" % (flow_uid, timeout))
        time.sleep(0.2)


@pytest.fixture(scope="module")
def throttle(fault_cluster, tmp_path_factory):
    """Namespaces, the job and load identities, the priority level and the FlowSchemas."""
    api = fault_cluster.api
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    flow = client.FlowcontrolApiserverV1Api(api)
    ns, load_ns = "throttle-%s" % RUN, "throttle-load-%s" % RUN
    made = {"identities": []}
    with fault_cluster.exclusive():
        fault_cluster.ensure_up()
        for name in (ns, load_ns):
            core.create_namespace({"metadata": {"name": name}})
        blob = "x" * 900000
        for i in range(LOAD_OBJECTS):
            core.create_namespaced_config_map(load_ns, {"metadata": {"name": "load-%d" % i}, "data": {"d": blob}})
        core.create_namespaced_service_account(load_ns, {"metadata": {"name": "load"}})
        rbac.create_namespaced_role(load_ns, {"metadata": {"name": "load"}, "rules": [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]})
        rbac.create_namespaced_role_binding(load_ns, {
            "metadata": {"name": "load"}, "subjects": [{"kind": "ServiceAccount", "name": "load", "namespace": load_ns}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "load"}})
        identities = {}
        for job in sorted(set(JOBS.values())):
            identities[job] = JobIdentity(api, job, ns)
            made["identities"].append(identities[job])
        flow.create_priority_level_configuration({
            "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
            "metadata": {"name": LEVEL},
            "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 0, "lendablePercent": 0,
                                                    "borrowingLimitPercent": 0, "limitResponse": {"type": "Reject"}}}})
        modules_flow = flow.create_flow_schema(_flow_schema(MODULES_FLOW, [
            _sa_subject(ns, i.sa) for i in identities.values()]))
        load_flow = flow.create_flow_schema(_flow_schema(LOAD_FLOW, [_sa_subject(load_ns, "load")]))

        load_token = core.create_namespaced_service_account_token(
            "load", load_ns, {"spec": {"expirationSeconds": 3600}}).status.token
        _wait_flow(_Http(fault_cluster, load_token), load_flow.metadata.uid)
        kubeconfigs = {}
        directory = tmp_path_factory.mktemp("throttle")
        for job, identity in identities.items():
            token = identity.token(3600)
            path = directory / ("%s.kubeconfig" % job)
            path.write_text(token_kubeconfig(api, token, "throttled"))
            kubeconfigs[job] = str(path)
            _wait_flow(_Http(fault_cluster, token), modules_flow.metadata.uid)
    try:
        yield {"ns": ns, "api": api, "core": core, "kubeconfigs": kubeconfigs,
               "load": _Load(fault_cluster, load_token, "/api/v1/namespaces/%s/configmaps" % load_ns)}
    finally:
        with fault_cluster.exclusive():
            fault_cluster.ensure_up()
            for call, name in ((flow.delete_flow_schema, MODULES_FLOW), (flow.delete_flow_schema, LOAD_FLOW),
                               (flow.delete_priority_level_configuration, LEVEL),
                               (core.delete_namespace, ns), (core.delete_namespace, load_ns)):
                try:
                    call(name)
                except client.ApiException:
                    pass
            for identity in made["identities"]:
                identity.delete()


def _rejected(fault, flow):
    return metric_sum(fault.metrics(), REJECTED, flow_schema=flow, priority_level=LEVEL)


def _run_throttled(fault, throttle, run, timeout=240):
    """Run `run()` (a module call) while the load keeps the seat busy, until the modules'
    FlowSchema has had REJECTIONS requests rejected; return (result, rejected, load statuses)."""
    before = _rejected(fault, MODULES_FLOW)
    throttle["load"].start()
    try:
        future = background(run)
        deadline = time.monotonic() + timeout
        while not future.done() and _rejected(fault, MODULES_FLOW) - before < REJECTIONS:
            assert time.monotonic() < deadline, "the module was never rejected while the load ran"
            time.sleep(0.3)
    finally:
        throttle["load"].stop()
    result = future.result(timeout=timeout)
    return result, _rejected(fault, MODULES_FLOW) - before, dict(throttle["load"].statuses)


def _web(throttle, name):
    create(throttle["api"], throttle["ns"], deployment_body(name, 2, {"app": name}))
    create(throttle["api"], throttle["ns"], service_body(name, {"app": name}))
    pods = wait_ready_pods(throttle["core"], throttle["ns"], 2, "app=%s" % name)
    return sorted(p.metadata.name for p in pods)[0]


def _prepare(module, throttle, tmp_path):
    """(module args, check(result)) for one module."""
    ns, core = throttle["ns"], throttle["core"]
    if module == "pod_quarantine":
        pod = _web(throttle, "web-q")

        def check(result):
            labels = core.read_namespaced_pod(pod, ns).metadata.labels
            assert result["changed"] is True and labels.get("triage.k8s/quarantined") == "true", (result, labels)
        return {"name": pod, "namespace": ns}, check
    if module == "pod_evidence":
        pod = _web(throttle, "web-e")
        dest = str(tmp_path / "evidence")

        def check(result):
            assert result.get("bundle") and os.path.isdir(result["bundle"]), result
        return {"name": pod, "namespace": ns, "dest": dest,
                "include": ["manifest", "describe", "events", "owners", "node", "services"]}, check
    if module == "crashloop_info":
        _web(throttle, "web-c")

        def check(result):
            assert any(p["name"].startswith("web-c-") for p in result["pods"]), result
        return {"namespace": ns}, check
    if module == "quarantine_info":
        past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
        create(throttle["api"], ns, contract_pod_body("held-i", past))

        def check(result):
            assert "held-i" in [p["name"] for p in result["pods"]], result
        return {"namespaces": [ns]}, check
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)
    create(throttle["api"], ns, contract_pod_body("expired-k", past, past, evidence="bundle-k"))

    def check(result):
        assert "expired-k" in [p["name"] for p in result["pods_deleted"]], result
    return {"namespaces": [ns], "grace_period": 0}, check


@pytest.mark.parametrize("module", sorted(JOBS))
def test_module_succeeds_through_real_429s(module, fault, throttle, tmp_path):
    args, check = _prepare(module, throttle, tmp_path)
    runner = AnsibleRunner(throttle["kubeconfigs"][JOBS[module]], "throttled", str(tmp_path))

    result, rejected, load = _run_throttled(fault, throttle, lambda: runner.module("triage.k8s." + module, args))

    assert rejected >= REJECTIONS, "only %d of the module's requests got a 429 (load: %s)" % (rejected, load)
    assert not result.get("failed"), result
    check(result)
