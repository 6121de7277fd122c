# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _k8s/selectors.py: label and field selector syntax as the API server parses it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._k8s.selectors import (
    field_selector_problem, label_selector_problem, selector_problems,
)


@pytest.mark.parametrize("text", [
    "app=web", "app==web", "app!=web", "app", "!legacy", "app=", "tier in (a,b)", "tier notin (a)",
    "tier in ()", "tier in (a,,b)", " app = web , tier in ( a , b ) ", "example.com/app=x", "x>5", "x<-1",
    "app.kubernetes.io/name=web,!canary,track notin (beta)", "a=b_c.d-e", "in",
])
def test_label_selectors_the_api_server_accepts(text):
    assert label_selector_problem(text) is None


@pytest.mark.parametrize("text,fragment", [
    ("", "is empty"),
    ("   ", "is empty"),
    (None, "is empty"),
    ("app in (web", "missing ')'"),
    ("app in web", "expected '(' after in/notin"),
    ("=web", "expected a label key, found '='"),
    ("app=web,", "expected a label key, found 'the end'"),
    ("app=web,,x", "expected a label key, found ','"),
    ("Bad Key!=x", "expected an operator"),
    ("app=we b", "expected ',' or the end"),
    ("app=web)", "expected ',' or the end"),
    ("!", "expected a label key after '!'"),
    ("!a=b", "expected ',' or the end"),
    ("x>abc", "must be an integer"),
    ("x>", "needs an integer"),
    ("app=-bad-", "label value '-bad-' is invalid"),
    ("-app=x", "label key '-app' is invalid"),
    ("tier in (a b)", "unexpected 'b'"),
    ("app==(x)", "expected a value"),
])
def test_label_selector_syntax_errors_are_explained(text, fragment):
    problem = label_selector_problem(text)
    assert problem is not None and fragment in problem, problem
    assert "for example app=web" in problem


@pytest.mark.parametrize("text", [
    "status.phase=Running", "spec.nodeName=", "a==b", "a!=b", "status.phase!=Succeeded,spec.nodeName=node-1",
    "metadata.name=x\\,y", "metadata.name=a\\=b", "metadata.name=c\\\\d", "spec.image=anything-the-server-judges",
])
def test_field_selectors_the_api_server_parses(text):
    assert field_selector_problem(text) is None


@pytest.mark.parametrize("text,fragment", [
    ("", "is empty"),
    ("status.phase", "has no operator"),
    ("a=b,status.phase", "'status.phase' has no operator"),
    ("=Running", "names no field"),
    (" !=x", "names no field"),
    ("a=b\\x", "'\\x' is not an escape"),
    ("a=b\\", "is not an escape"),
])
def test_field_selector_syntax_errors_are_explained(text, fragment):
    problem = field_selector_problem(text)
    assert problem is not None and fragment in problem, problem


def test_selector_problems_name_the_option_and_index():
    assert selector_problems(None, None) == []
    assert selector_problems(["app=web"], ["status.phase=Running"]) == []
    problems = selector_problems(["app=web", "app in (x"], ["nofield"])
    assert len(problems) == 2
    assert problems[0].startswith("label_selectors[1]: label selector 'app in (x' is invalid")
    assert problems[1].startswith("field_selectors[0]: field selector 'nofield' is invalid")
