"""What AWX does around ansible-runner, rebuilt from AWX's source (github.com/ansible/awx, read at
e21dd0a, 24.6.x) for the tests that run the collection as AWX runs it. docs/awx.md ("How AWX runs
a job") has the same facts in prose.

- A private data dir per job (awx/main/tasks/jobs.py BaseTask.build_private_data_dir): inventory/,
  env/, project/ (a copy of the synced project). Credential files are written by the credential
  type's `file` injectors to mkstemp files in env/, mode 0600, and `env` injectors render with
  sandboxed Jinja (awx/main/models/credential.py CredentialType.inject_credential). Environment
  variables go to ansible-runner as `envvars` (not env/envvars: AWX_RUNNER_OMIT_ENV_FILES),
  settings as env/settings (JSON), extra vars as env/extravars with every string tagged !unsafe
  except the job template's own top-level extra vars (ALLOW_JINJA_IN_EXTRA_VARS=template).
- An inventory update of a source "Sourced from a Project" (RunInventoryUpdate) runs
  `ansible-inventory --list --export -i project/<source_path> --output artifacts/<id>/output.json
  --playbook-dir ...` as a raw command (the `args` file in the private data dir), with
  STANDARD_INVENTORY_UPDATE_ENV and the inventory source's credentials injected (for a custom
  credential type, the same inject_credential as for jobs). AWX then stores the hosts, groups and
  their variables from output.json in its database (awx/main/utils/mem_inventory.py
  dict_to_mem_data; management command inventory_import).
- A job gets a generated inventory of those stored hosts (BaseTask.build_inventory ->
  Inventory.get_script_data): an executable inventory/hosts that prints the JSON, hosts sorted by
  name, only enabled ones, `remote_tower_id`/`remote_host_id`/..._enabled added to each host's vars.
  With job slicing, slice k of n gets hosts[k-1::n] (Inventory.get_sliced_hosts), and each slice is
  its own job inside a workflow job; no slice number or count reaches the playbook
  (UnifiedJob.awx_meta_vars, Job.awx_meta_vars, WorkflowJobNode.get_job_kwargs).
"""

import copy
import json
import os
import shutil
import stat
import sys
import tempfile
import types

import ansible_runner
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT = os.path.join(REPO, "examples", "awx-project")
AWX = os.path.join(REPO, "examples", "awx")
COLLECTIONS = os.path.join(REPO, ".build", "collections")
JWT_PREFIX = "eyJhbGciOi"  # base64 of '{"alg":', how every ServiceAccount token starts
JOB_ID = 4242
INVENTORY_SOURCE = "inventory/clusters.kubeconfig.yml"  # in examples/awx-project
# awx/main/constants.py
STANDARD_INVENTORY_UPDATE_ENV = {
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
    "ANSIBLE_INVENTORY_EXPORT": "True",
    "ANSIBLE_VERBOSE_TO_STDERR": "True",
    "ANSIBLE_HOST_PATTERN_MISMATCH": "error",
}


# ---------------------------------------------------------------- surveys and extra vars

def load_survey(name):
    with open(os.path.join(AWX, "survey-%s.json" % name)) as f:
        return json.load(f)


def _choices(question):
    choices = question["choices"]
    return choices.split("\n") if isinstance(choices, str) else list(choices)


def check_answer(question, value):
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
        check_answer(question, value)
        out[var] = value
    unknown = set(answers) - set(q["variable"] for q in spec)
    assert not unknown, "not in survey %s: %s" % (name, sorted(unknown))
    return out


class _Unsafe(str):
    pass


class _AwxDumper(yaml.SafeDumper):
    """Writes env/extravars as AWX does: values marked unsafe tagged !unsafe, never templated."""


_AwxDumper.add_representer(_Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value)))


def mark_unsafe(value):
    if isinstance(value, str):
        return _Unsafe(value)
    if isinstance(value, list):
        return [mark_unsafe(v) for v in value]
    if isinstance(value, dict):
        return dict((k, mark_unsafe(v)) for k, v in value.items())
    return value


