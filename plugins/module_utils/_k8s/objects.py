# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tolerant readers of API-shaped dicts (camelCase), shared by every feature: a field of the wrong
type reads as empty instead of raising, so one odd object never breaks a fleet-wide scan."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import datetime, timezone
from functools import lru_cache

from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import parse_rfc3339


def meta(obj):
    """The object's metadata, or {}."""
    return (obj or {}).get("metadata") or {}


def as_dict(value):
    return value if isinstance(value, dict) else {}


def as_list(value):
    return value if isinstance(value, list) else []


def as_str(value, default=None):
    return value if isinstance(value, str) else default


def as_int(value, default=0):
    """An int from an API integer field; anything else (None, bool, text) gives `default`."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default


@lru_cache(maxsize=4096)
def _parse_time(text):
    try:
        return parse_rfc3339(text)
    except ValueError:
        return None


def as_time(value):
    """An aware UTC datetime from an RFC 3339 string or a datetime; None when absent or malformed.

    Strings are parsed once (a fleet's pods share most timestamps); datetimes are immutable."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return _parse_time(value) if isinstance(value, str) else None


def one_line(text, limit=300):
    """Whitespace collapsed and cut to `limit` characters, for one-line explanations."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


def controller_ref(pod):
    """The ownerReference with controller: true, or None (a bare pod)."""
    for ref in meta(pod).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def pod_ready(pod):
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False
