"""triage.k8s.evidence_upload against a real S3 server (versitygw on 127.0.0.1, tests/integration/s3server.py):
files, directories and bundles land under their keys and are read back; a second run changes nothing; check
mode uploads nothing; a bundle that does not match its manifest, an unsafe key, wrong credentials and a store
that goes away mid-upload each fail clearly, saying what was and was not written."""

import base64
import hashlib
import json
import os
import socket
import uuid


MIB = 1024 * 1024


def _upload(ansible, check=False, env=None, **params):
    return ansible.module("triage.k8s.evidence_upload", params, check=check, auth=False, env=env)


def _write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def _bundle(root, name="kind-a_shop_web-1_20261201T030405Z"):
    """A bundle as pod_evidence leaves it: files, SHA256SUMS, manifest.json listing them."""
    bundle = os.path.join(root, name)
    files = {"pod.yaml": b"kind: Pod\n", "logs/app.log": b"started\nboom\n"}
    for rel, data in files.items():
        _write(os.path.join(bundle, rel), data)
    listed = [{"path": rel, "size": len(data), "sha256": _sha(data)} for rel, data in files.items()]
    sums = "".join("%s  %s\n" % (f["sha256"], f["path"]) for f in sorted(listed, key=lambda f: f["path"])).encode()
    _write(os.path.join(bundle, "SHA256SUMS"), sums)
    listed.append({"path": "SHA256SUMS", "size": len(sums), "sha256": _sha(sums)})
    manifest = json.dumps({"bundle": name, "complete": True, "files": sorted(listed, key=lambda f: f["path"])},
                          indent=2, sort_keys=True).encode()
    _write(os.path.join(bundle, "manifest.json"), manifest)
    return bundle


def test_files_and_directories_are_uploaded_verified_and_a_second_run_changes_nothing(ansible, tmp_path, s3, s3_bucket):
    report = _write(str(tmp_path / "fleet.json"), b'{"unhealthy": 3}\n')
    bundle = _bundle(str(tmp_path))
    storage = s3.storage(s3_bucket, prefix="prod")
    result = _upload(ansible, src=[report, bundle], key_prefix="reports/crashloop/2026-12-01T030405Z/", storage=storage)
    assert not result.get("failed") and result["changed"] is True and result["verified"] is True, result
    base = "prod/reports/crashloop/2026-12-01T030405Z/"
    name = os.path.basename(bundle)
    keys = [base + "fleet.json"] + [base + name + "/" + rel for rel in
                                    ("SHA256SUMS", "logs/app.log", "pod.yaml", "manifest.json")]
    assert [o["key"] for o in result["objects"]] == keys  # manifest.json last
    assert result["url"] == "s3://%s/%s" % (s3_bucket, base)
    assert set(o["status"] for o in result["objects"]) == {"uploaded"}
    assert sorted(s3.objects(s3_bucket)) == sorted(keys)
    client = s3.client()
    for obj in result["objects"]:
        with open(obj["path"], "rb") as handle:
            data = handle.read()
        head = client.head_object(Bucket=s3_bucket, Key=obj["key"], ChecksumMode="ENABLED")
        assert head["ContentLength"] == len(data) == obj["size"] and obj["sha256"] == _sha(data)
        assert base64.b64decode(head["ChecksumSHA256"]).hex() == obj["sha256"]
        assert obj["url"] == "s3://%s/%s" % (s3_bucket, obj["key"])

    again = _upload(ansible, src=[report, bundle], key_prefix="reports/crashloop/2026-12-01T030405Z", storage=storage)
    assert not again.get("failed") and again["changed"] is False and again["verified"] is True, again
    assert set(o["status"] for o in again["objects"]) == {"present"}
    assert "0 objects uploaded" in again["msg"] and "5 already there" in again["msg"]
    assert s3.secret_key not in json.dumps(result) + json.dumps(again)


def test_check_mode_uploads_nothing_and_says_what_would_be(ansible, tmp_path, s3, s3_bucket):
    one = _write(str(tmp_path / "a.txt"), b"a\n")
    two = _write(str(tmp_path / "b.txt"), b"b\n")
    storage = s3.storage(s3_bucket)
    result = _upload(ansible, check=True, src=[one, two], storage=storage)
    assert not result.get("failed") and result["changed"] is True, result
    assert [o["status"] for o in result["objects"]] == ["would_upload", "would_upload"]
    assert "check mode: nothing was uploaded; 2 objects would be uploaded" in result["msg"]
    assert s3.objects(s3_bucket) == {}
    assert not _upload(ansible, src=[one], storage=storage).get("failed")
    result = _upload(ansible, check=True, src=[one, two], storage=storage)
    assert [o["status"] for o in result["objects"]] == ["present", "would_upload"] and result["changed"] is True
    assert list(s3.objects(s3_bucket)) == ["a.txt"]


