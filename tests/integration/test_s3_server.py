"""The S3 server the storage tests rely on is a real one: it checks signatures, keeps what it was
given across a restart, and computes the SHA-256 checksums the collection verifies against."""

import base64
import hashlib

import pytest
from botocore.exceptions import ClientError


def test_objects_survive_a_restart(fresh_s3):
    bucket = fresh_s3.make_bucket()
    fresh_s3.client().put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello")
    fresh_s3.stop()
    fresh_s3.start()
    assert fresh_s3.objects(bucket) == {"a/b.txt": 5}


def test_wrong_secret_is_refused(s3, s3_bucket):
    client = s3.client(secret_key="not-" + s3.secret_key)
    with pytest.raises(ClientError) as err:
        client.list_objects_v2(Bucket=s3_bucket)
    assert err.value.response["Error"]["Code"] in ("SignatureDoesNotMatch", "AccessDenied", "InvalidAccessKeyId")


def test_server_computes_sha256(s3, s3_bucket):
    body = b"evidence\n" * 1000
    s3.client().put_object(Bucket=s3_bucket, Key="x.log", Body=body, ChecksumAlgorithm="SHA256")
    head = s3.client().head_object(Bucket=s3_bucket, Key="x.log", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
