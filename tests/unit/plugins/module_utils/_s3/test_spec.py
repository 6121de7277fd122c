# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _s3/spec.py and the option's doc fragment: the same names, aliases, defaults and
no_log; the checks that need no request."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

from ansible_collections.triage.k8s.plugins.doc_fragments.s3 import ModuleDocFragment
from ansible_collections.triage.k8s.plugins.module_utils._s3.spec import STORAGE_OPTIONS, STORAGE_SPEC, storage_problem, wanted


def test_doc_fragment_matches_the_spec():
    doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]["storage"]
    assert doc["type"] == STORAGE_SPEC["type"] == "dict"
    assert sorted(doc["suboptions"]) == sorted(STORAGE_OPTIONS)
    for name, spec in STORAGE_OPTIONS.items():
        documented = doc["suboptions"][name]
        assert documented["type"] == spec["type"], name
        assert documented.get("default") == spec.get("default"), name
        assert sorted(documented.get("aliases", [])) == sorted(spec.get("aliases", [])), name
        assert documented.get("choices") == spec.get("choices"), name


def test_secrets_are_no_log():
    assert [n for n, s in STORAGE_OPTIONS.items() if s.get("no_log")] == ["access_key", "secret_key", "session_token"]


def test_wanted():
    assert not wanted(None) and not wanted({}) and not wanted({"bucket": ""}) and wanted({"bucket": "b"})


def test_storage_problem():
    ok = {"bucket": "b", "part_size": 8, "retries": 5}
    assert storage_problem(ok) is None
    assert "5 MiB to 5120 MiB" in storage_problem(dict(ok, part_size=4))
    assert "5 MiB to 5120 MiB" in storage_problem(dict(ok, part_size=6000))
    assert storage_problem(dict(ok, retries=0)) is None
    assert "0 to 20 retries" in storage_problem(dict(ok, retries=-1))
    assert "0 to 20 retries" in storage_problem(dict(ok, retries=21))
    assert "needs storage.sse: aws:kms" in storage_problem(dict(ok, sse_kms_key_id="k"))
    assert storage_problem(dict(ok, sse="aws:kms", sse_kms_key_id="k")) is None
    assert "go together" in storage_problem(dict(ok, access_key="a"))
    assert "go together" in storage_problem(dict(ok, secret_key="s"))
    assert "session_token needs" in storage_problem(dict(ok, session_token="t"))
    assert "exclude each other" in storage_problem(dict(ok, profile="p", access_key="a", secret_key="s"))
