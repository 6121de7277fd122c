#!/usr/bin/env python3
"""Benchmark: triage.k8s.evidence_upload, memory of a multipart upload against the file's size.

    .venv/bin/python bench/upload_bench.py [--sizes 1,64,256] [--part-size 8] [--runs 1]

Starts a real S3 server (versitygw, pinned and built by hack/versitygw/build.sh, as the integration tests
do: tests/integration/s3server.py) on 127.0.0.1 with its data in a temporary directory, writes files of
each size (MiB, random bytes, in 1 MiB blocks), and runs the module process directly (`python
plugins/modules/evidence_upload.py args.json`, no ansible-playbook) to upload each one: hashed once
(full sha256 and the part digests), uploaded with boto3's transfer manager (multipart from --part-size
MiB up, at most 4 parts in flight) and read back (HEAD with ChecksumMode, compared with the composite
checksum). A second run of the same upload is the idempotent case (HEAD only: `present`).

Peak RSS is the module process's own (wait4 ru_maxrss, from a small spawner process). Bounded memory
means the 256 MiB row is close to the 64 MiB row (both about the 1 MiB row plus parts in flight), not
four times it. Not a test: nothing asserts. Everything is deleted at the end.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
COLLECTIONS = os.path.join(REPO, ".build", "collections")
MODULE = os.path.join(REPO, "plugins", "modules", "evidence_upload.py")
MIB = 1024 * 1024

from s3server import S3Server  # noqa: E402

# Runs a command from a small process, so ru_maxrss is that command's own peak: a child forked from
# this (larger) Python process would inherit our high-water mark.
SPAWNER = r"""
import json, os, sys, time
cmd, out = json.loads(sys.argv[1]), sys.argv[2]
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
started = time.monotonic()
pid = os.fork()
if pid == 0:
    os.dup2(fd, 1)
    os.execvp(cmd[0], cmd)
_pid, status, usage = os.wait4(pid, 0)
print(json.dumps({"wall": time.monotonic() - started, "maxrss_kib": usage.ru_maxrss,
                  "exit": os.waitstatus_to_exitcode(status), "cpu": usage.ru_utime + usage.ru_stime}))
"""


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def run_module(tmp, args):
    """{wall, maxrss_kib, exit, cpu} of the module process and its result."""
    path = os.path.join(tmp, "args-%s.json" % uuid.uuid4().hex[:8])
    with open(path, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    out = os.path.join(tmp, "module-out.json")
    proc = subprocess.run([sys.executable, "-c", SPAWNER, json.dumps([sys.executable, MODULE, path]), out],
                          env=dict(os.environ, PYTHONPATH=COLLECTIONS), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, check=True)
    usage = json.loads(proc.stdout.strip().splitlines()[-1])
    with open(out) as handle:
        result = json.loads(handle.read())
    if result.get("failed"):
        raise SystemExit("module failed: %s" % result.get("msg"))
    return usage, result


def write_file(path, mib):
    with open(path, "wb") as handle:
        for _i in range(mib):
            handle.write(os.urandom(MIB))


def table(rows):
    lines = ["| upload | size (MiB) | parts | wall (s) | CPU (s) | peak RSS (MiB) | MB/s |", "|---|---|---|---|---|---|---|"]
    for label, mib, parts, r in rows:
        lines.append("| %s | %d | %s | %.2f | %.2f | %.0f | %.0f |" % (
            label, mib, parts, r["wall"], r["cpu"], r["maxrss_kib"] / 1024.0, mib * MIB / max(r["wall"], 0.001) / 1e6))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--sizes", default="1,64,256", help="file sizes in MiB, comma-separated")
    parser.add_argument("--part-size", type=int, default=8, help="storage.part_size in MiB")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    tmp = tempfile.mkdtemp(prefix="upload-bench-")
    server = S3Server(os.path.join(tmp, "s3"))
    rows = []
    try:
        server.start()
        bucket = server.make_bucket()
        for mib in sizes:
            path = os.path.join(tmp, "log-%d.bin" % mib)
            log("writing %d MiB" % mib)
            write_file(path, mib)
            storage = server.storage(bucket, part_size=args.part_size)
            log("uploading %d MiB" % mib)
            usage, result = run_module(tmp, {"src": [path], "storage": storage, "key_prefix": "bench"})
            head = server.client().head_object(Bucket=bucket, Key=result["objects"][0]["key"], ChecksumMode="ENABLED")
            parts = head["ChecksumSHA256"].rsplit("-", 1)[1] if "-" in head["ChecksumSHA256"] else "1 (one PUT)"
            rows.append(("upload", mib, parts, usage))
            usage, result = run_module(tmp, {"src": [path], "storage": storage, "key_prefix": "bench"})
            assert result["objects"][0]["status"] == "present", result
            rows.append(("again (present)", mib, "-", usage))
            os.unlink(path)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()[0]
    print("\n%d CPUs; 1-minute load average %.1f (other work on the machine slows wall times)" % (os.cpu_count(), load))
    print("\n## evidence_upload to versitygw on 127.0.0.1, part_size %d MiB (module process alone)\n\n%s"
          % (args.part_size, table(rows)))


if __name__ == "__main__":
    main()
