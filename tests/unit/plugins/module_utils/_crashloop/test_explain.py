# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _crashloop/explain.py: the classes in severity order, exit code meanings, and
the explanation and next-step templates filled in."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.explain import (
    CLASSES, EXPLANATIONS, FAIL_FAST_CLASSES, NEXT_STEPS, OK_CLASSES, POD_EXPLANATIONS, SEVERITY, exit_code_meaning,
    explain, most_severe, template_values, termination_values,
)


@pytest.mark.parametrize("code,signal,meaning", [
    (0, None, "success"), (1, None, "application error"), (137, None, "SIGKILL"), (139, None, "SIGSEGV"), (143, None, "SIGTERM"),
    (131, None, "signal 3"), (42, None, "application-defined"), (None, 9, "signal 9"), (None, None, "unknown"),
])
def test_exit_code_meaning(code, signal, meaning):
    assert meaning in exit_code_meaning(code, signal)


def test_severity_order():
    assert CLASSES[0] == "oom_killed" and CLASSES[-1] == "healthy" and len(set(CLASSES)) == len(CLASSES)
    assert most_severe(["healthy", "image_pull", "crash_loop"]) == "crash_loop"
    assert most_severe(["config_error", "image_pull"]) == "image_pull" and most_severe([]) == "healthy"
    assert FAIL_FAST_CLASSES <= set(CLASSES) and "probe_failure" not in FAIL_FAST_CLASSES


def test_every_class_has_words():
    assert set(NEXT_STEPS) == set(CLASSES) and set(SEVERITY) == set(CLASSES)
    assert set(EXPLANATIONS) | set(POD_EXPLANATIONS) == set(CLASSES) and OK_CLASSES <= set(CLASSES)
    assert not OK_CLASSES & FAIL_FAST_CLASSES


def test_template_values_name_the_pod_and_its_logs():
    values = template_values("shop", "web-1", "n1", 120, "app", reason="OOMKilled", detail="line one\nline two",
                             seconds=None)
    assert values["logs"] == "kubectl logs -n shop web-1 -c app" and values["grace"] == 120
    assert values["reason"] == "OOMKilled" and values["seconds"] == "?" and values["detail"].startswith(": line one")
    assert "\n" not in values["detail"] and values["not a key"] == "?"
    anonymous = template_values("", "", "?", 0)
    assert anonymous["logs"] == "kubectl logs -n NAMESPACE POD --all-containers" and anonymous["detail"] == ""


def test_termination_values():
    assert termination_values(None) == {"exit_code": "?", "exit_meaning": "unknown", "reason": None, "detail": None}
    term = {"exit_code": 137, "signal": None, "reason": "OOMKilled", "message": "killed"}
    assert termination_values(term) == {"exit_code": 137, "exit_meaning": exit_code_meaning(137), "reason": "OOMKilled",
                                        "detail": "killed"}


def test_explain_picks_the_container_or_the_pod_template():
    values = template_values("shop", "web-1", "n1", 120, "app", **termination_values(
        {"exit_code": 1, "signal": None, "reason": "Error", "message": None}))
    explanation, step = explain("crash_loop", values)
    assert explanation.startswith("container app is crash-looping: 0 restart(s), last exit code 1 (application error)")
    assert "kubectl logs -n shop web-1 -c app --previous" in step
    assert explain("healthy", values, by_container=False)[0] == "all containers are running and Ready"
    assert explain("unschedulable", values)[0] == "the scheduler cannot place the pod"  # no container template
