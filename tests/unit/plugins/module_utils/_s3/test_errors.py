# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _s3/errors.py: botocore's own exceptions, as it raises them, become messages that
name the S3 action, the object and what to fix, and never a secret."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._s3.errors import client_error, translate

botocore = pytest.importorskip("botocore")
from botocore import exceptions as bce  # noqa: E402
from boto3.exceptions import S3UploadFailedError  # noqa: E402


def _client_error(code, status, op="PutObject", message="msg"):
    return bce.ClientError({"Error": {"Code": code, "Message": message},
                            "ResponseMetadata": {"HTTPStatusCode": status}}, op)


def test_no_such_bucket():
    error = translate(_client_error("NoSuchBucket", 404), "s3:PutObject", "b", "k", "http://127.0.0.1:9000")
    assert error.msg.startswith("the bucket b does not exist at http://127.0.0.1:9000")
    assert error.details["s3_error"] == "NoSuchBucket" and error.details["status"] == 404


def test_access_denied_names_the_action_and_the_resource():
    error = translate(_client_error("AccessDenied", 403), "s3:PutObject", "b", "ev/x.log")
    assert error.msg.startswith("access denied: s3:PutObject on s3://b/ev/x.log is not allowed")
    assert "grant s3:PutObject on arn:aws:s3:::b/ev/x.log" in error.msg and "docs/storage.md" in error.msg
    assert error.details["error_type"] == "storage_denied"
    # A HEAD's 403 has no body: the code is the status.
    assert translate(_client_error("403", 403, "HeadObject"), "s3:GetObject", "b", "k").msg.startswith(
        "access denied: s3:GetObject")


@pytest.mark.parametrize("code", ["InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"])
def test_refused_credentials(code):
    error = translate(_client_error(code, 403), "s3:PutObject", "b", "k", "https://s3.example")
    assert error.msg.startswith("the S3 credentials were refused by https://s3.example (%s)" % code)
    assert error.details["error_type"] == "storage_credentials"


def test_upload_failed_error_is_read_through_to_the_client_error():
    try:
        try:
            raise _client_error("AccessDenied", 403)
        except bce.ClientError as exc:
            raise S3UploadFailedError("Failed to upload /x to b/k: %s" % exc)
    except S3UploadFailedError as wrapped:
        assert client_error(wrapped) == ("AccessDenied", 403)
        assert translate(wrapped, "s3:PutObject", "b", "k").details["error_type"] == "storage_denied"


def test_endpoint_down():
    error = translate(bce.EndpointConnectionError(endpoint_url="http://127.0.0.1:1/b/k"), "s3:PutObject", "b", "k",
                      "http://127.0.0.1:1")
    assert error.msg.startswith("cannot reach the S3 endpoint http://127.0.0.1:1 for s3:PutObject on s3://b/k")
    assert "check storage.endpoint_url" in error.msg and error.details["error_type"] == "storage_connection"
    timeout = translate(bce.ReadTimeoutError(endpoint_url="http://h/b"), "s3:GetObject", "b", "k")
    assert timeout.details["error_type"] == "storage_connection"


def test_no_credentials_and_tls_and_profile():
    assert "no S3 credentials were found" in translate(bce.NoCredentialsError(), "s3:PutObject", "b").msg
    tls = translate(bce.SSLError(endpoint_url="https://h", error="bad cert"), "s3:PutObject", "b", "k")
    assert tls.details["error_type"] == "storage_tls" and "storage.ca_bundle" in tls.msg
    assert "storage.profile" in translate(bce.ProfileNotFound(profile="nope"), "connect", "b").msg


def test_secrets_in_a_server_message_are_scrubbed():
    error = translate(_client_error("InternalError", 500, message="Authorization: AWS4-HMAC-SHA256 Credential=AKIA/x"),
                      "s3:PutObject", "b", "k")
    assert "AKIA" not in error.msg and "S3 s3:PutObject on s3://b/k failed" in error.msg


def test_an_unknown_error_says_what_it_is():
    error = translate(ValueError("boom"), "s3:PutObject", "b", "k")
    assert error.msg == "S3 s3:PutObject on s3://b/k failed: ValueError: boom"
