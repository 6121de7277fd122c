# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded, jittered exponential backoff for Kubernetes calls.

RetryPolicy is what the API layer (kube.Kube.request) applies to every call, where the HTTP
status is still visible: a 429 is retried for any verb (the server did not process it), and
honours Retry-After up to a cap; 500/502/503/504 and connection resets are retried only for
requests that are harmless to send twice (reads, merge patches, preconditioned deletes). A 409
is never retried here: a read-modify-write must read the object again and recompute its change.

retry_call() is the same backoff for a caller's own function (``retry_on=is_transient`` leaves
409 out).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time

try:
    from kubernetes.client.exceptions import ApiException
except ImportError:  # reported by client.require_kubernetes()
    ApiException = None

try:
    from urllib3.exceptions import ProtocolError
except ImportError:
    ProtocolError = None

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError, api_status, retry_after_seconds

RETRYABLE_STATUSES = frozenset([409, 429, 500, 502, 503, 504])


def _connection_reset(exc):
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
        return True
    if ProtocolError is not None and isinstance(exc, ProtocolError):
        return True
    # urllib3 wraps resets in MaxRetryError(reason=ProtocolError(...)) once its own retries end.
    reason = getattr(exc, "reason", None)
    return isinstance(reason, BaseException) and reason is not exc and _connection_reset(reason)


def is_retryable(exc):
    """True for 409, 429, 500, 502, 503, 504 and for connection resets / protocol errors.

    A 409 "AlreadyExists" is not retried: sending the same create again cannot succeed.
    Connection refused is not retried either: the cluster is down or the context is wrong.
    """
    if ApiException is not None and isinstance(exc, ApiException):
        if exc.status == 409 and api_status(exc).get("reason") == "AlreadyExists":
            return False
        return exc.status in RETRYABLE_STATUSES
    if isinstance(exc, TriageError):  # what the Kube layer raises: the status is in its details
        status = exc.details.get("status")
        if status == 409 and exc.details.get("reason") == "AlreadyExists":
            return False
        return status in RETRYABLE_STATUSES
    return _connection_reset(exc)


def is_transient(exc):
    """is_retryable without 409, for read-modify-write callers that re-read on conflict."""
    if ApiException is not None and isinstance(exc, ApiException) and exc.status == 409:
        return False
    if isinstance(exc, TriageError) and exc.details.get("status") == 409:
        return False
    return is_retryable(exc)


def backoff_delay(attempt, base_delay=0.2, max_delay=5.0, rand=random.random):
    """Delay before retry number `attempt` (0-based): exponential, capped, with jitter.

    Half the delay is fixed and half random, so parallel workers spread out but never
    retry immediately.
    """
    ceiling = min(max_delay, base_delay * (2 ** attempt))
    return min(max_delay, ceiling / 2.0 + rand() * ceiling / 2.0)


def retry_call(fn, *args, attempts=5, base_delay=0.2, max_delay=5.0, retry_on=is_retryable,
               sleep=time.sleep, **kwargs):
    """Call fn(*args, **kwargs); retry up to `attempts` calls in all while retry_on(exc).

    A 429 with Retry-After waits what the server asked for, capped at max_delay. When the
    last attempt fails, or an error is not retryable, that exception is re-raised unchanged.
    """
    attempts = max(1, int(attempts))
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if attempt + 1 >= attempts or not retry_on(exc):
                raise
            delay = backoff_delay(attempt, base_delay, max_delay)
            if ApiException is not None and isinstance(exc, ApiException) and exc.status == 429:
                asked = retry_after_seconds(exc)
                if asked is not None:
                    delay = min(max_delay, asked)
            sleep(delay)


def _status_of(exc):
    if ApiException is not None and isinstance(exc, ApiException):
        return exc.status
    if isinstance(exc, TriageError):
        return exc.details.get("status")
    return None


class RetryPolicy(object):
    """How the API layer retries: at most `attempts` calls, jittered backoff between them, and
    never past `deadline` seconds from the first call (a 3 a.m. run must end, not hang)."""

    def __init__(self, attempts=6, base_delay=0.2, max_delay=5.0, deadline=30.0, max_retry_after=10.0,
                 sleep=time.sleep, clock=time.monotonic):
        self.attempts = max(1, int(attempts))
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.deadline = deadline
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.clock = clock

    @staticmethod
    def transient(exc):
        return is_transient(exc)

    def delay(self, attempt):
        return backoff_delay(attempt, self.base_delay, self.max_delay)

    def retryable(self, exc, idempotent):
        if _status_of(exc) == 429:
            return True
        return bool(idempotent) and is_transient(exc)

    def wait_for(self, exc, attempt):
        """Seconds to wait before the next attempt after exc."""
        if _status_of(exc) == 429:
            asked = retry_after_seconds(exc)
            if asked is not None:
                # Retry-After: 0 would make every throttled client come back at once.
                return min(self.max_retry_after, max(asked, self.delay(attempt)))
        return self.delay(attempt)

    def call(self, fn, idempotent, *args, **kwargs):
        """fn(*args, **kwargs), retried while retryable; the last error is raised unchanged."""
        give_up_at = self.clock() + self.deadline
        for attempt in range(self.attempts):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                # How many requests were sent: a 404 on a retried DELETE may be this run's own delete.
                exc.triage_attempts = attempt + 1
                if attempt + 1 >= self.attempts or not self.retryable(exc, idempotent):
                    raise
                pause = self.wait_for(exc, attempt)
                if self.clock() + pause > give_up_at:
                    raise
                self.sleep(pause)
        raise AssertionError("not reached")  # pragma: no cover
