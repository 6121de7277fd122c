# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _contract/record.py: the on-pod quarantine record (marks, annotations, the
quarantine and release patches). Inputs are API-shaped camelCase dicts, as `kubectl get -o json`
prints them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_EVIDENCE,
    ANN_EXPIRES_AT,
    ANN_NETWORK_POLICY,
    ANN_ORIGINAL_LABELS,
    ANN_OWNER,
    ANN_QUARANTINED_AT,
    ANN_QUARANTINED_BY,
    ANN_REASON,
    QUARANTINE_ANNOTATIONS,
    QUARANTINE_ID_LABEL,
    QUARANTINED_LABEL,
    QUARANTINED_VALUE,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import (
    apply_merge_patch,
    has_quarantine_marks,
    is_quarantined,
    quarantine_annotations,
    quarantine_patch,
    quarantine_record,
    release_patch,
)
from ansible_collections.triage.k8s.tests.unit.plugins.module_utils._contract.pods import LABEL_VALUE, NOW, RS_UID, UID, make_pod, owner_ref
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import decode_original_labels, encode_original_labels


# --- is_quarantined / has_quarantine_marks -------------------------------------------------

@pytest.mark.parametrize("labels, annotations, expected", [
    ({QUARANTINED_LABEL: "true"}, {ANN_QUARANTINED_AT: NOW}, True),
    ({QUARANTINED_LABEL: "true", "app": "x"}, {ANN_QUARANTINED_AT: "", ANN_REASON: "r"}, True),
    ({QUARANTINED_LABEL: "true"}, {}, False),  # a look-alike label put there by hand
    ({QUARANTINED_LABEL: "true"}, None, False),
    ({QUARANTINED_LABEL: "True"}, {ANN_QUARANTINED_AT: NOW}, False),
    ({QUARANTINED_LABEL: "false"}, {ANN_QUARANTINED_AT: NOW}, False),
    ({}, {ANN_QUARANTINED_AT: NOW}, False),  # an annotation without the label
    (None, {ANN_QUARANTINED_AT: NOW}, False),
    ({"quarantined": "true"}, {"quarantined-at": NOW}, False),  # unprefixed keys are not ours
    ({QUARANTINED_LABEL: "true"}, {ANN_QUARANTINED_BY: "alice", ANN_REASON: "r"}, False),
    (None, None, False),
])
def test_is_quarantined_needs_label_and_annotation(labels, annotations, expected):
    assert is_quarantined(make_pod(labels=labels, annotations=annotations)) is expected


def test_is_quarantined_tolerates_missing_metadata():
    assert is_quarantined({}) is False
    assert is_quarantined({"metadata": None}) is False


@pytest.mark.parametrize("labels, annotations, expected", [
    ({QUARANTINED_LABEL: "true"}, None, True),
    ({QUARANTINED_LABEL: "anything"}, None, True),
    ({QUARANTINE_ID_LABEL: UID}, None, True),
    (None, {ANN_QUARANTINED_AT: NOW}, True),
    (None, {ANN_NETWORK_POLICY: "triage-quarantine-x"}, True),
    (None, {ANN_ORIGINAL_LABELS: "{}"}, True),
] + [(None, {key: "x"}, True) for key in QUARANTINE_ANNOTATIONS] + [
    (None, {ANN_EVIDENCE: '{"bundle":"b"}'}, False),  # evidence alone is not a quarantine mark
    ({"app": "web"}, {"kubectl.kubernetes.io/restartedAt": NOW}, False),
    (None, None, False),
])
def test_has_quarantine_marks(labels, annotations, expected):
    assert has_quarantine_marks(make_pod(labels=labels, annotations=annotations)) is expected


# --- the record ----------------------------------------------------------------------------

