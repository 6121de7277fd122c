# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""boto3 and botocore failures as messages a human can act on: the S3 action and the object, what
to fix. Secrets never appear: only error codes, bucket, key and endpoint are named (scrub() covers
anything a server message might carry). Pure: the exception classes are recognised by name."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError, scrub

POLICY = "docs/storage.md has the least-privilege bucket policy"
CREDENTIALS = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "TokenRefreshRequired",
               "InvalidClientTokenId", "AuthorizationHeaderMalformed", "XAdminUserNotFound", "InvalidSecurity")
DENIED = ("AccessDenied", "AllAccessDisabled", "AccountProblem", "403")
CONNECTION = ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError", "ReadTimeoutError",
              "ConnectionError", "ProxyConnectionError", "EndpointResolutionError")
NO_CREDENTIALS = ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError",
                  "UnauthorizedSSOTokenError", "SSOTokenLoadError")


def _names(exc):
    return set(cls.__name__ for cls in type(exc).__mro__)


def _chain(exc):
    """exc and the exceptions it was raised from (boto3 wraps a ClientError in S3UploadFailedError)."""
    seen = []
    while exc is not None and exc not in seen and len(seen) < 8:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def client_error(exc):
    """(code, status) of the first botocore ClientError in exc's chain, else (None, None)."""
    for item in _chain(exc):
        response = getattr(item, "response", None)
        if "ClientError" in _names(item) and isinstance(response, dict):
            code = (response.get("Error") or {}).get("Code")
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            return str(code) if code is not None else None, status
    return None, None


def where(bucket, key=None):
    return "s3://%s/%s" % (bucket, key or "") if bucket else "the store"


def translate(exc, action, bucket=None, key=None, endpoint=None):
    """The TriageError for exc raised by `action` (an IAM action such as s3:PutObject) on bucket/key."""
    target = where(bucket, key)
    server = endpoint or "the AWS S3 endpoint of the region"
    code, status = client_error(exc)
    details = {"error_type": "storage", "s3_action": action, "s3_error": code, "status": status}
    if code == "NoSuchBucket":
        return TriageError("the bucket %s does not exist at %s: create it, or set storage.bucket to one that does"
                           % (bucket, server), details)
    if code in CREDENTIALS:
        return TriageError("the S3 credentials were refused by %s (%s) on %s: check storage.access_key/secret_key "
                           "(or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the profile, the session token) and the "
                           "region" % (server, code, action), dict(details, error_type="storage_credentials"))
    if code in DENIED or status == 403:
        resource = "arn:aws:s3:::%s%s" % (bucket, "/" + key if key else "")
        return TriageError("access denied: %s on %s is not allowed for these credentials; grant %s on %s (%s)"
                           % (action, target, action, resource, POLICY), dict(details, error_type="storage_denied"))
    if code in ("KMS.NotFoundException", "KMS.DisabledException", "InvalidArgument") and "KMS" in str(exc):
        return TriageError("the store refused the encryption settings for %s on %s (%s): check storage.sse and "
                           "storage.sse_kms_key_id" % (action, target, code), details)
    if code is not None:
        return TriageError("S3 %s on %s failed: %s" % (action, target, scrub(_message(exc))), details)
    names = _names(exc)
    for item in _chain(exc):
        names |= _names(item)
    if names & set(NO_CREDENTIALS):
        return TriageError("no S3 credentials were found for %s: set storage.access_key and storage.secret_key, or "
                           "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile or an instance role" % action,
                           dict(details, error_type="storage_credentials"))
    if "SSLError" in names:
        return TriageError("TLS to %s failed for %s: %s. Set storage.ca_bundle to the CA that signed it (or "
                           "storage.validate_certs: false on a test store)" % (server, action, scrub(_message(exc))),
                           dict(details, error_type="storage_tls"))
    if names & set(CONNECTION):
        return TriageError("cannot reach the S3 endpoint %s for %s on %s (%s): check storage.endpoint_url and that "
                           "the server is up; every retry failed" % (server, action, target, scrub(_message(exc))),
                           dict(details, error_type="storage_connection"))
    if "ProfileNotFound" in names:
        return TriageError("the AWS profile in storage.profile (or AWS_PROFILE) does not exist: %s"
                           % scrub(_message(exc)), details)
    if "NoRegionError" in names:
        return TriageError("no region is set for the store: set storage.region or AWS_REGION", details)
    if "ParamValidationError" in names:
        return TriageError("S3 %s on %s: the request is not valid: %s" % (action, target, scrub(_message(exc))),
                           details)
    return TriageError("S3 %s on %s failed: %s: %s" % (action, target, type(exc).__name__, scrub(_message(exc))),
                       details)


def _message(exc):
    text = str(exc)
    return text if len(text) < 600 else text[:600] + "..."
