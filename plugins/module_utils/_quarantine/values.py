# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The label values a quarantine writes: a deterministic value that differs from the original
(`quarantined-<original>`, trimmed to a valid label value), and the check of the prefix. Pure;
plan.py decides which keys get one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import LABEL_VALUE_MAX, validate_label_value


DEFAULT_QUARANTINE_PREFIX = "quarantined-"
_VALUE_CHARS_RE = re.compile(r"[-A-Za-z0-9_.]*")
_NON_ALNUM_EDGES_RE = re.compile(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$")


def _trim_to_label_value(text):
    """Cut to the length limit and drop the non-alphanumeric ends Kubernetes rejects."""
    return _NON_ALNUM_EDGES_RE.sub("", text[:LABEL_VALUE_MAX])


def validate_quarantine_prefix(prefix):
    """None when prefix can produce label values: without trailing separators it must be a valid non-empty value."""
    if not isinstance(prefix, str) or not _VALUE_CHARS_RE.fullmatch(prefix):
        return "quarantine prefix %r is invalid: use only letters, digits, '-', '_' and '.', e.g. 'quarantined-'" % (prefix,)
    core = prefix.rstrip("-_.")
    if not core or not core[0].isalnum() or len(core) > LABEL_VALUE_MAX:
        return (
            "quarantine prefix %r is invalid: it must start with a letter or digit and be at most %d characters "
            "before its trailing separator, e.g. 'quarantined-'" % (prefix, LABEL_VALUE_MAX)
        )
    return None


def quarantine_value(original, prefix=DEFAULT_QUARANTINE_PREFIX):
    """A deterministic valid label value that differs from original: prefix + original, trimmed.

    An empty or absent original gives the prefix without its trailing separator ('quarantined').
    Raises ValueError for a prefix that cannot produce a valid value.
    """
    error = validate_quarantine_prefix(prefix)
    if error:
        raise ValueError(error)
    if original is not None and not isinstance(original, str):
        raise ValueError("label value %r is not a string" % (original,))
    core = _trim_to_label_value(prefix)
    candidates = [_trim_to_label_value(prefix + original)] if original else []
    # Fallbacks for originals that trimming cannot tell apart (a 63-character value made of
    # repeated prefixes) or that are not valid values themselves; core and its variant differ,
    # so one of them always differs from original.
    candidates.append(core)
    candidates.append(core[:-1] + ("1" if core.endswith("0") else "0"))
    for candidate in candidates:
        if candidate and candidate != original and validate_label_value(candidate) is None:
            return candidate
    raise AssertionError("unreachable: no quarantine value for %r" % (original,))  # pragma: no cover
