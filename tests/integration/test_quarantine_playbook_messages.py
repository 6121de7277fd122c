"""What the quarantine and release playbooks tell the operator: a misspelled context, namespace or
pod is named once, before anything runs; check mode says what would happen; a DaemonSet's
replacement starts on the pod's node. Run by FQCN on the real control plane, as an operator would."""

import os
import re

import pytest
from k8s_helpers import create, daemon_set_body, deployment_body, names_in, service_body, wait_ready_pods

QUARANTINED = "triage.k8s/quarantined"
RELABEL = "Quarantine | Change the pod"
PREFLIGHT = "Quarantine | Check the context, namespace and pod"


def _play(ansible, name, extra_vars, kubeconfig, context, args=()):
    extra = dict(extra_vars, kubeconfig=kubeconfig, context=context)
    proc = ansible.playbook("triage.k8s.%s" % name, extra_vars=extra, args=args)
    return proc, proc.stdout + proc.stderr


def _tasks(out):
    """{task name: its output} in run order, without the role's argument validation."""
    blocks = re.split(r"^TASK \[(?:triage\.k8s\.quarantine : )?(.*?)\] \**$", out, flags=re.MULTILINE)
    return dict((name, text) for name, text in zip(blocks[1::2], blocks[2::2])
                if not name.startswith("Validating arguments"))


def _assert_failed_once_at_preflight(proc, out, message, ansible):
    assert proc.returncode != 0, out
    # The first task that ran is the one that failed, and nothing ran after it: the role's check of
    # the pod (release; quarantine with quarantine_evidence_before_relabel) or, relabel first (the
    # quarantine default), pod_quarantine itself, which reads the pod before any write.
    ran = [(name, text) for name, text in _tasks(out).items() if not text.strip().startswith("skipping")]
    assert [name for name, _text in ran] in ([PREFLIGHT], [RELABEL]), out
    failed = ran[0][1]
    assert len(re.findall(r"^fatal: ", out, re.MULTILINE)) == 1, out
    # Said by the one failed task only (ansible-core shows a failure as an [ERROR] line and the
    # fatal result); no rescue and no later task repeats it.
    fatal = re.search(r"^fatal: .*$", failed, re.MULTILINE).group(0)
    assert message in fatal.replace('\\"', '"'), fatal
    assert out.replace('\\"', '"').count(message) == failed.replace('\\"', '"').count(message), out
    # No rescue printed its message (ansible-core shows the failed task's source lines, numbered,
    # and those may quote a rescue's text: they are not output of a task).
    printed = "\n".join(line for line in out.splitlines() if not re.match(r"^\s*\d+ ", line))
    assert "relabelling failed" not in printed, out
    assert "Traceback" not in out, out
    evidence = os.path.join(ansible.tmpdir, "evidence")
    assert not os.path.exists(evidence) or os.listdir(evidence) == [], os.listdir(evidence)


def _serving(core, api, namespace, name="shop", replicas=3):
    labels = {"app": name, "release": "stable"}
    create(api, namespace, deployment_body(name, replicas, labels))
    create(api, namespace, service_body(name, labels))
    return sorted(p.metadata.name for p in wait_ready_pods(core, namespace, replicas, "app=%s" % name))


# ---------------------------------------------------------------- misspelled input, said once

@pytest.mark.parametrize("playbook", ["quarantine", "release"])
def test_a_misspelled_pod_fails_once_before_anything(core, api, namespace, ansible, kubeconfig, context, playbook):
    _serving(core, api, namespace, replicas=1)
    proc, out = _play(ansible, playbook, {"pod": "shop-typo", "namespace": namespace, "reason": "typo"},
                      kubeconfig, context)
    _assert_failed_once_at_preflight(proc, out, 'pod "shop-typo" not found in namespace "%s"' % namespace, ansible)


@pytest.mark.parametrize("playbook", ["quarantine", "release"])
def test_a_misspelled_namespace_fails_once_before_anything(namespace, ansible, kubeconfig, context, playbook):
    typo = "%s-typo" % namespace[:50]
    proc, out = _play(ansible, playbook, {"pod": "web-1", "namespace": typo}, kubeconfig, context)
    _assert_failed_once_at_preflight(proc, out, 'namespace "%s" not found' % typo, ansible)
    assert "check namespace and context" in out


@pytest.mark.parametrize("playbook", ["quarantine", "release"])
def test_a_misspelled_context_fails_once_before_anything(namespace, ansible, kubeconfig, context, playbook):
    typo = "%s-typo" % context
    proc, out = _play(ansible, playbook, {"pod": "web-1", "namespace": namespace}, kubeconfig, typo)
    _assert_failed_once_at_preflight(proc, out, "context '%s' not found" % typo, ansible)
    assert "available contexts: " in out and context in out


def test_an_invalid_pod_name_fails_once_before_anything(namespace, ansible, kubeconfig, context):
    proc, out = _play(ansible, "quarantine", {"pod": "Web_1", "namespace": namespace}, kubeconfig, context)
    _assert_failed_once_at_preflight(proc, out, 'invalid pod name "Web_1"', ansible)


