# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _k8s/timeutil.py: durations and RFC 3339 timestamps."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339, parse_duration, parse_rfc3339


@pytest.mark.parametrize("text, seconds", [
    ("30m", 1800), ("24h", 86400), ("7d", 604800), ("1h30m", 5400), ("90s", 90), ("2w", 1209600),
    ("3600", 3600), (3600, 3600), (" 30m ", 1800), ("1w2d3h4m5s", 788645), ("0h5m", 300),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "0s", "0h0m", "-5", "-5m", "1.5h", "abc", "30x", "1m1h", "5 m", "1H", "m", "²",
                                  "9999999999w", None, True, 0, -1, 1.5])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert "e.g." in str(info.value) or "100 years" in str(info.value)


def test_format_rfc3339():
    utc = timezone.utc
    assert format_rfc3339(datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=utc)) == "2026-01-02T03:04:05Z"
    assert format_rfc3339(datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))) == "2026-01-02T03:04:05Z"
    assert format_rfc3339(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"  # naive is UTC
    assert format_rfc3339(datetime(999, 1, 2, 3, 4, 5, tzinfo=utc)) == "0999-01-02T03:04:05Z"
    with pytest.raises(ValueError):
        format_rfc3339("2026-01-02")


@pytest.mark.parametrize("text", ["2026-01-02T03:04:05Z", "2026-01-02t03:04:05z", "2026-01-02T05:04:05+02:00",
                                  "2026-01-01T23:34:05-03:30", "2026-01-02T03:04:05.000Z", " 2026-01-02T03:04:05Z "])
def test_parse_rfc3339(text):
    assert parse_rfc3339(text) == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert parse_rfc3339(text).utcoffset() == timedelta(0)


def test_parse_rfc3339_fraction_truncated_to_microseconds():
    assert parse_rfc3339("2026-01-02T03:04:05.123456789Z").microsecond == 123456


@pytest.mark.parametrize("text", ["2026-01-02T03:04:05", "2026-01-02 03:04:05Z", "2026-13-01T00:00:00Z", "2026-01-02T03:04:60Z",
                                  "2026-01-02T03:04:05+24:00", "garbage", "", None, "0001-01-01T00:00:00+01:00"])
def test_parse_rfc3339_rejects(text):
    with pytest.raises(ValueError, match="2026-01-02T03:04:05Z"):
        parse_rfc3339(text)


@given(st.datetimes(timezones=st.just(timezone.utc)))
def test_rfc3339_round_trip(moment):
    text = format_rfc3339(moment)
    assert parse_rfc3339(text) == moment.replace(microsecond=0)
    assert format_rfc3339(parse_rfc3339(text)) == text
