"""What users type on the command line reaches the cluster as typed (issue 14, parts 4 and 5).

The extra vars are passed as raw command-line words here (what the shell hands ansible-playbook),
not as one JSON document, because what is under test is Ansible's own splitting of key=value.
"""

import json

import pytest
from k8s_helpers import deployment, keep_through_release, pod_ready, service, wait_list

# Every warning on: the harness turns the inventory ones off for the other tests.
LOUD = {"ANSIBLE_LOCALHOST_WARNING": "True", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "True",
        "ANSIBLE_DEPRECATION_WARNINGS": "True"}


def _ready_pods(core, namespace, selector, count):
    return wait_list(core.list_namespaced_pod, lambda ps: len([p for p in ps if pod_ready(p)]) >= count,
                     timeout=60, what="%d ready pods" % count, namespace=namespace, label_selector=selector)


def _run(ansible, name, words, kubeconfig, context, extra=None):
    """ansible-playbook triage.k8s.NAME -i localhost, -e kubeconfig/context (JSON) -e WORD ..."""
    args = []
    for word in words:
        args += ["-e", word]
    vars_ = dict(extra or {}, kubeconfig=kubeconfig, context=context)
    proc = ansible.playbook("triage.k8s.%s" % name, extra_vars=vars_, args=args, env=LOUD)
    return proc, proc.stdout + proc.stderr


def _shop(core, apps, namespace, labels, replicas=2):
    apps.create_namespaced_deployment(namespace, deployment("shop", replicas, labels))
    core.create_namespaced_service(namespace, service("shop", labels))
    pods = _ready_pods(core, namespace, "app=shop", replicas)
    return sorted(p.metadata.name for p in pods)[0]


def test_pod_as_kubectl_prints_it_and_a_quoted_reason_with_spaces_reach_the_pod(core, apps, namespace, ansible,
                                                                                kubeconfig, context):
    sick = _shop(core, apps, namespace, {"app": "shop", "release": "stable"})
    # The README's form, as the shell passes it: -e pod=NS/NAME -e 'reason="crash loop, heap dump pending"'
    proc, out = _run(ansible, "quarantine", ["pod=%s/%s" % (namespace, sick), 'reason="crash loop, heap dump pending"',
                                             "ttl=2h", "collect_evidence=false"], kubeconfig, context)
    assert proc.returncode == 0, out
    # No warning at all: no reserved `namespace`, no inventory warning with -i localhost, (the documented form).
    assert "[WARNING]" not in out, out
    assert "WARNING: Ansible split" not in out
    annotations = core.read_namespaced_pod(sick, namespace).metadata.annotations
    assert annotations["triage.k8s/reason"] == "crash loop, heap dump pending"
    assert "%s/%s is quarantined: crash loop, heap dump pending" % (namespace, sick) in out

    keep_through_release(core, sick, namespace)
    proc, out = _run(ansible, "release", ["pod=%s/%s" % (namespace, sick)], kubeconfig, context)
    assert proc.returncode == 0, out
    assert "[WARNING]" not in out, out
    assert core.read_namespaced_pod(sick, namespace).metadata.labels["release"] == "stable"


def test_json_extra_vars_keep_a_reason_whole_and_reach_the_labels_toggle(core, apps, namespace, ansible,
                                                                         kubeconfig, context):
    # Seed 004's toggle: the Service and the Deployment select enabled=true; the quarantine writes enabled=false.
    sick = _shop(core, apps, namespace, {"app": "shop", "enabled": "true"})
    toggle = {"pod": "%s/%s" % (namespace, sick), "reason": "heap dump, then restart",
              "labels": {"enabled": "false"}, "collect_evidence": False}
    # -e strategy=labels works; ansible-core warns (a play keyword), so the docs give quarantine_strategy.
    proc, out = _run(ansible, "quarantine", ["strategy=labels", json.dumps(toggle)], kubeconfig, context)
    assert proc.returncode == 0, out
    assert "reserved name 'strategy'" in out
    pod = core.read_namespaced_pod(sick, namespace)
    assert pod.metadata.labels["enabled"] == "false"
    assert pod.metadata.labels["app"] == "shop"
    assert pod.metadata.annotations["triage.k8s/reason"] == "heap dump, then restart"

    keep_through_release(core, sick, namespace)  # quarantined again below
    proc, out = _run(ansible, "release", ["pod=%s/%s" % (namespace, sick)], kubeconfig, context)
    assert proc.returncode == 0, out
    assert core.read_namespaced_pod(sick, namespace).metadata.labels["enabled"] == "true"

    proc, out = _run(ansible, "quarantine", [json.dumps(dict(toggle, quarantine_strategy="labels"))],
                     kubeconfig, context)
    assert proc.returncode == 0, out
    assert "[WARNING]" not in out, out
    pod = core.read_namespaced_pod(sick, namespace)
    assert pod.metadata.labels["enabled"] == "false"


