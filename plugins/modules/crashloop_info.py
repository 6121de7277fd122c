#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: crashloop_info
short_description: Tell a crash loop from a slow start, for one pod or a whole fleet, and gate rollouts on it
version_added: 0.1.0
description:
  - Diagnoses every container (init, regular and ephemeral) of the selected pods and classifies each
    pod by its most severe problem - V(oom_killed), V(crash_loop), V(image_pull), V(config_error),
    V(init_failure), V(unschedulable), V(probe_failure), V(evicted), V(error), V(not_ready),
    V(starting), V(completed) or V(healthy) - with a one-line explanation and the next step to take.
  - Pods come from one paginated LIST per scope (O(namespace), each of O(namespaces), or all
    namespaces), Warning events from one LIST per scope. No pod is ever fetched one by one, and
    memory holds one page of pods at a time (plus the results; see O(only_unhealthy)).
  - Input is checked before anything is listed, selector syntax included; a field the API server
    does not support for pods is reported with its own message.
  - With O(wait_for=stable) it is the step before canary traffic. It watches the pods of O(owner)
    (for a Deployment, the pods of its newest ReplicaSet) and returns as soon as every pod is
    Ready with no new restart for O(settle). It fails as soon as a pod is diagnosed V(crash_loop),
    V(oom_killed), V(image_pull), V(config_error), V(init_failure) or V(unschedulable), without
    waiting out O(wait_timeout).
  - A wait follows a rollout that replaces the pods while it runs - the pods of a new ReplicaSet
    end the current watch at once - and a verdict counts only if the owner still wants the same
    pods when it is reached and its controller has acted on its latest spec (for a StatefulSet or
    DaemonSet, a rolling update must also be finished before the pods count as stable). An owner
    scaled to zero is stable once no pod is left. On a timeout the message names the pods that
    never got Ready, diagnosed with their events.
  - This module never changes anything.
author:
  - triage.k8s developers (@triage-k8s)
extends_documentation_fragment:
  - triage.k8s.k8s_auth
  - triage.k8s.attributes
attributes:
  check_mode:
    support: full
    details: Read only; it runs the same in check mode.
  diff_mode:
    support: none
options:
  name:
    description:
      - One pod, in O(namespace). The module fails when there is no such pod (without selectors or O(wait_for)),
        so a misspelled name is not reported as a healthy scan.
    type: str
  namespace:
    description: The namespace to scan (or of O(name) and O(owner)). Without it and O(namespaces), all namespaces.
    type: str
  namespaces:
    description: Several namespaces to scan, one LIST each.
    type: list
    elements: str
  label_selectors:
    description: Label selectors the pods must match, for example V(app=web) or V(tier in (a,b)).
    type: list
    elements: str
  field_selectors:
    description: Field selectors the pods must match, for example V(spec.nodeName=node-1) or V(status.phase!=Succeeded).
    type: list
    elements: str
  owner:
    description:
      - The pods of one owner, as V(KIND/NAME) in O(namespace), for example V(Deployment/web).
        KIND is one of Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, ReplicationController.
      - For a Deployment these are the pods of its newest ReplicaSet, the version being rolled out.
    type: str
  restart_threshold:
    description: A container with at least this many restarts within O(window) is a crash loop.
    type: int
    default: 3
  window:
    description: The window for O(restart_threshold), a duration such as V(10m).
    type: str
    default: 10m
  grace_period:
    description: How long a new pod counts as V(starting) rather than failing to get Ready, such as V(2m).
    type: str
    default: 2m
  only_unhealthy:
    description:
      - Leave V(healthy), V(starting) and V(completed) pods out of RV(pods) (the summary still counts them).
      - They are dropped as they are listed, so on a large fleet the module holds only the unhealthy pods.
    type: bool
    default: false
  page_size:
    description: Items per page of each LIST (C(limit)/C(continue)); memory holds one page.
    type: int
    default: 500
  wait_for:
    description: V(stable) waits for the rollout as described above.
    type: str
    choices: [stable]
  wait_timeout:
    description: Seconds to wait with O(wait_for).
    type: int
    default: 300
  settle:
    description:
      - How long every selected pod must stay Ready with no new restart to be stable, such as V(30s).
      - Counted from each pod's Ready condition transition; a new restart starts it again.
    type: str
    default: 30s
  query:
    description: A JMESPath expression applied to the result; its value is returned as RV(query_result).
    type: str
