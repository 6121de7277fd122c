# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that builds a boto3 S3 client and sends requests; every failure becomes a
TriageError (errors.translate). connect(storage) -> S3.

- retries: botocore's standard mode (exponential backoff with jitter, transient errors, throttling
  and 5xx) with storage.retries retries per request after the first attempt (botocore's
  max_attempts counts retries); connect and read timeouts.
- an endpoint_url (option, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL) means an S3-compatible store:
  path-style addressing, which versitygw, MinIO and Ceph take without wildcard DNS.
- uploads go through boto3's transfer manager, from disk: one PUT below storage.part_size, else a
  multipart upload of part_size parts, at most MAX_CONCURRENCY in flight (memory stays bounded,
  whatever the file's size; bench/upload_bench.py measures it), each with a SHA256 checksum.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

try:
    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    HAS_BOTO3 = True
except ImportError:
    HAS_BOTO3 = False

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._s3 import errors, keys
from ansible_collections.triage.k8s.plugins.module_utils._s3.checksums import MIB
from ansible_collections.triage.k8s.plugins.module_utils._s3.spec import storage_problem

MAX_CONCURRENCY = 4
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60
USER_AGENT = "triage.k8s/0.1.0"
MISSING_BOTO3 = ("the storage option needs the Python library boto3 on the host that runs the module "
                 "(pip install boto3, in the Python Ansible uses)")


def endpoint_of(storage, environ=None):
    """The endpoint URL the client uses: the option, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else None."""
    environ = os.environ if environ is None else environ
    return (storage.get("endpoint_url") or environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL")
            or None)


def extra_args(storage):
    """ExtraArgs of every upload: a SHA256 checksum, the server-side encryption asked for."""
    out = {"ChecksumAlgorithm": "SHA256"}
    if storage.get("sse"):
        out["ServerSideEncryption"] = storage["sse"]
        if storage.get("sse_kms_key_id"):
            out["SSEKMSKeyId"] = storage["sse_kms_key_id"]
    return out


class S3(object):
    """A boto3 S3 client with the storage options it was made from; requests raise TriageError."""

    def __init__(self, client, storage, endpoint):
        self.client = client
        self.storage = storage
        self.endpoint = endpoint
        self.bucket = storage.get("bucket")
        self.part_size = (storage.get("part_size") or 8) * MIB
        self.threshold = self.part_size
        self.extra_args = extra_args(storage)
        self.transfer = TransferConfig(multipart_threshold=self.threshold, multipart_chunksize=self.part_size,
                                       max_concurrency=MAX_CONCURRENCY, use_threads=True)

    def _fail(self, exc, action, bucket, key=None):
        return errors.translate(exc, action, bucket, key, self.endpoint)

    def head(self, bucket, key):
        """HEAD with the checksum (ChecksumMode ENABLED): the answer, or None when there is no such object."""
        try:
            return self.client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        except Exception as exc:  # botocore raises ClientError and transport errors
            code, status = errors.client_error(exc)
            if status == 404 or code in ("404", "NoSuchKey", "NotFound"):
                return None
            if status == 403:
                raise self._fail(self._why_denied(bucket, key) or exc, "s3:GetObject", bucket, key)
            raise self._fail(exc, "s3:GetObject", bucket, key)

    def _why_denied(self, bucket, key):
        """A HEAD answer has no body: a one-byte GET tells refused credentials from a denied action."""
        try:
            self.client.get_object(Bucket=bucket, Key=key, Range="bytes=0-0")["Body"].close()
        except Exception as exc:
            return exc
        return None

    def get(self, bucket, key):
        """The streaming body of an object, or None when there is no such object."""
        try:
            return self.client.get_object(Bucket=bucket, Key=key)["Body"]
        except Exception as exc:
            code, status = errors.client_error(exc)
            if code in ("NoSuchKey", "404", "NotFound"):
                return None
            raise self._fail(exc, "s3:GetObject", bucket, key)

    def read(self, bucket, key, limit):
        """The object's bytes (at most limit, else TriageError), or None when there is no such object."""
        body = self.get(bucket, key)
        if body is None:
            return None
        try:
            data = body.read(limit + 1)
        except Exception as exc:
            raise self._fail(exc, "s3:GetObject", bucket, key)
        finally:
            body.close()
        if len(data) > limit:
            raise TriageError("%s is larger than %d bytes: not a manifest this collection wrote"
                              % (keys.url(bucket, key), limit), {"error_type": "storage"})
        return data

    def stream_chunks(self, bucket, key, chunk=MIB):
        """Yield the object's bytes in chunks (None-free); TriageError on failure or when it is missing."""
        body = self.get(bucket, key)
        if body is None:
            raise TriageError("%s is not there" % keys.url(bucket, key), {"error_type": "storage"})
        try:
            yield from body.iter_chunks(chunk)
        except TriageError:
            raise
        except Exception as exc:
            raise self._fail(exc, "s3:GetObject", bucket, key)
        finally:
            body.close()

    def listing(self, bucket, prefix):
        """{key: size} of every object under prefix (one LIST per 1,000 keys)."""
        out = {}
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    out[item["Key"]] = item["Size"]
        except Exception as exc:
            raise self._fail(exc, "s3:ListBucket", bucket, prefix)
        return out

    def upload(self, path, bucket, key):
        """Upload the file at path to bucket/key (multipart from part_size up), streamed from disk."""
        try:
            self.client.upload_file(path, bucket, key, ExtraArgs=dict(self.extra_args), Config=self.transfer)
        except Exception as exc:
            raise self._fail(exc, "s3:PutObject", bucket, key)


def connect(storage, timeout=None):
    """An S3 for the storage options; TriageError when boto3 is missing or the options are bad.
    Sends no request."""
    if not HAS_BOTO3:
        raise TriageError(MISSING_BOTO3, {"error_type": "missing_library", "library": "boto3"})
    problem = storage_problem(storage)
    if problem:
        raise TriageError(problem, {"error_type": "storage"})
    if storage.get("bucket"):
        keys.check_bucket(storage["bucket"])
    keys.prefix(storage.get("prefix"))
    endpoint = endpoint_of(storage)
    retries = 5 if storage.get("retries") is None else storage["retries"]
    config = Config(retries={"mode": "standard", "max_attempts": retries},
                    connect_timeout=CONNECT_TIMEOUT, read_timeout=timeout or READ_TIMEOUT,
                    s3={"addressing_style": "path" if endpoint else "auto"}, signature_version="s3v4",
                    user_agent_extra=USER_AGENT)
    verify = None
    if storage.get("ca_bundle"):
        verify = storage["ca_bundle"]
    elif storage.get("validate_certs") is False:
        verify = False
    try:
        session = boto3.session.Session(profile_name=storage.get("profile")) if storage.get("profile") \
            else boto3.session.Session()
        client = session.client("s3", endpoint_url=endpoint, region_name=storage.get("region"),
                                aws_access_key_id=storage.get("access_key"),
                                aws_secret_access_key=storage.get("secret_key"),
                                aws_session_token=storage.get("session_token"), verify=verify, config=config)
    except Exception as exc:  # ProfileNotFound, a bad endpoint URL, NoRegionError
        raise errors.translate(exc, "connect", storage.get("bucket"), None, endpoint)
    return S3(client, storage, endpoint)
