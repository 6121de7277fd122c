# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _quarantine/plan.py: which labels take a pod out of its Services and owner (pure, no cluster)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools
import json
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._quarantine import plan as quarantine_plan
from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    PREFIX,
    QUARANTINE_ID_LABEL,
    QUARANTINED_LABEL,
    QUARANTINED_VALUE,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import (
    map_selector_matches,
    selector_matches,
    validate_label_key,
    validate_label_value,
)
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.values import quarantine_value
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import (
    decode_original_labels,
    encode_original_labels,
    restore_labels,
)
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.plan import plan_label_changes

TAO = "traffic_and_owner"
TO = "traffic_only"
POD = {"app": "web", "pod-template-hash": "h1", "tier": "fe"}
LONG = "a" * 63


def svc(name, **selector):
    return {"name": name, "selector": selector}


def owner(selector, kind="ReplicaSet", name="web-1"):
    return {"kind": kind, "name": name, "selector": selector}


def expr(key, operator, *values):
    return {"key": key, "operator": operator, "values": list(values) if values else None}


RS = owner({"matchLabels": {"app": "web", "pod-template-hash": "h1"}})


# --- planner: table ----------------------------------------------------------------------

# (id, pod labels, services, owner, scope, expected {key: after}, expected owner_matches_after)
PLAN_CASES = [
    ("shared-service-and-owner-key", POD, [svc("web", app="web")], RS, TAO, {"app": "quarantined-web"}, False),
    ("two-disjoint-services", POD, [svc("a", app="web"), svc("b", tier="fe")], None, TAO,
     {"app": "quarantined-web", "tier": "quarantined-fe"}, None),
    ("two-services-sharing-a-key", dict(POD, role="api"), [svc("a", app="web", tier="fe"), svc("b", app="web", role="api")], None, TAO,
     {"app": "quarantined-web"}, None),
    ("label-only-on-owner", POD, [svc("fe", tier="fe")], owner({"matchLabels": {"app": "web"}}), TAO,
     {"app": "quarantined-web", "tier": "quarantined-fe"}, False),
    ("label-only-on-owner-traffic-only", POD, [svc("fe", tier="fe")], owner({"matchLabels": {"app": "web"}}), TO,
     {"tier": "quarantined-fe"}, True),
    ("owner-without-services", POD, [], owner({"matchLabels": {"app": "web"}}, kind="DaemonSet"), TAO,
     {"app": "quarantined-web"}, False),
    ("traffic-only-uses-service-only-key", dict(POD, role="serving"), [svc("web", app="web", role="serving")], RS, TO,
     {"role": "quarantined-serving"}, True),
    ("traffic-only-prefers-key-owner-ignores", dict(POD, role="x"), [svc("web", app="web", role="x")],
     owner({"matchExpressions": [expr("app", "Exists")]}), TO, {"role": "quarantined-x"}, True),
    ("traffic-only-rewrite-keeps-exists", POD, [svc("web", app="web")],
     owner({"matchExpressions": [expr("app", "Exists")]}), TO, {"app": "quarantined-web"}, True),
    ("owner-in", POD, [], owner({"matchExpressions": [expr("app", "In", "web", "api")]}), TAO, {"app": "quarantined-web"}, False),
    ("owner-in-already-lists-quarantine-value", POD, [],
     owner({"matchExpressions": [expr("app", "In", "web", "quarantined-web")]}), TAO, {"app": None}, False),
    ("owner-notin-present", dict(POD, env="dev"), [], owner({"matchExpressions": [expr("env", "NotIn", "prod", "staging")]}), TAO,
     {"env": "prod"}, False),
    ("owner-notin-absent", POD, [], owner({"matchExpressions": [expr("env", "NotIn", "prod", "staging")]}), TAO,
     {"env": "prod"}, False),
    ("owner-exists", POD, [], owner({"matchExpressions": [expr("app", "Exists")]}), TAO, {"app": None}, False),
    ("owner-exists-shared-with-service-one-removal", POD, [svc("web", app="web")],
     owner({"matchExpressions": [expr("app", "Exists")]}), TAO, {"app": None}, False),
    ("owner-does-not-exist", POD, [], owner({"matchExpressions": [expr("canary", "DoesNotExist")]}), TAO,
     {"canary": "quarantined"}, False),
    ("rewrite-preferred-over-add", POD, [],
     owner({"matchLabels": {"tier": "fe"}, "matchExpressions": [expr("canary", "DoesNotExist")]}), TAO, {"tier": "quarantined-fe"}, False),
    ("snake-case-owner", POD, [svc("web", app="web", tier="fe")],
     owner({"match_labels": {"app": "web"}, "match_expressions": None}, kind="Job"), TAO, {"app": "quarantined-web"}, False),
    ("replication-controller-map", POD, [svc("web", app="web", tier="fe")],
     owner({"app": "web"}, kind="ReplicationController"), TAO, {"app": "quarantined-web"}, False),
    ("bare-pod", POD, [svc("web", app="web"), svc("other", app="api")], None, TAO, {"app": "quarantined-web"}, None),
    ("avoids-value-another-service-selects", POD, [svc("web", app="web", tier="fe"), svc("debug", app="quarantined-web")], None, TAO,
     {"tier": "quarantined-fe"}, None),
    ("contract-keys-untouched", dict(POD, **{"triage.k8s/team": "x"}), [svc("web", **{"app": "web", "triage.k8s/team": "x"})], None, TAO,
     {"app": "quarantined-web"}, None),
    ("long-value-trimmed", {"app": LONG}, [svc("web", app=LONG)], None, TAO, {"app": "quarantined-" + "a" * 51}, None),
    ("empty-value", {"app": ""}, [svc("web", app="")], None, TAO, {"app": "quarantined"}, None),
    ("traffic-only-no-services", POD, [], RS, TO, {}, True),
    ("owner-not-matching-keeps-failing-requirement", dict(POD, env="dev"), [svc("web", app="web", env="dev")],
     owner({"matchExpressions": [expr("env", "NotIn", "dev")]}), TAO, {"app": "quarantined-web"}, False),
    ("owner-not-matching-untouched-key-keeps-it-off", {"app": "web"}, [svc("web", app="web")],
     owner({"matchExpressions": [expr("app", "NotIn", "web"), expr("tier", "Exists")]}), TAO, {"app": "quarantined-web"}, False),
    ("owner-not-matching-second-change-keeps-it-off", {"app": "web", "tier": "fe"}, [svc("web", app="web")],
     owner({"matchExpressions": [expr("app", "NotIn", "web"), expr("tier", "Exists")]}), TAO, {"app": "quarantined-web", "tier": None}, False),
    ("owner-not-matching-avoids-its-failing-key", {"app": "web", "tier": "web"}, [svc("web", app="web", tier="web")],
     owner({"matchExpressions": [expr("app", "NotIn", "web")]}), TAO, {"tier": "quarantined-web"}, False),
    ("owner-not-matching-already", POD, [svc("web", app="web")], owner({"matchLabels": {"app": "api"}}), TAO,
     {"app": "quarantined-web"}, False),
]


