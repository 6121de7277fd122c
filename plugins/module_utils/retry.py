# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded, jittered exponential backoff for idempotent Kubernetes calls.

retry_call() is for calls that are safe to send again unchanged: reads, deletes, and
patches that do not depend on what was read before. A read-modify-write must handle 409
itself by reading the object again and recomputing the change (resending a stale body
only conflicts again); such callers pass ``retry_on=is_transient``, which leaves 409 out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time
from email.utils import parsedate_to_datetime

try:
    from kubernetes.client.exceptions import ApiException
except ImportError:  # reported by client.require_kubernetes()
    ApiException = None

try:
    from urllib3.exceptions import ProtocolError
except ImportError:
    ProtocolError = None

from ansible_collections.triage.k8s.plugins.module_utils.errors import api_status

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
    return _connection_reset(exc)


def is_transient(exc):
    """is_retryable without 409, for read-modify-write callers that re-read on conflict."""
    if ApiException is not None and isinstance(exc, ApiException) and exc.status == 409:
        return False
    return is_retryable(exc)


def retry_after_seconds(exc):
    """Seconds the server asked us to wait (Retry-After header or Status details), or None."""
    value = None
    headers = getattr(exc, "headers", None) or {}
    try:
        for key in headers:
            if str(key).lower() == "retry-after":
                value = headers[key]
                break
    except TypeError:
        pass
    if value is None:
        value = (api_status(exc).get("details") or {}).get("retryAfterSeconds")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:  # Retry-After may also be an HTTP date
        when = parsedate_to_datetime(str(value))
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


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
