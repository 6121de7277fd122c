"""A real S3 server for the storage tests: the Versity S3 Gateway (versitygw, Apache-2.0, pinned in
hack/cluster/versions.env and built by hack/versitygw/build.sh) serving a local directory on 127.0.0.1.

    server = S3Server(workdir); server.start()
    bucket = server.make_bucket()          # a fresh bucket
    server.storage(bucket, prefix="ev")    # the modules' `storage` option for it
    server.client().head_object(...)       # boto3, to check what landed
    server.stop(); server.start()          # the same data, the same port: a store that went away and came back

Buckets are directories under <workdir>/data; the root user's keys are random per server.
"""

import os
import secrets
import signal
import socket
import subprocess
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(REPO, "hack", "versitygw", "build.sh")
REGION = "us-east-1"


def binary():
    """The versitygw binary (built once into the cache, then reused)."""
    proc = subprocess.run([BUILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("hack/versitygw/build.sh failed:\n%s" % proc.stderr[-3000:])
    return os.path.join(proc.stdout.strip().splitlines()[-1], "versitygw")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server(object):
    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.data = os.path.join(self.workdir, "data")
        self.log_path = os.path.join(self.workdir, "versitygw.log")
        self.access_key = "TRIAGE" + secrets.token_hex(7).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self.region = REGION
        self.port = None
        self.proc = None

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self, timeout=30):
        path = binary()
        os.makedirs(self.data, exist_ok=True)
        self.port = self.port or _free_port()
        # The keys go through the environment (ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY), not argv.
        env = dict(os.environ, ROOT_ACCESS_KEY_ID=self.access_key, ROOT_SECRET_ACCESS_KEY=self.secret_key)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [path, "--port", "127.0.0.1:%d" % self.port, "--region", self.region, "--quiet", "posix", self.data],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("versitygw exited with %s; see %s" % (self.proc.returncode, self.log_path))
            try:
                self.client().list_buckets()
                return self
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.1)
        raise RuntimeError("versitygw did not answer on %s within %ss; see %s" % (self.endpoint, timeout, self.log_path))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def client(self, secret_key=None, **config):
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=self.access_key, aws_secret_access_key=secret_key or self.secret_key,
                            config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30,
                                          s3={"addressing_style": "path"}, **config))

    def make_bucket(self, name=None):
        name = name or "triage-" + uuid.uuid4().hex[:12]
        self.client().create_bucket(Bucket=name)
        return name

    def storage(self, bucket, **extra):
        """The modules' `storage` option for bucket on this server."""
        out = {"bucket": bucket, "endpoint_url": self.endpoint, "region": self.region,
               "access_key": self.access_key, "secret_key": self.secret_key}
        out.update(extra)
        return out

    def env(self):
        """The AWS_* variables that point boto3 at this server (what an AWX credential would inject)."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_REGION": self.region, "AWS_ENDPOINT_URL": self.endpoint}

    def objects(self, bucket, prefix=""):
        """{key: size} of every object under prefix."""
        out = {}
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                out[item["Key"]] = item["Size"]
        return out