def _assert_quarantines(plan, pod, services, scope):
    assert plan["error"] is None, plan["error"]
    assert plan["services_still_selecting"] == []
    assert not any(map_selector_matches(service["selector"], plan["new_labels"]) for service in services)
    assert not any(key.startswith(PREFIX) for key in plan["changes"])
    assert plan["new_labels"] == quarantine_plan._apply(pod, plan["changes"])
    json.dumps(plan)  # plain-serialisable


@pytest.mark.parametrize("case_id, pod, services, owner_, scope, expected, owner_after", PLAN_CASES, ids=[case[0] for case in PLAN_CASES])
def test_plan_auto(case_id, pod, services, owner_, scope, expected, owner_after):
    plan = plan_label_changes(pod, services, owner_, scope=scope)
    _assert_quarantines(plan, pod, services, scope)
    assert dict((key, change["after"]) for key, change in plan["changes"].items()) == expected
    assert all(change["before"] == pod.get(key) for key, change in plan["changes"].items())
    assert plan["owner_matches_after"] is owner_after


@pytest.mark.parametrize("case_id, pod, services, owner_, scope, expected, owner_after", PLAN_CASES, ids=[case[0] for case in PLAN_CASES])
def test_plan_auto_greedy_fallback_is_still_valid(case_id, pod, services, owner_, scope, expected, owner_after):
    with mock.patch.object(quarantine_plan, "_SEARCH_BUDGET", 0):
        plan = plan_label_changes(pod, services, owner_, scope=scope)
    _assert_quarantines(plan, pod, services, scope)
    assert plan["owner_matches_after"] is owner_after


