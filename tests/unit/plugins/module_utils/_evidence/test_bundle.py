# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for evidence_bundle.py: naming, the .partial-then-rename life cycle, modes,
checksums, the archive and safe tar extraction."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import io
import json
import os
import stat
import tarfile

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._evidence import bundle as evidence_bundle
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._evidence.bundle import (
    MAX_NAME,
    Bundle,
    bundle_name,
    extract_tar,
    safe_member_name,
    stale_partials,
)

MOMENT = datetime.datetime(2026, 11, 22, 3, 4, 5, tzinfo=datetime.timezone.utc)


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_bundle_name_format_and_sanitising():
    assert bundle_name("kwok-triage-a", "shop", "web-1", MOMENT) == "kwok-triage-a_shop_web-1_20261122T030405Z"
    name = bundle_name("arn:aws:eks:eu-west-1:123:cluster/prod", "shop", "web-1", MOMENT)
    assert name == "arn-aws-eks-eu-west-1-123-cluster-prod_shop_web-1_20261122T030405Z"
    assert "/" not in bundle_name("../../etc", "..", "x", MOMENT)
    assert len(bundle_name("c" * 300, "n" * 63, "p" * 253, MOMENT)) <= MAX_NAME


def test_collect_then_finalize(tmp_path):
    dest = str(tmp_path / "evidence")
    bundle = Bundle.create(dest, "b1")
    assert os.path.isdir(bundle.partial) and bundle.partial.endswith("b1.partial")
    assert _mode(bundle.partial) == 0o700 and _mode(dest) == 0o700
    bundle.write_text("logs/app.log", "line\n")
    with bundle.open("exec/01.stdout") as handle:
        handle.write(b"a" * 10)
        handle.write(b"b" * 5)
    assert not os.path.exists(bundle.final)
    final, sha, manifest = bundle.finalize({"bundle": "b1", "complete": True})
    assert final == os.path.join(dest, "b1") and not os.path.exists(bundle.partial)
    data = open(os.path.join(final, "manifest.json"), "rb").read()
    assert hashlib.sha256(data).hexdigest() == sha
    listed = json.loads(data)
    assert listed["complete"] is True and listed == manifest
    paths = [f["path"] for f in listed["files"]]
    assert paths == ["SHA256SUMS", "exec/01.stdout", "logs/app.log"]
    for entry in listed["files"]:  # read every file back
        content = open(os.path.join(final, entry["path"]), "rb").read()
        assert hashlib.sha256(content).hexdigest() == entry["sha256"] and len(content) == entry["size"]
        assert _mode(os.path.join(final, entry["path"])) == 0o600
    assert _mode(os.path.join(final, "logs")) == 0o700
    sums = open(os.path.join(final, "SHA256SUMS")).read().splitlines()
    assert sums[0].endswith("  exec/01.stdout") and len(sums) == 2
    assert listed["size_bytes"] == sum(f["size"] for f in listed["files"])


def test_files_are_created_exclusively(tmp_path):
    bundle = Bundle.create(str(tmp_path), "b")
    bundle.write_text("a.txt", "x")
    with pytest.raises(FileExistsError):
        bundle.open("a.txt")
    with pytest.raises(ValueError):
        bundle.open("../escape.txt")


def test_name_collision_gets_a_suffix(tmp_path):
    first = Bundle.create(str(tmp_path), "b")
    second = Bundle.create(str(tmp_path), "b")
    first.finalize({})
    third = Bundle.create(str(tmp_path), "b")
    assert (first.name, second.name, third.name) == ("b", "b-2", "b-3")


