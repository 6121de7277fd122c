"""pod_evidence on the real local control plane: every item from a crash-looping Deployment pod
(KWOK serves its current and previous logs and runs exec commands locally, in the test's workdir),
redaction, checksums read back, the annotation on a quarantined pod, and the ways a collection can
fail without leaving anything that claims to be complete."""

import glob
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import time

import pytest
import yaml

from k8s_helpers import (
    annotate_behavior, create, deployment_body, quarantine, serve_exec, serve_logs, service_body,
    wait_list, wait_ready_pods,
)

EVIDENCE = "triage.k8s/evidence"
SECRET = "hunter2"


def _deployment_with_secrets(name, replicas=1):
    body = deployment_body(name, replicas, {"app": name})
    spec = body["spec"]["template"]["spec"]
    spec["initContainers"] = [{"name": "migrate", "image": "registry.example/migrate:1.0"}]
    spec["containers"][0]["env"] = [
        {"name": "DB_PASSWORD", "value": SECRET},
        {"name": "LOG_LEVEL", "value": "debug"},
        {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}},
    ]
    spec["containers"][0]["args"] = ["--db-password=%s" % SECRET]
    return body


def _one_pod(core, namespace, app, count=1):
    pods = wait_ready_pods(core, namespace, count, "app=%s" % app)
    return sorted(p.metadata.name for p in pods)[0]


def _evidence(ansible, name, namespace, check=False, **params):
    return ansible.module("triage.k8s.pod_evidence", dict(params, name=name, namespace=namespace), check=check)


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def _verify_bundle(bundle):
    """Read every file back: sizes and sha256 as the manifest says, modes 0600/0700; the manifest dict."""
    with open(os.path.join(bundle, "manifest.json"), "rb") as handle:
        raw = handle.read()
    manifest = json.loads(raw)
    on_disk = set()
    for root, dirs, files in os.walk(bundle):
        for d in dirs:
            assert _mode(os.path.join(root, d)) == 0o700
        for f in files:
            assert _mode(os.path.join(root, f)) == 0o600
            on_disk.add(os.path.relpath(os.path.join(root, f), bundle))
    assert _mode(bundle) == 0o700
    assert on_disk == set(f["path"] for f in manifest["files"]) | {"manifest.json"}
    for entry in manifest["files"]:
        with open(os.path.join(bundle, entry["path"]), "rb") as handle:
            data = handle.read()
        assert len(data) == entry["size"] and hashlib.sha256(data).hexdigest() == entry["sha256"], entry["path"]
    return manifest, hashlib.sha256(raw).hexdigest()


def _read(bundle, rel):
    with open(os.path.join(bundle, rel)) as handle:
        return handle.read()


def _all_text(bundle):
    chunks = []
    for root, _dirs, files in os.walk(bundle):
        for f in files:
            with open(os.path.join(root, f), "rb") as handle:
                chunks.append(handle.read().decode("utf-8", "replace"))
    return "\n".join(chunks)


def _crashlooping(core, api, namespace, workdir):
    """A Deployment pod with an init container, a Service, logs (with secrets in them), exec, and a
    crash loop that has restarted it at least once. Returns the pod name."""
    create(api, namespace, _deployment_with_secrets("shop"))
    create(api, namespace, service_body("shop", {"app": "shop"}))
    name = _one_pod(core, namespace, "shop")
    serve_logs(api, namespace, name, workdir, {
        "app": (["started", "Authorization: Bearer abcdefghijklmnop"], ["boom: null pointer", "db password=%s" % SECRET]),
        "migrate": (["migrations applied"], []),
    })
    os.makedirs(os.path.join(workdir, "diag", "sub"))
    with open(os.path.join(workdir, "diag", "heap.txt"), "w") as f:
        f.write("heap histogram\n")
    with open(os.path.join(workdir, "diag", "sub", "gc.log"), "w") as f:
        f.write("gc pause 12ms\n")
    with open(os.path.join(workdir, "dump.txt"), "w") as f:
        f.write("thread dump\nconfig password=%s\n" % SECRET)
    serve_exec(api, namespace, name, workdir)
    annotate_behavior(core, namespace, name, "crashloop", exit_code=3)
    wait_list(core.list_namespaced_pod,
              lambda ps: ps and any((cs.restart_count or 0) >= 1 for cs in ps[0].status.container_statuses or []),
              timeout=60, what="a restart", namespace=namespace, field_selector="metadata.name=%s" % name)
    return name


