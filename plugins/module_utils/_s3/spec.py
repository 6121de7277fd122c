# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `storage` option, the same in pod_evidence, evidence_upload and quarantine_cleanup
(doc fragment triage.k8s.s3). Unset values fall to boto3's own chain (AWS_* variables, profiles,
instance and IRSA credentials). Pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Parts of a multipart upload: S3 takes 5 MiB to 5 GiB (the last part may be smaller).
MIN_PART_MIB = 5
MAX_PART_MIB = 5 * 1024

STORAGE_OPTIONS = dict(
    bucket=dict(type="str"),
    prefix=dict(type="str", default=""),
    endpoint_url=dict(type="str", aliases=["aws_endpoint_url", "s3_url"]),
    region=dict(type="str", aliases=["aws_region"]),
    access_key=dict(type="str", no_log=True, aliases=["aws_access_key_id", "aws_access_key"]),
    secret_key=dict(type="str", no_log=True, aliases=["aws_secret_access_key", "aws_secret_key"]),
    session_token=dict(type="str", no_log=True, aliases=["aws_session_token"]),
    profile=dict(type="str", aliases=["aws_profile"]),
    validate_certs=dict(type="bool", default=True),
    ca_bundle=dict(type="path", aliases=["aws_ca_bundle"]),
    sse=dict(type="str", choices=["AES256", "aws:kms"]),
    sse_kms_key_id=dict(type="str", no_log=False),
    retries=dict(type="int", default=5),
    part_size=dict(type="int", default=8),
)

# The option's entry in a module's argument spec: `storage=STORAGE_SPEC`.
STORAGE_SPEC = dict(type="dict", options=STORAGE_OPTIONS)


def wanted(storage):
    """Whether the storage option asks for an upload (a bucket is named)."""
    return bool(storage and storage.get("bucket"))


def storage_problem(storage):
    """Why the storage options cannot work, without any request, or None."""
    if not storage:
        return "storage is not set"
    part = storage.get("part_size")
    if part is not None and not MIN_PART_MIB <= part <= MAX_PART_MIB:
        return ("storage.part_size is %s MiB; S3 takes parts of %d MiB to %d MiB"
                % (part, MIN_PART_MIB, MAX_PART_MIB))
    retries = storage.get("retries")
    if retries is not None and not 0 <= retries <= 20:
        return "storage.retries is %s; give 0 to 20 retries per request" % retries
    if storage.get("sse_kms_key_id") and storage.get("sse") != "aws:kms":
        return "storage.sse_kms_key_id needs storage.sse: aws:kms"
    if bool(storage.get("access_key")) != bool(storage.get("secret_key")):
        return "storage.access_key and storage.secret_key go together: set both, or neither (boto3's chain then)"
    if storage.get("session_token") and not storage.get("access_key"):
        return "storage.session_token needs storage.access_key and storage.secret_key"
    if storage.get("profile") and storage.get("access_key"):
        return "storage.profile and storage.access_key exclude each other: set one"
    return None
