# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Uploading planned objects (plan.py) and reading each one back before it counts.

First every file is hashed (one streaming pass each, which also gives the checksum the store must
report); a file listed in a manifest must still have the manifest's sha256 (the chain back to
manifest_sha256), or nothing is sent. Then, for each object in order: one already there with the
same content is `present` and not sent again; otherwise it is uploaded and HEAD (ChecksumMode
ENABLED) must match what was hashed (a file changed meanwhile fails here). The first failure
stops the run: the objects done so far are returned with the error."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._s3 import checksums, keys
from ansible_collections.triage.k8s.plugins.module_utils._s3.verify import object_matches

UPLOADED, PRESENT, WOULD_UPLOAD = "uploaded", "present", "would_upload"
# Written, but not read back (the store went away, or what it holds does not match): a write that
# landed all the same, so the result must say changed.
UNVERIFIED = "uploaded_unverified"


def _local(s3, obj):
    try:
        local = checksums.of_file(obj["path"], s3.threshold, s3.part_size)
    except OSError as exc:
        raise TriageError("cannot read %s for the upload: %s" % (obj["path"], exc.strerror or exc),
                          {"error_type": "storage_source", "path": obj["path"]})
    if obj.get("sha256") and local.sha256 != obj["sha256"]:
        raise TriageError("%s changed since its manifest was written (sha256 %s, manifest.json says %s): "
                          "not uploaded" % (obj["path"], local.sha256, obj["sha256"]),
                          {"error_type": "storage_source", "path": obj["path"]})
    return local


def put_object(s3, obj, check_mode=False, local=None):
    """Upload one planned object {path, key[, sha256]} to s3.bucket unless it is there already;
    local: its checksums.Local when already hashed. Returns {path, key, url, size, sha256, status};
    raises TriageError."""
    bucket, key = s3.bucket, obj["key"]
    local = local or _local(s3, obj)
    out = {"path": obj["path"], "key": key, "url": keys.url(bucket, key), "size": local.size,
           "sha256": local.sha256, "checksum": local.checksum, "status": None}
    head = s3.head(bucket, key)
    if head is not None:
        there, _why = object_matches(s3, bucket, key, local.size, local.sha256, local.checksum, head)
        if there:
            out["status"] = PRESENT
            return out
    if check_mode:
        out["status"] = WOULD_UPLOAD
        return out
    s3.upload(obj["path"], bucket, key)
    out["status"] = UNVERIFIED
    try:
        ok, why = object_matches(s3, bucket, key, local.size, local.sha256, local.checksum)
    except TriageError as exc:
        exc.details["written"] = out
        raise
    if not ok:
        raise TriageError("%s was uploaded, but reading it back does not match the file %s: %s"
                          % (out["url"], obj["path"], why), {"error_type": "storage_verify", "key": key, "written": out})
    out["status"] = UPLOADED
    return out


def put_objects(s3, objects, check_mode=False):
    """(results, error): every file hashed first, then put_object for each object in order,
    stopping at the first TriageError; an object written but not read back when it came is in
    results as UNVERIFIED."""
    try:
        hashed = [_local(s3, obj) for obj in objects]
    except TriageError as exc:
        return [], exc
    results = []
    for obj, local in zip(objects, hashed):
        try:
            results.append(put_object(s3, obj, check_mode, local))
        except TriageError as exc:
            written = exc.details.pop("written", None)
            if written is not None:
                results.append(written)
            return results, exc
    return results, None
