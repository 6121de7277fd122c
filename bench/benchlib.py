"""Shared by the bench scripts: measuring one command in a child, interleaved rounds, medians,
ansible-playbook as a user runs it, and the API server's background request rate.

Developer tooling, not shipped (build_ignore). Nothing here asserts: it measures.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, ".build", "collections")

# Runs argv from a small fresh process (a child forked from a large Python process would report
# that process's memory as its own peak) and prints {wall, cpu, maxrss_kb, rc} of that child and
# its descendants (ansible-playbook's workers and the module process): CPU is their sum, peak RSS
# the largest single process.
WRAPPER = r"""
import json, resource, subprocess, sys, time
out = open(sys.argv[1], "wb")
started = time.monotonic()
rc = subprocess.call(sys.argv[2:], stdout=out)
wall = time.monotonic() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss, "rc": rc}))
"""


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def collection_importable():
    """Make `ansible_collections.triage.k8s` importable (the repository is the collection)."""
    link = os.path.join(COLLECTIONS, "ansible_collections", "triage", "k8s")
    if not os.path.lexists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    if COLLECTIONS not in sys.path:
        sys.path.insert(0, COLLECTIONS)


def measure(argv, env=None):
    """Run argv under the wrapper; return ({wall, cpu, maxrss_kb, rc}, stdout bytes of argv)."""
    with tempfile.NamedTemporaryFile(prefix="bench-out-", delete=False) as out:
        path = out.name
    try:
        proc = subprocess.run([sys.executable, "-c", WRAPPER, path] + list(argv), stdout=subprocess.PIPE,
                              text=True, env=env, check=True)
        with open(path, "rb") as f:
            output = f.read()
    finally:
        os.unlink(path)
    stats = json.loads(proc.stdout)
    if stats["rc"] != 0:
        raise SystemExit("bench: %s exited %d: %s" % (argv[0], stats["rc"], output[-3000:]))
    return stats, output


def interleaved(contenders, repeat, on_output=None):
    """Run every contender once per round, `repeat` rounds, the order rotated each round, so
    that a change of the machine's load hits every contender alike. contenders: [(name, argv,
    env)]. Returns {name: [stats]}; on_output(name, stats, output) sees each run."""
    runs = dict((name, []) for name, unused, unused2 in contenders)
    for round_index in range(repeat):
        shift = round_index % len(contenders)
        for name, argv, env in contenders[shift:] + contenders[:shift]:
            stats, output = measure(argv, env)
            runs[name].append(stats)
            if on_output:
                on_output(name, stats, output)
            log("%-20s run %d: %.2fs, cpu %.2fs, %.0f MiB"
                % (name, round_index + 1, stats["wall"], stats["cpu"], stats["maxrss_kb"] / 1024.0))
    return runs


def summary_row(name, runs):
    return {"contender": name, "runs": len(runs),
            "wall_median_s": round(statistics.median(r["wall"] for r in runs), 2),
            "wall_min_s": round(min(r["wall"] for r in runs), 2),
            "cpu_median_s": round(statistics.median(r["cpu"] for r in runs), 2),
            "peak_rss_mib": round(max(r["maxrss_kb"] for r in runs) / 1024.0, 1)}


def ansible_env(extra=None):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False", ANSIBLE_NOCOLOR="1")
    env.update(extra or {})
    return env


def playbook(path, tasks, hosts="localhost"):
    """Write a one-play playbook (JSON is YAML) and return the ansible-playbook argv for it."""
    play = [{"hosts": hosts, "gather_facts": False, "connection": "local", "tasks": tasks}]
    with open(path, "w") as f:
        json.dump(play, f)
    return [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", path]


def requests_total(kubectl, kubeconfig, context):
    """The API server's apiserver_request_total, summed over every label set."""
    text = subprocess.run([kubectl, "--kubeconfig", kubeconfig, "--context", context, "get", "--raw", "/metrics"],
                          stdout=subprocess.PIPE, text=True, check=True).stdout
    total = 0.0
    for line in text.splitlines():
        if line.startswith("apiserver_request_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def background_rate(kubectl, kubeconfig, context, seconds=10.0):
    """Requests a second the API server serves while the bench sends none (controllers, KWOK,
    leader election; the two metrics reads themselves are subtracted)."""
    before = requests_total(kubectl, kubeconfig, context)
    time.sleep(seconds)  # developer tooling: an idle window, on purpose
    after = requests_total(kubectl, kubeconfig, context)
    return round(max(0.0, after - before - 1) / seconds, 1)


def ratio(value, floor):
    return round(value / floor, 2) if floor else None


def machine():
    return {"cpus": os.cpu_count(), "load_average": [round(x, 1) for x in os.getloadavg()]}


def slope(points):
    """Least-squares (slope, intercept) of [(x, y)]; slope per unit of x."""
    if len(points) < 2:
        return None, None
    mx = statistics.mean(x for x, unused in points)
    my = statistics.mean(y for unused, y in points)
    sxx = sum((x - mx) ** 2 for x, unused in points)
    if not sxx:
        return None, None
    k = sum((x - mx) * (y - my) for x, y in points) / sxx
    return k, my - k * mx
