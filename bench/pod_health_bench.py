#!/usr/bin/env python3
"""Benchmark the triage.k8s.pod_health source's own work while "watching" 10,000 pods with 100
transitions a minute. Not a test: it measures, in one process, with a simulated clock.

What runs is the source's code path after the socket: each watch event is encoded as the API
server sends it (one JSON line), decoded by the API layer's decoder (_k8s/stream.json_lines, what
Kube's WATCH uses), slimmed (pod_health._slim) and observed by the state machine
(_crashloop/transitions.PodHealth with crashloop_info's classify_pod), plus the source's 1 s tick.
Not included: TLS and socket reads (urllib3), and ansible-rulebook's own handling of the events.

Per simulated minute: `--transitions` pods change class (half start crash-looping, half recover)
and every crash-looping pod sends two status updates per 4 s crash cycle, as a kubelet does.
Reported: CPU seconds per simulated minute (process_time; as a share of one core), memory held by
the state machine for all pods (tracemalloc), and the events emitted (must equal the transitions
that outlived settle_seconds).

  .venv/bin/python bench/pod_health_bench.py [--pods 10000] [--transitions 100] [--minutes 5]
"""

import argparse
import copy
import json
import os
import runpy
import sys
import time
import tracemalloc
from datetime import datetime, timedelta, timezone

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, ".build", "collections"))
SOURCE = runpy.run_path(os.path.join(REPO, ".build", "collections", "ansible_collections", "triage", "k8s",
                                     "extensions", "eda", "plugins", "event_source", "pod_health.py"))

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.classify import classify_pod  # noqa: E402
from ansible_collections.triage.k8s.plugins.module_utils._crashloop.transitions import PodHealth  # noqa: E402
from ansible_collections.triage.k8s.plugins.module_utils._k8s.stream import json_lines  # noqa: E402
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def template(index):
    """A pod as the API server sends it (managedFields, labels, owner), about 4 KB of JSON."""
    name = "web-%04d-5d9c7b-%05d" % (index // 100, index)
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "ns-%02d" % (index % 50), "uid": "uid-%d" % index,
                     "resourceVersion": "1", "creationTimestamp": format_rfc3339(T0),
                     "labels": {"app": "web-%04d" % (index // 100), "pod-template-hash": "5d9c7b"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-%04d-5d9c7b" % (index // 100),
                                          "uid": "rs-%d" % (index // 100), "controller": True, "blockOwnerDeletion": True}],
                     "managedFields": [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                                        "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {"x" * 40: {}}},
                                                                               "f:spec": {"f:containers": {"y" * 400: {}}}}}] * 3},
        "spec": {"nodeName": "kwok-node-%d" % (index % 4), "containers": [
            {"name": "app", "image": "registry.example/app:1.0", "resources": {"limits": {"memory": "256Mi"}},
             "env": [{"name": "E%d" % k, "value": "v" * 20} for k in range(10)]}]},
        "status": {"phase": "Running", "startTime": format_rfc3339(T0), "podIP": "10.0.0.1",
                   "conditions": [{"type": t, "status": "True", "lastTransitionTime": format_rfc3339(T0)}
                                  for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                   "containerStatuses": [{"name": "app", "image": "registry.example/app:1.0", "ready": True, "started": True,
                                          "restartCount": 0, "state": {"running": {"startedAt": format_rfc3339(T0)}},
                                          "lastState": {}}]},
    }


def crashed(pod, restarts, now):
    pod = copy.deepcopy(pod)
    status = pod["status"]["containerStatuses"][0]
    status.update(ready=False, restartCount=restarts, state={"waiting": {"reason": "CrashLoopBackOff"}},
                  lastState={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": format_rfc3339(now)}})
    pod["status"]["conditions"][1]["status"] = "False"
    return pod


def restarted(pod, restarts, now):
    """Running again after a crash 2 s ago: Ready, restartCount and the last termination kept."""
    pod = copy.deepcopy(pod)
    pod["status"]["containerStatuses"][0].update(
        restartCount=restarts, state={"running": {"startedAt": format_rfc3339(now)}},
        lastState={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": format_rfc3339(now - timedelta(seconds=2))}})
    return pod


def line(pod, version):
    pod["metadata"]["resourceVersion"] = str(version)
    return (json.dumps({"type": "MODIFIED", "object": pod}) + "\n").encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--transitions", type=int, default=100)
    parser.add_argument("--minutes", type=int, default=5)
    args = parser.parse_args()

    pods = [template(i) for i in range(args.pods)]
    listing = json.dumps({"items": pods}).encode()
    machine = PodHealth("bench", lambda p, now: classify_pod(p, None, now), settle_seconds=10, debounce_seconds=0)
    tracemalloc.start()
    cpu = time.process_time()
    items = json.loads(listing)["items"]
    machine.resync([SOURCE["_slim"](p) for p in items], T0)
    del items
    list_cpu = time.process_time() - cpu
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()

    crashing, events, updates, version = {}, 0, 0, 2
    per_minute = []
    for minute in range(args.minutes):
        chunks = []
        start = T0 + timedelta(minutes=minute + 1)
        # Half the transitions start crash-looping; half of those crash-looping recover.
        starting = [i for i in range((minute * args.transitions) % args.pods, args.pods) if i not in crashing][:args.transitions // 2]
        recovering = sorted(crashing)[:args.transitions - len(starting)]
        for i in recovering:
            chunks.append((start, line(copy.deepcopy(pods[i]), version)))
            version += 1
            del crashing[i]
        for i in starting:
            crashing[i] = 0
        for second in range(0, 60, 2):  # every crash-looping pod: two status updates per 4 s cycle
            now = start + timedelta(seconds=second)
            for i in crashing:
                crashing[i] += 1
                body = crashed(pods[i], crashing[i], now) if second % 4 == 0 else restarted(pods[i], crashing[i], now)
                chunks.append((now, line(body, version)))
                version += 1
        cpu = time.process_time()
        ticks = set()
        for now, chunk in chunks:
            for event in json_lines([chunk]):
                events += len(machine.observe(SOURCE["_slim"](event["object"]), now))
                updates += 1
            stamp = now.replace(microsecond=0)
            if stamp not in ticks:
                ticks.add(stamp)
                for offset in range(2):
                    events += len(machine.tick(stamp + timedelta(seconds=offset)))
        per_minute.append(time.process_time() - cpu)
    cpu_minute = sum(per_minute) / len(per_minute)
    print("| pods | transitions/min | status updates/min | initial LIST (decode+classify) CPU | state held | "
          "CPU per minute | share of one core | events |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print("| %d | %d | %d | %.2f s | %.1f MB | %.2f s | %.1f %% | %d |" % (
        args.pods, args.transitions, updates // args.minutes, list_cpu, held / 1e6, cpu_minute,
        100.0 * cpu_minute / 60, events))


if __name__ == "__main__":
    main()
