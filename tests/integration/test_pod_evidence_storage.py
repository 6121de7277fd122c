"""pod_evidence with `storage` against a real S3 server (versitygw on 127.0.0.1, tests/integration/s3server.py):
every object of the bundle lands and is read back, the triage.k8s/evidence annotation names the verified copy
(written once, with `remote`), and every way the store can fail keeps the local bundle, annotates without
`remote`, and says what was and was not written."""

import base64
import hashlib
import json
import os
import sys


from k8s_helpers import create, deployment_body, our_events, quarantine, serve_logs, wait_ready_pods

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, ".build", "collections"))

from ansible_collections.triage.k8s.plugins.module_utils._s3.client import connect  # noqa: E402
from ansible_collections.triage.k8s.plugins.module_utils._s3.verify import verify_remote  # noqa: E402

EVIDENCE = "triage.k8s/evidence"


def _quarantined_pod(core, api, namespace, ansible, app="web"):
    create(api, namespace, deployment_body(app, 2, {"app": app}))
    pods = wait_ready_pods(core, namespace, 2, "app=%s" % app)
    name = sorted(p.metadata.name for p in pods)[0]
    assert quarantine(ansible, name, namespace, reason="storage test")["changed"] is True
    return name


def _evidence(ansible, name, namespace, check=False, env=None, **params):
    params.setdefault("include", ["manifest", "describe", "events", "logs"])
    return ansible.module("triage.k8s.pod_evidence", dict(params, name=name, namespace=namespace), check=check,
                          env=env)


def _annotation(core, name, namespace):
    value = (core.read_namespaced_pod(name, namespace).metadata.annotations or {}).get(EVIDENCE)
    return json.loads(value) if value else None


def _manifest(bundle):
    with open(os.path.join(bundle, "manifest.json"), "rb") as handle:
        raw = handle.read()
    return json.loads(raw), hashlib.sha256(raw).hexdigest()


