# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""build_module(bulk_key=...): a large result value of API data skips Ansible's masking walk only
when no no_log value occurs in it; a given token is still masked wherever it appears."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._k8s.module import _escaped, _unmasked_bulk

PODS = [{"namespace": "shop", "name": "web-%d" % i, "class": "healthy", "restarts": i, "ready": True,
         "owner": None, "explanation": u"caf\u00e9 \"quoted\" \\ back", "containers": [{"name": "app"}]}
        for i in range(3)]


def _exit(args, capsys, **result):
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.module import build_module

    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module = build_module({"name": {"type": "str"}}, bulk_key="pods")
            module.exit_json(changed=False, **result)
    return capsys.readouterr().out


def test_without_a_secret_the_bulk_value_arrives_unchanged(capsys):
    out = _exit({"name": "web"}, capsys, pods=PODS, summary={"total": 3}, flag=None)
    result = json.loads(out)
    assert result["pods"] == PODS
    assert result["summary"] == {"total": 3} and result["flag"] is None and result["changed"] is False
    assert result["invocation"]["module_args"]["name"] == "web"


def test_a_given_token_is_still_masked_in_the_bulk_value(capsys):
    pods = [dict(PODS[0], explanation="saw Bearer S3CRET-T0KEN in a log"), dict(PODS[1], name="S3CRET-T0KEN")]
    out = _exit({"name": "web", "host": "https://127.0.0.1:1", "api_key": "S3CRET-T0KEN"}, capsys, pods=pods)
    assert "S3CRET-T0KEN" not in out
    result = json.loads(out)
    assert result["pods"][0]["explanation"] == "saw Bearer ******** in a log"
    assert result["pods"][1]["name"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert result["invocation"]["module_args"]["api_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_a_token_that_does_not_occur_leaves_the_bulk_value_alone(capsys):
    out = _exit({"name": "web", "host": "https://127.0.0.1:1", "api_key": "S3CRET-T0KEN"}, capsys, pods=PODS)
    assert json.loads(out)["pods"] == PODS


def test_kubeconfig_secrets_count_as_no_log_values(capsys):
    kubeconfig = {"users": [{"name": "u", "user": {"token": "KCFG-T0KEN"}}]}
    pods = [dict(PODS[0], explanation="KCFG-T0KEN")]
    out = _exit({"name": "web", "kubeconfig": kubeconfig}, capsys, pods=pods)
    assert "KCFG-T0KEN" not in out


def test_without_the_bulk_key_nothing_changes(capsys):
    out = _exit({"name": "web"}, capsys, other=PODS)
    assert json.loads(out)["other"] == PODS


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=6), st.lists(st.text(max_size=12), max_size=4))
def test_the_check_never_misses_a_secret_inside_a_string(secret, strings):
    # Whenever Ansible's masking would change a string, the bulk value is not spliced unmasked.
    value = [s + secret + s for s in strings] or [secret]
    assert not _unmasked_bulk(json.dumps(value), [secret])
    assert _escaped(secret) in json.dumps(value)


def test_an_empty_no_log_value_takes_the_normal_path():
    assert not _unmasked_bulk(json.dumps(PODS), [""])
    assert _unmasked_bulk(json.dumps(PODS), [])
