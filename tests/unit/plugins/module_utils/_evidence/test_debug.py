# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _evidence/debug.py: kubectl debug's profiles, the container's deterministic name
and reuse, the patch body, refusals, and how exec and copy_from are routed through it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._evidence import debug as dbg
from ansible_collections.triage.k8s.plugins.module_utils._evidence import plan


def pod(phase="Running", ephemeral=(), statuses=(), annotations=None, share=False, containers=("app", "sidecar")):
    spec = {"containers": [{"name": n, "image": "img/%s" % n} for n in containers],
            "ephemeralContainers": list(ephemeral)}
    if share:
        spec["shareProcessNamespace"] = True
    return {"metadata": {"name": "web-1", "namespace": "shop", "resourceVersion": "42", "annotations": annotations or {}},
            "spec": spec, "status": {"phase": phase, "ephemeralContainerStatuses": list(statuses)}}


def wanted(**overrides):
    option = dict({"image": "busybox:1.36", "profile": "general", "command": None, "args": None}, **overrides)
    assert dbg.validate(option) == []
    return dbg.settings(option, "app")


# ---------------------------------------------------------------- profiles, as kubectl debug sets them

@pytest.mark.parametrize("profile, context", [
    ("legacy", None),
    ("baseline", None),
    ("general", {"capabilities": {"add": ["SYS_PTRACE"]}}),
    ("netadmin", {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}}),
    ("sysadmin", {"privileged": True}),
    ("restricted", {"runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}, "allowPrivilegeEscalation": False,
                    "seccompProfile": {"type": "RuntimeDefault"}}),
])
def test_profiles_set_the_security_context_kubectl_sets(profile, context):
    assert dbg.security_context(profile) == context
    body = dbg.container("triage-debug-x", wanted(profile=profile))
    assert body.get("securityContext") == context


def test_every_profile_is_known_and_an_unknown_one_is_an_error():
    assert set(dbg.PROFILES) == {"legacy", "general", "baseline", "restricted", "netadmin", "sysadmin"}
    with pytest.raises(ValueError):
        dbg.security_context("root")
    assert "debug.profile must be one of" in dbg.validate({"image": "busybox", "profile": "root"})[0]


# ---------------------------------------------------------------- option checks and defaults

def test_validation_names_every_problem_and_splits_commands():
    option = {"image": " ", "command": "sh -c 'unterminated", "timeout": 0}
    problems = dbg.validate(option)
    assert any("debug.image is required" in p for p in problems)
    assert any("debug.command: cannot split" in p for p in problems)
    assert any("debug.timeout" in p for p in problems)
    option = {"image": "busybox", "command": "sh -c 'sleep 600'", "args": ["a", 1]}
    assert dbg.validate(option) == [] and option["command"] == ["sh", "-c", "sleep 600"] and option["args"] == ["a", "1"]


def test_validate_params_reports_debug_problems_with_the_others():
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
    params = {"name": "web-1", "namespace": "shop", "include": None, "exclude": [], "required": [], "exec": None,
              "copy_from": None, "checkpoint": False, "tail_lines": None, "since_seconds": None, "limit_bytes": None,
              "workers": 4, "timeout": 60, "redact_patterns": [], "debug": {"image": "", "profile": "general"}}
    with pytest.raises(TriageError) as caught:
        plan.validate_params(params)
    assert "debug.image is required" in caught.value.msg and "nothing was read or written" in caught.value.msg


def test_without_command_or_args_the_container_sleeps_so_exec_can_follow():
    assert wanted()["command"] == ["sleep", "3600"] and wanted()["args"] is None
    only_args = wanted(args=["--serve"])
    assert only_args["command"] is None and only_args["args"] == ["--serve"]  # the image's entrypoint runs them
    body = dbg.container("n", only_args)
    assert "command" not in body and body["args"] == ["--serve"]