def test_plan_result_shape():
    plan = plan_label_changes(POD, [svc("web", app="web"), svc("x", app="api")], RS)
    assert plan == {
        "changes": {"app": {"before": "web", "after": "quarantined-web"}},
        "new_labels": {"app": "quarantined-web", "pod-template-hash": "h1", "tier": "fe"},
        "services_selecting": ["web"],
        "services_still_selecting": [],
        "owner_matches_before": True,
        "owner_matches_after": False,
        "warnings": [],
        "error": None,
    }


def test_plan_warnings():
    assert "traffic_only changes no labels" in plan_label_changes(POD, [], RS, scope=TO)["warnings"][0]
    assert "does not match" in plan_label_changes(POD, [svc("web", app="web")], owner({"matchLabels": {"app": "x"}}))["warnings"][0]


# (id, pod, services, owner, scope, explicit labels, substrings of the error)
PLAN_ERRORS = [
    ("traffic-only-impossible", POD, [svc("web", app="web")], RS, TO, None,
     ["Service web (app=web)", "app (ReplicaSet/web-1 selects on it too)", "traffic_and_owner"]),
    ("traffic-only-impossible-two-keys", POD, [svc("web", app="web", **{"pod-template-hash": "h1"})], RS, TO, None,
     ["app (ReplicaSet/web-1", "pod-template-hash (ReplicaSet/web-1"]),
    ("nothing-bare-no-services", POD, [], None, TAO, None, ["nothing to take it out of"]),
    ("nothing-services-elsewhere", POD, [svc("api", app="api"), svc("headless", )], None, TAO, None, ["nothing to take it out of"]),
    ("service-only-on-contract-key", dict(POD, **{"triage.k8s/team": "x"}), [svc("t", **{"triage.k8s/team": "x"})], None, TAO, None,
     ["Service t", "triage.k8s/team (under triage.k8s/"]),
    ("owner-empty-selector", POD, [svc("web", tier="fe")], owner({}), TAO, None,
     ["cannot release the pod from ReplicaSet/web-1", "empty and matches every pod", "traffic_only"]),
    ("owner-only-contract-key", dict(POD, **{"triage.k8s/team": "x"}), [], owner({"matchLabels": {"triage.k8s/team": "x"}}), TAO, None,
     ["cannot release", "triage.k8s/team"]),
    ("bad-scope", POD, [svc("web", app="web")], None, "everything", None, ["unknown scope 'everything'"]),
    ("plain-map-for-replicaset", POD, [svc("web", app="web")], owner({"app": "web"}), TAO, None, ["expected a LabelSelector"]),
    ("bad-service", POD, [{"selector": {"app": "web"}}], None, TAO, None, ["'name'"]),
    ("explicit-leaves-service", POD, [svc("web", app="web")], None, TAO, {"tier": "held"},
     ["the labels given do not quarantine the pod", "Service(s) web (app=web) would still select it"]),
    ("explicit-leaves-owner", dict(POD, role="api"), [svc("api", role="api")], RS, TAO, {"role": "held"},
     ["ReplicaSet/web-1 would still select it", "app, pod-template-hash"]),
    ("explicit-releases-owner-in-traffic-only", dict(POD, role="api"), [svc("api", role="api")], RS, TO, {"app": "held", "role": None},
     ["ReplicaSet/web-1 would release it", "traffic_only forbids"]),
    ("explicit-joins-another-service", POD, [svc("web", app="web"), svc("api", app="api")], None, TAO, {"app": "api"},
     ["Service(s) api (app=api)"]),
    ("owner-would-match-again", {"app": "web"}, [svc("web", app="web")], owner({"matchExpressions": [expr("app", "NotIn", "web")]}), TAO, None,
     ["Service(s) web without making ReplicaSet/web-1 select it again", "failing only on app"]),
    ("explicit-owner-would-match-again", {"app": "web"}, [svc("web", app="web")], owner({"matchExpressions": [expr("app", "NotIn", "web")]}),
     TAO, {"app": "held"}, ["ReplicaSet/web-1 does not select it now but would"]),
    ("explicit-invalid", POD, [svc("web", app="web")], None, TAO, {"app": "-bad", "Bad Key": "x"},
     ["label value '-bad' is invalid", "label key 'Bad Key' is invalid"]),
    ("explicit-contract-key", POD, [svc("web", app="web")], None, TAO, {QUARANTINED_LABEL: "true"}, ["manages itself"]),
    ("explicit-not-a-map", POD, [svc("web", app="web")], None, TAO, ["app"], ["must be a mapping"]),
]


