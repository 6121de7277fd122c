# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.triage.k8s.plugins.doc_fragments.k8s_auth import ModuleDocFragment
from ansible_collections.triage.k8s.plugins.module_utils._k8s.auth import (
    AUTH_ARG_SPEC,
    AUTH_ENV_VARS,
    auth_argument_spec,
    resolve_auth_params,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError

ALL_ENV = sorted(set(v for names in AUTH_ENV_VARS.values() for v in names)) + [
    "K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH", "K8S_AUTH_PROXY_HEADERS_BASIC_AUTH",
    "K8S_AUTH_PROXY_HEADERS_USER_AGENT"]

# What kubernetes.core documents (names, aliases, variables); ours must not drift from it.
KUBERNETES_CORE_NAMES = {
    "kubeconfig": ([], "K8S_AUTH_KUBECONFIG"),
    "context": ([], "K8S_AUTH_CONTEXT"),
    "host": ([], "K8S_AUTH_HOST"),
    "api_key": ([], "K8S_AUTH_API_KEY"),
    "username": ([], "K8S_AUTH_USERNAME"),
    "password": ([], "K8S_AUTH_PASSWORD"),
    "validate_certs": (["verify_ssl"], "K8S_AUTH_VERIFY_SSL"),
    "ca_cert": (["ssl_ca_cert"], "K8S_AUTH_SSL_CA_CERT"),
    "client_cert": (["cert_file"], "K8S_AUTH_CERT_FILE"),
    "client_key": (["key_file"], "K8S_AUTH_KEY_FILE"),
    "proxy": ([], "K8S_AUTH_PROXY"),
    "no_proxy": ([], "K8S_AUTH_NO_PROXY"),
    "impersonate_user": ([], "K8S_AUTH_IMPERSONATE_USER"),
    "impersonate_groups": ([], "K8S_AUTH_IMPERSONATE_GROUPS"),
    "persist_config": ([], "K8S_AUTH_PERSIST_CONFIG"),
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ALL_ENV:
        monkeypatch.delenv(name, raising=False)


def validate(params):
    result = ArgumentSpecValidator(auth_argument_spec()).validate(params)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def documented_options():
    return yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]


def test_spec_matches_doc_fragment():
    docs = documented_options()
    assert sorted(docs) == sorted(AUTH_ARG_SPEC)
    for name, spec in AUTH_ARG_SPEC.items():
        doc = docs[name]
        assert doc.get("type") == spec.get("type"), name
        assert sorted(doc.get("aliases", [])) == sorted(spec.get("aliases", [])), name
        assert doc.get("elements") == spec.get("elements"), name
        assert "default" not in doc and "default" not in spec, name
    sub_docs = docs["proxy_headers"]["suboptions"]
    sub_spec = AUTH_ARG_SPEC["proxy_headers"]["options"]
    assert sorted(sub_docs) == sorted(sub_spec)
    for name, spec in sub_spec.items():
        assert sub_docs[name]["type"] == spec["type"]


def test_names_aliases_and_variables_match_kubernetes_core():
    docs = documented_options()
    for name, (aliases, env) in KUBERNETES_CORE_NAMES.items():
        assert sorted(AUTH_ARG_SPEC[name].get("aliases", [])) == aliases
        assert env in AUTH_ENV_VARS[name]
        assert env in " ".join(docs[name]["description"]), name


def test_fragment_carries_requirement_and_resolution_order():
    fragment = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)
    assert fragment["requirements"] == ["kubernetes >= 24.2.0"]
    assert "KUBERNETES_SERVICE_HOST" in fragment["notes"][0]


def test_secrets_are_no_log():
    assert AUTH_ARG_SPEC["api_key"]["no_log"] is True
    assert AUTH_ARG_SPEC["password"]["no_log"] is True
    assert AUTH_ARG_SPEC["proxy_headers"]["options"]["proxy_basic_auth"]["no_log"] is True
    assert AUTH_ARG_SPEC["proxy_headers"]["options"]["basic_auth"]["no_log"] is True


def test_auth_argument_spec_is_a_deep_copy():
    spec = auth_argument_spec()
    spec["validate_certs"]["aliases"].append("oops")
    spec["proxy_headers"]["options"]["user_agent"]["type"] = "int"
    assert AUTH_ARG_SPEC["validate_certs"]["aliases"] == ["verify_ssl"]
    assert AUTH_ARG_SPEC["proxy_headers"]["options"]["user_agent"]["type"] == "str"


@pytest.mark.parametrize("text,expected", [("false", False), ("no", False), ("0", False),
                                           ("False", False), ("true", True), ("yes", True), ("1", True)])
def test_verify_ssl_env_is_converted_to_bool(monkeypatch, text, expected):
    monkeypatch.setenv("K8S_AUTH_VERIFY_SSL", text)
    assert validate({})["validate_certs"] is expected
    assert resolve_auth_params({})["validate_certs"] is expected


