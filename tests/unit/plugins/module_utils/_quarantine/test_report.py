# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for quarantine_report.py: the pod_quarantine result and the operator's commands."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import shlex

import pytest
from ansible.parsing.splitter import parse_kv

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_EVIDENCE,
    ANN_EXPIRES_AT,
    ANN_NETWORK_POLICY,
    ANN_ORIGINAL_LABELS,
    ANN_OWNER,
    ANN_QUARANTINED_AT,
    ANN_QUARANTINED_BY,
    ANN_REASON,
    QUARANTINED_LABEL,
)
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.report import (
    changes_from_record,
    diff_for,
    labels_changed,
    operator_commands,
    owner_outcome,
    quarantine_result,
    quarantine_summary,
    release_note,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import quarantine_record
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.owner import WHAT_OWNER_DOES

NOW = "2026-11-22T03:04:05Z"
RS_UID = "0d9f8e7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"
RS_REF = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c", "uid": RS_UID, "controller": True}
COMMAND_KEYS = {"logs", "logs_previous", "exec", "debug", "port_forward", "describe", "release"}
RESULT_KEYS = {"pod", "labels_changed", "services", "endpoints_removed", "owner", "replacement", "network_policy",
               "quarantined_at", "quarantined_by", "reason", "expires_at", "commands"}


def make_pod(containers=("web", "sidecar"), labels=None, annotations=None, namespace="shop"):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-7d4b9c-x2x9z", "namespace": namespace, "uid": "pod-uid-1", "resourceVersion": "4711",
                     "labels": labels if labels is not None else {"app": "web"},
                     "annotations": annotations if annotations is not None else {}},
        "spec": {"nodeName": "node-a", "containers": [{"name": name, "image": "nginx:1.27"} for name in containers]},
        "status": {"phase": "Running", "podIP": "10.244.1.7", "podIPs": [{"ip": "10.244.1.7"}]},
    }


def quarantined_pod():
    return make_pod(
        labels={"app": "quarantined-web", "track": "quarantined", QUARANTINED_LABEL: "true"},
        annotations={
            ANN_QUARANTINED_AT: NOW,
            ANN_QUARANTINED_BY: "alice",
            ANN_REASON: "crash loop",
            ANN_EXPIRES_AT: "2026-11-23T03:04:05Z",
            ANN_ORIGINAL_LABELS: '{"app":"web","pod-template-hash":"7d4b9c","track":null}',
            ANN_OWNER: json.dumps(dict((k, RS_REF[k]) for k in ("apiVersion", "kind", "name", "uid"))),
            ANN_NETWORK_POLICY: "triage-quarantine-web-1234abcd",
            ANN_EVIDENCE: '{"bundle":"b-1"}',
        })


