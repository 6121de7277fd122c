#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pod_quarantine
short_description: Take a pod out of traffic and out of its owner, keep it running, put it back
version_added: 0.1.0
description:
  - Relabels a misbehaving pod so that none of its Services select it (its EndpointSlices drop it)
    and, by default, its owning controller's selector no longer matches (the controller releases it
    and starts a replacement). The pod keeps running for investigation.
  - Every change is recorded on the pod (see C(docs/contract.md)) with the label C(triage.k8s/quarantined=true)
    and annotations with the time, who, why, when it expires, the original labels and the owner.
  - Every change is also recorded as a Kubernetes Event on the pod (events.k8s.io/v1, reportingController
    C(triage.k8s), reason V(Quarantined), V(Released) or V(NetworkPolicyRestored), the note saying who, why and
    what), so C(kubectl describe pod) and C(kubectl events) show it. See C(docs/contract.md). An Event that
    cannot be written never fails the change; the result says so (RV(event), a warning). Check mode and a
    re-run that changes nothing write no Event.
  - Labels and annotations change in one PATCH guarded by the pod's resourceVersion. If the pod
    changed in between, it is read and planned again.
  - O(state=released) restores the recorded labels and removes the marks and the NetworkPolicy.
  - Owner kinds. ReplicaSet (Deployment) and ReplicationController release the pod and start a
    replacement. A DaemonSet starts its replacement on the same node. A Job (also one a CronJob made)
    releases the pod, removes its job-tracking finalizer, no longer counts it and starts another pod
    while it still needs completions; the quarantined pod's exit never counts toward the Job's success
    or failure, and the pod outlives the Job (deleting the Job does not delete it; O(ttl) and
    P(triage.k8s.quarantine_cleanup#module) do). A StatefulSet cannot replace a pod whose name is still
    taken, so O(scope=traffic_and_owner) is refused for it; use O(scope=traffic_only). A bare pod is
    only taken out of traffic.
  - With O(network_isolation=true) a NetworkPolicy denies all ingress and egress to this pod only.
    It selects a label unique to the pod, never the workload. Because the relabelling takes the pod
    out of the workload's own NetworkPolicies too, the pod's own policy is then the only one that
    selects it, so the deny is not widened by other policies. The policy is created just before the
    pod's labels change and deleted again if the quarantine is not written (a refusal, a failure, or a
    concurrent run that quarantined the pod first). NetworkPolicies are only enforced when the
    cluster's network plugin supports them.
author:
  - triage.k8s developers (@triage-k8s)
extends_documentation_fragment:
  - triage.k8s.k8s_auth
  - triage.k8s.attributes
attributes:
  check_mode:
    support: full
    details: Returns the full plan (label changes, Services, owner, guards) without writing.
  diff_mode:
    support: full
    details: Shows the pod's labels and annotations before and after.
options:
  name:
    description: Name of the pod.
    type: str
    required: true
  namespace:
    description: Namespace of the pod.
    type: str
    required: true
  state:
    description:
      - V(quarantined) takes the pod out of traffic (and its owner); V(released) puts it back.
    type: str
    choices: [quarantined, released]
    default: quarantined
  strategy:
    description:
      - V(auto) computes the smallest set of label changes that makes the pod match none of the
        Services that select it and, with O(scope=traffic_and_owner), not its controller's selector.
        Service selectors and controller matchLabels and matchExpressions (In, NotIn, Exists,
        DoesNotExist) are understood.
      - V(labels) writes O(labels) as given (for example the toggle style C(enabled=false)) and
        checks that the result does take the pod out.
    type: str
    choices: [auto, labels]
    default: auto
  labels:
    description:
      - The labels to write with O(strategy=labels). A null value removes the label.
    type: dict
  scope:
    description:
      - V(traffic_and_owner) breaks the Services' and the owner's selectors, so the owner releases the
        pod and starts a replacement.
      - V(traffic_only) breaks only the Services' selectors; the pod stays managed by its owner.
        It fails, with an explanation, when every label the Services select on is one the owner
        selects on too.
    type: str
    choices: [traffic_and_owner, traffic_only]
    default: traffic_and_owner
  value_prefix:
    description:
      - Prefix of rewritten label values, C(quarantined-<original>). Values are kept within label
        rules (63 characters, alphanumeric at both ends).
    type: str
    default: quarantined-
  reason:
    description:
      - Why the pod is quarantined; free text stored in the C(triage.k8s/reason) annotation and in the note of
        the Quarantined Event.
      - With O(state=released), why it is released, in the note of the Released Event (not stored on the pod).
    type: str
    default: ""
  ttl:
    description:
      - How long the quarantine lasts, for example V(30m), V(24h), V(7d); stored as an absolute
        C(triage.k8s/expires-at) time that P(triage.k8s.quarantine_cleanup#module) honours.
      - Without a TTL the pod is kept until released or deleted by hand.
    type: str
  quarantined_by:
    description:
      - Who quarantines the pod. Defaults to the identity the API server reports for the caller
        (SelfSubjectReview), else the AWX job (E(JOB_ID)).
      - With O(state=released), who releases it, for the note of the Released Event.
    type: str
  network_isolation:
    description: Also create a NetworkPolicy that denies all ingress and egress to this pod only.
    type: bool
    default: false
  network_allow:
    description: What the isolating NetworkPolicy still lets in and out, for forensics tooling.
    type: dict
    suboptions:
      namespace_labels:
        description: Pods in namespaces with these labels may connect (and be connected to).
        type: dict
      cidrs:
        description: IP blocks that may connect (and be connected to).
        type: list
        elements: str
  wait:
    description:
      - Wait until the pod is in no EndpointSlice of the Services it was in and, when the owner
        releases it, until a replacement from the same owner is Ready. Uses watches.
      - On a pod that is already quarantined it waits for the same, writing nothing, so running the task
        again after a wait timed out picks up where it stopped.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait; a timeout fails and says what was and was not reached.
    type: int
    default: 120
  max_quarantined_per_owner:
    description:
      - Refuse when the pod's owner already has this many quarantined pods. If replacements fail
        like the pod they replaced, the workload is broken and more quarantines only orphan pods.
    type: int
    default: 1
  force:
    description:
      - Quarantine a Ready pod even when it is the last Ready pod of its ReplicaSet, ReplicationController
        or StatefulSet or, for a bare pod or a DaemonSet or Job pod, the last Ready pod behind one of its
        Services. Without O(force) that is refused, because the workload or the Service would have no ready
        pod until a replacement is Ready (or at all, when nothing replaces the pod). The refusal names
        replicas of the owner that are unschedulable, since a replacement would be too.
      - Also lifts the budget guards, O(min_healthy_replicas) and PodDisruptionBudgets (see O(min_healthy_replicas)),
        and then no PodDisruptionBudget is read.
      - Does not lift the other refusals (O(max_quarantined_per_owner), StatefulSet with
        O(scope=traffic_and_owner), a terminating pod).
      - A pod whose own diagnosis is unhealthy (a crash loop, an OOM kill in the last 10 minutes, 3 or more
        restarts in 10 minutes) is not counted as a Ready pod by these guards, even in the moment it is Ready
        between crashes, so a crash-looping single replica can be quarantined without O(force).
    type: bool
    default: false
  min_healthy_replicas:
    description:
      - Refuse when, after this quarantine, fewer healthy Ready replicas of the pod's owner would remain (until a
        replacement is Ready) than this - a count such as V(2) or a percentage such as V(50%) of the owner's desired
        replicas (C(spec.replicas); a DaemonSet's C(desiredNumberScheduled)), rounded up like a PodDisruptionBudget's.
        Unset, no such guard. For a bare pod or a Job's pod it does not apply, and a warning says so.
      - Every PodDisruptionBudget selecting the pod is honoured anyway. The quarantine is refused, naming the budget
        and its numbers, when taking the pod out would leave fewer healthy pods than its C(minAvailable) (more
        unavailable than its C(maxUnavailable)), percentages rounded up as the disruption controller does, even when
        the new labels still match its selector. A percentage or C(maxUnavailable) needs a current status (else it
        is refused, and waiting helps). Needs list on poddisruptionbudgets (policy); forbidden, the quarantine fails.
      - Both count as healthy only Ready pods not terminating, not quarantined and not unhealthy by their own
        diagnosis (as for O(force)), so a pod not itself healthy is never refused by them. O(force) lifts both.
    type: raw
notes:
  - After O(state=released) the owner may adopt the pod again and then delete a surplus pod, which
    may be this one or another.
  - RBAC needed - get, list and patch on pods; get on namespaces; list on poddisruptionbudgets (policy, for the budget
    guard); list and watch on pods and endpointslices (for O(wait));
    list on services; get on the owner kind; create, get, patch and delete on networkpolicies (for
    O(network_isolation) and release); create on selfsubjectreviews (optional, for O(quarantined_by));
    create on events in API group events.k8s.io (the Event of each change; without it the change is still
    made and RV(event) says it was not written).
    Release asks the API server (create on selfsubjectaccessreviews, which every authenticated user has) whether it may
    delete the pod's NetworkPolicy before it changes the pod, so a release that could not finish changes nothing.
  - A quarantined pod that crashes keeps crashing (and restarting) in place; it is only out of traffic and
    out of its owner. Delete it, or let P(triage.k8s.quarantine_cleanup#module) do so after O(ttl), once the
    evidence is safe.
seealso:
  - module: triage.k8s.quarantine_info
  - module: triage.k8s.quarantine_cleanup
"""

EXAMPLES = r"""
- name: Quarantine a crash-looping pod for a day
  triage.k8s.pod_quarantine:
    name: web-7d4b9c-x2x9k
    namespace: shop
    reason: "OOM at 03:00, heap dump pending"
    ttl: 24h
    wait: true

- name: Take it out of traffic only, keep it managed (StatefulSet pods)
  triage.k8s.pod_quarantine:
    name: db-2
    namespace: shop
    scope: traffic_only

- name: Toggle style, and cut its network except for the forensics namespace
  triage.k8s.pod_quarantine:
    name: web-7d4b9c-x2x9k
    namespace: shop
    strategy: labels
    labels:
      enabled: "false"
    network_isolation: true
    network_allow:
      namespace_labels:
        kubernetes.io/metadata.name: forensics

- name: Keep at least half of the replicas healthy (PodDisruptionBudgets are honoured anyway)
  triage.k8s.pod_quarantine:
    name: web-7d4b9c-x2x9k
    namespace: shop
    min_healthy_replicas: "50%"

- name: Put it back into service
  triage.k8s.pod_quarantine:
    name: web-7d4b9c-x2x9k
    namespace: shop
    state: released
"""

RETURN = r"""
pod:
  description: The pod (name, namespace, uid, ip, node, phase).
  returned: always
  type: dict
labels_changed:
  description: Each label changed, with its value before and after (null means absent).
  returned: always
  type: dict
  sample: {"release": {"before": "stable", "after": "quarantined-stable"}}
services:
  description: Services that selected the pod before the quarantine.
  returned: state=quarantined
  type: list
  elements: str
endpoints_removed:
  description: Whether the pod was seen to leave every EndpointSlice (only checked with O(wait)).
  returned: state=quarantined
  type: dict
  sample: {"verified": true, "services_still_listing": []}
owner:
  description: The controller at quarantine time, whether it released the pod, and what it does next.
  returned: state=quarantined
  type: dict
replacement:
  description: Replacement pods started by the owner and whether one is Ready (checked with O(wait)).
  returned: state=quarantined
  type: dict
  sample: {"expected": true, "ready": true, "pods": [{"name": "web-7d4b9c-q8w2m", "ready": true}]}
network_policy:
  description: Name of the pod's NetworkPolicy, if one was made.
  returned: always
  type: str
quarantined_at:
  description: When the pod was quarantined (RFC 3339 UTC).
  returned: state=quarantined
  type: str
quarantined_by:
  description: Who quarantined it.
  returned: state=quarantined
  type: str
reason:
  description: Why.
  returned: state=quarantined
  type: str
expires_at:
  description: When the quarantine expires (RFC 3339 UTC), or null.
  returned: state=quarantined
  type: str
commands:
  description:
    - Ready-to-paste kubectl lines (logs, logs_previous, exec, debug, port_forward, describe) and the release command.
    - debug is C(kubectl debug -it ... --target=FIRST_CONTAINER --profile=general), for images without a shell.
  returned: state=quarantined
  type: dict
plan:
  description: In check mode, the merge patch that would be sent.
  returned: check mode
  type: dict
note:
  description: With O(state=released), what Kubernetes does next.
  returned: state=released
  type: str
refused:
  description: True when a guard refused the quarantine (deliberately; nothing was written), rather than it failing.
  returned: failure by a guard
  type: bool
guard:
  description: Which guard refused.
  returned: failure by a guard
  type: str
  choices: [terminating, owner_kind, max_quarantined_per_owner, last_ready_replica, last_ready_endpoint,
            min_healthy_replicas, pod_disruption_budget]
  sample: last_ready_replica
msg:
  description:
    - A one-line summary; on a pod already quarantined, says so.
    - With O(state=released), what the release did, and whether the pod's NetworkPolicy was deleted.
  returned: always
  type: str
  sample: "pod web-7d4b9c-x2x9k quarantined: out of Service(s) web; released by ReplicaSet web-7d4b9c"
quarantined_pods:
  description: When O(max_quarantined_per_owner) refuses, the owner's quarantined pods.
  returned: failure
  type: list
  elements: str
unschedulable_pods:
  description: When the last Ready replica is refused, the owner's pods the scheduler cannot place.
  returned: failure
  type: list
  elements: str
services_left_without_endpoints:
  description: When a bare, DaemonSet or Job pod is refused as the last Ready pod, the Services it would leave empty.
  returned: failure
  type: list
  elements: str
pod_disruption_budget:
  description:
    - When a PodDisruptionBudget refuses, its C(namespace), C(name), status (C(currentHealthy), C(desiredHealthy),
      C(disruptionsAllowed), C(expectedPods)), C(minAvailable) or C(maxUnavailable), and the healthy pods counted
      now (C(healthy)), after (C(healthy_after)), C(required), and C(still_selects_pod).
  returned: failure by guard pod_disruption_budget
  type: dict
min_healthy_replicas:
  description: When O(min_healthy_replicas) refuses, the C(value), C(required), C(desired_replicas) and C(healthy_left).
  returned: failure by guard min_healthy_replicas
  type: dict
network_policy_deleted:
  description:
    - With O(state=released), whether the pod's NetworkPolicy was deleted.
    - V(false) also when the policy was replaced meanwhile by a newer quarantine of the same pod, which keeps its own.
  returned: state=released
  type: bool
event:
  description:
    - The Kubernetes Event (events.k8s.io/v1) recorded on the pod for this change - C(written), its C(name),
      C(namespace), C(reason) (V(Quarantined), V(Released) or V(NetworkPolicyRestored)) and, when it was not
      written, C(error) (for a missing grant, the verb and resource to grant). Not writing it never fails the
      change; a warning says so too.
    - V(null) when the run wrote nothing (check mode, or nothing to change), and then no Event is written either.
  returned: always
  type: dict
  sample: {"written": true, "name": "web-7d4b9c-x2x9k.3f1c2a9b8d7e6f50", "namespace": "shop",
           "reason": "Quarantined", "error": null}
network_policy_repaired:
  description:
    - On a re-run against a pod already quarantined with O(network_isolation), the name of its recorded NetworkPolicy
      when that policy was missing and was created again (in check mode, would be).
  returned: when a missing policy was re-created
  type: str
"""

from ansible_collections.triage.k8s.plugins.module_utils._k8s.module import build_module, run_module
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.run import run_quarantine

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    namespace=dict(type="str", required=True),
    state=dict(type="str", choices=["quarantined", "released"], default="quarantined"),
    strategy=dict(type="str", choices=["auto", "labels"], default="auto"),
    labels=dict(type="dict"),
    scope=dict(type="str", choices=["traffic_and_owner", "traffic_only"], default="traffic_and_owner"),
    value_prefix=dict(type="str", default="quarantined-"),
    reason=dict(type="str", default=""),
    ttl=dict(type="str"),
    quarantined_by=dict(type="str"),
    network_isolation=dict(type="bool", default=False),
    network_allow=dict(type="dict", options=dict(
        namespace_labels=dict(type="dict"),
        cidrs=dict(type="list", elements="str"),
    )),
    wait=dict(type="bool", default=False),
    wait_timeout=dict(type="int", default=120),
    max_quarantined_per_owner=dict(type="int", default=1),
    force=dict(type="bool", default=False),
    min_healthy_replicas=dict(type="raw"),
)


def main():
    module = build_module(ARGUMENT_SPEC, supports_check_mode=True,
                          required_if=[("strategy", "labels", ("labels",))])
    run_module(module, run_quarantine)


if __name__ == "__main__":
    main()
