# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""triage.k8s.alertmanager: an event source for ansible-rulebook that receives Alertmanager's
webhook notifications and puts one event per pod alert on the queue, in the shape pod_health's
events have (docs/eda.md). The decisions are in plugins/module_utils/_crashloop/alerts.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: alertmanager
short_description: Receive Alertmanager webhook notifications as pod triage events
version_added: 0.2.0
author:
  - triage.k8s developers (@triage-k8s)
description:
  - An HTTP receiver for an Alertmanager C(webhook_configs) receiver. Each notification (version 4) carries an alert
    group; every alert in it whose name is in O(classes) and that has C(namespace) and C(pod) labels becomes one
    event C(triage) (the shape in docs/eda.md) with C(source=alertmanager), the class from the alert's name, C(transition=unhealthy)
    when it fires and C(recovered) when it is resolved. Repeats of an alert already emitted (Alertmanager sends the
    group again on every C(group_interval) and C(repeat_interval)) are not emitted again.
  - Other alerts are ignored with one log line each. The answer is C(200) with the counts, C(400) for a body that is
    not a notification, C(401) without the right bearer token (Alertmanager does not retry those).
  - The pod's uid, owner and restart count are not in an alert; they are null or 0, and the playbooks read the pod.
  - Label values and annotations have Jinja's markers broken up (two opening braces become C({ {)), because the
    event reaches ansible-playbook as extra vars.
notes:
  - C(ansible-doc) has no plugin type for event sources; this documentation is also in docs/eda.md.
  - Needs no Kubernetes credentials: the playbooks the rulebook runs have their own.
options:
  host:
    description: Address to listen on. Keep the default unless Alertmanager runs on another host.
    type: str
    default: 127.0.0.1
  port:
    description: TCP port to listen on.
    type: int
    default: 5051
  path:
    description: URL path Alertmanager posts to (the receiver's C(url) ends with it). C(GET) on it answers C(200), for
      health checks.
    type: str
    default: /alerts
  token:
    description:
      - Bearer token the requests must carry (header C(Authorization) with C(Bearer TOKEN); in Alertmanager
        C(http_config.authorization.credentials)). Empty for none. Never logged.
    type: str
    default: ""
  certfile:
    description: Certificate (PEM) to serve HTTPS with; with O(keyfile).
    type: str
    default: ""
  keyfile:
    description: Private key (PEM) of O(certfile).
    type: str
    default: ""
  classes:
    description: Alert name to class (a crashloop_info class). Alerts with other names are ignored.
    type: dict
    default: {KubePodCrashLooping: crash_loop, KubePodNotReady: not_ready}
  cluster:
    description: The event's C(cluster) (a kubeconfig context name) when the alert has no O(cluster_label) label.
      Empty means the playbooks' default context.
    type: str
    default: ""
  cluster_label:
    description: Label that names the alert's cluster (for example an external label of each Prometheus); empty for none.
    type: str
    default: cluster
  contexts:
    description: Values of O(cluster_label) to kubeconfig context names, where they differ.
    type: dict
    default: {}
  namespace_label:
    description: Label holding the pod's namespace.
    type: str
    default: namespace
  pod_label:
    description: Label holding the pod's name.
    type: str
    default: pod
  namespaces:
    description: Allow-list of namespaces; alerts about pods elsewhere are ignored (with a log line). Empty for every
      namespace.
    type: list
    elements: str
    default: []
  remember:
    description: How many alerts (fingerprints) are remembered to leave out repeats; the oldest is forgotten first.
    type: int
    default: 10000
"""

EXAMPLES = r"""
- name: Crash-looping pods from Alertmanager
  hosts: localhost
  sources:
    - triage.k8s.alertmanager:
        host: 0.0.0.0
        port: 5051
        token: "{{ alertmanager_token }}"
        cluster: prod-eu
  rules:
    - name: Crash loop
      condition: event.triage.transition == "unhealthy" and event.triage.class in ["crash_loop", "oom_killed"]
      action:
        debug:
"""

import asyncio
import hmac
import logging
import os
import ssl
import sys
from datetime import datetime, timezone


def _collections_root():
    """Put the directory holding ansible_collections/ on sys.path: ansible-rulebook runs this file with
    runpy, outside Ansible's collection loader, and the decisions live in the collection's module_utils."""
    here = os.path.abspath(__file__)
    parts = here.split(os.sep)
    if len(parts) > 8 and parts[-8] == "ansible_collections":
        root = os.sep.join(parts[:-8])
        if root not in sys.path:
            sys.path.insert(0, root)


_collections_root()

from aiohttp import web  # noqa: E402  (comes with ansible-rulebook)

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.alerts import Alerts, check_options  # noqa: E402

logger = logging.getLogger("triage.k8s.alertmanager")


def _authorized(request, token):
    if not token:
        return True
    given = request.headers.get("Authorization", "")
    scheme, _sep, value = given.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode("utf-8"), token.encode("utf-8"))


def make_app(queue, opts, clock=None):
    """The aiohttp application: POST opts['path'] takes notifications, GET answers 200."""
    alerts = Alerts(opts)
    clock = clock or (lambda: datetime.now(timezone.utc))

    async def receive(request):
        if not _authorized(request, opts["token"]):
            logger.warning("refused a request from %s: no or wrong bearer token", request.remote)
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            payload = await request.json()
            events, ignored = alerts.receive(payload, clock())
        except ValueError as err:  # JSON or shape
            logger.warning("refused a request from %s: %s", request.remote, str(err)[:200])
            return web.json_response({"error": "not an Alertmanager webhook notification (version 4)"}, status=400)
        for line in ignored:
            logger.info("%s", line)
        for event in events:
            await queue.put(event)
        logger.info("notification from %s: %d event(s), %d ignored, %d repeat(s) so far",
                    request.remote, len(events), len(ignored), alerts.repeats)
        return web.json_response({"events": len(events), "ignored": len(ignored)})

    async def health(request):
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post(opts["path"], receive)
    app.router.add_get(opts["path"], health)
    return app


def _ssl_context(opts):
    if not opts["certfile"]:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(opts["certfile"], opts["keyfile"])
    return context


async def main(queue, args):
    """ansible-rulebook's entry point: serve until cancelled."""
    opts = check_options(args)
    runner = web.AppRunner(make_app(queue, opts), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, opts["host"], opts["port"], ssl_context=_ssl_context(opts))
    await site.start()
    logger.info("listening on %s://%s:%d%s%s", "https" if opts["certfile"] else "http", opts["host"], opts["port"],
                opts["path"], " (bearer token required)" if opts["token"] else "")
    try:
        await asyncio.Future()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    class _PrintQueue(asyncio.Queue):
        async def put(self, item):
            print(item)

    asyncio.run(main(_PrintQueue(), {"port": int(sys.argv[1]) if len(sys.argv) > 1 else 5051}))