def shell_words(command):
    """Split a command as a POSIX shell would: operators such as ; & | ( ) < > are words of their own."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    return list(lexer)


def extra_vars(command):
    """What ansible-playbook makes of the -e options of a command line (key=value or JSON)."""
    words = shlex.split(command)
    result = {}
    for index, word in enumerate(words):
        if word in ("-e", "--extra-vars"):
            value = words[index + 1]
            result.update(json.loads(value) if value.startswith("{") else parse_kv(value))
    return result


# --- operator_commands ---------------------------------------------------------------------

def test_operator_commands_without_context():
    commands = operator_commands(make_pod())
    assert set(commands) == COMMAND_KEYS
    assert commands == {
        "logs": "kubectl -n shop logs web-7d4b9c-x2x9z -c web",
        "logs_previous": "kubectl -n shop logs web-7d4b9c-x2x9z -c web --previous",
        "exec": "kubectl -n shop exec -it web-7d4b9c-x2x9z -c web -- sh",
        "debug": "kubectl debug -it -n shop web-7d4b9c-x2x9z --image=busybox:1.36 --target=web --profile=general",
        "port_forward": "kubectl -n shop port-forward pod/web-7d4b9c-x2x9z 8080:8080",
        "describe": "kubectl -n shop describe pod web-7d4b9c-x2x9z",
        "release": "ansible-playbook triage.k8s.release -e pod=shop/web-7d4b9c-x2x9z",
    }


def test_operator_commands_with_a_plain_context():
    commands = operator_commands(make_pod(), "kind-triage")
    for key in ("logs", "logs_previous", "exec", "port_forward", "describe"):
        assert commands[key].startswith("kubectl --context kind-triage -n shop "), commands[key]
    assert extra_vars(commands["release"]) == {"pod": "shop/web-7d4b9c-x2x9z", "context": "kind-triage"}


@pytest.mark.parametrize("namespace", ["shop", "kube-system", "a" * 63])
def test_operator_commands_use_the_pod_namespace(namespace):
    commands = operator_commands(make_pod(namespace=namespace), "ctx")
    for key in ("logs", "logs_previous", "exec", "port_forward", "describe"):
        assert shell_words(commands[key])[3:5] == ["-n", namespace]
    assert extra_vars(commands["release"])["pod"] == namespace + "/web-7d4b9c-x2x9z"


@pytest.mark.parametrize("containers, flag", [
    (("web", "sidecar"), ["-c", "web"]),
    (("istio-proxy", "web"), ["-c", "istio-proxy"]),
    (("only",), ["-c", "only"]),
    ((), []),
])
def test_operator_commands_name_the_first_container(containers, flag):
    commands = operator_commands(make_pod(containers=containers))
    for key in ("logs", "logs_previous", "exec"):
        words = shell_words(commands[key])
        if flag:
            assert words[words.index("-c"):words.index("-c") + 2] == flag
        else:
            assert "-c" not in words
    assert "-c" not in shell_words(commands["describe"])
    assert shell_words(commands["exec"])[-2:] == ["--", "sh"]
    assert shell_words(commands["logs_previous"])[-1] == "--previous"


def test_operator_commands_without_spec():
    pod = make_pod()
    del pod["spec"]
    commands = operator_commands(pod)
    assert commands["logs"] == "kubectl -n shop logs web-7d4b9c-x2x9z"


CONTEXTS = [
    "kind-triage",
    "arn:aws:eks:eu-west-1:123456789012:cluster/prod",
    "gke_my-project_europe-west1_prod",
    "admin@prod.example.com",
    "my context",
    "it's",
    'say "hi"',
    "$HOME",
    "a`id`",
    "back\\slash",
    "prod (eu)",
    "dev;prod",
    "dev&prod",
    "dev|prod",
    "eu(1)",
    "a<b",
    "#ctx",
    "tab\tctx",
    "new\nline",
]


@pytest.mark.parametrize("context", CONTEXTS)
def test_operator_commands_quote_the_context_for_kubectl(context):
    """Every kubectl line pastes into a shell and passes the context as one argument."""
    commands = operator_commands(make_pod(), context)
    for key in ("logs", "logs_previous", "exec", "port_forward", "describe"):
        words = shell_words(commands[key])
        assert words[:5] == ["kubectl", "--context", context, "-n", "shop"], commands[key]
        assert not commands[key].startswith("kubectl --context #"), commands[key]  # a shell comment


@pytest.mark.parametrize("context", CONTEXTS)
def test_operator_commands_release_passes_the_context_to_ansible(context):
    """The release line, pasted into a shell, makes ansible-playbook see context == the context."""
    command = operator_commands(make_pod(), context)["release"]
    words = shell_words(command)
    assert words[:2] == ["ansible-playbook", "triage.k8s.release"], command
    assert not any(word in (";", "&", "|", "(", ")", "<", ">") for word in words), command
    assert extra_vars(command) == {"pod": "shop/web-7d4b9c-x2x9z", "context": context}


def test_operator_commands_without_context_ignore_empty_context():
    assert operator_commands(make_pod(), "") == operator_commands(make_pod(), None)


# --- labels_changed / changes_from_record / diff_for ---------------------------------------

def test_labels_changed_keeps_before_and_after_only():
    changes = {"app": {"before": "web", "after": "quarantined-web", "reason": "Service web"},
               "track": {"before": None, "after": "quarantined"},
               "gone": {"before": "x"}}
    assert labels_changed(changes) == {"app": {"before": "web", "after": "quarantined-web"},
                                       "track": {"before": None, "after": "quarantined"},
                                       "gone": {"before": "x", "after": None}}


@pytest.mark.parametrize("changes", [None, {}])
def test_labels_changed_empty(changes):
    assert labels_changed(changes) == {}


def test_changes_from_record():
    assert changes_from_record(quarantined_pod()) == {
        "app": {"before": "web", "after": "quarantined-web"},
        "pod-template-hash": {"before": "7d4b9c", "after": None},  # removed at quarantine
        "track": {"before": None, "after": "quarantined"},  # added at quarantine
    }


@pytest.mark.parametrize("original", [None, "{not json", "[]", '{"app": 1}'])
def test_changes_from_record_without_a_usable_record(original):
    pod = quarantined_pod()
    if original is None:
        del pod["metadata"]["annotations"][ANN_ORIGINAL_LABELS]
    else:
        pod["metadata"]["annotations"][ANN_ORIGINAL_LABELS] = original
    assert changes_from_record(pod) == {}


def test_changes_from_record_pod_without_labels():
    pod = quarantined_pod()
    del pod["metadata"]["labels"]
    assert changes_from_record(pod) == {"app": {"before": "web", "after": None},
                                        "pod-template-hash": {"before": "7d4b9c", "after": None},
                                        "track": {"before": None, "after": None}}


def test_diff_for():
    pod = make_pod(labels={"app": "web", "pod-template-hash": "7d4b9c"}, annotations={"note": "x"})
    snapshot = copy.deepcopy(pod)
    patch = {"metadata": {"resourceVersion": "4711",
                          "labels": {"app": "quarantined-web", "pod-template-hash": None, QUARANTINED_LABEL: "true"},
                          "annotations": {ANN_QUARANTINED_AT: NOW}}}
    assert diff_for(pod, patch) == {
        "before": {"labels": {"app": "web", "pod-template-hash": "7d4b9c"}, "annotations": {"note": "x"}},
        "after": {"labels": {"app": "quarantined-web", QUARANTINED_LABEL: "true"},
                  "annotations": {"note": "x", ANN_QUARANTINED_AT: NOW}},
    }
    assert pod == snapshot


def test_diff_for_pod_without_labels_or_annotations():
    pod = make_pod()
    del pod["metadata"]["labels"]
    del pod["metadata"]["annotations"]
    diff = diff_for(pod, {"metadata": {"labels": {"a": "b"}}})
    assert diff == {"before": {"labels": {}, "annotations": {}}, "after": {"labels": {"a": "b"}, "annotations": {}}}


# --- owner_outcome -------------------------------------------------------------------------

@pytest.mark.parametrize("releases_owner, scope", [(True, "traffic_and_owner"), (False, "traffic_only"),
                                                   (False, "traffic_and_owner")])
def test_owner_outcome_bare_pod(releases_owner, scope):
    outcome = owner_outcome(None, releases_owner, scope)
    assert outcome["kind"] is None and outcome["name"] is None
    assert outcome["released"] is False
    assert outcome["note"].startswith("bare pod")


@pytest.mark.parametrize("kind", sorted(WHAT_OWNER_DOES))
def test_owner_outcome_released(kind):
    ref = dict(RS_REF, kind=kind, name="owner-1")
    assert owner_outcome(ref, True, "traffic_and_owner") == {
        "kind": kind, "name": "owner-1", "uid": RS_UID, "released": True, "note": WHAT_OWNER_DOES[kind]}


def test_owner_outcome_released_unknown_kind():
    outcome = owner_outcome(dict(RS_REF, kind="CloneSet"), 1, "traffic_and_owner")
    assert outcome["released"] is True
    assert outcome["note"] == "the owner releases the pod"


def test_owner_outcome_traffic_only():
    outcome = owner_outcome(RS_REF, False, "traffic_only")
    assert outcome == {"kind": "ReplicaSet", "name": "web-7d4b9c", "uid": RS_UID, "released": False,
                       "note": "scope traffic_only: the pod stays managed by its ReplicaSet and still counts as one of its pods"}


# --- quarantine_result ---------------------------------------------------------------------

def _changed_result():
    pod = quarantined_pod()
    changes = {"app": {"before": "web", "after": "quarantined-web"},
               "pod-template-hash": {"before": "7d4b9c", "after": None},
               "track": {"before": None, "after": "quarantined"}}
    return quarantine_result(pod, changes, ["web"], RS_REF, True, "traffic_and_owner", context="kind-triage",
                             policy_name="triage-quarantine-web-1234abcd")


def _unchanged_result():
    pod = quarantined_pod()
    record = quarantine_record(pod)
    return quarantine_result(pod, changes_from_record(pod), [], record["owner"], True, "traffic_and_owner",
                             context="kind-triage", record=record)


def _shape(value):
    if isinstance(value, dict):
        return dict((key, _shape(item)) for key, item in value.items())
    return type(value).__name__ if isinstance(value, (list, dict)) else "scalar"


def test_quarantine_result_same_shape_whether_changed_or_not():
    changed, unchanged = _changed_result(), _unchanged_result()
    assert set(changed) == set(unchanged) == RESULT_KEYS
    for key in ("pod", "endpoints_removed", "owner", "replacement", "commands"):
        assert set(changed[key]) == set(unchanged[key]), key
    assert _shape(changed) == _shape(unchanged)


def test_quarantine_result_values():
    result = _unchanged_result()
    assert result["pod"] == {"name": "web-7d4b9c-x2x9z", "namespace": "shop", "uid": "pod-uid-1", "ip": "10.244.1.7",
                             "node": "node-a", "phase": "Running"}
    assert result["labels_changed"]["app"] == {"before": "web", "after": "quarantined-web"}
    assert result["services"] == []
    assert result["endpoints_removed"] == {"verified": False, "services_still_listing": []}
    assert result["owner"]["released"] is True and result["owner"]["uid"] == RS_UID
    assert result["replacement"] == {"expected": True, "ready": None, "pods": []}
    assert result["network_policy"] == "triage-quarantine-web-1234abcd"
    assert result["quarantined_at"] == NOW
    assert result["quarantined_by"] == "alice"
    assert result["reason"] == "crash loop"
    assert result["expires_at"] == "2026-11-23T03:04:05Z"
    assert result["commands"] == operator_commands(quarantined_pod(), "kind-triage")


def test_quarantine_result_reads_the_record_when_none_is_given():
    pod = quarantined_pod()
    result = quarantine_result(pod, {}, ("web", "web-canary"), None, False, "traffic_only")
    assert result["network_policy"] == "triage-quarantine-web-1234abcd"
    assert result["quarantined_by"] == "alice"
    assert result["services"] == ["web", "web-canary"]
    assert result["replacement"]["expected"] is False
    assert result["owner"]["kind"] is None


def test_quarantine_result_policy_name_wins_over_the_record():
    pod = quarantined_pod()
    assert quarantine_result(pod, {}, None, None, False, "traffic_only", policy_name="np-new")["network_policy"] == "np-new"
    assert quarantine_result(pod, {}, None, None, False, "traffic_only", policy_name="")["network_policy"] == ""


def test_quarantine_result_of_a_fresh_pod_in_check_mode():
    pod = make_pod()
    del pod["status"]
    result = quarantine_result(pod, {}, None, None, False, "traffic_only")
    assert set(result) == RESULT_KEYS
    assert result["pod"]["ip"] is None and result["pod"]["phase"] is None
    assert result["network_policy"] is None and result["quarantined_at"] is None
    assert result["services"] == []


# --- quarantine_summary -------------------------------------------------------------------

def _summary_result(kind="ReplicaSet", released=True, services=("web",), policy="triage-quarantine-web-1234abcd",
                    node="node-a"):
    pod = make_pod()
    pod["spec"]["nodeName"] = node
    ref = dict(RS_REF, kind=kind, name="owner-1") if kind else None
    return quarantine_result(pod, {}, list(services), ref, released, "traffic_and_owner" if released else "traffic_only",
                             policy_name=policy)


# Words that claim a write landed; check mode wrote nothing, so its summary never uses them
# (every part of it also starts with "would", see below).
CLAIMS = ("is quarantined", "released it", " quarantined:", "out of Service", "still managed", " starts ")


def test_quarantine_summary_after_a_write():
    assert quarantine_summary(_summary_result()) == (
        "pod web-7d4b9c-x2x9z quarantined: out of Service(s) web; released by ReplicaSet owner-1; "
        "isolated by NetworkPolicy triage-quarantine-web-1234abcd")


def test_quarantine_summary_in_check_mode_says_what_would_happen():
    assert quarantine_summary(_summary_result(), check_mode=True) == (
        "pod web-7d4b9c-x2x9z would be quarantined (check mode): would leave Service(s) web; "
        "would be released by ReplicaSet owner-1; would be isolated by NetworkPolicy triage-quarantine-web-1234abcd")


@pytest.mark.parametrize("kind", [None] + sorted(WHAT_OWNER_DOES))
@pytest.mark.parametrize("released", [True, False])
@pytest.mark.parametrize("services", [(), ("web",), ("web", "web-canary")])
@pytest.mark.parametrize("policy", [None, "np-1"])
def test_quarantine_summary_in_check_mode_claims_no_write(kind, released, services, policy):
    text = quarantine_summary(_summary_result(kind, released and kind is not None, services, policy), check_mode=True)
    assert text.startswith("pod web-7d4b9c-x2x9z would be quarantined (check mode): ")
    for claim in CLAIMS:
        assert claim not in text, (claim, text)
    for part in text.split(": ", 1)[1].split("; "):
        assert part.startswith("would ") or part == "in no Service", part


def test_quarantine_summary_still_managed():
    result = _summary_result(released=False, services=())
    assert quarantine_summary(result) == ("pod web-7d4b9c-x2x9z quarantined: in no Service; still managed by "
                                          "ReplicaSet owner-1; isolated by NetworkPolicy triage-quarantine-web-1234abcd")
    assert "would stay managed by ReplicaSet owner-1" in quarantine_summary(result, check_mode=True)


def test_quarantine_summary_bare_pod_names_no_owner():
    text = quarantine_summary(_summary_result(kind=None, released=False, policy=None))
    assert text == "pod web-7d4b9c-x2x9z quarantined: out of Service(s) web"


def test_quarantine_summary_daemonset_replacement_starts_on_the_same_node():
    result = _summary_result(kind="DaemonSet", node="kwok-node-1")
    assert ("released by DaemonSet owner-1, which starts its replacement on the same node (kwok-node-1)"
            in quarantine_summary(result))
    assert ("would be released by DaemonSet owner-1, which would start its replacement on the same node "
            "(kwok-node-1)" in quarantine_summary(result, check_mode=True))


def test_quarantine_summary_daemonset_without_a_node():
    text = quarantine_summary(_summary_result(kind="DaemonSet", node=None))
    assert "which starts its replacement on the same node;" in text


@pytest.mark.parametrize("kind", sorted(set(WHAT_OWNER_DOES) - set(["DaemonSet"])))
def test_quarantine_summary_other_owners_name_no_node(kind):
    assert "same node" not in quarantine_summary(_summary_result(kind=kind))
    assert "same node" not in quarantine_summary(_summary_result(kind=kind), check_mode=True)


def test_quarantine_summary_daemonset_still_managed_names_no_replacement():
    assert "replacement" not in quarantine_summary(_summary_result(kind="DaemonSet", released=False))


# --- release_note --------------------------------------------------------------------------

def test_release_note_bare_pod():
    assert release_note(None) == "Release puts the pod's labels back: its Services select it again."


def test_release_note_owned_pod():
    note = release_note({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c", "uid": RS_UID})
    assert "ReplicaSet web-7d4b9c may adopt it again" in note
    assert "surplus" in note


@pytest.mark.parametrize("ref", [None, RS_REF])
def test_release_note_holds_in_check_mode(ref):
    """The note is printed in check mode too: it describes what a release does, never that one happened."""
    note = release_note(ref)
    assert note.startswith("Release puts the pod's labels back")
    for claim in ("are back", "released it", "was released", "is released"):
        assert claim not in note
