"""docs/rbac/: each job's playbook passes under a ServiceAccount token bound to the job's roles, and
with one verb taken away it fails with a message that names the verb and the resource.

The playbooks get no kubeconfig: only the K8S_AUTH_* variables of a bearer token (host, token, CA
file, verify), read through the auth options' environment fallback, as under AWX's bearer token
credential. JobIdentity (k8s_helpers) binds the roles exactly as the docs/rbac file does.
"""

import datetime
import json
import os
import re

import pytest
from kubernetes import client

from k8s_helpers import (
    RBAC_DIR, bearer_token_env, contract_pod_body, contract_policy_body, crash_looping_pod, create,
    deployment_body, labels_after_release, names_in, pod_ready, serve_exec, serve_logs, serving_deployment, wait_list, wait_pod,
)

QUARANTINED = "triage.k8s/quarantined"


class Job:
    """Runs triage.k8s playbooks as one identity, with only the bearer token variables."""

    def __init__(self, ansible, api, identity, tmp_path):
        self.ansible = ansible
        self.token = identity.token()
        self.env = bearer_token_env(api, self.token, str(tmp_path))

    def run(self, playbook, **extra_vars):
        proc = self.ansible.playbook("triage.k8s.%s" % playbook, extra_vars=extra_vars, env=self.env)
        out = proc.stdout + proc.stderr
        assert self.token not in out and "Traceback" not in out, out
        return proc, out

    def passes(self, playbook, **extra_vars):
        proc, out = self.run(playbook, **extra_vars)
        assert proc.returncode == 0, out
        # The role grants create on events.k8s.io events: every change's Event was written (docs/contract.md).
        assert "no Kubernetes Event" not in out, out
        return out

    def denied(self, playbook, verb, resource, **extra_vars):
        proc, out = self.run(playbook, **extra_vars)
        assert proc.returncode != 0, out
        assert 'Forbidden: cannot %s %s' % (verb, resource) in out, out
        assert 'grant the "%s" verb on "%s"' % (verb, resource) in out, out
        return out


def test_manifests_apply_as_shipped(core, kubectl):
    """kubectl takes each file as it is (a v1 List), and the API server accepts every object."""
    created = False
    try:
        core.read_namespace("triage")
    except client.ApiException as exc:
        assert exc.status == 404
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="triage")))
        created = True
    try:
        for job in ("scan", "quarantine", "evidence", "cleanup"):
            out = kubectl("apply", "--dry-run=server", "-f", os.path.join(RBAC_DIR, job + ".yaml")).stdout
            assert "serviceaccount/triage-%s created (server dry run)" % job in out, out
            assert "clusterrole.rbac.authorization.k8s.io/triage-k8s-%s created (server dry run)" % job in out, out
        out = kubectl("apply", "--dry-run=client", "-f", os.path.join(RBAC_DIR, "namespaced.yaml")).stdout
        assert "rolebinding.rbac.authorization.k8s.io/triage-k8s-quarantine created" in out, out
    finally:
        if created:
            core.delete_namespace("triage", grace_period_seconds=0)


# ---------------------------------------------------------------- scan: crashloop_scan, rollout_gate

def test_scan_role_runs_crashloop_scan_and_rollout_gate(core, api, namespace, identities, ansible, tmp_path):
    sick = crash_looping_pod(core, api, namespace, "broken")
    create(api, namespace, deployment_body("steady", 1, {"app": "steady"}))
    job = Job(ansible, api, identities("scan", namespace), tmp_path)

    job.passes("crashloop_scan", namespaces=namespace, report_dir=str(tmp_path / "reports"),
               crashloop_scan_restart_threshold=1)
    with open(str(tmp_path / "reports" / "crashloop-127.0.0.1.json")) as f:
        assert [p["name"] for p in json.load(f)["unhealthy_pods"]] == [sick]

    out = job.passes("rollout_gate", deployment="steady", namespace=namespace, settle="2s", wait_timeout=120)
    assert "%s/steady: stable" % namespace in out