def test_quarantine_record_decodes_every_annotation():
    pod = make_pod(annotations={
        ANN_QUARANTINED_AT: NOW,
        ANN_QUARANTINED_BY: "alice@example.com",
        ANN_REASON: "crash loop; suspected compromise",
        ANN_EXPIRES_AT: "2026-11-23T03:04:05Z",
        ANN_ORIGINAL_LABELS: '{"app":"web","track":null}',
        ANN_OWNER: '{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d4b9c","uid":"%s"}' % RS_UID,
        ANN_NETWORK_POLICY: "triage-quarantine-web-1234abcd",
        ANN_EVIDENCE: '{"bundle":"b-1","sha256":"ab","at":"%s"}' % NOW,
    })
    assert quarantine_record(pod) == {
        "quarantined_at": NOW,
        "quarantined_by": "alice@example.com",
        "reason": "crash loop; suspected compromise",
        "expires_at": "2026-11-23T03:04:05Z",
        "original_labels": {"app": "web", "track": None},
        "owner": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c", "uid": RS_UID},
        "network_policy": "triage-quarantine-web-1234abcd",
        "evidence": {"bundle": "b-1", "sha256": "ab", "at": NOW},
    }


def test_quarantine_record_of_an_unmarked_pod():
    for pod in (make_pod(), make_pod(annotations={}), {"metadata": {}}, {}):
        record = quarantine_record(pod)
        assert set(record) == {"quarantined_at", "quarantined_by", "reason", "expires_at", "original_labels", "owner",
                               "network_policy", "evidence"}
        assert all(value is None for value in record.values())


@pytest.mark.parametrize("original, owner, evidence", [
    ("{not json", "{not json", "{not json"),
    ("[1, 2]", "", "nope"),
    ('{"app": 5}', "{", "}"),  # not a label value
    ('{"Bad Key!": "x"}', "[", "["),
    ('"just a string"', "tru", "nul"),
])
def test_quarantine_record_tolerates_bad_json(original, owner, evidence):
    pod = make_pod(annotations={ANN_QUARANTINED_AT: NOW, ANN_ORIGINAL_LABELS: original, ANN_OWNER: owner,
                                ANN_EVIDENCE: evidence})
    record = quarantine_record(pod)
    assert record["original_labels"] is None
    assert record["owner"] is None
    assert record["evidence"] is None
    assert record["quarantined_at"] == NOW


def test_quarantine_record_null_owner_is_a_bare_pod():
    assert quarantine_record(make_pod(annotations={ANN_OWNER: "null"}))["owner"] is None


# --- the quarantine patch ------------------------------------------------------------------

CHANGES = {
    "app": {"before": "web", "after": "quarantined-web"},
    "track": {"before": None, "after": "quarantined"},   # added
    "pod-template-hash": {"before": "7d4b9c", "after": None},  # removed
}


def test_quarantine_patch_without_policy():
    pod = make_pod(labels={"app": "web", "pod-template-hash": "7d4b9c"})
    annotations = {ANN_QUARANTINED_AT: NOW}
    patch = quarantine_patch(pod, CHANGES, annotations)
    assert patch == {"metadata": {
        "resourceVersion": "4711",
        "labels": {"app": "quarantined-web", "track": "quarantined", "pod-template-hash": None,
                   QUARANTINED_LABEL: QUARANTINED_VALUE},
        "annotations": annotations,
    }}
    assert QUARANTINE_ID_LABEL not in patch["metadata"]["labels"]


def test_quarantine_patch_with_policy_adds_the_id_label():
    pod = make_pod(labels={"app": "web"})
    patch = quarantine_patch(pod, {"app": CHANGES["app"]}, {}, network_policy="triage-quarantine-x")
    assert patch["metadata"]["resourceVersion"] == "4711"
    assert patch["metadata"]["labels"] == {"app": "quarantined-web", QUARANTINED_LABEL: QUARANTINED_VALUE,
                                           QUARANTINE_ID_LABEL: UID}
    assert LABEL_VALUE.fullmatch(patch["metadata"]["labels"][QUARANTINE_ID_LABEL])


def test_quarantine_patch_with_no_label_changes_still_marks_the_pod():
    patch = quarantine_patch(make_pod(), {}, {ANN_QUARANTINED_AT: NOW})
    assert patch["metadata"]["labels"] == {QUARANTINED_LABEL: QUARANTINED_VALUE}
    assert patch["metadata"]["resourceVersion"] == "4711"


