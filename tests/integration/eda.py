"""Run ansible-rulebook as a user would, for the tests of the EDA rulebooks and event sources.

    with Rulebook("triage.k8s.auto_quarantine", tmp_path, variables={...}) as rb:
        rb.wait_for_log("watching", timeout=60)
        ...
        events = rb.events()          # every event the rulebook received (--print-events), parsed

A Rulebook is `ansible-rulebook -r RULEBOOK -i INVENTORY --vars VARS --print-events` in a new
process group, with ANSIBLE_COLLECTIONS_PATH pointing at the collection (.build/collections, as
`make venv` links it), JAVA_HOME set (Java 17 for drools-jpy), the virtualenv first on PATH (the
ansible-playbook that run_playbook starts) and its output in a log file. stop() ends the whole
process group (the playbooks it started too): SIGINT, then SIGTERM, then SIGKILL; the `rulebook`
fixture of test files calls it at teardown, also when the test failed, and prints the log tail.
"""

import ast
import os
import re
import signal
import subprocess
import sys
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, ".build", "collections")
BIN = os.path.dirname(sys.executable)
# drools-jpy needs a Java 17+ JDK. JAVA_HOME wins when it points at a JDK; else Debian's openjdk-17.
JAVA_HOMES = ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/java-17-openjdk-arm64", "/usr/lib/jvm/java-17-openjdk")
_EVENT_BLOCK = re.compile(r"\[received event\] \*+\nRuleset: [^\n]*\nEvent:\n(.*?)\n\*{20,}", re.S)


def java_home():
    given = os.environ.get("JAVA_HOME")
    for home in ([given] if given else []) + list(JAVA_HOMES):
        if home and os.path.exists(os.path.join(home, "bin", "java")):
            return home
    raise RuntimeError("no Java 17 JDK: set JAVA_HOME (Debian: apt-get install openjdk-17-jdk-headless)")


def read_log(path):
    """A process's log so far ("" before it exists); for eda.py and the other process harnesses."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def rulebook_bin():
    path = os.path.join(BIN, "ansible-rulebook")
    if not os.path.exists(path):
        raise RuntimeError("ansible-rulebook is not installed in %s: run make venv" % BIN)
    return path


class Rulebook(object):
    """One ansible-rulebook process. rulebook: a path or a collection FQCN (triage.k8s.auto_quarantine)."""

    def __init__(self, rulebook, workdir, variables=None, env=None, args=()):
        self.rulebook, self.workdir = str(rulebook), str(workdir)
        self.variables, self.extra_env, self.args = dict(variables or {}), dict(env or {}), list(args)
        self.proc = None
        self.started_at = None
        self.log_path = os.path.join(self.workdir, "ansible-rulebook-%d.log" % id(self))

    def env(self):
        env = dict(os.environ)
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
            "JAVA_HOME": java_home(),
            "PATH": BIN + os.pathsep + env.get("PATH", ""),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        return env

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        inventory = os.path.join(self.workdir, "inventory.yml")
        with open(inventory, "w") as f:
            yaml.safe_dump({"all": {"hosts": {"localhost": {"ansible_connection": "local",
                                                            "ansible_python_interpreter": sys.executable}}}}, f)
        variables = os.path.join(self.workdir, "rulebook-vars.yml")
        with open(variables, "w") as f:
            yaml.safe_dump(self.variables, f)
        cmd = [rulebook_bin(), "-r", self.rulebook, "-i", inventory, "--vars", variables, "--print-events"] + self.args
        log = open(self.log_path, "w")
        try:
            self.proc = subprocess.Popen(cmd, env=self.env(), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()
        self.started_at = time.time()
        return self

    def log(self):
        return read_log(self.log_path)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def events(self):
        """The triage events received so far (source events, not ansible-rulebook's own), in order."""
        found = []
        for block in _EVENT_BLOCK.findall(self.log()):
            try:
                event = ast.literal_eval(block)
            except (ValueError, SyntaxError):
                continue  # Shutdown(...) and other non-literal entries
            if isinstance(event, dict) and "triage" in event:
                found.append(event)
        return found

    def wait_for(self, predicate, timeout, what, interval=0.5):
        """Poll predicate(self) until truthy; fail with the log tail when the process ends or time is up."""
        deadline = time.time() + timeout
        while True:
            value = predicate(self)
            if value:
                return value
            if not self.running():
                raise AssertionError("ansible-rulebook ended (rc %s) while waiting for %s:\n%s"
                                     % (self.proc.returncode if self.proc else None, what, self.tail()))
            if time.time() >= deadline:
                raise AssertionError("timed out after %ss waiting for %s:\n%s" % (timeout, what, self.tail()))
            time.sleep(interval)

    def wait_for_log(self, text, timeout=90):
        return self.wait_for(lambda rb: text in rb.log(), timeout, repr(text))

    def tail(self, lines=80):
        return "\n".join(self.log().splitlines()[-lines:])

    def stop(self, timeout=20):
        """End ansible-rulebook and everything it started (its process group). Returns the return code."""
        if self.proc is None:
            return None
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # children left behind (a playbook still running)
        except (ProcessLookupError, PermissionError):
            pass
        return self.proc.poll()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def rulebook_factory(workdir):
    """(make, stop_all) for a fixture: make(...) -> a started Rulebook; stop_all() stops them and
    prints each log's tail (shown by pytest when the test failed)."""
    made = []

    def make(rulebook, variables=None, env=None, args=(), subdir=None):
        rb = Rulebook(rulebook, os.path.join(str(workdir), subdir or "rulebook-%d" % len(made)), variables, env, args)
        made.append(rb)
        return rb.start()

    def stop_all():
        for rb in made:
            rc = rb.stop()
            print("---- ansible-rulebook %s (rc %s), log %s:\n%s" % (rb.rulebook, rc, rb.log_path, rb.tail(200)))
    return make, stop_all
