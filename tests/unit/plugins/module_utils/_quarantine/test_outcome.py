# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _quarantine/outcome.py, the pure decisions behind pod_quarantine's truthful
results: is this our own write, was a failed write refused. (Whether a policy is ours for a pod:
_quarantine/test_policy.py and _contract/test_policy.py.)"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.outcome import REFUSED_STATUSES, WriteUnknown, refused, wrote_this

POD = {"metadata": {"name": "web-1", "namespace": "shop", "uid": "u-1",
                    "labels": {"app": "quarantined-web", "triage.k8s/quarantined": "true"},
                    "annotations": {"triage.k8s/quarantined-at": "2026-12-01T03:00:00Z", "triage.k8s/reason": "oom"}}}


def _patch(labels=None, annotations=None):
    return {"metadata": {"resourceVersion": "7", "labels": labels or {}, "annotations": annotations or {}}}


def test_our_write_is_recognised_on_the_pod():
    assert wrote_this(POD, _patch({"app": "quarantined-web"}, {"triage.k8s/reason": "oom"}))


@pytest.mark.parametrize("patch", [
    _patch({"app": "quarantined-api"}),
    _patch(annotations={"triage.k8s/reason": "someone else's reason"}),
    _patch(annotations={"triage.k8s/quarantined-at": "2026-12-01T03:00:01Z"}),
])
def test_another_runs_write_is_not_ours(patch):
    assert not wrote_this(POD, patch)


def test_a_removal_is_ours_when_the_key_is_gone():
    assert wrote_this(POD, _patch(annotations={"triage.k8s/expires-at": None}))


@pytest.mark.parametrize("status, expected", [(403, True), (422, True), (404, True), (409, False), (500, False),
                                              (503, False), (None, False)])
def test_only_a_refusal_proves_nothing_landed(status, expected):
    assert refused(TriageError("x", {"status": status})) is expected


def test_a_write_of_unknown_outcome_is_a_triage_error_that_keeps_its_details():
    exc = WriteUnknown("could not tell", {"changed": True})
    assert isinstance(exc, TriageError) and exc.details == {"changed": True}
    assert 409 not in REFUSED_STATUSES  # a conflict is read again, never taken as "nothing landed"