def test_every_item_from_a_crash_looping_pod(core, api, namespace, workdir, ansible, tmp_path):
    name = _crashlooping(core, api, namespace, workdir)
    dest = str(tmp_path / "evidence")
    result = _evidence(ansible, name, namespace, dest=dest, archive=True, checkpoint=True, tail_lines=1000,
                       exec=[{"command": ["cat", "dump.txt"]},
                             {"command": "sh -c 'echo oops >&2; exit 3'", "name": "failing"},
                             {"command": ["echo", "still running"]}],
                       copy_from=[{"path": os.path.join(workdir, "diag")}])
    assert result["changed"] is True and not result.get("failed"), result
    items = result["items"]
    for item in ("manifest", "describe", "events", "owners", "node", "services", "logs", "previous_logs", "copy_from"):
        assert items[item]["status"] == "ok", (item, items[item])
    # These clusters have no metrics-server, and the API server refuses to proxy to a loopback kubelet.
    assert items["metrics"]["status"] == "unavailable" and "metrics.k8s.io is not served" in items["metrics"]["note"]
    assert items["checkpoint"]["status"] == "unavailable" and "checkpoint API is not available" in items["checkpoint"]["note"]
    # The failing command is recorded; the one after it still ran.
    assert items["exec"]["status"] == "partial" and "exited with 3" in items["exec"]["error"]
    assert [f["item"] for f in result["failed_items"]] == ["exec"] and result["complete"] is False

    bundle = result["bundle"]
    assert os.path.basename(bundle) == result["bundle_name"]
    assert result["bundle_name"].startswith("%s_%s_%s_" % (ansible.context, namespace, name))
    manifest, sha = _verify_bundle(bundle)
    assert sha == result["manifest_sha256"] and manifest["complete"] is False
    assert manifest["collection"] == {"name": "triage.k8s", "version": "0.1.0"}
    assert manifest["cluster"]["server"].startswith("https://127.0.0.1:")
    assert manifest["collected_by"]["identity"] and manifest["started_at"] <= manifest["finished_at"]
    assert manifest["pod"]["name"] == name and manifest["pod"]["quarantined"] is False
    assert not [d for d in os.listdir(dest) if d.endswith(".partial")]

    pod_yaml = yaml.safe_load(_read(bundle, "pod.yaml"))
    assert "managedFields" not in pod_yaml["metadata"]
    env = dict((e["name"], e) for e in pod_yaml["spec"]["containers"][0]["env"])
    assert env["DB_PASSWORD"]["value"] == "<redacted>" and env["LOG_LEVEL"]["value"] == "debug"
    assert env["API_TOKEN"]["valueFrom"] == {"secretKeyRef": {"name": "api", "key": "token"}}
    assert SECRET not in _all_text(bundle), "a secret leaked into the bundle"

    assert "boom: null pointer" in _read(bundle, "logs/app.previous.log")
    assert "db password=<redacted>" in _read(bundle, "logs/app.previous.log")
    assert "Bearer <redacted>" in _read(bundle, "logs/app.log") and "abcdefghijklmnop" not in _read(bundle, "logs/app.log")
    assert "migrations applied" in _read(bundle, "logs/migrate.log")
    describe = _read(bundle, "describe.txt")
    assert "Controlled By:      ReplicaSet/" in describe and "<- Deployment/shop" in describe
    assert "CrashLoopBackOff" in describe or "Running" in describe
    events = yaml.safe_load(_read(bundle, "events.yaml"))
    assert [g["object"]["kind"] for g in events] == ["Pod", "ReplicaSet", "Deployment"]
    assert "BackOff" in [e["reason"] for e in events[0]["events"]]
    assert sorted(os.listdir(os.path.join(bundle, "owners")))[1] == "02-Deployment-shop.yaml"
    node = yaml.safe_load(_read(bundle, "node.yaml"))
    assert node["name"].startswith("kwok-node-") and node["allocatable"] and node["conditions"]
    services = yaml.safe_load(_read(bundle, "services.yaml"))
    assert services[0]["name"] == "shop" and services[0]["selects_now"] is True
    assert yaml.safe_load(_read(bundle, "endpointslices.yaml"))[0]["metadata"]["labels"][
        "kubernetes.io/service-name"] == "shop"

    assert _read(bundle, "exec/01-cat.stdout") == "thread dump\nconfig password=<redacted>\n"
    failing = json.loads(_read(bundle, "exec/02-failing.result.json"))
    assert failing["returncode"] == 3 and failing["status"] == "failed"
    assert _read(bundle, "exec/02-failing.stderr") == "oops\n"
    assert _read(bundle, "exec/03-echo.stdout") == "still running\n"
    assert _read(bundle, "copy/01-diag/diag/sub/gc.log") == "gc pause 12ms\n"

    with tarfile.open(result["archive"]) as tar:
        assert result["bundle_name"] + "/manifest.json" in tar.getnames()
    assert _mode(result["archive"]) == 0o600
    assert result["annotation"] == {"written": False,
                                    "note": "the pod is not quarantined: only quarantined pods are annotated"}
    assert EVIDENCE not in (core.read_namespaced_pod(name, namespace).metadata.annotations or {})