def _sha(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _verify(s3, bucket, remote, sha):
    return verify_remote(connect(s3.storage(bucket, retries=1)), remote, sha)


def test_bundle_is_stored_verified_and_named_in_the_annotation(core, api, namespace, ansible, tmp_path, s3, s3_bucket):
    name = _quarantined_pod(core, api, namespace, ansible)
    result = _evidence(ansible, name, namespace, dest=str(tmp_path / "ev"), storage=s3.storage(s3_bucket, prefix="prod/eu"))
    assert not result.get("failed") and result["changed"] is True, result
    manifest, sha = _manifest(result["bundle"])
    prefix = "prod/eu/%s/" % result["bundle_name"]
    remote = result["remote"]
    assert remote["verified"] is True and remote["error"] is None
    assert remote["url"] == "s3://%s/%s" % (s3_bucket, prefix)
    # Every file of the manifest at its relative path, then manifest.json (last), each read back.
    expected = [prefix + f["path"] for f in manifest["files"]] + [prefix + "manifest.json"]
    assert [o["key"] for o in remote["objects"]] == expected
    assert set(o["status"] for o in remote["objects"]) == {"uploaded"}
    stored = s3.objects(s3_bucket, "prod/")
    assert sorted(stored) == sorted(expected)
    client = s3.client()
    for entry in manifest["files"]:
        head = client.head_object(Bucket=s3_bucket, Key=prefix + entry["path"], ChecksumMode="ENABLED")
        assert head["ContentLength"] == entry["size"]
        assert base64.b64decode(head["ChecksumSHA256"]).hex() == entry["sha256"]
    body = client.get_object(Bucket=s3_bucket, Key=prefix + "manifest.json")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == sha == result["manifest_sha256"]

    # The annotation, written once, names the verified copy (docs/contract.md).
    value = (core.read_namespaced_pod(name, namespace).metadata.annotations or {})[EVIDENCE]
    recorded = json.loads(value)
    assert value == json.dumps(recorded, sort_keys=True, separators=(",", ":"))
    assert recorded["manifest_sha256"] == sha and recorded["bundle"] == result["bundle_name"]
    assert recorded["remote"] == dict(result["remote"]["record"])
    rem = recorded["remote"]
    assert rem["url"] == remote["url"] and rem["bucket"] == s3_bucket and rem["prefix"] == prefix
    assert rem["manifest_key"] == prefix + "manifest.json" and rem["endpoint"] == s3.endpoint
    assert rem["objects"] == len(expected) and rem["verified_at"].endswith("Z")
    assert "Written:" in result["msg"] and "the remote copy at %s (%d objects, verified)" % (
        remote["url"], len(expected)) in result["msg"]
    # Cleanup's check (verify_remote) agrees; the Event names the copy.
    assert _verify(s3, s3_bucket, rem, sha)[0] is True
    notes = [e.note for e in our_events(api, namespace, name) if e.reason == "EvidenceCollected"]
    assert notes and "stored and verified at %s" % remote["url"] in notes[-1]
    # The secret key is in no result.
    assert s3.secret_key not in json.dumps(result)


def test_verify_remote_finds_a_changed_or_missing_object(core, api, namespace, ansible, tmp_path, s3, s3_bucket):
    name = _quarantined_pod(core, api, namespace, ansible)
    result = _evidence(ansible, name, namespace, dest=str(tmp_path / "ev"), storage=s3.storage(s3_bucket))
    assert not result.get("failed"), result
    rem, sha = _annotation(core, name, namespace)["remote"], result["manifest_sha256"]
    assert _verify(s3, s3_bucket, rem, sha) == (True, _verify(s3, s3_bucket, rem, sha)[1])
    # The wrong manifest checksum (another bundle's annotation) does not verify.
    verified, why = _verify(s3, s3_bucket, rem, "0" * 64)
    assert verified is False and "the annotation records %s" % ("0" * 64) in why
    client = s3.client()
    key = rem["prefix"] + "pod.yaml"
    original = client.get_object(Bucket=s3_bucket, Key=key)["Body"].read()
    client.put_object(Bucket=s3_bucket, Key=key, Body=original.replace(b"name:", b"nome:"))
    verified, why = _verify(s3, s3_bucket, rem, sha)
    assert verified is False and "pod.yaml" in why and "sha256" in why.lower()
    client.delete_object(Bucket=s3_bucket, Key=key)
    verified, why = _verify(s3, s3_bucket, rem, sha)
    assert verified is False and why == "s3://%s/%s is missing (listed in manifest.json)" % (s3_bucket, key)
    # A record pointing elsewhere is not verified, without an error.
    verified, why = _verify(s3, s3_bucket, dict(rem, manifest_key=rem["prefix"] + "nope.json"), sha)
    assert verified is False and why.endswith("nope.json is not there")


def test_check_mode_uploads_nothing(core, api, namespace, ansible, tmp_path, s3, s3_bucket):
    name = _quarantined_pod(core, api, namespace, ansible)
    result = _evidence(ansible, name, namespace, check=True, dest=str(tmp_path / "ev"), storage=s3.storage(s3_bucket))
    assert not result.get("failed"), result
    assert result["would_collect"]["remote"].startswith("s3://%s/" % s3_bucket)
    assert "nothing was collected, written or uploaded" in result["msg"]
    assert s3.objects(s3_bucket) == {} and not (tmp_path / "ev").exists()
    assert _annotation(core, name, namespace) is None


def _assert_kept_without_remote(core, name, namespace, result, bucket_url):
    assert result["failed"] is True and result["changed"] is True, result
    assert "Not written: the remote copy at %s" % bucket_url in result["msg"], result["msg"]
    assert "Written: the bundle %s" % result["bundle"] in result["msg"]
    assert "the pod annotation triage.k8s/evidence" in result["msg"].split(" Not written: ")[0]
    manifest, sha = _manifest(result["bundle"])  # the local bundle is kept, complete
    for entry in manifest["files"]:
        assert _sha(os.path.join(result["bundle"], entry["path"])) == entry["sha256"]
    recorded = _annotation(core, name, namespace)
    assert recorded["manifest_sha256"] == sha and "remote" not in recorded
    assert result["remote"]["verified"] is False and result["remote"]["error"]


def test_wrong_credentials_keep_the_bundle_and_annotate_without_remote(core, api, namespace, ansible, tmp_path, s3,
                                                                       s3_bucket):
    name = _quarantined_pod(core, api, namespace, ansible)
    storage = s3.storage(s3_bucket, secret_key="not-the-secret-%s" % s3.access_key, retries=1)
    result = _evidence(ansible, name, namespace, dest=str(tmp_path / "ev"), storage=storage)
    _assert_kept_without_remote(core, name, namespace, result, "s3://%s/" % s3_bucket)
    assert "the S3 credentials were refused" in result["msg"] and "SignatureDoesNotMatch" in result["msg"]
    assert storage["secret_key"] not in json.dumps(result)
    assert s3.objects(s3_bucket) == {}


def test_store_that_is_down_keeps_the_bundle(core, api, namespace, ansible, tmp_path, fresh_s3):
    bucket = fresh_s3.make_bucket()
    name = _quarantined_pod(core, api, namespace, ansible)
    fresh_s3.stop()
    result = _evidence(ansible, name, namespace, dest=str(tmp_path / "ev"), storage=fresh_s3.storage(bucket, retries=2))
    _assert_kept_without_remote(core, name, namespace, result, "s3://%s/" % bucket)
    assert "cannot reach the S3 endpoint %s" % fresh_s3.endpoint in result["msg"]
    assert result["remote"]["error_type"] == "storage_connection"
    fresh_s3.start()
    assert fresh_s3.objects(bucket) == {}


def test_missing_bucket_is_a_clear_error(core, api, namespace, ansible, tmp_path, s3):
    name = _quarantined_pod(core, api, namespace, ansible)
    result = _evidence(ansible, name, namespace, dest=str(tmp_path / "ev"), storage=s3.storage("no-such-bucket-here"))
    _assert_kept_without_remote(core, name, namespace, result, "s3://no-such-bucket-here/")
    assert "the bucket no-such-bucket-here does not exist at %s" % s3.endpoint in result["msg"]


def test_bad_storage_options_fail_before_anything_is_written(core, api, namespace, ansible, tmp_path, s3, s3_bucket):
    name = _quarantined_pod(core, api, namespace, ansible)
    for storage, message in ((s3.storage("UPPER_case"), "bucket name 'UPPER_case' is not valid"),
                             (s3.storage(s3_bucket, prefix="../escape"), "has an empty, '.' or '..' segment"),
                             (s3.storage(s3_bucket, prefix="/abs"), "starts with '/'"),
                             (s3.storage(s3_bucket, part_size=1), "S3 takes parts of 5 MiB to 5120 MiB")):
        result = _evidence(ansible, name, namespace, dest=str(tmp_path / "ev"), storage=storage)
        assert result["failed"] is True and result["changed"] is False and message in result["msg"], result
    assert not (tmp_path / "ev").exists() and _annotation(core, name, namespace) is None
    assert s3.objects(s3_bucket) == {}


def test_archive_mode_stores_the_archive_and_the_manifest(core, api, namespace, ansible, tmp_path, s3, s3_bucket):
    name = _quarantined_pod(core, api, namespace, ansible)
    result = _evidence(ansible, name, namespace, dest=str(tmp_path / "ev"), archive=True,
                       storage=s3.storage(s3_bucket, prefix="ev"))
    assert not result.get("failed"), result
    bundle = result["bundle_name"]
    assert s3.objects(s3_bucket) == {"ev/%s.tar.gz" % bundle: result["archive_size"],
                                     "ev/%s/manifest.json" % bundle: os.path.getsize(
                                         os.path.join(result["bundle"], "manifest.json"))}
    rem = _annotation(core, name, namespace)["remote"]
    assert rem["archive"] == {"key": "ev/%s.tar.gz" % bundle, "sha256": result["archive_sha256"],
                              "size": result["archive_size"]}
    assert rem["objects"] == 2 and rem["prefix"] == "ev/%s/" % bundle
    assert _verify(s3, s3_bucket, rem, result["manifest_sha256"])[0] is True
    # A replaced archive does not verify.
    s3.client().put_object(Bucket=s3_bucket, Key=rem["archive"]["key"], Body=b"not the archive")
    verified, why = _verify(s3, s3_bucket, rem, result["manifest_sha256"])
    assert verified is False and ".tar.gz" in why


def test_large_log_is_uploaded_in_parts_and_verified(core, api, namespace, ansible, tmp_path, workdir, s3, s3_bucket):
    name = _quarantined_pod(core, api, namespace, ansible)
    lines = ["line %07d %s" % (i, "abcdef0123456789" * 6) for i in range(70000)]  # about 7.5 MiB of log
    serve_logs(api, namespace, name, workdir, {"app": (lines, [])})
    result = _evidence(ansible, name, namespace, dest=str(tmp_path / "ev"), include=["manifest", "logs"],
                       storage=s3.storage(s3_bucket, part_size=5, sse="AES256"))
    assert not result.get("failed"), result
    log = os.path.join(result["bundle"], "logs", "app.log")
    assert os.path.getsize(log) > 5 * 1024 * 1024
    key = result["remote"]["record"]["prefix"] + "logs/app.log"
    head = s3.client().head_object(Bucket=s3_bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ChecksumType"] == "COMPOSITE" and head["ChecksumSHA256"].endswith("-2")
    assert head["ContentLength"] == os.path.getsize(log)
    assert _verify(s3, s3_bucket, result["remote"]["record"], result["manifest_sha256"])[0] is True


def test_credentials_from_the_aws_environment(core, api, namespace, ansible, tmp_path, s3, s3_bucket):
    """What an AWX credential injects: AWS_* variables, and only the bucket in the task."""
    name = _quarantined_pod(core, api, namespace, ansible)
    result = _evidence(ansible, name, namespace, dest=str(tmp_path / "ev"), storage={"bucket": s3_bucket},
                       env=s3.env())
    assert not result.get("failed"), result
    rem = _annotation(core, name, namespace)["remote"]
    assert rem["endpoint"] == s3.endpoint and rem["objects"] == len(s3.objects(s3_bucket))


def test_a_pod_that_is_not_quarantined_is_stored_but_not_annotated(core, api, namespace, ansible, tmp_path, s3,
                                                                   s3_bucket):
    create(api, namespace, deployment_body("solo", 1, {"app": "solo"}))
    name = wait_ready_pods(core, namespace, 1, "app=solo")[0].metadata.name
    result = _evidence(ansible, name, namespace, dest=str(tmp_path / "ev"), storage=s3.storage(s3_bucket))
    assert not result.get("failed") and result["remote"]["verified"] is True, result
    assert result["annotation"]["written"] is False and _annotation(core, name, namespace) is None


def test_collect_evidence_playbook_uploads_with_triage_storage(core, api, namespace, ansible, tmp_path, s3, s3_bucket):
    """The evidence role as AWX runs it: connection and S3 credentials from the environment (credentials),
    only the bucket and prefix in triage_storage (an extra variable)."""
    name = _quarantined_pod(core, api, namespace, ansible)
    proc = ansible.playbook(os.path.join(REPO, "playbooks", "collect_evidence.yml"), extra_vars={
        "pod": name, "namespace": namespace, "dest": str(tmp_path / "bundles"),
        "triage_storage": {"bucket": s3_bucket, "prefix": "awx"}},
        env=dict(s3.env(), K8S_AUTH_KUBECONFIG=ansible.kubeconfig, K8S_AUTH_CONTEXT=ansible.context,
                 ANSIBLE_SHOW_CUSTOM_STATS="True"))  # the set_stats data AWX keeps as artifacts, printed
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (bundle,) = os.listdir(str(tmp_path / "bundles"))
    url = "s3://%s/awx/%s/" % (s3_bucket, bundle)
    assert "Stored and verified at %s" % url in proc.stdout
    assert '"remote_url": "%s"' % url in proc.stdout, proc.stdout[-3000:]
    rem = _annotation(core, name, namespace)["remote"]
    assert rem["prefix"] == "awx/%s/" % bundle and rem["objects"] == len(s3.objects(s3_bucket, "awx/"))
    assert s3.secret_key not in proc.stdout + proc.stderr


def test_collect_evidence_playbook_reports_a_failed_upload_before_failing(core, api, namespace, ansible, tmp_path,
                                                                          fresh_s3):
    """In an AWX job the local bundle is gone with the container: when the upload fails, the role still
    publishes what was written (the bundle, no remote_url, the error) as the AWX artifact, then fails."""
    name = _quarantined_pod(core, api, namespace, ansible)
    bucket = fresh_s3.make_bucket()
    fresh_s3.stop()
    proc = ansible.playbook(os.path.join(REPO, "playbooks", "collect_evidence.yml"), extra_vars={
        "pod": name, "namespace": namespace, "dest": str(tmp_path / "bundles"),
        "triage_storage": fresh_s3.storage(bucket, retries=0)},
        env={"K8S_AUTH_KUBECONFIG": ansible.kubeconfig, "K8S_AUTH_CONTEXT": ansible.context,
             "ANSIBLE_SHOW_CUSTOM_STATS": "True"})
    assert proc.returncode != 0, proc.stdout
    assert os.path.isdir(str(tmp_path / "bundles")), proc.stdout[-5000:]
    (bundle,) = os.listdir(str(tmp_path / "bundles"))
    assert "FAILED: " in proc.stdout and "Not written: the remote copy" in proc.stdout, proc.stdout[-4000:]
    assert '"bundle": "%s"' % os.path.join(str(tmp_path / "bundles"), bundle) in proc.stdout, proc.stdout[-4000:]
    assert '"remote_url": null' in proc.stdout
    assert "remote" not in (_annotation(core, name, namespace) or {})
    assert fresh_s3.secret_key not in proc.stdout + proc.stderr


def test_a_required_item_that_failed_is_still_stored_but_not_annotated(core, api, namespace, ansible, tmp_path,
                                                                       s3, s3_bucket):
    """What was collected outlives the host even when the task fails for a missing required item."""
    name = _quarantined_pod(core, api, namespace, ansible)
    result = _evidence(ansible, name, namespace, dest=str(tmp_path / "ev"), include=["manifest", "metrics"],
                       required=["metrics"], storage=s3.storage(s3_bucket))
    assert result["failed"] is True and result["changed"] is True
    assert "required evidence was not collected: metrics unavailable" in result["msg"]
    assert "the remote copy at %s (%d objects, verified)" % (
        result["remote"]["url"], len(result["remote"]["objects"])) in result["msg"]
    assert result["remote"]["verified"] is True and _annotation(core, name, namespace) is None


def test_store_going_away_in_the_middle_of_the_upload(core, api, namespace, ansible, tmp_path, workdir, fresh_s3):
    """The server stops after the first objects of the bundle landed, while a 40 MiB log goes up: the
    bundle is kept, the pod annotated without remote, the message names the remote copy as not written."""
    bucket = fresh_s3.make_bucket()
    name = _quarantined_pod(core, api, namespace, ansible)
    lines = ["line %07d %s" % (i, "0123456789abcdef" * 8) for i in range(300000)]  # about 40 MiB
    serve_logs(api, namespace, name, workdir, {"app": (lines, [])})
    del lines
    args = {"name": name, "namespace": namespace, "dest": str(tmp_path / "ev"), "include": ["manifest", "logs"],
            "storage": fresh_s3.storage(bucket, retries=1, part_size=5),
            "kubeconfig": ansible.kubeconfig, "context": ansible.context}
    with ansible.module_in_background("triage.k8s.pod_evidence", args) as run:
        run.wait_for(lambda: any(k.endswith("/SHA256SUMS") for k in fresh_s3.objects(bucket)), 180,
                     "the first object to land")
        fresh_s3.stop()
    result = run.result
    _assert_kept_without_remote(core, name, namespace, result, "s3://%s/" % bucket)
    assert "cannot reach the S3 endpoint %s" % fresh_s3.endpoint in result["msg"], result["msg"]
    uploaded = [o["key"].rsplit("/", 1)[1] for o in result["remote"]["objects"]]
    assert "SHA256SUMS" in uploaded and "manifest.json" not in uploaded
    # Read back or not (the store may stop between a PUT and its read-back), what landed is said.
    assert "objects of it were uploaded" in result["msg"] and result["changed"] is True, result["msg"]
    assert os.path.getsize(os.path.join(result["bundle"], "logs", "app.log")) > 30 * 1024 * 1024
    fresh_s3.start()
    assert not [k for k in fresh_s3.objects(bucket) if k.endswith("manifest.json")]