def awx_meta_vars(template, job_id=JOB_ID, workflow_job=None):
    """UnifiedJob.awx_meta_vars + Job.awx_meta_vars, for both prefixes awx_ and tower_.
    workflow_job: (id, name) of the workflow job the job runs in (a slice's is the slice workflow,
    named after the job template); it adds the awx_workflow_job_* variables and launch type workflow."""
    core = {"job_id": job_id, "job_launch_type": "workflow" if workflow_job else "manual",
            "job_template_id": 7, "job_template_name": template, "user_id": 3,
            "user_name": "oncall", "user_email": "oncall@example.invalid", "user_first_name": "",
            "user_last_name": "", "inventory_id": 1, "inventory_name": "clusters",
            "project_revision": "0" * 40, "project_scm_branch": "", "execution_node": "awx-ee"}
    if workflow_job:
        core.update({"workflow_job_id": workflow_job[0], "workflow_job_name": workflow_job[1],
                     "workflow_job_launch_type": "manual"})
    out = {}
    for prefix in ("awx", "tower"):
        out.update(("%s_%s" % (prefix, k), v) for k, v in core.items())
    return out


# ---------------------------------------------------------------- credentials

def private_file(directory, content):
    """tempfile.mkstemp in env/, mode 0600: how AWX writes credential files."""
    handle, path = tempfile.mkstemp(dir=directory)
    with os.fdopen(handle, "w") as f:
        f.write(content)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return path


def load_credential_type(name):
    with open(os.path.join(AWX, name)) as f:
        return yaml.safe_load(f)


class Credential:
    """A credential of one of the custom credential types in examples/awx/, injected as
    CredentialType.inject_credential does: file injectors first (each a private file in env/,
    `tower.filename.<label>`), then env injectors; inputs left empty are undefined in the templates."""

    def __init__(self, type_file, **inputs):
        self.type_file = type_file
        self.credential_type = load_credential_type(type_file)
        self.inputs = inputs
        fields = self.credential_type["inputs"]["fields"]
        ids = [field["id"] for field in fields]
        assert set(inputs) <= set(ids), (type_file, sorted(set(inputs) - set(ids)))
        assert set(self.credential_type["inputs"].get("required", [])) <= set(k for k, v in inputs.items() if v), type_file
        self.secrets = [v for field in fields if field.get("secret") for k, v in inputs.items()
                        if k == field["id"] and v]

    def inject(self, env_dir, args=None):
        """The environment variables; with args (a list: a job, not an inventory update) the
        extra_vars injectors too, written to a private file passed as -e @file."""
        namespace = dict((k, v) for k, v in self.inputs.items() if isinstance(v, bool) or len(v))
        for field in self.credential_type["inputs"]["fields"]:
            if field.get("type") == "boolean" and field["id"] not in self.inputs:
                namespace[field["id"]] = False
        sandbox = ImmutableSandboxedEnvironment()
        injectors = self.credential_type.get("injectors", {})
        tower = types.SimpleNamespace()
        for label, template in injectors.get("file", {}).items():
            path = private_file(env_dir, sandbox.from_string(template).render(**namespace))
            if "." not in label:
                tower.filename = path
            else:
                if not hasattr(tower, "filename"):
                    tower.filename = types.SimpleNamespace()
                setattr(tower.filename, label.split(".", 1)[1], path)
        env = dict((var, sandbox.from_string(template).render(tower=tower, **namespace))
                   for var, template in injectors.get("env", {}).items())
        if args is not None and injectors.get("extra_vars"):
            def build(node):
                if isinstance(node, dict):
                    return dict((build(k), build(v)) for k, v in node.items())
                if isinstance(node, list):
                    return [build(v) for v in node]
                return _Unsafe(sandbox.from_string(node).render(tower=tower, **namespace))
            handle, path = tempfile.mkstemp(dir=env_dir)
            with os.fdopen(handle, "w") as f:
                yaml.dump(build(injectors["extra_vars"]), f, Dumper=_AwxDumper)
            os.chmod(path, stat.S_IRUSR)
            args.extend(["-e", "@%s" % path])
        return env


