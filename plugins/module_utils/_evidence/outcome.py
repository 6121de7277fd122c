# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an evidence run wrote, said truthfully also when it fails: the bundle (or its .partial)
and the archive as found on disk, the triage.k8s/evidence annotation as the API server has it.

The annotation's decisions are here, pure; run_annotate.py does the reads and the PATCH:
- the pod as read again decides (annotation_step): gone or replaced, already annotated by an
  earlier attempt of this run, no longer quarantined, or a merge patch guarded by resourceVersion;
- a 409 means the pod changed: read it again (retry_patch), at most ANNOTATE_ATTEMPTS times;
- another failed PATCH is judged by a fresh read (landed, patch_failed): written, not written
  (the server refused it, or the connection was refused), or unknown.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import ANN_EVIDENCE
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._evidence.bundle import ARCHIVE_SUFFIX, MANIFEST
from ansible_collections.triage.k8s.plugins.module_utils._evidence.plan import failed_and_skipped
from ansible_collections.triage.k8s.plugins.module_utils._evidence.upload_outcome import remote_changed, remote_phrase
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import is_quarantined

ANNOTATE_ATTEMPTS = 5
GONE = "the pod is gone (deleted or replaced by one of the same name)"
NOT_QUARANTINED = "the pod is not quarantined: only quarantined pods are annotated"


def on_disk(bundle):
    """{bundle, bundle_name, partial, complete, manifest_sha256, archive} as the disk has them now."""
    facts = {"bundle": None, "bundle_name": None, "partial": None, "complete": False, "manifest_sha256": None,
             "archive": None}
    manifest = os.path.join(bundle.final, MANIFEST)
    if os.path.isfile(manifest):
        facts.update(bundle=bundle.final, bundle_name=os.path.basename(bundle.final))
        try:
            with open(manifest, "rb") as handle:
                data = handle.read()
            facts.update(complete=bool(json.loads(data).get("complete")),
                         manifest_sha256=hashlib.sha256(data).hexdigest())
        except (OSError, ValueError):
            facts["complete"] = None  # there, but unreadable: say so rather than guess
    elif os.path.isdir(bundle.partial):
        facts["partial"] = bundle.partial
    if os.path.isfile(bundle.final + ARCHIVE_SUFFIX):
        facts["archive"] = bundle.final + ARCHIVE_SUFFIX
    return facts


def summary(facts, archive_wanted, annotation, remote=None, remote_wanted=False):
    """`Written: ... Not written: ...` for the message of any outcome; remote is the result's
    `remote` (upload_outcome), remote_wanted whether the storage option asked for one."""
    written, missing = [], []
    if facts.get("bundle"):
        written.append("the bundle %s (manifest.json: complete=%s)" % (facts["bundle"], facts.get("complete")))
    elif facts.get("partial"):
        written.append("the incomplete %s (no manifest.json)" % facts["partial"])
        missing.append("a finished bundle")
    else:
        missing.append("any bundle")
    if archive_wanted:
        (written if facts.get("archive") else missing).append(
            "the archive %s" % facts["archive"] if facts.get("archive") else "the archive")
    stored, not_stored = remote_phrase(remote, remote_wanted)
    if stored:
        written.append(stored)
    if not_stored:
        missing.append(not_stored)
    unknown = ""
    if annotation is not None:
        why = annotation.get("note") or annotation.get("error")
        if annotation.get("written"):
            written.append("the pod annotation %s" % ANN_EVIDENCE)
        elif annotation.get("written") is None:
            unknown = " Unknown: whether the pod annotation %s landed (%s)." % (ANN_EVIDENCE, why)
        else:
            missing.append("the pod annotation %s%s" % (ANN_EVIDENCE, " (%s)" % why if why else ""))
    return "Written: %s. Not written: %s.%s" % ("; ".join(written) or "nothing", "; ".join(missing) or "nothing",
                                                unknown)


def failure(exc, bundle, archive_wanted, annotation=None, remote_wanted=False):
    """The TriageError to report after exc, once the bundle exists: what is on disk, in the store
    and in the cluster, `changed` true when anything was written, the message saying what was and
    was not."""
    facts = on_disk(bundle)
    details = dict(exc.details)
    for key, value in facts.items():
        if details.get(key) is None:
            details[key] = value
    if details.get("bundle"):
        details["partial"] = None  # renamed: only one of them exists
    annotation = details.get("annotation") if details.get("annotation") is not None else annotation
    details["annotation"] = annotation
    details["changed"] = bool(facts["bundle"] or facts["partial"] or facts["archive"]
                              or (annotation or {}).get("written") or remote_changed(details.get("remote")))
    msg = exc.msg.rstrip()
    return TriageError("%s%s %s" % (msg, "" if msg.endswith(".") else ".",
                                    summary(facts, archive_wanted, annotation, details.get("remote"), remote_wanted)),
                       details)


