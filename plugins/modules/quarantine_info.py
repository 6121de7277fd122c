#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: quarantine_info
short_description: List every quarantined pod of a cluster, with who, why, expiry, evidence and health
version_added: 0.1.0
description:
  - Finds every pod quarantined by P(triage.k8s.pod_quarantine#module) with one LIST and the label
    selector C(triage.k8s/quarantined=true), over all namespaces or the ones given (one LIST each).
  - Describes each from its contract annotations (see C(docs/contract.md)) - reason, who, when, age,
    expiry, evidence, owner at quarantine time, network policy - and from its current status.
  - Pods that carry the label but not the C(triage.k8s/quarantined-at) annotation are look-alikes, not
    quarantined by this collection; they are listed apart in RV(look_alikes).
  - A pod whose recorded NetworkPolicy (annotation C(triage.k8s/network-policy)) does not exist is not
    network-isolated any more; it is flagged with C(network_policy_missing), counted in the summary, and
    named in a warning. The policies are read with one LIST per namespace given (or one for the cluster),
    never a GET per pod.
  - Every namespace given must exist - a misspelled one fails the module, naming it and the cluster.
  - Read only.
author:
  - triage.k8s developers (@triage-k8s)
extends_documentation_fragment:
  - triage.k8s.k8s_auth
  - triage.k8s.attributes
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: none
options:
  namespaces:
    description:
      - Namespaces to look in. Empty (the default) looks in every namespace with one LIST.
    type: list
    elements: str
    default: []
notes:
  - RBAC needed - list on pods and on networkpolicies (cluster-wide, or in each namespace given); get (one
    namespace) or list (several) on namespaces to check that the namespaces given exist. Without list on
    networkpolicies, or on namespaces, the module warns that it could not check.
  - O(ignore:expired) is computed from the C(triage.k8s/expires-at) annotation alone. What
    P(triage.k8s.quarantine_cleanup#module) deletes also depends on its O(triage.k8s.quarantine_cleanup#module:older_than),
    O(triage.k8s.quarantine_cleanup#module:rules) and O(triage.k8s.quarantine_cleanup#module:require_evidence);
    run it in check mode to see exactly what it would delete.
seealso:
  - module: triage.k8s.pod_quarantine
  - module: triage.k8s.quarantine_cleanup
"""

EXAMPLES = r"""
- name: Every quarantined pod in the cluster
  triage.k8s.quarantine_info:
  register: quarantined

- name: Show the expired ones
  ansible.builtin.debug:
    msg: "{{ quarantined.pods | selectattr('expired') | map(attribute='name') | list }}"

- name: Only two namespaces, another context
  triage.k8s.quarantine_info:
    context: prod-eu
    namespaces: [shop, payments]
"""

RETURN = r"""
pods:
  description: Every quarantined pod, sorted by namespace and name.
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: Namespace of the pod.
      type: str
    name:
      description: Name of the pod.
      type: str
    uid:
      description: Uid of the pod.
      type: str
    node:
      description: Node the pod runs on.
      type: str
    reason:
      description: Why it was quarantined (free text).
      type: str
    quarantined_by:
      description: Who quarantined it.
      type: str
    quarantined_at:
      description: When (RFC 3339 UTC).
      type: str
    age:
      description: Time since the quarantine, for example V(3d4h).
      type: str
    age_seconds:
      description: The same in seconds.
      type: int
    expires_at:
      description: When the quarantine expires (RFC 3339 UTC), or null when it was given no ttl.
      type: str
    expired:
      description: Whether C(expires_at) has passed.
      type: bool
    evidence:
      description:
        - Whether evidence was collected (the C(triage.k8s/evidence) annotation), the bundle's name and when.
        - C(url) is where its verified copy in object storage is (C(s3://bucket/prefix/)), or null when it
          was not uploaded (see P(triage.k8s.pod_evidence#module) O(triage.k8s.pod_evidence#module:storage)).
      type: dict
      sample: {"exists": true, "name": "shop-web-7d4b9c-x2x9k-20261122T030405Z", "collected_at": "2026-11-22T03:10:00Z",
               "url": "s3://incidents/evidence/shop-web-7d4b9c-x2x9k-20261122T030405Z/"}
    owner:
      description: The controller at quarantine time (apiVersion, kind, name, uid), or null for a bare pod.
      type: dict
    network_policy:
      description: Name of the NetworkPolicy made for the pod, or null.
      type: str
    network_policy_missing:
      description:
        - True when the pod records a NetworkPolicy that does not exist (its isolation is lost), false when
          it exists or none is recorded, null when the policies could not be listed.
      type: bool
    original_labels:
      description: The labels the quarantine changed, with their old values.
      type: dict
    health:
      description: Current phase, Ready condition, restart count (all containers) and whether it is terminating.
      type: dict
      sample: {"phase": "Running", "ready": true, "restarts": 7, "terminating": false}
  sample:
    - namespace: shop
      name: web-7d4b9c-x2x9k
      uid: 0b6e5a2c-1111-2222-3333-444455556666
      node: node-3
      reason: OOM at 03:00
      quarantined_by: alice
      quarantined_at: "2026-11-22T03:04:05Z"
      age: 1d2h
      age_seconds: 93600
      expires_at: "2026-11-23T03:04:05Z"
      expired: true
      evidence: {"exists": false, "name": null, "collected_at": null, "url": null}
      owner: {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c", "uid": "9f0e..."}
      network_policy: null
      network_policy_missing: false
      original_labels: {"release": "stable"}
      health: {"phase": "Running", "ready": true, "restarts": 7, "terminating": false}
summary:
  description:
    - Counts overall and by namespace; C(not_expired) have an expiry in the future, C(no_expiry) none.
    - C(network_policy_missing) counts the pods whose recorded NetworkPolicy does not exist.
  returned: always
  type: dict
  sample:
    total: 3
    expired: 1
    not_expired: 1
    no_expiry: 1
    with_evidence: 2
    network_policy_missing: 0
    look_alikes: 0
    by_namespace: {"shop": {"total": 3, "expired": 1, "not_expired": 1, "no_expiry": 1}}
look_alikes:
  description: Pods with the quarantine label but without the quarantined-at annotation (namespace, name, uid, why).
  returned: always
  type: list
  elements: dict
missing_namespaces:
  description: When a namespace given does not exist on the cluster, the ones that do not.
  returned: failure (namespace not found)
  type: list
  elements: str
"""

from ansible_collections.triage.k8s.plugins.module_utils._cleanup.run_info import run_info
from ansible_collections.triage.k8s.plugins.module_utils._k8s.module import build_module, run_module

ARGUMENT_SPEC = dict(
    namespaces=dict(type="list", elements="str", default=[]),
)


def main():
    module = build_module(ARGUMENT_SPEC, supports_check_mode=True)
    run_module(module, run_info)


if __name__ == "__main__":
    main()
