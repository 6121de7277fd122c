# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bucket names, object keys and s3:// URLs, checked before any request. Pure.

Keys come partly from hostile input (pod and namespace names are safe, but a prefix, a key_prefix
or a file name inside a copied directory is not): no empty or `.`/`..` segment, no leading `/`, no
control characters or backslashes, at most 1024 bytes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError

MAX_KEY_BYTES = 1024
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")


def bucket_problem(name):
    """Why name is not a valid S3 bucket name, or None."""
    if not name:
        return "no bucket is named: set storage.bucket"
    if not _BUCKET.match(name):
        return ("bucket name %r is not valid: 3 to 63 characters, lowercase letters, digits, '.' and '-', "
                "starting and ending with a letter or digit" % name)
    if ".." in name or ".-" in name or "-." in name:
        return "bucket name %r is not valid: no '..', '.-' or '-.'" % name
    if _IPV4.match(name):
        return "bucket name %r is not valid: it looks like an IP address" % name
    return None


def key_problem(key, what="key"):
    """Why key is not a key this collection writes or reads, or None."""
    if not key:
        return "the %s is empty" % what
    if _CONTROL.search(key):
        return "the %s %r has a control character or a backslash" % (what, key)
    if key.startswith("/"):
        return "the %s %r starts with '/'" % (what, key)
    segments = key.rstrip("/").split("/")
    if any(s in ("", ".", "..") for s in segments):
        return "the %s %r has an empty, '.' or '..' segment" % (what, key)
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        return "the %s %r is longer than %d bytes" % (what, key[:80] + "...", MAX_KEY_BYTES)
    return None


def check_bucket(name):
    problem = bucket_problem(name)
    if problem:
        raise TriageError(problem, {"error_type": "storage"})
    return name


def check_key(key, what="key"):
    problem = key_problem(key, what)
    if problem:
        raise TriageError("refusing an unsafe S3 %s: %s" % (what, problem), {"error_type": "storage"})
    return key


def prefix(text, what="storage.prefix"):
    """A key prefix ending in '/' ('' for none), checked."""
    text = text or ""
    if not text.strip("/") and not text.startswith("/"):
        return ""
    check_key(text, what)
    return text.rstrip("/") + "/"


def join(*parts):
    """Key parts joined with '/': each part a checked prefix or relative path; the result is checked."""
    out = "".join(prefix(p, "key part") if i < len(parts) - 1 else (p or "") for i, p in enumerate(parts))
    return check_key(out)


def url(bucket, key=""):
    return "s3://%s/%s" % (bucket, key)
