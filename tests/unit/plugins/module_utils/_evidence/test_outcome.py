# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _evidence/outcome.py: what is on disk after any failure, the `Written: ...`
summary, and every decision of the annotation (run_annotate.py only reads and patches)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_EVIDENCE,
    ANN_QUARANTINED_AT,
    QUARANTINED_LABEL,
    QUARANTINED_VALUE,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._evidence import outcome
from ansible_collections.triage.k8s.plugins.module_utils._evidence.bundle import Bundle
from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact import compile_patterns
from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact_objects import Redaction


def _bundle(tmp_path, redact=True):
    bundle = Bundle.create(str(tmp_path / "ev"), "b")
    bundle.redaction = Redaction(compile_patterns() if redact else [])
    return bundle


# -- what is on disk after a failure ------------------------------------------------------------------

def test_failure_before_the_bundle_is_finished_reports_the_partial(tmp_path):
    bundle = _bundle(tmp_path)
    bundle.write_text("pod.yaml", "x: 1\n")
    error = outcome.failure(TriageError("cannot finish the bundle: disk full", {"error_type": "dest"}), bundle, True)
    assert error.details["changed"] is True and error.details["partial"] == bundle.partial
    assert error.details["bundle"] is None and error.details["complete"] is False
    assert error.msg == ("cannot finish the bundle: disk full. Written: the incomplete %s (no manifest.json). "
                         "Not written: a finished bundle; the archive." % bundle.partial)


def test_failure_after_the_bundle_reports_it_and_the_annotation(tmp_path):
    bundle = _bundle(tmp_path)
    final, sha, _manifest = bundle.finalize({"complete": False})
    annotation = {"written": False, "error": "the PATCH failed: connection refused"}
    error = outcome.failure(TriageError("annotating failed", {"annotation": annotation}), bundle, False)
    details = error.details
    assert details["changed"] is True and details["bundle"] == final and details["partial"] is None
    assert details["complete"] is False and details["manifest_sha256"] == sha and details["annotation"] == annotation
    assert ("Written: the bundle %s (manifest.json: complete=False). Not written: the pod annotation "
            "triage.k8s/evidence (the PATCH failed: connection refused)." % final) in error.msg


def test_unknown_annotation_outcome_is_said(tmp_path):
    bundle = _bundle(tmp_path)
    bundle.finalize({"complete": True})
    bundle.archive()
    text = outcome.summary(outcome.on_disk(bundle), True, {"written": None, "error": "cannot read the pod"})
    assert "the archive %s.tar.gz" % bundle.final in text
    assert text.endswith("Not written: nothing. Unknown: whether the pod annotation triage.k8s/evidence landed "
                         "(cannot read the pod).")


def test_nothing_on_disk_is_not_a_change(tmp_path):
    bundle = _bundle(tmp_path)
    os.rmdir(bundle.partial)
    error = outcome.failure(TriageError("gone"), bundle, False)
    assert error.details["changed"] is False and "Written: nothing. Not written: any bundle." in error.msg


# -- the annotation's decisions ------------------------------------------------------------------------

VALUE = '{"bundle":"b","collected_at":"2026-11-22T03:04:05Z","manifest_sha256":"ab"}'


def _pod(uid="u1", quarantined=True, evidence=None, rv="7"):
    annotations = {ANN_QUARANTINED_AT: "2026-11-22T03:00:00Z"} if quarantined else {}
    if evidence is not None:
        annotations[ANN_EVIDENCE] = evidence
    labels = {QUARANTINED_LABEL: QUARANTINED_VALUE} if quarantined else {}
    return {"metadata": {"name": "web-1", "namespace": "shop", "uid": uid, "resourceVersion": rv,
                         "labels": labels, "annotations": annotations}}


def test_annotation_step_patches_a_quarantined_pod_guarded_by_its_resource_version():
    result, patch = outcome.annotation_step(_pod(), _pod(rv="9"), VALUE)
    assert result is None
    assert patch == {"metadata": {"resourceVersion": "9", "annotations": {ANN_EVIDENCE: VALUE}}}


@pytest.mark.parametrize("current,expected", [
    (None, {"written": False, "note": outcome.GONE}),
    (_pod(uid="u2"), {"written": False, "note": outcome.GONE}),
    (_pod(quarantined=False), {"written": False, "note": outcome.NOT_QUARANTINED}),
    (_pod(evidence=VALUE), {"written": True, "key": ANN_EVIDENCE, "value": VALUE,
                            "note": "it was already on the pod: an earlier attempt of this run landed"}),
    (_pod(quarantined=False, evidence=VALUE), {"written": True, "key": ANN_EVIDENCE, "value": VALUE,
                                               "note": "it was already on the pod: an earlier attempt of this run "
                                                       "landed"}),
])
def test_annotation_step_decides_without_a_patch(current, expected):
    assert outcome.annotation_step(_pod(), current, VALUE) == (expected, None)


