# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading objects back: does the store hold what a file (or a bundle's manifest) says?

- object_matches: one object against a local size and sha256, from the HEAD answer's checksum;
  when the headers cannot tell (no checksum, a composite one of other parts), the object is read
  back in 1 MiB chunks and hashed.
- verify_remote(s3, remote, manifest_sha256): a bundle recorded in the triage.k8s/evidence
  annotation's `remote` (docs/contract.md): GET its manifest.json, compare its sha256 with the
  annotation's, then every file it lists (one LIST of the prefix, a HEAD each) or, for an archived
  bundle, the archive. Used after an upload and by quarantine_cleanup's require_evidence: remote.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

from ansible_collections.triage.k8s.plugins.module_utils._s3 import checksums, keys

MAX_MANIFEST = 64 * 1024 * 1024


def read_back(s3, bucket, key):
    """(size, sha256 hex) of the object as read back."""
    sha, size = hashlib.sha256(), 0
    for chunk in s3.stream_chunks(bucket, key):
        sha.update(chunk)
        size += len(chunk)
    return size, sha.hexdigest()


def object_matches(s3, bucket, key, size, sha256, checksum=None, head=None):
    """(matches, why) for bucket/key against a file of size bytes and sha256 (hex); checksum is the
    ChecksumSHA256 this upload expects when known; head a HEAD answer already in hand."""
    head = s3.head(bucket, key) if head is None else head
    matches, why = checksums.compare_head(head, size, sha256, checksum)
    if matches is not None:
        return matches, why
    got_size, got_sha = read_back(s3, bucket, key)
    if (got_size, got_sha) == (size, sha256):
        return True, "read back: size and sha256 match (%s)" % why
    return False, "read back: %d bytes with sha256 %s, the file %d bytes with sha256 %s" % (
        got_size, got_sha, size, sha256)


def remote_problem(remote):
    """Why an annotation's `remote` cannot be verified as it is, or None."""
    if not isinstance(remote, dict):
        return "the annotation has no remote record"
    for field in ("bucket", "prefix", "manifest_key"):
        if not isinstance(remote.get(field), str) or not remote.get(field):
            return "the remote record has no %s" % field
    problem = (keys.bucket_problem(remote["bucket"]) or keys.key_problem(remote["prefix"], "prefix")
               or keys.key_problem(remote["manifest_key"], "manifest key"))
    if problem:
        return "the remote record is not valid: %s" % problem
    archive = remote.get("archive")
    if archive is not None:
        if not isinstance(archive, dict) or keys.key_problem(archive.get("key"), "archive key") \
                or not archive.get("sha256") or not isinstance(archive.get("size"), int):
            return "the remote record's archive is not valid (key, sha256, size)"
    return None


def _files(manifest):
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, list):
        return None
    out = []
    for entry in files:
        if not isinstance(entry, dict) or keys.key_problem(entry.get("path"), "path") \
                or not isinstance(entry.get("size"), int) or not entry.get("sha256"):
            return None
        out.append(entry)
    return out


def verify_remote(s3, remote, manifest_sha256, known=None):
    """(verified, reason) for the bundle named by an annotation's `remote`. Raises TriageError only
    when the store cannot be asked (connection, credentials, access denied: the message names the
    S3 action and the object).

    A multipart object's composite checksum cannot be compared with the manifest's sha256, so such
    an object is read back and hashed; known ({key: ChecksumSHA256}, what an upload just computed
    from the files) spares that right after an upload."""
    known = known or {}
    problem = remote_problem(remote)
    if problem:
        return False, problem
    bucket, prefix, manifest_key = remote["bucket"], remote["prefix"], remote["manifest_key"]
    where = keys.url(bucket, manifest_key)
    data = s3.read(bucket, manifest_key, MAX_MANIFEST)
    if data is None:
        return False, "%s is not there" % where
    got = hashlib.sha256(data).hexdigest()
    if got != manifest_sha256:
        return False, "%s has sha256 %s, the annotation records %s" % (where, got, manifest_sha256)
    try:
        files = _files(json.loads(data.decode("utf-8")))
    except ValueError:
        files = None
    if files is None:
        return False, "%s is not a bundle manifest (no valid files list)" % where
    if remote.get("archive"):
        archive = remote["archive"]
        ok, why = object_matches(s3, bucket, archive["key"], archive["size"], archive["sha256"],
                                 known.get(archive["key"]))
        if not ok:
            return False, "%s: %s" % (keys.url(bucket, archive["key"]), why)
        return True, "%s verified: manifest.json sha256 matches the annotation, the archive %s %s" % (
            keys.url(bucket, prefix), keys.url(bucket, archive["key"]), why)
    listed = s3.listing(bucket, prefix)
    for entry in files:
        key = prefix + entry["path"]
        if key not in listed:
            return False, "%s is missing (listed in manifest.json)" % keys.url(bucket, key)
        if listed[key] != entry["size"]:
            return False, "%s has %d bytes, manifest.json says %d" % (keys.url(bucket, key), listed[key], entry["size"])
        ok, why = object_matches(s3, bucket, key, entry["size"], entry["sha256"], known.get(key))
        if not ok:
            return False, "%s: %s" % (keys.url(bucket, key), why)
    return True, "%s verified: manifest.json sha256 matches the annotation; its %d files are there with their " \
                 "sizes and sha256" % (keys.url(bucket, prefix), len(files))
