"""Faults on a real control plane: a dedicated cluster whose API server a test kills and starts
again, and the test hook of plugins/module_utils/_k8s/api.py that holds a module at a chosen call.

Fixtures (tests/integration/conftest.py):
    fault_cluster    session: the FaultCluster `triage-fault` (started if needed, deleted at the
                     end when a test session started it and no other session still uses it)
    fault            per test: the same FaultCluster, held exclusively for the test (other test
                     sessions wait), its API server running at the start and again at the end
    fault_ansible    an AnsibleRunner (conftest) pointed at the fault cluster
    fault_namespace  a fresh namespace on the fault cluster

Example: the API server dies while pod_quarantine is held right after its label PATCH.

    def test_apiserver_dies_after_the_patch(fault, fault_ansible, fault_namespace, tmp_path):
        ...  # a Deployment in fault_namespace, its pod POD
        hook = Hook("pause:PATCH:pods:1", str(tmp_path / "hook"))
        run = background(fault_ansible.module, "triage.k8s.pod_quarantine",
                         {"name": POD, "namespace": fault_namespace}, env=hook.env)
        hook.wait_paused(120, run)      # fails at once if the module ended without pausing
        fault.kill_apiserver()
        hook.resume()
        time.sleep(3)                   # the module now meets "connection refused"
        fault.start_apiserver()
        result = run.result(timeout=300)
        assert result["changed"] is True  # the PATCH landed before the API server died

Killing is SIGKILL of the kube-apiserver process only: etcd, the controller manager, the
scheduler and KWOK keep running, so every object survives. start_apiserver() runs it again as
kwokctl ran it: the argv, environment and working directory recorded from /proc when the session
first saw it running, its log file and pid file.
"""

import concurrent.futures
import errno
import fcntl
import json
import os
import signal
import socket
import subprocess
import threading
import time
from urllib.parse import urlsplit

import localcluster
from k8s_helpers import wait_list
from kubernetes import client

NAME = "triage-fault"
HOOK_ENV = "TRIAGE_K8S_TEST_HOOK"
HOOK_DIR_ENV = "TRIAGE_K8S_TEST_HOOK_DIR"
# Written into the cluster directory when a test session created the cluster (so a later session
# may delete it); a cluster started by hand (localcluster.py up triage-fault) is left alone.
STARTED_MARKER = "started-by-test-session"


def _lock_path():
    return os.path.join(localcluster.state_dir(), NAME + ".lock")


def _users_dir():
    return os.path.join(localcluster.state_dir(), NAME + ".users")