@pytest.mark.parametrize("case_id, pod, services, owner_, scope, explicit, fragments", PLAN_ERRORS, ids=[case[0] for case in PLAN_ERRORS])
def test_plan_errors(case_id, pod, services, owner_, scope, explicit, fragments):
    plan = plan_label_changes(pod, services, owner_, scope=scope, explicit_labels=explicit)
    assert plan["error"]
    for fragment in fragments:
        assert fragment in plan["error"]
    assert plan["changes"] == {} and plan["new_labels"] == pod  # nothing a careless caller could apply


def test_plan_error_reports_what_stays_selecting():
    assert plan_label_changes(POD, [svc("web", app="web")], RS, scope=TO)["services_still_selecting"] == ["web"]
    assert plan_label_changes(POD, [svc("web", app="web")], None, explicit_labels={"tier": "x"})["services_still_selecting"] == ["web"]


def test_plan_traffic_only_hint_only_when_owner_is_the_obstacle():
    pod = dict(POD, **{"triage.k8s/team": "x"})
    error = plan_label_changes(pod, [svc("t", **{"triage.k8s/team": "x"})], RS, scope=TO)["error"]
    assert "triage.k8s/team (under triage.k8s/" in error and "traffic_and_owner" not in error


def test_plan_bad_prefix():
    assert "quarantine prefix" in plan_label_changes(POD, [svc("web", app="web")], None, prefix="-x")["error"]


@pytest.mark.parametrize("scope, explicit, owner_after", [
    (TAO, {"app": "held"}, False),
    (TAO, {"app": None}, False),
    (TO, {"role": "held", "tier": "fe"}, True),  # tier unchanged: not a change
])
def test_plan_explicit_labels(scope, explicit, owner_after):
    pod = dict(POD, role="api")
    services = [svc("web", app="web", role="api")]
    plan = plan_label_changes(pod, services, RS, scope=scope, explicit_labels=explicit)
    _assert_quarantines(plan, pod, services, scope)
    assert plan["changes"] == dict((key, {"before": pod.get(key), "after": value}) for key, value in explicit.items() if pod.get(key) != value)
    assert plan["owner_matches_after"] is owner_after


def test_plan_custom_prefix():
    plan = plan_label_changes(POD, [svc("web", app="web")], None, prefix="held.")
    assert plan["changes"] == {"app": {"before": "web", "after": "held.web"}}


# --- original-labels record and restore --------------------------------------------------