@pytest.mark.parametrize("playbook, without", [
    ("crashloop_scan", ("pods", "list")),
    ("rollout_gate", ("pods", "watch")),
], ids=["crashloop_scan-list-pods", "rollout_gate-watch-pods"])
def test_scan_role_without_a_verb(core, api, namespace, identities, ansible, tmp_path, playbook, without):
    create(api, namespace, deployment_body("steady", 1, {"app": "steady"}))
    job = Job(ansible, api, identities("scan", namespace, without=without), tmp_path)
    # A settle time the pod has not reached yet: the gate must watch.
    extra = ({"namespaces": namespace, "report_dir": str(tmp_path / "reports")} if playbook == "crashloop_scan"
             else {"deployment": "steady", "namespace": namespace, "settle": "10m", "wait_timeout": 60})

    job.denied(playbook, without[1], without[0], **extra)


# ---------------------------------------------------------------- quarantine (and its evidence), release

def test_quarantine_role_runs_quarantine_and_release(core, api, namespace, identities, ansible, tmp_path):
    victim = serving_deployment(core, api, namespace, replicas=2)[0]
    identity = identities("quarantine", namespace)
    job = Job(ansible, api, identity, tmp_path)

    out = job.passes("quarantine", pod=victim, namespace=namespace, reason="rbac test", network_isolation=True)

    pod = core.read_namespaced_pod(victim, namespace)
    assert pod.metadata.labels[QUARANTINED] == "true"
    # The identity the API server reports (SelfSubjectReview): the token really was the one used.
    assert pod.metadata.annotations["triage.k8s/quarantined-by"] == identity.user
    assert "relabelling failed" not in out, out  # the evidence after relabelling too
    assert "triage.k8s/evidence" in pod.metadata.annotations
    policy = pod.metadata.annotations["triage.k8s/network-policy"]

    job.passes("release", pod=victim, namespace=namespace)

    assert QUARANTINED not in labels_after_release(core, victim, namespace, {"app": "web"})
    assert policy not in names_in(api, namespace, kind="NetworkPolicy")


@pytest.mark.parametrize("without", [
    ("pods", "patch"),
    ("networkpolicies", "create"),
    ("services", "list"),
    ("poddisruptionbudgets", "list"),
], ids=lambda w: "%s-%s" % (w[1], w[0]))
def test_quarantine_role_without_a_verb(core, api, namespace, identities, ansible, tmp_path, without):
    victim = serving_deployment(core, api, namespace, replicas=2)[0]
    job = Job(ansible, api, identities("quarantine", namespace, without=without), tmp_path)

    job.denied("quarantine", without[1], without[0], pod=victim, namespace=namespace, reason="rbac test",
               network_isolation=True)

    # Refused before anything was written, and no NetworkPolicy left behind.
    assert QUARANTINED not in core.read_namespaced_pod(victim, namespace).metadata.labels
    assert names_in(api, namespace, kind="NetworkPolicy") == []


def test_quarantine_role_bound_in_one_namespace(core, api, namespace, identities, ansible, tmp_path):
    victim = serving_deployment(core, api, namespace, replicas=2)[0]
    other = "%s-other" % namespace[:55]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=other)))
    try:
        create(api, other, deployment_body("web", 2, {"app": "web"}))
        job = Job(ansible, api, identities("quarantine", namespace, bind_in=[namespace]), tmp_path)

        job.passes("quarantine", pod=victim, namespace=namespace, reason="rbac test")
        assert core.read_namespaced_pod(victim, namespace).metadata.labels[QUARANTINED] == "true"
        # Reading its own namespace object is allowed by the RoleBinding: a missing pod is reported as such.
        proc, out = job.run("quarantine", pod="nope", namespace=namespace, reason="rbac test")
        assert proc.returncode != 0 and 'pod "nope" not found in namespace "%s"' % namespace in out, out

        job.denied("quarantine", "get", "pods", pod="web-anything", namespace=other, reason="rbac test")
    finally:
        core.delete_namespace(other, grace_period_seconds=0, propagation_policy="Background")


# ---------------------------------------------------------------- evidence

def _quarantined_pod_with_logs_and_exec(core, api, namespace, workdir):
    """A running pod carrying the quarantine contract (so evidence annotates it), serving logs and exec."""
    body = contract_pod_body("victim", datetime.datetime.now(datetime.timezone.utc))
    create(api, namespace, body)
    wait_pod(core, namespace, "victim", pod_ready, "the pod to be Ready")
    serve_logs(api, namespace, "victim", workdir, {"app": (["started", "serving"], [])})
    serve_exec(api, namespace, "victim", workdir)
    return "victim"


