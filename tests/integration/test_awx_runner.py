"""The AWX jobs, run the way AWX runs them: ansible-runner on a private data dir laid out as AWX lays
it out (tests/integration/awx_job.py: envvars, env/extravars, env/settings, inventory/hosts, project/), with the example
project's one-line playbooks (examples/awx-project), survey answers from examples/awx/survey-*.json
as unsafe extra vars, AWX's awx_* variables, and either credential style:

- bearer_token: AWX's built-in "OpenShift or Kubernetes API Bearer Token" credential, which sets
  K8S_AUTH_HOST, K8S_AUTH_API_KEY, K8S_AUTH_VERIFY_SSL and K8S_AUTH_SSL_CA_CERT (the CA written
  to a private file in env/);
- kubeconfig: the custom credential type examples/awx/credential-type-kubeconfig.yml, its
  injectors rendered the way AWX renders them (the kubeconfig in a private file in env/,
  K8S_AUTH_KUBECONFIG and K8S_AUTH_CONTEXT).

Tokens come from the TokenRequest API, for a ServiceAccount bound to the job's roles in docs/rbac/.
No token may appear in the runner's stdout, job events or artifacts, nor in the reports and
bundles the job writes.
"""

import datetime
import json
import os
import re

import pytest
import yaml
from kubernetes import client

import awx_job
from awx_job import JOB_ID, JWT_PREFIX, PROJECT, REPO, kubeconfig_credential, load_survey
from awx_job import _choices, check_answer as _check_answer
from k8s_helpers import (
    bearer_token_env, contract_pod_body, contract_policy_body, crash_looping_pod, create,
    deployment_body, endpoint_slice_pods, labels_after_release, names_in, quarantine, serve_logs, serving_deployment, token_kubeconfig,
    wait_list,
)

STYLES = ["bearer_token", "kubeconfig"]
PLAYBOOKS = ["quarantine", "release", "collect_evidence", "crashloop_scan", "rollout_gate", "cleanup"]
SURVEYS = {"quarantine": "quarantine", "release": "release", "collect_evidence": "evidence",
           "crashloop_scan": "crashloop-scan", "rollout_gate": "rollout-gate", "cleanup": "cleanup"}
QUESTION_TYPES = ("text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect")


class AwxJob:
    """One job against one cluster: the private data dir (awx_job.AwxJob), the credential, the run
    and what it left."""

    def __init__(self, tmp_path, api, identity, style, playbook, answers, template_vars=None, host="localhost"):
        self.token = identity.token()
        self.style = style
        if style == "bearer_token":
            def credential(env_dir):
                return bearer_token_env(api, self.token, env_dir)
        else:
            credential = kubeconfig_credential(token_kubeconfig(api, self.token, "awx-cluster"), "awx-cluster")
        self.job = awx_job.AwxJob(tmp_path / ("job-%s" % playbook), playbook, survey=SURVEYS[playbook],
                                  answers=answers, template_vars=template_vars, inventory=host,
                                  credentials=[credential], secrets=[self.token])
        self.pdd, self.runner, self.events = self.job.pdd, self.job.runner, self.job.events
        self.stdout, self.artifacts = self.job.stdout, self.job.artifacts

    def assert_successful(self):
        self.job.assert_successful()

    def assert_no_token(self, *elsewhere):
        """Walk everything the job left outside env/ (where AWX itself writes the credential):
        artifacts (stdout, job events, command, ...), reports and bundles under project/, and the
        directories given (reports written outside the private data dir)."""
        assert self.events and self.stdout
        leaks = self.job.leaks(*elsewhere)
        expected = []
        if self.style == "bearer_token":
            # ansible-runner itself records the environment it was given (the job's envvars and the
            # credential's variables) in artifacts/<ident>/command. That is the credential as AWX
            # handed it over, not output: the token is there only as K8S_AUTH_API_KEY.
            command = os.path.join("artifacts", str(JOB_ID), "command")
            expected = [command]
            with open(os.path.join(self.pdd, command)) as f:
                recorded = json.load(f)
            assert recorded["env"].pop("K8S_AUTH_API_KEY") == self.token
            rest = json.dumps(recorded)
            assert self.token not in rest and JWT_PREFIX not in rest
        assert leaks == expected, leaks


# ---------------------------------------------------------------- the example files themselves

