"""pod_evidence's debug option on the local control plane: a "distroless" pod (KWOK's Exec object
runs commands only in the debug container, so exec in the app container fails as it does in an
image without a shell) gets an ephemeral container through pods/ephemeralcontainers, KWOK's stage
in hack/cluster/stages/pod-ephemeral.yaml starts it, and the exec diagnostics run through it.
A second run reuses it; check mode adds nothing; a ServiceAccount without patch on
pods/ephemeralcontainers is refused with the grant named and the pod unchanged."""

import json
import os

from kubernetes import client

from k8s_helpers import JobIdentity, bearer_token_env, wait_list

IMAGE = "busybox:1.36"


def _pod(core, namespace, name="distroless", share=False):
    spec = {"containers": [{"name": "app", "image": "gcr.io/distroless/java21:nonroot"}],
            "terminationGracePeriodSeconds": 0}
    if share:
        spec["shareProcessNamespace"] = True
    core.create_namespaced_pod(namespace, {"metadata": {"name": name}, "spec": spec})
    wait_list(core.list_namespaced_pod, lambda ps: ps and ps[0].status.phase == "Running", timeout=60,
              what="pod %s running" % name, namespace=namespace, field_selector="metadata.name=%s" % name)
    return name


def _serve_exec_only_in(api, namespace, pod, workdir, containers):
    """KWOK runs exec commands locally, but only for these containers: for any other one the
    exec fails, as it does in a distroless image (no shell, no tar)."""
    body = {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Exec", "metadata": {"name": pod, "namespace": namespace},
            "spec": {"execs": [{"containers": list(containers), "local": {"workDir": workdir}}]}}
    client.CustomObjectsApi(api).create_namespaced_custom_object("kwok.x-k8s.io", "v1alpha1", namespace, "execs", body)


def _ephemeral(core, namespace, pod):
    return [c.to_dict() for c in core.read_namespaced_pod(pod, namespace).spec.ephemeral_containers or []]


def _evidence(ansible, pod, namespace, dest, check=False, diff=False, env=None, **params):
    args = dict(params, name=pod, namespace=namespace, dest=str(dest))
    if env:
        return ansible.module("triage.k8s.pod_evidence", args, check=check, diff=diff, auth=False, env=env)
    return ansible.module("triage.k8s.pod_evidence", args, check=check, diff=diff)


def _manifest(bundle):
    with open(os.path.join(bundle, "manifest.json")) as handle:
        return json.load(handle)


def _read(bundle, rel):
    with open(os.path.join(bundle, rel)) as handle:
        return handle.read()