def kubeconfig_credential(kubeconfig, context=""):
    return Credential("credential-type-kubeconfig.yml", kubeconfig=kubeconfig, context=context)


def kubeconfig_credential_env(kubeconfig, context, env_dir):
    return kubeconfig_credential(kubeconfig, context).inject(env_dir)


def multi_context_kubeconfig(contexts):
    """One self-contained kubeconfig from several: [(name, server, ca_bytes, token)]."""
    import base64
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": contexts[0][0],
        "clusters": [{"name": n, "cluster": {"server": s, "certificate-authority-data": base64.b64encode(ca).decode()}}
                     for n, s, ca, _t in contexts],
        "users": [{"name": n, "user": {"token": t}} for n, _s, _ca, t in contexts],
        "contexts": [{"name": n, "context": {"cluster": n, "user": n}} for n, _s, _ca, _t in contexts],
    })


# ---------------------------------------------------------------- private data dirs

def _base_env(pdd):
    return {
        "AWX_PRIVATE_DATA_DIR": pdd, "AWX_HOST": "https://awx.example.invalid",
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS, "ANSIBLE_HOST_KEY_CHECKING": "False",
        # The execution environment's ansible-playbook is this virtualenv's.
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
    }


def _new_private_data_dir(path):
    os.makedirs(os.path.join(path, "env"), mode=0o700)
    os.makedirs(os.path.join(path, "inventory"))
    shutil.copytree(PROJECT, os.path.join(path, "project"))
    return os.path.join(path, "env")


def _write_settings(env_dir, timeout=600):
    with open(os.path.join(env_dir, "settings"), "w") as f:
        json.dump({"job_timeout": timeout, "suppress_ansible_output": True, "suppress_output_file": False}, f)


class StoredInventory:
    """An AWX inventory as the database holds it after an inventory update: hosts (name -> vars,
    enabled, id) and groups (name -> hosts, children, vars), from ansible-inventory's output.json."""

    def __init__(self, output):
        data = copy.deepcopy(output)
        meta = data.pop("_meta", {})
        self.hosts, self.groups, self.variables = {}, {}, {}
        names = set(meta.get("hostvars", {}))
        for group in data.values():
            names.update(group.get("hosts", []) if isinstance(group, dict) else group)
        for i, name in enumerate(sorted(names)):
            self.hosts[name] = {"vars": dict(meta.get("hostvars", {}).get(name, {})), "enabled": True, "id": 100 + i}
        for name, group in data.items():
            if name == "all":
                self.variables.update(group.get("vars", {}))
                continue
            if name == "ungrouped":
                continue
            self.groups[name] = {"hosts": list(group.get("hosts", [])), "vars": dict(group.get("vars", {})),
                                 "children": [c for c in group.get("children", []) if c != "ungrouped"]}

    def sliced_hosts(self, slice_number=1, slice_count=1):
        names = sorted(n for n, h in self.hosts.items() if h["enabled"])  # order_by('name'), enabled only
        if slice_count > 1 and slice_number > 0:
            names = names[slice_number - 1::slice_count]
        return names

    def script_data(self, slice_number=1, slice_count=1):
        """Inventory.get_script_data(hostvars=True, towervars=True, slice_number, slice_count)."""
        hosts = self.sliced_hosts(slice_number, slice_count)
        data = {"all": {}}
        if self.variables:
            data["all"]["vars"] = self.variables
        grouped = set()
        for name, group in self.groups.items():
            info = {}
            members = [h for h in group["hosts"] if h in hosts]
            if members:
                info["hosts"] = members
                grouped.update(members)
            if group["children"]:
                info["children"] = group["children"]
            if group["vars"]:
                info["vars"] = group["vars"]
            if info:
                data[name] = info
        data["all"]["hosts"] = [h for h in hosts if h not in grouped]
        if self.groups:
            data["all"]["children"] = list(self.groups)
        data["_meta"] = {"hostvars": {}}
        for name in hosts:
            host = self.hosts[name]
            hostvars = dict(host["vars"])
            for prefix in ("host", "tower"):
                hostvars["remote_%s_enabled" % prefix] = str(host["enabled"]).lower()
                hostvars["remote_%s_id" % prefix] = host["id"]
            data["_meta"]["hostvars"][name] = hostvars
        return data

    def effective_slice_count(self, job_slice_count):
        """JobTemplate.get_effective_slice_ct: never more slices than hosts."""
        return min(job_slice_count, len(self.hosts))


