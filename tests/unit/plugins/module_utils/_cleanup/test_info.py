# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _cleanup/info.py, the pure parts of quarantine_info: a quarantined pod whose
recorded NetworkPolicy is missing is flagged and named in a warning. (The namespace check is in
_k8s/test_namespaces.py.)"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from datetime import datetime, timezone

from ansible_collections.triage.k8s.plugins.module_utils._cleanup.info import (
    describe,
    info_result,
    mark_policies,
    namespaces_problem,
    policy_index,
    records_a_policy,
    summarize,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_NETWORK_POLICY,
    ANN_QUARANTINED_AT,
    FOR_POD_LABEL,
    FOR_POD_UID_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    QUARANTINED_LABEL,
)

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


def pod(name, namespace="shop", policy=None):
    annotations = {ANN_QUARANTINED_AT: "2026-06-01T10:00:00Z", "triage.k8s/original-labels": json.dumps({})}
    if policy:
        annotations[ANN_NETWORK_POLICY] = policy
    return {"metadata": {"name": name, "namespace": namespace, "uid": "uid-" + name,
                         "labels": {QUARANTINED_LABEL: "true"}, "annotations": annotations},
            "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}


def policy(name, pod_name, namespace="shop", uid=None, ours=True):
    labels = {MANAGED_BY_LABEL: MANAGED_BY_VALUE, FOR_POD_LABEL: pod_name} if ours else {"team": "net"}
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels,
                         "annotations": {FOR_POD_UID_ANNOTATION: uid or "uid-" + pod_name}}}


def entries_for(pods):
    entries, _summary, _ignored = describe(pods, NOW)
    return entries


def test_a_recorded_policy_that_is_not_there_is_flagged_and_named():
    entries = entries_for([pod("isolated", policy="np-isolated"), pod("lost", policy="np-lost"), pod("plain"),
                           pod("foreign", policy="np-foreign"), pod("elsewhere", namespace="web", policy="np-x")])
    index = policy_index([policy("np-isolated", "isolated"), policy("np-foreign", "foreign", ours=False),
                          policy("np-x", "elsewhere", namespace="other")])

    warnings = mark_policies(entries, index)

    missing = dict((e["name"], e["network_policy_missing"]) for e in entries)
    assert missing == {"isolated": False, "lost": True, "plain": False, "foreign": True, "elsewhere": True}
    assert len(warnings) == 3
    lost = [w for w in warnings if "shop/lost" in w][0]
    assert 'pod shop/lost is quarantined with NetworkPolicy "np-lost"' in lost and "not network-isolated" in lost
    assert summarize(entries, [])["network_policy_missing"] == 3


def test_a_policy_made_for_another_uid_does_not_count():
    entries = entries_for([pod("p", policy="np-p")])
    warnings = mark_policies(entries, policy_index([policy("np-p", "p", uid="uid-old")]))
    assert entries[0]["network_policy_missing"] is True and "made for another pod (uid uid-old)" in warnings[0]


def test_unchecked_policies_are_null_not_false():
    entries = entries_for([pod("p", policy="np-p")])
    assert mark_policies(entries, None) == [] and entries[0]["network_policy_missing"] is None
    assert summarize(entries, [])["network_policy_missing"] == 0


def test_policies_are_listed_only_when_a_pod_records_one():
    assert records_a_policy(entries_for([pod("a"), pod("b", policy="triage-b")])) is True
    assert records_a_policy(entries_for([pod("a")])) is False and records_a_policy([]) is False


def test_the_result_counts_the_marked_entries():
    entries = entries_for([pod("a", policy="triage-a"), pod("b")])
    mark_policies(entries, {})
    result = info_result(entries, [])
    assert result["changed"] is False and result["pods"] is entries and result["look_alikes"] == []
    assert result["summary"]["total"] == 2 and result["summary"]["network_policy_missing"] == 1


def test_namespaces_must_be_names():
    assert namespaces_problem([]) is None and namespaces_problem(["shop", "web"]) is None
    for bad in (["shop", ""], [" "], [None], [3]):
        assert namespaces_problem(bad) == "namespaces must contain namespace names, got %r" % (bad,)
