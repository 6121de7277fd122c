# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _cleanup/run.py without a cluster: the plan and a check-mode run against a
stand-in for the API layer (what is listed, what goes with its pod, what is an orphan, what is
kept). The real API, the deletes and their failures are tested in tests/integration."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from datetime import datetime, timedelta, timezone

from ansible_collections.triage.k8s.plugins.module_utils._cleanup.decide import build_config
from ansible_collections.triage.k8s.plugins.module_utils._cleanup.run import cleanup, plan
from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_EVIDENCE,
    ANN_EXPIRES_AT,
    ANN_NETWORK_POLICY,
    ANN_ORIGINAL_LABELS,
    ANN_QUARANTINED_AT,
    FOR_POD_LABEL,
    FOR_POD_UID_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    QUARANTINED_LABEL,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
EVIDENCE = json.dumps({"bundle": "b-1", "manifest_sha256": "0" * 64, "collected_at": "2026-05-01T00:00:00Z"})


def ts(delta_seconds):
    return format_rfc3339(NOW + timedelta(seconds=delta_seconds))


def quarantined(name, expires_in, policy=None):
    annotations = {ANN_QUARANTINED_AT: ts(-7200), ANN_ORIGINAL_LABELS: json.dumps({}), ANN_EXPIRES_AT: ts(expires_in),
                   ANN_EVIDENCE: EVIDENCE}
    if policy:
        annotations[ANN_NETWORK_POLICY] = policy
    return {"metadata": {"name": name, "namespace": "shop", "uid": "uid-" + name, "resourceVersion": "7",
                         "labels": {QUARANTINED_LABEL: "true"}, "annotations": annotations},
            "spec": {}, "status": {"phase": "Running"}}


def our_policy(name, pod_name, uid):
    return {"metadata": {"name": name, "namespace": "shop", "uid": "np-" + name, "resourceVersion": "3",
                         "creationTimestamp": ts(-7200),
                         "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE, FOR_POD_LABEL: pod_name},
                         "annotations": {FOR_POD_UID_ANNOTATION: uid}}}


class FakeKube(object):
    """Lists what it holds; GETs of pods it does not hold answer None. Writes are not expected."""

    target = "context 'test'"

    def __init__(self, pods, policies, namespaces=("shop",)):
        self.objects = {"Pod": list(pods), "NetworkPolicy": list(policies),
                        "Namespace": [{"metadata": {"name": n}} for n in namespaces]}
        self.calls = []

    def list(self, kind, namespace=None, label_selector=None, **_kwargs):
        self.calls.append(("list", kind, namespace))
        return iter([o for o in self.objects[kind] if namespace is None or o["metadata"].get("namespace") == namespace])

    def get_or_none(self, kind, name, namespace=None):
        self.calls.append(("get", kind, name))
        return next((o for o in self.objects[kind] if o["metadata"]["name"] == name
                     and o["metadata"].get("namespace") == namespace), None)


def world():
    pods = [quarantined("old", -3600, policy="np-old"), quarantined("young", 3600, policy="np-young")]
    policies = [our_policy("np-old", "old", "uid-old"), our_policy("np-young", "young", "uid-young"),
                our_policy("np-gone", "gone", "uid-gone")]
    return FakeKube(pods, policies)


def test_the_plan_links_policies_to_their_pods_and_finds_orphans():
    kube = world()
    config = build_config({"namespaces": ["shop"], "max_deletions": 10, "orphan_min_age": "0"})
    planned = plan(kube, config, NOW)
    assert [pod["metadata"]["name"] for pod, _entry in planned["delete"]] == ["old"]
    assert [entry["name"] for _pod, entry in planned["skipped"]] == ["young"]
    assert sorted(planned["linked"]) == ["uid-old", "uid-young"]
    assert [p["metadata"]["name"] for p in planned["linked"]["uid-old"]] == ["np-old"]
    assert [p["metadata"]["name"] for p, _why in planned["orphans"]] == ["np-gone"]
    assert planned["policies_kept"] == []
    assert ("get", "Pod", "gone") in kube.calls  # an orphan's pod is looked up, never the listed ones
    assert not [c for c in kube.calls if c[0] == "get" and c[2] in ("old", "young")]


def test_check_mode_reports_the_pod_its_policy_and_the_orphan_and_writes_nothing():
    kube = world()
    config = build_config({"namespaces": ["shop"], "max_deletions": 10, "orphan_min_age": "0"})
    result = cleanup(kube, config, True, clock=lambda: NOW)
    assert [e["name"] for e in result["pods_deleted"]] == ["old"] and result["pods_deleted"][0]["reevaluated"] is False
    assert [e["name"] for e in result["pods_skipped"]] == ["young"]
    assert [e["name"] for e in result["network_policies_deleted"]] == ["np-gone", "np-old"]
    assert result["changed"] is True and result["msg"].startswith("would delete 1 of 2 quarantined pods")
    assert kube.calls[0] == ("get", "Namespace", "shop")
