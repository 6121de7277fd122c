# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _cleanup/decide.py: parameters, the pure deletion decision (with hypothesis
properties: for any pod and any time it never chooses a pod it must keep), NetworkPolicy links."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from datetime import datetime, timedelta, timezone

import jmespath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._cleanup.decide import (
    build_config,
    decide,
    deletion_limit_error,
    evidence_of,
    format_duration,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_EVIDENCE,
    ANN_EXPIRES_AT,
    ANN_ORIGINAL_LABELS,
    ANN_QUARANTINED_AT,
    QUARANTINED_LABEL,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import apply_merge_patch, release_patch
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339, parse_rfc3339

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
EVIDENCE = json.dumps({"bundle": "b-1", "manifest_sha256": "0" * 64, "collected_at": "2026-05-01T00:00:00Z"},
                      sort_keys=True, separators=(",", ":"))


def ts(delta_seconds):
    return format_rfc3339(NOW + timedelta(seconds=delta_seconds))


def pod(name="p", namespace="shop", labels=None, annotations=None, uid=None, **meta):
    metadata = {"name": name, "namespace": namespace, "uid": uid or "uid-" + name, "resourceVersion": "7",
                "labels": {"app": "web"} if labels is None else labels,
                "annotations": {} if annotations is None else annotations}
    metadata.update(meta)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": {}, "status": {"phase": "Running"}}


def quarantined(name="p", namespace="shop", age=7200, expires_in=-3600, evidence=True, extra_labels=None, **meta):
    annotations = {ANN_QUARANTINED_AT: ts(-age), ANN_ORIGINAL_LABELS: json.dumps({"release": "stable"})}
    if expires_in is not None:
        annotations[ANN_EXPIRES_AT] = ts(expires_in)
    if evidence:
        annotations[ANN_EVIDENCE] = EVIDENCE
    labels = {QUARANTINED_LABEL: "true", "release": "quarantined-stable"}
    labels.update(extra_labels or {})
    return pod(name, namespace, labels, annotations, **meta)


def config(**params):
    return build_config(dict(params))


DEFAULT = config(exclude_namespaces=["kube-system"], max_deletions=100)


# --- parameters ---------------------------------------------------------------------------

def test_defaults():
    assert DEFAULT["older_than"] is None and DEFAULT["rules"] == [] and DEFAULT["require_evidence"] == "annotation"
    assert DEFAULT["namespaces"] is None and DEFAULT["exclude_namespaces"] == frozenset(["kube-system"])
    assert DEFAULT["orphan_min_age"] == 600


@pytest.mark.parametrize("given, seconds", [("0", 0), ("0s", 0), (" 0 ", 0), ("90s", 90), ("1h", 3600), (None, 600)])
def test_orphan_min_age(given, seconds):
    assert config(max_deletions=1, orphan_min_age=given)["orphan_min_age"] == seconds


@pytest.mark.parametrize("params, needle", [
    ({"older_than": "3x"}, "older_than: invalid duration '3x'"),
    ({"older_than": "0"}, "older_than: invalid duration '0'"),
    ({"rules": [{"match": "metadata.name ==", "ttl": "1h"}]}, "rules[0].match: invalid JMESPath expression 'metadata.name =='"),
    ({"rules": [{"match": "`true`", "ttl": "1h"}, {"match": "foo[", "ttl": "1h"}]}, "rules[1].match: invalid JMESPath expression 'foo['"),
    ({"rules": [{"match": "`true`", "ttl": "soon"}]}, "rules[0].ttl: invalid duration 'soon'"),
    ({"rules": [{"match": "`true`"}]}, "rules[0] must be a mapping with exactly the keys match and ttl"),
    ({"rules": [{"match": "", "ttl": "1h"}]}, "rules[0].match must be a non-empty JMESPath expression"),
    ({"max_deletions": -1}, "max_deletions must be 0 or more"),
    ({"grace_period": -5}, "grace_period must be 0 or more"),
    ({"parallelism": 0}, "parallelism must be between 1 and 32"),
    ({"namespaces": ["kube-system", "shop"], "exclude_namespaces": ["kube-system"]},
     "namespace(s) kube-system are both in namespaces and in exclude_namespaces"),
    ({"namespaces": [""]}, "namespaces must contain namespace names"),
    ({"namespaces": ["../other"]}, 'namespaces: invalid namespace "../other": must be a lowercase RFC 1123 label'),
    ({"exclude_namespaces": ["Kube_System"]}, 'exclude_namespaces: invalid namespace "Kube_System"'),
    ({"orphan_min_age": "soon"}, "orphan_min_age: invalid duration 'soon'"),
])
def test_bad_parameters_are_refused_before_anything(params, needle):
    base = {"max_deletions": 10}
    base.update(params)
    with pytest.raises(TriageError) as err:
        build_config(base)
    assert needle in err.value.msg and err.value.msg.startswith("invalid parameters, nothing was deleted")


def test_every_problem_is_reported_at_once():
    with pytest.raises(TriageError) as err:
        build_config({"older_than": "x", "max_deletions": -2, "rules": [{"match": "a[", "ttl": "y"}]})
    for needle in ("older_than", "max_deletions", "rules[0].match", "rules[0].ttl"):
        assert needle in err.value.msg


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (45, "45s"), (60, "1m"), (754, "12m34s"), (7200, "2h"),
                                           (93600, "1d2h"), (86400 * 9, "9d"), (-3600, "1h")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_max_deletions_error_says_how_many_and_where():
    entries = [{"namespace": "a", "name": "1"}, {"namespace": "a", "name": "2"}, {"namespace": "b", "name": "3"}]
    assert deletion_limit_error(3, 3, entries) is None
    err = deletion_limit_error(3, 2, entries, policies=1)
    assert "max_deletions is 2 but 3 pods would be deleted (a (2), b (1)) and 1 NetworkPolicies" in err.msg
    assert "nothing was deleted" in err.msg and err.details["would_delete_count"] == 3


def test_orphaned_policies_count_against_max_deletions():
    entries = [{"namespace": "a", "name": "1"}]
    assert deletion_limit_error(1, 3, entries, policies=3, orphans=2) is None
    err = deletion_limit_error(1, 2, entries, policies=3, orphans=2)
    assert "max_deletions is 2 but 1 pods and 2 orphaned NetworkPolicies would be deleted (a (1))" in err.msg
    assert err.details["would_delete_count"] == 3 and err.details["changed"] is False
    assert "(no pods)" in deletion_limit_error(0, 0, [], policies=1, orphans=1).msg


# --- the decision, by example ---------------------------------------------------------------

def test_expired_with_evidence_is_deleted():
    verdict = decide(quarantined(), NOW, DEFAULT)
    assert verdict["delete"] is True and verdict["why"].startswith("expired 1h ago (triage.k8s/expires-at until ")


@pytest.mark.parametrize("subject, needle", [
    (quarantined(expires_in=60), "not expired: triage.k8s/expires-at"),
    (quarantined(evidence=False), "no evidence was collected"),
    (quarantined(expires_in=None), "no expiry"),
    (quarantined(namespace="kube-system"), "namespace kube-system is excluded"),
    (quarantined(deletionTimestamp="2026-06-01T11:00:00Z"), "already being deleted"),
    (pod(labels={QUARANTINED_LABEL: "true"}), "look-alike"),
    (pod(annotations={ANN_QUARANTINED_AT: ts(-86400), ANN_EXPIRES_AT: ts(-3600), ANN_EVIDENCE: EVIDENCE}),
     "not quarantined"),
    (pod(labels={QUARANTINED_LABEL: "false"}, annotations={ANN_QUARANTINED_AT: ts(-9), ANN_EXPIRES_AT: ts(-1)}),
     "look-alike"),
])
def test_kept_with_a_reason(subject, needle):
    verdict = decide(subject, NOW, DEFAULT)
    assert verdict["delete"] is False and needle in verdict["why"], verdict


def test_unreadable_annotations_keep_the_pod():
    bad_at = quarantined()
    bad_at["metadata"]["annotations"][ANN_QUARANTINED_AT] = "yesterday"
    bad_exp = quarantined()
    bad_exp["metadata"]["annotations"][ANN_EXPIRES_AT] = "soon"
    bad_ev = quarantined()
    bad_ev["metadata"]["annotations"][ANN_EVIDENCE] = "{not json"
    assert "quarantined-at annotation is not a readable time" in decide(bad_at, NOW, DEFAULT)["why"]
    assert "expires-at annotation is not a readable time" in decide(bad_exp, NOW, DEFAULT)["why"]
    assert "evidence annotation is unreadable" in decide(bad_ev, NOW, DEFAULT)["why"]
    assert evidence_of(bad_ev) is None and evidence_of(quarantined(evidence=False)) == {}


def test_require_evidence_false_deletes_without_evidence():
    assert decide(quarantined(evidence=False), NOW, config(require_evidence=False, max_deletions=1))["delete"]


def test_older_than_covers_pods_without_ttl_and_never_brings_expiry_forward():
    older = config(older_than="1d", max_deletions=1)
    assert decide(quarantined(age=2 * 86400, expires_in=None), NOW, older)["delete"]
    assert "older_than 1d" in decide(quarantined(age=3600, expires_in=None), NOW, older)["why"]
    # expires-at in the future wins over an old quarantine ...
    kept = decide(quarantined(age=5 * 86400, expires_in=600), NOW, older)
    assert not kept["delete"] and "triage.k8s/expires-at" in kept["why"]
    # ... and older_than is a minimum age: a pod whose expires-at passed but is younger waits.
    assert not decide(quarantined(age=7200, expires_in=-3600), NOW, older)["delete"]


def test_rules_first_match_wins_and_override_older_than():
    cfg = config(older_than="30d", max_deletions=5, rules=[
        {"match": "metadata.namespace == 'payments'", "ttl": "1h"},
        {"match": "metadata.labels.team == 'checkout'", "ttl": "2d"},
        {"match": "`true`", "ttl": "10m"},
    ])
    payments = decide(quarantined(namespace="payments", age=7200, expires_in=None, extra_labels={"team": "checkout"}), NOW, cfg)
    assert payments["delete"] and payments["rule"] == 0 and "rules[0]" in payments["why"]
    checkout = decide(quarantined(age=7200, expires_in=None, extra_labels={"team": "checkout"}), NOW, cfg)
    assert not checkout["delete"] and checkout["rule"] == 1
    other = decide(quarantined(age=7200, expires_in=None), NOW, cfg)
    assert other["delete"] and other["rule"] == 2


def test_a_rule_that_cannot_be_evaluated_keeps_the_pod():
    cfg = config(max_deletions=5, rules=[{"match": "length(metadata.missing) > `0`", "ttl": "1m"}])
    verdict = decide(quarantined(), NOW, cfg)
    assert not verdict["delete"] and "could not be evaluated" in verdict["why"]


def test_namespaces_restrict():
    cfg = config(namespaces=["shop"], max_deletions=5)
    assert decide(quarantined(namespace="shop"), NOW, cfg)["delete"]
    assert "not in namespaces" in decide(quarantined(namespace="web"), NOW, cfg)["why"]


def test_released_pod_is_never_deleted():
    pod_ = quarantined(age=10 ** 7, expires_in=-10 ** 6)
    meta = pod_["metadata"]
    meta.update(apply_merge_patch(meta, release_patch(pod_)["metadata"]))
    assert QUARANTINED_LABEL not in meta["labels"] and ANN_EVIDENCE in meta["annotations"]
    assert not decide(pod_, NOW, config(older_than="1s", require_evidence=False, max_deletions=9))["delete"]


# --- properties -----------------------------------------------------------------------------

MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc))
TIMESTAMPS = MOMENTS.map(format_rfc3339)
TEXT = st.text(max_size=12)
EXPRESSIONS = st.sampled_from([
    "metadata.namespace == 'shop'", "metadata.labels.team == 'a'", "`true`", "`false`", "metadata.nothing",
    "metadata.labels", "contains(['a', 'b'], metadata.labels.team)", "length(metadata.labels.team) > `1`",
    "starts_with(metadata.name, 'p')",
])
RULES = st.lists(st.fixed_dictionaries({"match": EXPRESSIONS, "ttl": st.integers(1, 10 ** 7).map(str)}), max_size=3)


