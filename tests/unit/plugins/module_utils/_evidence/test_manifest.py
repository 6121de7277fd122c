# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _evidence/manifest.py: what manifest.json records and pod_evidence's result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import re

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_EVIDENCE,
    ANN_QUARANTINED_AT,
    QUARANTINED_LABEL,
    QUARANTINED_VALUE,
)
from ansible_collections.triage.k8s.plugins.module_utils._evidence import manifest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".."))
STARTED = datetime.datetime(2026, 11, 22, 3, 4, 5, tzinfo=datetime.timezone.utc)
FINISHED = datetime.datetime(2026, 11, 22, 3, 4, 9, tzinfo=datetime.timezone.utc)
PARAMS = {"context": "kwok-triage-a", "required": None, "tail_lines": 100, "since_seconds": None, "limit_bytes": None,
          "redact": True, "redact_patterns": None, "workers": 4, "notes": {"ticket": "INC-1"}}
RESULTS = {"manifest": {"status": "ok", "files": ["pod.yaml"]},
           "logs": {"status": "partial", "files": ["logs/app.log"], "error": "app: stream broke"},
           "metrics": {"status": "unavailable", "files": [], "note": "no metrics API"}}


def _pod(quarantined):
    meta = {"name": "web-1", "namespace": "shop", "uid": "u1", "resourceVersion": "42", "labels": {},
            "annotations": {}}
    if quarantined:
        meta["labels"][QUARANTINED_LABEL] = QUARANTINED_VALUE
        meta["annotations"].update({ANN_QUARANTINED_AT: "2026-11-22T03:00:00Z", ANN_EVIDENCE: "{}"})
    return {"metadata": meta, "spec": {"nodeName": "node-0"}, "status": {"phase": "Running"}}


def _build(pod):
    return manifest.build_manifest(pod, PARAMS, ["manifest", "logs", "metrics"], RESULTS, "b",
                                   {"server": "https://127.0.0.1:6443", "target": "context 'kwok-triage-a'"},
                                   {"identity": "alice", "local_user": "al", "host": "laptop"},
                                   STARTED, FINISHED, 4.0)


def test_collection_version_matches_galaxy_yml():
    with open(os.path.join(REPO, "galaxy.yml")) as handle:
        version = re.search(r"^version:\s*(\S+)", handle.read(), re.M).group(1)
    assert manifest.COLLECTION_VERSION == version


def test_build_manifest():
    built = _build(_pod(quarantined=False))
    assert built["format"] == "triage.k8s/evidence-bundle/v1" and built["bundle"] == "b"
    assert built["complete"] is False  # logs is partial
    assert built["collection"] == {"name": "triage.k8s", "version": manifest.COLLECTION_VERSION}
    assert built["cluster"] == {"server": "https://127.0.0.1:6443", "target": "context 'kwok-triage-a'",
                                "context": "kwok-triage-a"}
    assert built["collected_by"] == {"identity": "alice", "local_user": "al", "host": "laptop"}
    assert built["pod"] == {"name": "web-1", "namespace": "shop", "uid": "u1", "resourceVersion": "42",
                            "node": "node-0", "phase": "Running", "quarantined": False, "quarantine": None}
    assert (built["started_at"], built["finished_at"], built["duration_seconds"]) == (
        "2026-11-22T03:04:05Z", "2026-11-22T03:04:09Z", 4.0)
    assert built["options"] == {"items": ["manifest", "logs", "metrics"], "required": [], "tail_lines": 100,
                                "since_seconds": None, "limit_bytes": None, "redact": True, "redact_patterns": [],
                                "workers": 4}
    assert built["notes"] == {"ticket": "INC-1"} and built["items"] is RESULTS
    assert built["failed"] == [{"item": "logs", "status": "partial", "error": "app: stream broke"}]
    assert built["skipped"] == [{"item": "metrics", "status": "unavailable", "note": "no metrics API"}]


def test_a_quarantined_pod_records_its_quarantine_but_not_the_evidence():
    record = _build(_pod(quarantined=True))["pod"]
    assert record["quarantined"] is True and record["quarantine"]
    assert "evidence" not in record["quarantine"]


def test_summary_and_result():
    built = dict(_build(_pod(quarantined=False)), size_bytes=30, redactions=2,
                 files=[{"path": "pod.yaml", "size": 10, "sha256": "a"}, {"path": "logs/app.log", "size": 20,
                                                                          "sha256": "b"}])
    result = manifest.module_result("/e/b", built, "ff", RESULTS)
    assert result["manifest"] == {"bundle": "b", "complete": False, "started_at": "2026-11-22T03:04:05Z",
                                  "finished_at": "2026-11-22T03:04:09Z", "collected_by": built["collected_by"],
                                  "server": "https://127.0.0.1:6443", "files": 2, "size_bytes": 30,
                                  "items": {"manifest": "ok", "logs": "partial", "metrics": "unavailable"}}
    del result["manifest"]
    assert result == {
        "changed": True, "bundle": "/e/b", "bundle_name": "b", "partial": None, "archive": None,
        "manifest_sha256": "ff", "complete": False, "files": 2, "size_bytes": 30,
        "failed_items": built["failed"], "skipped_items": built["skipped"],
        "items": {"manifest": {"status": "ok"}, "logs": {"status": "partial", "error": "app: stream broke"},
                  "metrics": {"status": "unavailable", "note": "no metrics API"}},
        "redactions": 2, "annotation": None}
