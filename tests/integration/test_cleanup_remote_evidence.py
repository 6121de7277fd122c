"""quarantine_cleanup with require_evidence: remote against a real S3 server (versitygw on
127.0.0.1): an expired pod goes only when the annotation names a copy in the trusted bucket and
prefix and that copy verifies there now.

The bundles are put into the store here with boto3, as a bundle is laid out after pod_evidence's
upload (manifest.json listing every file with its size and sha256; docs/storage.md); the
annotation carries the remote record pod_evidence writes after it verified (docs/contract.md).
"""

import datetime
import hashlib
import json

from ansible_collections.triage.k8s.plugins.module_utils._contract import keys as c
from k8s_helpers import contract_pod_body, create, names_in

CLEANUP = "triage.k8s.quarantine_cleanup"
NOW = datetime.datetime.now(datetime.timezone.utc)
HOUR = datetime.timedelta(hours=1)
PREFIX = "evidence/"


def _store_bundle(s3, bucket, name, files=None, key_prefix=PREFIX):
    """Upload a bundle (files + manifest.json) under key_prefix/name/; return the annotation value."""
    files = files or {"logs/app.log": b"boom\n" * 100, "pod.yaml": b"kind: Pod\n"}
    listed = [{"path": p, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for p, d in sorted(files.items())]
    manifest = json.dumps({"format": "triage.k8s/evidence-bundle/v1", "bundle": name, "complete": True,
                           "files": listed}, indent=2, sort_keys=True).encode()
    prefix = "%s%s/" % (key_prefix, name)
    client = s3.client()
    for path, data in list(files.items()) + [("manifest.json", manifest)]:
        client.put_object(Bucket=bucket, Key=prefix + path, Body=data, ChecksumAlgorithm="SHA256")
    remote = {"url": "s3://%s/%s" % (bucket, prefix), "bucket": bucket, "prefix": prefix,
              "manifest_key": prefix + "manifest.json", "endpoint": s3.endpoint, "objects": len(files) + 1,
              "verified_at": "2026-12-01T03:00:00Z"}
    return {"bundle": name, "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
            "collected_at": "2026-12-01T03:00:00Z", "remote": remote}


def _pod(api, namespace, name, evidence):
    extra = {c.ANN_EVIDENCE: json.dumps(evidence, sort_keys=True, separators=(",", ":"))} if evidence else {}
    create(api, namespace, contract_pod_body(name, NOW - 3 * HOUR, NOW - HOUR,
                                             extra_annotations=extra))


def test_only_pods_whose_remote_evidence_verifies_are_deleted(api, namespace, ansible, s3, s3_bucket):
    client = s3.client()
    good = _store_bundle(s3, s3_bucket, "good")
    tampered = _store_bundle(s3, s3_bucket, "tampered")
    client.put_object(Bucket=s3_bucket, Key=tampered["remote"]["manifest_key"], Body=b"{}")  # overwritten since
    missing = _store_bundle(s3, s3_bucket, "missing")
    client.delete_object(Bucket=s3_bucket, Key=missing["remote"]["prefix"] + "logs/app.log")
    other_bucket = s3.make_bucket()
    foreign = _store_bundle(s3, other_bucket, "foreign")
    outside = _store_bundle(s3, s3_bucket, "outside", key_prefix="elsewhere/")
    for name, evidence in (("good", good), ("tampered", tampered), ("missing", missing), ("foreign", foreign),
                           ("outside", outside), ("local-only", dict(good, remote=None)), ("none", None)):
        _pod(api, namespace, name, evidence)
    args = {"namespaces": [namespace], "grace_period": 0, "require_evidence": "remote",
            "storage": s3.storage(s3_bucket, prefix=PREFIX)}

    planned = ansible.module(CLEANUP, args, check=True)
    assert [p["name"] for p in planned["pods_deleted"]] == ["good"], planned
    assert len(names_in(api, namespace)) == 7  # check mode deletes nothing

    result = ansible.module(CLEANUP, args)

    assert result["changed"] is True and not result.get("failed"), result
    assert [p["name"] for p in result["pods_deleted"]] == ["good"]
    assert result["pods_deleted"][0]["evidence_url"] == good["remote"]["url"]
    why = dict((p["name"], p["why"]) for p in result["pods_skipped"])
    assert "does not verify" in why["tampered"] and "does not verify" in why["missing"], why
    assert "outside the storage this cleanup trusts" in why["foreign"]
    assert "outside the storage this cleanup trusts" in why["outside"]
    assert "no remote copy" in why["local-only"]
    assert "no evidence was collected" in why["none"]
    assert s3.secret_key not in json.dumps(result)


def test_a_store_that_cannot_be_asked_keeps_every_pod(api, namespace, ansible, fresh_s3):
    bucket = fresh_s3.make_bucket()
    _pod(api, namespace, "good", _store_bundle(fresh_s3, bucket, "good"))
    args = {"namespaces": [namespace], "grace_period": 0, "require_evidence": "remote",
            "storage": fresh_s3.storage(bucket, prefix=PREFIX, retries=1)}
    wrong = ansible.module(CLEANUP, dict(args, storage=dict(args["storage"], secret_key="wrong-" + fresh_s3.secret_key)))
    assert wrong["changed"] is False and wrong["pods_deleted"] == [], wrong
    assert "could not be checked" in wrong["pods_skipped"][0]["why"], wrong
    assert fresh_s3.secret_key not in json.dumps(wrong)

    fresh_s3.stop()
    down = ansible.module(CLEANUP, args)
    assert down["changed"] is False and down["pods_deleted"] == [], down
    assert "could not be checked" in down["pods_skipped"][0]["why"]
    assert any("could not be checked" in w for w in down.get("warnings", [])), down
    assert names_in(api, namespace) == ["good"]


def test_remote_needs_a_bucket(ansible, namespace):
    result = ansible.module(CLEANUP, {"namespaces": [namespace], "require_evidence": "remote"})
    assert result["failed"] and "storage.bucket" in result["msg"] and "nothing was deleted" in result["msg"]
    bad = ansible.module(CLEANUP, {"namespaces": [namespace], "require_evidence": "sometimes"})
    assert bad["failed"] and "true, false or remote" in bad["msg"]
