# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the pure parts of quarantine_wait.py: reading EndpointSlices and finding replacements."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._quarantine.wait import (
    SERVICE_NAME_LABEL,
    pod_in_slices,
    replacement_pods,
)

POD = "web-7d4b9c-x2x9z"
POD_IP = "10.244.1.7"
RS_UID = "0d9f8e7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"
DS_UID = "5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c"


def endpoint(ip, pod_name=None, kind="Pod", ready=True):
    item = {"addresses": [ip], "conditions": {"ready": ready, "serving": ready, "terminating": False},
            "nodeName": "node-a"}
    if pod_name:
        item["targetRef"] = {"kind": kind, "namespace": "shop", "name": pod_name, "uid": "uid-" + pod_name}
    return item


def endpoint_slice(service, endpoints, name=None):
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name or service + "-abcde", "namespace": "shop",
                     "labels": {SERVICE_NAME_LABEL: service, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }


# --- pod_in_slices -------------------------------------------------------------------------

def test_pod_in_slices_by_target_ref_name():
    slices = [endpoint_slice("web", [endpoint("10.244.9.9", POD), endpoint("10.244.2.3", "web-other")])]
    assert pod_in_slices(slices, POD, set()) == ["web"]
    assert pod_in_slices(slices, POD, {POD_IP}) == ["web"]


def test_pod_in_slices_by_address():
    slices = [endpoint_slice("web", [endpoint(POD_IP)]),  # no targetRef
              endpoint_slice("metrics", [endpoint("10.244.2.3", "web-other")])]
    assert pod_in_slices(slices, POD, {POD_IP}) == ["web"]


def test_pod_in_slices_dual_stack_address():
    slices = [endpoint_slice("web-v6", [endpoint("fd00::7")])]
    assert pod_in_slices(slices, POD, {POD_IP, "fd00::7"}) == ["web-v6"]


@pytest.mark.parametrize("endpoints", [
    [],
    None,
    [endpoint("10.244.2.3", "web-other")],
    [endpoint("10.244.2.3", POD, kind="Node")],  # same name, not a pod
    [endpoint("10.244.2.3")],
    [{"addresses": None}],
    [{}],
])
def test_pod_in_slices_not_listed(endpoints):
    assert pod_in_slices([endpoint_slice("web", endpoints)], POD, {POD_IP}) == []


def test_pod_in_slices_reports_each_service_once_sorted():
    slices = [
        endpoint_slice("web", [endpoint(POD_IP, POD)], name="web-1"),
        endpoint_slice("web", [endpoint(POD_IP, POD)], name="web-2"),
        endpoint_slice("admin", [endpoint("10.244.2.3", "web-other"), endpoint(POD_IP, POD, ready=False)]),
        endpoint_slice("canary", [endpoint("10.244.2.4", "web-canary")]),
    ]
    assert pod_in_slices(slices, POD, {POD_IP}) == ["admin", "web"]


def test_pod_in_slices_nothing():
    assert pod_in_slices([], POD, {POD_IP}) == []


# --- replacement_pods ----------------------------------------------------------------------

def make_pod(name, uid, owner_uid=RS_UID, kind="ReplicaSet", node="node-a", ready=False, phase="Running",
             created="2026-11-22T03:05:00Z"):
    metadata = {"name": name, "namespace": "shop", "uid": uid, "creationTimestamp": created}
    if owner_uid:
        metadata["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": kind, "name": "owner", "uid": owner_uid,
                                        "controller": True, "blockOwnerDeletion": True}]
    spec = {"containers": [{"name": "web", "image": "nginx:1.27"}]}
    if node:
        spec["nodeName"] = node
    status = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}


def test_replacement_pods_excludes_known_pods_and_other_owners():
    pods = [
        make_pod("web-old", "u-old", ready=True, created="2026-11-22T01:00:00Z"),
        make_pod("web-quarantined", "u-q", ready=True, created="2026-11-22T01:00:00Z"),
        make_pod("web-new", "u-new", ready=True),
        make_pod("api-new", "u-api", owner_uid="other-rs", ready=True),
        make_pod("bare", "u-bare", owner_uid=None, ready=True),
    ]
    assert replacement_pods(pods, RS_UID, {"u-old", "u-q"}) == [
        {"name": "web-new", "ready": True, "phase": "Running", "created": "2026-11-22T03:05:00Z"}]


def test_replacement_pods_ignores_non_controller_owner_references():
    pod = make_pod("web-new", "u-new")
    pod["metadata"]["ownerReferences"][0]["controller"] = False
    assert replacement_pods([pod], RS_UID, set()) == []


@pytest.mark.parametrize("ready, phase, expected", [
    (True, "Running", True),
    (False, "Running", False),
    (False, "Pending", False),
    (False, "Succeeded", True),  # a Job's replacement that already completed
    (False, "Failed", False),
])
def test_replacement_pods_readiness(ready, phase, expected):
    found = replacement_pods([make_pod("job-new", "u-new", kind="Job", ready=ready, phase=phase)], RS_UID, set())
    assert [(p["name"], p["ready"], p["phase"]) for p in found] == [("job-new", expected, phase)]


def test_replacement_pods_without_status():
    pod = make_pod("web-new", "u-new")
    del pod["status"]
    assert replacement_pods([pod], RS_UID, set()) == [{"name": "web-new", "ready": False, "phase": None,
                                                       "created": "2026-11-22T03:05:00Z"}]


def test_replacement_pods_daemonset_same_node_only():
    pods = [
        make_pod("agent-a", "u-a", owner_uid=DS_UID, kind="DaemonSet", node="node-a", ready=True),
        make_pod("agent-b", "u-b", owner_uid=DS_UID, kind="DaemonSet", node="node-b", ready=True),
        make_pod("agent-pending", "u-p", owner_uid=DS_UID, kind="DaemonSet", node=None),  # not bound yet
    ]
    names = [p["name"] for p in replacement_pods(pods, DS_UID, set(), node_name="node-a")]
    assert names == ["agent-a", "agent-pending"]
    all_nodes = [p["name"] for p in replacement_pods(pods, DS_UID, set())]
    assert all_nodes == ["agent-a", "agent-b", "agent-pending"]


def test_replacement_pods_sorted_by_creation_then_name():
    pods = [
        make_pod("web-c", "u-c", created="2026-11-22T03:07:00Z"),
        make_pod("web-b", "u-b", created="2026-11-22T03:05:00Z"),
        make_pod("web-a", "u-a", created="2026-11-22T03:05:00Z"),
        make_pod("web-z", "u-z", created="2026-11-22T03:04:59Z"),
        make_pod("web-nocreated", "u-n", created=None),
    ]
    assert [p["name"] for p in replacement_pods(pods, RS_UID, set())] == ["web-nocreated", "web-z", "web-a", "web-b",
                                                                          "web-c"]


def test_replacement_pods_none():
    assert replacement_pods([], RS_UID, set()) == []
    assert replacement_pods([make_pod("web-old", "u-old")], RS_UID, {"u-old"}) == []
