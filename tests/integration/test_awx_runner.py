"""The AWX jobs, run the way AWX runs them: ansible-runner on a private data dir laid out as AWX lays
it out (env/envvars, env/extravars, env/settings, inventory/hosts, project/), with the example
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
import shutil
import stat
import sys
import tempfile
import types

import ansible_runner
import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment
from kubernetes import client

from k8s_helpers import (
    bearer_token_env, contract_pod_body, contract_policy_body, crash_looping_pod, create,
    deployment_body, endpoint_slice_pods, labels_after_release, names_in, quarantine, serve_logs, serving_deployment, token_kubeconfig,
    wait_list,
)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT = os.path.join(REPO, "examples", "awx-project")
AWX = os.path.join(REPO, "examples", "awx")
COLLECTIONS = os.path.join(REPO, ".build", "collections")
JWT_PREFIX = "eyJhbGciOi"  # base64 of '{"alg":', how every ServiceAccount token starts
JOB_ID = 4242
STYLES = ["bearer_token", "kubeconfig"]
PLAYBOOKS = ["quarantine", "release", "collect_evidence", "crashloop_scan", "rollout_gate", "cleanup"]
SURVEYS = {"quarantine": "quarantine", "release": "release", "collect_evidence": "evidence",
           "crashloop_scan": "crashloop-scan", "rollout_gate": "rollout-gate", "cleanup": "cleanup"}
QUESTION_TYPES = ("text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect")


# ---------------------------------------------------------------- what AWX does before ansible-runner

def load_survey(name):
    with open(os.path.join(AWX, "survey-%s.json" % name)) as f:
        return json.load(f)


def _choices(question):
    choices = question["choices"]
    return choices.split("\n") if isinstance(choices, str) else list(choices)


def _check_answer(question, value):
    kind, var = question["type"], question["variable"]
    if kind in ("text", "textarea", "password"):
        assert isinstance(value, str), (var, value)
        assert question.get("min") is None or len(value) >= question["min"], (var, value)
        assert question.get("max") is None or len(value) <= question["max"], (var, value)
    elif kind in ("integer", "float"):
        assert isinstance(value, int if kind == "integer" else (int, float)) and not isinstance(value, bool), (var, value)
        assert question.get("min") is None or value >= question["min"], (var, value)
        assert question.get("max") is None or value <= question["max"], (var, value)
    elif kind == "multiplechoice":
        assert value in _choices(question), (var, value)
    else:
        assert isinstance(value, list) and set(value) <= set(_choices(question)), (var, value)


def survey_extra_vars(name, answers):
    """What AWX passes for a survey: the answers (checked against the questions) and the default of
    every question left unanswered, when it has one; a multiselect arrives as a list."""
    spec = load_survey(name)["spec"]
    out = {}
    for question in spec:
        var = question["variable"]
        if var in answers:
            value = answers[var]
        elif question.get("default") is not None:
            value = question["default"]
            if question["type"] == "multiselect":
                value = value.split("\n")
        else:
            assert not question["required"], "the survey requires an answer for %s" % var
            continue
        _check_answer(question, value)
        out[var] = value
    unknown = set(answers) - set(q["variable"] for q in spec)
    assert not unknown, "not in survey %s: %s" % (name, sorted(unknown))
    return out


class _Unsafe(str):
    pass


class _AwxDumper(yaml.SafeDumper):
    """Writes env/extravars as AWX does: values marked unsafe tagged !unsafe, never templated."""


_AwxDumper.add_representer(_Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value)))


def _mark_unsafe(value):
    if isinstance(value, str):
        return _Unsafe(value)
    if isinstance(value, list):
        return [_mark_unsafe(v) for v in value]
    if isinstance(value, dict):
        return dict((k, _mark_unsafe(v)) for k, v in value.items())
    return value


def awx_meta_vars(template):
    return {"awx_job_id": JOB_ID, "tower_job_id": JOB_ID, "awx_job_launch_type": "manual",
            "awx_job_template_id": 7, "awx_job_template_name": template, "awx_user_id": 3,
            "awx_user_name": "oncall", "awx_user_email": "oncall@example.invalid", "awx_inventory_id": 1,
            "awx_inventory_name": "clusters", "awx_project_revision": "0" * 40, "awx_execution_node": "awx-ee"}


def _private_file(directory, content):
    """tempfile.mkstemp in env/, mode 0600: how AWX writes credential files."""
    handle, path = tempfile.mkstemp(dir=directory)
    with os.fdopen(handle, "w") as f:
        f.write(content)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return path


def kubeconfig_credential_env(kubeconfig, context, env_dir):
    """Render examples/awx/credential-type-kubeconfig.yml's injectors as AWX does (sandboxed Jinja,
    one private file per `template.*` entry, `tower.filename.<name>` naming it)."""
    with open(os.path.join(AWX, "credential-type-kubeconfig.yml")) as f:
        credential_type = yaml.safe_load(f)
    inputs = {"kubeconfig": kubeconfig, "context": context}
    ids = [field["id"] for field in credential_type["inputs"]["fields"]]
    assert set(inputs) == set(ids) and set(credential_type["inputs"]["required"]) <= set(ids)
    sandbox = ImmutableSandboxedEnvironment()
    files = {}
    for label, template in credential_type["injectors"]["file"].items():
        files[label.split(".", 1)[1]] = _private_file(env_dir, sandbox.from_string(template).render(**inputs))

    tower = types.SimpleNamespace(filename=types.SimpleNamespace(**files))
    return dict((var, sandbox.from_string(template).render(tower=tower, **inputs))
                for var, template in credential_type["injectors"]["env"].items())


class AwxJob:
    """One job: the private data dir, the credential, the run and what it left."""

    def __init__(self, tmp_path, api, identity, style, playbook, answers, template_vars=None, host="localhost"):
        self.token = identity.token()
        self.style = style
        self.pdd = str(tmp_path / ("job-%s" % playbook))
        env_dir = os.path.join(self.pdd, "env")
        os.makedirs(env_dir, mode=0o700)
        os.makedirs(os.path.join(self.pdd, "inventory"))
        shutil.copytree(PROJECT, os.path.join(self.pdd, "project"))
        with open(os.path.join(self.pdd, "inventory", "hosts"), "w") as f:
            f.write("%s ansible_connection=local\n" % host)
        if host != "localhost":  # the playbooks' hosts are "{{ target | default('localhost') }}"
            template_vars = dict(template_vars or {}, target=host)
        if style == "bearer_token":
            credential = bearer_token_env(api, self.token, env_dir)
        else:
            credential = kubeconfig_credential_env(token_kubeconfig(api, self.token, "awx-cluster"), "awx-cluster",
                                                   env_dir)
        envvars = {
            "JOB_ID": str(JOB_ID), "AWX_HOST": "https://awx.example.invalid",
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS, "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            # The execution environment's ansible-playbook is this virtualenv's.
            "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
        }
        envvars.update(credential)
        # AWX tags every string it passes !unsafe, except the job template's own extra vars
        # (ALLOW_JINJA_IN_EXTRA_VARS=template, the default).
        extravars = _mark_unsafe(awx_meta_vars(playbook))
        extravars.update(template_vars or {})
        extravars.update(_mark_unsafe(survey_extra_vars(SURVEYS[playbook], answers)))
        with open(os.path.join(env_dir, "envvars"), "w") as f:
            yaml.safe_dump(envvars, f)
        with open(os.path.join(env_dir, "extravars"), "w") as f:
            yaml.dump(extravars, f, Dumper=_AwxDumper)
        with open(os.path.join(env_dir, "settings"), "w") as f:
            yaml.safe_dump({"job_timeout": 600, "pexpect_timeout": 5, "suppress_ansible_output": True}, f)
        self.runner = ansible_runner.run(private_data_dir=self.pdd, playbook="%s.yml" % playbook, ident=str(JOB_ID),
                                         quiet=True)
        self.events = list(self.runner.events)
        with open(os.path.join(self.runner.config.artifact_dir, "stdout")) as f:
            self.stdout = f.read()
        stats = [e for e in self.events if e.get("event") == "playbook_on_stats"]
        self.artifacts = stats[-1]["event_data"].get("artifact_data", {}) if stats else {}

    def assert_successful(self):
        assert self.runner.rc == 0 and self.runner.status == "successful", self.stdout

    def assert_no_token(self, *elsewhere):
        """Walk everything the job left outside env/ (where AWX itself writes the credential):
        artifacts (stdout, job events, command, ...), reports and bundles under project/, and the
        directories given (reports written outside the private data dir)."""
        leaks = []
        for top in (self.pdd,) + elsewhere:
            for root, dirs, files in os.walk(top):
                if root == self.pdd:
                    dirs.remove("env")
                for name in files:
                    path = os.path.join(root, name)
                    with open(path, "rb") as f:
                        data = f.read()
                    if self.token.encode() in data or JWT_PREFIX.encode() in data:
                        leaks.append(os.path.relpath(path, self.pdd))
        assert self.events and self.stdout
        for text in [self.stdout] + [json.dumps(e) for e in self.events]:
            assert self.token not in text and JWT_PREFIX not in text
        expected = []
        if self.style == "bearer_token":
            # ansible-runner itself records the environment it was given (env/envvars and the
            # credential's variables) in artifacts/<ident>/command. That is the credential as AWX
            # handed it over, not output: the token is there only as K8S_AUTH_API_KEY.
            command = os.path.join("artifacts", str(JOB_ID), "command")
            expected = [command]
            with open(os.path.join(self.pdd, command)) as f:
                recorded = json.load(f)
            assert recorded["env"].pop("K8S_AUTH_API_KEY") == self.token
            rest = json.dumps(recorded)
            assert self.token not in rest and JWT_PREFIX not in rest
        assert sorted(leaks) == expected, leaks


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
    assert [b["stage"] for b in bundles] == ["before relabelling", "after relabelling"], bundles
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
