# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the storage side of pod_evidence and evidence_upload: _evidence/upload_outcome.py
(the `remote` result, evidence_upload's result and messages), the remote copy in outcome.py's
`Written: ... Not written: ...`, the annotation's `remote` (plan.annotation_value) and the
EvidenceCollected note naming the stored copy."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._contract import events
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._evidence import outcome, upload_outcome
from ansible_collections.triage.k8s.plugins.module_utils._evidence.bundle import Bundle
from ansible_collections.triage.k8s.plugins.module_utils._evidence.plan import annotation_value

URL = "s3://b/p/kind_ns_pod_20261201T030405Z/"
RECORD = {"url": URL, "bucket": "b", "prefix": "p/kind_ns_pod_20261201T030405Z/", "endpoint": None,
          "manifest_key": "p/kind_ns_pod_20261201T030405Z/manifest.json", "objects": 2,
          "verified_at": "2026-12-01T03:04:06Z"}


def _objects(*statuses):
    return [{"key": "k%d" % i, "status": s} for i, s in enumerate(statuses)]


def test_annotation_value_with_and_without_remote():
    plain = json.loads(annotation_value("b", "ab" * 32, "2026-12-01T03:04:05Z"))
    assert "remote" not in plain
    value = annotation_value("b", "ab" * 32, "2026-12-01T03:04:05Z", RECORD)
    assert json.loads(value)["remote"] == RECORD
    assert value == json.dumps(json.loads(value), sort_keys=True, separators=(",", ":"))


def test_remote_phrases():
    assert upload_outcome.remote_phrase(None, False) == (None, None)
    assert upload_outcome.remote_phrase(None, True) == (None, "the remote copy (no upload was attempted)")
    verified = upload_outcome.remote_verified(URL, _objects("uploaded", "present"), RECORD)
    assert upload_outcome.remote_phrase(verified, True) == ("the remote copy at %s (2 objects, verified)" % URL, None)
    failed = upload_outcome.remote_failed(URL, _objects("uploaded"), TriageError("access denied: s3:PutObject",
                                                                                 {"error_type": "storage_denied"}))
    assert failed["verified"] is False and failed["error_type"] == "storage_denied" and "record" not in failed
    assert upload_outcome.remote_phrase(failed, True) == (None, (
        "the remote copy at %s (access denied: s3:PutObject; 1 objects of it were uploaded and read back, but the "
        "bundle is not verified)" % URL))
    assert upload_outcome.remote_changed(failed) and not upload_outcome.remote_changed(
        upload_outcome.remote_failed(URL, _objects("present"), TriageError("x")))


def test_a_failed_upload_keeps_the_bundle_and_says_so(tmp_path):
    bundle = Bundle.create(str(tmp_path / "ev"), "b")
    final, _sha, _manifest = bundle.finalize({"complete": True})
    remote = upload_outcome.remote_failed(URL, [], TriageError("cannot reach the S3 endpoint http://h:1"))
    result = {"remote": remote, "annotation": {"written": True, "key": "triage.k8s/evidence", "value": "{}"}}
    error = outcome.failure(upload_outcome.upload_failed(remote, result), bundle, False, remote_wanted=True)
    assert error.details["changed"] is True and error.details["remote"] is remote
    assert error.msg == (
        "the bundle was not stored remotely; the local bundle is kept and the pod annotation, if written, names no "
        "remote copy. Written: the bundle %s (manifest.json: complete=True); the pod annotation triage.k8s/evidence. "
        "Not written: the remote copy at %s (cannot reach the S3 endpoint http://h:1)." % (final, URL))


def test_a_failure_before_the_upload_says_no_remote_copy(tmp_path):
    bundle = Bundle.create(str(tmp_path / "ev"), "b")
    error = outcome.failure(TriageError("disk full"), bundle, False, remote_wanted=True)
    assert error.msg.endswith("Not written: a finished bundle; the remote copy (no upload was attempted).")


def test_summary_of_a_verified_upload(tmp_path):
    bundle = Bundle.create(str(tmp_path / "ev"), "b")
    final, _sha, _manifest = bundle.finalize({"complete": True})
    remote = upload_outcome.remote_verified(URL, _objects("uploaded", "uploaded"), RECORD)
    text = outcome.summary(outcome.on_disk(bundle), False, None, remote, True)
    assert text == ("Written: the bundle %s (manifest.json: complete=True); the remote copy at %s (2 objects, "
                    "verified). Not written: nothing." % (final, URL))


def test_evidence_note_names_the_stored_copy():
    note = events.evidence_note("carol", "bundle-1", "ab" * 32, [], True, URL)
    assert "stored and verified at %s" % URL in note and "recorded in the triage.k8s/evidence annotation" in note
    assert "stored" not in events.evidence_note("carol", "bundle-1", "ab" * 32, [], True)


def test_duplicate_keys():
    assert upload_outcome.duplicate_keys([{"key": "a"}, {"key": "b"}]) is None
    assert upload_outcome.duplicate_keys([{"key": "a"}, {"key": "b"}, {"key": "a"}]) == "a"


def test_upload_result():
    objects = [{"key": "r/a"}, {"key": "r/b"}, {"key": "r/c"}]
    results = [{"key": "r/a", "status": "uploaded"}, {"key": "r/b", "status": "present"},
               {"key": "r/c", "status": "present"}]
    done = upload_outcome.upload_result("s3://b/r/", objects, results, None, False)
    assert done["changed"] is True and done["verified"] is True
    assert done["msg"] == "1 objects uploaded to s3://b/r/ and 2 already there; every one read back and verified"
    same = upload_outcome.upload_result("s3://b/r/", objects, [dict(r, status="present") for r in results], None,
                                        False)
    assert same["changed"] is False
    check = upload_outcome.upload_result("s3://b/r/", objects, [dict(r, status="would_upload") for r in results],
                                         None, True)
    assert check["changed"] is True and check["verified"] is False and check["msg"].startswith("check mode")


def test_upload_result_after_a_failure_says_what_was_written():
    objects = [{"key": "r/a"}, {"key": "r/b"}, {"key": "r/c"}]
    with pytest.raises(TriageError) as info:
        upload_outcome.upload_result("s3://b/r/", objects, [{"key": "r/a", "status": "uploaded"}],
                                     TriageError("cannot reach the S3 endpoint http://h:1.", {"error_type": "x"}), False)
    error = info.value
    assert error.msg == ("cannot reach the S3 endpoint http://h:1. Written: 1 objects under s3://b/r/, read back and "
                         "verified. Not written: 2 objects (r/b, r/c).")
    assert error.details["changed"] is True and error.details["verified"] is False
    assert error.details["objects"] == [{"key": "r/a", "status": "uploaded"}] and error.details["error_type"] == "x"


def test_an_object_written_but_not_read_back_is_a_change_and_said_so():
    """The store went away between an object's PUT and its read-back: the write landed all the same."""
    objects = [{"key": "r/a"}, {"key": "r/b"}]
    with pytest.raises(TriageError) as info:
        upload_outcome.upload_result("s3://b/r/", objects, [{"key": "r/a", "status": "uploaded_unverified"}],
                                     TriageError("cannot reach the S3 endpoint http://h:1.", {"error_type": "x"}), False)
    error = info.value
    assert error.details["changed"] is True and error.details["verified"] is False
    assert error.msg == ("cannot reach the S3 endpoint http://h:1. Written: 1 objects under s3://b/r/, uploaded but "
                         "not read back (r/a). Not written: 1 objects (r/b).")
    remote = {"url": "s3://b/r/", "objects": [{"status": "uploaded_unverified"}], "verified": False, "error": "gone"}
    assert upload_outcome.remote_changed(remote) is True
    assert upload_outcome.remote_phrase(remote, True)[1] == (
        "the remote copy at s3://b/r/ (gone; 1 objects of it were uploaded but not read back)")
