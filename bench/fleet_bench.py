#!/usr/bin/env python3
"""Benchmark: one crashloop_scan run over 3 clusters with forks against each cluster alone.

    .venv/bin/python bench/fleet_bench.py [--clusters 3] [--pods 1000] [--runs 3] [--keep] [--json FILE]

Starts --clusters local clusters (`triage-fleetbench-N`, deleted at the end unless they already
existed or --keep), gives each --pods pods (bench/crashloop_bench.py's fleet: 4 % failing), and
runs `ansible-playbook triage.k8s.crashloop_scan` on an inventory with one host per cluster:
each cluster alone (-e target=HOST), then all of them in one run with -f N (forks). The goal:
the fleet run within 1.3x the slowest single cluster, not their sum. Rounds are interleaved;
medians are printed. Not a test: nothing asserts.
"""

import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "hack", "cluster"))
sys.path.insert(0, HERE)

import benchlib  # noqa: E402
import crashloop_bench  # noqa: E402
from benchlib import log  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=3)
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    import localcluster
    names = ["triage-fleetbench-%d" % i for i in range(args.clusters)]
    before = set(n for n in localcluster.existing_clusters() if localcluster.healthy(n))
    kubeconfig = localcluster.up(names)
    try:
        for name in names:
            kube = crashloop_bench.kube_for(kubeconfig, localcluster.context_name(name))
            rows = crashloop_bench.plan(args.pods, 5, int(args.pods * 0.04), 8)
            crashloop_bench.create_fleet(kube, rows)
        for name in names:
            kube = crashloop_bench.kube_for(kubeconfig, localcluster.context_name(name))
            crashloop_bench.wait_for_fleet(kube, args.pods, timeout=900)
        with tempfile.TemporaryDirectory(prefix="fleetbench-") as tmp:
            inventory = os.path.join(tmp, "inventory.json")
            hosts = dict((name, {"k8s_kubeconfig": kubeconfig, "k8s_context": localcluster.context_name(name)})
                         for name in names)
            with open(inventory, "w") as f:
                json.dump({"all": {"hosts": hosts}}, f)
            playbook = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "triage.k8s.crashloop_scan",
                        "-i", inventory, "-e", "report_dir=" + os.path.join(tmp, "reports")]
            env = benchlib.ansible_env()
            contenders = [(name, playbook + ["-e", "target=" + name], env) for name in names]
            contenders.append(("fleet", playbook + ["-e", "target=all", "-f", str(args.clusters)], env))
            runs = benchlib.interleaved(contenders, args.runs)
    finally:
        if args.keep or set(names) <= before:
            log("leaving %s running" % ", ".join(names))
        else:
            localcluster.down([n for n in names if n not in before])
    rows = [benchlib.summary_row(name, stats) for name, stats in runs.items()]
    slowest = max(r["wall_median_s"] for r in rows if r["contender"] != "fleet")
    fleet = [r for r in rows if r["contender"] == "fleet"][0]
    print("\ncrashloop_scan over %d clusters of %d pods (%d interleaved rounds, medians)\n" % (args.clusters, args.pods, args.runs))
    print("| run | wall (s) | fastest (s) | client CPU (s) | peak RSS (MiB) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print("| %(contender)s | %(wall_median_s).2f | %(wall_min_s).2f | %(cpu_median_s).2f | %(peak_rss_mib).1f |" % row)
    sum_single = sum(r["wall_median_s"] for r in rows if r["contender"] != "fleet")
    print("\nfleet / slowest single: %.2f (goal <= 1.3); fleet / sum of singles: %.2f; CPUs %d, load average %s" % (
        fleet["wall_median_s"] / slowest, fleet["wall_median_s"] / sum_single, os.cpu_count(),
        " ".join("%.1f" % x for x in os.getloadavg())))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"fleet_vs_slowest": round(fleet["wall_median_s"] / slowest, 2), "rows": rows,
                       "machine": benchlib.machine()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