def test_quarantined_pod_is_annotated(core, api, namespace, ansible, tmp_path):
    create(api, namespace, deployment_body("web", 2, {"app": "web"}))
    create(api, namespace, service_body("web", {"app": "web"}))
    victim = _one_pod(core, namespace, "web", count=2)
    assert quarantine(ansible, victim, namespace, reason="evidence test")["changed"] is True

    result = _evidence(ansible, victim, namespace, dest=str(tmp_path / "ev"), include=["manifest", "services"])
    assert not result.get("failed"), result
    assert result["annotation"]["written"] is True and result["complete"] is True
    annotations = core.read_namespaced_pod(victim, namespace).metadata.annotations
    value = annotations[EVIDENCE]
    _manifest, sha = _verify_bundle(result["bundle"])
    recorded = json.loads(value)
    assert value == json.dumps(recorded, sort_keys=True, separators=(",", ":"))
    assert recorded["bundle"] == result["bundle_name"] and recorded["manifest_sha256"] == sha
    assert recorded["collected_at"].endswith("Z")
    # The Service selected it before the quarantine: found through the recorded original labels.
    services = yaml.safe_load(_read(result["bundle"], "services.yaml"))
    assert services[0]["name"] == "web" and services[0]["selected_before_quarantine"] is True
    assert services[0]["selects_now"] is False


def test_check_mode_writes_nothing(core, api, namespace, ansible, tmp_path):
    create(api, namespace, deployment_body("web", 1, {"app": "web"}))
    name = _one_pod(core, namespace, "web")
    dest = tmp_path / "never"
    result = _evidence(ansible, name, namespace, check=True, dest=str(dest), exec=[{"command": ["echo", "hi"]}])
    assert result["changed"] is True and not result.get("failed"), result
    plan = result["would_collect"]
    assert "exec" in plan["items"] and plan["exec"] == [{"command": ["echo", "hi"], "container": "app", "timeout": 60}]
    assert {"container": "app", "kind": "regular", "previous": False, "path": "logs/app.log"} in plan["logs"]
    assert not dest.exists()


def test_required_item_that_cannot_be_collected_fails_the_task(core, api, namespace, ansible, tmp_path):
    create(api, namespace, deployment_body("web", 1, {"app": "web"}))
    name = _one_pod(core, namespace, "web")
    result = _evidence(ansible, name, namespace, dest=str(tmp_path / "ev"), required=["manifest", "metrics"])
    assert result["failed"] is True
    assert "required evidence was not collected: metrics unavailable" in result["msg"]
    assert "the pod was not annotated" in result["msg"]
    _verify_bundle(result["bundle"])  # what was collected is still there, and says so