def test_a_changed_object_is_uploaded_again(ansible, tmp_path, s3, s3_bucket):
    path = _write(str(tmp_path / "r.txt"), b"first\n")
    storage = s3.storage(s3_bucket)
    assert _upload(ansible, src=[path], storage=storage)["changed"] is True
    _write(path, b"second, longer\n")
    result = _upload(ansible, src=[path], storage=storage)
    assert result["changed"] is True and result["objects"][0]["status"] == "uploaded"
    body = s3.client().get_object(Bucket=s3_bucket, Key="r.txt")["Body"].read()
    assert body == b"second, longer\n"


def test_a_bundle_that_does_not_match_its_manifest_is_not_uploaded(ansible, tmp_path, s3, s3_bucket):
    bundle = _bundle(str(tmp_path))
    _write(os.path.join(bundle, "logs", "app.log"), b"started\nBOOM\n")  # same size, other content
    result = _upload(ansible, src=[bundle], storage=s3.storage(s3_bucket))
    assert result["failed"] is True and result["changed"] is False, result
    assert "changed since its manifest was written" in result["msg"] and "logs/app.log" in result["msg"]
    assert "Written: nothing" in result["msg"]
    assert s3.objects(s3_bucket) == {}  # every file is checked before the first request

    extra = _bundle(str(tmp_path), "other-bundle")
    _write(os.path.join(extra, "stray.txt"), b"not listed\n")
    result = _upload(ansible, src=[extra], storage=s3.storage(s3_bucket))
    assert result["failed"] is True and "files that manifest.json does not list: stray.txt" in result["msg"]


def test_unsafe_keys_and_sources_fail_before_any_request(ansible, tmp_path, s3, s3_bucket):
    path = _write(str(tmp_path / "a.txt"), b"a\n")
    os.symlink(path, str(tmp_path / "link.txt"))
    cases = [
        (dict(key_prefix="../../etc"), "has an empty, '.' or '..' segment"),
        (dict(key_prefix="/abs"), "starts with '/'"),
        (dict(key_prefix="a\x07b"), "control character"),
        (dict(storage=s3.storage("Bad_Bucket")), "bucket name 'Bad_Bucket' is not valid"),
        (dict(storage=s3.storage(s3_bucket, prefix="x/../y")), "'..' segment"),
        (dict(src=[str(tmp_path / "missing")]), "is not there"),
        (dict(src=[str(tmp_path / "link.txt")]), "symbolic link"),
        (dict(storage=s3.storage(s3_bucket, access_key=None)), "storage.access_key and storage.secret_key go together"),
    ]
    for extra, message in cases:
        params = dict(src=[path], storage=s3.storage(s3_bucket))
        params.update(extra)
        result = _upload(ansible, **params)
        assert result["failed"] is True and result["changed"] is False and message in result["msg"], (extra, result)
    assert s3.objects(s3_bucket) == {}


def test_wrong_credentials_are_a_clear_error_without_the_secret(ansible, tmp_path, s3, s3_bucket):
    path = _write(str(tmp_path / "a.txt"), b"a\n")
    wrong = "wrong-" + uuid.uuid4().hex
    result = _upload(ansible, src=[path], storage=s3.storage(s3_bucket, secret_key=wrong, retries=1))
    assert result["failed"] is True and result["changed"] is False, result
    assert "the S3 credentials were refused by %s (SignatureDoesNotMatch)" % s3.endpoint in result["msg"]
    assert result["error_type"] == "storage_credentials"
    assert wrong not in json.dumps(result)
    unknown = _upload(ansible, src=[path], storage=s3.storage(s3_bucket, access_key="NOSUCHKEY0000", retries=1))
    assert unknown["failed"] is True and "the S3 credentials were refused" in unknown["msg"], unknown
    assert s3.objects(s3_bucket) == {}


