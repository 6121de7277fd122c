# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _evidence/run_annotate.py: the order of reads and PATCHes against a scripted
API (the decisions themselves are tested in test_outcome.py; the real API in test_evidence_faults)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_EVIDENCE,
    ANN_QUARANTINED_AT,
    QUARANTINED_LABEL,
    QUARANTINED_VALUE,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._evidence import outcome
from ansible_collections.triage.k8s.plugins.module_utils._evidence.run_annotate import annotate

VALUE = '{"bundle":"b"}'


def _pod(rv="1", evidence=None):
    annotations = {ANN_QUARANTINED_AT: "2026-11-22T03:00:00Z"}
    if evidence:
        annotations[ANN_EVIDENCE] = evidence
    return {"metadata": {"name": "web-1", "namespace": "shop", "uid": "u1", "resourceVersion": rv,
                         "labels": {QUARANTINED_LABEL: QUARANTINED_VALUE}, "annotations": annotations}}


class ScriptedApi(object):
    """Answers GETs and PATCHes from lists: a dict/None is returned, a TriageError raised."""

    def __init__(self, reads, patches):
        self.reads, self.patches, self.calls = list(reads), list(patches), []

    def _answer(self, answers):
        answer = answers.pop(0)
        if isinstance(answer, TriageError):
            raise answer
        return answer

    def get_or_none(self, kind, name, namespace):
        self.calls.append(("get", kind, name, namespace))
        return self._answer(self.reads)

    def patch(self, kind, name, namespace, body):
        self.calls.append(("patch", body["metadata"]["resourceVersion"]))
        return self._answer(self.patches)


def test_written_at_the_first_attempt():
    api = ScriptedApi([_pod("5")], [{}])
    assert annotate(api, _pod(), VALUE) == outcome.written(VALUE)
    assert api.calls == [("get", "Pod", "web-1", "shop"), ("patch", "5")]


def test_a_conflict_reads_the_pod_again():
    api = ScriptedApi([_pod("5"), _pod("6")], [TriageError("conflict", {"status": 409}), {}])
    assert annotate(api, _pod(), VALUE)["written"] is True
    assert [c[0] for c in api.calls] == ["get", "patch", "get", "patch"] and api.calls[-1] == ("patch", "6")


def test_conflicts_every_time_give_up():
    conflict = TriageError("conflict", {"status": 409})
    api = ScriptedApi([_pod()] * outcome.ANNOTATE_ATTEMPTS, [conflict] * outcome.ANNOTATE_ATTEMPTS)
    with pytest.raises(TriageError, match="kept changing") as err:
        annotate(api, _pod(), VALUE)
    assert err.value.details["annotation"]["written"] is False and not api.reads and not api.patches


def test_a_lost_answer_is_checked_by_a_fresh_read():
    api = ScriptedApi([_pod("5"), _pod("6", evidence=VALUE)], [TriageError("read timed out")])
    result = annotate(api, _pod(), VALUE)
    assert result["written"] is True and "reading the pod again shows it landed" in result["note"]
    api = ScriptedApi([_pod("5"), TriageError("cannot connect")], [TriageError("read timed out")])
    with pytest.raises(TriageError, match="could not be checked") as err:
        annotate(api, _pod(), VALUE)
    assert err.value.details["annotation"]["written"] is None


def test_decided_by_the_read_without_a_patch():
    api = ScriptedApi([None], [])
    assert annotate(api, _pod(), VALUE) == {"written": False, "note": outcome.GONE} and len(api.calls) == 1
    api = ScriptedApi([TriageError("cannot connect")], [])
    with pytest.raises(TriageError, match="reading the pod again failed: cannot connect"):
        annotate(api, _pod(), VALUE)
