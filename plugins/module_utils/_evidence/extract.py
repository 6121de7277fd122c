# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Copies out of a container arrive as tar streams and are extracted into the bundle here without
trusting member names: no absolute paths, no `..`, no links or devices, no name that holds a
secret, a size cap. Files go through the bundle (0600, exclusive, redacted unless binary)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import tarfile

from ansible_collections.triage.k8s.plugins.module_utils._evidence.bundle import AUTO, CHUNK
from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact import redact_string


def safe_member_name(name):
    """The member's path relative to the copy root, or None when it must not be extracted."""
    if not name or "\x00" in name:
        return None
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def extract_tar(bundle, tar_path, root, max_bytes):
    """Extract regular files and directories of a tar file into `root` of the bundle.

    Returns a list of {name, type, size, mode, mtime, extracted, note}. Links, devices, absolute
    names and `..` are listed but not extracted; extraction stops at max_bytes of file content.
    """
    members, total = [], 0
    with tarfile.open(tar_path, mode="r:") as tar:
        for member in tar:
            entry = {"name": member.name, "size": member.size, "mode": "%04o" % (member.mode & 0o7777),
                     "mtime": int(member.mtime), "type": _member_type(member), "extracted": False}
            members.append(entry)
            rel = safe_member_name(member.name)
            if rel is None:
                entry["note"] = "unsafe name (absolute or outside the copy): not extracted"
                continue
            if bundle.redaction is not None and bundle.redaction.enabled and _name_holds_secret(bundle, rel):
                entry["note"] = "its name looks like a secret: not extracted"
                continue
            if member.isdir():
                entry["extracted"] = True
                continue
            if not member.isfile():
                entry["note"] = "%s: not extracted (only regular files are)" % entry["type"]
                continue
            if total + member.size > max_bytes:
                entry["note"] = "not extracted: the copy reached its size limit"
                continue
            source = tar.extractfile(member)
            try:
                handle = bundle.open("%s/%s" % (root, rel), AUTO)
            except (FileExistsError, NotADirectoryError):
                entry["note"] = "not extracted: an earlier member has the same path"
                continue
            with handle:
                for chunk in iter(lambda: source.read(CHUNK), b""):
                    handle.write(chunk)
            total += member.size
            entry["extracted"] = True
    return members


def _name_holds_secret(bundle, rel):
    """Whether the rules would redact part of a member's path (which becomes a file name)."""
    return bool(redact_string(rel, bundle.redaction.patterns)[1])


def _member_type(member):
    for kind, test in (("file", member.isfile), ("directory", member.isdir), ("symlink", member.issym),
                       ("hardlink", member.islnk), ("device", member.isdev)):
        if test():
            return kind
    return "other"
