# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _cleanup/outcome.py: what a failed DELETE did, from its error and a re-read, with
a property test that a pod seen gone or terminating after a failed answer is never "failed", and
one seen unchanged is never "deleted"."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._cleanup.outcome import (
    NOT_READ,
    after_failed_delete,
    must_reread,
)

REFUSED = "connection refused"


def obj(uid="u1", terminating=False):
    meta = {"name": "p", "namespace": "shop", "uid": uid}
    if terminating:
        meta["deletionTimestamp"] = "2026-06-01T12:00:00Z"
    return {"metadata": meta}


@pytest.mark.parametrize("status, attempts, reread", [
    (None, None, True), (None, 1, True), (503, 1, True), (504, 6, True), (409, 1, True),
    (404, 3, False), (403, 1, False), (403, None, False), (422, 1, False), (403, 2, True),
    (429, 6, True), (429, 1, False), (429, None, True),
])
def test_must_reread(status, attempts, reread):
    assert must_reread(status, attempts) is reread


def test_a_lost_answer_then_gone_or_terminating_is_a_deletion():
    assert after_failed_delete("u1", None, 1, REFUSED, None)[0] == "deleted"
    outcome, why = after_failed_delete("u1", None, 1, REFUSED, obj(terminating=True))
    assert outcome == "deleted" and "found it terminating" in why and REFUSED in why
    outcome, why = after_failed_delete("u1", 503, 6, "503", obj(uid="u2"))
    assert outcome == "deleted" and "replaced by a new object of the same name (uid u2)" in why


def test_still_there_is_a_failure_with_the_reason():
    assert after_failed_delete("u1", None, 1, REFUSED, obj()) == (
        "failed", "connection refused (read again: still there, not deleted)")
    assert after_failed_delete("u1", 403, 1, "Forbidden: cannot delete pods", NOT_READ) == (
        "failed", "Forbidden: cannot delete pods")


def test_a_failed_reread_is_unknown():
    outcome, error = after_failed_delete("u1", None, 6, REFUSED, NOT_READ, "cannot reach the API server")
    assert outcome == "unknown" and "may or may not be deleted" in error and REFUSED in error


@pytest.mark.parametrize("attempts, outcome, needle", [
    (1, "gone", "already gone: deleted by someone else"),
    (3, "deleted", "deleted by this run: the answer to its DELETE was lost, and the retry found it gone"),
    (None, "deleted", "deleted by this run if an earlier answer was lost, else by someone else"),
])
def test_a_404_is_ours_only_after_a_retry(attempts, outcome, needle):
    got, why = after_failed_delete("u1", 404, attempts, "not found")
    assert got == outcome and needle in why


def test_a_409_on_a_terminating_pod_after_a_retry_is_ours():
    assert after_failed_delete("u1", 409, 2, "conflict", obj(terminating=True))[0] == "deleted"
    outcome, why = after_failed_delete("u1", 409, 1, "conflict", obj(terminating=True))
    assert outcome == "gone" and "already being deleted by someone else" in why
    assert after_failed_delete("u1", 409, 1, "conflict", obj()) == ("changed", "changed since it was listed")
    assert after_failed_delete("u1", 409, 1, "conflict", obj(uid="u2"))[0] == "gone"


STATUSES = st.sampled_from([None, 409, 500, 503, 504, 429])
REREADS = st.sampled_from(["gone", "terminating", "replaced", "same", "error"])


@given(STATUSES, st.sampled_from([None, 1, 2, 6]), REREADS)
def test_what_was_seen_decides(status, attempts, seen):
    current = {"gone": None, "terminating": obj(terminating=True), "replaced": obj(uid="u2"), "same": obj(),
               "error": NOT_READ}[seen]
    outcome, text = after_failed_delete("u1", status, attempts, "boom", current,
                                        "unreachable" if seen == "error" else None)
    assert text
    if seen == "error":
        assert outcome == "unknown"
    elif seen == "same":
        assert outcome == ("changed" if status == 409 else "failed")
    else:
        assert outcome in ("deleted", "gone")
        if status != 409:
            assert outcome == "deleted"  # no answer, or a server error: the DELETE may have landed, and did