def test_exec_is_refused_with_impersonation(core, api, namespace, ansible, tmp_path):
    create(api, namespace, deployment_body("web", 1, {"app": "web"}))
    name = _one_pod(core, namespace, "web")
    result = _evidence(ansible, name, namespace, dest=str(tmp_path / "ev"), impersonate_user="alice",
                       exec=[{"command": ["id"]}])
    assert result["failed"] is True and "without the Impersonate-* headers" in result["msg"]
    assert not (tmp_path / "ev").exists()


def test_unwritable_dest_is_a_clear_error(core, api, namespace, ansible, tmp_path):
    create(api, namespace, deployment_body("web", 1, {"app": "web"}))
    name = _one_pod(core, namespace, "web")
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = _evidence(ansible, name, namespace, dest=str(afile))
    assert result["failed"] is True and "exists and is not a directory" in result["msg"]
    result = _evidence(ansible, name, namespace, dest=str(afile / "below"))
    assert result["failed"] is True and "cannot create the evidence directory (dest)" in result["msg"]
    # An existing directory this process cannot write (immutable: root ignores permission bits).
    locked = tmp_path / "locked"
    locked.mkdir()
    if not _chattr("+i", locked):
        pytest.skip("chattr +i is not available here")
    try:
        result = _evidence(ansible, name, namespace, dest=str(locked))
        assert result["failed"] is True, result
        assert "cannot create the bundle directory in dest" in result["msg"] and "Operation not permitted" in result["msg"]
        assert os.listdir(str(locked)) == []
    finally:
        _chattr("-i", locked)


def _chattr(flag, path):
    tool = shutil.which("chattr")
    return bool(tool) and subprocess.run([tool, flag, str(path)], stderr=subprocess.DEVNULL, check=False).returncode == 0


def _play(tmp_path, name, namespace, ansible, dest, command):
    task = {"triage.k8s.pod_evidence": {"name": name, "namespace": namespace, "dest": dest,
                                        "kubeconfig": ansible.kubeconfig, "context": ansible.context,
                                        "exec": [{"command": command, "timeout": 60}]}}
    path = str(tmp_path / "slow.yml")
    with open(path, "w") as f:
        yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": [task]}], f)
    return path


