# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for evidence_exec.py's pure part: the exit code read from the exec Status frame.
The channel loop itself runs against the real API server and KWOK in tests/integration."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._evidence.collect_exec import exit_status

SUCCESS = b'{"metadata":{},"status":"Success"}'
NONZERO = json.dumps({"status": "Failure", "reason": "NonZeroExitCode", "message": "command terminated with exit code 3",
                      "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}).encode()


@pytest.mark.parametrize("text,expected", [
    (SUCCESS, (0, None)),
    (NONZERO, (3, None)),
    (b'{"status":"Failure","message":"error executing command in container: cmd wait: false : exit status 1"}', (1, None)),
    (b'{"status":"Failure","message":"exec: \\"nope\\": executable file not found in $PATH"}',
     (None, 'exec: "nope": executable file not found in $PATH')),
    (b"", (None, "the exec stream ended without a final status (connection closed early)")),
    (b"not json", (None, "unreadable exec status: not json")),
])
def test_exit_status(text, expected):
    assert exit_status(text) == expected
