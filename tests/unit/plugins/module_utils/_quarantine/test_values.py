# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _quarantine/values.py: the label values a quarantine writes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import validate_label_value
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.values import quarantine_value

LONG = "a" * 63


@pytest.mark.parametrize("original, prefix, expected", [
    ("web", "quarantined-", "quarantined-web"),
    (None, "quarantined-", "quarantined"),
    ("", "quarantined-", "quarantined"),
    (LONG, "quarantined-", "quarantined-" + "a" * 51),
    # the cut at 63 would end on '-' / '.', which is stripped
    ("a" * 50 + "-" + "b" * 12, "quarantined-", "quarantined-" + "a" * 50),
    ("a" * 49 + ".." + "b" * 12, "quarantined-", "quarantined-" + "a" * 49),
    ("web", "q.", "q.web"),
    ("", "q.", "q"),
    ("web", "hold", "holdweb"),
    ("quarantined", "quarantined-", "quarantined-quarantined"),
    # trimming cannot tell this one apart from its quarantine value: fall back to the bare prefix
    ("quarantined-" * 5 + "qua", "quarantined-", "quarantined"),
    ("q", "q-", "q-q"),
    # original equals both the trimmed value and the bare prefix: the last fallback changes one character
    (LONG, LONG + "-", "a" * 62 + "0"),
    ("not valid!", "quarantined-", "quarantined"),
])
def test_quarantine_value(original, prefix, expected):
    value = quarantine_value(original, prefix)
    assert value == expected
    assert value != original and validate_label_value(value) is None and value


@pytest.mark.parametrize("prefix", ["", "-x", "a b", "---", "a" * 64 + "-", None, "é-"])
def test_quarantine_value_rejects_bad_prefix(prefix):
    with pytest.raises(ValueError, match="quarantine prefix"):
        quarantine_value("web", prefix)


_VALUE_CHARS = "abcXYZ019-_."
label_values = st.text(_VALUE_CHARS, max_size=63).filter(lambda text: validate_label_value(text) is None)
prefixes = st.text(_VALUE_CHARS, min_size=1, max_size=70).filter(lambda text: text[0].isalnum() and len(text.rstrip("-_.")) <= 63)


@settings(max_examples=300, deadline=None)
@given(label_values, prefixes)
def test_quarantine_value_property(original, prefix):
    value = quarantine_value(original, prefix)
    assert value and value != original and validate_label_value(value) is None
    assert value == quarantine_value(original, prefix)