def test_dest_that_is_a_file_is_a_clear_error(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(TriageError, match="exists and is not a directory"):
        Bundle.create(str(target), "b")
    with pytest.raises(TriageError, match="cannot create the evidence directory"):
        Bundle.create(str(target / "below"), "b")


def test_a_failure_while_finishing_leaves_only_partial(tmp_path, monkeypatch):
    bundle = Bundle.create(str(tmp_path), "b")
    bundle.write_text("pod.yaml", "x")

    def broken_rename(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(evidence_bundle.os, "rename", broken_rename)
    with pytest.raises(TriageError, match="stays incomplete, as .partial.*No space left"):
        bundle.finalize({"complete": True})
    assert os.path.isdir(bundle.partial) and not os.path.exists(bundle.final)


def test_archive(tmp_path):
    bundle = Bundle.create(str(tmp_path), "b")
    bundle.write_text("logs/app.log", "hello\n")
    bundle.finalize({})
    path, sha, size = bundle.archive()
    assert path.endswith("b.tar.gz") and _mode(path) == 0o600
    assert hashlib.sha256(open(path, "rb").read()).hexdigest() == sha and os.path.getsize(path) == size
    with tarfile.open(path) as tar:
        names = tar.getnames()
        assert "b/logs/app.log" in names and "b/manifest.json" in names
        assert tar.extractfile("b/logs/app.log").read() == b"hello\n"
    assert not os.path.exists(path + ".partial")


def test_stale_partials(tmp_path):
    for name in ("ctx_ns_pod_20260101T000000Z.partial", "ctx_ns_pod_20260101T000000Z",
                 "ctx_ns_pod_20260101T000000Z.tar.gz.partial", "ctx_ns_other_20260101T000000Z.partial"):
        (tmp_path / name).mkdir()
    assert stale_partials(str(tmp_path), "ctx_ns_pod_") == ["ctx_ns_pod_20260101T000000Z.partial"]
    assert stale_partials(str(tmp_path / "missing"), "x") == []


@pytest.mark.parametrize("name,safe", [
    ("diag/heap.hprof", "diag/heap.hprof"), ("./a/./b", "a/b"), ("/etc/passwd", None), ("../x", None),
    ("a/../../x", None), ("", None), (".", None), ("C:/x", None), ("a\\..\\..\\x", None),
])
def test_safe_member_name(name, safe):
    assert safe_member_name(name) == safe


def _tar(path, members):
    with tarfile.open(path, "w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)


def _info(name, data=b"", kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size, info.mode = kind, linkname, len(data) if kind == tarfile.REGTYPE else 0, 0o644
    return info


def test_extract_tar_extracts_only_safe_regular_files(tmp_path):
    bundle = Bundle.create(str(tmp_path / "dest"), "b")
    tar_path = str(tmp_path / "in.tar")
    _tar(tar_path, [
        (_info("diag", kind=tarfile.DIRTYPE), None),
        (_info("diag/ok.txt", b"fine"), b"fine"),
        (_info("/etc/evil", b"x"), b"x"),
        (_info("../evil", b"x"), b"x"),
        (_info("diag/link", kind=tarfile.SYMTYPE, linkname="/etc/shadow"), None),
        (_info("diag/hard", kind=tarfile.LNKTYPE, linkname="diag/ok.txt"), None),
        (_info("diag/dev", kind=tarfile.CHRTYPE), None),
        (_info("diag/ok.txt", b"again"), b"again"),
        (_info("diag/big.bin", b"z" * 100), b"z" * 100),
    ])
    members = extract_tar(bundle, tar_path, "copy/01-diag", max_bytes=50)
    extracted = [m["name"] for m in members if m["extracted"] and m["type"] == "file"]
    assert extracted == ["diag/ok.txt"]
    notes = dict((m["name"], m.get("note", "")) for m in members if not m["extracted"])
    assert "unsafe" in notes["/etc/evil"] and "unsafe" in notes["../evil"]
    assert "symlink" in notes["diag/link"] and "hardlink" in notes["diag/hard"] and "device" in notes["diag/dev"]
    assert "size limit" in notes["diag/big.bin"]
    assert open(os.path.join(bundle.partial, "copy/01-diag/diag/ok.txt"), "rb").read() == b"fine"
    assert not os.path.exists(str(tmp_path / "evil")) and not os.path.exists(str(tmp_path / "dest" / "evil"))
    assert bundle.paths() == ["copy/01-diag/diag/ok.txt"]