def test_the_container_is_what_kubectl_debug_adds():
    body = dbg.container("triage-debug-abc", wanted())
    assert body == {"name": "triage-debug-abc", "image": "busybox:1.36", "targetContainerName": "app",
                    "terminationMessagePolicy": "File", "command": ["sleep", "3600"],
                    "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}


def test_patch_body_adds_one_entry_guarded_by_the_resource_version():
    body = dbg.container("triage-debug-abc", wanted())
    assert dbg.patch_body(body, "42") == {"metadata": {"resourceVersion": "42"}, "spec": {"ephemeralContainers": [body]}}


# ---------------------------------------------------------------- naming and reuse

def test_name_is_deterministic_and_changes_with_what_the_container_is():
    base = dbg.base_name(wanted())
    assert base == dbg.base_name(wanted()) and base.startswith("triage-debug-") and len(base) == len("triage-debug-") + 10
    others = set(dbg.base_name(w) for w in (wanted(image="alpine"), wanted(profile="sysadmin"),
                                            wanted(command=["sleep", "60"]), dict(wanted(), target="sidecar")))
    assert base not in others and len(others) == 4


def _running(name, image="busybox:1.36"):
    return {"name": name, "state": {"running": {"startedAt": "2026-12-01T00:00:00Z"}}, "image": image}


def test_a_running_container_this_option_added_is_reused():
    w = wanted()
    name = dbg.base_name(w)
    existing = dict(dbg.container(name, w), imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/termination-log")
    assert dbg.choose(pod(ephemeral=[existing], statuses=[_running(name)]), w) == (name, True)
    # Added but not started yet: reused too (the wait decides).
    assert dbg.choose(pod(ephemeral=[existing]), w) == (name, True)
    assert dbg.choose(pod(), w) == (name, False)


def test_an_exited_container_stays_and_the_next_name_is_used():
    w = wanted()
    name = dbg.base_name(w)
    exited = {"name": name, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    p = pod(ephemeral=[dbg.container(name, w)], statuses=[exited])
    assert dbg.choose(p, w) == (name + "-2", False)
    p["spec"]["ephemeralContainers"].append(dbg.container(name + "-2", w))
    assert dbg.choose(p, w) == (name + "-2", True)


def test_a_given_name_is_checked_against_the_pod():
    w = wanted()
    assert dbg.choose(pod(), w, "dbg") == ("dbg", False)
    with pytest.raises(ValueError, match="already a container"):
        dbg.choose(pod(), w, "sidecar")
    with pytest.raises(ValueError, match="cannot be changed"):
        dbg.choose(pod(ephemeral=[dbg.container("dbg", wanted(image="alpine"))]), w, "dbg")
    exited = {"name": "dbg", "state": {"terminated": {"reason": "Error"}}}
    with pytest.raises(ValueError, match="has exited"):
        dbg.choose(pod(ephemeral=[dbg.container("dbg", w)], statuses=[exited]), w, "dbg")
    assert dbg.choose(pod(ephemeral=[dbg.container("dbg", w)], statuses=[_running("dbg")]), w, "dbg") == ("dbg", True)


# ---------------------------------------------------------------- refusals, the wait

def test_pods_that_cannot_take_a_debug_container_are_refused():
    assert dbg.refusal(pod(), "app") is None
    assert "not Running" in dbg.refusal(pod(phase="Pending"), "app")
    assert "static pod" in dbg.refusal(pod(annotations={dbg.MIRROR_ANNOTATION: "abc"}), "app")
    assert "not a container" in dbg.refusal(pod(), "db")
    deleting = pod()
    deleting["metadata"]["deletionTimestamp"] = "2026-12-01T00:00:00Z"
    assert "being deleted" in dbg.refusal(deleting, "app")
    windows = pod()
    windows["spec"]["securityContext"] = {"windowsOptions": {"hostProcess": True}}
    assert "HostProcess" in dbg.refusal(windows, "app")


@pytest.mark.parametrize("version, refused", [
    ("v1.22.17", True), ("v1.9.0", True), ("v1.23.0", False), ("v1.36.3", False), ("v1.36.3-eks-1234", False),
    ("kwok-v0.8.0", False), ("", False), (None, False),
])
def test_a_kubelet_older_than_1_23_is_refused(version, refused):
    node = {"metadata": {"name": "n1"}, "status": {"nodeInfo": {"kubeletVersion": version}}}
    problem = dbg.node_refusal(node)
    assert bool(problem) == refused
    if refused:
        assert "node n1" in problem and version in problem
    assert dbg.node_refusal(None) is None


def test_started_and_the_message_of_a_container_that_did_not_run():
    assert dbg.started(_running("n")) is True
    assert dbg.started(None) is None
    assert dbg.started({"state": {"waiting": {"reason": "ErrImagePull"}}}) is None
    assert "exited (Error: boom)" in dbg.started({"state": {"terminated": {"reason": "Error", "message": "boom"}}})
    msg = dbg.not_started("n", {"state": {"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}}}, 30)
    assert msg == "the debug container n did not run within 30s: it is waiting (ImagePullBackOff): no such image"
    assert "no status yet" in dbg.not_started("n", None, 30)


# ---------------------------------------------------------------- exec and copy_from through it

def test_copy_paths_map_to_the_targets_root():
    assert dbg.copy_source("/etc/app/config.yaml", False) == "/proc/1/root/etc/app/config.yaml"
    assert dbg.copy_source("var/log/", False) == "/proc/1/root/var/log"
    assert dbg.copy_source("/", False) == "/proc/1/root"
    assert dbg.copy_source("/a/../../etc", False) == "/proc/1/root/etc"  # never above the target's root
    with pytest.raises(ValueError, match="shareProcessNamespace"):
        dbg.copy_source("/etc", True)


def test_entries_for_the_target_go_through_the_debug_container():
    p = pod()
    params = {"exec": [{"command": ["jcmd", "1", "Thread.print"]}, {"command": ["ps"], "container": "app"},
                       {"command": ["ls"], "container": "sidecar"}],
              "copy_from": [{"path": "/etc/app/"}, {"path": "/var/log/x", "container": "sidecar"}]}
    execs, copies = dbg.route_plans(plan.exec_plan(p, params), plan.copy_plan(p, params), p, "triage-debug-x", "app")
    assert [(e["container"], e.get("target")) for e in execs] == [
        ("triage-debug-x", "app"), ("triage-debug-x", "app"), ("sidecar", None)]
    assert copies[0]["container"] == "triage-debug-x" and copies[0]["source"] == "/proc/1/root/etc/app"
    assert copies[0]["command"] == ["tar", "cf", "-", "-C", "/proc/1/root/etc", "app"]
    assert copies[0]["root"] == "copy/01-app"  # the bundle layout is the same as without debug
    assert copies[1]["container"] == "sidecar" and copies[1]["command"][-3:] == ["-C", "/var/log", "x"]


def test_a_target_other_than_the_default_takes_the_entries_without_a_container():
    p = pod()
    params = {"exec": [{"command": ["ps"]}], "copy_from": None}
    execs, _copies = dbg.route_plans(plan.exec_plan(p, params), [], p, "d", "sidecar")
    assert execs[0]["container"] == "d" and execs[0]["target"] == "sidecar"


def test_copy_through_debug_in_a_shared_process_namespace_is_a_problem():
    assert dbg.check_copy([{"path": "/etc"}], pod(share=True), "app") is not None
    assert dbg.check_copy([{"path": "/etc", "container": "sidecar"}], pod(share=True), "app") is None
    assert dbg.check_copy([{"path": "/etc"}], pod(), "app") is None


def test_summary_says_whether_it_was_added_and_that_it_stays():
    outcome = {"container": "d", "image": "busybox", "target": "app", "profile": "general", "added": True}
    assert "added by this run" in dbg.summary(outcome) and "cannot be removed" in dbg.summary(outcome)
    assert "reused" in dbg.summary(dict(outcome, added=False))
