#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: quarantine_cleanup
short_description: Delete expired quarantined pods, and their NetworkPolicies, safely
version_added: 0.1.0
description:
  - Deletes the pods that P(triage.k8s.pod_quarantine#module) quarantined and whose quarantine has
    expired, and the NetworkPolicies this collection made for them. Also deletes this collection's
    NetworkPolicies that no longer isolate anything - orphans - whose pod is gone, replaced, or no
    longer quarantined with them (see O(orphan_min_age)).
  - Finds the pods with one LIST and the label selector C(triage.k8s/quarantined=true), over all
    namespaces or one LIST per namespace given.
  - A pod is deleted only when it has both the C(triage.k8s/quarantined=true) label and the
    C(triage.k8s/quarantined-at) annotation, is not being deleted already, is in a selected namespace,
    and every clock that applies to it has run out - its own C(triage.k8s/expires-at) (never brought
    forward), and the TTL of the first matching rule in O(rules), else O(older_than), counted from
    C(triage.k8s/quarantined-at). A pod given no ttl at quarantine time is deleted only through
    O(older_than) or a rule. A released pod no longer has the label and is never deleted.
  - With O(require_evidence=true) (the default), an expired pod without the C(triage.k8s/evidence)
    annotation written by P(triage.k8s.pod_evidence#module) is kept and reported.
  - With O(require_evidence=remote), the annotation must also name a remote copy (written only after
    P(triage.k8s.pod_evidence#module) verified its upload) in the bucket and under the prefix of
    O(storage), and that copy must verify now - its C(manifest.json) in the store has the checksum the
    annotation records, and every file it lists is there with its size and checksum - or the pod is kept
    and the reason reported. The store is the one O(storage) names (its endpoint and credentials); an
    endpoint written in a pod annotation is never used. These reads also happen in check mode.
  - Every delete carries the uid and resourceVersion the pod had when listed. A pod that changed in
    between is read again and decided again, and deleted (with the new preconditions) only if it still
    qualifies.
  - After a delete fails, the pod (or NetworkPolicy) is read again. Gone, terminating or replaced
    means the delete landed (its answer was lost) - it is reported as deleted. Still there means the
    delete failed - RV(pods_failed), with the error. When the re-read fails too, the outcome is
    unknown - RV(pods_unknown) - and C(changed) is true, as the delete may have landed.
  - Every parameter is checked before anything is read; every namespace given must exist (one LIST of
    namespaces, or a GET of the one given). If more than O(max_deletions) pods and orphaned
    NetworkPolicies would be deleted, the module fails before deleting anything and says how many.
  - Deletes run in parallel, at most O(parallelism) at a time.
author:
  - triage.k8s developers (@triage-k8s)
extends_documentation_fragment:
  - triage.k8s.k8s_auth
  - triage.k8s.s3
  - triage.k8s.attributes
attributes:
  check_mode:
    support: full
    details: Returns exactly what would be deleted and why, and what would be kept and why.
  diff_mode:
    support: none
options:
  namespaces:
    description:
      - Namespaces to clean. Empty (the default) means every namespace, with one LIST.
    type: list
    elements: str
    default: []
  exclude_namespaces:
    description:
      - Namespaces never cleaned. A namespace may not be in both O(namespaces) and O(exclude_namespaces).
    type: list
    elements: str
    default: [kube-system]
  older_than:
    description:
      - TTL counted from C(triage.k8s/quarantined-at) for pods no rule matches, for example V(7d).
        It is what makes pods quarantined without a ttl deletable.
      - It never brings a pod's own C(triage.k8s/expires-at) forward - a pod is deleted when both have passed.
    type: str
  rules:
    description:
      - TTLs per team or namespace, in the style of kube-janitor. The first rule whose O(rules[].match)
        is true on the pod gives its TTL, counted from C(triage.k8s/quarantined-at), instead of O(older_than).
      - Like O(older_than), a rule never brings a pod's own C(triage.k8s/expires-at) forward.
      - A rule that fails to evaluate on a pod (a type error in the expression) keeps the pod and says so.
    type: list
    elements: dict
    default: []
    suboptions:
      match:
        description:
          - A JMESPath expression evaluated on the pod as the API returns it (camelCase), for example
            V(metadata.namespace == 'payments') or V(metadata.labels.team == 'checkout').
          - Quote keys with dots or slashes - V(metadata.annotations."triage.k8s/reason" == 'oom').
          - Null, false, empty strings, lists and objects are false; anything else is true.
        type: str
        required: true
      ttl:
        description: The TTL for matching pods, for example V(30m), V(24h), V(14d).
        type: str
        required: true
  require_evidence:
    description:
      - V(true) - keep (and report) expired pods that have no C(triage.k8s/evidence) annotation.
      - V(remote) - keep expired pods whose evidence is not stored, and verified, in O(storage) (see above);
        needs O(storage.bucket). Use it where the disk the bundles were written to does not last, as in
        an AWX job container.
      - V(false) - delete expired pods whether or not evidence was collected.
    type: raw
    default: true
  max_deletions:
    description:
      - Fail-safe - the most pods one run may delete. When more would be deleted, the module fails
        before deleting anything and says how many would have been. V(0) deletes nothing and fails if
        anything expired.
    type: int
    default: 100
  grace_period:
    description:
      - Seconds the pods get to terminate. Unset uses each pod's own C(terminationGracePeriodSeconds).
    type: int
  parallelism:
    description: How many deletes run at the same time (1 to 32).
    type: int
    default: 5
  orphan_min_age:
    description:
      - How old one of this collection's NetworkPolicies must be before it is deleted as an orphan while
        its pod still exists but is no longer quarantined with it (released, or quarantined with another
        NetworkPolicy or none). P(triage.k8s.pod_quarantine#module) creates the policy a moment before it
        labels the pod; this keeps a quarantine in progress from looking orphaned.
      - A duration such as V(10m), or V(0) for no wait. Policies whose pod is gone are deleted at once.
      - A NetworkPolicy is this collection's only with the C(app.kubernetes.io/managed-by=triage.k8s) and
        C(triage.k8s/for-pod) labels and the C(triage.k8s/for-pod-uid) annotation; no other is ever touched.
        Orphans are deleted with their uid and resourceVersion as preconditions, after their pod is looked at
        once more.
    type: str
    default: 10m
notes:
  - RBAC needed - list and delete on pods; list and delete on networkpolicies; get on pods (to re-read a
    pod after a failed delete, and to look at the pod of a leftover NetworkPolicy); get (one namespace) or
    list (several) on namespaces to check the namespaces given exist - without it the module warns that it
    could not check; create on events in API group events.k8s.io (the QuarantineExpired Event of each pod deleted;
    without it the pods are still deleted, C(event) in RV(pods_deleted) says it was not written and a warning
    names the missing grant); create on selfsubjectreviews (optional, who deletes, for that Event). See
    C(docs/rbac/cleanup.yaml).
  - Each pod deleted is recorded as a Kubernetes Event on it (events.k8s.io/v1, reportingController C(triage.k8s),
    action V(Delete), reason V(QuarantineExpired), since cleanup deletes only expired quarantines), the note naming who
    deleted it, why, and its quarantine record. Events outlive the pod until their TTL (the API server's
    C(--event-ttl), one hour by default), so C(kubectl events) shows what happened to a pod that is gone. Check
    mode writes no Event.
  - The module fails, after doing everything it could, when any delete failed or its outcome is unknown.
    The result still lists what was deleted, kept, failed and unknown, and the message names them.
  - The API layer retries throttling (429), server errors and lost answers of these preconditioned deletes
    itself; the module does not retry them again.
  - A pod being deleted with a grace period keeps its label until it is gone; later runs report it as
    already being deleted.
seealso:
  - module: triage.k8s.pod_quarantine
  - module: triage.k8s.quarantine_info
  - name: kube-janitor rules
    description: The rules format this module's O(rules) follows.
    link: https://codeberg.org/hjacobs/kube-janitor
"""

EXAMPLES = r"""
- name: What would go (check mode lists what would be deleted and why)
  triage.k8s.quarantine_cleanup:
  check_mode: true
  register: plan

- name: Delete expired quarantines; pods quarantined without a ttl go after 14 days
  triage.k8s.quarantine_cleanup:
    older_than: 14d
    max_deletions: 50
    grace_period: 30

- name: Per-team TTLs, first match wins
  triage.k8s.quarantine_cleanup:
    older_than: 7d
    rules:
      - match: "metadata.namespace == 'payments'"
        ttl: 30d
      - match: "metadata.labels.team == 'checkout'"
        ttl: 2d
    exclude_namespaces: [kube-system, forensics]

- name: Delete only pods whose evidence is in the incidents bucket and verifies there
  triage.k8s.quarantine_cleanup:
    older_than: 7d
    require_evidence: remote
    storage:
      bucket: incidents
      prefix: evidence/
      # Keys from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or a role); a store other than AWS S3:
      endpoint_url: https://s3.example.internal

- name: Also delete pods nobody collected evidence for
  triage.k8s.quarantine_cleanup:
    namespaces: [staging]
    require_evidence: false
"""

RETURN = r"""
pods_deleted:
  description:
    - Pods deleted (in check mode - that would be deleted), with why, and the quarantine record
      (quarantined_at, quarantined_by, quarantine_reason, expires_at, evidence bundle, network_policy).
    - C(evidence_url) is where the verified remote copy of its evidence is stored (from its
      C(triage.k8s/evidence) annotation), or null when none was uploaded.
    - C(reevaluated) is true when the pod changed since it was listed and was decided again before deletion.
    - C(note), when present, says how a delete whose answer was lost was confirmed by reading the pod again.
    - C(event) (not in check mode) is the Kubernetes Event recorded on the deleted pod - C(written), C(name),
      C(namespace), C(reason) (V(QuarantineExpired)) and, when it was not written, C(error).
  returned: always
  type: list
  elements: dict
  sample:
    - namespace: shop
      name: web-7d4b9c-x2x9k
      uid: 0b6e5a2c-1111-2222-3333-444455556666
      why: "expired 2h ago (triage.k8s/expires-at 2026-11-23T03:04:05Z)"
      quarantined_at: "2026-11-22T03:04:05Z"
      quarantined_by: alice
      quarantine_reason: OOM at 03:00
      expires_at: "2026-11-23T03:04:05Z"
      evidence: shop-web-7d4b9c-x2x9k-20261122T030405Z
      evidence_url: s3://incidents/evidence/shop-web-7d4b9c-x2x9k-20261122T030405Z/
      network_policy: null
      reevaluated: false
      event: {"written": true, "name": "web-7d4b9c-x2x9k.5e4d3c2b1a0f9e8d", "namespace": "shop",
              "reason": "QuarantineExpired", "error": null}
pods_skipped:
  description: Quarantined pods kept, each with why (not expired, no evidence, excluded namespace, changed since listed, ...).
  returned: always
  type: list
  elements: dict
pods_failed:
  description: Pods whose delete failed (read again, they are still there), each with the error.
  returned: always
  type: list
  elements: dict
pods_unknown:
  description:
    - Pods whose delete failed and which could not be read again either (the API server went away), each
      with the error. Each may or may not be deleted; the next run tells. They make C(changed) true.
  returned: always
  type: list
  elements: dict
network_policies_deleted:
  description: NetworkPolicies deleted (in check mode - that would be deleted), with the pod they were made for and why.
  returned: always
  type: list
  elements: dict
  sample: [{"namespace": "shop", "name": "triage-quarantine-web-7d4b9c-x2x9k-1a2b3c4d", "pod": "web-7d4b9c-x2x9k",
            "why": "made for pod web-7d4b9c-x2x9k, which is deleted"}]
network_policies_skipped:
  description: This collection's NetworkPolicies not tied to a listed pod that were kept, with why.
  returned: always
  type: list
  elements: dict
network_policies_failed:
  description: NetworkPolicies whose delete failed, with the error.
  returned: always
  type: list
  elements: dict
network_policies_unknown:
  description: NetworkPolicies whose delete failed and which could not be read again, with the error.
  returned: always
  type: list
  elements: dict
summary:
  description:
    - Counts - listed, deleted, skipped, failed, unknown, network_policies_deleted, network_policies_failed,
      network_policies_unknown, and per namespace.
  returned: always
  type: dict
  sample: {"listed": 12, "deleted": 3, "skipped": 9, "failed": 0, "unknown": 0, "network_policies_deleted": 1,
           "network_policies_failed": 0, "network_policies_unknown": 0,
           "by_namespace": {"shop": {"deleted": 3, "skipped": 9, "failed": 0, "unknown": 0}}}
missing_namespaces:
  description: When a namespace given does not exist on the cluster, the ones that do not.
  returned: failure (namespace not found)
  type: list
  elements: str
would_delete_count:
  description: When O(max_deletions) stopped the run, how many pods and orphaned NetworkPolicies would have been deleted.
  returned: failure (max_deletions)
  type: int
"""

from ansible_collections.triage.k8s.plugins.module_utils._cleanup.run import run_cleanup
from ansible_collections.triage.k8s.plugins.module_utils._k8s.module import build_module, run_module
from ansible_collections.triage.k8s.plugins.module_utils._s3.spec import STORAGE_SPEC

ARGUMENT_SPEC = dict(
    namespaces=dict(type="list", elements="str", default=[]),
    exclude_namespaces=dict(type="list", elements="str", default=["kube-system"]),
    older_than=dict(type="str"),
    rules=dict(type="list", elements="dict", default=[], options=dict(
        match=dict(type="str", required=True),
        ttl=dict(type="str", required=True),
    )),
    require_evidence=dict(type="raw", default=True),
    storage=STORAGE_SPEC,
    max_deletions=dict(type="int", default=100),
    grace_period=dict(type="int"),
    parallelism=dict(type="int", default=5),
    orphan_min_age=dict(type="str", default="10m"),
)


def main():
    module = build_module(ARGUMENT_SPEC, supports_check_mode=True)
    run_module(module, run_cleanup)


if __name__ == "__main__":
    main()
