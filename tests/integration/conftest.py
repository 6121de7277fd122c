"""Integration fixtures: real local clusters (kube-apiserver, controller-manager, scheduler,
etcd, KWOK as the kubelet) and helpers to run the collection's modules and playbooks on them.

Clusters come from hack/cluster/localcluster.py. A healthy cluster left up by `make cluster-up`
or `make test` is reused; one this session had to start is deleted again at the end.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
import yaml
from kubernetes import client, config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "hack", "cluster"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import localcluster  # noqa: E402  (hack/cluster is not a package)
from k8s_helpers import JobIdentity  # noqa: E402
from receiver import running as _receiver_running  # noqa: E402

CLUSTER_NAMES = list(localcluster.DEFAULT_NAMES)
CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")


def _sigterm_as_interrupt(signum, frame):
    # pytest runs fixture finalizers on KeyboardInterrupt, so a killed run still tears down.
    raise KeyboardInterrupt()


@pytest.fixture(scope="session")
def clusters():
    """{'kubeconfig': path, 'contexts': [kwok-triage-a, kwok-triage-b]}."""
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    before = set(n for n in localcluster.existing_clusters() if localcluster.healthy(n))
    started = [n for n in CLUSTER_NAMES if n not in before]
    kubeconfig = localcluster.up(CLUSTER_NAMES)
    try:
        yield {"kubeconfig": kubeconfig, "contexts": [localcluster.context_name(n) for n in CLUSTER_NAMES]}
    finally:
        if started:
            localcluster.down(started)


@pytest.fixture(scope="session")
def kubeconfig(clusters):
    return clusters["kubeconfig"]


@pytest.fixture(scope="session")
def context(clusters):
    return clusters["contexts"][0]


def api_client_for(kubeconfig, context):
    return config.new_client_from_config(config_file=kubeconfig, context=context, persist_config=False)


@pytest.fixture(scope="session")
def api(kubeconfig, context):
    return api_client_for(kubeconfig, context)


@pytest.fixture(scope="session")
def core(api):
    return client.CoreV1Api(api)


@pytest.fixture(scope="session")
def apps(api):
    return client.AppsV1Api(api)


def namespace_name(prefix, request):
    """A valid, unique namespace name for a test: prefix, the test's name, a random tail."""
    name = "%s-%s-%s" % (prefix, request.node.name[:30].lower().replace("_", "-"), uuid.uuid4().hex[:5])
    return "".join(ch for ch in name if ch.isalnum() or ch == "-")[:63].strip("-")


@contextlib.contextmanager
def fresh_namespace(core, request, prefix):
    """Create a namespace for one test and delete it afterwards (without waiting for it to go)."""
    name = namespace_name(prefix, request)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        try:
            core.delete_namespace(name, grace_period_seconds=0, propagation_policy="Background")
        except client.ApiException:
            pass


@pytest.fixture
def namespace(core, request):
    """A fresh namespace per test, deleted afterwards (without waiting for it to go)."""
    with fresh_namespace(core, request, "t") as name:
        yield name


class Background:
    """A module task running under ansible-playbook (AnsibleRunner.module_in_background)."""

    def __init__(self, proc):
        self.proc = proc
        self.result = None

    def wait_for(self, predicate, timeout, what):
        """Poll predicate() while the task runs; fail if the task ends first or timeout passes."""
        deadline = time.monotonic() + timeout
        while not predicate():
            assert self.proc.poll() is None, "the task ended before %s" % what
            assert time.monotonic() < deadline, "timed out waiting for %s" % what
            time.sleep(0.02)


