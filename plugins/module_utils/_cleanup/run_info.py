# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""quarantine_info's run: every quarantined pod of a cluster from one LIST per namespace scope
(one over all namespaces when none is given), and, only if a pod records a NetworkPolicy, one
LIST of our policies per scope, never a GET per pod. info.py describes what they return."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.triage.k8s.plugins.module_utils._cleanup.info import (
    describe,
    info_result,
    mark_policies,
    namespaces_problem,
    policy_index,
    records_a_policy,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import OUR_POLICIES_SELECTOR, QUARANTINED_SELECTOR
from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import connect
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.namespaces import check_namespaces


def _policies(kube, scopes, warn):
    """policy_index over the scopes (one LIST each), or None when listing is not allowed."""
    policies = []
    try:
        for namespace in scopes:
            policies.extend(kube.list("NetworkPolicy", namespace=namespace, label_selector=OUR_POLICIES_SELECTOR))
    except TriageError as exc:
        if exc.details.get("status") != 403:
            raise
        warn("network_policy_missing was not checked: %s" % exc.msg)
        return None
    return policy_index(policies)


def info(kube, namespaces, warn, now=None):
    """The module result for these namespaces (empty: every namespace)."""
    check_namespaces(kube, namespaces, "check namespaces and context; nothing was read", warn,
                     with_keys=True)
    scopes = sorted(set(namespaces)) or [None]
    pods = []
    for namespace in scopes:
        pods.extend(kube.list("Pod", namespace=namespace, label_selector=QUARANTINED_SELECTOR))
    entries, _summary, ignored = describe(pods, now or datetime.datetime.now(datetime.timezone.utc))
    index = _policies(kube, scopes, warn) if records_a_policy(entries) else {}
    for warning in mark_policies(entries, index):
        warn(warning)
    return info_result(entries, ignored)


def run_info(module):
    namespaces = module.params.get("namespaces") or []
    problem = namespaces_problem(namespaces)
    if problem:
        raise TriageError(problem)
    kube = connect(module.params)
    return info(kube, namespaces, module.warn)
