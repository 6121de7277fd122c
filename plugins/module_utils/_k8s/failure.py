# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TriageError, the one exception a module reports, and the wording every translation shares:
scrub() for credentials inside a message, and how an object and a cluster are named in one.

errors.py (API responses) and network.py (connections, TLS, proxies) build on this; import
TriageError and scrub from errors.py as before.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re


class TriageError(Exception):
    """A failure already phrased for the user; `details` become extra fail_json keys."""

    def __init__(self, msg, details=None):
        super(TriageError, self).__init__(msg)
        self.msg = msg
        self.details = dict(details or {})

    def __str__(self):
        return self.msg


# Credentials that might appear inside a server or library message.
_SECRET_PATTERNS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 <redacted>"),
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\",}\s]+(\s+[^'\",}\s]+)?"),
     r"\1<redacted>"),
)


def scrub(text):
    """Remove anything that looks like a bearer/basic credential from `text`."""
    text = "" if text is None else str(text)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def singular(resource):
    base = (resource or "object").split("/")[0]
    if base.endswith("ies"):
        return base[:-3] + "y"
    if base.endswith("sses") or base.endswith("xes"):
        return base[:-2]
    if base.endswith("s") and not base.endswith("ss"):
        return base[:-1]
    return base


def in_namespace(namespace):
    return ' in namespace "%s"' % namespace if namespace else ""


def object_phrase(resource, name, namespace):
    """`pod "web-1" in namespace "shop"`, or `pods in namespace "shop"` for a list."""
    if name:
        return '%s "%s"%s' % (singular(resource), name, in_namespace(namespace))
    return "%s%s" % (resource or "objects", in_namespace(namespace))


def named_apart(resource, name, namespace):
    """`pod "web-1"` plus `in namespace "shop"` separately, for "not found in ..." phrasing."""
    if not name:
        return object_phrase(resource, None, namespace), ""
    return '%s "%s"' % (singular(resource), name), in_namespace(namespace)


def on_target(target):
    return " on %s" % target if target else ""