class AnsibleRunner:
    """Runs modules and playbooks of the collection with ansible-playbook, as a user would."""

    def __init__(self, kubeconfig, context, tmpdir):
        self.kubeconfig = kubeconfig
        self.context = context
        self.tmpdir = tmpdir

    def env(self, extra=None):
        env = dict(os.environ)
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".build", "collections"),
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        })
        env.update(extra or {})
        return env

    def results_env(self, path, env=None):
        """env for a run whose registered results callback_plugins/triage_test_results.py writes
        to path, as {register name: result}: no second task (a copy of `{{ result | to_json }}`
        cost about a second of CPU per call)."""
        merged = dict(env or {})
        merged["TRIAGE_TEST_RESULTS"] = path
        merged["ANSIBLE_CALLBACK_PLUGINS"] = ":".join(p for p in (CALLBACKS, merged.get("ANSIBLE_CALLBACK_PLUGINS")) if p)
        merged["ANSIBLE_CALLBACKS_ENABLED"] = ",".join(
            p for p in ("triage_test_results", merged.get("ANSIBLE_CALLBACKS_ENABLED")) if p)
        return merged

    def _module_play(self, name, args, check=False, diff=False, auth=True):
        """A play of one module task registered as `result`; (play, path its result is saved to)."""
        args = dict(args or {})
        if auth:
            args.setdefault("kubeconfig", self.kubeconfig)
            args.setdefault("context", self.context)
        out = os.path.join(self.tmpdir, "result-%s.json" % uuid.uuid4().hex)
        task = {"name": "under test", name: args, "register": "result", "ignore_errors": True}
        if check:
            task["check_mode"] = True
        if diff:
            task["diff"] = True
        play = [{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": [task]}]
        return play, out

    @staticmethod
    def saved_results(out, what, output):
        """{register name: result} a run with results_env(out) saved."""
        if not os.path.exists(out):
            raise AssertionError("%s produced no result:\n%s" % (what, output))
        with open(out) as f:
            return json.load(f)

    def _saved_result(self, name, out, output):
        return self.saved_results(out, "module %s" % name, output)["result"]

    def module(self, name, args=None, check=False, diff=False, auth=True, env=None):
        """Run one module task; return its registered result (failures included)."""
        play, out = self._module_play(name, args, check, diff, auth)
        proc = self.playbook_content(play, env=self.results_env(out, env))
        return self._saved_result(name, out, proc.stdout + proc.stderr)

    @contextlib.contextmanager
    def module_in_background(self, name, args=None, auth=True, env=None, timeout=300):
        """Start one module task under ansible-playbook and yield a Background while it runs, so the
        test can act on the world meanwhile (stop a server, say); leaving the block waits for the
        task and sets the Background's result."""
        play, out = self._module_play(name, args, auth=auth)
        path = self._write_play(play)
        proc = subprocess.Popen(self._command(path), env=self.env(self.results_env(out, env)), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, cwd=self.tmpdir, start_new_session=True)
        run = Background(proc)
        try:
            yield run
            output = proc.communicate(timeout=timeout)[0]
            run.result = self._saved_result(name, out, output.decode(errors="replace"))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def _write_play(self, play):
        path = os.path.join(self.tmpdir, "play-%s.yml" % uuid.uuid4().hex)
        with open(path, "w") as f:
            yaml.safe_dump(play, f)
        return path

    @staticmethod
    def _command(path, inventory="localhost,"):
        return [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, path]

    def playbook_content(self, play, extra_vars=None, env=None, args=()):
        return self.playbook(self._write_play(play), extra_vars=extra_vars, env=env, args=args)

    def playbook(self, path, extra_vars=None, env=None, args=(), inventory="localhost,"):
        cmd = self._command(path, inventory)
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        cmd += list(args)
        return subprocess.run(cmd, env=self.env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=600, cwd=self.tmpdir, check=False)


@pytest.fixture
def ansible(kubeconfig, context, tmp_path):
    return AnsibleRunner(kubeconfig, context, str(tmp_path))


@pytest.fixture(scope="session")
def kubectl_bin():
    """kubectl as an independent observer: the one built beside the control plane, else PATH."""
    bindir = localcluster.binaries()
    path = os.path.join(bindir, "kubectl")
    if os.path.exists(path):
        return path
    found = subprocess.run(["which", "kubectl"], stdout=subprocess.PIPE, text=True, check=False).stdout.strip()
    return found or None


@pytest.fixture
def kubectl(kubectl_bin, kubeconfig, context):
    def run(*args, check=True, ctx=None):
        if not kubectl_bin:
            pytest.fail("kubectl is not available (neither built nor on PATH)")
        proc = subprocess.run([kubectl_bin, "--kubeconfig", kubeconfig, "--context", ctx or context] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("kubectl %s failed: %s" % (" ".join(args), proc.stderr))
        return proc
    return run


@pytest.fixture
def identities(api):
    """identities(job, namespace, without=...) -> a ServiceAccount bound to docs/rbac/<job>.yaml
    (minus the verbs left out), with a token; every one made is deleted after the test."""
    made = []

    def make(job, namespace, **kwargs):
        identity = JobIdentity(api, job, namespace, **kwargs)
        made.append(identity)
        return identity
    yield make
    for identity in made:
        identity.delete()


@pytest.fixture
def workdir(tmp_path):
    """A directory for files the simulated kubelet serves (log files for KWOK Logs objects)."""
    d = tempfile.mkdtemp(prefix="kwok-files-", dir=str(tmp_path))
    return d


# -- faults: the cluster triage-fault whose API server tests kill (tests/integration/faults.py) --

@pytest.fixture(scope="session")
def fault_cluster():
    """The FaultCluster triage-fault, shared with other test sessions running at the same time."""
    import faults
    cluster = faults.FaultCluster.acquire(api_client_for)
    try:
        yield cluster
    finally:
        cluster.release()


@pytest.fixture
def fault(fault_cluster):
    """fault_cluster held by this test alone, its API server up at the start and at the end."""
    with fault_cluster.exclusive():
        fault_cluster.ensure_up()
        try:
            yield fault_cluster
        finally:
            fault_cluster.ensure_up()


@pytest.fixture
def fault_ansible(fault, tmp_path):
    return AnsibleRunner(fault.kubeconfig, fault.context, str(tmp_path))


@pytest.fixture
def fault_namespace(fault, request):
    """A fresh namespace on the fault cluster, deleted afterwards."""
    core = client.CoreV1Api(fault.api)
    with fresh_namespace(core, request, "f") as name:
        yield name
        fault.ensure_up()  # a failed test may have left the API server down


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    """A real S3 server (versitygw) on 127.0.0.1 for the whole session: tests/integration/s3server.py.
    A test that stops it starts it again (same port and data); one that must break it takes fresh_s3."""
    from s3server import S3Server
    server = S3Server(tmp_path_factory.mktemp("s3")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_s3(tmp_path):
    """An S3 server of this test's own, to stop, restart or fill as it likes."""
    from s3server import S3Server
    server = S3Server(tmp_path / "s3").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3):
    """A fresh, empty bucket on the session's S3 server."""
    if s3.proc is None:
        s3.start()
    return s3.make_bucket()


@pytest.fixture
def receiver():
    """A local HTTP receiver (tests/integration/receiver.py) that records every request:
    .url, .requests, .fail_next(n, status, retry_after), .wait(n)."""
    with _receiver_running() as server:
        yield server
