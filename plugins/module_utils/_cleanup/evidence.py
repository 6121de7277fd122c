# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What require_evidence asks of an expired pod before cleanup deletes it. Pure: run_evidence.py
asks the store.

- V(false): nothing;
- V(true): the triage.k8s/evidence annotation (a bundle was collected, on some disk);
- V(remote): that annotation names a remote copy (`remote`, written by pod_evidence only after the
  upload verified), and the copy verifies now: its manifest.json in the store has the checksum the
  annotation records, and every file it lists is there. The bucket and prefix must be the ones
  this cleanup is configured with (storage.bucket, storage.prefix), and the store is the one its
  own storage options name: an annotation, which anyone who may patch the pod can write, never
  chooses where cleanup sends its credentials.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import ANN_EVIDENCE

OFF, ANNOTATION, REMOTE = None, "annotation", "remote"
_WORDS = {
    "true": ANNOTATION, "yes": ANNOTATION, "on": ANNOTATION, "1": ANNOTATION, "annotation": ANNOTATION,
    "false": OFF, "no": OFF, "off": OFF, "0": OFF, "none": OFF,
    "remote": REMOTE,
}


def evidence_mode(value):
    """(mode, problem): OFF, ANNOTATION or REMOTE for a require_evidence value (bool or word)."""
    if isinstance(value, bool):
        return (ANNOTATION if value else OFF), None
    if isinstance(value, str) and value.strip().lower() in _WORDS:
        return _WORDS[value.strip().lower()], None
    return OFF, "require_evidence must be true, false or remote, got %r" % (value,)


def _scope(storage):
    """(bucket, prefix) this cleanup trusts; the prefix ends in '/' so that `evidence` does not admit `evidence-old/`."""
    storage = storage or {}
    prefix = (storage.get("prefix") or "").strip("/")
    return storage.get("bucket") or None, prefix + "/" if prefix else ""


def remote_requirement(evidence, storage):
    """(check, None) when the annotation names a remote copy this cleanup may verify, where check
    is {remote, manifest_sha256}; (None, why kept) otherwise."""
    remote = evidence.get("remote")
    if not isinstance(remote, dict) or not remote:
        return None, ("no remote copy of its evidence is recorded (the %s annotation has no remote: it was "
                      "not uploaded, or the upload did not verify): kept (require_evidence: remote); upload it "
                      "with triage.k8s.pod_evidence and its storage option" % ANN_EVIDENCE)
    bucket, key, prefix = remote.get("bucket"), remote.get("manifest_key"), remote.get("prefix")
    sha = evidence.get("manifest_sha256")
    if not all(isinstance(v, str) and v for v in (bucket, key, prefix, sha)):
        return None, ("its %s annotation's remote record is incomplete (bucket, prefix, manifest_key and "
                      "manifest_sha256 are needed): kept (require_evidence: remote)" % ANN_EVIDENCE)
    want_bucket, want_prefix = _scope(storage)
    if want_bucket is None:
        return None, ("its evidence is recorded at s3://%s/%s, but this cleanup was given no storage.bucket to "
                      "trust: kept (require_evidence: remote needs storage.bucket)" % (bucket, prefix))
    if bucket != want_bucket or not prefix.startswith(want_prefix) or not key.startswith(prefix):
        return None, ("its evidence is recorded at s3://%s/%s, outside the storage this cleanup trusts "
                      "(s3://%s/%s): kept" % (bucket, prefix, want_bucket, want_prefix))
    return {"remote": remote, "manifest_sha256": sha}, None


def remote_url(check):
    remote = check["remote"]
    return remote.get("url") or "s3://%s/%s" % (remote["bucket"], remote["prefix"])


def after_check(verdict, check, verified, reason):
    """The final verdict of a pod whose remote evidence was checked: deleted only when it verified."""
    url = remote_url(check)
    if verified:
        return dict(verdict, why="%s; its evidence verifies at %s" % (verdict["why"], url))
    return dict(verdict, delete=False,
                why="%s, but its remote evidence at %s does not verify (%s): kept (require_evidence: remote)"
                % (verdict["why"], url, reason))


def unchecked(verdict, check, error):
    """The verdict of a pod whose store could not be asked (error: the message): kept."""
    return dict(verdict, delete=False,
                why="%s, but its remote evidence at %s could not be checked (%s): kept (require_evidence: remote)"
                % (verdict["why"], remote_url(check), error))