def _maybe(key, values, present=7, absent=1):
    """{key: value} `present` times in (present + absent), else {}: pods mostly look quarantined."""
    return st.sampled_from([True] * present + [False] * absent).flatmap(
        lambda there: values.map(lambda v: {key: v}) if there else st.just({}))


@st.composite
def pod_and_time(draw):
    """Any pod and any time. Its timestamps are mostly near that time, so that every branch of the
    decision is reached, and sometimes junk or far away."""
    now = draw(MOMENTS)

    def near(low, high):
        offsets = st.integers(low, high).map(lambda s: format_rfc3339(now + timedelta(seconds=s)))
        return st.sampled_from([offsets] * 8 + [TIMESTAMPS, TEXT]).flatmap(lambda strategy: strategy)

    labels = {}
    labels.update(draw(_maybe(QUARANTINED_LABEL, st.sampled_from(["true"] * 12 + ["True", "false", "", "yes"]))))
    labels.update(draw(_maybe("team", st.sampled_from(["a", "b", "ccc"]), present=1)))
    annotations = {}
    for key, values in ((ANN_QUARANTINED_AT, near(-10 ** 8, 10 ** 3)), (ANN_EXPIRES_AT, near(-10 ** 7, 10 ** 7)),
                        (ANN_EVIDENCE, st.sampled_from([EVIDENCE] * 8 + ["{", '{"bundle": ""}', "[]", "null"]))):
        annotations.update(draw(_maybe(key, values)))
    meta = draw(_maybe("deletionTimestamp", TIMESTAMPS, present=1, absent=9))
    subject = pod(draw(st.sampled_from(["p", "q-1"])), draw(st.sampled_from(["shop", "shop", "kube-system", "web"])),
                  labels, annotations, **meta)
    return subject, now