def _start(ansible, path):
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", path]
    return subprocess.Popen(cmd, env=ansible.env(), cwd=ansible.tmpdir, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _wait_for(pattern, proc, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = glob.glob(pattern)
        if found:
            return found[0]
        if proc.poll() is not None:
            raise AssertionError("the playbook ended before %s appeared:\n%s" % (pattern, proc.stdout.read()))
        time.sleep(0.1)
    raise AssertionError("%s did not appear" % pattern)


def _wait_group_gone(pgid, timeout=10):
    """Every process of the killed playbook's group (the module included) has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError("processes of group %d are still running" % pgid)


def _slow_pod(core, api, namespace, workdir):
    create(api, namespace, deployment_body("web", 1, {"app": "web"}))
    name = _one_pod(core, namespace, "web")
    serve_logs(api, namespace, name, workdir, {"app": (["hello"], [])})
    serve_exec(api, namespace, name, workdir)
    return name


def test_interrupted_collection_leaves_only_partial(core, api, namespace, workdir, ansible, tmp_path):
    """Kill ansible-playbook (and the module) while a slow exec command runs."""
    name = _slow_pod(core, api, namespace, workdir)
    dest = str(tmp_path / "ev")
    proc = _start(ansible, _play(tmp_path, name, namespace, ansible, dest, ["sleep", "20"]))
    try:
        _wait_for(os.path.join(dest, "*.partial", "exec", "01-sleep.stdout"), proc)
        _wait_for(os.path.join(dest, "*.partial", "pod.yaml"), proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    _wait_group_gone(proc.pid)
    left = os.listdir(dest)
    assert len(left) == 1 and left[0].endswith(".partial"), left
    assert not os.path.exists(os.path.join(dest, left[0], "manifest.json"))
    assert not os.path.exists(os.path.join(dest, left[0], "SHA256SUMS"))

    # The next run produces a complete bundle and points at the incomplete one.
    result = _evidence(ansible, name, namespace, dest=dest, include=["manifest"])
    assert not result.get("failed"), result
    assert any(left[0] in w and "interrupted" in w for w in result.get("warnings", [])), result.get("warnings")
    assert sorted(os.listdir(dest)) == sorted([left[0], result["bundle_name"]])


def test_dest_failing_mid_collection_leaves_only_partial(core, api, namespace, workdir, ansible, tmp_path):
    """The bundle directory stops accepting files while a command runs: the task fails clearly and
    nothing claims to be complete."""
    name = _slow_pod(core, api, namespace, workdir)
    dest = str(tmp_path / "ev")
    proc = _start(ansible, _play(tmp_path, name, namespace, ansible, dest, ["sleep", "4"]))
    partial = None
    try:
        partial = os.path.dirname(_wait_for(os.path.join(dest, "*.partial", "pod.yaml"), proc))
        if not _chattr("+i", partial):
            pytest.skip("chattr +i is not available here")
        output = proc.communicate(timeout=120)[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if partial:
            _chattr("-i", partial)
    assert proc.returncode != 0
    assert "cannot finish the bundle (it stays incomplete, as .partial)" in output, output
    assert "Operation not permitted" in output
    assert os.listdir(dest) == [os.path.basename(partial)]
    assert not os.path.exists(os.path.join(partial, "manifest.json"))


def test_collect_evidence_playbook(core, api, namespace, ansible, tmp_path):
    create(api, namespace, deployment_body("web", 1, {"app": "web"}))
    name = _one_pod(core, namespace, "web")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = ansible.playbook(os.path.join(repo, "playbooks", "collect_evidence.yml"), extra_vars={
        "pod": name, "namespace": namespace, "dest": str(tmp_path / "bundles"), "archive": True},
        # The AWX way (K8S_AUTH_*): works whether or not pod_evidence is in group/triage.k8s.k8s yet.
        env={"K8S_AUTH_KUBECONFIG": ansible.kubeconfig, "K8S_AUTH_CONTEXT": ansible.context})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (bundle,) = [d for d in os.listdir(str(tmp_path / "bundles")) if not d.endswith(".tar.gz")]
    assert os.path.exists(str(tmp_path / "bundles" / (bundle + ".tar.gz")))
    assert "Evidence for %s/%s: %s" % (namespace, name, str(tmp_path / "bundles" / bundle)) in proc.stdout
    _verify_bundle(str(tmp_path / "bundles" / bundle))


def test_quarantine_playbook_collects_evidence_before_and_after_relabelling(core, api, namespace, ansible):
    create(api, namespace, deployment_body("web", 2, {"app": "web"}))
    create(api, namespace, service_body("web", {"app": "web"}))
    victim = _one_pod(core, namespace, "web", count=2)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = ansible.playbook(os.path.join(repo, "playbooks", "quarantine.yml"),
                            extra_vars={"pod": victim, "namespace": namespace, "reason": "evidence please",
                                        "quarantine_evidence_before_relabel": True},
                            env={"K8S_AUTH_KUBECONFIG": ansible.kubeconfig, "K8S_AUTH_CONTEXT": ansible.context})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "relabelling failed" not in proc.stdout, proc.stdout
    dest = os.path.join(ansible.tmpdir, "evidence")  # the default, relative to where ansible-playbook runs
    bundles = sorted(os.listdir(dest))
    assert len(bundles) == 2 and not [b for b in bundles if b.endswith(".partial")], bundles
    manifests = dict((b, _verify_bundle(os.path.join(dest, b))) for b in bundles)
    before = [b for b in bundles if manifests[b][0]["notes"].get("stage") == "before relabelling"][0]
    after = [b for b in bundles if b != before][0]
    first, second = manifests[before][0], manifests[after][0]
    assert first["options"]["items"] == ["manifest", "events", "previous_logs"]
    assert first["pod"]["quarantined"] is False and second["pod"]["quarantined"] is True
    assert "manifest" not in second["options"]["items"] and "describe" in second["options"]["items"]
    assert second["notes"] == {"stage": "after relabelling", "reason": "evidence please",
                               "before_relabelling_bundle": before}
    recorded = json.loads(core.read_namespaced_pod(victim, namespace).metadata.annotations[EVIDENCE])
    assert recorded["bundle"] == after and recorded["manifest_sha256"] == manifests[after][1]
    assert "is quarantined: evidence please" in proc.stdout
