# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names that reach a URL: nothing a user types may leave its path segment."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import KINDS, resource_path
from ansible_collections.triage.k8s.plugins.module_utils._k8s.names import (
    name_problem,
    namespace_problem,
    validate_name,
    validate_namespace,
)

HOSTILE = ["../../other/pods/victim", "../../victim-ns", "..", ".", "a/b", "%2e%2e", "%2F", "web?watch=1",
           "web#x", "web 1", "Web", "web.", "-web", "", "a" * 254, "web\n", "web\x00", "..%2f..", "\u0430pp",
           "web/../../x", "./web", "web/"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_pod_names_are_refused(name):
    assert name_problem("Pod", name).startswith('invalid pod name "')
    with pytest.raises(TriageError) as caught:
        validate_name("Pod", name)
    assert caught.value.details["error_type"] == "invalid_input"
    assert "nothing was read or written" in caught.value.msg


@pytest.mark.parametrize("name", HOSTILE + ["a.b", "a" * 64])
def test_hostile_namespaces_are_refused(name):
    assert namespace_problem(name).startswith('invalid namespace "')
    with pytest.raises(TriageError):
        validate_namespace(name)


@pytest.mark.parametrize("name", ["web-7d4b9c-x2x9z", "a", "0", "web.v1", "a" * 253, "x-1.y-2"])
def test_valid_pod_names_pass(name):
    assert name_problem("Pod", name) is None
    assert validate_name("Pod", name) == name


def test_a_huge_value_is_shortened_in_the_message():
    problem = name_problem("Pod", "x" * 300000 + "/")
    assert len(problem) < 400 and "300001 characters" in problem


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("name", [h for h in HOSTILE if h])  # "" means "the collection" there
def test_resource_path_refuses_before_any_path_is_built(kind, name):
    with pytest.raises(TriageError):
        resource_path(kind, "shop", name)
    if kind not in ("Node", "Namespace"):
        with pytest.raises(TriageError):
            resource_path(kind, name, "web")


@given(st.text(min_size=1, max_size=80))
def test_any_accepted_name_is_exactly_one_path_segment(text):
    if name_problem("Pod", text) is not None or namespace_problem("shop") is not None:
        return
    path = resource_path("Pod", "shop", text, "log")
    assert path == "/api/v1/namespaces/shop/pods/%s/log" % text
    assert text not in (".", "..") and "/" not in text and "%" not in text
