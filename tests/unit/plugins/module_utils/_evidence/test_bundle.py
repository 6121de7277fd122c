# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _evidence/bundle.py: naming, the .partial-then-rename life cycle, modes,
checksums, the archive, dest checks; and every file of a bundle passes the one rule set on its way
in (text streamed line by line, YAML and JSON value by value, copied text files, the manifest
itself), except the raw tar stream of a copy and copied binary files, which the manifest lists."""

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
    AUTO,
    MAX_NAME,
    RAW,
    Bundle,
    bundle_name,
    dest_problem,
    stale_partials,
)
from ansible_collections.triage.k8s.plugins.module_utils._evidence.extract import extract_tar
from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact import compile_patterns
from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact_objects import Redaction
from ansible_collections.triage.k8s.plugins.module_utils._evidence.secret_shapes import RULESET

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


def test_interrupted_lists_the_other_partials_of_the_same_pod(tmp_path):
    for name in ("ctx_ns_pod_20260101T000000Z.partial", "ctx_ns_other_20260101T000000Z.partial"):
        (tmp_path / name).mkdir()
    bundle = Bundle.create(str(tmp_path), "ctx_ns_pod_20261122T030405Z")
    again = Bundle.create(str(tmp_path), "ctx_ns_pod_20261122T030405Z")
    assert again.name == "ctx_ns_pod_20261122T030405Z-2"
    assert bundle.interrupted() == ["ctx_ns_pod_20260101T000000Z.partial", "ctx_ns_pod_20261122T030405Z-2.partial"]
    assert again.interrupted() == ["ctx_ns_pod_20260101T000000Z.partial", "ctx_ns_pod_20261122T030405Z.partial"]


def test_dest_problem(tmp_path):
    assert dest_problem(str(tmp_path)) is None
    assert dest_problem(str(tmp_path / "not" / "yet")) is None  # created later, below a writable directory
    (tmp_path / "file").write_text("x")
    assert dest_problem(str(tmp_path / "file" / "below")) == "%s is not a directory" % (tmp_path / "file")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(str(locked), os.W_OK):  # root writes anywhere
            assert dest_problem(str(locked / "x")) == "%s is not writable by this user" % locked
    finally:
        locked.chmod(0o700)


# -- redaction of every file -----------------------------------------------------------------------

SECRETS = ["PWredis1", "abcdef0123456789", "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "PWmysql9", "opensesame",
           "ghp_" + "x" * 36]
LOG = ("connecting redis://:PWredis1@redis:6379\nSECRET_KEY_BASE=abcdef0123456789\n"
       "STRIPE_SECRET_KEY=sk_live_4eC39HqLyjWDarjtT1zdp7dc\nrunning mysql -pPWmysql9\npass=opensesame\n"
       "token ghp_" + "x" * 36 + "\nordinary line: keyboard, passed 3 tests, -port 80\n")


def _bundle(tmp_path, redact=True):
    bundle = Bundle.create(str(tmp_path / "ev"), "b")
    bundle.redaction = Redaction(compile_patterns() if redact else [])
    return bundle


def _files(root):
    for directory, _dirs, files in os.walk(root):
        for name in files:
            with open(os.path.join(directory, name), "rb") as handle:
                yield os.path.relpath(os.path.join(directory, name), root), handle.read()


def _tar(members):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def test_every_file_is_redacted_with_one_rule_set(tmp_path):
    bundle = _bundle(tmp_path)
    with bundle.open("logs/app.log") as handle:  # streamed in odd pieces
        data = LOG.encode()
        for start in range(0, len(data), 7):
            handle.write(data[start:start + 7])
    bundle.write_text("describe.txt", "Events:\n  Warning  BackOff  " + LOG.splitlines()[0] + "\n")
    bundle.write_yaml("events.yaml", [{"message": line} for line in LOG.splitlines()])
    bundle.write_json("exec/01.result.json", {"command": ["mysql", "-p", "PWmysql9"], "stderr": LOG})
    tar_path = os.path.join(bundle.partial, "copy.tar")
    with open(tar_path, "wb") as handle:
        handle.write(_tar([("etc/app.env", LOG.encode()), ("heap.bin", b"\x00\x01" + LOG.encode())]))
    extract_tar(bundle, tar_path, "copy/01", 1 << 20)
    os.unlink(tar_path)
    final, _sha, manifest = bundle.finalize({"complete": True, "notes": {"db_password": "opensesame",
                                                                         "why": "saw " + LOG.splitlines()[1]}})
    for rel, data in _files(final):
        if rel == "copy/01/heap.bin":
            assert b"PWredis1" in data  # binary copies are kept as they came, and listed
            continue
        for secret in SECRETS:
            assert secret.encode() not in data, (rel, secret)
    log = open(os.path.join(final, "logs/app.log")).read()
    assert "ordinary line: keyboard, passed 3 tests, -port 80" in log
    assert "redis://:<redacted>@redis:6379" in log and "mysql -p<redacted>" in log
    record = manifest["redaction"]
    assert record["enabled"] is True and record["rules"] == RULESET
    assert record["not_redacted"] == [{"path": "copy/01/heap.bin", "reason": "binary (NUL bytes in its first 8192 bytes)"}]
    assert record["total"] == manifest["redactions"] == sum(record["by_shape"].values())
    for shape in ("url_credentials", "assignment", "mysql_password_flag", "github_token", "secret_key_value"):
        assert record["by_shape"].get(shape), (shape, record["by_shape"])
    assert manifest["notes"]["db_password"] == "<redacted>"
    assert json.loads(open(os.path.join(final, "manifest.json")).read()) == manifest


def test_redact_false_writes_everything_as_it_came(tmp_path):
    bundle = _bundle(tmp_path, redact=False)
    bundle.write_text("logs/app.log", LOG)
    bundle.write_yaml("events.yaml", [{"message": LOG}])
    final, _sha, manifest = bundle.finalize({"complete": True})
    assert open(os.path.join(final, "logs/app.log")).read() == LOG
    assert manifest["redaction"]["enabled"] is False and manifest["redactions"] == 0


def test_raw_and_auto_files(tmp_path):
    bundle = _bundle(tmp_path)
    bundle.write_bytes("raw.bin", LOG.encode(), RAW)
    with bundle.open("auto.txt", AUTO) as handle:
        handle.write(LOG.encode())
    assert b"opensesame" not in open(os.path.join(bundle.partial, "auto.txt"), "rb").read()
    assert b"opensesame" in open(os.path.join(bundle.partial, "raw.bin"), "rb").read()