def test_project_has_a_one_line_playbook_for_every_collection_playbook():
    collection = sorted(os.path.splitext(n)[0] for n in os.listdir(os.path.join(REPO, "playbooks")) if n.endswith(".yml"))
    project = sorted(os.path.splitext(n)[0] for n in os.listdir(PROJECT) if n.endswith(".yml"))
    assert project == collection
    for name in project:
        with open(os.path.join(PROJECT, name + ".yml")) as f:
            (play,) = yaml.safe_load(f)
        assert play["ansible.builtin.import_playbook"] == "triage.k8s.%s" % name
    with open(os.path.join(PROJECT, "collections", "requirements.yml")) as f:
        assert [c["name"] for c in yaml.safe_load(f)["collections"]] == ["triage.k8s"]


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_survey_specs_are_valid_and_every_answer_is_used(playbook):
    survey = load_survey(SURVEYS[playbook])
    assert survey["name"] and survey["description"] and survey["spec"]
    variables = [q["variable"] for q in survey["spec"]]
    assert len(variables) == len(set(variables))
    for question in survey["spec"]:
        assert question["type"] in QUESTION_TYPES, question
        assert question["question_name"] and question["question_description"] and isinstance(question["required"], bool)
        if question["type"] in ("multiplechoice", "multiselect"):
            assert _choices(question), question
        if question.get("default") not in (None, ""):
            default = question["default"]
            _check_answer(question, default.split("\n") if question["type"] == "multiselect" else default)
    # Every answer reaches the playbook: the collection playbook reads each variable in a template.
    with open(os.path.join(REPO, "playbooks", playbook + ".yml")) as f:
        source = f.read()
    for var in variables:
        used = re.search(r"\{\{[^}]*(?<![\w.'])%s\b[^}]*\}\}" % var, source) or "vars['%s']" % var in source
        assert used, "%s.yml ignores survey variable %s" % (playbook, var)


# ---------------------------------------------------------------- the jobs

@pytest.mark.parametrize("style", STYLES)
def test_quarantine_and_release_jobs(core, api, namespace, identities, tmp_path, style):
    victim = serving_deployment(core, api, namespace, replicas=2)[0]
    identity = identities("quarantine", namespace)
    reason = "OOM at 03:00, heap dump {{ pending }}"  # a survey answer is never templated
    # The artifacts name the cluster: the context the credential sets, or, with the bearer-token
    # credential, the API server's host name.
    host = "prod-eu" if style == "kubeconfig" else "localhost"
    cluster = "awx-cluster" if style == "kubeconfig" else "127.0.0.1"

    job = AwxJob(tmp_path, api, identity, style, "quarantine", {
        "pod": victim, "namespace": namespace, "reason": reason, "ttl": "2h", "network_isolation": "true"},
        host=host)

    job.assert_successful()
    pod = core.read_namespaced_pod(victim, namespace)
    assert pod.metadata.labels["triage.k8s/quarantined"] == "true"
    annotations = pod.metadata.annotations
    assert annotations["triage.k8s/reason"] == reason
    assert annotations["triage.k8s/quarantined-by"] == "oncall (awx job %d)" % JOB_ID
    policy = annotations["triage.k8s/network-policy"]
    assert policy in names_in(api, namespace, kind="NetworkPolicy")
    assert victim not in endpoint_slice_pods(client.DiscoveryV1Api(api), namespace, "web")
    # What AWX shows as the job's artifacts and hands to the next workflow node.
    (reported,) = job.artifacts["triage_quarantined_pods"]
    assert reported == {"cluster": cluster, "namespace": namespace, "pod": victim,
                        "expires_at": annotations["triage.k8s/expires-at"]}
    bundles = job.artifacts["triage_evidence_bundles"]
    # One bundle, after relabelling (quarantine_evidence_before_relabel false: traffic off first).
    assert [b["stage"] for b in bundles] == ["after relabelling"], bundles
    for bundle in bundles:
        assert bundle["pod"] == victim and os.path.isdir(bundle["bundle"]), bundle
        assert bundle["bundle"].startswith(os.path.join(job.pdd, "project", "evidence"))
    job.assert_no_token()

    release = AwxJob(tmp_path, api, identity, style, "release", {"pod": victim, "namespace": namespace}, host=host)

    release.assert_successful()
    labels = labels_after_release(core, victim, namespace, {"app": "web"})
    assert "triage.k8s/quarantined" not in labels and labels["app"] == "web"
    assert policy not in names_in(api, namespace, kind="NetworkPolicy")
    release.assert_no_token()


