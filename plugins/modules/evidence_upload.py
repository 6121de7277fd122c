#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: evidence_upload
short_description: Upload evidence bundles and reports to S3-compatible object storage, read back and verified
version_added: 0.1.0
description:
  - Uploads files and directories from the host that runs the module (the controller with C(connection=local)) to
    S3-compatible object storage, so that evidence and reports outlive the job, for example an AWX job whose
    container is deleted afterwards.
  - A file is stored as C(<storage.prefix>/<key_prefix>/<file name>); a directory as
    C(<storage.prefix>/<key_prefix>/<directory name>/<relative path>) for every regular file in it. Symbolic links
    are refused.
  - A directory holding C(manifest.json) is an evidence bundle of M(triage.k8s.pod_evidence) - its files must be
    exactly the ones the manifest lists, each with the manifest's sha256, or nothing is uploaded; C(manifest.json)
    is uploaded last.
  - Every object is uploaded with a SHA256 checksum, then read back (C(HeadObject) with C(ChecksumMode=ENABLED)) and
    compared with the checksum computed from the file; files of O(storage.part_size) MiB and more are uploaded in
    parts, streamed from disk. An object already there with the same size and sha256 is V(present) and not
    uploaded again, so a second run changes nothing.
  - O(storage) with a O(storage.bucket) is required.
  - The first failure stops the upload; the result and the message say which objects were written and verified and
    which were not. Nothing local is deleted.
author:
  - triage.k8s developers (@triage-k8s)
extends_documentation_fragment:
  - triage.k8s.s3
  - triage.k8s.attributes
attributes:
  check_mode:
    support: full
    details: Hashes the files and asks the store (HEAD) which objects are there already; uploads nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  src:
    description: Files or directories to upload.
    type: list
    elements: path
    required: true
  key_prefix:
    description: Key prefix under O(storage.prefix), for example C(reports/crashloop/2026-12-01T030405Z). No leading C(/), no C(..).
    type: str
    default: ""
  timeout:
    description: Seconds a request may wait for the store's answer.
    type: int
    default: 60
notes:
  - IAM actions needed - s3:PutObject on the keys (s3:AbortMultipartUpload for a failed multipart upload),
    s3:GetObject (reading back) and s3:ListBucket; see C(docs/storage.md).
seealso:
  - module: triage.k8s.pod_evidence
"""

EXAMPLES = r"""
- name: Store a crashloop scan report
  triage.k8s.evidence_upload:
    src:
      - "{{ report_path }}"
    key_prefix: "reports/crashloop/{{ now(utc=true, fmt='%Y-%m-%dT%H%M%SZ') }}"
    storage:
      bucket: incident-evidence
      prefix: prod-eu
      region: eu-west-1
  register: stored

- name: Store a bundle collected earlier, credentials from AWS_* variables (an AWX credential)
  triage.k8s.evidence_upload:
    src: [/srv/evidence/prod-eu_shop_web-7d4b9c-x2x9k_20261122T030405Z]
    storage:
      bucket: incident-evidence
      endpoint_url: https://minio.example:9000
      sse: AES256
"""

RETURN = r"""
msg:
  description: What was uploaded and what was already there; on failure the cause, then what was and was not written.
  returned: always
  type: str
url:
  description: C(s3://BUCKET/PREFIX/) under which the objects are.
  returned: always once the options are valid
  type: str
  sample: s3://incident-evidence/prod-eu/reports/crashloop/2026-12-01T030405Z/
verified:
  description: True when every object was read back and matches its file (false in check mode and on failure).
  returned: always once the options are valid
  type: bool
objects:
  description:
    - One entry per object handled so far, in order - C(path), C(key), C(url), C(size), C(sha256) (of the file),
      C(checksum) (the C(ChecksumSHA256) the store reports for it, full-object or composite C(...-N)) and C(status) -
      V(uploaded) (written and read back), V(present) (already there with the same content), in check mode
      V(would_upload), or, on a failed run only, V(uploaded_unverified) (written, but the store could not be read
      back, and the task reports changed).
  returned: always once the options are valid
  type: list
  elements: dict
  sample: [{"path": "/tmp/report.json", "key": "reports/report.json", "url": "s3://b/reports/report.json",
            "size": 512, "sha256": "9f86d0...", "checksum": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
            "status": "uploaded"}]
changed:
  description: True when an object was uploaded (in check mode, would be), also when the run failed later.
  returned: always
  type: bool
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.triage.k8s.plugins.module_utils._evidence.run_upload import run_evidence_upload
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._s3.client import HAS_BOTO3
from ansible_collections.triage.k8s.plugins.module_utils._s3.errors import translate
from ansible_collections.triage.k8s.plugins.module_utils._s3.spec import STORAGE_SPEC

ARGUMENT_SPEC = dict(
    src=dict(type="list", elements="path", required=True),
    key_prefix=dict(type="str", default="", no_log=False),
    timeout=dict(type="int", default=60),
    storage=STORAGE_SPEC,  # storage.bucket is required: checked with the other storage options
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3"), changed=False)
    error = None
    try:
        result = run_evidence_upload(module)
    except TriageError as exc:
        error = exc
    except Exception as exc:  # a bug: a readable message, the traceback only with -vvv
        error = translate(exc, "upload", (module.params.get("storage") or {}).get("bucket"))
        error.details["exception"] = traceback.format_exc()
    if error is not None:
        details = dict((k, v) for k, v in error.details.items() if k not in ("msg", "failed"))
        details.setdefault("changed", False)
        module.fail_json(msg=error.msg, **details)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
