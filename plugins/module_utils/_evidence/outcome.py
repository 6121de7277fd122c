# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an evidence run wrote, said truthfully also when it fails: the bundle (or its .partial)
and the archive as found on disk, the triage.k8s/evidence annotation as the API server has it.

annotate() writes the annotation with a merge patch guarded by resourceVersion. Transient API
errors are retried by Kube.request; a 409 means the pod changed, so it is read again here. When
the answer to the PATCH is lost, the pod is read again to learn whether it landed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import ANN_EVIDENCE
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._evidence.bundle import ARCHIVE_SUFFIX, MANIFEST
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


def summary(facts, archive_wanted, annotation):
    """`Written: ... Not written: ...` for the message of any outcome."""
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


def failure(exc, bundle, archive_wanted, annotation=None):
    """The TriageError to report after exc, once the bundle exists: what is on disk and in the
    cluster, `changed` true when anything was written, the message saying what was and was not."""
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
                              or (annotation or {}).get("written"))
    msg = exc.msg.rstrip()
    return TriageError("%s%s %s" % (msg, "" if msg.endswith(".") else ".", summary(facts, archive_wanted, annotation)),
                       details)


def _written(value, note=None):
    out = {"written": True, "key": ANN_EVIDENCE, "value": value}
    if note:
        out["note"] = note
    return out


def _landed(kube, meta, value):
    """After a PATCH whose outcome is unknown: True/False from a fresh read, None if that fails too."""
    try:
        current = kube.get_or_none("Pod", meta["name"], meta["namespace"])
    except TriageError:
        return None
    return bool(current) and ((current["metadata"].get("annotations") or {}).get(ANN_EVIDENCE) == value)


def _never_applied(exc):
    """Whether a failed request certainly changed nothing: the server refused it (4xx), or the
    connection was refused before anything was sent."""
    status = exc.details.get("status")
    return (isinstance(status, int) and 400 <= status < 500) or "connection refused" in exc.msg.lower()


def annotate(kube, pod, value):
    """Write triage.k8s/evidence on the pod if it is (still) quarantined. Returns
    {written, key, value, note}; raises TriageError with details["annotation"] when it cannot.

    A pod that was not quarantined when the collection started and cannot be read again now is
    reported, not failed: nobody expected an annotation on it."""
    meta = pod["metadata"]
    expected = is_quarantined(pod)
    for _attempt in range(ANNOTATE_ATTEMPTS):
        try:
            current = kube.get_or_none("Pod", meta["name"], meta["namespace"])
        except TriageError as exc:
            note = "reading the pod again failed: %s" % exc.msg
            if not expected:
                return {"written": False, "note": "the pod was not quarantined when the collection started, and "
                        + note}
            raise TriageError(note, {"annotation": {"written": False, "error": note}})
        if current is None or current["metadata"].get("uid") != meta.get("uid"):
            return {"written": False, "note": GONE}
        if (current["metadata"].get("annotations") or {}).get(ANN_EVIDENCE) == value:
            # A retried PATCH whose first answer was lost: the first one landed.
            return _written(value, "it was already on the pod: an earlier attempt of this run landed")
        if not is_quarantined(current):
            return {"written": False, "note": NOT_QUARANTINED}
        patch = {"metadata": {"resourceVersion": current["metadata"].get("resourceVersion"),
                              "annotations": {ANN_EVIDENCE: value}}}
        try:
            kube.patch("Pod", meta["name"], meta["namespace"], patch)
            return _written(value)
        except TriageError as exc:
            if exc.details.get("status") == 409:
                continue  # the pod changed since it was read: read it again
            landed = _landed(kube, meta, value)
            if landed:
                return _written(value, "the answer to the PATCH was lost; reading the pod again shows it landed")
            if landed is None and _never_applied(exc):
                landed = False
            error = "the PATCH failed: %s%s" % (exc.msg, "" if landed is False else
                                                "; whether it landed could not be checked (the pod cannot be read)")
            raise TriageError(error, {"annotation": {"written": False if landed is False else None,
                                                     "error": error}})
    error = "the pod kept changing: %d annotation attempts conflicted; run again to annotate it" % ANNOTATE_ATTEMPTS
    raise TriageError(error, {"annotation": {"written": False, "error": error}})