def test_credentials_and_endpoint_from_the_aws_environment(ansible, tmp_path, s3, s3_bucket):
    path = _write(str(tmp_path / "a.txt"), b"a\n")
    result = _upload(ansible, src=[path], storage={"bucket": s3_bucket, "sse": "AES256"}, env=s3.env())
    assert not result.get("failed") and result["verified"] is True, result
    assert list(s3.objects(s3_bucket)) == ["a.txt"]


def test_multipart_upload_is_verified_and_recognised_with_another_part_size(ansible, tmp_path, s3, s3_bucket):
    data = os.urandom(11 * MIB + 123)
    path = _write(str(tmp_path / "big.log"), data)
    result = _upload(ansible, src=[path], storage=s3.storage(s3_bucket, part_size=5))
    assert not result.get("failed") and result["objects"][0]["status"] == "uploaded", result
    head = s3.client().head_object(Bucket=s3_bucket, Key="big.log", ChecksumMode="ENABLED")
    assert head["ChecksumType"] == "COMPOSITE" and head["ChecksumSHA256"].endswith("-3")
    parts = [hashlib.sha256(data[i:i + 5 * MIB]).digest() for i in range(0, len(data), 5 * MIB)]
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"".join(parts)).digest()).decode() + "-3"
    # Another part size: the composite checksum cannot tell, so the object is read back: present.
    again = _upload(ansible, src=[path], storage=s3.storage(s3_bucket, part_size=8))
    assert again["changed"] is False and again["objects"][0]["status"] == "present", again


def test_store_going_away_mid_upload(ansible, tmp_path, fresh_s3):
    """The first object lands, the server stops while the next one (200 MiB) is hashed or uploaded: the
    task fails, names what was written, changed=true; once the store is back a rerun finishes the job."""
    bucket = fresh_s3.make_bucket()
    small = _write(str(tmp_path / "src" / "a-small.txt"), b"small\n")
    big = str(tmp_path / "src" / "b-big.bin")
    with open(big, "wb") as handle:
        for _i in range(200):
            handle.write(os.urandom(MIB))
    storage = fresh_s3.storage(bucket, retries=2, part_size=5)
    with ansible.module_in_background("triage.k8s.evidence_upload", {"src": [small, big], "storage": storage},
                                      auth=False) as run:
        run.wait_for(lambda: "a-small.txt" in fresh_s3.objects(bucket), 120, "the first object to land")
        fresh_s3.stop()
    result = run.result
    assert result["failed"] is True and result["changed"] is True, result
    # The store may stop before or after the first object is read back: written either way, and said so.
    statuses = [(o["key"], o["status"]) for o in result["objects"]]
    assert statuses in ([("a-small.txt", "uploaded")], [("a-small.txt", "uploaded_unverified")]), statuses
    assert "cannot reach the S3 endpoint %s" % fresh_s3.endpoint in result["msg"], result["msg"]
    assert "Written: 1 objects under s3://%s/" % bucket in result["msg"] and "Not written: 1 objects (b-big.bin)" in \
        result["msg"]
    assert os.path.getsize(big) == 200 * MIB  # nothing local is touched

    fresh_s3.start()
    assert "b-big.bin" not in fresh_s3.objects(bucket)
    rerun = _upload(ansible, src=[small, big], storage=storage)
    assert not rerun.get("failed"), rerun
    assert [o["status"] for o in rerun["objects"]] == ["present", "uploaded"] and rerun["changed"] is True
    assert fresh_s3.objects(bucket)["b-big.bin"] == 200 * MIB


def test_a_store_that_comes_back_within_the_retries(ansible, tmp_path, fresh_s3):
    """botocore's standard retries (exponential backoff with jitter): the first request reaches a
    listener on the store's port that hangs up at once; the store starts then, a later attempt
    reaches it, and the upload succeeds."""
    bucket = fresh_s3.make_bucket()
    path = _write(str(tmp_path / "a.txt"), b"after the restart\n")
    storage = fresh_s3.storage(bucket, retries=12)
    fresh_s3.stop()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", fresh_s3.port))
    listener.listen(8)
    listener.settimeout(120)
    with ansible.module_in_background("triage.k8s.evidence_upload", {"src": [path], "storage": storage},
                                      auth=False) as run:
        conn, _addr = listener.accept()  # the module's first request
        conn.close()
        listener.close()
        fresh_s3.start()
    result = run.result
    assert not result.get("failed") and result["objects"][0]["status"] == "uploaded", result
    assert fresh_s3.objects(bucket) == {"a.txt": len(b"after the restart\n")}
