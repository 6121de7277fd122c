# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets inside connection options (a kubeconfig dict, proxy and host URLs) are found and
masked by Ansible in the module's invocation and result, while paths and names stay visible."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from hypothesis import given, strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._k8s.auth import (
    connection_secrets,
    kubeconfig_secrets,
    url_password,
)

# Every value starting with S- is a secret; everything else must stay visible.
KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "current-context": "prod",
    "clusters": [
        {"name": "prod", "cluster": {"server": "https://admin:S-server-pw@api.prod:6443",
                                     "proxy-url": "http://proxyuser:S-proxy-url-pw@proxy:3128",
                                     "certificate-authority-data": "Q0EtREFUQQ=="}},
        {"name": "plain", "cluster": {"server": "https://api.plain:6443", "certificate-authority": "/etc/ca.crt"}},
    ],
    "users": [
        {"name": "token", "user": {"token": "S-bearer-token"}},
        {"name": "basic", "user": {"username": "alice", "password": "S-basic-password"}},
        {"name": "numeric", "user": {"username": "bob", "password": 31415926}},
        {"name": "certs", "user": {"client-certificate-data": "Q0VSVA==", "client-key-data": "S-client-key-data",
                                   "client-certificate": "/etc/client.crt", "client-key": "/etc/client.key"}},
        {"name": "file", "user": {"tokenFile": "/var/run/token"}},
        {"name": "oidc", "user": {"auth-provider": {"name": "oidc", "config": {
            "client-id": "kubernetes", "client-secret": "S-oidc-client-secret", "id-token": "S-id-token",
            "refresh-token": "S-refresh-token", "idp-issuer-url": "https://issuer.example"}}}},
        {"name": "gcp", "user": {"auth-provider": {"name": "gcp", "config": {
            "access-token": "S-gcp-access-token", "cmd-path": "/usr/bin/gcloud", "token-key": "{.credential.access_token}"}}}},
        {"name": "exec", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1", "command": "aws-iam-authenticator",
            "args": ["token", "-i", "prod", "--token=S-exec-flag-token", "--password", "S-exec-next-arg", "--region", "eu-west-1"],
            "env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": "S-exec-env-secret"},
                    {"name": "AWS_SESSION_TOKEN", "value": "S-exec-env-session"},
                    {"name": "AWS_PROFILE", "value": "production"}]}}},
    ],
    "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "token"}}],
}
SECRETS = {"S-server-pw", "S-proxy-url-pw", "S-bearer-token", "S-basic-password", "31415926", "S-client-key-data",
           "S-oidc-client-secret", "S-id-token", "S-refresh-token", "S-gcp-access-token", "S-exec-flag-token",
           "S-exec-next-arg", "S-exec-env-secret", "S-exec-env-session"}


def test_every_secret_of_a_kubeconfig_dict_and_nothing_else():
    assert kubeconfig_secrets(KUBECONFIG) == SECRETS


@pytest.mark.parametrize("value", [None, "/root/.kube/config", "a:b", ["/x"], 3, {"users": "nope"},
                                   {"users": [None, "x", {"user": None}], "clusters": [None, {"cluster": "x"}]}])
def test_kubeconfig_that_is_a_path_or_malformed_gives_nothing(value):
    assert kubeconfig_secrets(value) == set()


@pytest.mark.parametrize("url,expected", [
    ("http://user:pw@proxy:3128", ["pw"]),
    ("http://user:p%40ss@proxy:3128", ["p%40ss", "p@ss"]),
    ("http://:only-pw@proxy", ["only-pw"]),
    ("http://user@proxy:3128", []),
    ("http://proxy:3128", []),
    ("https://user:pw@[::1]:6443/path", ["pw"]),
    ("http://user:pw@[broken", ["pw"]),  # urlsplit rejects it; the password is still found
    ("", []),
    (None, []),
])
def test_url_password(url, expected):
    assert url_password(url) == expected


def test_connection_secrets_combines_kubeconfig_proxy_and_host():
    params = {"kubeconfig": {"users": [{"name": "u", "user": {"token": "T0KEN"}}]},
              "proxy": "http://u:PROXYPW@127.0.0.1:9", "host": "https://a:HOSTPW@api:6443", "context": "x"}
    assert connection_secrets(params) == {"T0KEN", "PROXYPW", "HOSTPW"}
    assert connection_secrets({"kubeconfig": "/path/with:colon", "proxy": 5}) == set()
    assert connection_secrets(None) == set()


@given(st.text(alphabet=st.characters(blacklist_characters="/@\x00", blacklist_categories=("Cs",)), min_size=1))
def test_any_proxy_password_is_found(password):
    assert password in url_password("http://user:%s@proxy:3128" % password)


def _run_module(args, capsys, argument_spec=None):
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.module import build_module

    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module = build_module(argument_spec or {"name": {"type": "str"}})
            module.exit_json(changed=False, echoed=json.dumps(module.params.get("kubeconfig")))
    return capsys.readouterr().out


def test_invocation_masks_kubeconfig_dict_and_proxy_password_but_keeps_the_rest(capsys):
    out = _run_module({"kubeconfig": KUBECONFIG, "context": "prod", "proxy": "http://u:PROXY-PW-1@127.0.0.1:9",
                       "name": "web-1"}, capsys)
    for secret in SECRETS | {"PROXY-PW-1"}:
        assert secret not in out, secret
    result = json.loads(out)
    args = result["invocation"]["module_args"]
    assert args["kubeconfig"]["users"][1]["user"]["username"] == "alice"
    assert args["kubeconfig"]["users"][0]["user"]["token"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert args["kubeconfig"]["users"][3]["user"]["client-key"] == "/etc/client.key"
    assert args["proxy"] == "http://u:********@127.0.0.1:9"
    assert args["name"] == "web-1" and args["context"] == "prod"


def test_kubeconfig_path_stays_visible(capsys):
    out = _run_module({"kubeconfig": "/home/me/.kube/config", "name": "web-1"}, capsys)
    assert json.loads(out)["invocation"]["module_args"]["kubeconfig"] == "/home/me/.kube/config"


def test_failed_validation_masks_them_too(capsys):
    # The type error comes before the module runs; its result still carries the invocation.
    out = _run_module({"kubeconfig": {"users": [{"name": "u", "user": {"token": "VALIDATION-T0KEN"}}]},
                       "proxy": "http://u:VALIDATION-PW@h:1", "name": ["not", "a", "string"]}, capsys,
                      argument_spec={"name": {"type": "int"}})
    assert "VALIDATION-T0KEN" not in out and "VALIDATION-PW" not in out
    assert json.loads(out)["failed"] is True


def test_proxy_from_the_environment_is_masked(capsys, monkeypatch):
    monkeypatch.setenv("K8S_AUTH_PROXY", "http://u:ENV-PROXY-PW@127.0.0.1:9")
    out = _run_module({"name": "web-1"}, capsys)
    assert "ENV-PROXY-PW" not in out
    assert json.loads(out)["invocation"]["module_args"]["proxy"] == "http://u:********@127.0.0.1:9"
