# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _evidence/redact_objects.py: env values in manifests, structured values, the
collection's rule set from pod_evidence's options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact import REDACTED, Tally, compile_patterns
from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact_objects import (
    LAST_APPLIED,
    Redaction,
    clean_manifest,
    looks_secret,
    redact_strings,
)

PATTERNS = compile_patterns()


def _pod(env, annotations=None):
    return {
        "metadata": {"name": "web-1", "managedFields": [{"manager": "kubectl"}], "annotations": annotations or {}},
        "spec": {"containers": [{"name": "app", "env": env, "args": ["--db-password=hunter2", "--port=80"]}],
                 "initContainers": [{"name": "init", "env": [{"name": "API_TOKEN", "value": "t0k3n"}]}]},
    }


@pytest.mark.parametrize("name,secret", [
    ("DB_PASSWORD", True), ("api_token", True), ("AWS_SECRET_ACCESS_KEY", True), ("SSH_KEY", True),
    ("GITHUB_CREDENTIALS", True), ("ClientSecret", True), ("LOG_LEVEL", False), ("PORT", False), ("HOME", False),
])
def test_looks_secret(name, secret):
    assert looks_secret(name) is secret


def test_literal_secret_values_are_redacted_and_references_kept():
    env = [{"name": "DB_PASSWORD", "value": "hunter2"},
           {"name": "LOG_LEVEL", "value": "debug"},
           {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "api", "key": "key"}}},
           {"name": "EMPTY_TOKEN", "value": ""}]
    pod = _pod(env)
    original = copy.deepcopy(pod)
    cleaned, count = clean_manifest(pod, True, PATTERNS)
    container = cleaned["spec"]["containers"][0]
    assert container["env"][0] == {"name": "DB_PASSWORD", "value": REDACTED}
    assert container["env"][1]["value"] == "debug"
    assert container["env"][2] == env[2]  # the reference names a Secret key; it does not hold it
    assert container["env"][3]["value"] == ""
    assert cleaned["spec"]["initContainers"][0]["env"][0]["value"] == REDACTED
    assert container["args"] == ["--db-password=<redacted>", "--port=80"]
    assert "managedFields" not in cleaned["metadata"]
    assert count == 3
    assert pod == original  # the input is not changed


def test_nested_templates_and_last_applied_annotation():
    applied = {"spec": {"template": {"spec": {"containers": [{"name": "a", "env": [
        {"name": "SECRET_SAUCE", "value": "ketchup"}]}]}}}}
    cronjob = {"metadata": {"annotations": {LAST_APPLIED: json.dumps(applied)}},
               "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
                   {"name": "a", "env": [{"name": "SECRET_SAUCE", "value": "ketchup"}]}]}}}}}}
    cleaned, count = clean_manifest(cronjob, True, PATTERNS)
    text = json.dumps(cleaned)
    assert "ketchup" not in text and count == 2
    assert json.loads(cleaned["metadata"]["annotations"][LAST_APPLIED])["spec"]["template"]["spec"][
        "containers"][0]["env"][0]["value"] == REDACTED


def test_unparseable_last_applied_is_replaced():
    cleaned, _count = clean_manifest({"metadata": {"annotations": {LAST_APPLIED: "{not json"}}, "spec": {}}, True, [])
    assert cleaned["metadata"]["annotations"][LAST_APPLIED] == REDACTED


def test_redact_false_keeps_values_but_drops_managed_fields():
    cleaned, count = clean_manifest(_pod([{"name": "DB_PASSWORD", "value": "hunter2"}]), False, PATTERNS)
    assert cleaned["spec"]["containers"][0]["env"][0]["value"] == "hunter2" and count == 0
    assert "managedFields" not in cleaned["metadata"]


def test_extra_env_names():
    cleaned, _count = clean_manifest(_pod([{"name": "DSN_LIKE_THING", "value": "x"}, {"name": "MAGIC", "value": "y"}]),
                                     True, [], extra_names=["magic"])
    assert [e["value"] for e in cleaned["spec"]["containers"][0]["env"]] == [REDACTED, REDACTED]


def test_redact_strings_counts_secret_keys_and_flags():
    obj, n = redact_strings({"a": ["--password", "x1"], "api_token": "t", "secretName": "db"}, PATTERNS, Tally())
    assert obj == {"a": ["--password", "<redacted>"], "api_token": "<redacted>", "secretName": "db"} and n == 2


def test_redaction_from_params():
    off = Redaction.from_params({"redact": False, "redact_patterns": ["x"], "redact_env_names": ["MAGIC"]})
    assert off.enabled is False and off.patterns == [] and off.extra_names == [] and off.extra_patterns == 0
    on = Redaction.from_params({"redact": True, "redact_patterns": [r"sessionid=(?P<secret>\w+)"],
                                "redact_env_names": ["MAGIC"]})
    assert on.enabled is True and on.extra_names == ["MAGIC"] and on.extra_patterns == 1
    assert len(on.patterns) == len(PATTERNS) + 1 and on.text("GET /?sessionid=abc") == "GET /?sessionid=<redacted>"
    plain = Redaction.from_params({"redact": True, "redact_patterns": None})
    assert plain.extra_names == [] and plain.extra_patterns == 0 and len(plain.patterns) == len(PATTERNS)
