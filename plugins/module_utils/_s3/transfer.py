# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Uploading planned objects (plan.py) and reading each one back before it counts.

For each object, in order: the file is hashed (one streaming pass, which also gives the checksum
the store must report); when it is listed in a manifest, its sha256 must still be the manifest's
(the chain back to manifest_sha256); an object already there with the same content is `present`
and not sent again; otherwise it is uploaded and then HEAD (ChecksumMode ENABLED) must match.
The first failure stops the run: the objects done so far are returned with the error."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._s3 import checksums, keys
from ansible_collections.triage.k8s.plugins.module_utils._s3.verify import object_matches

UPLOADED, PRESENT, WOULD_UPLOAD = "uploaded", "present", "would_upload"


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


def put_object(s3, obj, check_mode=False):
    """Upload one planned object {path, key[, sha256]} to s3.bucket unless it is there already.
    Returns {path, key, url, size, sha256, status}; raises TriageError."""
    bucket, key = s3.bucket, obj["key"]
    local = _local(s3, obj)
    out = {"path": obj["path"], "key": key, "url": keys.url(bucket, key), "size": local.size,
           "sha256": local.sha256, "status": None}
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
    ok, why = object_matches(s3, bucket, key, local.size, local.sha256, local.checksum)
    if not ok:
        raise TriageError("%s was uploaded, but reading it back does not match the file %s: %s"
                          % (out["url"], obj["path"], why), {"error_type": "storage_verify", "key": key})
    out["status"] = UPLOADED
    return out


def put_objects(s3, objects, check_mode=False):
    """(results, error): put_object for each object in order, stopping at the first TriageError."""
    results = []
    for obj in objects:
        try:
            results.append(put_object(s3, obj, check_mode))
        except TriageError as exc:
            return results, exc
    return results, None