def _pid_alive(pid):
    """True for a running process; a zombie (killed, not yet reaped) counts as gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


class _Lock(object):
    """An exclusive flock on the fault cluster, shared by every test session on this machine.

    Reentrant within this process (a fixture may take it while a test holds it: flock would
    otherwise block on the process's own lock)."""

    _depth = 0
    _guard = threading.Lock()

    def __init__(self, timeout=900):
        self.timeout = timeout
        self.handle = None

    def __enter__(self):
        with _Lock._guard:
            if _Lock._depth:
                _Lock._depth += 1
                return self
        self._acquire()
        with _Lock._guard:
            _Lock._depth += 1
        return self

    def _acquire(self):
        os.makedirs(localcluster.state_dir(), exist_ok=True)
        self.handle = open(_lock_path(), "a+")
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                self.handle.close()
                raise AssertionError("another test session held %s for %ss" % (_lock_path(), self.timeout))
            time.sleep(0.2)

    def __exit__(self, *exc):
        with _Lock._guard:
            _Lock._depth -= 1
            if self.handle is None:
                return  # a nested entry: the outer one unlocks
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
        self.handle = None


def _apiserver_pid():
    """The pid of the cluster's running kube-apiserver, or None."""
    marker = (localcluster.cluster_dir(NAME) + os.sep).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if os.path.basename(argv[0]) == b"kube-apiserver" and any(marker in a for a in argv) and _pid_alive(int(entry)):
            return int(entry)
    return None


def _launch_path():
    return os.path.join(localcluster.cluster_dir(NAME), "kube-apiserver.launch.json")


def _record_launch():
    """Save how kwokctl ran the API server (argv, environment, working directory), from /proc."""
    if os.path.exists(_launch_path()):
        return
    pid = _apiserver_pid()
    if pid is None:
        raise AssertionError("the API server of %s is not running: nothing to record" % NAME)
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        argv = [a.decode() for a in f.read().split(b"\0")[:-1]]
    with open("/proc/%d/environ" % pid, "rb") as f:
        env = dict(e.decode().split("=", 1) for e in f.read().split(b"\0") if b"=" in e)
    launch = {"argv": argv, "env": env, "cwd": os.readlink("/proc/%d/cwd" % pid)}
    handle = os.open(_launch_path(), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "w") as f:
        json.dump(launch, f)


def _start_apiserver(timeout):
    # Not `kwokctl start cluster`: it skips a component whose recorded pid still exists, and a
    # killed API server stays a zombie here (nothing reaps kwokctl's orphans), so it would start
    # nothing. Start it the way kwokctl did instead: same argv, environment and working directory,
    # output appended to its log, its pid file updated (kwokctl delete kills by that pid).
    if _apiserver_pid() is None:
        with open(_launch_path()) as f:
            launch = json.load(f)
        directory = localcluster.cluster_dir(NAME)
        with open(os.path.join(directory, "logs", "kube-apiserver.log"), "ab") as log:
            proc = subprocess.Popen(launch["argv"], env=launch["env"], cwd=launch["cwd"], stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=log, start_new_session=True)
        with open(os.path.join(directory, "pids", "kube-apiserver.pid"), "w") as f:
            f.write(str(proc.pid))
    deadline = time.monotonic() + timeout
    while not localcluster.healthy(NAME):
        if time.monotonic() >= deadline:
            raise AssertionError("the API server of %s was not ready %ss after starting it (see %s)" % (
                NAME, timeout, os.path.join(localcluster.cluster_dir(NAME), "logs", "kube-apiserver.log")))
        time.sleep(0.2)


class FaultCluster(object):
    """The cluster triage-fault: kubeconfig, context, an admin ApiClient (`api`), and its API
    server process to kill and start again."""

    def __init__(self, kubeconfig, api_client_factory):
        self.name = NAME
        self.kubeconfig = kubeconfig
        self.context = localcluster.context_name(NAME)
        self.api = api_client_factory(kubeconfig, self.context)
        self.server = self.api.configuration.host
        parts = urlsplit(self.server)
        self.address = (parts.hostname, parts.port)

    # -- session lifetime: shared by test sessions that run at the same time -----------------
    @classmethod
    def acquire(cls, api_client_factory):
        """Start (or reuse) the cluster and register this process as a user of it."""
        with _Lock():
            existed = NAME in localcluster.existing_clusters()
            if existed and not localcluster.healthy(NAME):
                # Left with its API server killed (an interrupted session): etcd still has the
                # objects other sessions made, so start the API server rather than recreate.
                try:
                    _start_apiserver(60)
                except Exception:  # up() below replaces the broken cluster
                    existed = False
            kubeconfig = localcluster.up([NAME])
            _record_launch()
            if not existed:
                open(os.path.join(localcluster.cluster_dir(NAME), STARTED_MARKER), "w").close()
            os.makedirs(_users_dir(), exist_ok=True)
            open(os.path.join(_users_dir(), str(os.getpid())), "w").close()
        return cls(kubeconfig, api_client_factory)

    def release(self):
        """Unregister; delete the cluster if a test session made it and nobody else uses it."""
        with _Lock():
            users = _users_dir()
            try:
                os.unlink(os.path.join(users, str(os.getpid())))
            except OSError:
                pass
            others = [p for p in os.listdir(users) if p.isdigit() and _pid_alive(int(p))] if os.path.isdir(users) else []
            if not others and os.path.exists(os.path.join(localcluster.cluster_dir(NAME), STARTED_MARKER)):
                localcluster.down([NAME])

    def exclusive(self):
        """Context manager: no other test session kills or uses this cluster meanwhile."""
        return _Lock()

    # -- the API server ----------------------------------------------------------------------
    def apiserver_pid(self):
        """The pid of this cluster's running kube-apiserver, or None."""
        return _apiserver_pid()

    def refuses_connections(self):
        try:
            socket.create_connection(self.address, timeout=2).close()
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
        return False

    def healthy(self):
        return localcluster.healthy(NAME)

    def kill_apiserver(self, timeout=30):
        """SIGKILL the API server; return once its port refuses connections."""
        pid = self.apiserver_pid()
        if pid is None:
            raise AssertionError("the API server of %s is not running" % NAME)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) or not self.refuses_connections():
            if time.monotonic() >= deadline:
                raise AssertionError("the API server of %s (pid %d) still answers %ss after SIGKILL" % (NAME, pid, timeout))
            time.sleep(0.05)
        return pid

    def start_apiserver(self, timeout=120):
        """Start the stopped API server as kwokctl ran it; return once /readyz says ok."""
        _start_apiserver(timeout)

    def ensure_up(self):
        if not self.healthy():
            self.start_apiserver()
        self.wait_schedulable()

    def wait_schedulable(self, timeout=120):
        """Wait until every node is Ready and carries no not-ready/unreachable taint. An API server
        down for a while lets the node lifecycle controller taint the nodes (their leases were not
        renewed); until KWOK's next heartbeat clears that, a new pod stays Pending."""
        def schedulable(nodes):
            for node in nodes:
                ready = [c for c in node.status.conditions or [] if c.type == "Ready"]
                tainted = [t for t in node.spec.taints or [] if t.key in (
                    "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")]
                if not ready or ready[0].status != "True" or tainted:
                    return False
            return bool(nodes)

        wait_list(client.CoreV1Api(self.api).list_node, schedulable, timeout=timeout, what="schedulable nodes on %s" % NAME)

    def metrics(self):
        """The API server's /metrics text, read with the admin client certificate."""
        return localcluster._get(NAME, "/metrics", timeout=30)[1].decode()


