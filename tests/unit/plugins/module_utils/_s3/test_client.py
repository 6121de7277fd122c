# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _s3/client.py without a store: which endpoint, which upload arguments, which boto3
client configuration; bad options and a missing boto3 fail before any request."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._s3 import client

pytest.importorskip("boto3")


def test_endpoint_of():
    assert client.endpoint_of({"endpoint_url": "http://a"}, {"AWS_ENDPOINT_URL": "http://b"}) == "http://a"
    assert client.endpoint_of({}, {"AWS_ENDPOINT_URL_S3": "http://s3", "AWS_ENDPOINT_URL": "http://b"}) == "http://s3"
    assert client.endpoint_of({}, {"AWS_ENDPOINT_URL": "http://b"}) == "http://b"
    assert client.endpoint_of({}, {}) is None


def test_extra_args():
    assert client.extra_args({}) == {"ChecksumAlgorithm": "SHA256"}
    assert client.extra_args({"sse": "AES256"}) == {"ChecksumAlgorithm": "SHA256", "ServerSideEncryption": "AES256"}
    assert client.extra_args({"sse": "aws:kms", "sse_kms_key_id": "k"}) == {
        "ChecksumAlgorithm": "SHA256", "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "k"}


def test_connect_configures_the_client(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    s3 = client.connect({"bucket": "bkt", "endpoint_url": "http://127.0.0.1:1", "region": "us-east-1",
                         "access_key": "a", "secret_key": "s", "retries": 3, "part_size": 16})
    config = s3.client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 4}  # botocore: 3 retries
    assert config.s3 == {"addressing_style": "path"} and config.connect_timeout == client.CONNECT_TIMEOUT
    assert s3.part_size == s3.threshold == 16 * 1024 * 1024 and s3.endpoint == "http://127.0.0.1:1"
    assert s3.transfer.multipart_chunksize == 16 * 1024 * 1024 and s3.transfer.max_request_concurrency == 4
    aws = client.connect({"bucket": "bkt", "region": "eu-west-1", "access_key": "a", "secret_key": "s"})
    assert aws.endpoint is None and aws.client.meta.config.s3 == {"addressing_style": "auto"}


@pytest.mark.parametrize("storage, why", [
    ({"bucket": "Bad_Name"}, "is not valid"), ({"bucket": "bkt", "prefix": "/x"}, "starts with '/'"),
    ({"bucket": "bkt", "part_size": 2}, "5 MiB to 5120 MiB"), ({"bucket": "bkt", "access_key": "a"}, "go together"),
])
def test_bad_options_fail_before_a_request(storage, why):
    with pytest.raises(TriageError) as info:
        client.connect(storage)
    assert why in info.value.msg


def test_missing_boto3(monkeypatch):
    monkeypatch.setattr(client, "HAS_BOTO3", False)
    with pytest.raises(TriageError) as info:
        client.connect({"bucket": "bkt"})
    assert "boto3" in info.value.msg and info.value.details["error_type"] == "missing_library"
