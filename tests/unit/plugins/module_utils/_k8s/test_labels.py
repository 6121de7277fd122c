# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _k8s/labels.py: selector matching, label key/value validation, and LabelSelectors as
`labelSelector` query strings."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import (
    map_selector_matches,
    selector_matches,
    selector_string,
    validate_label_key,
    validate_label_value,
)

LONG = "a" * 63


def expr(key, operator, *values):
    return {"key": key, "operator": operator, "values": list(values) if values else None}


@pytest.mark.parametrize("selector, expected", [
    ({"matchLabels": {"app": "web"}}, "app=web"),
    ({"matchLabels": {"tier": "fe", "app": "web"}}, "app=web,tier=fe"),  # sorted by key
    ({"matchLabels": {"app.kubernetes.io/name": "web"}}, "app.kubernetes.io/name=web"),
    ({"matchLabels": {"app": ""}}, "app="),
    ({"match_labels": {"app": "web"}}, "app=web"),  # the python client's to_dict() spelling
    ({"matchExpressions": [expr("tier", "In", "a", "b")]}, "tier in (a,b)"),
    ({"matchExpressions": [expr("tier", "In", "a")]}, "tier=a"),
    ({"matchExpressions": [expr("track", "NotIn", "canary")]}, "track notin (canary)"),
    ({"matchExpressions": [expr("track", "NotIn", "canary", "debug")]}, "track notin (canary,debug)"),
    ({"matchExpressions": [expr("debug", "Exists")]}, "debug"),
    ({"matchExpressions": [expr("legacy", "DoesNotExist")]}, "!legacy"),
    ({"matchExpressions": [{"key": "debug", "operator": "Exists", "values": []}]}, "debug"),
    ({"matchLabels": {"app": "web"},
      "matchExpressions": [expr("tier", "In", "a", "b"), expr("track", "NotIn", "canary"), expr("debug", "Exists"),
                           expr("legacy", "DoesNotExist")]},
     "app=web,tier in (a,b),track notin (canary),debug,!legacy"),
    ({"match_labels": {"app": "web"}, "match_expressions": [expr("legacy", "DoesNotExist")]}, "app=web,!legacy"),
    ({}, ""),
    ({"matchLabels": {}, "matchExpressions": []}, ""),
    ({"matchLabels": None, "matchExpressions": None}, ""),
    (None, ""),
])
def test_selector_string(selector, expected):
    assert selector_string(selector) == expected


@pytest.mark.parametrize("selector, expected", [
    ({"app": "web"}, "app=web"),
    ({"tier": "fe", "app": "web"}, "app=web,tier=fe"),
    ({"app.kubernetes.io/name": "legacy"}, "app.kubernetes.io/name=legacy"),
    ({}, ""),
    (None, ""),
])
def test_selector_string_plain_map(selector, expected):
    assert selector_string(selector, plain_map=True) == expected


@pytest.mark.parametrize("selector, plain_map", [
    ({"app": "web"}, False),  # a plain map is not a LabelSelector
    ({"matchExpressions": [expr("a", "Gt", "1")]}, False),
    ({"matchLabels": {"app": "web"}}, True),  # a LabelSelector is not a plain map
    ({"app": 1}, True),
])
def test_selector_string_rejects_the_wrong_shape(selector, plain_map):
    with pytest.raises(ValueError):
        selector_string(selector, plain_map=plain_map)


# --- property ------------------------------------------------------------------------------

names = st.from_regex(r"[a-z0-9]([-a-z0-9_.]{0,8}[a-z0-9])?", fullmatch=True)
keys = st.one_of(names, st.tuples(st.from_regex(r"[a-z]{1,5}\.(io|com)", fullmatch=True), names).map("/".join))
values = st.one_of(st.just(""), names)


@st.composite
def expressions(draw):
    operator = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
    key = draw(keys)
    if operator in ("In", "NotIn"):
        return {"key": key, "operator": operator, "values": draw(st.lists(names, min_size=1, max_size=3))}
    return {"key": key, "operator": operator}


selectors = st.fixed_dictionaries({}, optional={
    "matchLabels": st.dictionaries(keys, values, max_size=4),
    "matchExpressions": st.lists(expressions(), max_size=4),
})