def test_namespace_apart_still_works_and_a_lost_reason_is_warned_about(core, apps, namespace, ansible,
                                                                       kubeconfig, context):
    sick = _shop(core, apps, namespace, {"app": "shop", "release": "stable"})
    # What a shell makes of -e reason="crash loop, heap dump pending": Ansible keeps "crash" only.
    proc, out = _run(ansible, "quarantine", ["pod=%s" % sick, "namespace=%s" % namespace,
                                             "reason=crash loop, heap dump pending", "collect_evidence=false"],
                     kubeconfig, context)
    assert proc.returncode == 0, out
    assert "reserved name 'namespace'" in out  # ansible-core's own warning: why the README uses pod=NS/NAME
    assert "WARNING: Ansible split a -e key=value at a space and kept these words nowhere: loop, heap dump pending." in out
    assert core.read_namespaced_pod(sick, namespace).metadata.annotations["triage.k8s/reason"] == "crash"


@pytest.mark.parametrize("words, message", [
    (["pod=a/b/c"], '-e pod=a/b/c is not NAMESPACE/NAME: exactly one "/"'),
    (["pod=/web-1"], '-e pod=/web-1 is not NAMESPACE/NAME'),
    (["pod=shop/"], '-e pod=shop/ is not NAMESPACE/NAME'),
    (["pod=web-1"], "no namespace for pod web-1: -e pod=NAMESPACE/web-1"),
    ([], "no pod given: -e pod=NAMESPACE/NAME"),
    (["pod=shop/web-1", "namespace=payments"],
     "-e pod=shop/web-1 names namespace shop but -e namespace=payments: give the namespace once"),
])
@pytest.mark.parametrize("playbook", ["quarantine", "release", "collect_evidence", "eda_quarantine"])
def test_every_pod_playbook_refuses_an_unclear_pod_before_touching_the_cluster(ansible, kubeconfig, context,
                                                                               playbook, words, message):
    proc, out = _run(ansible, playbook, words, kubeconfig, context)
    assert proc.returncode != 0, out
    assert message in out, out
    assert "Traceback" not in out


@pytest.mark.parametrize("playbook", ["release", "collect_evidence"])
def test_pod_as_namespace_slash_name_reaches_the_module(namespace, ansible, kubeconfig, context, playbook):
    # The module's own message names both halves: the split went where it should.
    proc, out = _run(ansible, playbook, ["pod=%s/nope" % namespace], kubeconfig, context)
    assert proc.returncode != 0
    assert 'pod "nope" not found in namespace "%s"' % namespace in out, out
    assert "Traceback" not in out


def test_rollout_gate_takes_the_deployment_as_namespace_slash_name(core, apps, namespace, ansible, kubeconfig,
                                                                   context):
    apps.create_namespaced_deployment(namespace, deployment("steady", 1, {"app": "steady"}))
    proc, out = _run(ansible, "rollout_gate", ["deployment=%s/steady" % namespace, "settle=3s", "wait_timeout=120"],
                     kubeconfig, context)
    assert proc.returncode == 0, out
    assert "[WARNING]" not in out, out
    assert "%s/steady: stable" % namespace in out


@pytest.mark.parametrize("words, message", [
    (["deployment=a/b/c"], '-e deployment=a/b/c is not NAMESPACE/NAME: exactly one "/"'),
    (["deployment=steady"], "no namespace for deployment steady: -e deployment=NAMESPACE/steady"),
    (["deployment=shop/web", "namespace=payments"],
     "-e deployment=shop/web names namespace shop but -e namespace=payments: give the namespace once"),
])
def test_rollout_gate_refuses_an_unclear_deployment(ansible, kubeconfig, context, words, message):
    proc, out = _run(ansible, "rollout_gate", words, kubeconfig, context)
    assert proc.returncode != 0, out
    assert message in out, out
    assert "Traceback" not in out


def test_quarantine_playbook_takes_min_healthy_replicas_and_force(core, apps, namespace, ansible, kubeconfig, context):
    """-e min_healthy_replicas reaches pod_quarantine's guard: refused with the numbers, the pod untouched;
    -e force=true lifts it."""
    sick = _shop(core, apps, namespace, {"app": "shop", "release": "stable"})
    before = core.read_namespaced_pod(sick, namespace).metadata
    proc, out = _run(ansible, "quarantine", ["pod=%s/%s" % (namespace, sick), "min_healthy_replicas=2",
                                             "collect_evidence=false"], kubeconfig, context)
    assert proc.returncode != 0, out
    assert "min_healthy_replicas" in out and "force" in out, out
    after = core.read_namespaced_pod(sick, namespace).metadata
    assert after.labels == before.labels and after.annotations == before.annotations

    proc, out = _run(ansible, "quarantine", ["pod=%s/%s" % (namespace, sick), "min_healthy_replicas=100%",
                                             "force=true", "collect_evidence=false"], kubeconfig, context)
    assert proc.returncode == 0, out
    assert core.read_namespaced_pod(sick, namespace).metadata.labels.get("triage.k8s/quarantined") == "true"
