"""pod_evidence tells the truth under faults (issue 10): the API server of the fault cluster is
killed at the annotation PATCH (held there by the kube.py test hook), just before it, and during
the collection; a PATCH's answer is lost. Each time the result's `changed`, `bundle`, `complete`,
`annotation` and message are checked against the cluster and the disk, and a re-run after the API
server is back converges (a new bundle, the pod annotated with it)."""

import datetime
import json
import os

from kubernetes import client

from faults import Hook, background
from k8s_helpers import contract_pod_body, create, ensure_default_service_account, sim_pod_body, wait_pod

EVIDENCE = "triage.k8s/evidence"
ITEMS = ["manifest", "events"]


def _pod(fault, namespace, quarantined=True):
    core = client.CoreV1Api(fault.api)
    # A bare pod needs the namespace's default ServiceAccount (late right after an earlier test
    # started the API server again).
    ensure_default_service_account(fault.api, namespace)
    if quarantined:
        body = contract_pod_body("victim", quarantined_at=datetime.datetime.now(datetime.timezone.utc))
    else:
        body = sim_pod_body("victim")
    create(fault.api, namespace, body)
    # After the API server restarts of the tests before, KWOK and the scheduler may take a while to
    # catch up (watch back-off): a bound for that, not a timing.
    wait_pod(core, namespace, "victim", lambda p: p.status.phase == "Running", "victim running", timeout=180)
    return core


def _evidence(ansible, namespace, dest, env=None):
    return ansible.module("triage.k8s.pod_evidence", {"name": "victim", "namespace": namespace, "dest": dest,
                                                      "include": ITEMS}, env=env)


def _on_pod(core, namespace):
    return (core.read_namespaced_pod("victim", namespace).metadata.annotations or {}).get(EVIDENCE)


def _manifest(bundle):
    with open(os.path.join(bundle, "manifest.json"), "rb") as handle:
        return json.loads(handle.read())


def _converges(fault_ansible, core, namespace, dest, before):
    """A re-run with the API server up: a new, complete bundle, and the pod annotated with it."""
    rerun = _evidence(fault_ansible, namespace, dest)
    assert not rerun.get("failed") and rerun["changed"] is True, rerun
    assert rerun["complete"] is True and rerun["annotation"]["written"] is True, rerun
    assert rerun["bundle"] != before and os.path.isdir(rerun["bundle"])
    assert json.loads(_on_pod(core, namespace))["bundle"] == rerun["bundle_name"]
    assert "Written: the bundle %s (manifest.json: complete=True); the pod annotation %s. Not written: nothing." % (
        rerun["bundle"], EVIDENCE) == rerun["msg"]


def _held(fault, fault_ansible, namespace, dest, spec, tmp_path):
    """Run pod_evidence held at spec; kill the API server there, let it go on, then start the
    API server again. The result."""
    hook = Hook(spec, str(tmp_path / "hook"))
    run = background(_evidence, fault_ansible, namespace, dest, hook.env)
    hook.wait_paused(120, run)
    fault.kill_apiserver()
    hook.resume()
    result = run.result(timeout=300)
    fault.start_apiserver()
    return result


def test_apiserver_dies_right_after_the_annotation_patch(fault, fault_ansible, fault_namespace, tmp_path):
    core = _pod(fault, fault_namespace)
    dest = str(tmp_path / "ev")
    result = _held(fault, fault_ansible, fault_namespace, dest, "pause:PATCH:pods:1", tmp_path)

    # The PATCH landed before the API server died: nothing after it needs the server.
    assert not result.get("failed") and result["changed"] is True, result
    assert result["annotation"]["written"] is True and result["complete"] is True, result
    assert result["msg"].endswith("the pod annotation %s. Not written: nothing." % EVIDENCE), result["msg"]
    recorded = json.loads(_on_pod(core, fault_namespace))
    assert recorded["bundle"] == result["bundle_name"] and recorded["manifest_sha256"] == result["manifest_sha256"]
    assert _manifest(result["bundle"])["complete"] is True
    _converges(fault_ansible, core, fault_namespace, dest, result["bundle"])


