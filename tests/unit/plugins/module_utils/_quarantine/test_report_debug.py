# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The quarantine summary's Investigate lines include `kubectl debug` (report.operator_commands), for
images without a shell, where the `exec -it ... -- sh` line fails."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

from ansible_collections.triage.k8s.plugins.module_utils._quarantine.report import operator_commands


def _pod(containers=("web", "sidecar"), namespace="shop"):
    return {"metadata": {"name": "web-7d4b9c-x2x9z", "namespace": namespace},
            "spec": {"containers": [{"name": c} for c in containers]}}


def test_investigate_has_kubectl_debug_targeting_the_first_container():
    assert operator_commands(_pod())["debug"] == (
        "kubectl debug -it -n shop web-7d4b9c-x2x9z --image=busybox:1.36 --target=web --profile=general")


def test_kubectl_debug_uses_the_context_like_the_other_lines():
    words = shlex.split(operator_commands(_pod(), "kind a")["debug"])
    assert words[:3] == ["kubectl", "--context", "kind a"] and "--target=web" in words


def test_a_pod_without_containers_gets_no_target():
    line = operator_commands(_pod(containers=()))["debug"]
    assert line.startswith("kubectl debug -it -n shop web-7d4b9c-x2x9z") and "--target" not in line
