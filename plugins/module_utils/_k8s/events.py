# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing a Kubernetes Event (events.k8s.io/v1) about a change already made. Never raises:
an Event is a record of the change, not part of it, so a refused or failed create becomes an
outcome with the error (and a warning for the result), never a failed module.

The manifest is _contract/events.py's (its name is derived from the object, reason and time),
so the create is safe to send again: a retried create that meets AlreadyExists was ours.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import socket

from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import resource_path
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError

KIND = "events.k8s.io/Event"
RESOURCE = "events.events.k8s.io"  # as RBAC names it: resource events in API group events.k8s.io
# An Event must not hold a change up: a short timeout, and the API layer's retries within it.
TIMEOUT = 15


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def host():
    try:
        return socket.gethostname()
    except OSError:
        return None


def write(kube, event):
    """Create the Event. Returns {written, name, namespace, reason, error}: error is None when
    written, else the translated failure (a Forbidden names the verb and the resource)."""
    meta = event.get("metadata") or {}
    namespace = meta.get("namespace")
    outcome = {"written": False, "name": meta.get("name"), "namespace": namespace, "reason": event.get("reason"),
               "error": None}
    try:
        kube.request("POST", resource_path(KIND, namespace), "create", RESOURCE, namespace, meta.get("name"),
                     body=event, timeout=TIMEOUT, idempotent=True)
    except TriageError as exc:
        if exc.details.get("reason") != "AlreadyExists":  # AlreadyExists: this very Event, sent before
            outcome["error"] = exc.msg
            return outcome
    except Exception as exc:  # an Event never fails the change, whatever went wrong
        outcome["error"] = "%s: %s" % (type(exc).__name__, exc)
        return outcome
    outcome["written"] = True
    return outcome


def not_written(event, outcome):
    """The warning for an Event that was not written."""
    regarding = event.get("regarding") or {}
    return ("the change was made, but no Kubernetes Event (reason %s) was recorded on %s %s/%s: %s"
            % (event.get("reason"), (regarding.get("kind") or "object").lower(), regarding.get("namespace"),
               regarding.get("name"), outcome["error"]))


def record(kube, event, warn=None):
    """write(), and warn(message) when the Event was not written. Returns the outcome."""
    outcome = write(kube, event)
    if not outcome["written"] and warn is not None:
        warn(not_written(event, outcome))
    return outcome