class InventoryUpdate:
    """An inventory update of the source examples/awx-project/inventory/clusters.kubeconfig.yml
    ("Sourced from a Project"), with the given credentials on the inventory source."""

    def __init__(self, path, credentials, source_path=INVENTORY_SOURCE, update_id=4100, source_vars=None):
        self.pdd = str(path)
        env_dir = _new_private_data_dir(self.pdd)
        env = _base_env(self.pdd)
        env.update({"INVENTORY_SOURCE_ID": "41", "INVENTORY_UPDATE_ID": str(update_id)})
        env.update(STANDARD_INVENTORY_UPDATE_ENV)
        for key, value in (source_vars or {}).items():  # scm sources: source_vars become env vars
            env.setdefault(str(key), str(value))
        for credential in credentials:
            env.update(credential.inject(env_dir))
        self.env = env
        _write_settings(env_dir)
        source = os.path.join(self.pdd, "project", source_path)
        output = os.path.join(self.pdd, "artifacts", str(update_id), "output.json")
        args = ["ansible-inventory", "--list", "--export", "-i", source, "--output", output,
                "--playbook-dir", os.path.dirname(source)]
        with open(os.path.join(self.pdd, "args"), "w") as f:
            f.write(" ".join(args))
        self.runner = ansible_runner.run(private_data_dir=self.pdd, ident=str(update_id), envvars=env,
                                         suppress_env_files=True, quiet=True)
        with open(os.path.join(self.runner.config.artifact_dir, "stdout")) as f:
            self.stdout = f.read()
        assert self.runner.rc == 0 and self.runner.status == "successful", self.stdout
        with open(output) as f:
            self.output = json.load(f)
        self.inventory = StoredInventory(self.output)