@st.composite
def any_config(draw):
    return build_config({
        "older_than": draw(st.one_of(st.none(), st.integers(1, 10 ** 7).map(str))),
        "rules": draw(RULES),
        "require_evidence": draw(st.booleans()),
        "exclude_namespaces": draw(st.lists(st.sampled_from(["kube-system", "web"]), unique=True)),
        "max_deletions": 10,
    })


def _applicable_ttl(subject, cfg):
    """The oracle: the TTL of the first rule whose expression is truthy, else older_than."""
    for rule in cfg["rules"]:
        try:
            value = jmespath.search(rule["match"], subject)
        except jmespath.exceptions.JMESPathError:
            return "error"
        if value not in (None, False, "", [], {}):
            return rule["ttl_seconds"]
    return cfg["older_than"]


def _assert_may_delete(subject, now, cfg, verdict):
    """The rules of the issue, checked independently of decide()."""
    assert isinstance(verdict["why"], str) and verdict["why"]
    if not verdict["delete"]:
        return
    meta = subject["metadata"]
    labels, annotations = meta["labels"], meta["annotations"]
    # Ours: the label and the annotation, readable; not terminating; namespace allowed.
    assert labels.get(QUARANTINED_LABEL) == "true" and ANN_QUARANTINED_AT in annotations
    quarantined_at = parse_rfc3339(annotations[ANN_QUARANTINED_AT])
    assert "deletionTimestamp" not in meta and meta["namespace"] not in cfg["exclude_namespaces"]
    # No expiry in the future, and not younger than the TTL that applies (rule, else older_than).
    if ANN_EXPIRES_AT in annotations:
        assert parse_rfc3339(annotations[ANN_EXPIRES_AT]) <= now
    ttl = _applicable_ttl(subject, cfg)
    assert ttl != "error"
    assert ttl is not None or ANN_EXPIRES_AT in annotations
    if ttl is not None:
        assert quarantined_at + timedelta(seconds=ttl) <= now
    if cfg["require_evidence"]:
        assert json.loads(annotations[ANN_EVIDENCE])["bundle"]


