# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""require_evidence: remote, the reads: for each pod decide() would delete once its remote copy
verifies, ask the store (the cleanup's own storage options; the bucket and keys the annotation
records, already checked against storage.bucket and storage.prefix by evidence.py).

Reads only, so check mode verifies too and reports what a real run would delete. The first time
the store cannot be asked (down, wrong credentials, access denied), the remaining pods are kept
with that reason rather than asked again one by one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._cleanup import evidence as evidence_rules
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._s3.client import connect
from ansible_collections.triage.k8s.plugins.module_utils._s3.verify import verify_remote


def settle(config, verdicts, warn=None):
    """[(pod, verdict)] with every verdict that waits on a remote check made final."""
    pending = [i for i, (_pod, verdict) in enumerate(verdicts) if verdict.get("delete") and verdict.get("verify_remote")]
    if not pending:
        return verdicts
    out = list(verdicts)
    error = None
    try:
        store = connect(config["storage"])
    except TriageError as exc:
        error = exc.msg
    unchecked = 0
    for i in pending:
        pod, verdict = out[i]
        verdict = dict(verdict)
        check = verdict.pop("verify_remote")
        if error is None:
            try:
                verified, reason = verify_remote(store, check["remote"], check["manifest_sha256"])
                out[i] = (pod, evidence_rules.after_check(verdict, check, verified, reason))
                continue
            except TriageError as exc:
                error = exc.msg
        unchecked += 1
        out[i] = (pod, evidence_rules.unchecked(verdict, check, error))
    if unchecked and warn is not None:
        warn("the remote evidence of %d expired pod(s) could not be checked, so they were kept: %s" % (unchecked, error))
    return out
