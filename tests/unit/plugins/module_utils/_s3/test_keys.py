# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _s3/keys.py: bucket names and keys are checked before any request."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._s3 import keys


@pytest.mark.parametrize("name", ["abc", "incident-evidence", "a.b.c", "a" * 63, "0bucket9"])
def test_valid_bucket_names(name):
    assert keys.bucket_problem(name) is None


@pytest.mark.parametrize("name, why", [
    ("", "no bucket is named"), ("ab", "not valid"), ("a" * 64, "not valid"), ("Upper", "not valid"),
    ("under_score", "not valid"), ("-start", "not valid"), ("end-", "not valid"), ("a..b", "'..'"),
    ("a.-b", "'..', '.-' or '-.'"), ("192.168.1.1", "IP address"), ("a/b", "not valid"),
])
def test_invalid_bucket_names(name, why):
    assert why in keys.bucket_problem(name)
    with pytest.raises(TriageError):
        keys.check_bucket(name)


@pytest.mark.parametrize("key", ["a", "evidence/prod/x.log", "a/b/c/", "ünïcode/ok", "a b/c"])
def test_safe_keys(key):
    assert keys.key_problem(key) is None


@pytest.mark.parametrize("key, why", [
    ("", "is empty"), ("/abs", "starts with '/'"), ("a/../b", "'..' segment"), ("..", "'..' segment"),
    ("a//b", "empty"), ("./a", "'.'"), ("a\x00b", "control character"), ("a\nb", "control character"),
    ("a\x7f", "control character"), ("a\\b", "backslash"), ("k" * 1025, "longer than 1024 bytes"),
    ("é" * 513, "longer than 1024 bytes"),
])
def test_unsafe_keys(key, why):
    assert why in keys.key_problem(key)
    with pytest.raises(TriageError) as info:
        keys.check_key(key)
    assert info.value.msg.startswith("refusing an unsafe S3 key")


def test_prefix_ends_in_one_slash_and_empty_stays_empty():
    assert keys.prefix("") == "" and keys.prefix(None) == ""
    assert keys.prefix("evidence") == "evidence/" and keys.prefix("evidence/prod/") == "evidence/prod/"
    for bad in ("/evidence", "a/../b", "../x", "a//b/"):
        with pytest.raises(TriageError):
            keys.prefix(bad)


def test_join_and_url():
    assert keys.join("prod", "reports/", "a.json") == "prod/reports/a.json"
    assert keys.join("", "", "a.json") == "a.json"
    with pytest.raises(TriageError):
        keys.join("prod", "../../etc", "passwd")
    assert keys.url("b", "k/x") == "s3://b/k/x" and keys.url("b") == "s3://b/"