@pytest.mark.parametrize("style", STYLES)
def test_crashloop_scan_job(core, api, namespace, identities, tmp_path, style):
    sick = crash_looping_pod(core, api, namespace, "broken")
    identity = identities("scan", namespace)
    reports_dir = str(tmp_path / "reports")

    # The job template's own extra vars: storage that outlives the job, and a role default (one
    # restart is a crash loop here, so the verdict does not depend on where the pod is in its cycle).
    job = AwxJob(tmp_path, api, identity, style, "crashloop_scan", {"namespaces": namespace},
                 template_vars={"report_dir": reports_dir, "crashloop_scan_restart_threshold": 1})

    job.assert_successful()
    reports = job.artifacts["triage_crashloop_reports"]
    cluster = "awx-cluster" if style == "kubeconfig" else "127.0.0.1"  # the credential's context, or the server
    assert sorted(reports) == sorted(os.path.join(reports_dir, "crashloop-%s.%s" % (name, ext))
                                     for name in (cluster, "fleet") for ext in ("json", "md"))
    with open(reports[0]) as f:
        report = json.load(f)
    assert [(p["name"], p["class"]) for p in report["unhealthy_pods"]] == [(sick, "crash_loop")]
    assert job.artifacts["triage_quarantined_pods"] == []
    job.assert_no_token(reports_dir)


@pytest.mark.parametrize("style", STYLES)
def test_rollout_gate_job(core, api, namespace, identities, tmp_path, style):
    create(api, namespace, deployment_body("steady", 1, {"app": "steady"}))
    identity = identities("scan", namespace)

    job = AwxJob(tmp_path, api, identity, style, "rollout_gate",
                 {"deployment": "steady", "namespace": namespace, "settle": "2s", "wait_timeout": 120})

    job.assert_successful()
    assert "%s/steady: stable" % namespace in job.stdout
    job.assert_no_token()


@pytest.mark.parametrize("style", STYLES)
def test_collect_evidence_job(core, api, namespace, identities, ansible, workdir, tmp_path, style):
    victim = serving_deployment(core, api, namespace, replicas=2)[0]
    serve_logs(api, namespace, victim, workdir, {"app": (["started", "serving"], [])})
    assert quarantine(ansible, victim, namespace, reason="for the evidence job", wait=False)["changed"] is True
    identity = identities("evidence", namespace)

    job = AwxJob(tmp_path, api, identity, style, "collect_evidence",
                 {"pod": victim, "namespace": namespace, "required": ["manifest", "logs"]})

    job.assert_successful()
    (bundle,) = job.artifacts["triage_evidence_bundles"]
    assert bundle["bundle"].startswith(os.path.join(job.pdd, "project", "evidence")), bundle
    assert os.path.isdir(bundle["bundle"]) and os.path.isfile(bundle["archive"]), bundle
    assert bundle["failed_items"] == [], bundle
    with open(os.path.join(bundle["bundle"], "logs", "app.log")) as f:
        assert "serving" in f.read()
    recorded = json.loads(core.read_namespaced_pod(victim, namespace).metadata.annotations["triage.k8s/evidence"])
    assert recorded["bundle"] == os.path.basename(bundle["bundle"])
    assert recorded["manifest_sha256"] == bundle["manifest_sha256"]
    job.assert_no_token()


@pytest.mark.parametrize("style", STYLES)
def test_cleanup_job(core, api, namespace, identities, tmp_path, style):
    now = datetime.datetime.now(datetime.timezone.utc)
    hour = datetime.timedelta(hours=1)
    expired = create(api, namespace, contract_pod_body("expired", now - 3 * hour, now - hour, evidence="bundle-1",
                                                       network_policy="np-expired"))
    create(api, namespace, contract_policy_body("np-expired", "expired", expired.metadata.uid))
    create(api, namespace, contract_pod_body("future", now - 3 * hour, now + hour, evidence="bundle-2"))
    identity = identities("cleanup", namespace)
    answers = {"namespaces": namespace, "max_deletions": 5}

    # The survey's default is a dry run (no reports here: they are checked on the real run).
    dry = AwxJob(tmp_path / "dry", api, identity, style, "cleanup", answers, template_vars={"report_dir": ""})

    dry.assert_successful()
    assert names_in(api, namespace) == ["expired", "future"]
    (cluster,) = dry.artifacts["triage_cleanup"]["clusters"]
    assert cluster["summary"]["deleted"] == 1 and "would delete 1" in cluster["msg"], cluster
    dry.assert_no_token()

    job = AwxJob(tmp_path, api, identity, style, "cleanup", dict(answers, dry_run="false"))

    job.assert_successful()
    wait_list(core.list_namespaced_pod, lambda ps: sorted(p.metadata.name for p in ps) == ["future"], timeout=30,
              what="the expired pod to go", namespace=namespace)
    assert names_in(api, namespace, kind="NetworkPolicy") == []
    summary = job.artifacts["triage_cleanup"]
    assert summary["failed_clusters"] == [] and os.path.isdir(summary["report_dir"]), summary
    assert summary["report_dir"].startswith(os.path.join(job.pdd, "project")), summary
    (cluster,) = summary["clusters"]
    assert cluster["status"] == "ok" and cluster["summary"]["deleted"] == 1, cluster
    job.assert_no_token()
