# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for evidence_redact.py: env values in manifests, text patterns, streaming by lines."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact import (
    REDACTED,
    LineRedactor,
    compile_patterns,
    redact_bytes,
    redact_text,
)
from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact_objects import (
    LAST_APPLIED,
    clean_manifest,
    looks_secret,
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


@pytest.mark.parametrize("line,gone,kept", [
    ("Authorization: Bearer abcdef1234567890", "abcdef1234567890", "Authorization: Bearer"),
    ("connecting with password=s3cr3t! now", "s3cr3t!", "password="),
    ('{"api_key": "AIzaSyA-1234567"}', "AIzaSyA-1234567", '"api_key"'),
    ("key AKIAABCDEFGHIJKLMNOP used", "AKIAABCDEFGHIJKLMNOP", "key "),
    ("jwt eyJhbGciOi.eyJzdWIiOiIx.SflKxwRJSMeKKF2QT4", "eyJhbGciOi", "jwt "),
    ("postgres://app:pa55w0rd@db:5432/x", "pa55w0rd", "postgres://app:"),
])
def test_builtin_text_patterns(line, gone, kept):
    out = redact_text(line, PATTERNS)
    assert gone not in out and kept in out and REDACTED in out


def test_custom_pattern_with_secret_group():
    patterns = compile_patterns([r"sessionid=(?P<secret>[0-9a-f]+)"], builtin=False)
    assert redact_bytes(b"GET /?sessionid=deadbeef&x=1", patterns) == (b"GET /?sessionid=<redacted>&x=1", 1)
    assert redact_bytes(b"card 4111-1111", compile_patterns([r"\d{4}-\d{4}"], builtin=False))[0] == b"card <redacted>"


def test_invalid_pattern_is_named():
    with pytest.raises(ValueError, match=r"invalid redact_patterns expression '\(unclosed'"):
        compile_patterns(["(unclosed"])


def test_private_key_block_is_redacted_line_by_line():
    text = (b"before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n-----END RSA PRIVATE KEY-----\nafter\n")
    redactor = LineRedactor(PATTERNS)
    out = redactor.feed(text) + redactor.flush()
    assert b"MIIEow" not in out and b"AAAA" not in out
    assert out.startswith(b"before\n-----BEGIN RSA PRIVATE KEY-----\n") and out.endswith(b"-----END RSA PRIVATE KEY-----\nafter\n")


def test_long_line_is_cut_and_memory_stays_bounded():
    redactor = LineRedactor(PATTERNS, max_line=64)
    out = redactor.feed(b"x" * 100)
    assert out == b"x" * 100 and redactor.carry == b""
    assert redactor.feed(b"y" * 10) == b"" and redactor.carry == b"y" * 10


LINES = st.lists(st.sampled_from([b"plain text", b"password=hunter2", b"Bearer abcd3fghijkl", b"", b"token: x1",
                                  b"-----BEGIN PRIVATE KEY-----", b"-----END PRIVATE KEY-----", b"\xff\xfe bytes"]),
                 max_size=30)


@settings(max_examples=200, deadline=None)
@given(LINES, st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=10), st.booleans())
def test_output_does_not_depend_on_chunking(lines, cuts, trailing_newline):
    data = b"\n".join(lines) + (b"\n" if trailing_newline else b"")
    whole = LineRedactor(PATTERNS)
    expected = whole.feed(data) + whole.flush()
    chunked = LineRedactor(PATTERNS)
    out, pos, i = [], 0, 0
    while pos < len(data):
        size = cuts[i % len(cuts)]
        out.append(chunked.feed(data[pos:pos + size]))
        pos, i = pos + size, i + 1
    out.append(chunked.flush())
    assert b"".join(out) == expected
    assert b"hunter2" not in expected and b"abcd3fghijkl" not in expected
    assert chunked.count == whole.count
