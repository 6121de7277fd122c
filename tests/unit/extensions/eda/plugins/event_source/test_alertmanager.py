# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for extensions/eda/plugins/event_source/alertmanager.py: the HTTP side of the
receiver (token, bad bodies, health GET, events on the queue), loaded the way ansible-rulebook
loads it (runpy from the collection path), against aiohttp's in-process test server."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import logging
import os
import runpy
from datetime import datetime, timezone

import pytest

aiohttp = pytest.importorskip("aiohttp")
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 6))
PLUGIN = os.path.join(REPO, ".build", "collections", "ansible_collections", "triage", "k8s",
                      "extensions", "eda", "plugins", "event_source", "alertmanager.py")
SOURCE = runpy.run_path(PLUGIN)
T0 = datetime(2026, 1, 2, 3, 0, 0, tzinfo=timezone.utc)
NOTE = {"version": "4", "status": "firing", "alerts": [
    {"status": "firing", "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "web-1"},
     "annotations": {}, "startsAt": "2026-01-02T02:55:00Z", "fingerprint": "f1"},
    {"status": "firing", "labels": {"alertname": "Watchdog"}, "annotations": {}, "fingerprint": "f2"}]}


def run(coro):
    return asyncio.run(coro)


async def _exchange(args, requests):
    queue = asyncio.Queue()
    app = SOURCE["make_app"](queue, SOURCE["check_options"](args), clock=lambda: T0)
    answers = []
    async with TestClient(TestServer(app)) as client:
        for method, path, kwargs in requests:
            resp = await client.request(method, path, **kwargs)
            answers.append((resp.status, await resp.json()))
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return answers, events


def test_a_notification_puts_its_pod_alerts_on_the_queue_once(caplog):
    caplog.set_level(logging.INFO, logger="triage.k8s.alertmanager")
    answers, events = run(_exchange({"cluster": "kwok-triage-a"}, [
        ("POST", "/alerts", {"json": NOTE}), ("POST", "/alerts", {"json": NOTE}), ("GET", "/alerts", {})]))
    assert answers == [(200, {"events": 1, "ignored": 1}), (200, {"events": 0, "ignored": 1}), (200, {"status": "ok"})]
    assert [(e["triage"]["pod"], e["triage"]["cluster"], e["triage"]["observed_at"]) for e in events] == [
        ("web-1", "kwok-triage-a", "2026-01-02T03:00:00Z")]
    assert "alert Watchdog (f2): no class for this alert name" in caplog.text


def test_the_token_is_required_and_never_logged(caplog):
    caplog.set_level(logging.DEBUG)
    answers, events = run(_exchange({"token": "s3cret-token", "path": "/hook"}, [
        ("POST", "/hook", {"json": NOTE}),
        ("POST", "/hook", {"json": NOTE, "headers": {"Authorization": "Bearer wrong"}}),
        ("POST", "/hook", {"json": NOTE, "headers": {"Authorization": "Basic s3cret-token"}}),
        ("POST", "/hook", {"json": NOTE, "headers": {"Authorization": "Bearer s3cret-token"}})]))
    assert [answer[0] for answer in answers] == [401, 401, 401, 200] and len(events) == 1
    assert "s3cret-token" not in caplog.text and "Bearer wrong" not in caplog.text


@pytest.mark.parametrize("body", [{"data": "not json"}, {"json": [1, 2]}, {"json": {"version": "2", "alerts": []}}])
def test_what_is_not_a_notification_is_a_400(body):
    answers, events = run(_exchange({}, [("POST", "/alerts", body)]))
    assert answers == [(400, {"error": "not an Alertmanager webhook notification (version 4)"})] and events == []


def test_other_paths_are_404_and_bad_options_fail_before_listening():
    queue = asyncio.Queue()
    app = SOURCE["make_app"](queue, SOURCE["check_options"]({}))

    async def post_other():
        async with TestClient(TestServer(app)) as client:
            resp = await client.post("/other", json=NOTE)
            return resp.status
    assert run(post_other()) == 404 and queue.empty()
    with pytest.raises(ValueError, match="unknown option"):
        run(SOURCE["main"](queue, {"prot": 5051}))


def test_the_documentation_lists_every_option_with_its_default():
    import yaml
    from ansible_collections.triage.k8s.plugins.module_utils._crashloop.alerts import DEFAULTS
    options = yaml.safe_load(SOURCE["DOCUMENTATION"])["options"]
    assert sorted(options) == sorted(DEFAULTS)
    for name, spec in options.items():
        assert spec["default"] == DEFAULTS[name], name
    yaml.safe_load(SOURCE["EXAMPLES"])
