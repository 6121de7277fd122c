# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _contract/commands.py's debug_command: the `kubectl debug` line of a quarantine
summary's Investigate lines pastes into a shell and names exactly the pod, target, image, profile."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._contract.commands import (
    DEBUG_IMAGE, DEBUG_PROFILE, debug_command,
)


def test_the_command_kubectl_debug_takes():
    assert debug_command("shop", "web-1", "web", "busybox:1.36", "general") == (
        "kubectl debug -it -n shop web-1 --image=busybox:1.36 --target=web --profile=general")


def test_defaults_and_context():
    line = debug_command("shop", "web-1", "web", context="kind-a")
    assert line == ("kubectl --context kind-a debug -it -n shop web-1 --image=%s --target=web --profile=%s"
                    % (DEBUG_IMAGE, DEBUG_PROFILE))
    assert "--target" not in debug_command("shop", "web-1")  # no container known: kubectl's own default


@pytest.mark.parametrize("namespace, pod, target, image, profile, context", [
    ("shop", "web-1", "web", "registry.example:5000/tools/debug@sha256:abc", "sysadmin", "arn:aws:eks:eu:1:cluster/x"),
    ("shop", "web-1", "web", "img", "restricted", "kind a; rm -rf /"),
    ("shop", "web-1", "we'b", "busy box", "general", "$(id)"),
])
def test_every_value_is_one_shell_word(namespace, pod, target, image, profile, context):
    words = shlex.split(debug_command(namespace, pod, target, image, profile, context))
    assert words == ["kubectl", "--context", context, "debug", "-it", "-n", namespace, pod, "--image=%s" % image,
                     "--target=%s" % target, "--profile=%s" % profile]


def test_unknown_pod_gives_no_command():
    assert debug_command(None, "web-1") is None and debug_command("shop", "") is None