def metric_sum(text, name, **labels):
    """Sum of the samples of metric `name` whose labels include `labels` (Prometheus text)."""
    total = 0.0
    want = ['%s="%s"' % (k, v) for k, v in labels.items()]
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        series, _sep, value = line.rpartition(" ")
        if all(w in series for w in want):
            total += float(value)
    return total


class Hook(object):
    """The kube.py test hook: env for a module run, and the pause/resume handshake.

    spec is e.g. "pause:PATCH:pods:1" or "drop:DELETE:pods:2" (several joined by ";"). The
    module creates <directory>/paused when it pauses and goes on once <directory>/resume exists.
    """

    def __init__(self, spec, directory):
        self.spec = spec
        self.directory = directory
        os.makedirs(directory, exist_ok=True)

    @property
    def env(self):
        """Extra environment for AnsibleRunner.module(..., env=hook.env) or playbook(..., env=...)."""
        return {HOOK_ENV: self.spec, HOOK_DIR_ENV: self.directory}

    def paused(self):
        return os.path.exists(os.path.join(self.directory, "paused"))

    def wait_paused(self, timeout=120, run=None):
        """Wait until the module has paused. With `run` (the Future of the module run) a run that
        ends without pausing fails at once, showing its result."""
        deadline = time.monotonic() + timeout
        while not self.paused():
            if run is not None and run.done():
                raise AssertionError("the module ended without pausing at %s: %r" % (self.spec, run.result()))
            if time.monotonic() >= deadline:
                raise AssertionError("the module did not pause at %s within %ss" % (self.spec, timeout))
            time.sleep(0.05)

    def resume(self):
        open(os.path.join(self.directory, "resume"), "w").close()


def background(fn, *args, **kwargs):
    """Run fn(*args, **kwargs) in a daemon thread; a concurrent.futures.Future of its result."""
    future = concurrent.futures.Future()

    def run():
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to whoever calls future.result()
            future.set_exception(exc)
    threading.Thread(target=run, daemon=True).start()
    return future
