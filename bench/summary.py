#!/usr/bin/env python3
"""One table of the goals of issue 15 from the JSON files the benches wrote (make bench).

    .venv/bin/python bench/summary.py DIR     # crashloop.json, crashloop-30k.json, wan.json, quarantine.json, fleet.json, evidence.json, cleanup.json in DIR

A goal whose bench did not run (no file) is listed as not measured. Not a test: nothing asserts.
"""

import json
import os
import sys


def _load(directory, name):
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def rows(directory):
    out = []
    scans = [found for found in (_load(directory, "crashloop.json"), _load(directory, "crashloop-30k.json")) if found]
    if scans:
        for size in [size for scan in scans for size in scan["sizes"]]:
            by = dict((r["contender"], r) for r in size["rows"])
            floor = by["list-only"]["wall_median_s"]
            startup = by.get("ansible-bare", {}).get("wall_median_s")
            why = "" if startup is None else "; ansible-playbook start-up alone %.2f s (%.2fx of the floor)" % (startup, startup / floor)
            out.append(("scan %d pods, only_unhealthy, ansible-playbook / bare LIST" % size["pods"],
                        by["ansible-unhealthy"]["wall_vs_floor"], 1.3,
                        "%.2f s vs %.2f s%s" % (by["ansible-unhealthy"]["wall_median_s"], floor, why)))
            result_bytes = ((size.get("details") or {}).get("module-process") or {}).get("result_bytes")
            full_note = "%.2f s" % by["ansible-full"]["wall_median_s"]
            if result_bytes:
                full_note += "; ansible-playbook decodes and copies a %.1f MiB result" % (result_bytes / 1048576.0)
            out.append(("scan %d pods, full result, ansible-playbook / bare LIST" % size["pods"],
                        by["ansible-full"]["wall_vs_floor"], 2.0, full_note))
            out.append(("scan %d pods, only_unhealthy RSS / bare LIST RSS" % size["pods"],
                        by["ansible-unhealthy"]["rss_vs_floor"], 1.3, "%.0f MiB" % by["ansible-unhealthy"]["peak_rss_mib"]))
            out.append(("scan %d pods, only_unhealthy / kubectl get pods -A -o json" % size["pods"],
                        round(by["ansible-unhealthy"]["wall_median_s"] / by["kubectl-json"]["wall_median_s"], 2), 1.0,
                        "kubectl %.2f s" % by["kubectl-json"]["wall_median_s"]))
    else:
        out.append(("scan (bench/crashloop_bench.py)", None, 1.3, "not measured"))
    quarantine = _load(directory, "quarantine.json")
    if quarantine:
        why = ""
        if quarantine.get("startup_s") is not None:
            why = "; of it ansible-playbook start-up %.2f s, pod_quarantine's process %.2f s" % (
                quarantine["startup_s"], quarantine["module_process_wall_s"])
        out.append(("quarantine: pod out of the Service, playbook - kubectl label (s)",
                    quarantine["latency_over_kubectl_s"], 1.0, "default: relabel first, evidence after" + why))
        if quarantine.get("evidence_first_over_kubectl_s") is not None:
            out.append(("quarantine: same, quarantine_evidence_before_relabel=true (s)",
                        quarantine["evidence_first_over_kubectl_s"], None, "the old order: a first bundle before the relabel"))
        if quarantine.get("module_process_cpu_s") is not None:
            out.append(("pod_quarantine's own process CPU (s)", quarantine["module_process_cpu_s"], 0.5,
                        "importing the kubernetes client is part of it"))
    else:
        out.append(("quarantine latency (bench/quarantine_bench.py)", None, 1.0, "not measured"))
    fleet = _load(directory, "fleet.json")
    if fleet:
        by = dict((r["contender"], r) for r in fleet["rows"])
        whole = by.get("fleet", {})
        cpus = (fleet.get("machine") or {}).get("cpus")
        note = ""
        if whole.get("cpu_median_s") is not None and cpus:
            # CPU-bound forks cannot finish sooner than their CPU over the cores (the local
            # clusters' own servers take their share of the same cores).
            note = "CPU-bound: %.1f s of client CPU and the clusters' servers on %d cores" % (whole["cpu_median_s"], cpus)
        out.append(("fleet: one crashloop_scan run with forks / slowest single cluster", fleet["fleet_vs_slowest"], 1.3, note))
    else:
        out.append(("fleet (bench/fleet_bench.py)", None, 1.3, "not measured"))
    wan = _load(directory, "wan.json")
    if wan:
        by = dict((r["contender"], r) for r in wan["rows"])
        kubectl = by["kubectl-json"]["wall_median_s"]
        ratio = round(by["module-process"]["wall_median_s"] / kubectl, 2)
        through = by["ansible-unhealthy"]["wall_median_s"] / kubectl
        note = "ansible-playbook / kubectl %.2f; link floor %.2f s" % (through, wan["link_floor_gzip_s"])
        out.append(("scan over the simulated link, only_unhealthy module process / kubectl", ratio, 1.0, note))
    else:
        out.append(("scan over the simulated link (bench/wan_bench.py)", None, 1.0, "not measured"))
    evidence = _load(directory, "evidence.json")
    if evidence:
        out.append(("evidence: one bundle via ansible-playbook / the kubectl sequence (6 processes)",
                    evidence["playbook_vs_kubectl"], None,
                    "no goal: watched for regressions; the module process alone %.2fx" % evidence["module_vs_kubectl"]))
    else:
        out.append(("evidence (bench/evidence_bench.py)", None, None, "not measured"))
    cleanup = _load(directory, "cleanup.json")
    if cleanup and cleanup.get("playbook_vs_oneliner") is not None:
        out.append(("cleanup 1,000 pods: ansible-playbook / kubectl delete -A -l ... --wait=false (one-liner)",
                    cleanup["playbook_vs_oneliner"], None, "no goal: watched for regressions; the one-liner checks neither expiry nor evidence"))
    else:
        out.append(("cleanup (bench/cleanup_bench.py)", None, None, "not measured"))
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    directory = argv[0] if argv else os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".build", "bench")
    print("\n| goal | measured | goal | met | note |")
    print("| --- | ---: | ---: | --- | --- |")
    for name, value, goal, note in rows(directory):
        met = "-" if value is None or goal is None else ("yes" if value <= goal else "no, by %.2f" % (value - goal))
        print("| %s | %s | %s | %s | %s |" % (name, "-" if value is None else "%.2f" % value,
                                              "-" if goal is None else "<= %s" % goal, met, note))
    return 0


if __name__ == "__main__":
    sys.exit(main())