def test_restore_round_trip_with_removed_and_added_keys():
    pod = {"app": "web", "tier": "fe"}
    selector = {"matchLabels": {"tier": "fe"}, "matchExpressions": [expr("app", "Exists"), expr("canary", "DoesNotExist")]}
    plan = plan_label_changes(pod, [svc("web", app="web")], owner(selector))
    assert plan["error"] is None
    manual = {"app": {"before": "web", "after": None}, "canary": {"before": None, "after": "quarantined"}}
    for changes in (plan["changes"], manual):
        text = encode_original_labels(changes)
        quarantined = quarantine_plan._apply(pod, changes)
        quarantined.update({QUARANTINED_LABEL: QUARANTINED_VALUE, QUARANTINE_ID_LABEL: "abc"})
        assert restore_labels(quarantined, decode_original_labels(text)) == pod
        assert restore_labels(quarantined, text) == pod


# --- planner: properties -----------------------------------------------------------------

KEYS = ["app", "tier", "env", "example.com/role", "triage.k8s/team"]
VALUES = ["web", "api", "fe", "prod", "quarantined-web", LONG, "a" * 50 + "-" + "b" * 12]
OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"]


@st.composite
def scenarios(draw):
    labels = draw(st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), min_size=1, max_size=5))

    # Selectors mostly use the pod's own keys and values, so they tend to select it.
    def key_for():
        return draw(st.sampled_from(sorted(labels))) if draw(st.integers(0, 4)) else draw(st.sampled_from(KEYS))

    def value_for(key):
        return labels[key] if key in labels and draw(st.integers(0, 4)) else draw(st.sampled_from(VALUES))

    def label_map(max_size):
        keys = set(key_for() for _i in range(draw(st.integers(0, max_size))))
        return dict((key, value_for(key)) for key in sorted(keys))

    services = [{"name": "s%d" % index, "selector": label_map(3)} for index in range(draw(st.integers(0, 3)))]
    kind = draw(st.sampled_from([None, "ReplicaSet", "ReplicaSet", "ReplicationController"]))
    if kind == "ReplicationController":
        owner_ = owner(label_map(2), kind=kind)
    elif kind:
        expressions = []
        for key in sorted(set(key_for() for _i in range(draw(st.integers(0, 2))))):
            operator = draw(st.sampled_from(OPERATORS))
            values = [value_for(key)] + draw(st.lists(st.sampled_from(VALUES), max_size=1)) if operator in ("In", "NotIn") else []
            expressions.append({"key": key, "operator": operator, "values": values})
        owner_ = owner({"matchLabels": label_map(2), "matchExpressions": expressions})
    else:
        owner_ = None
    return labels, services, owner_, draw(st.sampled_from([TAO, TO]))


def _owner_matches(owner_, labels):
    if owner_["kind"] == "ReplicationController":
        return map_selector_matches(owner_["selector"], labels)
    return selector_matches(owner_["selector"], labels)


def _acceptable(labels, services, owner_, scope, new_labels):
    """The contract, checked with the public matchers only."""
    if any(map_selector_matches(service["selector"], new_labels) for service in services):
        return False
    if owner_ is None:
        return True
    if not _owner_matches(owner_, labels):
        return not _owner_matches(owner_, new_labels)  # relabelling must not let it keep or adopt the pod
    return _owner_matches(owner_, new_labels) is (scope == TO)


def _oracle_options(key, labels, owner_, services):
    """Every change the contract allows for one key, independent of the planner's search."""
    options = [quarantine_value(labels.get(key))]
    if key in labels:
        options.append(None)
    if owner_ and owner_["kind"] != "ReplicationController":
        for expression in owner_["selector"].get("matchExpressions") or ():
            if expression["key"] == key and expression["operator"] == "NotIn" and expression["values"][0] != labels.get(key):
                options.append(expression["values"][0])
    taken = set(service["selector"].get(key) for service in services)
    return [value for value in options if value is None or value not in taken]


def _smaller_plan_exists(labels, services, owner_, scope, size_limit):
    keys = sorted(set(labels) | set(key for service in services for key in service["selector"])
                  | (set(_owner_keys(owner_)) if owner_ else set()))
    keys = [key for key in keys if not key.startswith(PREFIX)]
    for size in range(size_limit):
        for combo in itertools.combinations(keys, size):
            for values in itertools.product(*[_oracle_options(key, labels, owner_, services) for key in combo]):
                changes = dict((key, {"after": value}) for key, value in zip(combo, values))
                if _acceptable(labels, services, owner_, scope, quarantine_plan._apply(labels, changes)):
                    return True
    return False


