# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which objects an upload writes, under which keys, and the `remote` record of a verified bundle
(docs/contract.md, the triage.k8s/evidence annotation). Pure: callers pass what is on disk.

A bundle is stored under <storage.prefix>/<bundle name>/:
- files mode: every file manifest.json lists, at its relative path, then manifest.json itself
  (last: a manifest in the store means its files went first);
- archive mode: <storage.prefix>/<bundle name>.tar.gz, then <storage.prefix>/<bundle name>/manifest.json
  (the sidecar lets cleanup verify without downloading the archive)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._s3 import keys

MANIFEST = "manifest.json"
ARCHIVE_SUFFIX = ".tar.gz"


def bundle_prefix(storage_prefix, bundle):
    """The key prefix of a bundle, ending in '/'."""
    keys.check_key(bundle, "bundle name")
    if "/" in bundle:
        raise TriageError("refusing an unsafe bundle name %r: it has a '/'" % bundle, {"error_type": "storage"})
    return keys.prefix(storage_prefix) + bundle + "/"


def bundle_objects(bundle_dir, manifest, manifest_sha256, storage_prefix, archive=None):
    """[{path, key, sha256, size}] for a finished bundle at bundle_dir with its manifest (dict);
    archive: {path, sha256, size} of its .tar.gz to upload instead of the files."""
    name = posixpath.basename(bundle_dir.rstrip("/"))
    base = bundle_prefix(storage_prefix, name)
    manifest_obj = {"path": posixpath.join(bundle_dir, MANIFEST), "key": keys.check_key(base + MANIFEST),
                    "sha256": manifest_sha256, "size": None}
    if archive:
        return [{"path": archive["path"], "key": keys.check_key(keys.prefix(storage_prefix) + name + ARCHIVE_SUFFIX),
                 "sha256": archive["sha256"], "size": archive["size"]}, manifest_obj]
    out = []
    for entry in manifest.get("files") or []:
        out.append({"path": posixpath.join(bundle_dir, entry["path"]), "key": keys.check_key(base + entry["path"]),
                    "sha256": entry["sha256"], "size": entry["size"]})
    return out + [manifest_obj]


def source_objects(src, base_prefix, entries):
    """[{path, key, sha256, size}] for one evidence_upload source: src the path given, entries what
    is on disk - for a file [(None, None)], for a directory [(relative path, manifest entry or None)].
    A directory is stored under base_prefix/<its name>/; a file as base_prefix/<its name>."""
    name = posixpath.basename(src.rstrip("/")) or "root"
    if entries == [(None, None)]:
        return [{"path": src, "key": keys.check_key(base_prefix + name), "sha256": None, "size": None}]
    head = keys.check_key(base_prefix + name, "key") + "/"
    out = []
    for rel, listed in entries:
        out.append({"path": posixpath.join(src, rel), "key": keys.check_key(head + rel),
                    "sha256": listed["sha256"] if listed else None, "size": listed["size"] if listed else None})
    return out


def bundle_entries(manifest, files_on_disk):
    """(entries, problem) for a directory holding manifest.json: every file manifest.json lists (with
    its entry), then manifest.json; problem names a listed file that is missing or a file on disk
    that manifest.json does not list."""
    listed = dict((f["path"], f) for f in (manifest.get("files") or []) if isinstance(f, dict) and f.get("path"))
    missing = sorted(set(listed) - set(files_on_disk))
    extra = sorted(set(files_on_disk) - set(listed) - {MANIFEST})
    if missing:
        return None, "manifest.json lists files that are not there: %s" % ", ".join(missing[:5])
    if extra:
        return None, "files that manifest.json does not list: %s" % ", ".join(extra[:5])
    return [(rel, listed[rel]) for rel in sorted(listed)] + [(MANIFEST, None)], None


def remote_record(bucket, prefix, endpoint, objects, verified_at, archive=None):
    """The annotation's `remote` (docs/contract.md): where the verified bundle is."""
    record = {"url": keys.url(bucket, prefix), "bucket": bucket, "prefix": prefix,
              "manifest_key": prefix + MANIFEST, "endpoint": endpoint or None, "objects": objects,
              "verified_at": verified_at}
    if archive:
        record["archive"] = {"key": archive["key"], "sha256": archive["sha256"], "size": archive["size"]}
    return record