class AwxJob:
    """One job (or one slice of a sliced job): the private data dir, the credentials, the run and
    what it left.

    inventory: a StoredInventory (with job_slice=(k, n) for a slice) or, for the one-cluster jobs, a host
    name written as a static one-line inventory. credentials: Credential objects, or callables
    env_dir -> env (the bearer-token credential built in k8s_helpers)."""

    def __init__(self, path, playbook, survey=None, answers=None, template_vars=None, inventory="localhost",
                 credentials=(), job_id=JOB_ID, job_slice=None, workflow_job=None, secrets=(), limit=None, forks=5):
        self.pdd = str(path)
        self.job_id = job_id
        self.secrets = [s for s in secrets if s]
        env_dir = _new_private_data_dir(self.pdd)
        env = _base_env(self.pdd)
        env.update({"JOB_ID": str(job_id), "INVENTORY_ID": "1", "PROJECT_REVISION": "0" * 40,
                    "ANSIBLE_RETRY_FILES_ENABLED": "False"})
        credential_args = []
        for credential in credentials:
            if isinstance(credential, Credential):
                env.update(credential.inject(env_dir, credential_args))
                self.secrets.extend(credential.secrets)
            else:
                env.update(credential(env_dir))
        self.env = env
        if isinstance(inventory, StoredInventory):
            number, count = job_slice or (1, 1)
            data = inventory.script_data(number, count)
            self.hosts = sorted(data["_meta"]["hostvars"])
            script = "#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n" % json.dumps(data)
            hosts_file = os.path.join(self.pdd, "inventory", "hosts")
            with open(hosts_file, "w") as f:
                f.write(script)
            os.chmod(hosts_file, 0o700)
        else:
            self.hosts = [inventory]
            with open(os.path.join(self.pdd, "inventory", "hosts"), "w") as f:
                f.write("%s ansible_connection=local\n" % inventory)
            if inventory != "localhost":  # the playbooks' hosts are "{{ target | default('localhost') }}"
                template_vars = dict(template_vars or {}, target=inventory)
        # Job template extra vars (safe), then the meta vars (unsafe), then the survey (unsafe).
        extravars = dict(template_vars or {})
        extravars.update(mark_unsafe(awx_meta_vars(playbook, job_id, workflow_job)))
        if survey:
            extravars.update(mark_unsafe(survey_extra_vars(survey, answers or {})))
        with open(os.path.join(env_dir, "extravars"), "w") as f:
            yaml.dump(extravars, f, Dumper=_AwxDumper)
        _write_settings(env_dir)
        cmdline = ["-u", "root", "--forks=%d" % forks] + (["-l", limit] if limit else []) + credential_args
        with open(os.path.join(env_dir, "cmdline"), "w") as f:
            f.write(" ".join(cmdline))
        self.runner = ansible_runner.run(private_data_dir=self.pdd, playbook="%s.yml" % playbook, ident=str(job_id),
                                         inventory=os.path.join(self.pdd, "inventory", "hosts"), envvars=env,
                                         suppress_env_files=True, quiet=True)
        self.events = list(self.runner.events)
        with open(os.path.join(self.runner.config.artifact_dir, "stdout")) as f:
            self.stdout = f.read()
        stats = [e for e in self.events if e.get("event") == "playbook_on_stats"]
        self.artifacts = stats[-1]["event_data"].get("artifact_data", {}) if stats else {}

    @property
    def successful(self):
        return self.runner.rc == 0 and self.runner.status == "successful"

    def assert_successful(self):
        assert self.successful, self.stdout

    def leaks(self, *elsewhere):
        """Files outside env/ (where AWX itself writes the credentials) that hold a secret or the
        start of a JWT, relative to the private data dir; artifacts/<id>/command (the environment
        ansible-runner was given) is left to the caller."""
        found = []
        needles = [s.encode() for s in self.secrets] + [JWT_PREFIX.encode()]
        for top in (self.pdd,) + elsewhere:
            for root, dirs, files in os.walk(top):
                if root == self.pdd:
                    dirs.remove("env")
                for name in files:
                    path = os.path.join(root, name)
                    with open(path, "rb") as f:
                        data = f.read()
                    if any(n in data for n in needles):
                        found.append(os.path.relpath(path, self.pdd))
        for text in [self.stdout] + [json.dumps(e) for e in self.events]:
            assert not any(s in text for s in self.secrets + [JWT_PREFIX]), "a secret in the job output"
        return sorted(found)


def launch(path, playbook, inventory, job_slice_count=1, job_id=5000, **kwargs):
    """Launch a job template against a stored inventory: one job, or with job_slice_count > 1 a
    workflow job with one job per slice (JobTemplate.create_unified_job), run one after the other
    (AWX may run them at the same time: allow_simultaneous)."""
    count = inventory.effective_slice_count(job_slice_count)
    if count <= 1:
        return [AwxJob(os.path.join(str(path), "job-%d" % job_id), playbook, inventory=inventory, job_id=job_id,
                       **kwargs)]
    workflow = (job_id - 1, playbook)
    return [AwxJob(os.path.join(str(path), "job-%d" % (job_id + k)), playbook, inventory=inventory,
                   job_id=job_id + k, job_slice=(k, count), workflow_job=workflow, **kwargs)
            for k in range(1, count + 1)]
