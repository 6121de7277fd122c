# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evidence to S3-compatible storage: pod_evidence's upload of a finished bundle (upload_bundle)
and the evidence_upload module's body (run_evidence_upload). The requests are in _s3 (client,
transfer, verify); which objects and keys in _s3/plan.py; the messages in upload_outcome.py.

Nothing local is ever deleted here, and nothing is uploaded in check mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339
from ansible_collections.triage.k8s.plugins.module_utils._evidence import upload_outcome
from ansible_collections.triage.k8s.plugins.module_utils._s3 import keys, plan as s3_plan
from ansible_collections.triage.k8s.plugins.module_utils._s3.client import connect
from ansible_collections.triage.k8s.plugins.module_utils._s3.transfer import put_objects
from ansible_collections.triage.k8s.plugins.module_utils._s3.verify import verify_remote

MAX_MANIFEST = 64 * 1024 * 1024


def _now():
    return format_rfc3339(datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0))


def check_storage(storage, timeout=None):
    """Validate the storage option without a request (check mode, before collecting): the S3."""
    if not (storage or {}).get("bucket"):
        raise TriageError("storage.bucket is required to upload evidence", {"error_type": "storage"})
    return connect(storage, timeout)


def upload_bundle(storage, final, manifest, manifest_sha256, archive=None, timeout=None):
    """Upload a finished bundle (files, or its archive {path, sha256, size} and manifest.json), read
    every object back, then verify the whole bundle as cleanup will (verify_remote). Returns the
    result's `remote` {url, verified, objects, error, record}: record is the annotation's `remote`,
    only when verified. Never raises for a store failure: the caller keeps its bundle and reports."""
    name = os.path.basename(final)
    url = None
    try:
        s3 = connect(storage, timeout)
        prefix = s3_plan.bundle_prefix(storage.get("prefix"), name)
        url = keys.url(s3.bucket, prefix)
        objects = s3_plan.bundle_objects(final, manifest, manifest_sha256, storage.get("prefix"), archive)
    except TriageError as exc:
        return upload_outcome.remote_failed(url or keys.url(storage.get("bucket") or "?", name + "/"), [], exc)
    results, error = put_objects(s3, objects)
    if error is not None:
        return upload_outcome.remote_failed(url, results, error)
    archived = dict(archive, key=objects[0]["key"]) if archive else None
    record = s3_plan.remote_record(s3.bucket, prefix, s3.endpoint, len(results), _now(), archived)
    try:
        verified, why = verify_remote(s3, record, manifest_sha256, dict((r["key"], r["checksum"]) for r in results))
    except TriageError as exc:
        return upload_outcome.remote_failed(url, results, exc)
    if not verified:
        return upload_outcome.remote_failed(url, results, TriageError("verification failed: %s" % why))
    return upload_outcome.remote_verified(url, results, record)


# ---------------------------------------------------------------- the evidence_upload module

def _walk(src):
    """Relative paths of the regular files under the directory src; symlinks are refused."""
    out = []
    for folder, dirs, names in os.walk(src):
        for entry in sorted(dirs + names):
            path = os.path.join(folder, entry)
            if os.path.islink(path):
                raise TriageError("%s is a symbolic link: evidence_upload uploads regular files only" % path,
                                  {"error_type": "storage_source", "path": path})
        for entry in names:
            path = os.path.join(folder, entry)
            if not os.path.isfile(path):
                raise TriageError("%s is not a regular file" % path, {"error_type": "storage_source", "path": path})
            out.append(os.path.relpath(path, src).replace(os.sep, "/"))
    return sorted(out)


def _source(src, base):
    """The planned objects of one src (file, directory, or bundle directory)."""
    path = os.path.abspath(os.path.expanduser(src))
    if os.path.islink(path) or not os.path.exists(path):
        raise TriageError("src %s is not there (or is a symbolic link): nothing was uploaded" % src,
                          {"error_type": "storage_source", "path": src})
    if os.path.isfile(path):
        return s3_plan.source_objects(path, base, [(None, None)])
    if not os.path.isdir(path):
        raise TriageError("src %s is neither a file nor a directory" % src, {"error_type": "storage_source"})
    files = _walk(path)
    if s3_plan.MANIFEST in files:
        try:
            with open(os.path.join(path, s3_plan.MANIFEST), "rb") as handle:
                manifest = json.loads(handle.read(MAX_MANIFEST).decode("utf-8"))
        except (OSError, ValueError) as exc:
            raise TriageError("src %s has a manifest.json that cannot be read: %s" % (src, exc),
                              {"error_type": "storage_source"})
        entries, problem = s3_plan.bundle_entries(manifest, files)
        if problem:
            raise TriageError("src %s does not match its manifest.json: %s; nothing was uploaded" % (src, problem),
                              {"error_type": "storage_source"})
        return s3_plan.source_objects(path, base, entries)
    return s3_plan.source_objects(path, base, [(rel, None) for rel in files])


def run_evidence_upload(module):
    params = module.params
    storage = params["storage"] or {}
    s3 = check_storage(storage, params.get("timeout"))
    base = keys.prefix(storage.get("prefix")) + keys.prefix(params["key_prefix"], "key_prefix")
    url = keys.url(s3.bucket, base)
    objects = []
    for src in params["src"]:
        objects.extend(_source(src, base))
    clash = upload_outcome.duplicate_keys(objects)
    if clash:
        raise TriageError("two sources map to the same key %s: upload them with different key_prefix" % clash,
                          {"error_type": "storage_source"})
    results, error = put_objects(s3, objects, module.check_mode)
    return upload_outcome.upload_result(url, objects, results, error, module.check_mode)