def _owner_keys(owner_):
    if owner_["kind"] == "ReplicationController":
        return list(owner_["selector"])
    selector = owner_["selector"]
    return list(selector.get("matchLabels") or {}) + [expression["key"] for expression in selector.get("matchExpressions") or ()]


def _check_plan_properties(labels, services, owner_, scope, plan, exact):
    if plan["error"] is not None:
        assert plan["changes"] == {} and plan["new_labels"] == labels
        nothing = "nothing to take it out of" in plan["error"]
        if exact and not nothing:  # no plan of any size exists, checked by brute force
            assert not _smaller_plan_exists(labels, services, owner_, scope, len(KEYS) + 1)
        return
    new_labels = plan["new_labels"]
    assert _acceptable(labels, services, owner_, scope, new_labels)
    assert plan["services_still_selecting"] == []
    if owner_ is not None:
        before = _owner_matches(owner_, labels)
        assert plan["owner_matches_before"] is before
        assert plan["owner_matches_after"] is (before and scope == TO)
    for key, change in plan["changes"].items():
        assert not key.startswith(PREFIX) and validate_label_key(key) is None
        assert change["before"] == labels.get(key) != change["after"]
        assert change["after"] is None or validate_label_value(change["after"]) is None
        if scope == TO and owner_ is not None and before and key not in set(key for service in services for key in service["selector"]):
            raise AssertionError("traffic_only touched owner-only key %s" % key)
    record = decode_original_labels(encode_original_labels(plan["changes"]))
    marked = dict(new_labels, **{QUARANTINED_LABEL: QUARANTINED_VALUE, QUARANTINE_ID_LABEL: "id"})
    assert restore_labels(marked, record) == labels
    if exact:
        assert not _smaller_plan_exists(labels, services, owner_, scope, len(plan["changes"]))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_plan_properties(scenario):
    labels, services, owner_, scope = scenario
    plan = plan_label_changes(labels, services, owner_, scope=scope)
    _check_plan_properties(labels, services, owner_, scope, plan, exact=True)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_plan_properties_greedy(scenario):
    labels, services, owner_, scope = scenario
    with mock.patch.object(quarantine_plan, "_SEARCH_BUDGET", 0):
        plan = plan_label_changes(labels, services, owner_, scope=scope)
    _check_plan_properties(labels, services, owner_, scope, plan, exact=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.dictionaries(st.sampled_from(KEYS[:4]), st.one_of(st.none(), st.sampled_from(VALUES)), max_size=3))
def test_plan_explicit_properties(scenario, explicit):
    labels, services, owner_, scope = scenario
    plan = plan_label_changes(labels, services, owner_, scope=scope, explicit_labels=explicit)
    new_labels = quarantine_plan._apply(labels, dict((key, {"after": value}) for key, value in explicit.items()))
    has_target = any(map_selector_matches(service["selector"], labels) for service in services) or owner_ is not None
    assert (plan["error"] is None) == (has_target and _acceptable(labels, services, owner_, scope, new_labels))
    if plan["error"] is None:
        assert plan["new_labels"] == new_labels
        assert restore_labels(new_labels, encode_original_labels(plan["changes"])) == labels


def test_equal_keys_prefer_one_that_does_not_name_the_application():
    # app and release break the Service and the ReplicaSet alike; rewriting release keeps the
    # pod visible to monitoring and dashboards that select on app.
    labels = {"app": "web", "release": "stable", "pod-template-hash": "5d9f"}
    owner = {"kind": "ReplicaSet", "name": "web-5d9f", "selector": {"matchLabels": dict(labels)}}
    plan = plan_label_changes(labels, [{"name": "web", "selector": {"app": "web", "release": "stable"}}], owner)
    assert plan["changes"] == {"release": {"before": "stable", "after": "quarantined-stable"}}
