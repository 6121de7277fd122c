# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an upload wrote, said truthfully: pod_evidence's `remote` and evidence_upload's result
and message. Pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError

UPLOADED, PRESENT, WOULD_UPLOAD = "uploaded", "present", "would_upload"
UNVERIFIED = "uploaded_unverified"  # written, not read back (_s3/transfer.py)
WRITTEN = (UPLOADED, UNVERIFIED)


def _count(objects, status):
    return sum(1 for o in objects or [] if o.get("status") == status)


def remote_verified(url, objects, record):
    """pod_evidence's `remote` after every object was read back and the bundle verified."""
    return {"url": url, "verified": True, "objects": objects, "error": None, "record": record}


def remote_failed(url, objects, exc):
    """pod_evidence's `remote` when the upload or its verification failed (exc, a TriageError)."""
    return {"url": url, "verified": False, "objects": objects, "error": exc.msg,
            "error_type": exc.details.get("error_type")}


def remote_phrase(remote, wanted):
    """(written, not written) phrases of the remote copy for the `Written: ... Not written: ...` message."""
    if not wanted:
        return None, None
    if not remote:
        return None, "the remote copy (no upload was attempted)"
    uploaded, unverified = _count(remote.get("objects"), UPLOADED), _count(remote.get("objects"), UNVERIFIED)
    if remote.get("verified"):
        return "the remote copy at %s (%d objects, verified)" % (remote["url"], len(remote["objects"])), None
    done = ""
    if uploaded:
        done = "; %d objects of it were uploaded and read back, but the bundle is not verified" % uploaded
    if unverified:
        done += "; %d objects of it were uploaded but not read back" % unverified
    return None, "the remote copy at %s (%s%s)" % (remote["url"], remote.get("error") or "not verified", done)


def remote_changed(remote):
    """Whether any object of the remote copy was written (read back or not)."""
    return any(o.get("status") in WRITTEN for o in (remote or {}).get("objects") or [])


def upload_failed(remote, result):
    """The TriageError when the bundle is kept locally but its remote copy is not verified."""
    return TriageError("the bundle was not stored remotely; the local bundle is kept and the "
                       "pod annotation, if written, names no remote copy", dict(result, changed=True))


def _some(keys):
    return "%s%s" % (", ".join(keys[:3]), ", ..." if len(keys) > 3 else "")


def duplicate_keys(objects):
    """The first key two planned objects share, else None."""
    seen = set()
    for obj in objects:
        if obj["key"] in seen:
            return obj["key"]
        seen.add(obj["key"])
    return None


def upload_result(url, objects, results, error, check_mode):
    """evidence_upload's result, or the TriageError after error (with the objects done so far)."""
    uploaded = [r for r in results if r["status"] == UPLOADED]
    unverified = [r["key"] for r in results if r["status"] == UNVERIFIED]
    present = [r for r in results if r["status"] == PRESENT]
    would = [r for r in results if r["status"] == WOULD_UPLOAD]
    result = {"url": url, "objects": results, "changed": bool(uploaded or unverified or would),
              "verified": error is None and not check_mode}
    if error is not None:
        left = [o["key"] for o in objects[len(results):]]
        written = []
        if uploaded:
            written.append("%d objects under %s, read back and verified" % (len(uploaded), url))
        if unverified:
            written.append("%d objects under %s, uploaded but not read back (%s)" % (len(unverified), url, _some(unverified)))
        msg = "%s Written: %s. Not written: %s." % (
            error.msg.rstrip(".") + ".", "; ".join(written) or "nothing",
            "%d objects (%s)" % (len(left), _some(left)) if left else "nothing more")
        return_error = TriageError(msg, dict(error.details, **result))
        return_error.details["verified"] = False
        raise return_error
    if check_mode:
        result["msg"] = "check mode: nothing was uploaded; %d objects would be uploaded to %s, %d are there already" % (
            len(would), url, len(present))
    else:
        result["msg"] = "%d objects uploaded to %s and %d already there; every one read back and verified" % (
            len(uploaded), url, len(present))
    return result
