# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for collect_exec.py: what a command's outcome is recorded as, from what the API
layer's exec stream returns. The exit code read from the exec Status frame (exit_status) and the
channel loop are tested in tests/unit/plugins/module_utils/_k8s/test_stream*.py, on frames recorded
from KWOK; the whole path runs against the real API server in tests/integration."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._evidence.collect_exec import exit_status, run_command

SUCCESS = b'{"metadata":{},"status":"Success"}'
NONZERO = json.dumps({"status": "Failure", "reason": "NonZeroExitCode", "message": "command terminated with exit code 3",
                      "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}).encode()


class _Stream(object):
    def __init__(self, answer):
        self.answer = answer
        self.args = None

    def run(self, stdout, stderr, timeout, cancel=None):
        self.args = (stdout, stderr, timeout, cancel)
        return self.answer


class _Kube(object):
    def __init__(self, answer):
        self.stream = _Stream(answer)
        self.calls = []

    def exec(self, namespace, pod, container, command):
        self.calls.append((namespace, pod, container, command))
        return self.stream


class _Full(object):
    limit = 1024
    truncated = True


@pytest.mark.parametrize("answer, expected", [
    ((SUCCESS, None), (0, None, False)),
    ((NONZERO, None), (3, None, False)),
    ((b"", None), (None, "the exec stream ended without a final status (connection closed early)", False)),
    ((b"", "timeout"), (None, "timed out after 7s (the command may still be running in the container)", True)),
    ((b"", "cancelled"), (None, "the collection was interrupted", False)),
    ((b"", "full"), (None, "output cut at 1024 bytes (max_bytes); the stream was closed", False)),
])
def test_run_command_outcomes(answer, expected):
    kube = _Kube(answer)
    stdout = _Full()
    assert run_command(kube, "shop", "web-1", "app", ["cat", "dump.txt"], 7, stdout, "err", "cancel") == expected
    assert kube.calls == [("shop", "web-1", "app", ["cat", "dump.txt"])]
    assert kube.stream.args == (stdout, "err", 7, "cancel")


def test_exit_status_is_the_layers():
    assert exit_status(SUCCESS) == (0, None) and exit_status(NONZERO) == (3, None)