def test_apiserver_dies_just_before_the_annotation_patch(fault, fault_ansible, fault_namespace, tmp_path):
    core = _pod(fault, fault_namespace)
    dest = str(tmp_path / "ev")
    # GET 1 reads the pod at the start; GET 2 reads it again just before the PATCH.
    result = _held(fault, fault_ansible, fault_namespace, dest, "pause:GET:pods:2", tmp_path)

    assert result.get("failed") and result["changed"] is True, result
    assert result["bundle"] and result["complete"] is True and result["partial"] is None, result
    assert result["annotation"]["written"] is False, result["annotation"]
    msg = result["msg"]
    assert msg.startswith("the bundle was written, but annotating the quarantined pod failed: the PATCH failed: "
                          "cannot reach the API server"), msg
    assert "connection refused" in msg and "Run pod_evidence again to annotate it" in msg, msg
    assert ("Written: the bundle %s (manifest.json: complete=True). Not written: the pod annotation %s"
            % (result["bundle"], EVIDENCE)) in msg, msg
    assert _on_pod(core, fault_namespace) is None  # the cluster agrees: not annotated
    assert _manifest(result["bundle"])["complete"] is True
    _converges(fault_ansible, core, fault_namespace, dest, result["bundle"])


def test_apiserver_dies_during_the_collection_of_a_quarantined_pod(fault, fault_ansible, fault_namespace, tmp_path):
    core = _pod(fault, fault_namespace)
    dest = str(tmp_path / "ev")
    result = _held(fault, fault_ansible, fault_namespace, dest, "pause:GET:pods:1", tmp_path)

    # events could not be listed: the bundle is finished, incomplete, and the result carries it.
    assert result.get("failed") and result["changed"] is True, result
    assert result["bundle"] and os.path.isdir(result["bundle"]) and result["complete"] is False, result
    manifest = _manifest(result["bundle"])
    assert manifest["complete"] is False and [f["item"] for f in manifest["failed"]] == ["events"]
    assert result["annotation"]["written"] is False
    assert "reading the pod again failed" in result["msg"] and "connection refused" in result["msg"], result["msg"]
    assert ("Written: the bundle %s (manifest.json: complete=False). Not written: the pod annotation"
            % result["bundle"]) in result["msg"]
    assert _on_pod(core, fault_namespace) is None
    _converges(fault_ansible, core, fault_namespace, dest, result["bundle"])


def test_apiserver_dies_during_the_collection_of_a_pod_not_quarantined(fault, fault_ansible, fault_namespace,
                                                                       tmp_path):
    core = _pod(fault, fault_namespace, quarantined=False)
    dest = str(tmp_path / "ev")
    result = _held(fault, fault_ansible, fault_namespace, dest, "pause:GET:pods:1", tmp_path)

    # Nobody expected an annotation: the run succeeds with what it could collect, and says so.
    assert not result.get("failed") and result["changed"] is True, result
    assert result["bundle"] and result["complete"] is False and result["failed_items"][0]["item"] == "events"
    assert result["annotation"]["written"] is False
    assert any("could not check whether the pod was quarantined" in w for w in result.get("warnings", [])), result
    assert "Written: the bundle %s (manifest.json: complete=False)" % result["bundle"] in result["msg"]
    assert _manifest(result["bundle"])["complete"] is False
    rerun = _evidence(fault_ansible, fault_namespace, dest)
    assert not rerun.get("failed") and rerun["complete"] is True, rerun
    assert rerun["annotation"] == {"written": False,
                                   "note": "the pod is not quarantined: only quarantined pods are annotated"}
    assert _on_pod(core, fault_namespace) is None


def test_a_lost_annotation_patch_answer_is_found_to_have_landed(fault, fault_ansible, fault_namespace, tmp_path):
    core = _pod(fault, fault_namespace)
    hook = Hook("drop:PATCH:pods:1", str(tmp_path / "hook"))
    result = _evidence(fault_ansible, fault_namespace, str(tmp_path / "ev"), env=hook.env)

    assert not result.get("failed") and result["changed"] is True, result
    assert result["annotation"]["written"] is True, result["annotation"]
    assert "an earlier attempt of this run landed" in result["annotation"]["note"] \
        or "shows it landed" in result["annotation"]["note"], result["annotation"]
    assert json.loads(_on_pod(core, fault_namespace))["bundle"] == result["bundle_name"]
