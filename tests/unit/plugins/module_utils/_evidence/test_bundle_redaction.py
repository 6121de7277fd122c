# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every file of a bundle passes the one rule set on its way in (text streamed line by line, YAML
and JSON value by value, copied text files, the manifest itself), except the raw tar stream of a
copy and copied binary files, which the manifest lists; and evidence_outcome reports what is on
disk after any failure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import tarfile

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._evidence import outcome
from ansible_collections.triage.k8s.plugins.module_utils._evidence.bundle import AUTO, RAW, Bundle, extract_tar
from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact import compile_patterns
from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact_objects import Redaction
from ansible_collections.triage.k8s.plugins.module_utils._evidence.secret_shapes import RULESET

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


def test_raw_files_and_member_names_that_hold_secrets(tmp_path):
    bundle = _bundle(tmp_path)
    bundle.write_bytes("raw.bin", LOG.encode(), RAW)
    with bundle.open("auto.txt", AUTO) as handle:
        handle.write(LOG.encode())
    tar_path = os.path.join(bundle.partial, "c.tar")
    with open(tar_path, "wb") as handle:
        handle.write(_tar([("password=opensesame", b"x")]))
    members = extract_tar(bundle, tar_path, "copy/01", 1 << 20)
    assert members[0]["extracted"] is False and "looks like a secret" in members[0]["note"]
    assert b"opensesame" not in open(os.path.join(bundle.partial, "auto.txt"), "rb").read()
    assert b"opensesame" in open(os.path.join(bundle.partial, "raw.bin"), "rb").read()


# -- what is on disk after a failure ------------------------------------------------------------------

def test_failure_before_the_bundle_is_finished_reports_the_partial(tmp_path):
    bundle = _bundle(tmp_path)
    bundle.write_text("pod.yaml", "x: 1\n")
    error = outcome.failure(TriageError("cannot finish the bundle: disk full", {"error_type": "dest"}), bundle, True)
    assert error.details["changed"] is True and error.details["partial"] == bundle.partial
    assert error.details["bundle"] is None and error.details["complete"] is False
    assert error.msg == ("cannot finish the bundle: disk full. Written: the incomplete %s (no manifest.json). "
                         "Not written: a finished bundle; the archive." % bundle.partial)


def test_failure_after_the_bundle_reports_it_and_the_annotation(tmp_path):
    bundle = _bundle(tmp_path)
    final, sha, _manifest = bundle.finalize({"complete": False})
    annotation = {"written": False, "error": "the PATCH failed: connection refused"}
    error = outcome.failure(TriageError("annotating failed", {"annotation": annotation}), bundle, False)
    details = error.details
    assert details["changed"] is True and details["bundle"] == final and details["partial"] is None
    assert details["complete"] is False and details["manifest_sha256"] == sha and details["annotation"] == annotation
    assert ("Written: the bundle %s (manifest.json: complete=False). Not written: the pod annotation "
            "triage.k8s/evidence (the PATCH failed: connection refused)." % final) in error.msg


def test_unknown_annotation_outcome_is_said(tmp_path):
    bundle = _bundle(tmp_path)
    bundle.finalize({"complete": True})
    bundle.archive()
    text = outcome.summary(outcome.on_disk(bundle), True, {"written": None, "error": "cannot read the pod"})
    assert "the archive %s.tar.gz" % bundle.final in text
    assert text.endswith("Not written: nothing. Unknown: whether the pod annotation triage.k8s/evidence landed "
                         "(cannot read the pod).")


def test_nothing_on_disk_is_not_a_change(tmp_path):
    bundle = _bundle(tmp_path)
    os.rmdir(bundle.partial)
    error = outcome.failure(TriageError("gone"), bundle, False)
    assert error.details["changed"] is False and "Written: nothing. Not written: any bundle." in error.msg
