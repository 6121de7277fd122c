"""Runs the bad-input table (bad_inputs.py): every row fails with the expected message, never a
traceback or a KeyError, and nothing changes in the cluster - no pod or namespace relabelled or
annotated, no pod deleted, no NetworkPolicy created - least of all in the victim namespace a
traversal name points at."""

import datetime
import json
import os
import subprocess
import sys
import uuid

import pytest
from kubernetes import client

import bad_inputs
from conftest import REPO
from k8s_helpers import (
    bare_pod, contract_pod_body, create, deployment_body, module_results, service_body, wait_ready_pods,
)

MODULES = ("pod_quarantine", "pod_evidence", "crashloop_info", "quarantine_info", "quarantine_cleanup")


@pytest.fixture(scope="module")
def world(api, core):
    """The namespace of the calls (Deployment web, its Service) and the victim namespace."""
    suffix = uuid.uuid4().hex[:5]
    ns, victim_ns = "bad-in-%s" % suffix, "victim-%s" % suffix
    for name in (ns, victim_ns):
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
            name=name, labels={"team": "t"}, annotations={"note": "untouched"})))
    try:
        create(api, ns, deployment_body("web", 2, {"app": "web"}))
        create(api, ns, service_body("web", {"app": "web"}))
        core.create_namespaced_pod(victim_ns, bare_pod("victim", labels={"app": "victim"}, annotations={"a": "b"}))
        create(api, victim_ns, service_body("victim", {"app": "victim"}))
        past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)
        create(api, victim_ns, contract_pod_body("victim-expired", past, past, evidence="bundle-x"))
        pods = wait_ready_pods(core, ns, 2, "app=web")
        wait_ready_pods(core, victim_ns, 1, "app=victim")
        yield {"ns": ns, "victim_ns": victim_ns, "pod": sorted(p.metadata.name for p in pods)[0]}
    finally:
        for name in (ns, victim_ns):
            try:
                core.delete_namespace(name, grace_period_seconds=0)
            except client.ApiException:
                pass


def _state(api, namespaces):
    """What a bad input must not change: pods (labels, annotations, deletion), namespaces, policies."""
    core, net = client.CoreV1Api(api), client.NetworkingV1Api(api)
    state = {}
    for ns in namespaces:
        meta = core.read_namespace(ns).metadata
        state[ns] = {
            "namespace": (meta.labels, meta.annotations),
            "pods": dict((p.metadata.name, (p.metadata.uid, p.metadata.labels, p.metadata.annotations,
                                            p.metadata.deletion_timestamp))
                         for p in core.list_namespaced_pod(ns).items),
            "networkpolicies": sorted(p.metadata.name for p in net.list_namespaced_network_policy(ns).items),
        }
    return state


def _values(world, tmp_path, kubeconfig, context, api):
    return dict(world, tmp=str(tmp_path), kubeconfig=kubeconfig, context=context, server=api.configuration.host)


def _flat(text):
    return " ".join(str(text).split()).lower()


def _problems(row, msg, everything, result=None):
    """Why a row's outcome is wrong (empty when right)."""
    found = []
    if result is not None:
        if result.get("failed") is not True:
            return ["did not fail: %s" % json.dumps(result)[:600]]
        if result.get("changed") is True:
            found.append("reported changed: true")
        if "Traceback" in str(result.get("exception", "")):
            found.append("has a traceback in exception")
    for text in row["expect"]:
        if _flat(text) not in _flat(msg):
            found.append("message lacks %r" % text)
    for text in row.get("once", ()):
        if _flat(msg).count(_flat(text)) != 1:
            found.append("message says %r %d times" % (text, _flat(msg).count(_flat(text))))
    for text in ["Traceback", "KeyError"] + list(row.get("absent", ())):
        if text in everything:
            found.append("output contains %r" % text)
    if len(msg) > 4000:
        found.append("message is %d characters long" % len(msg))
    return found


def _report(failures, total):
    lines = ["%d of %d rows are wrong:" % (len(failures), total)]
    for row, msg, problems in failures:
        lines.append("- %s: %s\n    msg: %s" % (row["what"], "; ".join(problems), (msg or "")[:400].replace("\n", " ")))
    return "\n".join(lines)


@pytest.mark.parametrize("module", MODULES)
def test_bad_inputs_fail_clearly_and_change_nothing(module, world, api, ansible, kubeconfig, context, tmp_path):
    values = _values(world, tmp_path, kubeconfig, context, api)
    rows = bad_inputs.rows_for(module)
    namespaces = (world["ns"], world["victim_ns"])
    before = _state(api, namespaces)

    results = module_results(ansible, "triage.k8s." + module, [bad_inputs.render(r["args"], values) for r in rows])

    failures = []
    for row, result in zip(rows, results):
        row = bad_inputs.render(row, values)
        problems = _problems(row, result.get("msg", ""), json.dumps(result), result)
        if problems:
            failures.append((row, result.get("msg"), problems))
    assert not failures, _report(failures, len(rows))
    assert _state(api, namespaces) == before, "a bad input changed the cluster"
    evidence = tmp_path / "evidence"
    assert not evidence.exists() or os.listdir(str(evidence)) == [], "a bad input wrote evidence"


def test_bad_inventory_sources_fail_clearly(world, api, kubeconfig, context, tmp_path):
    values = _values(world, tmp_path, kubeconfig, context, api)
    rows = bad_inputs.rows_for("inventory")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".build", "collections"),
               ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="true", ANSIBLE_NOCOLOR="1")
    failures = []
    for index, row in enumerate(rows):
        row = bad_inputs.render(row, values)
        for name, text in (row.get("files") or {}).items():
            (tmp_path / name).write_text(text)
        source = tmp_path / ("row-%d.kubeconfig.yml" % index)
        source.write_text(json.dumps(dict(row["args"], plugin="triage.k8s.kubeconfig")))
        proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", str(source),
                               "--list"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=120, check=False)
        output = proc.stdout + proc.stderr
        problems = [] if proc.returncode != 0 else ["ansible-inventory succeeded"]
        problems += _problems(row, proc.stderr, output)
        if problems:
            failures.append((row, proc.stderr, problems))
    assert not failures, _report(failures, len(rows))


def test_the_table_keeps_its_size():
    """The issue asks for at least the 88 cases of the report plus every listed one."""
    assert len(bad_inputs.ROWS) >= 100
    assert set(MODULES) | {"inventory"} == set(r["module"] for r in bad_inputs.ROWS)
    keys = [(r["module"], r["what"]) for r in bad_inputs.ROWS]
    assert len(set(keys)) == len(keys), "every row of a module says what it tries"
