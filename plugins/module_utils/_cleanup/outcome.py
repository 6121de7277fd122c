# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a failed DELETE did, told from its error and a re-read of the object. Pure.

A DELETE can fail after it was applied: the connection drops before the answer arrives, the API
server dies, or the API layer retried a request whose first answer was lost and the retry met
the result of the first (404, or 409 because the object is now terminating). Reporting such a
pod as failed hides a deletion, so cleanup reads the object again and decides here:

    deleted   gone, terminating or replaced after this run's DELETE: it landed (changed)
    gone      deleted or being deleted by someone else before this run's DELETE
    changed   a 409 on an object still there: read and decide again (pods) or leave it
    failed    still there, unchanged: the DELETE really failed (the error says why)
    unknown   the re-read failed too: it may or may not be deleted (possibly changed)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

NOT_READ = "not read"  # after_failed_delete's `current` when no re-read was made


def must_reread(status, attempts=None):
    """Whether the DELETE may have landed (or met a change), so that only a re-read can tell.

    status: the HTTP status of the final error (None: no answer at all); attempts: how many
    requests the API layer sent (None when it did not say). A 4xx refusal of the one request
    sent changed nothing; a 404 answers the question by itself."""
    if status == 404:
        return False
    if status is None or status >= 500 or status == 409:
        return True
    if status == 429:  # every answer may not have been a 429: the layer does not always say
        return attempts is None or attempts > 1
    return (attempts or 1) > 1


def _retried(attempts):
    return None if attempts is None else attempts > 1


def _after_this_run(attempts, found, someone_else):
    """A 404, or a 409 on a terminating/replaced object: whose delete was it?"""
    retried = _retried(attempts)
    if retried:
        return "deleted", ("deleted by this run: the answer to its DELETE was lost, and the retry found it %s" % found)
    if retried is None:
        return "deleted", ("%s after this run's DELETE: deleted by this run if an earlier answer was lost, "
                           "else by someone else just before" % found)
    return "gone", someone_else


def after_failed_delete(uid, status, attempts, error, current=NOT_READ, reread_error=None):
    """(outcome, text) for a DELETE of the object with this uid that raised `error` (a message).

    current: the object as read again (None: not found), or NOT_READ; reread_error: the message
    of a failed re-read. `text` is the why (deleted, gone) or the error (failed, unknown)."""
    if status == 404:
        return _after_this_run(attempts, "gone", "already gone: deleted by someone else since it was listed")
    if reread_error is not None:
        return "unknown", ("its DELETE failed (%s) and reading it again failed too (%s): it may or may not be "
                           "deleted; the next run will tell" % (error, reread_error))
    if current is NOT_READ:
        return "failed", error
    if current is None or (current.get("metadata") or {}).get("uid") != uid:
        found = "gone" if current is None else "replaced by a new object of the same name (uid %s)" % (
            (current.get("metadata") or {}).get("uid"))
        if status == 409:
            return _after_this_run(attempts, found, "already %s: deleted by someone else since it was listed" % found)
        return "deleted", "deleted: the answer to its DELETE was lost (%s), and reading it again found it %s" % (
            error, found)
    if (current.get("metadata") or {}).get("deletionTimestamp"):
        if status == 409:
            return _after_this_run(attempts, "terminating", "already being deleted by someone else (since %s)"
                                   % current["metadata"]["deletionTimestamp"])
        return "deleted", ("being deleted: the answer to its DELETE was lost (%s), and reading it again found it "
                           "terminating" % error)
    if status == 409:
        return "changed", "changed since it was listed"
    return "failed", "%s (read again: still there, not deleted)" % error
