# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the pure part of _s3/verify.py: which annotation `remote` records and manifests can
be verified at all (a hostile or broken record is not verified, without a request). The requests
themselves are tested against versitygw (tests/integration/test_pod_evidence_storage.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._s3 import verify

GOOD = {"url": "s3://b/p/x/", "bucket": "bkt", "prefix": "p/x/", "manifest_key": "p/x/manifest.json",
        "endpoint": None, "objects": 3, "verified_at": "2026-12-01T03:04:05Z"}


def test_a_good_record():
    assert verify.remote_problem(GOOD) is None
    assert verify.remote_problem(dict(GOOD, archive={"key": "p/x.tar.gz", "sha256": "a" * 64, "size": 1})) is None


@pytest.mark.parametrize("record, why", [
    (None, "no remote record"), ("s3://b/x", "no remote record"),
    (dict(GOOD, bucket=""), "no bucket"), (dict(GOOD, prefix=None), "no prefix"),
    (dict(GOOD, manifest_key=3), "no manifest_key"),
    (dict(GOOD, bucket="UP"), "not valid"), (dict(GOOD, prefix="../x/"), "not valid"),
    (dict(GOOD, manifest_key="/etc/passwd"), "not valid"),
    (dict(GOOD, archive={"key": "../a", "sha256": "a", "size": 1}), "archive is not valid"),
    (dict(GOOD, archive={"key": "a", "sha256": "a", "size": "1"}), "archive is not valid"),
    (dict(GOOD, archive="x"), "archive is not valid"),
])
def test_records_that_cannot_be_verified(record, why):
    assert why in verify.remote_problem(record)


def test_manifest_files():
    assert verify._files({"files": [{"path": "a", "size": 1, "sha256": "x"}]}) == [{"path": "a", "size": 1, "sha256": "x"}]
    for bad in ({}, {"files": "x"}, {"files": [{"path": "../a", "size": 1, "sha256": "x"}]},
                {"files": [{"path": "a", "size": "1", "sha256": "x"}]}, {"files": [{"path": "a", "size": 1}]}, []):
        assert verify._files(bad) is None


class _NoStore(object):
    """Any request would be a bug: a record that cannot be verified is decided without one."""

    def __getattr__(self, name):
        raise AssertionError("a request was made: %s" % name)


def test_a_broken_record_is_not_verified_without_a_request():
    assert verify.verify_remote(_NoStore(), dict(GOOD, prefix="../x/"), "a" * 64)[0] is False