def test_never_chooses_a_pod_it_must_keep():
    """For any pod, any time and any parameters, a pod chosen for deletion is ours, not
    terminating, in an allowed namespace, past every expiry that applies, and has evidence when
    that is required. The strategies are checked not to be vacuous: every outcome is reached."""
    seen = set()

    @settings(max_examples=800, deadline=None)
    @given(pod_and_time(), any_config())
    def check(case, cfg):
        subject, now = case
        verdict = decide(subject, now, cfg)
        seen.add("delete" if verdict["delete"] else verdict["why"].split(" ")[0].rstrip(":"))
        _assert_may_delete(subject, now, cfg, verdict)

    check()
    assert set(["delete", "not", "look-alike", "expired", "already", "namespace", "its", "no"]) <= seen, seen


@settings(max_examples=300, deadline=None)
@given(pod_and_time(), st.integers(0, 10 ** 9), any_config())
def test_a_pod_chosen_now_is_chosen_later(case, later, cfg):
    """Monotone in time: waiting never turns a deletion back into a keep."""
    subject, now = case
    try:
        after = now + timedelta(seconds=later)
    except OverflowError:
        return
    if decide(subject, now, cfg)["delete"]:
        assert decide(subject, after, cfg)["delete"]


@settings(max_examples=300, deadline=None)
@given(MOMENTS, st.integers(1, 10 ** 8), st.integers(0, 10 ** 8), any_config())
def test_released_pods_are_never_chosen(quarantine_time, ttl, wait, cfg):
    subject = pod(labels={QUARANTINED_LABEL: "true", "release": "quarantined-stable"}, annotations={
        ANN_QUARANTINED_AT: format_rfc3339(quarantine_time),
        ANN_EXPIRES_AT: format_rfc3339(quarantine_time + timedelta(seconds=ttl)),
        ANN_ORIGINAL_LABELS: json.dumps({"release": "stable"}), ANN_EVIDENCE: EVIDENCE})
    meta = subject["metadata"]
    meta.update(apply_merge_patch(meta, release_patch(subject)["metadata"]))
    assert not decide(subject, quarantine_time + timedelta(seconds=ttl + wait), cfg)["delete"]
