"""A real Alertmanager (github.com/prometheus/alertmanager, pinned in hack/cluster/versions.env and
built by hack/alertmanager/build.sh) on 127.0.0.1, for the tests of the alertmanager event source.

    with Alertmanager(workdir, webhook_url, token="...") as am:
        am.post_alerts([alert(...)])      # POST /api/v2/alerts, exactly as Prometheus does
        am.alerts()                      # GET /api/v2/alerts

One webhook receiver gets every alert, grouped by alertname/namespace/pod, with short group_wait,
group_interval and repeat_interval so a test sees the first notification within a second or two
and a repeat a few seconds later. Gossip (HA clustering) is off: no other port is opened.
"""

import datetime
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(REPO, "hack", "alertmanager", "build.sh")


def binaries():
    """The directory holding alertmanager and amtool (built once into the cache, then reused)."""
    proc = subprocess.run([BUILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("hack/alertmanager/build.sh failed:\n%s" % proc.stderr[-3000:])
    return proc.stdout.strip().splitlines()[-1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rfc3339(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def alert(labels, annotations=None, starts_at=None, ends_at=None):
    """An alert as Prometheus posts it: endsAt a few evaluation intervals ahead while it fires
    (Prometheus renews it on every evaluation), or now when it stopped firing."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return {"labels": dict(labels), "annotations": dict(annotations or {}),
            "startsAt": rfc3339(starts_at or now), "endsAt": rfc3339(ends_at or now + datetime.timedelta(minutes=4)),
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=increase%28kube_pod_container_status_restarts_total%5B10m%5D%29"}


class Alertmanager(object):
    def __init__(self, workdir, webhook_url, token="", group_wait="1s", group_interval="2s", repeat_interval="4s"):
        self.workdir = str(workdir)
        self.webhook_url, self.token = webhook_url, token
        self.intervals = (group_wait, group_interval, repeat_interval)
        self.port = None
        self.proc = None
        self.log_path = os.path.join(self.workdir, "alertmanager.log")

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def config(self):
        webhook = {"url": self.webhook_url, "send_resolved": True, "max_alerts": 0}
        if self.token:
            webhook["http_config"] = {"authorization": {"type": "Bearer", "credentials": self.token}}
        group_wait, group_interval, repeat_interval = self.intervals
        return {"route": {"receiver": "triage", "group_by": ["alertname", "namespace", "pod"],
                          "group_wait": group_wait, "group_interval": group_interval, "repeat_interval": repeat_interval},
                "receivers": [{"name": "triage", "webhook_configs": [webhook]}]}

    def start(self, timeout=30):
        bin_dir = binaries()
        os.makedirs(self.workdir, exist_ok=True)
        config = os.path.join(self.workdir, "alertmanager.yml")
        with open(config, "w") as f:
            yaml.safe_dump(self.config(), f)
        check = subprocess.run([os.path.join(bin_dir, "amtool"), "check-config", config],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        if check.returncode != 0:
            raise AssertionError("amtool check-config refused the test's config:\n%s" % check.stdout)
        self.port = free_port()
        cmd = [os.path.join(bin_dir, "alertmanager"), "--config.file=" + config,
               "--storage.path=" + os.path.join(self.workdir, "data"),
               "--web.listen-address=127.0.0.1:%d" % self.port, "--cluster.listen-address=", "--log.level=debug"]
        log = open(self.log_path, "w")
        try:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        finally:
            log.close()
        deadline = time.time() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise AssertionError("Alertmanager did not become ready (rc %s):\n%s" % (self.proc.poll(), self.tail()))
            time.sleep(0.2)

    def _request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read().decode() or "null"
            return resp.status, json.loads(text)

    def post_alerts(self, alerts):
        """POST /api/v2/alerts, what Prometheus does on every evaluation of a firing rule."""
        status, _body = self._request("POST", "/api/v2/alerts", list(alerts))
        assert status == 200, status

    def alerts(self):
        return self._request("GET", "/api/v2/alerts")[1]

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def tail(self, lines=60):
        return "\n".join(self.log().splitlines()[-lines:])

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(wait)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
