# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _evidence/plan.py: which items, which log streams, parameter checks, outcomes,
the bundle name's cluster part."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._evidence import plan
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError


def params(**overrides):
    base = {"name": "web-1", "namespace": "shop", "include": None, "exclude": [], "required": [], "exec": None, "copy_from": None, "checkpoint": False,
            "tail_lines": None, "since_seconds": None, "limit_bytes": None, "workers": 4, "timeout": 60,
            "redact": True, "redact_patterns": [], "archive": False, "annotate": True}
    base.update(overrides)
    return base


def pod(restarts=0, last_terminated=False, annotations=None):
    status = {"name": "app", "restartCount": restarts, "state": {"running": {}}}
    if last_terminated:
        status["lastState"] = {"terminated": {"exitCode": 1}}
    return {
        "metadata": {"name": "web-1", "namespace": "shop", "annotations": annotations or {}},
        "spec": {"initContainers": [{"name": "init"}], "containers": [{"name": "app"}, {"name": "side car"}]},
        "status": {"initContainerStatuses": [{"name": "init", "restartCount": 0, "state": {"terminated": {}}}],
                   "containerStatuses": [status, {"name": "side car", "restartCount": 0}]},
    }


def test_default_items_and_what_adds_or_removes_them():
    assert plan.selected_items(params()) == list(plan.DEFAULT_ITEMS)
    assert "exec" not in plan.DEFAULT_ITEMS and "checkpoint" not in plan.DEFAULT_ITEMS
    chosen = plan.selected_items(params(exec=[{"command": ["true"]}], checkpoint=True, exclude=["metrics", "node"]))
    assert "exec" in chosen and "checkpoint" in chosen and "metrics" not in chosen and "node" not in chosen
    assert plan.selected_items(params(include=list(plan.QUICK_ITEMS))) == ["manifest", "events", "previous_logs"]
    assert plan.selected_items(params(include=["manifest"], copy_from=[{"path": "/x"}])) == ["manifest", "copy_from"]


def test_validate_collects_every_problem():
    bad = params(include=["exec", "manifest"], required=["logs"], tail_lines=0, workers=0,
                 redact_patterns=["(x"], copy_from=[{"path": " "}])
    with pytest.raises(TriageError) as err:
        plan.validate_params(bad)
    msg = err.value.msg
    for part in ("tail_lines must be a positive", "workers must be between", "include lists exec",
                 "copy_from[1]: path is empty", "required item logs is not collected", "invalid redact_patterns"):
        assert part in msg


def test_exec_commands_are_normalised_and_checked():
    given = params(exec=[{"command": "jcmd 1 'Thread.print'"}, {"command": ["echo", 1]}])
    plan.validate_params(given)
    assert given["exec"][0]["command"] == ["jcmd", "1", "Thread.print"]
    assert given["exec"][1]["command"] == ["echo", "1"]
    with pytest.raises(TriageError, match=r"exec\[1\]: command is empty"):
        plan.validate_params(params(exec=[{"command": ""}]))
    with pytest.raises(TriageError, match=r"exec\[1\]: cannot split"):
        plan.validate_params(params(exec=[{"command": "echo 'unclosed"}]))


def test_exec_and_copy_are_refused_with_impersonation():
    with pytest.raises(TriageError, match="without the Impersonate-\\* headers"):
        plan.validate_params(params(exec=[{"command": ["id"]}]), impersonation={"user": "alice", "groups": []})
    # Without exec or copy_from, impersonation is fine.
    assert plan.validate_params(params(), impersonation={"user": "alice", "groups": []})


def test_containers_and_previous_logs():
    found = plan.containers(pod(restarts=2))
    assert [(c["name"], c["kind"], c["previous"]) for c in found] == [
        ("init", "init", False), ("app", "regular", True), ("side car", "regular", False)]
    assert plan.containers(pod(last_terminated=True))[1]["previous"] is True
    streams = plan.log_streams(pod(restarts=1), ["logs", "previous_logs"])
    assert [(s["container"], s["previous"], s["path"]) for s in streams] == [
        ("init", False, "logs/init.log"), ("app", False, "logs/app.log"), ("app", True, "logs/app.previous.log"),
        ("side car", False, "logs/side-car.log")]
    assert plan.log_streams(pod(), ["previous_logs"]) == []


def test_log_query():
    assert plan.log_query("app", False, params()) == {"container": "app"}
    assert plan.log_query("app", True, params(tail_lines=10, since_seconds=60, limit_bytes=1024)) == {
        "container": "app", "previous": "true", "tailLines": "10", "sinceSeconds": "60", "limitBytes": "1024"}


def test_default_container_and_container_checks():
    assert plan.default_container(pod()) == "app"
    assert plan.default_container(pod(annotations={plan.DEFAULT_CONTAINER_ANNOTATION: "side car"})) == "side car"
    given = params(exec=[{"command": ["x"], "container": "nope"}], copy_from=[{"path": "/d", "container": "init"}])
    with pytest.raises(TriageError, match=r"exec\[1\]: container 'nope' is not in the pod \(containers: init, app"):
        plan.check_containers(pod(), given, ["exec", "copy_from"])
    plan.check_containers(pod(), given, ["copy_from"])  # exec not collected: not checked