# ---------------------------------------------------------------- check mode says what would happen

def test_check_mode_summary_says_what_would_happen(core, api, namespace, ansible, kubeconfig, context):
    sick = _serving(core, api, namespace)[0]
    before = core.read_namespaced_pod(sick, namespace).metadata.labels

    proc, out = _play(ansible, "quarantine", {"pod": sick, "namespace": namespace, "reason": "looks odd",
                                              "ttl": "2h", "network_isolation": True},
                      kubeconfig, context, args=("--check",))

    assert proc.returncode == 0, out
    assert "%s/%s would be quarantined (check mode: nothing was changed): looks odd" % (namespace, sick) in out
    assert "Labels that would change: release: stable -> quarantined-stable" in out
    assert "Traffic: would be out of shop" in out
    assert "would release it and start a replacement; traffic would go to the other pods." in out
    assert "Network: would be cut by NetworkPolicy triage-quarantine-" in out
    assert "Would expire: 20" in out
    for claim in ("is quarantined", "released it", "Labels changed", "Traffic: out of", "cut by", "Expires:"):
        assert claim not in out.replace("would be cut by", ""), (claim, out)
    # And indeed nothing was written.
    pod = core.read_namespaced_pod(sick, namespace)
    assert pod.metadata.labels == before and QUARANTINED not in pod.metadata.labels
    assert names_in(api, namespace, kind="NetworkPolicy") == []


def test_check_mode_release_says_it_would_release(core, api, namespace, ansible, kubeconfig, context):
    sick = _serving(core, api, namespace, replicas=2)[0]
    proc, out = _play(ansible, "quarantine", {"pod": sick, "namespace": namespace, "collect_evidence": False},
                      kubeconfig, context)
    assert proc.returncode == 0, out

    proc, out = _play(ansible, "release", {"pod": sick, "namespace": namespace}, kubeconfig, context,
                      args=("--check",))

    assert proc.returncode == 0, out
    assert "%s/%s: would be released (check mode: nothing was changed)" % (namespace, sick) in out
    assert "Release puts the pod's labels back" in out and "may adopt it again" in out
    assert "%s/%s: released" % (namespace, sick) not in out and "are back" not in out, out
    assert core.read_namespaced_pod(sick, namespace).metadata.labels[QUARANTINED] == "true"

    proc, out = _play(ansible, "release", {"pod": sick, "namespace": namespace}, kubeconfig, context)
    assert proc.returncode == 0, out
    assert "%s/%s: released" % (namespace, sick) in out
    assert "would be released" not in out
    # (The ReplicaSet may adopt the pod and then delete a surplus one, this pod included.)
    assert not any(QUARANTINED in (p.metadata.labels or {}) for p in core.list_namespaced_pod(namespace).items)


def test_check_mode_on_a_quarantined_pod_reports_it_as_it_is(core, api, namespace, ansible, kubeconfig, context):
    sick = _serving(core, api, namespace, replicas=2)[0]
    proc, out = _play(ansible, "quarantine", {"pod": sick, "namespace": namespace, "collect_evidence": False},
                      kubeconfig, context)
    assert proc.returncode == 0, out

    proc, out = _play(ansible, "quarantine", {"pod": sick, "namespace": namespace, "collect_evidence": False},
                      kubeconfig, context, args=("--check",))

    assert proc.returncode == 0, out
    assert "%s/%s is quarantined (already was)" % (namespace, sick) in out
    assert "would be quarantined" not in out


# ---------------------------------------------------------------- DaemonSet

def test_daemonset_summary_says_the_replacement_starts_on_the_same_node(core, api, namespace, ansible, kubeconfig,
                                                                        context):
    labels = {"app": "agent"}
    create(api, namespace, daemon_set_body("agent", labels))
    create(api, namespace, service_body("agent", labels))
    victim = wait_ready_pods(core, namespace, 2, "app=agent")[0]  # one per KWOK node
    node = victim.spec.node_name
    args = {"pod": victim.metadata.name, "namespace": namespace, "collect_evidence": False, "wait_timeout": 60}

    proc, out = _play(ansible, "quarantine", args, kubeconfig, context, args=("--check",))
    assert proc.returncode == 0, out
    assert ("Owner: DaemonSet agent would release it and start its replacement on the same node %s; traffic would "
            "go to its pods on the other nodes" % node) in out

    proc, out = _play(ansible, "quarantine", args, kubeconfig, context)
    assert proc.returncode == 0, out
    match = re.search(r"Owner: DaemonSet agent released it; its replacement starts on the same node (\S+) "
                      r"\(([a-z0-9-]+), Ready\); traffic goes to its pods on the other nodes and the replacement\.",
                      out)
    assert match, out
    assert match.group(1) == node
    assert core.read_namespaced_pod(match.group(2), namespace).spec.node_name == node
