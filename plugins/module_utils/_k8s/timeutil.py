# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Durations (quarantine ttl) and RFC 3339 timestamps (the expires-at annotation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from datetime import datetime, timedelta, timezone

# Far beyond any sensible ttl, but keeps now + ttl inside what datetime can represent.
MAX_DURATION_SECONDS = 100 * 366 * 86400

_UNIT_SECONDS = (604800, 86400, 3600, 60, 1)  # w, d, h, m, s: the group order of _DURATION_RE
_DURATION_RE = re.compile(r"(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")
_DURATION_HINT = (
    "use a positive whole number of seconds (e.g. 3600) or amounts with units w, d, h, m, s "
    "written largest first (e.g. 30m, 24h, 7d, 1h30m, 2w)"
)

_RFC3339_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
_RFC3339_HINT = "expected an RFC 3339 timestamp such as 2026-01-02T03:04:05Z or 2026-01-02T05:04:05+02:00"


def parse_duration(text):
    """Seconds (int) in a duration like '30m', '24h', '7d', '1h30m', '90s', '2w' or '3600'."""
    if isinstance(text, bool) or not isinstance(text, (int, str)):
        raise ValueError("invalid duration %r: %s" % (text, _DURATION_HINT))
    if isinstance(text, int):
        seconds = text
    else:
        stripped = text.strip()
        match = _DURATION_RE.fullmatch(stripped)
        if re.fullmatch(r"[0-9]+", stripped):
            seconds = int(stripped)
        elif stripped and match:
            seconds = sum(int(amount) * unit for amount, unit in zip(match.groups(), _UNIT_SECONDS) if amount)
        else:
            raise ValueError("invalid duration %r: %s" % (text, _DURATION_HINT))
    if seconds <= 0:
        raise ValueError("invalid duration %r: it must be greater than zero; %s" % (text, _DURATION_HINT))
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError("invalid duration %r: it must be at most 100 years (%d seconds)" % (text, MAX_DURATION_SECONDS))
    return seconds


def format_rfc3339(moment):
    """'2026-01-02T03:04:05Z': UTC, whole seconds. A naive datetime is taken to be UTC already."""
    if not isinstance(moment, datetime):
        raise ValueError("expected a datetime, got %r" % (moment,))
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        moment = moment.astimezone(timezone.utc)
    # Explicit zero padding: strftime('%Y') does not pad years before 1000 on every platform.
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)


def parse_rfc3339(text):
    """An aware UTC datetime from an RFC 3339 timestamp with 'Z' or a numeric offset.

    Fractions beyond microseconds are truncated; leap seconds (:60) are rejected.
    """
    match = _RFC3339_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError("invalid timestamp %r: %s" % (text, _RFC3339_HINT))
    year, month, day, hour, minute, second, fraction, zulu, sign, offset_hours, offset_minutes = match.groups()
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        if zulu:
            zone = timezone.utc
        else:
            offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes))
            if int(offset_hours) > 23 or int(offset_minutes) > 59:
                raise ValueError("offset %s%s:%s is out of range" % (sign, offset_hours, offset_minutes))
            zone = timezone(-offset if sign == "-" else offset)
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), microsecond, tzinfo=zone)
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise ValueError("invalid timestamp %r: %s; %s" % (text, exc, _RFC3339_HINT))