def test_exec_and_copy_plans():
    given = params(exec=[{"command": ["/usr/bin/jcmd", "1"], "timeout": 5, "max_bytes": None, "name": None}],
                   copy_from=[{"path": "/var/log/app/", "container": None, "max_bytes": 10, "timeout": None}])
    (entry,) = plan.exec_plan(pod(), given)
    assert entry["base"] == "exec/01-jcmd" and entry["container"] == "app" and entry["timeout"] == 5
    (copy,) = plan.copy_plan(pod(), given)
    assert copy["command"] == ["tar", "cf", "-", "-C", "/var/log", "app"] and copy["root"] == "copy/01-app"
    assert plan.copy_plan(pod(), params(copy_from=[{"path": "notes.txt"}]))[0]["command"][-2:] == ["/", "notes.txt"]


@pytest.mark.parametrize("statuses,combined", [
    ([], "skipped"), (["ok", "ok"], "ok"), (["ok", "failed"], "partial"), (["failed", "failed"], "failed"),
    (["ok", "skipped"], "ok"), (["skipped"], "skipped"), (["unavailable", "unavailable"], "unavailable"),
    (["skipped", "unavailable"], "skipped"), (["partial", "ok"], "partial"),
])
def test_combine(statuses, combined):
    assert plan.combine(statuses) == combined


def test_required_failures_and_lists():
    items = {"logs": {"status": "ok"}, "metrics": {"status": "unavailable", "note": "no API"},
             "exec": {"status": "partial", "error": "exec[2] exited with 3"}, "owners": {"status": "skipped"}}
    assert plan.required_failures(items, ["logs", "owners"]) == []
    assert plan.required_failures(items, ["metrics", "exec"]) == [
        ("metrics", "unavailable", "no API"), ("exec", "partial", "exec[2] exited with 3")]
    failed, skipped = plan.failed_and_skipped(items)
    assert [f["item"] for f in failed] == ["exec"]
    assert sorted(s["item"] for s in skipped) == ["metrics", "owners"]


def test_annotation_value_is_compact_sorted_json():
    value = plan.annotation_value("ctx_ns_pod_20261122T030405Z", "ab" * 32, "2026-11-22T03:04:05Z")
    assert value == ('{"bundle":"ctx_ns_pod_20261122T030405Z","collected_at":"2026-11-22T03:04:05Z",'
                     '"manifest_sha256":"%s"}' % ("ab" * 32))
    assert json.loads(value)["bundle"] == "ctx_ns_pod_20261122T030405Z"


def test_check_mode_plan():
    given = params(exec=[{"command": ["echo"], "container": None, "timeout": 3}], archive=True)
    items = plan.validate_params(given)
    out = plan.check_mode_plan(pod(restarts=1), given, items, "/e/b", quarantined=True)
    assert out["archive"] == "/e/b.tar.gz" and out["annotate"] is True
    assert {"container": "app", "kind": "regular", "previous": True, "path": "logs/app.previous.log"} in out["logs"]
    assert out["exec"] == [{"command": ["echo"], "container": "app", "timeout": 3}]


def test_unit_failure_gives_one_readable_message():
    assert plan.unit_failure(TriageError("forbidden: pods/log")) == {"status": "failed", "files": [],
                                                                     "error": "forbidden: pods/log"}
    disk = OSError(28, "No space left on device", "/e/b.partial/logs/app.log")
    assert plan.unit_failure(disk)["error"] == ("cannot write to the bundle: No space left on device "
                                                "(/e/b.partial/logs/app.log)")
    assert plan.unit_failure(OSError("plain"))["error"] == "cannot write to the bundle: plain"
    bug = plan.unit_failure(KeyError("Authorization: Bearer abcdef1234567890"))
    assert bug["error"].startswith("unexpected KeyError: ") and "abcdef1234567890" not in bug["error"]


def test_unit_outcome_names_its_stream():
    stream = {"container": "app", "kind": "regular", "previous": True, "path": "logs/app.previous.log", "query": {}}
    out = plan.unit_outcome({"status": "ok", "bytes": 3}, stream, 0.25)
    assert out == {"container": "app", "kind": "regular", "previous": True, "path": "logs/app.previous.log",
                   "status": "ok", "bytes": 3, "files": [], "seconds": 0.25}
    assert plan.unit_outcome({"status": "ok", "files": ["pod.yaml"]}, None, 1.0) == {
        "status": "ok", "files": ["pod.yaml"], "seconds": 1.0}


@pytest.mark.parametrize("context,target,server,label", [
    ("prod-eu", "context 'other' (https://x)", "https://x", "prod-eu"),
    (None, "context 'kwok-triage-a' of /home/u/.kube/config (https://127.0.0.1:6443)", "https://127.0.0.1:6443",
     "kwok-triage-a"),
    (None, "in-cluster service account", "https://10.96.0.1:443/base", "10.96.0.1"),
    (None, None, "", "cluster"),
    (None, None, None, "cluster"),
])
def test_cluster_label(context, target, server, label):
    assert plan.cluster_label(context, target, server) == label