def test_evidence_role_runs_collect_evidence(core, api, namespace, identities, ansible, workdir, tmp_path):
    victim = _quarantined_pod_with_logs_and_exec(core, api, namespace, workdir)
    job = Job(ansible, api, identities("evidence", namespace), tmp_path)
    dest = tmp_path / "bundles"

    job.passes("collect_evidence", pod=victim, namespace=namespace, dest=str(dest),
               required=["manifest", "describe", "events", "node", "services", "logs", "exec"],
               exec=[{"command": ["echo", "from exec"]}])

    (bundle,) = os.listdir(str(dest))
    with open(str(dest / bundle / "manifest.json")) as f:
        manifest = json.load(f)
    assert manifest["failed"] == [], manifest["failed"]
    assert "triage.k8s/evidence" in core.read_namespaced_pod(victim, namespace).metadata.annotations


@pytest.mark.parametrize("without, extra", [
    (("pods/log", "get"), {"required": ["logs"]}),
    (("pods", "patch"), {}),
], ids=["get-pods/log", "patch-pods"])
def test_evidence_role_without_a_verb(core, api, namespace, identities, ansible, workdir, tmp_path, without, extra):
    victim = _quarantined_pod_with_logs_and_exec(core, api, namespace, workdir)
    job = Job(ansible, api, identities("evidence", namespace, without=without), tmp_path)

    job.denied("collect_evidence", without[1], without[0], pod=victim, namespace=namespace,
               dest=str(tmp_path / "bundles"), **extra)

    assert "triage.k8s/evidence" not in core.read_namespaced_pod(victim, namespace).metadata.annotations


@pytest.mark.parametrize("verb, server_says", [
    ("get", r'cannot get resource \W+pods/exec\W'),
    ("create", r'pods \W+victim\W+ is forbidden: \W'),
], ids=["get", "create"])
def test_evidence_role_without_a_verb_on_pods_exec(core, api, namespace, identities, ansible, workdir, tmp_path, verb,
                                                   server_says):
    """exec goes over a websocket: the API server checks get on pods/exec for the upgrade request and,
    since Kubernetes 1.30, create too. A refused upgrade reaches the module as a failed handshake,
    which it reports as a Forbidden naming both verbs, with the API server's own answer."""
    victim = _quarantined_pod_with_logs_and_exec(core, api, namespace, workdir)
    job = Job(ansible, api, identities("evidence", namespace, without=("pods/exec", verb)), tmp_path)

    proc, out = job.run("collect_evidence", pod=victim, namespace=namespace, dest=str(tmp_path / "bundles"),
                        required=["exec"], exec=[{"command": ["echo", "hi"]}])

    assert proc.returncode != 0, out
    assert "required evidence was not collected: exec failed" in out, out
    assert 'Forbidden: cannot create pods/exec in namespace "%s"' % namespace in out, out
    assert 'grant the "create" and "get" verbs on "pods/exec"' in out, out
    assert re.search(server_says, out), out
    assert "triage.k8s/evidence" not in core.read_namespaced_pod(victim, namespace).metadata.annotations


# ---------------------------------------------------------------- cleanup

def _expired_quarantine(api, namespace):
    now = datetime.datetime.now(datetime.timezone.utc)
    hour = datetime.timedelta(hours=1)
    pod = create(api, namespace, contract_pod_body("expired", now - 3 * hour, now - hour, evidence="bundle-1",
                                                   network_policy="np-expired"))
    create(api, namespace, contract_policy_body("np-expired", "expired", pod.metadata.uid))


def test_cleanup_role_runs_cleanup(core, api, namespace, identities, ansible, tmp_path):
    _expired_quarantine(api, namespace)
    job = Job(ansible, api, identities("cleanup", namespace), tmp_path)

    job.passes("cleanup", namespaces=namespace, report_dir="")

    wait_list(core.list_namespaced_pod, lambda ps: not ps, timeout=30, what="the expired pod to go", namespace=namespace)
    assert names_in(api, namespace, kind="NetworkPolicy") == []


@pytest.mark.parametrize("without", [("pods", "delete"), ("networkpolicies", "list")],
                         ids=lambda w: "%s-%s" % (w[1], w[0]))
def test_cleanup_role_without_a_verb(core, api, namespace, identities, ansible, tmp_path, without):
    _expired_quarantine(api, namespace)
    job = Job(ansible, api, identities("cleanup", namespace, without=without), tmp_path)

    job.denied("cleanup", without[1], without[0], namespaces=namespace, report_dir="")

    assert names_in(api, namespace) == ["expired"]
