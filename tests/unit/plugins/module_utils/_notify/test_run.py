# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the pure helpers of _notify/run.py: the URL never survives in a message. The POST
itself is tested against a real local receiver (tests/integration/test_notify.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

from ansible_collections.triage.k8s.plugins.module_utils._notify.run import _reason, scrub

URL = "https://user:p4ss@hooks.slack.com/services/T000/B000/XXXXSECRET?token=abc"


def test_scrub_replaces_the_url_its_path_and_its_password():
    text = "POST %s failed; path /services/T000/B000/XXXXSECRET?token=abc; auth p4ss" % URL
    out = scrub(text, URL)
    assert "XXXXSECRET" not in out and "p4ss" not in out and "token=abc" not in out
    assert "the webhook (https://hooks.slack.com/...)" in out


def test_scrub_leaves_a_bare_slash_alone():
    assert scrub("a/b/c", "http://127.0.0.1:8080/") == "a/b/c"
    assert scrub("nothing here", "") == "nothing here"
    assert scrub(None, URL) == ""


def test_reasons_without_an_answer():
    assert _reason(socket.timeout("timed out")) == ("no answer within the timeout (the message may have arrived)", True,
                                                    True)
    assert _reason(ConnectionRefusedError(111, "Connection refused")) == (
        "connection refused: nothing listens there", False, True)
    text, maybe, again = _reason(OSError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"))
    assert "set ca_path" in text and maybe is False and again is False  # a certificate does not get better
    text, maybe, again = _reason(OSError("[Errno -2] Name or service not known"))
    assert text.startswith("the host name does not resolve") and again is True
