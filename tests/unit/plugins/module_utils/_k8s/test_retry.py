# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from hypothesis import given, strategies as st
from kubernetes.client.exceptions import ApiException
from urllib3 import HTTPConnectionPool
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.retry import (
    backoff_delay,
    is_retryable,
    is_transient,
    retry_call,
)


def api_error(status, body_reason=None, headers=None):
    exc = ApiException(status=status, reason="x")
    exc.body = json.dumps({"kind": "Status", "reason": body_reason or "x", "code": status})
    exc.headers = headers
    return exc


class Flaky(object):
    """Raises the given errors in turn, then returns 'ok'."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


@pytest.mark.parametrize("status", [409, 429, 500, 502, 503, 504])
def test_retryable_statuses(status):
    assert is_retryable(api_error(status))


@pytest.mark.parametrize("status", [0, 400, 401, 403, 404, 410, 422, 501])
def test_not_retryable_statuses(status):
    assert not is_retryable(api_error(status))


def test_connection_resets_are_retryable_but_refused_is_not():
    pool = HTTPConnectionPool("127.0.0.1", 6443)
    reset = ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
    assert is_retryable(ConnectionResetError(104, "reset"))
    assert is_retryable(reset)
    assert is_retryable(MaxRetryError(pool, "/", reset))
    refused = NewConnectionError(pool, "Connection refused")
    assert not is_retryable(MaxRetryError(pool, "/", refused))
    assert not is_retryable(ValueError("nope"))


def test_already_exists_and_transient():
    assert not is_retryable(api_error(409, "AlreadyExists"))
    assert not is_transient(api_error(409, "Conflict"))
    assert is_transient(api_error(503))


def test_retries_then_succeeds_passing_arguments():
    fn, sleeps = Flaky(api_error(503), api_error(500)), Sleeps()
    assert retry_call(fn, "a", namespace="shop", sleep=sleeps) == "ok"
    assert fn.calls == [(("a",), {"namespace": "shop"})] * 3
    assert len(sleeps) == 2 and all(0 < s <= 5.0 for s in sleeps)


def test_gives_up_after_attempts_and_reraises_the_last_error():
    errors = [api_error(503) for attempt in range(3)]
    fn, sleeps = Flaky(*errors), Sleeps()
    with pytest.raises(ApiException) as info:
        retry_call(fn, attempts=3, sleep=sleeps)
    assert info.value is errors[-1]
    assert len(fn.calls) == 3 and len(sleeps) == 2


def test_non_retryable_is_raised_at_once():
    missing = api_error(404)
    fn, sleeps = Flaky(missing), Sleeps()
    with pytest.raises(ApiException) as info:
        retry_call(fn, sleep=sleeps)
    assert info.value is missing and len(fn.calls) == 1 and sleeps == []


def test_retry_on_override_excludes_conflict():
    fn, sleeps = Flaky(api_error(409, "Conflict")), Sleeps()
    with pytest.raises(ApiException):
        retry_call(fn, retry_on=is_transient, sleep=sleeps)
    assert sleeps == []


def test_retry_after_is_honoured_and_capped():
    fn, sleeps = Flaky(api_error(429, headers={"Retry-After": "2"}),
                       api_error(429, headers={"retry-after": "120"})), Sleeps()
    assert retry_call(fn, sleep=sleeps, max_delay=5.0) == "ok"
    assert sleeps == [2.0, 5.0]


def test_single_attempt_never_sleeps():
    fn, sleeps = Flaky(api_error(503)), Sleeps()
    with pytest.raises(ApiException):
        retry_call(fn, attempts=1, sleep=sleeps)
    assert sleeps == []


def test_total_sleep_is_bounded():
    fn, sleeps = Flaky(*[api_error(503) for attempt in range(10)]), Sleeps()
    with pytest.raises(ApiException):
        retry_call(fn, attempts=10, base_delay=0.2, max_delay=1.0, sleep=sleeps)
    assert len(sleeps) == 9 and max(sleeps) <= 1.0 and sum(sleeps) <= 9.0


@given(attempt=st.integers(min_value=0, max_value=60), base=st.floats(min_value=0.001, max_value=2.0),
       cap=st.floats(min_value=0.01, max_value=30.0), rand=st.floats(min_value=0.0, max_value=1.0))
def test_backoff_delay_is_bounded_and_never_zero(attempt, base, cap, rand):
    delay = backoff_delay(attempt, base, cap, rand=lambda: rand)
    ceiling = min(cap, base * 2 ** attempt)
    assert ceiling / 2.0 - 1e-9 <= delay <= cap + 1e-9
    assert delay > 0


@pytest.mark.parametrize("status, reason, retryable, transient", [
    (409, "Conflict", True, False),
    (409, "AlreadyExists", False, False),
    (429, "TooManyRequests", True, True),
    (503, "ServiceUnavailable", True, True),
    (403, "Forbidden", False, False),
    (404, "NotFound", False, False),
    (None, "", False, False),  # a network error already phrased by the Kube layer
])
def test_errors_from_the_kube_layer_are_classified_by_their_status(status, reason, retryable, transient):
    # Kube translates every ApiException into a TriageError carrying the status.
    exc = TriageError("translated", {"status": status, "reason": reason})
    assert is_retryable(exc) is retryable
    assert is_transient(exc) is transient
