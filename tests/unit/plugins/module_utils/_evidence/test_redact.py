# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _evidence/redact.py: text patterns, streaming by lines, the tally by shape."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact import (
    REDACTED,
    LineRedactor,
    Tally,
    compile_patterns,
    redact_bytes,
    redact_string,
    redact_text,
)

PATTERNS = compile_patterns()


@pytest.mark.parametrize("line,gone,kept", [
    ("Authorization: Bearer abcdef1234567890", "abcdef1234567890", "Authorization: Bearer"),
    ("connecting with password=s3cr3t! now", "s3cr3t!", "password="),
    ('{"api_key": "AIzaSyA-1234567"}', "AIzaSyA-1234567", '"api_key"'),
    ("key AKIAABCDEFGHIJKLMNOP used", "AKIAABCDEFGHIJKLMNOP", "key "),
    ("jwt eyJhbGciOi.eyJzdWIiOiIx.SflKxwRJSMeKKF2QT4", "eyJhbGciOi", "jwt "),
    ("postgres://app:pa55w0rd@db:5432/x", "pa55w0rd", "postgres://app:"),
])
def test_builtin_text_patterns(line, gone, kept):
    out = redact_text(line, PATTERNS)
    assert gone not in out and kept in out and REDACTED in out


def test_custom_pattern_with_secret_group():
    patterns = compile_patterns([r"sessionid=(?P<secret>[0-9a-f]+)"], builtin=False)
    assert redact_bytes(b"GET /?sessionid=deadbeef&x=1", patterns) == (b"GET /?sessionid=<redacted>&x=1", 1)
    assert redact_bytes(b"card 4111-1111", compile_patterns([r"\d{4}-\d{4}"], builtin=False))[0] == b"card <redacted>"


def test_invalid_pattern_is_named():
    with pytest.raises(ValueError, match=r"invalid redact_patterns expression '\(unclosed'"):
        compile_patterns(["(unclosed"])


def test_private_key_block_is_redacted_line_by_line():
    text = (b"before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n-----END RSA PRIVATE KEY-----\nafter\n")
    redactor = LineRedactor(PATTERNS)
    out = redactor.feed(text) + redactor.flush()
    assert b"MIIEow" not in out and b"AAAA" not in out
    assert out.startswith(b"before\n-----BEGIN RSA PRIVATE KEY-----\n") and out.endswith(b"-----END RSA PRIVATE KEY-----\nafter\n")


def test_long_line_is_cut_and_memory_stays_bounded():
    redactor = LineRedactor(PATTERNS, max_line=64)
    out = redactor.feed(b"x" * 100)
    assert out == b"x" * 100 and redactor.carry == b""
    assert redactor.feed(b"y" * 10) == b"" and redactor.carry == b"y" * 10


LINES = st.lists(st.sampled_from([b"plain text", b"password=hunter2", b"Bearer abcd3fghijkl", b"", b"token: x1",
                                  b"-----BEGIN PRIVATE KEY-----", b"-----END PRIVATE KEY-----", b"\xff\xfe bytes"]),
                 max_size=30)


@settings(max_examples=200, deadline=None)
@given(LINES, st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=10), st.booleans())
def test_output_does_not_depend_on_chunking(lines, cuts, trailing_newline):
    data = b"\n".join(lines) + (b"\n" if trailing_newline else b"")
    whole = LineRedactor(PATTERNS)
    expected = whole.feed(data) + whole.flush()
    chunked = LineRedactor(PATTERNS)
    out, pos, i = [], 0, 0
    while pos < len(data):
        size = cuts[i % len(cuts)]
        out.append(chunked.feed(data[pos:pos + size]))
        pos, i = pos + size, i + 1
    out.append(chunked.flush())
    assert b"".join(out) == expected
    assert b"hunter2" not in expected and b"abcd3fghijkl" not in expected
    assert chunked.count == whole.count


def test_tally_counts_by_shape():
    tally = Tally()
    text = "redis://:PW1234@r\nSECRET=abcdefgh\n-----BEGIN PRIVATE KEY-----\nAAAA\nBBBB\n-----END PRIVATE KEY-----\n"
    redact_string(text, PATTERNS, tally)
    assert tally.as_dict() == {"assignment": 1, "pem_private_key": 2, "url_credentials": 1}