def test_reread_failed():
    exc = TriageError("cannot connect to the API server")
    with pytest.raises(TriageError) as err:
        outcome.reread_failed(_pod(), exc)
    note = "reading the pod again failed: cannot connect to the API server"
    assert err.value.msg == note and err.value.details == {"annotation": {"written": False, "error": note}}
    result = outcome.reread_failed(_pod(quarantined=False), exc)
    assert result == {"written": False, "note": "the pod was not quarantined when the collection started, and " + note}
    assert outcome.unchecked_quarantine(result) == (
        "pod_evidence could not check whether the pod was quarantined meanwhile: " + result["note"])
    assert outcome.unchecked_quarantine({"written": False, "note": outcome.GONE}) is None
    assert outcome.unchecked_quarantine(outcome.written(VALUE)) is None


def test_retry_only_a_conflict():
    assert outcome.retry_patch(TriageError("conflict", {"status": 409})) is True
    assert outcome.retry_patch(TriageError("forbidden", {"status": 403})) is False
    assert outcome.retry_patch(TriageError("no answer")) is False


def test_landed():
    assert outcome.landed(_pod(evidence=VALUE), VALUE) is True
    assert outcome.landed(_pod(evidence="other"), VALUE) is False
    assert outcome.landed(_pod(), VALUE) is False
    assert outcome.landed(None, VALUE) is False


@pytest.mark.parametrize("exc,never", [
    (TriageError("forbidden", {"status": 403}), True), (TriageError("x", {"status": 422}), True),
    (TriageError("server error", {"status": 500}), False), (TriageError("Connection refused by the proxy"), True),
    (TriageError("read timed out"), False), (TriageError("x", {"status": "403"}), False),
])
def test_never_applied(exc, never):
    assert outcome.never_applied(exc) is never


def test_patch_failed_landed_is_written():
    assert outcome.patch_failed(TriageError("read timed out"), VALUE, True) == {
        "written": True, "key": ANN_EVIDENCE, "value": VALUE,
        "note": "the answer to the PATCH was lost; reading the pod again shows it landed"}


@pytest.mark.parametrize("exc,found,written,error", [
    (TriageError("read timed out"), False, False, "the PATCH failed: read timed out"),
    (TriageError("read timed out"), None, None, "the PATCH failed: read timed out; whether it landed could not be "
                                                "checked (the pod cannot be read)"),
    (TriageError("connection refused"), None, False, "the PATCH failed: connection refused"),
    (TriageError("forbidden", {"status": 403}), None, False, "the PATCH failed: forbidden"),
])
def test_patch_failed_not_written_or_unknown(exc, found, written, error):
    with pytest.raises(TriageError) as err:
        outcome.patch_failed(exc, VALUE, found)
    assert err.value.msg == error and err.value.details == {"annotation": {"written": written, "error": error}}


def test_kept_changing():
    error = outcome.kept_changing()
    msg = ("the pod kept changing: %d annotation attempts conflicted; run again to annotate it"
           % outcome.ANNOTATE_ATTEMPTS)
    assert error.msg == msg and error.details == {"annotation": {"written": False, "error": msg}}


# -- the messages of a finished collection ---------------------------------------------------------------

def test_finish_failed_names_the_items_that_also_failed():
    results = {"logs": {"status": "ok"}, "metrics": {"status": "failed", "error": "timed out"}}
    error = outcome.finish_failed(TriageError("cannot finish the bundle: disk full", {"error_type": "dest"}), results)
    assert error.msg == "cannot finish the bundle: disk full; items that also failed: metrics (timed out)"
    assert error.details == {"error_type": "dest",
                             "failed_items": [{"item": "metrics", "status": "failed", "error": "timed out"}]}
    clean = outcome.finish_failed(TriageError("disk full"), {"logs": {"status": "ok"}})
    assert clean.msg == "disk full" and clean.details == {"failed_items": []}


def test_required_missing():
    result = {"changed": True, "annotation": None}
    missing = [("logs", "failed", "stream broke"), ("metrics", "unavailable", "no API")]
    error = outcome.required_missing(missing, result, True)
    assert error.msg == ("required evidence was not collected: logs failed: stream broke; metrics unavailable: no API; "
                         "the pod was not annotated.")
    assert error.details == {"changed": True, "annotation": {"written": False, "note": "required evidence is missing"}}
    assert outcome.required_missing(missing, result, False).details == {"changed": True, "annotation": None}


def test_annotate_and_archive_failed():
    result = {"changed": True, "bundle": "/e/b", "annotation": None}
    annotation = {"written": None, "error": "the PATCH failed: x"}
    error = outcome.annotate_failed(TriageError("the PATCH failed: x", {"annotation": annotation}), result)
    assert error.msg == ("the bundle was written, but annotating the quarantined pod failed: the PATCH failed: x. "
                         "Run pod_evidence again to annotate it (a new bundle is collected).")
    assert error.details == dict(result, annotation=annotation) and result["annotation"] is None
    error = outcome.archive_failed("cannot write the archive /e/b.tar.gz.partial: No space left on device", result)
    assert error.msg == ("the archive could not be written: cannot write the archive /e/b.tar.gz.partial: No space "
                         "left on device.")
    assert error.details == result
