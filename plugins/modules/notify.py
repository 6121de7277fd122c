#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: notify
short_description: Send a summary of a quarantine, scan, cleanup or evidence run to a Slack or JSON webhook
version_added: 0.1.0
description:
  - Sends one notification - the pods concerned, with their reason, class, next step, evidence link and
    release command, and a few counts - to a Slack-compatible incoming webhook (O(format=slack)) or to any
    HTTP endpoint that takes JSON (O(format=json)). See C(docs/notifications.md) for both payloads.
  - In the Slack payload every text that comes from a pod or a user is escaped for Slack C(mrkdwn) (V(&),
    V(<), V(>)), so C(<!channel>), C(<!here>), C(<@U123>) and links in a pod's messages stay plain text, and
    every C(@word) gets an invisible word joiner after its V(@), so Slack-compatible servers that parse plain
    C(@channel), C(@here) or C(@user) (Mattermost, Rocket.Chat) ping nobody.
  - Slack limits are kept - at most 50 blocks and 40,000 characters of text. Pods that do not fit are
    summarised in a last line, C(...and N more pods not shown here); the JSON payload always lists every pod.
  - The webhook URL is a secret (whoever has it can post to the channel). It is never shown - not in the
    result, the warnings or the errors, which name it as C(the webhook (https://hooks.slack.com/...)), with the
    path cut.
  - HTTP 429 and 5xx answers, and no answer at all (connection refused or reset, timeout), are retried up
    to O(retries) times, waiting what the receiver's C(Retry-After) asks (at most O(retry_max_delay)
    seconds) or 1, 2, 4 ... seconds. Other 4xx answers are not retried. Redirects are not followed.
author:
  - triage.k8s developers (@triage-k8s)
extends_documentation_fragment:
  - triage.k8s.attributes
attributes:
  check_mode:
    support: full
    details: Sends nothing; returns the payload that would be sent, with C(changed=true).
  diff_mode:
    support: none
  idempotent:
    description: When run twice with the same options, the second run reports no change.
    support: none
    details:
      - A notification is a message. Every run that is not in check mode sends one, and reports C(changed=true)
        when it was sent.
options:
  url:
    description:
      - The webhook's URL - a Slack incoming webhook (C(https://hooks.slack.com/services/...)), a
        Slack-compatible one (Mattermost, Rocket.Chat), or any HTTP(S) endpoint that takes a JSON POST.
      - When not set, the E(TRIAGE_K8S_NOTIFY_URL) environment variable is used (an AWX custom credential
        can inject it, see C(docs/notifications.md)).
    type: str
  format:
    description:
      - V(slack) sends Slack's incoming-webhook payload (C(text) and C(blocks)).
      - V(json) sends the generic payload C({source, version, event, cluster, title, text, summary, items,
        generated_at}) documented in C(docs/notifications.md).
    type: str
    choices: [slack, json]
    default: slack
  event:
    description: What happened; it selects the title and is the C(event) of the JSON payload.
    type: str
    required: true
    choices: [quarantine, release, scan, cleanup, evidence]
  cluster:
    description: The cluster's name, as shown in the message and in the release commands built for it.
    type: str
  items:
    description:
      - The pods to report, one entry each. Every field may be missing; only the ones given are shown.
    type: list
    elements: dict
    default: []
    suboptions:
      namespace:
        description: The pod's namespace.
        type: str
      pod:
        description: The pod's name.
        type: str
      reason:
        description: Why it was quarantined (or is reported).
        type: str
      class:
        description: Its class as M(triage.k8s.crashloop_info) gives it, for example V(crash_loop) or V(oom_killed).
        type: str
      next_step:
        description: What the reader should do next.
        type: str
      evidence_url:
        description:
          - Where its evidence is, for example the C(remote.url) of M(triage.k8s.pod_evidence)
            (V(s3://bucket/prefix/bundle/)). V(http://) and V(https://) URLs become links.
        type: str
      release_command:
        description:
          - The command that releases it. When missing and the pod is quarantined (see O(items[].quarantined)),
            it is built from O(items[].pod), O(items[].namespace) and O(cluster) - C(ansible-playbook
            triage.k8s.release -e pod=... -e namespace=... -e context=...), quoted for a shell.
        type: str
      note:
        description: One more line, for example what happened to it (V(deleted), V(refused - the owner already has one)).
        type: str
      quarantined:
        description:
          - Whether the pod is quarantined, so that a release command is built when O(items[].release_command)
            is missing. Defaults to V(true) for O(event=quarantine) and to V(false) otherwise.
        type: bool
  summary:
    description:
      - Counts or other short facts shown under the title, in this order, for example the number of V(unhealthy)
        and of V(quarantined) pods.
    type: dict
    default: {}
  title:
    description: The message's title. Default - C(triage.k8s EVENT on CLUSTER - N pods).
    type: str
  text:
    description: A paragraph shown under the summary (escaped like everything else).
    type: str
  headers:
    description:
      - Extra HTTP headers, for example C(Authorization) for a JSON receiver that wants a token. Their values
        are secrets - never shown.
    type: dict
    default: {}
  timeout:
    description: Seconds to wait for each attempt's answer.
    type: int
    default: 10
  retries:
    description: How many more attempts after the first when the answer is 429, 5xx or none at all.
    type: int
    default: 3
  retry_max_delay:
    description: The longest wait between two attempts, in seconds, whatever C(Retry-After) asks.
    type: int
    default: 30
  validate_certs:
    description: Verify the receiver's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: A PEM file with the CA certificates to verify the receiver with (a private CA).
    type: path
  fail_on_error:
    description:
      - With V(false), a notification that could not be sent (or a missing or wrong O(url)) is a warning, not
        a failure; RV(sent) is V(false) and RV(msg) says why. The roles of this collection use V(false), so that
        a failed notification never hides the quarantine, scan or cleanup it was about.
    type: bool
    default: true
notes:
  - Test with a local receiver, not a real channel; C(tests/integration/receiver.py) is one.
  - When an attempt times out, the receiver may still have taken the message. If a later attempt succeeds
    the message may show twice, and the module warns; if none does, RV(delivery) is V(unknown) and
    C(changed) is V(true), as the message may have arrived.
seealso:
  - name: Slack incoming webhooks
    description: How to make the URL this module posts to.
    link: https://api.slack.com/messaging/webhooks
  - module: triage.k8s.crashloop_info
  - module: triage.k8s.pod_quarantine
"""

EXAMPLES = r"""
- name: Tell the on-call channel about a quarantine
  triage.k8s.notify:
    url: "{{ slack_webhook }}"
    event: quarantine
    cluster: prod-eu
    items:
      - namespace: shop
        pod: web-7d4b9c-x2x9k
        reason: OOM at 03:00
        class: oom_killed
        next_step: read kubectl logs --previous
        evidence_url: s3://evidence/prod-eu/shop-web-7d4b9c-x2x9k-20261201T030405Z/
    summary:
      quarantined: 1

- name: Post a scan's unhealthy pods as JSON, with a token; the URL comes from TRIAGE_K8S_NOTIFY_URL
  triage.k8s.notify:
    format: json
    event: scan
    cluster: "{{ inventory_hostname }}"
    headers:
      Authorization: "Bearer {{ receiver_token }}"
    items: >-
      {% set out = [] %}{% for p in scan.pods %}{% set _ = out.append({'namespace': p.namespace, 'pod': p.name,
      'class': p['class'], 'reason': p.explanation, 'next_step': p.next_step}) %}{% endfor %}{{ out }}
    summary:
      unhealthy: "{{ scan.pods | length }}"

- name: Notify, but never fail the play for it
  triage.k8s.notify:
    url: "{{ slack_webhook }}"
    event: cleanup
    cluster: prod-eu
    summary: {deleted: 3, kept: 9}
    fail_on_error: false
  register: notified
"""

RETURN = r"""
sent:
  description: Whether the receiver answered 2xx. V(false) in check mode.
  returned: always
  type: bool
  sample: true
delivery:
  description:
    - V(sent), V(failed), V(unknown) (no attempt succeeded and one timed out - the message may have arrived),
      or V(check_mode).
  returned: always
  type: str
  sample: sent
status:
  description: The HTTP status of the last answer; null when there was none (or in check mode).
  returned: always
  type: int
  sample: 200
attempts:
  description: How many POSTs were made (0 in check mode).
  returned: always
  type: int
  sample: 1
history:
  description: Each attempt - C(attempt), C(status), C(error) (what went wrong, or the receiver's answer), C(waited) (seconds, before the next).
  returned: always
  type: list
  elements: dict
  sample: [{"attempt": 1, "status": 503, "error": "busy", "waited": 2.0}, {"attempt": 2, "status": 200, "error": null, "waited": 0.0}]
payload:
  description: The payload sent (or, in check mode, that would be sent).
  returned: always
  type: dict
  sample: {"text": "*triage.k8s quarantine on prod-eu: 1 pod*", "blocks": []}
msg:
  description: What happened, naming the webhook by scheme and host only.
  returned: always
  type: str
  sample: "sent to the webhook (https://hooks.slack.com/...) (HTTP 200, attempt 1)"
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.triage.k8s.plugins.module_utils._notify.message import build_payload, webhook_name
from ansible_collections.triage.k8s.plugins.module_utils._notify.run import deliver, scrub

ITEM_SPEC = {
    "namespace": dict(type="str"),
    "pod": dict(type="str"),
    "reason": dict(type="str"),
    "class": dict(type="str"),
    "next_step": dict(type="str"),
    "evidence_url": dict(type="str"),
    "release_command": dict(type="str"),
    "note": dict(type="str"),
    "quarantined": dict(type="bool"),
}

ARGUMENT_SPEC = dict(
    url=dict(type="str", no_log=True, fallback=(env_fallback, ["TRIAGE_K8S_NOTIFY_URL"])),
    format=dict(type="str", default="slack", choices=["slack", "json"]),
    event=dict(type="str", required=True, choices=["quarantine", "release", "scan", "cleanup", "evidence"]),
    cluster=dict(type="str"),
    items=dict(type="list", elements="dict", default=[], options=ITEM_SPEC),
    summary=dict(type="dict", default={}),
    title=dict(type="str"),
    text=dict(type="str"),
    headers=dict(type="dict", default={}, no_log=True),
    timeout=dict(type="int", default=10),
    retries=dict(type="int", default=3),
    retry_max_delay=dict(type="int", default=30),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    fail_on_error=dict(type="bool", default=True),
)


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _problem(params):
    """What is wrong with the options, before anything is sent (None when nothing is)."""
    url = params.get("url") or ""
    if not url.strip():
        return "no webhook URL: set the url option or the TRIAGE_K8S_NOTIFY_URL environment variable"
    if not re.match(r"^https?://[^/?#\s]+", url.strip(), re.IGNORECASE):
        return "url must be an http:// or https:// URL, but %s is not" % webhook_name(url)
    if params["timeout"] < 1:
        return "timeout must be at least 1 (seconds), not %d" % params["timeout"]
    if params["retries"] < 0 or params["retries"] > 10:
        return "retries must be between 0 and 10, not %d" % params["retries"]
    if params["retry_max_delay"] < 0:
        return "retry_max_delay must be 0 or more (seconds), not %d" % params["retry_max_delay"]
    return None


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    payload = build_payload(params["format"], params["event"], cluster=params["cluster"], summary=params["summary"],
                            items=params["items"], title=params["title"], text=params["text"], generated_at=_now())
    result = dict(changed=False, sent=False, delivery="failed", status=None, attempts=0, history=[], payload=payload)
    url = (params.get("url") or "").strip()

    problem = _problem(params)
    if problem:
        result["msg"] = scrub("notification not sent: %s." % problem, url)
        if params["fail_on_error"]:
            module.fail_json(**result)
        module.warn(result["msg"])
        module.exit_json(**result)

    name = webhook_name(url)
    if module.check_mode:
        result.update(changed=True, delivery="check_mode",
                      msg="check mode: would send a %s notification (%s, %d pod%s) to %s; nothing was sent" % (
                          params["format"], params["event"], len(params["items"]),
                          "" if len(params["items"]) == 1 else "s", name))
        module.exit_json(**result)

    outcome = deliver(url, payload, headers=params["headers"], timeout=params["timeout"],
                      validate_certs=params["validate_certs"], ca_path=params["ca_path"], retries=params["retries"],
                      max_delay=params["retry_max_delay"])
    for warning in outcome.pop("warnings"):
        module.warn(scrub(warning, url))
    result.update(outcome)
    result["msg"] = scrub(result["msg"], url)
    # A message that may have arrived counts as a change: nobody should read it as "nothing happened".
    result["changed"] = outcome["delivery"] in ("sent", "unknown")
    if outcome["sent"]:
        module.exit_json(**result)
    if params["fail_on_error"]:
        module.fail_json(**result)
    module.warn(result["msg"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
