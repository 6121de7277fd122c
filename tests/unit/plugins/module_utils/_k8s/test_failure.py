# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s import errors, failure
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError


def test_triage_error_carries_msg_and_details():
    error = TriageError("boom", {"status": 1})
    assert (str(error), error.msg, error.details) == ("boom", "boom", {"status": 1})
    assert TriageError("x").details == {}


def test_errors_hands_out_the_same_error_class_and_scrub():
    assert errors.TriageError is failure.TriageError and errors.scrub is failure.scrub


def test_object_and_target_phrases():
    assert failure.object_phrase("pods", "web-1", "shop") == 'pod "web-1" in namespace "shop"'
    assert failure.object_phrase("networkpolicies", None, None) == "networkpolicies"
    assert failure.named_apart("pods", "web-1", "shop") == ('pod "web-1"', ' in namespace "shop"')
    assert [failure.singular(r) for r in ("policies", "classes", "boxes", "pods/exec", "status")] == \
        ["policy", "class", "box", "pod", "statu"]
    assert failure.on_target("context 'a'") == " on context 'a'" and failure.on_target(None) == ""