def test_env_fallback_fills_every_awx_bearer_token_variable(monkeypatch, tmp_path):
    ca = tmp_path / "ca.crt"
    monkeypatch.setenv("K8S_AUTH_HOST", "https://api.example:6443")
    monkeypatch.setenv("K8S_AUTH_API_KEY", "tok")
    monkeypatch.setenv("K8S_AUTH_SSL_CA_CERT", str(ca))
    monkeypatch.setenv("K8S_AUTH_VERIFY_SSL", "no")
    params = validate({})
    assert params["host"] == "https://api.example:6443"
    assert params["api_key"] == "tok"
    assert params["ca_cert"] == str(ca)
    assert params["validate_certs"] is False


def test_module_parameter_beats_environment(monkeypatch):
    monkeypatch.setenv("K8S_AUTH_CONTEXT", "from-env")
    assert validate({"context": "from-task"})["context"] == "from-task"
    assert resolve_auth_params({"context": "from-task"})["context"] == "from-task"


def test_impersonate_groups_from_env_is_split(monkeypatch):
    monkeypatch.setenv("K8S_AUTH_IMPERSONATE_GROUPS", "ops,sre")
    assert validate({})["impersonate_groups"] == ["ops", "sre"]
    monkeypatch.setenv("K8S_AUTH_IMPERSONATE_GROUPS", " ops , sre ,")
    assert resolve_auth_params({})["impersonate_groups"] == ["ops", "sre"]


def test_aliases_are_accepted(tmp_path):
    params = validate({"verify_ssl": False, "ssl_ca_cert": "/ca", "cert_file": "/c", "key_file": "/k"})
    assert (params["validate_certs"], params["ca_cert"], params["client_cert"], params["client_key"]) == (
        False, "/ca", "/c", "/k")
    resolved = resolve_auth_params({"verify_ssl": False, "ssl_ca_cert": "/ca"})
    assert resolved["validate_certs"] is False and resolved["ca_cert"] == "/ca"


def test_resolve_reads_alternate_variable_names(monkeypatch):
    monkeypatch.setenv("K8S_AUTH_CERT_FILE", "/c.crt")
    monkeypatch.setenv("K8S_AUTH_VALIDATE_CERTS", "false")
    resolved = resolve_auth_params({})
    assert resolved["client_cert"] == "/c.crt" and resolved["validate_certs"] is False


def test_resolve_proxy_headers_from_env_only_when_not_given(monkeypatch):
    monkeypatch.setenv("K8S_AUTH_PROXY_HEADERS_USER_AGENT", "triage/1")
    assert resolve_auth_params({})["proxy_headers"] == {"user_agent": "triage/1"}
    given = {"user_agent": "mine", "basic_auth": None, "proxy_basic_auth": None}
    assert resolve_auth_params({"proxy_headers": given})["proxy_headers"] == given


def test_resolve_treats_empty_variable_as_unset(monkeypatch):
    monkeypatch.setenv("K8S_AUTH_HOST", "")
    assert resolve_auth_params({})["host"] is None


def test_resolve_rejects_bad_boolean(monkeypatch):
    monkeypatch.setenv("K8S_AUTH_VERIFY_SSL", "maybe")
    with pytest.raises(TriageError) as info:
        resolve_auth_params({})
    assert "validate_certs" in info.value.msg


def test_resolve_expands_paths(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("K8S_AUTH_KEY_FILE", "~/k.key")
    assert resolve_auth_params({})["client_key"] == str(tmp_path / "k.key")


def test_build_module_merges_auth_options(monkeypatch, capsys):
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.module import build_module

    monkeypatch.setenv("K8S_AUTH_API_KEY", "sekret-token")
    with patch_module_args({"name": "web-1", "host": "https://h"}):
        module = build_module({"name": {"type": "str", "required": True}}, supports_check_mode=True)
    assert module.params["name"] == "web-1"
    assert module.params["host"] == "https://h"
    assert module.params["api_key"] == "sekret-token"
    assert module.check_mode is False
    assert "sekret-token" in module.no_log_values


def test_build_module_refuses_clashing_option():
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.module import build_module

    with pytest.raises(ValueError):
        build_module({"host": {"type": "str"}})


@pytest.mark.parametrize("text,expected", [("true", True), ("yes", True), ("false", False), ("0", False)])
def test_persist_config_is_a_bool_from_option_or_env(monkeypatch, text, expected):
    assert validate({})["persist_config"] is None  # unset: never written, as kubernetes.core's default
    assert validate({"persist_config": True})["persist_config"] is True
    monkeypatch.setenv("K8S_AUTH_PERSIST_CONFIG", text)
    assert validate({})["persist_config"] is expected
    assert resolve_auth_params({})["persist_config"] is expected
    monkeypatch.setenv("K8S_AUTH_PERSIST_CONFIG", "sometimes")
    with pytest.raises(TriageError) as info:
        resolve_auth_params({})
    assert "persist_config must be a boolean" in info.value.msg
