# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The evidence bundle on disk: collected into `<name>.partial`, renamed at the end.

- Directories are 0700 and files 0600, created exclusively (never through an existing path).
- Every file is hashed (sha256) and counted while it is written, so large logs are never read
  twice; manifest.json lists them all, SHA256SUMS allows `sha256sum -c`.
- Every file is redacted on its way in, with the collection's one rule set (Redaction): text line
  by line as it streams, YAML and JSON value by value. Only the raw tar stream of a copy (never
  kept) and copied binary files (recorded in the manifest) are written as they come.
- Files are fsynced before the rename, so a crash (or power loss) leaves either `<name>.partial`
  or a complete `<name>`: never a bundle that only looks complete.
- Copies out of a container arrive as tar streams, extracted through the bundle by extract.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import tarfile
import threading

try:
    import yaml
    HAS_YAML = True
except ImportError:  # reported by client.require_kubernetes() (PyYAML comes with kubernetes)
    HAS_YAML = False

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError

PARTIAL_SUFFIX = ".partial"
ARCHIVE_SUFFIX = ".tar.gz"
MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
DIR_MODE = 0o700
FILE_MODE = 0o600
CHUNK = 64 * 1024
# Room left in a 255-byte file name for ".tar.gz.partial" and a "-99" collision suffix.
MAX_NAME = 255 - len(ARCHIVE_SUFFIX + PARTIAL_SUFFIX) - 3
# How a file is redacted: as text (the default), text unless it looks binary, or not at all.
TEXT, AUTO, RAW = "text", "auto", None
# A NUL byte in the first block marks a binary file, as git and grep decide.
BINARY_SNIFF = 8192
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_component(text, default="unknown"):
    """A file-name-safe version of a context, namespace, pod or container name."""
    cleaned = _UNSAFE.sub("-", str(text or "")).strip(".-")
    return cleaned or default