def written(value, note=None):
    """The annotation result of a PATCH that landed."""
    out = {"written": True, "key": ANN_EVIDENCE, "value": value}
    if note:
        out["note"] = note
    return out


def annotation_step(pod, current, value):
    """What to do with the pod as read again (current, None when it is gone): (result, None) when
    the run is decided without a PATCH, (None, patch) for the merge patch to send."""
    if current is None or current["metadata"].get("uid") != pod["metadata"].get("uid"):
        return {"written": False, "note": GONE}, None
    if (current["metadata"].get("annotations") or {}).get(ANN_EVIDENCE) == value:
        # A retried PATCH whose first answer was lost: the first one landed.
        return written(value, "it was already on the pod: an earlier attempt of this run landed"), None
    if not is_quarantined(current):
        return {"written": False, "note": NOT_QUARANTINED}, None
    return None, {"metadata": {"resourceVersion": current["metadata"].get("resourceVersion"),
                               "annotations": {ANN_EVIDENCE: value}}}


def reread_failed(pod, exc):
    """The result when reading the pod again failed (exc): reported, not failed, for a pod that was
    not quarantined when the collection started (nobody expected an annotation on it); raises
    TriageError with details["annotation"] otherwise."""
    note = "reading the pod again failed: %s" % exc.msg
    if not is_quarantined(pod):
        return {"written": False, "note": "the pod was not quarantined when the collection started, and " + note}
    raise TriageError(note, {"annotation": {"written": False, "error": note}})


def unchecked_quarantine(annotation):
    """The warning for a result of reread_failed on a pod that was not quarantined, else None."""
    note = annotation.get("note") or ""
    if not annotation.get("written") and note.startswith("the pod was not q"):
        return "pod_evidence could not check whether the pod was quarantined meanwhile: %s" % note
    return None


def retry_patch(exc):
    """Whether a failed PATCH is a conflict (409): the pod changed since it was read, read it again."""
    return exc.details.get("status") == 409


def landed(current, value):
    """Whether the pod as read again (None: gone) carries the annotation value."""
    return bool(current) and ((current["metadata"].get("annotations") or {}).get(ANN_EVIDENCE) == value)


def never_applied(exc):
    """Whether a failed request certainly changed nothing: the server refused it (4xx), or the
    connection was refused before anything was sent."""
    status = exc.details.get("status")
    return (isinstance(status, int) and 400 <= status < 500) or "connection refused" in exc.msg.lower()


def patch_failed(exc, value, found):
    """The result of a PATCH that failed with exc (not a conflict), found being what a fresh read
    says (landed(): True/False, None if that read failed too): written when it landed, else raises
    TriageError with details["annotation"] written False (certainly not) or None (unknown)."""
    if found:
        return written(value, "the answer to the PATCH was lost; reading the pod again shows it landed")
    if found is None and never_applied(exc):
        found = False
    error = "the PATCH failed: %s%s" % (exc.msg, "" if found is False else
                                        "; whether it landed could not be checked (the pod cannot be read)")
    raise TriageError(error, {"annotation": {"written": False if found is False else None, "error": error}})


def kept_changing():
    """The TriageError after ANNOTATE_ATTEMPTS conflicts in a row."""
    error = "the pod kept changing: %d annotation attempts conflicted; run again to annotate it" % ANNOTATE_ATTEMPTS
    return TriageError(error, {"annotation": {"written": False, "error": error}})


# ---------------------------------------------------------------- the messages of a finished collection

def finish_failed(exc, results):
    """The TriageError when the bundle could not be finished (exc): the items that also failed."""
    failed, _skipped = failed_and_skipped(results)
    msg = exc.msg
    if failed:
        msg += "; items that also failed: %s" % "; ".join("%s (%s)" % (f["item"], f["error"]) for f in failed)
    return TriageError(msg, dict(exc.details, failed_items=failed))


def required_missing(missing, result, annotate):
    """The TriageError when required items (required_failures) were not collected: not annotated."""
    if annotate:
        result = dict(result, annotation={"written": False, "note": "required evidence is missing"})
    return TriageError("required evidence was not collected: %s; the pod was not annotated."
                       % "; ".join("%s %s: %s" % m for m in missing), result)


def annotate_failed(exc, result):
    """The TriageError when annotating the quarantined pod failed (exc from run_annotate.annotate)."""
    return TriageError("the bundle was written, but annotating the quarantined pod failed: %s. Run "
                       "pod_evidence again to annotate it (a new bundle is collected)." % exc.msg,
                       dict(result, annotation=exc.details.get("annotation")))


def archive_failed(error, result):
    """The TriageError when the archive could not be written (the bundle is complete)."""
    return TriageError("the archive could not be written: %s." % error, result)
