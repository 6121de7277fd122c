# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""require_evidence: what an expired pod must carry before cleanup deletes it (no store here:
run_evidence.py's reads are tested against versitygw in tests/integration)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._cleanup import evidence
from ansible_collections.triage.k8s.plugins.module_utils._cleanup.decide import build_config, decide
from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_EVIDENCE,
    ANN_EXPIRES_AT,
    ANN_QUARANTINED_AT,
    QUARANTINED_LABEL,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339

NOW = datetime(2026, 12, 1, 3, 0, 0, tzinfo=timezone.utc)
STORAGE = {"bucket": "incidents", "prefix": "evidence/"}
REMOTE = {"url": "s3://incidents/evidence/b1/", "bucket": "incidents", "prefix": "evidence/b1/",
          "manifest_key": "evidence/b1/manifest.json", "endpoint": None, "objects": 9,
          "verified_at": "2026-11-30T03:00:00Z"}


def config(**params):
    return build_config(dict({"max_deletions": 100}, **params))


def record(remote="default", **extra):
    out = {"bundle": "b1", "manifest_sha256": "ab" * 32, "collected_at": "2026-11-30T03:00:00Z"}
    remote = REMOTE if remote == "default" else remote
    if remote is not None:
        out["remote"] = remote
    out.update(extra)
    return out


def expired_pod(annotation):
    annotations = {ANN_QUARANTINED_AT: format_rfc3339(NOW - timedelta(days=2)),
                   ANN_EXPIRES_AT: format_rfc3339(NOW - timedelta(days=1))}
    if annotation is not None:
        annotations[ANN_EVIDENCE] = annotation if isinstance(annotation, str) else json.dumps(annotation)
    return {"metadata": {"name": "web-1", "namespace": "shop", "uid": "u1",
                         "labels": {QUARANTINED_LABEL: "true"}, "annotations": annotations}}


@pytest.mark.parametrize("value, mode", [
    (True, "annotation"), (False, None), ("true", "annotation"), ("yes", "annotation"), ("no", None),
    ("remote", "remote"), (" Remote ", "remote"), ("annotation", "annotation"),
])
def test_modes(value, mode):
    assert evidence.evidence_mode(value) == (mode, None)


@pytest.mark.parametrize("value", ["s3", 1, None, ["remote"], "remotely"])
def test_other_values_are_refused(value):
    mode, problem = evidence.evidence_mode(value)
    assert mode is None and "true, false or remote" in problem


def test_remote_needs_a_trusted_bucket_up_front():
    with pytest.raises(TriageError) as err:
        config(require_evidence="remote")
    assert "storage.bucket" in err.value.msg and "nothing was deleted" in err.value.msg


def test_a_recorded_remote_copy_in_the_trusted_bucket_waits_for_the_check():
    check, problem = evidence.remote_requirement(record(), STORAGE)
    assert problem is None and check == {"remote": REMOTE, "manifest_sha256": "ab" * 32}


@pytest.mark.parametrize("remote, words", [
    (None, "no remote copy"),
    ({}, "no remote copy"),
    (dict(REMOTE, manifest_key=""), "incomplete"),
    (dict(REMOTE, bucket="attacker"), "outside the storage this cleanup trusts"),
    (dict(REMOTE, prefix="other/b1/", manifest_key="other/b1/manifest.json"), "outside"),
    (dict(REMOTE, manifest_key="evidence/b2/manifest.json"), "outside"),
])
def test_a_missing_incomplete_or_foreign_copy_keeps_the_pod(remote, words):
    check, problem = evidence.remote_requirement(record(remote), STORAGE)
    assert check is None and words in problem


def test_a_prefix_without_slash_does_not_admit_a_sibling():
    sibling = dict(REMOTE, prefix="evidence-old/b1/", manifest_key="evidence-old/b1/manifest.json")
    check, problem = evidence.remote_requirement(record(sibling), {"bucket": "incidents", "prefix": "evidence"})
    assert check is None and "outside" in problem
    check, problem = evidence.remote_requirement(record(), {"bucket": "incidents", "prefix": "/evidence"})
    assert problem is None


def test_the_endpoint_in_an_annotation_is_never_used():
    # Only bucket and keys come from the annotation; remote_requirement hands no endpoint on.
    check, _problem = evidence.remote_requirement(record(dict(REMOTE, endpoint="http://attacker.example")), STORAGE)
    assert "endpoint" not in {k for k in check if k != "remote"}


def test_decide_with_remote():
    remote = config(require_evidence="remote", storage=STORAGE)
    verdict = decide(expired_pod(record()), NOW, remote)
    assert verdict["delete"] and verdict["verify_remote"]["remote"] == REMOTE
    kept = decide(expired_pod(record(remote=None)), NOW, remote)
    assert not kept["delete"] and "no remote copy" in kept["why"] and "expired" in kept["why"]
    assert not decide(expired_pod(None), NOW, remote)["delete"]
    assert not decide(expired_pod("{not json"), NOW, remote)["delete"]


def test_annotation_mode_does_not_ask_the_store():
    verdict = decide(expired_pod(record(remote=None)), NOW, config(require_evidence=True))
    assert verdict["delete"] and "verify_remote" not in verdict


def test_after_check():
    verdict = {"delete": True, "why": "expired 1d ago"}
    check = {"remote": REMOTE, "manifest_sha256": "ab" * 32}
    ok = evidence.after_check(verdict, check, True, "")
    assert ok["delete"] and "verifies at s3://incidents/evidence/b1/" in ok["why"]
    bad = evidence.after_check(verdict, check, False, "manifest.json has another checksum")
    assert not bad["delete"] and "does not verify (manifest.json has another checksum)" in bad["why"]
    down = evidence.unchecked(verdict, check, "the endpoint refused the connection")
    assert not down["delete"] and "could not be checked" in down["why"]


def test_quarantine_info_shows_where_the_remote_copy_is():
    from ansible_collections.triage.k8s.plugins.module_utils._cleanup.info import info_entry
    assert info_entry(expired_pod(record()), NOW)["evidence"]["url"] == REMOTE["url"]
    assert info_entry(expired_pod(record(remote=None)), NOW)["evidence"]["url"] is None
    assert info_entry(expired_pod(record(remote={"url": 7})), NOW)["evidence"]["url"] is None
