#!/usr/bin/env python3
"""Benchmark: the scan from a laptop, with the API server behind a simulated WAN.

    .venv/bin/python bench/wan_bench.py [--cluster triage-crashbench] [--delay-ms 25] [--rate 100mbit] [--runs 3]

A relay on 127.0.0.1 between every client and the API server simulates the link: each direction
delivers what it read --delay-ms later (50 ms RTT by default), serialised at --rate (100 Mbit/s
each way). The issue asked for network namespaces, a veth pair and tc netem; this machine's
kernel has no netem or tbf qdisc (a container without kernel modules), so the shaping is done in
user space (see RELAY). The clients get a copy of the kubeconfig pointing at the relay; the
server certificate (for 127.0.0.1) stays valid. Contenders, interleaved round by round:

  list-only           the bare paginated LIST in a fresh Python process (the collection's client)
  module-process      crashloop_info's process with only_unhealthy
  ansible-unhealthy   ansible-playbook running it
  kubectl-json        `kubectl get pods -A -o json` (asks for gzip)

It reuses a running cluster (crashloop_bench.py --keep leaves `triage-crashbench` with its fleet)
and prints medians plus the link's floor: bytes on the wire / rate + one RTT per page.
Not a test: nothing asserts.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from urllib.parse import urlsplit

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "hack", "cluster"))
sys.path.insert(0, HERE)

import benchlib  # noqa: E402


# tc netem is not available on every machine (a container without the sch_netem module: "Specified
# qdisc kind is unknown"), so the link is simulated in user space: each direction of the relay
# delivers a chunk `delay` after it was read, serialised at `rate` bytes a second (an unbounded
# queue at the bottleneck, no loss; TCP itself still runs on loopback at both ends).
RELAY = r"""
import collections, socket, sys, threading, time
listen_port, to_port, delay, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
def direction(a, b):
    queue, cond = collections.deque(), threading.Condition()
    def reader():
        while True:
            try:
                data = a.recv(65536)
            except OSError:
                data = b""
            with cond:
                queue.append((time.monotonic() + delay, data))
                cond.notify()
            if not data:
                return
    def writer():
        free = 0.0
        while True:
            with cond:
                while not queue:
                    cond.wait()
                due, data = queue.popleft()
            start = max(due, free)
            pause = start - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            if not data:
                try:
                    b.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            free = start + len(data) / rate
            try:
                b.sendall(data)
            except OSError:
                return
    threading.Thread(target=reader, daemon=True).start()
    threading.Thread(target=writer, daemon=True).start()
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", listen_port))
server.listen(64)
print("ready", flush=True)
while True:
    client, unused = server.accept()
    upstream = socket.create_connection(("127.0.0.1", to_port))
    direction(client, upstream)
    direction(upstream, client)