def test_quarantine_annotations_full():
    annotations = quarantine_annotations(NOW, "alice", "crash loop", "2026-11-23T03:04:05Z", CHANGES, owner_ref(),
                                         "triage-quarantine-web-1234abcd")
    assert annotations == {
        ANN_QUARANTINED_AT: NOW,
        ANN_QUARANTINED_BY: "alice",
        ANN_REASON: "crash loop",
        ANN_EXPIRES_AT: "2026-11-23T03:04:05Z",
        ANN_ORIGINAL_LABELS: '{"app":"web","pod-template-hash":"7d4b9c","track":null}',
        ANN_OWNER: '{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d4b9c","uid":"%s"}' % RS_UID,
        ANN_NETWORK_POLICY: "triage-quarantine-web-1234abcd",
    }
    assert all(isinstance(value, str) for value in annotations.values())  # annotation values are strings


def test_quarantine_annotations_minimal():
    annotations = quarantine_annotations(NOW, None, None, None, {}, None, None)
    assert annotations == {
        ANN_QUARANTINED_AT: NOW,
        ANN_QUARANTINED_BY: "unknown",
        ANN_REASON: "",
        ANN_ORIGINAL_LABELS: "{}",
        ANN_OWNER: "null",
    }


def test_quarantine_annotations_round_trip_through_the_record():
    annotations = quarantine_annotations(NOW, "alice", "r", None, CHANGES, owner_ref(), None)
    record = quarantine_record(make_pod(annotations=annotations))
    assert record["original_labels"] == {"app": "web", "track": None, "pod-template-hash": "7d4b9c"}
    assert record["owner"] == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c", "uid": RS_UID}
    assert record["expires_at"] is None and record["network_policy"] is None


# --- release -------------------------------------------------------------------------------

def _quarantined_by_patch(labels, changes, policy=None, extra_annotations=None):
    pod = make_pod(labels=labels, annotations=dict(extra_annotations or {}), owners=[owner_ref()])
    annotations = quarantine_annotations(NOW, "alice", "r", "2026-11-23T03:04:05Z", changes, owner_ref(), policy)
    patch = quarantine_patch(pod, changes, annotations, policy)
    after = apply_merge_patch(pod["metadata"], patch["metadata"])
    out = copy.deepcopy(pod)
    out["metadata"].update(after)
    out["metadata"]["resourceVersion"] = "4712"
    return out


def test_release_patch_restores_labels_and_removes_marks():
    original = {"app": "web", "pod-template-hash": "7d4b9c", "tier": "fe"}
    pod = _quarantined_by_patch(original, CHANGES, policy="triage-quarantine-web-1234abcd",
                                extra_annotations={"kubectl.kubernetes.io/restartedAt": NOW})
    pod["metadata"]["annotations"][ANN_EVIDENCE] = '{"bundle":"b-1"}'
    patch = release_patch(pod)
    assert patch["metadata"]["resourceVersion"] == "4712"
    assert patch["metadata"]["labels"] == {
        "app": "web",
        "pod-template-hash": "7d4b9c",
        "track": None,  # absent before quarantine: removed again
        QUARANTINED_LABEL: None,
        QUARANTINE_ID_LABEL: None,
    }
    assert patch["metadata"]["annotations"] == dict((key, None) for key in QUARANTINE_ANNOTATIONS)
    after = apply_merge_patch(pod["metadata"], patch["metadata"])
    assert after["labels"] == original
    assert after["annotations"] == {"kubectl.kubernetes.io/restartedAt": NOW, ANN_EVIDENCE: '{"bundle":"b-1"}'}


def test_release_patch_only_names_present_annotations():
    pod = make_pod(labels={"app": "quarantined-web", QUARANTINED_LABEL: "true"},
                   annotations={ANN_QUARANTINED_AT: NOW, ANN_ORIGINAL_LABELS: '{"app":"web"}', ANN_EVIDENCE: "{}"})
    patch = release_patch(pod)
    assert patch["metadata"]["annotations"] == {ANN_QUARANTINED_AT: None, ANN_ORIGINAL_LABELS: None}
    assert patch["metadata"]["labels"] == {"app": "web", QUARANTINED_LABEL: None}


def test_release_patch_without_record_removes_only_the_marks():
    pod = make_pod(labels={"app": "web", QUARANTINED_LABEL: "true", QUARANTINE_ID_LABEL: UID},
                   annotations={ANN_REASON: "r"})
    patch = release_patch(pod)
    assert patch["metadata"]["labels"] == {QUARANTINED_LABEL: None, QUARANTINE_ID_LABEL: None}
    assert patch["metadata"]["annotations"] == {ANN_REASON: None}