def split_requirements(text):
    """Top-level comma-separated parts (commas inside `in (...)` belong to their requirement)."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    if text:
        parts.append(current)
    return parts


def requirement_key(part):
    for separator in ("=", " "):
        part = part.split(separator, 1)[0]
    return part[1:] if part.startswith("!") else part


@settings(max_examples=300, deadline=None)
@given(selectors)
def test_selector_string_property(selector):
    text = selector_string(selector)
    assert text == selector_string(selector)  # deterministic
    expected_keys = list(selector.get("matchLabels") or {}) + [e["key"] for e in selector.get("matchExpressions") or []]
    for key in expected_keys:
        assert key in text
    parts = split_requirements(text)
    assert len(parts) == len(expected_keys)
    assert sorted(requirement_key(part) for part in parts) == sorted(expected_keys)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(keys, values, max_size=5), st.randoms(use_true_random=False))
def test_selector_string_ignores_map_order(labels, rnd):
    shuffled_items = list(labels.items())
    rnd.shuffle(shuffled_items)
    shuffled = dict(shuffled_items)
    assert selector_string({"matchLabels": labels}) == selector_string({"matchLabels": shuffled})
    plain = selector_string(labels, plain_map=True)
    assert plain == selector_string(shuffled, plain_map=True)
    assert plain == selector_string({"matchLabels": labels})


# --- selector matching -------------------------------------------------------------------

@pytest.mark.parametrize("selector, labels, expected", [
    ({"matchLabels": {"app": "web"}}, {"app": "web", "x": "y"}, True),
    ({"matchLabels": {"app": "web"}}, {"app": "api"}, False),
    ({"matchLabels": {"app": "web"}}, {}, False),
    ({"match_labels": {"app": "web"}, "match_expressions": None}, {"app": "web"}, True),
    ({"matchExpressions": [expr("env", "In", "prod", "dev")]}, {"env": "dev"}, True),
    ({"matchExpressions": [expr("env", "In", "prod")]}, {"env": "dev"}, False),
    ({"matchExpressions": [expr("env", "In", "prod")]}, {}, False),
    ({"matchExpressions": [{"key": "env", "operator": "In", "values": []}]}, {"env": ""}, False),
    ({"matchExpressions": [expr("env", "NotIn", "prod")]}, {}, True),
    ({"matchExpressions": [expr("env", "NotIn", "prod")]}, {"env": "prod"}, False),
    ({"matchExpressions": [expr("env", "NotIn", "prod")]}, {"env": "dev"}, True),
    ({"match_expressions": [expr("env", "Exists")]}, {"env": ""}, True),
    ({"matchExpressions": [expr("env", "Exists")]}, {}, False),
    ({"matchExpressions": [expr("env", "DoesNotExist")]}, {}, True),
    ({"matchExpressions": [expr("env", "DoesNotExist")]}, {"env": "x"}, False),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [expr("env", "DoesNotExist")]}, {"app": "web"}, True),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [expr("env", "DoesNotExist")]}, {"app": "web", "env": "x"}, False),
    ({}, {}, True),
    ({"match_labels": None, "match_expressions": None}, {"a": "b"}, True),
    (None, {"app": "web"}, False),
])
def test_selector_matches(selector, labels, expected):
    assert selector_matches(selector, labels) is expected


@pytest.mark.parametrize("selector", [
    {"app": "web"},  # a plain map is not a LabelSelector: refusing beats reading it as {}
    {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]},
    ["app"],
])
def test_selector_matches_rejects_non_selectors(selector):
    with pytest.raises(ValueError):
        selector_matches(selector, {"app": "web"})


@pytest.mark.parametrize("selector, labels, expected", [
    ({"app": "web"}, {"app": "web", "tier": "fe"}, True),
    ({"app": "web", "tier": "be"}, {"app": "web", "tier": "fe"}, False),
    ({"app": "web"}, {}, False),
    ({}, {"app": "web"}, False),
    (None, {"app": "web"}, False),
])
def test_map_selector_matches(selector, labels, expected):
    assert map_selector_matches(selector, labels) is expected


# --- label validation and quarantine values ----------------------------------------------

@pytest.mark.parametrize("key", ["app", "A1", "a.b_c-d", "example.com/app", "app.kubernetes.io/name", "a" * 63, "b" * 253 + "/a"])
def test_valid_label_keys(key):
    assert validate_label_key(key) is None


@pytest.mark.parametrize("key", ["", "/app", "Example.com/app", "a/b/c", "-app", "app-", "a" * 64, "b" * 254 + "/a",
                                 "app name", "example.com/", "ex_ample.com/app", None, 1])
def test_invalid_label_keys(key):
    error = validate_label_key(key)
    assert error and repr(key) in error


@pytest.mark.parametrize("value", ["", "web", "v1.2_3", LONG, "A-z"])
def test_valid_label_values(value):
    assert validate_label_value(value) is None


@pytest.mark.parametrize("value", ["a" * 64, "-web", "web-", "web.", "a b", "wéb", None, 1, True])
def test_invalid_label_values(value):
    error = validate_label_value(value)
    assert error and "invalid" in error
