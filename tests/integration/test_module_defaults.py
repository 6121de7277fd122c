"""Issue 11, kubernetes.core parity: one module_defaults block serves triage.k8s and kubernetes.core,
persist_config included, with ansible-playbook against the local cluster.

kubernetes.core is not installed here, so a stand-in collection of that name is written for the
test: its meta/runtime.yml declares the same `k8s` action group as kubernetes.core 6.x, and its
`k8s_info` only reports the connection options module_defaults handed it. Point
TRIAGE_K8S_KUBERNETES_CORE at a directory holding the real ansible_collections/kubernetes/core to
run the same plays with the real collection (its k8s_info then reads the cluster).
"""

import json
import os
import shutil

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

STAND_IN_RUNTIME = {"requires_ansible": ">=2.16.0", "action_groups": {"k8s": [
    "k8s", "k8s_exec", "k8s_info", "k8s_log", "k8s_scale", "k8s_service", "k8s_cp", "k8s_drain"]}}
STAND_IN_K8S_INFO = '''#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(
        kubeconfig=dict(type="raw"), context=dict(type="str"), persist_config=dict(type="bool"),
        kind=dict(type="str"), name=dict(type="str")), supports_check_mode=True)
    module.exit_json(changed=False, resources=[{"metadata": {"name": module.params["name"]}}],
                     stand_in={k: module.params[k] for k in ("kubeconfig", "context", "persist_config")})


main()
'''


def _kubernetes_core(tmp_path):
    """A collections path holding kubernetes.core: the real one if given, else the stand-in."""
    real = os.environ.get("TRIAGE_K8S_KUBERNETES_CORE")
    if real:
        return real, True
    root = tmp_path / "kc" / "ansible_collections" / "kubernetes" / "core"
    (root / "meta").mkdir(parents=True)
    (root / "plugins" / "modules").mkdir(parents=True)
    (root / "meta" / "runtime.yml").write_text(yaml.safe_dump(STAND_IN_RUNTIME))
    (root / "plugins" / "modules" / "k8s_info.py").write_text(STAND_IN_K8S_INFO)
    (root / "galaxy.yml").write_text("namespace: kubernetes\nname: core\nversion: 0.0.0\n")
    return str(tmp_path / "kc"), False


def _play(module_defaults, out):
    return [{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "module_defaults": module_defaults,
        "tasks": [
            {"name": "ours", "triage.k8s.quarantine_info": {"namespaces": ["default"]}, "register": "ours"},
            {"name": "theirs", "kubernetes.core.k8s_info": {"kind": "Namespace", "name": "default"},
             "register": "theirs"},
            {"ansible.builtin.copy": {"content": "{{ {'ours': ours, 'theirs': theirs} | to_json }}", "dest": out,
                                      "mode": "0600"}},
        ],
    }]


@pytest.fixture
def connection(ansible, tmp_path):
    """The test cluster's kubeconfig, copied: persist_config must leave it byte for byte as it was."""
    path = tmp_path / "kubeconfig"
    shutil.copy(ansible.kubeconfig, str(path))
    return {"kubeconfig": str(path), "context": ansible.context, "persist_config": True}


@pytest.mark.parametrize("form", ["one group", "anchored pair"])
def test_one_module_defaults_block_serves_both_collections(ansible, tmp_path, connection, form):
    collections, real = _kubernetes_core(tmp_path)
    if form == "one group":
        defaults = {"group/triage.k8s.k8s": connection}
    else:  # what YAML's `group/kubernetes.core.k8s: &conn ...` / `group/triage.k8s.k8s: *conn` loads as
        defaults = {"group/kubernetes.core.k8s": connection, "group/triage.k8s.k8s": connection}
    before = open(connection["kubeconfig"], "rb").read()
    out = str(tmp_path / "results.json")
    env = {"ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([os.path.join(REPO, ".build", "collections"), collections])}
    proc = ansible.playbook_content(_play(defaults, out), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out) as f:
        results = json.load(f)
    assert results["ours"]["failed"] is False and "summary" in results["ours"]
    assert results["theirs"]["resources"][0]["metadata"]["name"] == "default"
    if not real:
        assert results["theirs"]["stand_in"] == connection
    assert open(connection["kubeconfig"], "rb").read() == before  # no token refreshed: nothing written


def test_persist_config_from_the_environment_is_accepted(ansible, connection):
    for value in ("true", "false"):
        result = ansible.module("triage.k8s.quarantine_info", {"namespaces": ["default"],
                                                               "kubeconfig": connection["kubeconfig"]},
                                env={"K8S_AUTH_PERSIST_CONFIG": value})
        assert result.get("failed") is not True, result
    result = ansible.module("triage.k8s.quarantine_info", {"namespaces": ["default"], "persist_config": "maybe"})
    assert result["failed"] is True and "persist_config" in result["msg"]