def test_release_patch_label_already_back_is_not_rewritten():
    pod = make_pod(labels={"app": "web", QUARANTINED_LABEL: "true"},
                   annotations={ANN_QUARANTINED_AT: NOW, ANN_ORIGINAL_LABELS: '{"app":"web","track":null}'})
    assert release_patch(pod)["metadata"]["labels"] == {QUARANTINED_LABEL: None}


@pytest.mark.parametrize("bad", ["{not json", "[]", '{"app": 1}', '{"triage.k8s/quarantined": "true"}'])
def test_release_patch_refuses_a_bad_record(bad):
    pod = make_pod(labels={QUARANTINED_LABEL: "true"}, annotations={ANN_ORIGINAL_LABELS: bad})
    with pytest.raises(ValueError):
        release_patch(pod)


_keys = st.from_regex(r"[a-z]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
_values = st.from_regex(r"([a-z0-9]([a-z0-9.-]{0,6}[a-z0-9])?)?", fullmatch=True)


@st.composite
def _labels_and_changes(draw):
    labels = draw(st.dictionaries(_keys, _values, max_size=6))
    changes = {}
    for key in draw(st.lists(_keys, max_size=4, unique=True)):
        before = labels.get(key)
        after = draw(st.one_of(st.none(), _values)) if before is not None else draw(_values)
        if after != before:
            changes[key] = {"before": before, "after": after}
    return labels, changes


@settings(max_examples=150, deadline=None)
@given(_labels_and_changes(), st.booleans())
def test_quarantine_then_release_round_trips(labels_and_changes, with_policy):
    labels, changes = labels_and_changes
    pod = _quarantined_by_patch(labels, changes, policy="np" if with_policy else None,
                                extra_annotations={"keep": "me"})
    assert is_quarantined(pod)
    released = apply_merge_patch(pod["metadata"], release_patch(pod)["metadata"])
    assert released["labels"] == labels
    assert released["annotations"] == {"keep": "me"}


# --- apply_merge_patch ---------------------------------------------------------------------

def test_apply_merge_patch():
    meta = {"name": "p", "labels": {"app": "web", "gone": "x"}, "annotations": {"a": "1"}}
    snapshot = copy.deepcopy(meta)
    out = apply_merge_patch(meta, {"resourceVersion": "9", "labels": {"app": "q-web", "gone": None, "new": "v",
                                                                      "never-there": None},
                                   "annotations": {"b": "2"}})
    assert out == {"labels": {"app": "q-web", "new": "v"}, "annotations": {"a": "1", "b": "2"}}
    assert meta == snapshot  # the input is not modified


@pytest.mark.parametrize("meta, patch, expected", [
    ({}, {}, {"labels": {}, "annotations": {}}),
    ({"labels": None, "annotations": None}, {"labels": {"a": "b"}}, {"labels": {"a": "b"}, "annotations": {}}),
    ({"labels": {"a": "b"}}, {"labels": None, "annotations": {"x": None}}, {"labels": {"a": "b"}, "annotations": {}}),
    ({"labels": {"a": "b"}}, {"labels": {"a": ""}}, {"labels": {"a": ""}, "annotations": {}}),
])
def test_apply_merge_patch_edges(meta, patch, expected):
    assert apply_merge_patch(meta, patch) == expected


# --- original-labels record ----------------------------------------------------------------

def test_encode_original_labels_is_sorted_and_compact():
    changes = {"b": {"before": "x", "after": "y"}, "a": {"before": None, "after": "q"}}
    assert encode_original_labels(changes) == '{"a":null,"b":"x"}'
    assert encode_original_labels({"b": "x", "a": None}) == '{"a":null,"b":"x"}'
    assert decode_original_labels(encode_original_labels(changes)) == {"a": None, "b": "x"}
    assert decode_original_labels(b'{"app":"web"}') == {"app": "web"}
    assert decode_original_labels("{}") == {}


@pytest.mark.parametrize("text", [None, "", "not json", "[1]", '"app"', '{"app": 1}', '{"bad key": "x"}', '{"app": "-x"}',
                                  '{"triage.k8s/quarantined": "true"}'])
def test_decode_original_labels_rejects_garbage(text):
    with pytest.raises(ValueError) as info:
        decode_original_labels(text)
    assert "triage.k8s/original-labels" in str(info.value)
    assert '{"app":"web","track":null}' in str(info.value)
