# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test harness only: writes every registered task result of a run to the JSON file named by
TRIAGE_TEST_RESULTS, as {register name: result}, shaped as `register` stores it (internal keys and
`invocation` dropped, `failed`/`skipped` put back). It replaces a second task that saved
`{{ result | to_json }}` with ansible.builtin.copy, which cost about a second of CPU per module call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: triage_test_results
type: aggregate
short_description: saves registered results for the integration tests
description: Test harness only.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "triage_test_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get("TRIAGE_TEST_RESULTS")
        self._saved = {}

    def _keep(self, result, failed=False, skipped=False):
        register = getattr(result._task, "register", None)
        if not self._path or not register:
            return
        returned = getattr(result, "result", None)  # ansible-core 2.19; _result before
        returned = result._result if returned is None else returned
        data = {k: v for k, v in returned.items() if not k.startswith("_ansible_") and k != "invocation"}
        data.setdefault("failed", failed)
        if skipped:
            data["skipped"] = True
        self._saved[register] = data
        partial = "%s.partial" % self._path
        with open(partial, "w") as handle:
            json.dump(self._saved, handle, default=str)
        os.replace(partial, self._path)

    def v2_runner_on_ok(self, result):
        self._keep(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._keep(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._keep(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._keep(result, failed=True)
