# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""build_api_client / describe_target against temporary kubeconfig files.

The two wire tests use a tiny local HTTP endpoint that records request headers and
answers with an empty list: they check what the client sends, not how Kubernetes behaves.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import socket
import threading

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from http.server import BaseHTTPRequestHandler, HTTPServer
from kubernetes import client as k8s
from kubernetes.client import Configuration

from ansible_collections.triage.k8s.plugins.module_utils._k8s.auth import AUTH_ENV_VARS, auth_argument_spec
from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import build_api_client, describe_target
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError, translate_exception

TOKEN_A = "token-a-0123456789"


def kubeconfig_data(current="kwok-a"):
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "clusters": [
            {"name": "a", "cluster": {"server": "https://127.0.0.1:32768", "insecure-skip-tls-verify": True}},
            {"name": "b", "cluster": {"server": "https://127.0.0.1:32769"}},
        ],
        "users": [
            {"name": "ua", "user": {"token": TOKEN_A}},
            {"name": "ub", "user": {"token": "token-b"}},
        ],
        "contexts": [
            {"name": "kwok-a", "context": {"cluster": "a", "user": "ua", "namespace": "shop"}},
            {"name": "kwok-b", "context": {"cluster": "b", "user": "ub"}},
        ],
    }


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No K8S_AUTH_*, no KUBECONFIG, not in a cluster, and an empty HOME."""
    for names in AUTH_ENV_VARS.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def kubeconfig(tmp_path):
    path = tmp_path / "kubeconfig.yaml"
    path.write_text(yaml.safe_dump(kubeconfig_data()))
    return str(path)


def auth_header(api_client):
    return api_client.configuration.auth_settings()["BearerToken"]["value"]


def test_kubeconfig_path_uses_current_context(kubeconfig):
    api = build_api_client({"kubeconfig": kubeconfig})
    assert api.configuration.host == "https://127.0.0.1:32768"
    assert auth_header(api) == "Bearer " + TOKEN_A
    assert api.configuration.verify_ssl is False
    assert api.target_description == "context 'kwok-a' (https://127.0.0.1:32768)"


def test_kubeconfig_dict():
    api = build_api_client({"kubeconfig": kubeconfig_data(), "context": "kwok-b"})
    assert api.configuration.host == "https://127.0.0.1:32769"
    assert auth_header(api) == "Bearer token-b"


def test_context_selection(kubeconfig):
    api = build_api_client({"kubeconfig": kubeconfig, "context": "kwok-b"})
    assert api.configuration.host == "https://127.0.0.1:32769"


def test_unknown_context_lists_the_contexts_that_exist(kubeconfig):
    with pytest.raises(TriageError) as info:
        build_api_client({"kubeconfig": kubeconfig, "context": "kwok-z"})
    assert "kwok-z" in info.value.msg
    assert "available contexts: kwok-a, kwok-b" in info.value.msg


def test_no_current_context_asks_for_one(tmp_path):
    data = kubeconfig_data()
    del data["current-context"]
    with pytest.raises(TriageError) as info:
        build_api_client({"kubeconfig": data})
    assert "no current-context" in info.value.msg and "kwok-a, kwok-b" in info.value.msg


def test_context_alone_uses_kubeconfig_env(monkeypatch, kubeconfig, tmp_path):
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(tmp_path / "missing"), kubeconfig]))
    api = build_api_client({"context": "kwok-b"})
    assert api.configuration.host == "https://127.0.0.1:32769"


def test_default_kubeconfig_in_home(isolated_env):
    kube = isolated_env / ".kube"
    kube.mkdir()
    (kube / "config").write_text(yaml.safe_dump(kubeconfig_data()))
    assert build_api_client({}).configuration.host == "https://127.0.0.1:32768"


def test_host_and_api_key_need_no_kubeconfig():
    api = build_api_client({"host": "https://api.example:6443/", "api_key": "s3cr3t"})
    assert api.configuration.host == "https://api.example:6443"
    assert auth_header(api) == "Bearer s3cr3t"
    assert api.target_description == "https://api.example:6443"


def test_api_key_with_bearer_prefix_is_not_doubled():
    api = build_api_client({"host": "api.example:6443", "api_key": "Bearer s3cr3t"})
    assert api.configuration.host == "https://api.example:6443"
    assert auth_header(api) == "Bearer s3cr3t"


def test_awx_bearer_token_credential_from_env(monkeypatch, tmp_path):
    ca = tmp_path / "ca.crt"
    ca.write_text("not really a cert")
    monkeypatch.setenv("K8S_AUTH_HOST", "https://awx-cluster:6443")
    monkeypatch.setenv("K8S_AUTH_API_KEY", "awx-token")
    monkeypatch.setenv("K8S_AUTH_SSL_CA_CERT", str(ca))
    monkeypatch.setenv("K8S_AUTH_VERIFY_SSL", "true")
    # as a module sees it (env_fallback), and as a plain caller sees it
    params = ArgumentSpecValidator(auth_argument_spec()).validate({}).validated_parameters
    for api in (build_api_client(params), build_api_client({})):
        assert api.configuration.host == "https://awx-cluster:6443"
        assert auth_header(api) == "Bearer awx-token"
        assert api.configuration.ssl_ca_cert == str(ca)
        assert api.configuration.verify_ssl is True


def test_explicit_options_override_kubeconfig(kubeconfig, tmp_path):
    ca = str(tmp_path / "ca.crt")
    api = build_api_client({
        "kubeconfig": kubeconfig, "validate_certs": True, "ca_cert": ca, "host": "https://override:1",
        "api_key": "explicit", "client_cert": "/c.crt", "client_key": "/c.key",
        "proxy": "http://proxy:3128", "no_proxy": "localhost", "proxy_headers": {"user_agent": "triage/1"},
    })
    conf = api.configuration
    assert (conf.verify_ssl, conf.ssl_ca_cert, conf.host) == (True, ca, "https://override:1")
    assert (conf.cert_file, conf.key_file) == ("/c.crt", "/c.key")
    assert (conf.proxy, conf.no_proxy) == ("http://proxy:3128", "localhost")
    assert conf.proxy_headers == {"user-agent": "triage/1"}
    assert auth_header(api) == "Bearer explicit"
    assert conf.refresh_api_key_hook is None
    assert api.target_description == "context 'kwok-a' (https://override:1)"


def test_validate_certs_false_overrides_kubeconfig(tmp_path):
    api = build_api_client({"kubeconfig": kubeconfig_data(), "context": "kwok-b", "validate_certs": False})
    assert api.configuration.verify_ssl is False


def test_username_password_basic_auth():
    api = build_api_client({"host": "https://h", "username": "admin", "password": "pw"})
    assert auth_header(api) == "Basic YWRtaW46cHc="


def test_each_client_has_its_own_configuration(kubeconfig):
    before = Configuration.get_default_copy().host
    a = build_api_client({"kubeconfig": kubeconfig, "context": "kwok-a"})
    b = build_api_client({"kubeconfig": kubeconfig, "context": "kwok-b"})
    assert a.configuration is not b.configuration
    assert (a.configuration.host, b.configuration.host) == ("https://127.0.0.1:32768", "https://127.0.0.1:32769")
    assert Configuration.get_default_copy().host == before


@pytest.mark.parametrize("params,needle", [
    ({"kubeconfig": "/nonexistent/kubeconfig"}, "/nonexistent/kubeconfig does not exist"),
    ({"context": "kwok-a"}, "there is no kubeconfig"),
    ({}, "no kubeconfig at ~/.kube/config, no K8S_AUTH_* variables and not running in a cluster"),
])
def test_missing_configuration_is_a_clear_error(params, needle):
    with pytest.raises(TriageError) as info:
        build_api_client(params)
    assert needle in info.value.msg


def test_malformed_yaml_names_file_and_line_without_content(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("apiVersion: v1\nusers:\n- name: u\n  user: {token: %s\n contexts: [\n" % TOKEN_A)
    with pytest.raises(TriageError) as info:
        build_api_client({"kubeconfig": str(path)})
    assert str(path) in info.value.msg and "not valid YAML" in info.value.msg and "line" in info.value.msg
    assert TOKEN_A not in info.value.msg


def test_unreadable_kubeconfig(tmp_path):
    with pytest.raises(TriageError) as info:
        build_api_client({"kubeconfig": str(tmp_path)})  # a directory
    assert info.value.msg.startswith("cannot read kubeconfig")


def test_broken_kubeconfig_entries_are_triage_errors():
    no_cluster = kubeconfig_data()
    no_cluster["clusters"] = no_cluster["clusters"][1:]  # kwok-a names cluster "a", now gone
    no_server = kubeconfig_data()
    no_server["clusters"][0]["cluster"] = {}
    for data in (no_cluster, no_server):
        with pytest.raises(TriageError) as info:
            build_api_client({"kubeconfig": data})
        assert "context 'kwok-a'" in info.value.msg


def test_in_cluster_without_token_falls_back_or_explains(monkeypatch, isolated_env):
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with pytest.raises(TriageError) as info:
        build_api_client({})
    assert "in-cluster" in info.value.msg
    assert describe_target({}) == "in-cluster config (https://10.96.0.1:443)"
    kube = isolated_env / ".kube"
    kube.mkdir()
    (kube / "config").write_text(yaml.safe_dump(kubeconfig_data()))
    assert build_api_client({}).target_description == "context 'kwok-a' (https://127.0.0.1:32768)"


def test_describe_target(kubeconfig):
    assert describe_target({"kubeconfig": kubeconfig, "context": "kwok-b"}) == \
        "context 'kwok-b' (https://127.0.0.1:32769)"
    assert describe_target({"host": "https://h:6443", "api_key": "secret"}) == "https://h:6443"
    assert describe_target({"host": "https://user:pw@h:6443"}) == "https://h:6443"
    assert describe_target({"kubeconfig": kubeconfig, "context": "nope"}) == "context 'nope'"
    assert TOKEN_A not in describe_target({"kubeconfig": kubeconfig})


class _Recorder(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.seen.append(self.headers)
        status, body = self.server.reply
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    server.seen = []
    server.reply = (200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []})
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_wire_headers_bearer_and_impersonation(endpoint):
    host = "http://127.0.0.1:%d" % endpoint.server_address[1]
    api = build_api_client({"host": host, "api_key": "wire-token",
                            "impersonate_user": "system:serviceaccount:x:y", "impersonate_groups": ["ops", "sre"]})
    k8s.CoreV1Api(api).list_namespaced_pod("shop", _request_timeout=5)
    k8s.CoreV1Api(api).list_namespaced_pod("shop", _request_timeout=5)  # headers must not accumulate
    for headers in endpoint.seen:
        assert headers.get_all("Authorization") == ["Bearer wire-token"]
        assert headers.get_all("Impersonate-User") == ["system:serviceaccount:x:y"]
        assert headers.get_all("Impersonate-Group") == ["ops", "sre"]
    assert api.impersonation == {"user": "system:serviceaccount:x:y", "groups": ["ops", "sre"]}


def test_wire_forbidden_is_translated(endpoint):
    endpoint.reply = (403, {
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
        "message": 'pods is forbidden: User "system:serviceaccount:x:y" cannot list resource "pods" '
                   'in API group "" in the namespace "shop"', "details": {"kind": "pods"}})
    api = build_api_client({"host": "http://127.0.0.1:%d" % endpoint.server_address[1], "api_key": "wire-token"})
    with pytest.raises(Exception) as info:
        k8s.CoreV1Api(api).list_namespaced_pod("shop", _request_timeout=5)
    error = translate_exception(info.value, "list", "pods", "shop", target=api.target_description)
    assert error.msg.startswith('Forbidden: cannot list pods in namespace "shop" (user "system:serviceaccount:x:y")')
    assert "wire-token" not in error.msg + json.dumps(error.details)


def test_connection_refused_is_translated():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    api = build_api_client({"host": "http://127.0.0.1:%d" % port, "api_key": "t"})
    api.rest_client.pool_manager.connection_pool_kw["retries"] = False
    with pytest.raises(Exception) as info:
        k8s.CoreV1Api(api).read_namespaced_pod("web-1", "shop", _request_timeout=5)
    error = translate_exception(info.value, "get", "pods", "shop", "web-1", target=api.target_description)
    assert "connection refused" in error.msg and "127.0.0.1:%d" % port in error.msg


def test_persist_config_lets_the_library_write_refreshed_tokens_to_kubeconfig_files_only(monkeypatch, kubeconfig):
    from ansible_collections.triage.k8s.plugins.module_utils._k8s import client as client_mod

    seen = []
    real = client_mod.load_kube_config

    def recording(**kwargs):
        seen.append(kwargs["persist_config"])
        return real(**kwargs)

    monkeypatch.setattr(client_mod, "load_kube_config", recording)
    build_api_client({"kubeconfig": kubeconfig})
    build_api_client({"kubeconfig": kubeconfig, "persist_config": True})
    monkeypatch.setenv("K8S_AUTH_PERSIST_CONFIG", "true")
    build_api_client({"kubeconfig": kubeconfig})
    assert seen == [False, True, True]
    # Nowhere to write: accepted and without effect, never a failure.
    assert build_api_client({"kubeconfig": kubeconfig_data(), "persist_config": True}).configuration.host == \
        "https://127.0.0.1:32768"
    assert build_api_client({"host": "https://h:6443", "api_key": "t", "persist_config": True}).configuration.host == \
        "https://h:6443"
    assert seen == [False, True, True]


def test_persist_config_writes_a_refreshed_oidc_token_back(monkeypatch, tmp_path):
    """What persist_config does end to end: the library refreshes an expired oidc id-token and, only
    when asked, saves it into the file (the refresh itself is stubbed: no identity provider here)."""
    import base64
    from kubernetes.config.kube_config import KubeConfigLoader

    def jwt(exp):
        part = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
        return "eyJhbGciOiJub25lIn0.%s.c2ln" % part.replace("=", "")

    def refresh(self, provider):
        provider["config"].value["id-token"] = jwt(4102444800)  # 2100

    monkeypatch.setattr(KubeConfigLoader, "_refresh_oidc", refresh)
    for persist in (False, True):
        data = kubeconfig_data()
        data["users"][0]["user"] = {"auth-provider": {"name": "oidc", "config": {
            "id-token": jwt(946684800), "idp-issuer-url": "https://idp.invalid", "client-id": "c",
            "refresh-token": "r"}}}  # expired in 2000
        path = tmp_path / ("persist-%s.yaml" % persist)
        path.write_text(yaml.safe_dump(data))
        api = build_api_client({"kubeconfig": str(path), "persist_config": persist})
        assert auth_header(api) == "Bearer " + jwt(4102444800)
        written = yaml.safe_load(path.read_text())["users"][0]["user"]["auth-provider"]["config"]["id-token"]
        assert written == (jwt(4102444800) if persist else jwt(946684800))


def test_connect_builds_one_client_and_describes_it_once(monkeypatch, kubeconfig):
    from ansible_collections.triage.k8s.plugins.module_utils._k8s import client as client_mod
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import Kube

    reads = []
    real = client_mod.select_context
    monkeypatch.setattr(client_mod, "select_context", lambda *a: reads.append(a) or real(*a))
    kube = client_mod.connect({"kubeconfig": kubeconfig, "context": "kwok-b", "impersonate_user": "alice",
                               "impersonate_groups": ["ops"]})
    assert isinstance(kube, Kube)
    assert kube.target == "context 'kwok-b' (https://127.0.0.1:32769)" == kube.api_client.target_description
    assert len(reads) == 1  # the kubeconfig is read once: for the client, not again to describe it
    sibling = client_mod.sibling_api_client(kube.api_client)
    assert sibling is not kube.api_client and sibling.configuration is kube.api_client.configuration
    assert sibling.default_headers["Impersonate-User"] == "alice"
    assert sibling.impersonation == {"user": "alice", "groups": ["ops"]}
    assert sibling.target_description == kube.target
    assert len(reads) == 1