"""


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def relay(listen, port, delay, rate):
    proc = subprocess.Popen([sys.executable, "-c", RELAY, str(listen), str(port), str(delay), str(rate)],
                            stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()
    return proc


def wire_bytes(kubeconfig, context, page_size, gzip):
    """Bytes the pods LIST puts on the wire (compressed or not), its pages, from the host side."""
    benchlib.collection_importable()
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import build_api_client
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import raw_request, resource_path
    api_client = build_api_client({"kubeconfig": kubeconfig, "context": context})
    api_client.default_headers["Accept-Encoding"] = "gzip" if gzip else "identity"  # default headers win
    query, total, pages = {"limit": page_size}, 0, 0
    while True:
        response = raw_request(api_client, "GET", resource_path("Pod"), query, {"Accept": "application/json"})
        raw = response.read(decode_content=False)
        total, pages = total + len(raw), pages + 1
        if gzip and response.headers.get("Content-Encoding") == "gzip":
            import gzip as gz
            raw = gz.decompress(raw)
        token = (json.loads(raw).get("metadata") or {}).get("continue")
        if not token:
            return total, pages
        query["continue"] = token


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cluster", default="triage-crashbench")
    parser.add_argument("--delay-ms", type=int, default=25, help="one-way delay (RTT = 2x)")
    parser.add_argument("--rate", default="100mbit", help="each way, in mbit")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    import localcluster
    if args.cluster not in localcluster.existing_clusters():
        raise SystemExit("bench: start %s first (bench/crashloop_bench.py --keep)" % args.cluster)
    kubeconfig = localcluster.up([args.cluster])
    context = localcluster.context_name(args.cluster)
    kubectl = os.path.join(localcluster.binaries(), "kubectl")
    plain, pages = wire_bytes(kubeconfig, context, args.page_size, False)
    packed, unused = wire_bytes(kubeconfig, context, args.page_size, True)
    rate_bytes = float(args.rate.replace("mbit", "")) * 1e6 / 8
    with open(kubeconfig) as f:
        config = yaml.safe_load(f)
    cluster = [c for c in config["contexts"] if c["name"] == context][0]["context"]["cluster"]
    entry = [c for c in config["clusters"] if c["name"] == cluster][0]["cluster"]
    port, listen = urlsplit(entry["server"]).port, free_port()
    entry["server"] = "https://127.0.0.1:%d" % listen  # the certificate is for 127.0.0.1: still valid
    config["current-context"] = context
    proc = relay(listen, port, args.delay_ms / 1000.0, rate_bytes)
    try:
        with tempfile.TemporaryDirectory(prefix="wanbench-") as tmp:
            kubeconfig = os.path.join(tmp, "kubeconfig")
            with open(kubeconfig, "w") as f:
                yaml.safe_dump(config, f)
            auth = {"kubeconfig": kubeconfig, "context": context, "page_size": args.page_size}
            module_args = os.path.join(tmp, "args.json")
            with open(module_args, "w") as f:
                json.dump({"ANSIBLE_MODULE_ARGS": dict(auth, only_unhealthy=True)}, f)
            unhealthy = benchlib.playbook(os.path.join(tmp, "unhealthy.yml"), [
                {"name": "scan", "triage.k8s.crashloop_info": dict(auth, only_unhealthy=True), "register": "scan"}])
            me = [sys.executable, os.path.join(HERE, "crashloop_bench.py"), "--kubeconfig", kubeconfig, "--context", context,
                  "--page-size", str(args.page_size), "--child-list"]
            contenders = [
                ("list-only", me, None),
                ("module-process", [sys.executable, os.path.join(REPO, "plugins", "modules", "crashloop_info.py"), module_args],
                 dict(os.environ, PYTHONPATH=benchlib.COLLECTIONS)),
                ("ansible-unhealthy", unhealthy, benchlib.ansible_env()),
                ("kubectl-json", [kubectl, "--kubeconfig", kubeconfig, "--context", context, "get", "pods", "-A", "-o", "json"], None),
            ]
            runs = benchlib.interleaved(contenders, args.runs)
    finally:
        proc.kill()
    rtt = 2 * args.delay_ms / 1000.0
    floor_plain, floor_gzip = plain / rate_bytes + pages * rtt, packed / rate_bytes + pages * rtt
    rows = [benchlib.summary_row(name, stats) for name, stats in runs.items()]
    print("\nscan over a simulated WAN (%d ms RTT, %s each way; %d interleaved rounds, medians)\n"
          % (2 * args.delay_ms, args.rate, args.runs))
    print("| contender | wall (s) | client CPU (s) | peak RSS (MiB) | wall / link floor (gzip) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print("| %s | %.2f | %.2f | %.1f | %.2f |" % (row["contender"], row["wall_median_s"], row["cpu_median_s"],
                                                      row["peak_rss_mib"], row["wall_median_s"] / floor_gzip))
    by = dict((r["contender"], r) for r in rows)
    print("\nLIST of pods: %d pages, %.1f MiB plain, %.1f MiB gzip on the wire; link floor %.2f s plain, %.2f s gzip "
          "(bytes / rate + one RTT a page); module-process / kubectl %.2f, ansible-playbook / kubectl %.2f"
          % (pages, plain / 1048576.0, packed / 1048576.0, floor_plain, floor_gzip,
             by["module-process"]["wall_median_s"] / by["kubectl-json"]["wall_median_s"],
             by["ansible-unhealthy"]["wall_median_s"] / by["kubectl-json"]["wall_median_s"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "wire_bytes_plain": plain, "wire_bytes_gzip": packed, "pages": pages,
                       "link_floor_gzip_s": floor_gzip, "machine": benchlib.machine()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
