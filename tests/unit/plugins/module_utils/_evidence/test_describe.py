# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for evidence_describe.py: the describe text, the node summary, Services selecting."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._evidence.describe import (
    describe_pod,
    event_rows,
    node_summary,
    services_selecting,
)

POD = {
    "metadata": {"name": "web-1", "namespace": "shop", "uid": "u1", "labels": {"app": "web"},
                 "annotations": {"note": "x" * 500},
                 "ownerReferences": [{"kind": "ReplicaSet", "name": "web-abc", "controller": True}]},
    "spec": {"nodeName": "node-0", "serviceAccountName": "web",
             "containers": [{"name": "app", "image": "web:1", "command": ["java"], "args": ["-jar", "app.jar"],
                             "env": [{"name": "DB_PASSWORD", "value": "<redacted>"},
                                     {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "api", "key": "k"}}}],
                             "resources": {"limits": {"memory": "512Mi"}},
                             "livenessProbe": {"httpGet": {"path": "/"}, "periodSeconds": 5},
                             "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
             "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "web-data"}}],
             "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}]},
    "status": {"phase": "Running", "podIP": "10.0.0.1", "qosClass": "Burstable",
               "conditions": [{"type": "Ready", "status": "False"}],
               "containerStatuses": [{"name": "app", "restartCount": 4, "ready": False,
                                      "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                                      "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]},
}
EVENTS = [
    {"type": "Warning", "reason": "BackOff", "lastTimestamp": "2026-11-22T03:05:00Z", "count": 7,
     "source": {"component": "kubelet"}, "message": "Back-off restarting failed container"},
    {"type": "Normal", "reason": "Scheduled", "eventTime": "2026-11-22T03:00:00.000000Z",
     "reportingComponent": "default-scheduler", "message": "Successfully assigned shop/web-1"},
]


def test_describe_reads_like_kubectl_describe():
    owners = [{"kind": "ReplicaSet", "metadata": {"name": "web-abc"}}, {"kind": "Deployment", "metadata": {"name": "web"}}]
    text = describe_pod(POD, EVENTS, owners)
    for expected in ("Name:               web-1", "Node:               node-0", "Labels:             app=web",
                     "Controlled By:      ReplicaSet/web-abc <- Deployment/web", "Waiting", "Reason: CrashLoopBackOff",
                     "Last State:", "ExitCode: 137", "Restart Count:      4", "memory: 512Mi",
                     "DB_PASSWORD: <redacted>", "API_KEY: <set from secretKeyRef api key k>",
                     "/data from data (rw)", "data: persistentVolumeClaim (web-data)", "QoS Class:          Burstable",
                     "k:NoSchedule", "Ready                        False"):
        assert expected in text, expected
    assert "x" * 200 not in text  # long annotations are shortened
    events = text.split("Events:\n")[1].splitlines()
    assert "Scheduled" in events[0] and "BackOff" in events[1] and "x7" in events[1]


def test_describe_without_events_or_owner():
    text = describe_pod({"metadata": {"name": "p"}, "spec": {}, "status": {}}, [])
    assert "Controlled By:      <none>" in text and text.endswith("Events:\n  <none>\n")


def test_event_rows_sorted_by_time():
    assert [row[1] for row in event_rows(EVENTS)] == ["Scheduled", "BackOff"]


def test_node_summary_keeps_only_health_and_capacity():
    node = {"metadata": {"name": "n", "uid": "u", "labels": {"zone": "a"}, "annotations": {"secret-ish": "x"}},
            "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}], "podCIDR": "10.0.0.0/24"},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "extra": 1}],
                       "allocatable": {"cpu": "2"}, "capacity": {"cpu": "2"}, "images": [{"names": ["a"]}],
                       "nodeInfo": {"kubeletVersion": "v1.36.3", "machineID": "m", "bootID": "b"},
                       "config": {"active": {}}}}
    summary = node_summary(node)
    assert set(summary) == {"name", "uid", "created", "labels", "unschedulable", "taints", "conditions", "capacity",
                            "allocatable", "node_info"}
    assert summary["node_info"] == {"kubeletVersion": "v1.36.3"}
    assert "extra" not in summary["conditions"][0] and summary["taints"][0]["key"] == "k"


def test_services_selecting_now_and_before_quarantine():
    services = [{"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}}},
                {"metadata": {"name": "canary"}, "spec": {"selector": {"track": "canary"}}},
                {"metadata": {"name": "headless"}, "spec": {}}]
    labels = {"app": "quarantined-web", "track": "canary"}
    original = {"app": "web", "track": "canary"}
    assert services_selecting(services, labels, original) == [
        {"name": "web", "selects_now": False, "selected_before_quarantine": True},
        {"name": "canary", "selects_now": True, "selected_before_quarantine": True}]
    assert services_selecting(services, {"app": "web"}) == [
        {"name": "web", "selects_now": True, "selected_before_quarantine": None}]
