#!/usr/bin/env python3
"""Benchmark: triage.k8s.pod_evidence, large-log streaming and one bundle vs the kubectl sequence.

    .venv/bin/python bench/evidence_bench.py [--log-mb 300] [--runs 5] [--cluster triage-a] [--json FILE]

On a local cluster (reused if up, else started and deleted at the end; a namespace of its own,
deleted at the end) it measures:

  1. Streaming a large log. A CRI-format log file of --log-mb MiB is written (in seconds: one
     1 MiB block of varied lines, repeated, with a secret-looking line every 1,000) and KWOK serves
     it as a pod's current log. The module process (run directly, without ansible-playbook) collects
     `logs` with redaction on and off; for comparison, the same module on a pod with a one-line log
     (its baseline memory) and `kubectl logs POD > file`. Peak RSS is the module process's own
     (wait4 ru_maxrss of that process alone). The big file and the bundles are deleted afterwards.
  2. One bundle vs the kubectl sequence people type today, on the same crash-looping pod (current
     and previous logs, an exec): describe, logs, logs --previous, get -o yaml, get events, exec -
     each a kubectl process, run one after another - vs one pod_evidence task (default items plus
     the same exec) through ansible-playbook, and the module process alone. Median of --runs.

kubectl is the version-matched one from hack/cluster/build.sh. --json writes both tables and
`playbook_vs_kubectl` (the bundle through ansible-playbook over the kubectl sequence, for
bench/summary.py). Not a test: nothing asserts.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "hack", "cluster"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
COLLECTIONS = os.path.join(REPO, ".build", "collections")

import localcluster  # noqa: E402
from kubernetes import client, config  # noqa: E402
from k8s_helpers import annotate_behavior, bare_pod, pod_ready, serve_exec, serve_logs, wait_list  # noqa: E402

MODULE = os.path.join(REPO, "plugins", "modules", "pod_evidence.py")
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


def measure(cmd, stdout_path, env=None):
    """Run cmd with stdout to a file; {wall, maxrss_kib, exit, cpu} of cmd alone (and its children)."""
    proc = subprocess.run([sys.executable, "-c", SPAWNER, json.dumps(cmd), stdout_path], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def module_cmd(tmp, args):
    path = os.path.join(tmp, "args-%s.json" % uuid.uuid4().hex[:8])
    with open(path, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    return [sys.executable, MODULE, path]


def module_env():
    return dict(os.environ, PYTHONPATH=COLLECTIONS)


def run_module(tmp, args):
    out = os.path.join(tmp, "module-out.json")
    usage = measure(module_cmd(tmp, args), out, env=module_env())
    with open(out) as handle:
        result = json.loads(handle.read())
    if result.get("failed"):
        raise SystemExit("module failed: %s" % result.get("msg"))
    return usage, result


def write_big_log(path, mib):
    """A CRI log of `mib` MiB: one 1 MiB block of distinct lines written again and again."""
    lines, size, i = [], 0, 0
    while size < 1024 * 1024:
        text = ("request id=%06d path=/api/orders/%d status=200 took=%dms" % (i, i * 7, i % 97)
                if i % 1000 else "login user=alice password=hunter2 from 10.0.0.%d" % (i % 250))
        line = "2026-01-01T00:00:%02d.%06d000Z stdout F %s\n" % (i // 100000 % 60, i % 1000000, text)
        lines.append(line)
        size += len(line)
        i += 1
    block = "".join(lines).encode()
    started = time.monotonic()
    with open(path, "wb") as handle:
        for _ in range(mib):
            handle.write(block)
    log("wrote %d MiB log in %.1fs" % (mib, time.monotonic() - started))


def make_pod(core, api, namespace, name, workdir, logs, crash=False):
    core.create_namespaced_pod(namespace, bare_pod(name, labels={"app": name}))
    wait_list(core.list_namespaced_pod, lambda ps: ps and pod_ready(ps[0]), timeout=60, what="%s running" % name,
              namespace=namespace, field_selector="metadata.name=%s" % name)
    serve_logs(api, namespace, name, workdir, logs)
    serve_exec(api, namespace, name, workdir)
    if crash:
        annotate_behavior(core, namespace, name, "crashloop")
        wait_list(core.list_namespaced_pod,
                  lambda ps: ps and any((c.restart_count or 0) >= 1 for c in ps[0].status.container_statuses or []),
                  timeout=60, what="%s restarted" % name, namespace=namespace, field_selector="metadata.name=%s" % name)


def big_log_part(core, api, namespace, workdir, tmp, auth, mib):
    make_pod(core, api, namespace, "tiny-log", workdir, {"app": (["hello"], [])})
    make_pod(core, api, namespace, "big-log", workdir, {"app": (["placeholder"], [])})
    big = os.path.join(workdir, "%s-big-log-app.log" % namespace)  # the file serve_logs pointed KWOK at
    write_big_log(big, mib)
    rows = {}
    dest = os.path.join(tmp, "bundles")
    for label, pod, redact in (("module, 1-line log (baseline)", "tiny-log", True),
                               ("module, %d MiB log, redaction on" % mib, "big-log", True),
                               ("module, %d MiB log, redaction off" % mib, "big-log", False)):
        usage, result = run_module(tmp, dict(auth, name=pod, namespace=namespace, dest=dest, include=["logs"],
                                             redact=redact, annotate=False))
        with open(os.path.join(result["bundle"], "manifest.json")) as handle:
            stream = json.load(handle)["items"]["logs"]["streams"][0]
        if "bytes" not in stream:  # the stream was not written (its status says why)
            log("%s: the log stream was not written: %s" % (label, json.dumps(stream)[:300]))
        rows[label] = dict(usage, bytes=stream.get("bytes", 0), stream_seconds=stream.get("seconds"))
        shutil.rmtree(result["bundle"])
        log("%s: %.1fs, peak RSS %d MiB" % (label, usage["wall"], usage["maxrss_kib"] // 1024))
    out = os.path.join(tmp, "kubectl-logs.txt")
    usage = measure([kubectl(), "--kubeconfig", auth["kubeconfig"], "--context", auth["context"], "-n", namespace,
                     "logs", "big-log"], out)
    rows["kubectl logs > file, %d MiB log" % mib] = dict(usage, bytes=os.path.getsize(out), stream_seconds=None)
    os.unlink(out)
    os.unlink(big)
    return rows


def kubectl():
    return os.path.join(localcluster.binaries(), "kubectl")


def kubectl_sequence(auth, namespace, pod, tmp):
    base = [kubectl(), "--kubeconfig", auth["kubeconfig"], "--context", auth["context"], "-n", namespace]
    steps = [["describe", "pod", pod], ["logs", pod], ["logs", pod, "--previous"], ["get", "pod", pod, "-o", "yaml"],
             ["get", "events", "--field-selector", "involvedObject.name=%s" % pod], ["exec", pod, "--", "cat", "diag.txt"]]
    wall, peak, cpu = 0.0, 0, 0.0
    for i, step in enumerate(steps):
        usage = measure(base + step, os.path.join(tmp, "kubectl-%d.out" % i))
        if usage["exit"] != 0:
            raise SystemExit("kubectl %s failed" % " ".join(step))
        wall, peak, cpu = wall + usage["wall"], max(peak, usage["maxrss_kib"]), cpu + usage["cpu"]
    return {"wall": wall, "maxrss_kib": peak, "cpu": cpu}


def playbook_run(auth, namespace, pod, tmp, dest):
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
             "vars": {"ansible_python_interpreter": sys.executable},
             "tasks": [{"triage.k8s.pod_evidence": dict(auth, name=pod, namespace=namespace, dest=dest,
                                                        exec=[{"command": ["cat", "diag.txt"]}])}]}]
    path = os.path.join(tmp, "play.json")
    with open(path, "w") as handle:
        json.dump(play, handle)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_LOCALHOST_WARNING="False",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", path]
    return measure(cmd, os.path.join(tmp, "playbook.out"), env=env)


def comparison_part(core, api, namespace, workdir, tmp, auth, runs):
    with open(os.path.join(workdir, "diag.txt"), "w") as handle:
        handle.write("Full thread dump\n" + "\"main\" #1 prio=5 RUNNABLE\n" * 200)
    make_pod(core, api, namespace, "crasher", workdir,
             {"app": (["line %d" % i for i in range(2000)], ["boom %d" % i for i in range(2000)])}, crash=True)
    dest = os.path.join(tmp, "cmp")
    results = {"kubectl sequence (6 processes)": [], "pod_evidence via ansible-playbook": [],
               "pod_evidence module process alone": []}
    for run in range(runs):
        results["kubectl sequence (6 processes)"].append(kubectl_sequence(auth, namespace, "crasher", tmp))
        results["pod_evidence via ansible-playbook"].append(playbook_run(auth, namespace, "crasher", tmp, dest))
        usage, result = run_module(tmp, dict(auth, name="crasher", namespace=namespace, dest=dest,
                                             exec=[{"command": ["cat", "diag.txt"]}]))
        results["pod_evidence module process alone"].append(usage)
        if run == 0:
            log("bundle: %d files, %d bytes, items %s" % (result["files"], result["size_bytes"],
                                                          json.dumps(dict((k, v["status"]) for k, v in
                                                                          result["items"].items()))))
    shutil.rmtree(dest, ignore_errors=True)
    return dict((label, {"wall": statistics.median(r["wall"] for r in rows),
                         "maxrss_kib": max(r["maxrss_kib"] for r in rows),
                         "cpu": statistics.median(r["cpu"] for r in rows)}) for label, rows in results.items())


def table(rows, with_bytes=False):
    head = "| run | wall (s) | CPU (s) | peak RSS (MiB) |" + (" log bytes | streaming (s) | MB/s |" if with_bytes else "")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for label, r in rows.items():
        line = "| %s | %.2f | %.2f | %.0f |" % (label, r["wall"], r["cpu"], r["maxrss_kib"] / 1024.0)
        if with_bytes:
            seconds = r["stream_seconds"] or r["wall"]  # kubectl: its whole run
            line += " %d | %.2f | %.0f |" % (r["bytes"], seconds, r["bytes"] / max(seconds, 0.001) / 1e6)
        lines.append(line)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--log-mb", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cluster", default=localcluster.DEFAULT_NAMES[0])
    parser.add_argument("--json")
    args = parser.parse_args()
    started_cluster = not (args.cluster in localcluster.existing_clusters() and localcluster.healthy(args.cluster))
    kubeconfig = localcluster.up([args.cluster])
    context = localcluster.context_name(args.cluster)
    auth = {"kubeconfig": kubeconfig, "context": context}
    api = config.new_client_from_config(config_file=kubeconfig, context=context, persist_config=False)
    core = client.CoreV1Api(api)
    namespace = "evidence-bench-%s" % uuid.uuid4().hex[:6]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    load_before = os.getloadavg()[0]
    tmp = tempfile.mkdtemp(prefix="evidence-bench-")
    workdir = os.path.join(tmp, "kwok-files")
    os.makedirs(workdir)
    try:
        big = big_log_part(core, api, namespace, workdir, tmp, auth, args.log_mb)
        cmp_rows = comparison_part(core, api, namespace, workdir, tmp, auth, args.runs)
    finally:
        core.delete_namespace(namespace, grace_period_seconds=0)
        shutil.rmtree(tmp, ignore_errors=True)
        if started_cluster:
            localcluster.down([args.cluster])
    print("\n%d CPUs; 1-minute load average %.1f before, %.1f after (other work on the machine slows wall times)"
          % (os.cpu_count(), load_before, os.getloadavg()[0]))
    print("\n## Large log (%d MiB), streamed to disk\n\n%s" % (args.log_mb, table(big, with_bytes=True)))
    print("\n## One bundle vs the kubectl sequence (median of %d runs; peak RSS: largest process)\n\n%s"
          % (args.runs, table(cmp_rows)))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"playbook_vs_kubectl": round(cmp_rows["pod_evidence via ansible-playbook"]["wall"]
                                                    / cmp_rows["kubectl sequence (6 processes)"]["wall"], 2),
                       "module_vs_kubectl": round(cmp_rows["pod_evidence module process alone"]["wall"]
                                                  / cmp_rows["kubectl sequence (6 processes)"]["wall"], 2),
                       "bundle": cmp_rows, "large_log": big, "log_mb": args.log_mb, "runs": args.runs,
                       "load_average": [load_before, os.getloadavg()[0]]}, handle, indent=1)


if __name__ == "__main__":
    main()
