"""Issue 10 item 6, invocation: at -vvv neither the token of a kubeconfig given as a dict nor the
password of a proxy URL (nor a proxy_headers credential) appears anywhere in Ansible's output,
and the inventory plugin never prints the credentials of the kubeconfig files it reads."""

import json
import os
import socket
import subprocess
import sys
import uuid

import yaml

from k8s_helpers import token_kubeconfig

PROXY_PASSWORD = "Pr0xy-pw-%s" % uuid.uuid4().hex[:8]
HEADER_PASSWORD = "Hdr-pw-%s" % uuid.uuid4().hex[:8]


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on leaving: connections to it are refused


def _run_vvv(ansible, module, args, secrets):
    """One task at -vvv; (registered result, everything ansible-playbook printed)."""
    results, printed = _run_many_vvv(ansible, [(module, args)], secrets)
    return results[0], printed


def _run_many_vvv(ansible, calls, secrets):
    """One play at -vvv with a task per (module, args); (registered results, everything printed).

    The secrets come from a vars file, as from a vault or an AWX credential: Ansible itself prints
    the playbook lines around a failed task, so a secret written literally next to the task would
    be shown by Ansible whatever the module does."""
    out = os.path.join(ansible.tmpdir, "results-%s.json" % uuid.uuid4().hex)
    vars_file = os.path.join(ansible.tmpdir, "secrets-%s.yml" % uuid.uuid4().hex)
    with open(vars_file, "w") as f:
        yaml.safe_dump(secrets, f)
    tasks = [{"name": "call %d" % i, module: args, "register": "r%d" % i, "ignore_errors": True}
             for i, (module, args) in enumerate(calls)]
    every = "[%s]" % ", ".join("r%d" % i for i in range(len(calls)))
    tasks.append({"name": "save", "ansible.builtin.copy": {"content": "{{ %s | to_json }}" % every, "dest": out,
                                                           "mode": "0600"}})
    proc = ansible.playbook_content([{"hosts": "localhost", "gather_facts": False, "connection": "local",
                                      "vars_files": [vars_file], "tasks": tasks}], args=["-vvv"])
    printed = proc.stdout + proc.stderr
    assert os.path.exists(out), printed
    with open(out) as f:
        return json.load(f), printed


def _secrets(api, token):
    return {"secret_kubeconfig": yaml.safe_load(token_kubeconfig(api, token, "token-ctx")),
            "secret_proxy": "http://triage:%s@127.0.0.1:%d" % (PROXY_PASSWORD, _closed_port()),
            "secret_header": "triage:" + HEADER_PASSWORD}


def test_kubeconfig_dict_token_and_proxy_password_never_printed_at_vvv(ansible, api, namespace, identities):
    token = identities("cleanup", namespace).token()
    secrets = _secrets(api, token)
    base = {"kubeconfig": "{{ secret_kubeconfig }}", "context": "token-ctx", "namespaces": [namespace]}

    # The token is real: without the proxy the module reaches the cluster with it.
    result, printed = _run_vvv(ansible, "triage.k8s.quarantine_info", base, secrets)
    assert not result.get("failed"), result
    assert "quarantine_info" in printed and "module_args" in printed  # -vvv did print the invocation
    assert token not in printed
    assert "token-ctx" in printed  # the rest of the kubeconfig stays readable

    args = dict(base, proxy="{{ secret_proxy }}", proxy_headers={"proxy_basic_auth": "{{ secret_header }}"})
    result, printed = _run_vvv(ansible, "triage.k8s.quarantine_info", args, secrets)
    assert result.get("failed"), result  # nothing listens behind the proxy
    for secret in (token, PROXY_PASSWORD, HEADER_PASSWORD):
        assert secret not in printed, secret
        assert secret not in json.dumps(result), secret
    assert "http://triage:********@127.0.0.1" in printed  # the proxy is still named


def test_every_module_masks_them_even_when_its_arguments_are_rejected(ansible, api, namespace, identities):
    token = identities("quarantine", namespace).token()
    modules = ("pod_quarantine", "pod_evidence", "crashloop_info", "quarantine_info", "quarantine_cleanup")
    # An option no module has: AnsibleModule fails before the module's own code runs.
    args = {"kubeconfig": "{{ secret_kubeconfig }}", "context": "token-ctx", "proxy": "{{ secret_proxy }}",
            "no_such_option": 1}
    results, printed = _run_many_vvv(ansible, [("triage.k8s." + m, args) for m in modules], _secrets(api, token))
    for module, result in zip(modules, results):
        assert result.get("failed"), (module, result)
        assert "no_such_option" in result["msg"] or "missing required" in result["msg"], (module, result)
    assert printed.count("no_such_option") >= len(modules)  # the invocations were printed
    assert token not in printed and PROXY_PASSWORD not in printed


def test_inventory_plugin_prints_no_credential(tmp_path, api):
    secrets = {"token": "Inv-token-%s" % uuid.uuid4().hex[:8], "password": "Inv-pw-%s" % uuid.uuid4().hex[:8],
               "key": "SW52LWtleS1kYXRh", "proxy": "Inv-proxy-pw-%s" % uuid.uuid4().hex[:8],
               "server": "Inv-server-pw-%s" % uuid.uuid4().hex[:8], "exec": "Inv-exec-%s" % uuid.uuid4().hex[:8]}
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "a",
        "clusters": [{"name": "a", "cluster": {"server": "https://admin:%s@127.0.0.1:6443" % secrets["server"],
                                               "proxy-url": "http://u:%s@127.0.0.1:3128" % secrets["proxy"]}}],
        "users": [{"name": "a", "user": {"token": secrets["token"], "password": secrets["password"],
                                         "client-key-data": secrets["key"],
                                         "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "true",
                                                  "env": [{"name": "API_SECRET", "value": secrets["exec"]}]}}}],
        "contexts": [{"name": "a", "context": {"cluster": "a", "user": "a", "namespace": "ns-a"}}],
    }
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(yaml.safe_dump(config))
    inventory = tmp_path / "fleet.kubeconfig.yml"
    inventory.write_text("plugin: triage.k8s.kubeconfig\nkubeconfig: [%s]\n" % kubeconfig)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), ".build", "collections"))
    binary = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    for extra in (["--list"], ["--host", "a"], ["--graph", "--vars"]):
        proc = subprocess.run([binary, "-i", str(inventory), "-vvv"] + extra, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=120, check=False)
        printed = proc.stdout + proc.stderr
        assert proc.returncode == 0, printed
        assert "ns-a" in printed or "--graph" in extra, printed
        for name, secret in secrets.items():
            assert secret not in printed, (extra, name)
