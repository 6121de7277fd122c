# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for extensions/eda/plugins/event_source/pod_health.py: options, contexts, the watch
thread's LIST/WATCH/reconnect loop and main()'s thread-to-asyncio hand-over, against a fake Kube.
Loaded the way ansible-rulebook loads it (runpy from the collection path). The decisions
themselves are tested in tests/unit/plugins/module_utils/_crashloop/test_transitions.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import os
import runpy
import threading

import pytest
import yaml

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 6))
PLUGIN = os.path.join(REPO, ".build", "collections", "ansible_collections", "triage", "k8s",
                      "extensions", "eda", "plugins", "event_source", "pod_health.py")
SOURCE = runpy.run_path(PLUGIN)
GLOBALS = SOURCE["watch"].__globals__   # the namespace the plugin's functions run in


def pod(name, waiting=None, restarts=0, rv="1"):
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
    return {"metadata": {"name": name, "namespace": "shop", "uid": "uid-" + name, "resourceVersion": rv,
                         "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [{"big": "x" * 100}],
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "web-abc", "uid": "rs", "controller": True}],
                         "labels": {"pod-template-hash": "abc"}},
            "spec": {"containers": [{"name": "app", "image": "app:1"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False" if waiting else "True"}],
                       "containerStatuses": [{"name": "app", "image": "app:1", "ready": not waiting, "restartCount": restarts,
                                              "state": state,
                                              "lastState": {"terminated": {"exitCode": 2, "reason": "Error",
                                                                           "finishedAt": "2026-01-01T00:00:00Z"}} if restarts else {}}]}}


class FakeKube(object):
    """Scripted: each LIST returns the next entry of lists; each watch plays the next script:
    a list of ("set", pod) / ("del", uid) then an outcome ("expired" | "down" | "end")."""

    def __init__(self, lists, watches, stop):
        self.lists, self.watches, self.stop = list(lists), list(watches), stop
        self.calls = []

    def list_with_version(self, kind, namespace, label_selector, field_selector):
        self.calls.append(("list", namespace, label_selector, field_selector))
        if not self.lists:
            self.stop.set()
            raise TriageError("connection refused", {"error_type": "connection"})
        item = self.lists.pop(0)
        if item == "down":
            raise TriageError("connection refused", {"error_type": "connection"})
        return item, "100"

    def follow(self, kind, namespace, version, objects, predicate, deadline, label_selector, field_selector):
        self.calls.append(("watch", version))
        steps = self.watches.pop(0) if self.watches else ["end"]
        for step in steps:
            if step == "expired":
                return True, None
            if step == "down":
                raise TriageError("the API server went away", {"error_type": "connection"})
            if step == "end":
                return False, None
            what, value = step
            if what == "set":
                objects[value["metadata"]["uid"]] = value
            else:
                objects.pop(value, None)
            if predicate(objects):
                return False, True
        return False, None


def opts(**args):
    return SOURCE["options"](dict({"settle_seconds": 0}, **args))


def test_options_defaults_and_auth_passthrough():
    o = SOURCE["options"]({"context": "kwok-a", "kubeconfig": "/k", "api_key": "t", "namespaces": "shop",
                           "eda_feedback_queue": object()})
    assert o["namespaces"] == ["shop"] and o["settle_seconds"] == 10 and o["debounce_seconds"] == 300
    assert o["auth"] == {"context": "kwok-a", "kubeconfig": "/k", "api_key": "t"}
    assert "crash_loop" in o["classes"] and o["emit_initial"] is True
    assert SOURCE["options"]({"emit_initial": "false"})["emit_initial"] is False


@pytest.mark.parametrize("args, message", [
    ({"namespace": "x"}, "unknown option(s): namespace"),
    ({"context": "a", "contexts": ["b"]}, "mutually exclusive"),
    ({"namespaces": ["Bad_NS"]}, "Bad_NS"),
    ({"label_selectors": ["app in (a"]}, "label_selectors[0]"),
    ({"classes": ["crashloop"]}, "unknown class"),
    ({"settle_seconds": -1}, "settle_seconds must be a number"),
    ({"debounce_seconds": "soon"}, "debounce_seconds must be a number"),
])
def test_options_problems(args, message):
    with pytest.raises(ValueError) as info:
        SOURCE["options"](args)
    assert message in str(info.value) and str(info.value).startswith("triage.k8s.pod_health: ")


def test_contexts_are_patterns_like_the_inventory_plugin(tmp_path):
    path = tmp_path / "config"
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "prod-eu",
              "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
              "users": [{"name": "u", "user": {"token": "x"}}],
              "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}} for n in ("prod-eu", "prod-us", "dev")]}
    path.write_text(yaml.safe_dump(config))
    targets = SOURCE["targets"](opts(kubeconfig=str(path), contexts=["prod-*"], exclude_contexts=["*-us"]))
    assert [(name, params["context"]) for name, params in targets] == [("prod-eu", "prod-eu")]
    with pytest.raises(ValueError, match="no context"):
        SOURCE["targets"](opts(kubeconfig=str(path), contexts=["nope"]))
    # One context: its name; no context: the current-context of the kubeconfig.
    assert SOURCE["targets"](opts(kubeconfig=str(path), context="dev"))[0][0] == "dev"
    assert SOURCE["targets"](opts(kubeconfig=str(path)), environ={})[0][0] == "prod-eu"


def run_watch(monkeypatch, lists, watches, **args):
    stop = threading.Event()
    kube = FakeKube(lists, watches, stop)
    monkeypatch.setitem(GLOBALS, "connect", lambda params: kube)
    posted, slept = [], []
    o = opts(**args)
    SOURCE["watch"]({}, "shop", o, lambda kind, payload: posted.append((kind, payload)), stop, sleep=slept.append)
    return kube, posted, slept


def test_watch_lists_then_watches_and_lists_again_after_expiry_and_outage(monkeypatch):
    a, b = pod("a"), pod("b", "CrashLoopBackOff", 1)
    kube, posted, slept = run_watch(
        monkeypatch, [[a], [a, b], "down", [a]],
        [[("set", b), ("del", "uid-a"), "expired"], ["down"]],
        label_selectors=["app=web", "tier=front"])
    kinds = [entry[0] for entry in posted]
    assert kinds[:4] == ["list", "pod", "deleted", "list"]           # 410: a fresh LIST at once
    assert posted[1][1]["metadata"]["name"] == "b" and "managedFields" not in posted[1][1]["metadata"]
    assert posted[2][1] == "uid-a"
    assert [c[0] for c in kube.calls] == ["list", "watch", "list", "watch", "list", "list", "watch", "list"]
    assert kube.calls[0] == ("list", "shop", "app=web,tier=front", None)
    assert any(k == "log" and "resumed after 2 failed attempt" in p for k, p in posted)
    assert len(slept) >= 2 and all(s >= 0 for s in slept)      # backoff between attempts


def test_a_config_or_permission_error_ends_the_source(monkeypatch):
    def connect(params):
        raise TriageError("context 'x' not found", {"error_type": "config"})
    monkeypatch.setitem(GLOBALS, "connect", connect)
    posted = []
    SOURCE["watch"]({}, None, opts(), lambda kind, payload: posted.append((kind, payload)), threading.Event())
    assert posted == [("fatal", "context 'x' not found")]


def test_the_thread_stops_when_asked_during_a_watch(monkeypatch):
    stop = threading.Event()
    kube = FakeKube([[pod("a")]], [[("set", pod("a", rv="2"))] * 3], stop)
    monkeypatch.setitem(GLOBALS, "connect", lambda params: kube)
    posted = []

    def post(kind, payload):
        posted.append(kind)
        if kind == "pod":
            stop.set()
    SOURCE["watch"]({}, None, opts(), post, stop)
    assert posted == ["list", "pod"]


def test_main_puts_one_event_per_transition_on_the_queue(monkeypatch):
    stop = threading.Event()
    crash = [("set", pod("a", "CrashLoopBackOff", n, rv=str(n))) for n in range(1, 6)]
    kube = FakeKube([[pod("a"), pod("b")]], [crash + [("set", pod("a", None, 5, rv="9"))] + ["end"]], stop)
    monkeypatch.setitem(GLOBALS, "connect", lambda params: kube)
    monkeypatch.setitem(GLOBALS, "TICK_SECONDS", 0.05)

    async def scenario():
        queue = asyncio.Queue()
        task = asyncio.ensure_future(SOURCE["main"](queue, {"context": "kwok-x", "settle_seconds": 0,
                                                            "restart_threshold": 100}))
        events = []
        while len(events) < 2:
            events.append(await asyncio.wait_for(queue.get(), 10))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return events
    events = [e["triage"] for e in asyncio.run(scenario())]
    assert [(e["pod"], e["transition"], e["class"]) for e in events] == [("a", "unhealthy", "crash_loop"),
                                                                         ("a", "recovered", "healthy")]
    assert events[0]["cluster"] == "kwok-x" and events[0]["workload"] == {"kind": "Deployment", "name": "web"}
    assert events[0]["restarts"] == 1 and "--previous" in events[0]["next_step"]


def test_main_fails_loudly_on_a_fatal_watch_error(monkeypatch):
    def connect(params):
        raise TriageError("kubeconfig /nope does not exist", {"error_type": "config"})
    monkeypatch.setitem(GLOBALS, "connect", connect)
    with pytest.raises(RuntimeError, match="kubeconfig /nope does not exist"):
        asyncio.run(asyncio.wait_for(SOURCE["main"](asyncio.Queue(), {"context": "c"}), 10))
