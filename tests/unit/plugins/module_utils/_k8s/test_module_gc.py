# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_module pauses the cyclic garbage collector while a module runs and always switches it
back on: after a result, a failure, an unexpected exception, and exit_json's SystemExit."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import json

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.module import cyclic_gc_paused


def _run(fn, capsys):
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.module import build_module, run_module

    with patch_module_args({"name": "web"}):
        module = build_module({"name": {"type": "str"}})
        with pytest.raises(SystemExit):
            run_module(module, fn)
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("outcome", ["result", "triage_error", "unexpected"])
def test_the_collector_is_paused_during_the_run_and_on_again_after(outcome, capsys):
    seen = []

    def work(module):
        seen.append(gc.isenabled())
        if outcome == "triage_error":
            raise TriageError("pod web not found")
        if outcome == "unexpected":
            raise ValueError("boom")
        return {"changed": False}

    assert gc.isenabled()
    result = _run(work, capsys)
    assert seen == [False]
    assert gc.isenabled()
    assert result.get("failed", False) is (outcome != "result")


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    try:
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