def test_debug_container_runs_the_diagnostics_of_a_distroless_pod(core, api, namespace, workdir, ansible, tmp_path):
    pod = _pod(core, namespace)
    debug = {"image": IMAGE, "target": "app", "profile": "general"}
    exec_cmd = [{"command": ["echo", "thread dump from the debug container"], "name": "threads"}]

    # Without debug, the app container has no shell: the exec fails (the bundle says so).
    plain = _evidence(ansible, pod, namespace, tmp_path / "plain", exec=exec_cmd, include=["manifest"])
    assert plain["items"]["exec"]["status"] == "failed", plain

    # Check mode: the container that would be added, and nothing in the pod.
    check = _evidence(ansible, pod, namespace, tmp_path / "check", check=True, diff=True, debug=debug, exec=exec_cmd,
                      include=["manifest"])
    assert not check.get("failed"), check
    would = check["would_collect"]["debug"]
    name = would["container"]
    assert name.startswith("triage-debug-") and not would["reused"] and would["would_add"]["name"] == name
    assert would["would_add"]["targetContainerName"] == "app"
    assert would["would_add"]["securityContext"] == {"capabilities": {"add": ["SYS_PTRACE"]}}
    assert check["would_collect"]["exec"][0]["container"] == name
    assert check["diff"]["after"]["ephemeralContainers"] == [name], check
    assert "would be added" in check["msg"]
    assert _ephemeral(core, namespace, pod) == []
    assert not (tmp_path / "check").exists() or not os.listdir(str(tmp_path / "check"))

    # Only the debug container can exec (KWOK's Exec names it): the diagnostics go through it.
    _serve_exec_only_in(api, namespace, pod, workdir, [name])
    first = _evidence(ansible, pod, namespace, tmp_path / "first", diff=True, debug=debug, exec=exec_cmd,
                      include=["manifest"])
    assert not first.get("failed"), first
    assert first["changed"] and first["debug"]["added"] and not first["debug"]["reused"], first
    assert first["debug"]["container"] == name and first["debug"]["state"] == "running"
    assert "Debug container %s" % name in first["msg"] and "cannot be removed" in first["msg"]
    assert first["diff"]["before"]["ephemeralContainers"] == [] and first["diff"]["after"]["ephemeralContainers"] == [name]
    ephemeral = _ephemeral(core, namespace, pod)
    assert [c["name"] for c in ephemeral] == [name]
    assert ephemeral[0]["image"] == IMAGE and ephemeral[0]["target_container_name"] == "app"
    assert ephemeral[0]["command"] == ["sleep", "3600"]
    assert ephemeral[0]["security_context"]["capabilities"]["add"] == ["SYS_PTRACE"]
    bundle = first["bundle"]
    assert first["items"]["exec"]["status"] == "ok", first
    assert _read(bundle, "exec/01-threads.stdout") == "thread dump from the debug container\n"
    manifest = _manifest(bundle)
    assert manifest["debug"]["container"] == name and manifest["debug"]["target"] == "app"
    command = manifest["items"]["exec"]["commands"][0]
    assert command["container"] == name and command["target"] == "app"
    # The pod's manifest in the bundle is the pod as seen with its debug container running.
    assert name in _read(bundle, "pod.yaml")

    # A second run reuses the container: nothing added, one ephemeral container only.
    second = _evidence(ansible, pod, namespace, tmp_path / "second", debug=debug, exec=exec_cmd, include=["manifest"])
    assert not second.get("failed"), second
    assert second["debug"]["reused"] and not second["debug"]["added"] and second["debug"]["container"] == name
    assert "reused" in second["msg"]
    assert [c["name"] for c in _ephemeral(core, namespace, pod)] == [name]
    assert _read(second["bundle"], "exec/01-threads.stdout") == "thread dump from the debug container\n"

    # Another profile is another container (the name is derived from what it is).
    other = _evidence(ansible, pod, namespace, tmp_path / "check2", check=True, debug=dict(debug, profile="restricted"),
                      exec=exec_cmd, include=["manifest"])
    assert other["would_collect"]["debug"]["container"] != name
    assert other["would_collect"]["debug"]["would_add"]["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_copy_from_goes_through_the_targets_root(core, api, namespace, workdir, ansible, tmp_path):
    """copy_from through the debug container reads /proc/1/root/<path> (the target's file system as
    its process sees it). KWOK runs the tar on this host, where that path is not ours to read, so
    the copy itself fails here: what is checked is the path asked for, and that the rest goes on."""
    pod = _pod(core, namespace)
    debug = {"image": IMAGE}
    check = _evidence(ansible, pod, namespace, tmp_path / "check", check=True, debug=debug,
                      copy_from=[{"path": "/etc/app/config.yaml"}], include=["manifest"])
    name = check["would_collect"]["debug"]["container"]
    assert check["would_collect"]["copy_from"][0]["container"] == name
    _serve_exec_only_in(api, namespace, pod, workdir, [name])
    result = _evidence(ansible, pod, namespace, tmp_path / "run", debug=debug,
                       copy_from=[{"path": "/etc/app/config.yaml"}], include=["manifest"])
    assert result["debug"]["added"] and result["debug"]["target"] == "app", result
    copy = _manifest(result["bundle"] if result.get("bundle") else result["partial"])["items"]["copy_from"]["copies"][0]
    assert copy["container"] == name and copy["source"] == "/proc/1/root/etc/app/config.yaml"


def test_shared_process_namespace_refuses_copy_through_debug(core, namespace, ansible, tmp_path):
    pod = _pod(core, namespace, share=True)
    result = _evidence(ansible, pod, namespace, tmp_path / "ev", debug={"image": IMAGE},
                       copy_from=[{"path": "/etc/app"}], include=["manifest"])
    assert result["failed"] and not result["changed"], result
    assert "shareProcessNamespace" in result["msg"] and "nothing was changed" in result["msg"]
    assert _ephemeral(core, namespace, pod) == []


def test_container_that_never_starts_fails_and_says_it_was_added(core, namespace, ansible, tmp_path):
    pod = _pod(core, namespace)
    never = {"image": "sim.triage.k8s/never-starts", "timeout": 5}
    result = _evidence(ansible, pod, namespace, tmp_path / "ev", debug=never,
                       exec=[{"command": ["true"]}], include=["manifest"])
    assert result["failed"] and result["changed"], result
    assert "did not run within 5s" in result["msg"] and "ErrImagePull" in result["msg"], result["msg"]
    assert "was added to the pod" in result["msg"] and "cannot be removed" in result["msg"]
    assert result["debug"]["added"] and result["debug"]["state"] == "waiting"
    assert [c["name"] for c in _ephemeral(core, namespace, pod)] == [result["debug"]["container"]]


def test_pod_not_running_is_refused(core, namespace, ansible, tmp_path):
    core.create_namespaced_pod(namespace, {"metadata": {"name": "waiting"}, "spec": {
        "containers": [{"name": "app", "image": "registry.example/app:1.0"}], "nodeName": "no-such-node"}})
    result = _evidence(ansible, "waiting", namespace, tmp_path / "ev", debug={"image": IMAGE}, include=["manifest"])
    assert result["failed"] and not result["changed"], result
    assert "not Running" in result["msg"] and "nothing was changed" in result["msg"]
    assert _ephemeral(core, namespace, "waiting") == []


def test_without_patch_on_ephemeralcontainers_the_grant_is_named(core, api, namespace, ansible, tmp_path):
    pod = _pod(core, namespace)
    identity = JobIdentity(api, "evidence", namespace, without=("pods/ephemeralcontainers", "patch"))
    try:
        env = bearer_token_env(api, identity.token(), str(tmp_path))
        result = _evidence(ansible, pod, namespace, tmp_path / "ev", env=env, debug={"image": IMAGE},
                           include=["manifest"])
    finally:
        identity.delete()
    assert result["failed"] and not result["changed"], result
    assert "Forbidden: cannot patch pods/ephemeralcontainers" in result["msg"], result["msg"]
    assert 'grant the "patch" verb on "pods/ephemeralcontainers"' in result["msg"]
    assert "nothing was changed" in result["msg"]
    assert _ephemeral(core, namespace, pod) == []
    assert not (tmp_path / "ev").exists() or not os.listdir(str(tmp_path / "ev"))


def test_evidence_role_passes_evidence_debug(core, api, namespace, workdir, ansible, tmp_path):
    """The evidence role hands evidence_debug to pod_evidence (here from collect_evidence's -e debug)."""
    pod = _pod(core, namespace)
    debug = {"image": IMAGE, "target": "app"}
    check = _evidence(ansible, pod, namespace, tmp_path / "check", check=True, debug=debug, include=["manifest"])
    name = check["would_collect"]["debug"]["container"]
    _serve_exec_only_in(api, namespace, pod, workdir, [name])
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = ansible.playbook(os.path.join(repo, "playbooks", "collect_evidence.yml"), extra_vars={
        "pod": "%s/%s" % (namespace, pod), "dest": str(tmp_path / "bundles"), "include": ["manifest"],
        "exec": [{"command": ["echo", "from the role"], "name": "hello"}], "debug": debug},
        env={"K8S_AUTH_KUBECONFIG": ansible.kubeconfig, "K8S_AUTH_CONTEXT": ansible.context})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Debug container %s (%s, target app): added, it stays in the pod" % (name, IMAGE) in out, out
    (bundle,) = os.listdir(str(tmp_path / "bundles"))
    assert _read(str(tmp_path / "bundles" / bundle), "exec/01-hello.stdout") == "from the role\n"
    assert _manifest(str(tmp_path / "bundles" / bundle))["debug"]["container"] == name
    assert [c["name"] for c in _ephemeral(core, namespace, pod)] == [name]


def test_the_evidence_identity_as_shipped_can_debug(core, api, namespace, workdir, ansible, tmp_path):
    """docs/rbac/evidence.yaml grants what debug needs: the PATCH, and the watch until it runs."""
    pod = _pod(core, namespace)
    identity = JobIdentity(api, "evidence", namespace)
    try:
        env = bearer_token_env(api, identity.token(), str(tmp_path))
        check = _evidence(ansible, pod, namespace, tmp_path / "check", env=env, check=True, debug={"image": IMAGE},
                          include=["manifest"])
        name = check["would_collect"]["debug"]["container"]
        _serve_exec_only_in(api, namespace, pod, workdir, [name])
        result = _evidence(ansible, pod, namespace, tmp_path / "ev", env=env, debug={"image": IMAGE},
                           exec=[{"command": ["echo", "ok"], "name": "ok"}], include=["manifest"])
    finally:
        identity.delete()
    assert not result.get("failed"), result
    assert result["debug"]["added"] and result["items"]["exec"]["status"] == "ok", result
    assert _read(result["bundle"], "exec/01-ok.stdout") == "ok\n"


def test_quarantine_summary_investigate_lines_include_kubectl_debug(core, api, namespace, ansible, kubeconfig, context):
    """The quarantine playbook's summary (check mode: nothing changes) hands the kubectl debug line."""
    from k8s_helpers import create, deployment_body, wait_ready_pods
    create(api, namespace, deployment_body("shop", 2, {"app": "shop"}))
    pod = sorted(p.metadata.name for p in wait_ready_pods(core, namespace, 2, "app=shop"))[0]
    proc = ansible.playbook("triage.k8s.quarantine", extra_vars={
        "pod": "%s/%s" % (namespace, pod), "kubeconfig": kubeconfig, "context": context}, args=["--check"])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Investigate:" in out
    assert ("kubectl --context %s debug -it -n %s %s --image=busybox:1.36 --target=app --profile=general"
            % (context, namespace, pod)) in out, out