def bundle_name(cluster, namespace, pod, moment):
    """`<context-or-cluster>_<namespace>_<pod>_<UTC timestamp>`, e.g. `prod_shop_web-1_20261122T030405Z`."""
    stamp = "%04d%02d%02dT%02d%02d%02dZ" % (
        moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    head = "%s_%s_%s" % (safe_component(cluster), safe_component(namespace), safe_component(pod))
    return head[:MAX_NAME - len(stamp) - 1] + "_" + stamp


def _os_error(action, path, exc):
    reason = exc.strerror or str(exc)
    return TriageError("cannot %s %s: %s. Choose a dest directory this user can write (the module writes on the "
                       "host it runs on, the controller with connection: local), with free space."
                       % (action, path, reason), {"error_type": "dest", "path": path})


class HashingWriter(object):
    """A file being written into the bundle; size and sha256 are known when it closes."""

    def __init__(self, bundle, rel, fd, redact=TEXT):
        self.bundle = bundle
        self.rel = rel
        self.handle = os.fdopen(fd, "wb")
        self.sha = hashlib.sha256()
        self.size = 0
        self.closed = False
        self.mode = redact if bundle.redaction is not None and bundle.redaction.enabled else RAW
        self.redactor = bundle.redaction.stream() if self.mode == TEXT else None

    @property
    def redactions(self):
        return self.redactor.count if self.redactor else 0

    def _out(self, data):
        if data:
            self.handle.write(data)
            self.sha.update(data)
            self.size += len(data)

    def write(self, data):
        if not data:
            return
        if self.mode == AUTO:  # decided on the first block
            if b"\x00" in data[:BINARY_SNIFF]:
                self.mode = RAW
                self.bundle.keep_unredacted(self.rel, "binary (NUL bytes in its first %d bytes)" % BINARY_SNIFF)
            else:
                self.mode, self.redactor = TEXT, self.bundle.redaction.stream()
        self._out(self.redactor.feed(data) if self.redactor else data)

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            if self.redactor:
                self._out(self.redactor.flush())
            self.handle.flush()
            os.fsync(self.handle.fileno())
        finally:
            self.handle.close()
        self.bundle.register(self.rel, self.size, self.sha.hexdigest())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class Bundle(object):
    """One bundle being collected under dest. Thread-safe for writers of distinct files."""

    def __init__(self, dest, name):
        self.dest = dest
        self.name = name
        self.partial = os.path.join(dest, name + PARTIAL_SUFFIX)
        self.final = os.path.join(dest, name)
        self.files = {}
        self.lock = threading.Lock()
        self.redaction = None  # evidence_redact_objects.Redaction; None or disabled: nothing redacted
        self.not_redacted = {}

    @classmethod
    def create(cls, dest, name):
        dest = os.path.abspath(os.path.expanduser(dest))
        if os.path.exists(dest) and not os.path.isdir(dest):
            raise TriageError("cannot write the evidence bundle: dest %s exists and is not a directory" % dest,
                              {"error_type": "dest", "path": dest})
        try:
            os.makedirs(dest, DIR_MODE, exist_ok=True)
        except OSError as exc:
            raise _os_error("create the evidence directory (dest)", dest, exc)
        for attempt in range(1, 100):
            candidate = name if attempt == 1 else "%s-%d" % (name, attempt)
            bundle = cls(dest, candidate)
            if os.path.lexists(bundle.final):
                continue
            try:
                os.mkdir(bundle.partial, DIR_MODE)
            except FileExistsError:
                continue
            except OSError as exc:
                raise _os_error("create the bundle directory in dest", bundle.partial, exc)
            os.chmod(bundle.partial, DIR_MODE)
            return bundle
        raise TriageError("cannot pick a free bundle name for %s in %s" % (name, dest), {"error_type": "dest"})

    def interrupted(self):
        """Names of the other `.partial` bundles of the same pod in dest, left by interrupted runs."""
        own = os.path.basename(self.partial)
        return [n for n in stale_partials(self.dest, "%s_" % self.name.rsplit("_", 1)[0]) if n != own]

    # -- writing -------------------------------------------------------------------------
    def _path(self, rel):
        parts = [p for p in rel.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise ValueError("bad bundle path %r" % rel)
        return os.path.join(self.partial, *parts)

    def _ensure_dirs(self, path):
        parent = os.path.dirname(path)
        missing = []
        while parent != self.partial and not os.path.isdir(parent):
            missing.append(parent)
            parent = os.path.dirname(parent)
        for directory in reversed(missing):
            try:
                os.mkdir(directory, DIR_MODE)
            except FileExistsError:
                pass
            os.chmod(directory, DIR_MODE)

    def open(self, rel, redact=TEXT):
        """A HashingWriter for a new file (0600, exclusive): use as a context manager.

        redact: TEXT (line by line), AUTO (as text unless binary) or RAW."""
        path = self._path(rel)
        with self.lock:
            self._ensure_dirs(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
        os.fchmod(fd, FILE_MODE)
        return HashingWriter(self, rel, fd, redact)

    def register(self, rel, size, sha256):
        with self.lock:
            self.files[rel] = {"path": rel, "size": size, "sha256": sha256}

    def keep_unredacted(self, rel, reason):
        with self.lock:
            self.not_redacted[rel] = reason

    def discard(self, rel):
        """Remove a file written earlier (a temporary one) from the bundle and the disk."""
        with self.lock:
            self.files.pop(rel, None)
            self.not_redacted.pop(rel, None)
        try:
            os.unlink(self._path(rel))
        except FileNotFoundError:
            pass

    def paths(self):
        with self.lock:
            return sorted(self.files)

    def write_bytes(self, rel, data, redact=TEXT):
        with self.open(rel, redact) as handle:
            handle.write(data)
        return rel

    def write_text(self, rel, text):
        return self.write_bytes(rel, text.encode("utf-8"))

    def _values(self, obj):
        """obj with every string value redacted (YAML and JSON are redacted as data, not as text,
        so a line folded by the serializer cannot hide a secret from a line-based rule)."""
        return self.redaction.strings(obj) if self.redaction is not None else obj

    def write_json(self, rel, obj):
        return self.write_bytes(rel, (json.dumps(self._values(obj), indent=2, sort_keys=True) + "\n").encode("utf-8"),
                                RAW)

    def write_yaml(self, rel, obj):
        if not HAS_YAML:
            return self.write_json(rel[:-5] + ".json" if rel.endswith(".yaml") else rel, obj)
        text = yaml.safe_dump(self._values(obj), default_flow_style=False, sort_keys=False, allow_unicode=True)
        return self.write_bytes(rel, text.encode("utf-8"), RAW)

    def redaction_record(self):
        """manifest.json's `redaction`: the rules, counts by shape, files kept as they came."""
        with self.lock:
            kept = [{"path": p, "reason": r} for p, r in self.not_redacted.items()]
        if self.redaction is None:
            return {"enabled": False, "total": 0, "not_redacted": kept}
        return self.redaction.record(kept)

    def total_size(self):
        with self.lock:
            return sum(f["size"] for f in self.files.values())

    # -- finishing -----------------------------------------------------------------------
    def finalize(self, manifest):
        """Write SHA256SUMS and manifest.json, fsync, rename `<name>.partial` to `<name>`.

        Returns (final path, sha256 of manifest.json). Any failure leaves only `.partial`.
        """
        try:
            with self.lock:
                listed = sorted(self.files.values(), key=lambda f: f["path"])
            sums = "".join("%s  %s\n" % (f["sha256"], f["path"]) for f in listed)
            self.write_bytes(CHECKSUMS, sums.encode("utf-8"), RAW)
            with self.lock:
                manifest = dict(manifest, files=sorted(self.files.values(), key=lambda f: f["path"]))
            manifest["size_bytes"] = sum(f["size"] for f in manifest["files"])
            # The manifest's own values (errors, commands, notes) pass the same rules before the count.
            manifest = self._values(manifest)
            manifest["redaction"] = self.redaction_record()
            manifest["redactions"] = manifest["redaction"]["total"]
            data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
            self.write_bytes(MANIFEST, data, RAW)
            _fsync_tree(self.partial)
            os.rename(self.partial, self.final)
            _fsync_dir(self.dest)
        except OSError as exc:
            raise _os_error("finish the bundle (it stays incomplete, as .partial)", self.partial, exc)
        return self.final, hashlib.sha256(data).hexdigest(), manifest

    def archive(self):
        """`<name>.tar.gz` of the finished bundle, written as `.partial` and renamed. (path, sha256, size)."""
        path = self.final + ARCHIVE_SUFFIX
        temp = path + PARTIAL_SUFFIX
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "wb") as raw:
                with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                    tar.add(self.final, arcname=os.path.basename(self.final))
                raw.flush()
                os.fsync(raw.fileno())
            sha, size = file_sha256(temp)
            os.rename(temp, path)
            _fsync_dir(self.dest)
        except OSError as exc:
            raise _os_error("write the archive (the bundle directory is complete)", temp, exc)
        return path, sha, size


def file_sha256(path):
    sha, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root):
    for directory, _dirs, _files in os.walk(root):
        _fsync_dir(directory)


def stale_partials(dest, prefix):
    """Names of `.partial` bundles for the same target left in dest by interrupted runs."""
    try:
        names = os.listdir(dest)
    except OSError:
        return []
    return sorted(n for n in names if n.startswith(prefix) and n.endswith(PARTIAL_SUFFIX)
                  and not n.endswith(ARCHIVE_SUFFIX + PARTIAL_SUFFIX))


def dest_problem(dest):
    """Why dest cannot receive a bundle, without writing anything (check mode), or None."""
    path = dest
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    if not os.path.isdir(path):
        return "%s is not a directory" % path
    if not os.access(path, os.W_OK | os.X_OK):
        return "%s is not writable by this user" % path
    return None
