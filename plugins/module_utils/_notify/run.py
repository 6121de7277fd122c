# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that talks to a webhook: POST the payload with ansible.module_utils.urls,
retrying as message.retry_delay decides, and say what happened without ever naming the URL
(an incoming webhook's URL is its secret: only scheme, host and port are ever shown)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import time

from urllib.error import HTTPError
from urllib.parse import urlsplit

from ansible.module_utils.urls import open_url

from ansible_collections.triage.k8s.plugins.module_utils._notify.message import (
    encode,
    failure_hint,
    retry_delay,
    text_of,
    webhook_name,
)

USER_AGENT = "triage.k8s-notify/1"
# How much of an error answer's body is kept for the message (Slack answers "no_service",
# "invalid_payload", "channel_is_archived" ...).
_DETAIL_BYTES = 300


def scrub(text, url):
    """text with the URL, and its path, replaced by the webhook's name."""
    text = text_of(text) or u""
    if not url:
        return text
    name = webhook_name(url)
    text = text.replace(url, name)
    try:
        parts = urlsplit(url)
    except ValueError:
        return text
    secret = parts.path + (u"?" + parts.query if parts.query else u"")
    if len(secret) > 1:
        text = text.replace(secret, u"/...")
    if parts.password:
        text = text.replace(parts.password, u"********")
    return text


def _header(headers, name):
    try:
        for key in headers or {}:
            if str(key).lower() == name.lower():
                return headers[key]
    except (TypeError, AttributeError):
        pass
    return None


def _detail(error):
    try:
        body = error.read(_DETAIL_BYTES)
    except Exception:  # the answer may be gone already
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    body = u" ".join((body or u"").split())
    return body or None


def _reason(error):
    """What went wrong when there was no HTTP answer, in words: (text, maybe_arrived, worth_retrying)."""
    reason = getattr(error, "reason", None) or error
    timed_out = isinstance(reason, (socket.timeout,)) or "timed out" in str(reason).lower()
    if timed_out:
        return "no answer within the timeout (the message may have arrived)", True, True
    text = str(reason)
    lower = text.lower()
    if "certificate" in lower or "ssl" in lower:
        # A certificate does not get better by asking again.
        return ("TLS failed (%s): set ca_path to the CA that signed the receiver's certificate "
                "(or validate_certs=false for a test receiver)" % text), False, False
    if "refused" in lower:
        return "connection refused: nothing listens there", False, True
    if "name or service not known" in lower or "nodename nor servname" in lower or "getaddrinfo" in lower \
            or "temporary failure in name resolution" in lower:
        return "the host name does not resolve (%s)" % text, False, True
    return text or type(error).__name__, False, True


def post_once(url, body, headers, timeout, validate_certs, ca_path):
    """One POST: (status, retry_after, detail, error_text, maybe_arrived, worth_retrying); status None = no answer."""
    try:
        response = open_url(url, data=body, headers=headers, method="POST", timeout=timeout,
                            validate_certs=validate_certs, ca_path=ca_path, follow_redirects="none",
                            http_agent=USER_AGENT)
        status = response.getcode()
        try:
            response.read(_DETAIL_BYTES)
        except Exception:  # the message was taken: what the answer's body says does not matter
            pass
        return status, None, None, None, False, False
    except HTTPError as error:
        return error.code, _header(error.headers, "Retry-After"), _detail(error), None, False, True
    except Exception as error:  # URLError, timeouts, resets, ansible's ConnectionError / SSLValidationError
        text, maybe, again = _reason(error)
        return None, None, None, text, maybe, again


def deliver(url, payload, headers=None, timeout=10, validate_certs=True, ca_path=None, retries=3,
            max_delay=30.0, sleep=time.sleep):
    """POST payload as JSON to url, with retries. Returns a dict:

    sent (a 2xx answer came), delivery (sent, failed, or unknown when an attempt timed out and
    none succeeded: the message may have arrived), status (the last HTTP status, None without
    an answer), attempts, history ([{attempt, status, error, waited}]), msg, warnings.
    """
    body = encode(payload)
    all_headers = {"Content-Type": "application/json; charset=utf-8"}
    all_headers.update(dict((str(k), str(v)) for k, v in (headers or {}).items()))
    name = webhook_name(url)
    history = []
    warnings = []
    maybe_arrived = False
    attempt = 0
    while True:
        attempt += 1
        status, retry_after, detail, error, maybe, again = post_once(url, body, all_headers, timeout, validate_certs,
                                                                     ca_path)
        maybe_arrived = maybe_arrived or maybe
        entry = {"attempt": attempt, "status": status, "error": scrub(error or detail, url) or None, "waited": 0.0}
        history.append(entry)
        if status is not None and 200 <= status <= 299:
            if maybe_arrived:
                warnings.append("an earlier attempt to %s timed out and may have arrived: the message may show "
                                "twice" % name)
            return {"sent": True, "delivery": "sent", "status": status, "attempts": attempt, "history": history,
                    "msg": "sent to %s (HTTP %d, attempt %d)" % (name, status, attempt), "warnings": warnings}
        delay = retry_delay(status, attempt, retries, retry_after, max_delay=max_delay) if again else None
        if delay is None:
            break
        entry["waited"] = delay
        sleep(delay)
    last = history[-1]
    if status is not None:
        what = "answered HTTP %d%s" % (status, " (%s)" % last["error"] if last["error"] else "")
    else:
        what = "could not be reached: %s" % last["error"]
    hint = failure_hint(status)
    if status is not None and not (status == 429 or 500 <= status <= 599):
        tried = "not retried (HTTP %d is not worth retrying)" % status
    elif not again:
        tried = "not retried"
    else:
        tried = "after %d attempt%s" % (attempt, "" if attempt == 1 else "s")
    delivery = "unknown" if maybe_arrived else "failed"
    msg = "notification not sent: %s %s, %s%s. Nothing else was changed." % (
        name, what, tried, ("; " + hint) if hint else "")
    if maybe_arrived:
        msg = "notification may not have been sent: %s %s, %s; an attempt timed out, so the message may still " \
              "have arrived. Nothing else was changed." % (name, what, tried)
    return {"sent": False, "delivery": delivery, "status": status, "attempts": attempt, "history": history,
            "msg": scrub(msg, url), "warnings": warnings}