notes:
  - RBAC needed - list and watch on pods, list on events; get on namespaces (O(namespace), O(namespaces), O(name)) and
    on the owner kind; list on replicasets for a Deployment owner.
  - Containers restarted fewer than O(restart_threshold) times and running right now are not a crash loop; one
    waiting in C(CrashLoopBackOff) always is.
  - RV(pods) is masked for no_log values (a token, a password, kubeconfig secrets) like every result, but only when
    one of them occurs in it; otherwise it skips Ansible's masking walk, which costs seconds on a large fleet.
    Responses are requested gzipped, and the next page is read while the current one is classified.
requirements:
  - jmespath (for O(query))
seealso:
  - module: triage.k8s.pod_quarantine
"""

EXAMPLES = r"""
- name: What is wrong in the shop namespace right now?
  triage.k8s.crashloop_info:
    namespace: shop
    only_unhealthy: true
  register: scan

- name: Every crash-looping pod in the cluster, names only
  triage.k8s.crashloop_info:
    query: "pods[?class=='crash_loop'].[namespace, name]"
  register: looping

- name: Gate canary traffic on the new version being stable
  triage.k8s.crashloop_info:
    namespace: shop
    owner: Deployment/web
    wait_for: stable
    settle: 60s
    wait_timeout: 600
"""

RETURN = r"""
pods:
  description:
    - One entry per pod with its class, explanation, next step and every container's diagnosis.
    - With O(wait_for), the pods the verdict was reached on, as the wait saw them.
  returned: always
  type: list
  elements: dict
  sample:
    - namespace: shop
      name: web-7d4b9c-x2x9k
      class: crash_loop
      explanation: "container web keeps crashing (exit code 1: application error); the kubelet is backing off"
      next_step: "read kubectl logs --previous"
      restarts: 7
      ready: false
      containers: []
summary:
  description: Counts by class, namespace and owner, C(crashloop_detected) and the human list.
  returned: always
  type: dict
crashloop_detected:
  description: Whether any selected pod is crash-looping (or OOM-killed and restarting).
  returned: always
  type: bool
unhealthy:
  description: A short list for humans, most severe first, C(namespace/name - class - explanation).
  returned: always
  type: list
  elements: str
scopes:
  description: What was listed.
  returned: always
  type: list
  elements: str
wait:
  description: With O(wait_for), the verdict (stable, failing), how long it took and which pods failed or were waited for.
  returned: when wait_for is set
  type: dict
query_result:
  description: The value of O(query) applied to this result.
  returned: when query is set
  type: raw
"""

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.run import run_crashloop
from ansible_collections.triage.k8s.plugins.module_utils._k8s.module import build_module, run_module

ARGUMENT_SPEC = dict(
    name=dict(type="str"),
    namespace=dict(type="str"),
    namespaces=dict(type="list", elements="str"),
    label_selectors=dict(type="list", elements="str"),
    field_selectors=dict(type="list", elements="str"),
    owner=dict(type="str"),
    restart_threshold=dict(type="int", default=3),
    window=dict(type="str", default="10m"),
    grace_period=dict(type="str", default="2m"),
    only_unhealthy=dict(type="bool", default=False),
    page_size=dict(type="int", default=500),
    wait_for=dict(type="str", choices=["stable"]),
    wait_timeout=dict(type="int", default=300),
    settle=dict(type="str", default="30s"),
    query=dict(type="str"),
)


def main():
    module = build_module(ARGUMENT_SPEC, bulk_key="pods", supports_check_mode=True, mutually_exclusive=[("name", "owner")],
                          required_by={"name": ("namespace",), "owner": ("namespace",)})
    run_module(module, run_crashloop)


if __name__ == "__main__":
    main()
