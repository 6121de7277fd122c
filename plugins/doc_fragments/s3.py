# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# The `storage` option (S3-compatible object storage), the same in pod_evidence, evidence_upload and
# quarantine_cleanup. The argument spec is module_utils/_s3/spec.py (STORAGE_SPEC).

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  storage:
    description:
      - S3-compatible object storage (AWS S3, MinIO, Ceph RGW, versitygw, ...) reached with boto3. See C(docs/storage.md)
        for the least-privilege bucket policy, retention and how to find a pod's evidence.
      - Options left unset fall to boto3's own chain, as the AWS collections do - E(AWS_ACCESS_KEY_ID),
        E(AWS_SECRET_ACCESS_KEY), E(AWS_SESSION_TOKEN), E(AWS_REGION)/E(AWS_DEFAULT_REGION), E(AWS_ENDPOINT_URL_S3)/E(AWS_ENDPOINT_URL),
        E(AWS_PROFILE), E(AWS_CA_BUNDLE), shared config files, instance roles and IRSA web identity tokens.
    type: dict
    suboptions:
      bucket:
        description: Name of the bucket. Required where something is uploaded.
        type: str
      prefix:
        description: Key prefix under which everything is stored, for example C(evidence/prod-eu). No leading C(/), no C(..).
        type: str
        default: ""
      endpoint_url:
        description:
          - URL of an S3-compatible endpoint, for example C(https://minio.example:9000). Unset for AWS S3.
          - With an endpoint URL, requests use path-style addressing (C(https://host/bucket/key)).
        type: str
        aliases: [aws_endpoint_url, s3_url]
      region:
        description: Region of the bucket.
        type: str
        aliases: [aws_region]
      access_key:
        description: Access key id. Set together with O(storage.secret_key), or neither.
        type: str
        aliases: [aws_access_key_id, aws_access_key]
      secret_key:
        description: Secret access key.
        type: str
        aliases: [aws_secret_access_key, aws_secret_key]
      session_token:
        description: Session token of temporary credentials.
        type: str
        aliases: [aws_session_token]
      profile:
        description: Named profile of the AWS shared configuration files; excludes O(storage.access_key).
        type: str
        aliases: [aws_profile]
      validate_certs:
        description: Verify the endpoint's TLS certificate. Turn off only for a test store.
        type: bool
        default: true
      ca_bundle:
        description: CA bundle (PEM) that signed the endpoint's certificate.
        type: path
        aliases: [aws_ca_bundle]
      sse:
        description: Server-side encryption of every object written, V(AES256) (SSE-S3) or V(aws:kms) (SSE-KMS).
        type: str
        choices: [AES256, "aws:kms"]
      sse_kms_key_id:
        description: KMS key id or ARN for V(aws:kms); unset for the bucket's default key.
        type: str
      retries:
        description:
          - Retries per request after the first attempt (0 to 20), with botocore's standard retry mode - exponential
            backoff with jitter on throttling, 5xx answers and connection errors.
        type: int
        default: 5
      part_size:
        description:
          - Part size in MiB (5 to 5120). Files of this size and larger are uploaded in parts of this size (doubled when
            a file would need more than 10,000), streamed from disk, at most 4 parts in flight, so memory stays
            bounded whatever the size of a log.
        type: int
        default: 8
requirements:
  - boto3 (only where O(storage) is used)
notes:
  - Every object is uploaded with a SHA256 checksum and read back - C(HeadObject) with C(ChecksumMode=ENABLED), compared
    with the checksum computed locally from the file (full-object for one PUT, composite of the parts for a multipart
    upload); when the store reports none, the object is downloaded again and hashed. Nothing counts as stored until it
    matches.
"""
