# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hypothesis profiles for the unit tests.

`ci` (the default, what `make test` runs): the same examples on every run, so a red run can be
reproduced and a green one means the same on every machine; no deadline, because a loaded
machine is not a bug. `explore` (HYPOTHESIS_PROFILE=explore): new random examples each run and
ten times as many where a test does not set its own number; run it when changing code that
property tests cover, and add what it finds as an explicit example.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from hypothesis import settings

settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.register_profile("explore", deadline=None, max_examples=1000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
