# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _evidence/extract.py: safe member names, only regular files extracted, the size
cap, no member whose name holds a secret."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import os
import tarfile

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._evidence.bundle import Bundle
from ansible_collections.triage.k8s.plugins.module_utils._evidence.extract import extract_tar, safe_member_name
from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact import compile_patterns
from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact_objects import Redaction


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


def test_member_names_that_hold_secrets(tmp_path):
    bundle = Bundle.create(str(tmp_path / "ev"), "b")
    bundle.redaction = Redaction(compile_patterns())
    tar_path = os.path.join(bundle.partial, "c.tar")
    _tar(tar_path, [(_info("password=opensesame", b"x"), b"x")])
    members = extract_tar(bundle, tar_path, "copy/01", 1 << 20)
    assert members[0]["extracted"] is False and "looks like a secret" in members[0]["note"]
