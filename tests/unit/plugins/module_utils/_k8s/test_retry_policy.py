# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""RetryPolicy, the API layer's retry: which failures are sent again, how long it waits, and that
it never runs past its deadline. The failures are the client library's own exception types."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from ansible_collections.triage.k8s.plugins.module_utils._k8s.retry import RetryPolicy


def api_error(status, reason="", retry_after=None):
    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps({"kind": "Status", "code": status, "reason": reason})
    exc.headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return exc


class Clock(object):
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds

    def __call__(self):
        return self.now


def failing(*errors, result="ok"):
    calls = []

    def fn():
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result
    return fn, calls


def policy(clock, **kwargs):
    return RetryPolicy(sleep=clock.sleep, clock=clock, **kwargs)


def test_429_is_retried_for_any_verb_and_honours_retry_after():
    clock = Clock()
    fn, calls = failing(api_error(429, "TooManyRequests", retry_after=3))
    assert policy(clock).call(fn, False) == "ok"
    assert len(calls) == 2 and clock.slept == [3.0]


def test_retry_after_is_capped():
    clock = Clock()
    fn, _calls = failing(api_error(429, retry_after=3600))
    policy(clock, max_retry_after=10).call(fn, True)
    assert clock.slept == [10]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_only_when_idempotent(status):
    clock = Clock()
    fn, calls = failing(api_error(status))
    assert policy(clock).call(fn, True) == "ok"
    fn, calls = failing(api_error(status))
    with pytest.raises(ApiException):
        policy(clock).call(fn, False)
    assert len(calls) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_and_conflicts_are_not_retried(status):
    fn, calls = failing(api_error(status))
    with pytest.raises(ApiException) as caught:
        policy(Clock()).call(fn, True)
    assert len(calls) == 1 and caught.value.triage_attempts == 1


def test_a_reset_is_retried_but_a_refused_connection_is_not():
    reset = MaxRetryError(None, "/api", ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))
    fn, calls = failing(reset, ConnectionResetError(104, "reset"))
    assert policy(Clock()).call(fn, True) == "ok" and len(calls) == 3
    refused = MaxRetryError(None, "/api", NewConnectionError(None, "Connection refused"))
    fn, calls = failing(refused)
    with pytest.raises(MaxRetryError):
        policy(Clock()).call(fn, True)
    assert len(calls) == 1


def test_attempts_and_deadline_bound_the_retries():
    clock = Clock()
    fn, calls = failing(*[api_error(503)] * 10)
    with pytest.raises(ApiException) as caught:
        policy(clock, attempts=4).call(fn, True)
    assert len(calls) == 4 and caught.value.triage_attempts == 4
    clock = Clock()
    fn, calls = failing(*[api_error(429, retry_after=8)] * 10)
    with pytest.raises(ApiException):
        policy(clock, deadline=20, max_retry_after=10).call(fn, True)
    assert clock.now <= 20 and len(calls) == 3
