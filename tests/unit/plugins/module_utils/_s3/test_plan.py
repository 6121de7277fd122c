# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _s3/plan.py: the objects and keys of a bundle (files or archive mode), of
evidence_upload's sources, and the annotation's remote record."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._s3 import plan

BUNDLE = "/srv/ev/kind-a_shop_web-1_20261201T030405Z"
NAME = "kind-a_shop_web-1_20261201T030405Z"
MANIFEST = {"files": [{"path": "SHA256SUMS", "size": 3, "sha256": "a" * 64},
                      {"path": "logs/app.log", "size": 10, "sha256": "b" * 64}]}


def test_files_mode_every_listed_file_then_the_manifest():
    objects = plan.bundle_objects(BUNDLE, MANIFEST, "c" * 64, "prod/eu/")
    assert [(o["path"], o["key"], o["sha256"]) for o in objects] == [
        (BUNDLE + "/SHA256SUMS", "prod/eu/%s/SHA256SUMS" % NAME, "a" * 64),
        (BUNDLE + "/logs/app.log", "prod/eu/%s/logs/app.log" % NAME, "b" * 64),
        (BUNDLE + "/manifest.json", "prod/eu/%s/manifest.json" % NAME, "c" * 64),
    ]


def test_archive_mode_the_archive_and_the_manifest_sidecar():
    archive = {"path": BUNDLE + ".tar.gz", "sha256": "d" * 64, "size": 99}
    objects = plan.bundle_objects(BUNDLE, MANIFEST, "c" * 64, "", archive)
    assert [o["key"] for o in objects] == [NAME + ".tar.gz", NAME + "/manifest.json"]
    assert objects[0]["sha256"] == "d" * 64 and objects[1]["sha256"] == "c" * 64


def test_a_hostile_path_in_a_manifest_is_refused():
    with pytest.raises(TriageError):
        plan.bundle_objects(BUNDLE, {"files": [{"path": "../../x", "size": 1, "sha256": "a" * 64}]}, "c" * 64, "")
    with pytest.raises(TriageError):
        plan.bundle_prefix("p", "a/b")
    with pytest.raises(TriageError):
        plan.bundle_prefix("/p", NAME)


def test_sources():
    assert plan.source_objects("/tmp/r.json", "rep/", [(None, None)]) == [
        {"path": "/tmp/r.json", "key": "rep/r.json", "sha256": None, "size": None}]
    listed = {"path": "a.log", "size": 1, "sha256": "e" * 64}
    out = plan.source_objects("/tmp/dir/", "", [("a.log", listed), ("manifest.json", None)])
    assert [(o["key"], o["sha256"]) for o in out] == [("dir/a.log", "e" * 64), ("dir/manifest.json", None)]


def test_bundle_entries():
    entries, problem = plan.bundle_entries(MANIFEST, ["SHA256SUMS", "logs/app.log", "manifest.json"])
    assert problem is None and [e[0] for e in entries] == ["SHA256SUMS", "logs/app.log", "manifest.json"]
    assert plan.bundle_entries(MANIFEST, ["SHA256SUMS", "manifest.json"])[1] == \
        "manifest.json lists files that are not there: logs/app.log"
    assert plan.bundle_entries(MANIFEST, ["SHA256SUMS", "logs/app.log", "x", "manifest.json"])[1] == \
        "files that manifest.json does not list: x"


def test_remote_record():
    record = plan.remote_record("b", "p/%s/" % NAME, None, 3, "2026-12-01T03:04:05Z")
    assert record == {"url": "s3://b/p/%s/" % NAME, "bucket": "b", "prefix": "p/%s/" % NAME,
                      "manifest_key": "p/%s/manifest.json" % NAME, "endpoint": None, "objects": 3,
                      "verified_at": "2026-12-01T03:04:05Z"}
    archive = {"key": NAME + ".tar.gz", "sha256": "d" * 64, "size": 9, "path": "x"}
    archived = plan.remote_record("b", NAME + "/", "http://s3:9000", 2, "t", archive)
    assert archived["archive"] == {"key": NAME + ".tar.gz", "sha256": "d" * 64, "size": 9}
    assert archived["endpoint"] == "http://s3:9000"
