# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _notify/message.py: the Slack and JSON payloads (escaping, mentions, limits,
missing fields, non-ASCII), the release command, the webhook's name, and the retry decision."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import shlex

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._notify import message as m

JOINER = u"\u2060"


def _slack(items=None, **kwargs):
    kwargs.setdefault("cluster", "prod-eu")
    return m.slack_payload(kwargs.pop("event", "quarantine"), items=items, **kwargs)


def _all_mrkdwn(payload):
    """Every mrkdwn string of a Slack payload: the text and each block's text."""
    out = [payload["text"]]
    for block in payload["blocks"]:
        if "text" in block and block["text"]["type"] == "mrkdwn":
            out.append(block["text"]["text"])
        for element in block.get("elements", []):
            out.append(element["text"])
    return out


# -- escaping and mentions -------------------------------------------------------------------

@pytest.mark.parametrize("hostile", [
    u"<!channel> wake up",
    u"<!here|here>",
    u"<!everyone>",
    u"<!subteam^S123|@oncall>",
    u"<@U024BE7LH> look",
    u"<#C024BE7LR|general>",
    u"<https://evil.example/|click me>",
    u"@channel @here @everyone @all",
    u"ping @alice and @bob.smith and @ops-team",
])
def test_hostile_pod_messages_ping_nobody(hostile):
    payload = _slack([{"namespace": "shop", "pod": "web-1", "reason": hostile, "next_step": hostile, "note": hostile,
                       "class": hostile}], text=hostile, summary={"why": hostile}, title=hostile)
    for text in _all_mrkdwn(payload):
        assert u"<!" not in text and u"<@" not in text and u"<#" not in text and u"<http" not in text
        # Every @word has the joiner right after its @: no parser sees @channel or @alice.
        assert not re.search(u"@(?!%s)[\\w.-]" % JOINER, text), text
    header = payload["blocks"][0]["text"]["text"]
    assert not re.search(u"@(?!%s)\\w" % JOINER, header)
    assert u"<!" not in header and u"<@" not in header


def test_ampersand_and_angle_brackets_are_escaped_once():
    assert m.escape_mrkdwn(u"a & b < c > d") == u"a &amp; b &lt; c &gt; d"
    assert m.escape_mrkdwn(u"&amp;") == u"&amp;amp;"
    assert m.escape_mrkdwn(None) == u""


def test_defang_keeps_email_like_text_readable():
    assert m.defang(u"mail ops@example.com") == u"mail ops@%sexample.com" % JOINER
    assert m.defang(u"a @ b") == u"a @ b"  # a lone @ mentions nobody


def test_control_and_bidi_characters_are_dropped():
    assert m.text_of(u"ok\u202eevil\x00\x1b[31m") == u"okevil[31m"
    assert m.text_of(b"bytes \xff") == u"bytes \ufffd"
    assert m.text_of(3) == u"3"
    assert m.text_of({"b": 1, "a": 2}) == u'{"a": 2, "b": 1}'


def test_plain_text_header_is_not_html_escaped():
    payload = _slack([], title=u"R&D <cluster>")
    assert payload["blocks"][0]["text"]["text"] == u"R&D <cluster>"
    assert payload["blocks"][0]["text"]["type"] == "plain_text"


def test_the_mrkdwn_fields_are_escaped_but_link_targets_stay_links():
    payload = _slack([{"pod": "p", "namespace": "n", "evidence_url": "https://minio.example/b/k?x=1&y=2"}])
    section = payload["blocks"][-1]["text"]["text"]
    assert u"Evidence: <https://minio.example/b/k?x=1&amp;y=2|https://minio.example/b/k?x=1&amp;y=2>" in section


def test_s3_urls_are_code_not_links():
    payload = _slack([{"pod": "p", "namespace": "n", "evidence_url": "s3://bucket/prod/shop-web-1/"}])
    assert u"Evidence: `s3://bucket/prod/shop-web-1/`" in payload["blocks"][-1]["text"]["text"]


def test_a_backtick_in_a_command_drops_the_code_span_rather_than_break_it():
    payload = _slack([{"pod": "p", "namespace": "n", "release_command": "echo `id`"}])
    assert u"Release: echo `id`" in payload["blocks"][-1]["text"]["text"]


# -- content and missing fields --------------------------------------------------------------

def test_a_full_item_shows_every_field():
    item = {"namespace": "shop", "pod": "web-7d4b9c-x2x9k", "reason": "OOM at 03:00", "class": "oom_killed",
            "next_step": "raise the memory limit", "evidence_url": "s3://ev/shop/", "note": "quarantined now"}
    payload = _slack([item], summary={"quarantined": 1, "unhealthy": 3}, generated_at="2026-12-01T03:04:05Z")
    blocks = payload["blocks"]
    header = {"type": "plain_text", "emoji": True, "text": u"triage.k8s quarantine on prod-eu: 1 pod"}
    assert blocks[0] == {"type": "header", "text": header}
    assert blocks[1]["text"]["text"] == u"quarantined: 1 \u00b7 unhealthy: 3"
    assert blocks[2]["type"] == "context" and u"cluster prod-eu" in blocks[2]["elements"][0]["text"]
    assert u"2026-12-01T03:04:05Z" in blocks[2]["elements"][0]["text"]
    section = blocks[3]["text"]["text"]
    assert section.splitlines() == [
        u"*shop/web-7d4b9c-x2x9k* \u2014 oom_killed",
        u"Reason: OOM at 03:00",
        u"Outcome: quarantined now",
        u"Next step: raise the memory limit",
        u"Evidence: `s3://ev/shop/`",
        u"Release: `ansible-playbook triage.k8s.release -e pod=shop/web-7d4b9c-x2x9k -e context=prod-eu`",
    ]
    # The text carries the same, for notifications and for servers that ignore blocks.
    assert section in payload["text"] and u"quarantined: 1" in payload["text"]
    assert payload["unfurl_links"] is False


def test_missing_fields_are_left_out_not_shown_as_none():
    payload = _slack([{}, {"pod": "lonely"}, {"namespace": "ns"}], event="scan", cluster=None)
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert sections == [u"*(pod unknown)*", u"*lonely*", u"*ns/(pod unknown)*"]
    assert u"None" not in payload["text"] and u"null" not in payload["text"]
    assert payload["blocks"][0]["text"]["text"] == u"triage.k8s crash-loop scan on unknown cluster: 3 pods"


def test_no_items_says_so():
    payload = _slack([], event="cleanup", summary={"deleted": 0})
    assert payload["blocks"][-1]["text"]["text"] == u"No pods to report."
    assert payload["text"].endswith(u"No pods to report.")


def test_a_release_command_is_built_only_for_quarantined_pods():
    quarantine = m.normalize_item({"pod": "web", "namespace": "shop"}, "quarantine", "ctx")
    assert quarantine["release_command"] == "ansible-playbook triage.k8s.release -e pod=shop/web -e context=ctx"
    scan = m.normalize_item({"pod": "web", "namespace": "shop"}, "scan", "ctx")
    assert scan["release_command"] is None
    scan_quarantined = m.normalize_item({"pod": "web", "namespace": "shop", "quarantined": True}, "scan", None)
    assert scan_quarantined["release_command"] == "ansible-playbook triage.k8s.release -e pod=shop/web"
    given = m.normalize_item({"pod": "web", "namespace": "shop", "release_command": "mine"}, "quarantine", "ctx")
    assert given["release_command"] == "mine"
    released = m.normalize_item({"pod": "web", "namespace": "shop", "quarantined": False}, "quarantine", "ctx")
    assert released["release_command"] is None
    assert m.normalize_item({"pod": "web"}, "quarantine", "ctx")["release_command"] is None


def test_non_ascii_survives_both_payloads_and_the_wire():
    item = {"namespace": u"über", "pod": u"wéb-1", "reason": u"日本語のエラー 🚨", "next_step": u"redémarrer"}
    slack = _slack([item], cluster=u"prod-zürich")
    assert u"日本語のエラー 🚨" in slack["text"] and u"prod-zürich" in slack["blocks"][0]["text"]["text"]
    body = m.encode(slack)
    assert isinstance(body, bytes) and json.loads(body.decode("utf-8")) == slack
    assert u"日本語".encode("utf-8") in body  # sent as UTF-8, not \\u escapes
    js = m.json_payload("quarantine", u"prod-zürich", {}, [item])
    assert js["items"][0]["reason"] == u"日本語のエラー 🚨"


# -- limits -------------------------------------------------------------------------------------

def _pods(n, reason_len=10):
    return [{"namespace": "ns", "pod": "pod-%04d" % i, "reason": "r" * reason_len, "class": "crash_loop"} for i in range(n)]


def test_at_most_50_blocks_and_the_rest_summarised():
    payload = _slack(_pods(120), summary={"unhealthy": 120}, event="scan")
    blocks = payload["blocks"]
    assert len(blocks) == m.SLACK_BLOCK_LIMIT
    shown = [b for b in blocks if b["type"] == "section" and b["text"]["text"].startswith("*ns/pod-")]
    more = blocks[-1]
    assert more["type"] == "context"
    assert more["elements"][0]["text"] == u"\u2026and %d more pods not shown here" % (120 - len(shown))
    assert u"and %d more pods" % (120 - len(shown)) in payload["text"]
    # The first pods are the ones shown, in order.
    assert shown[0]["text"]["text"].startswith("*ns/pod-0000*")


def test_exactly_as_many_items_as_blocks_allow_need_no_more_line():
    # header + summary section + context = 3 blocks; 47 items fill the 50.
    payload = _slack(_pods(47), summary={"n": 47}, generated_at="t")
    assert len(payload["blocks"]) == 50 and payload["blocks"][-1]["type"] == "section"
    payload = _slack(_pods(48), summary={"n": 48}, generated_at="t")
    assert len(payload["blocks"]) == 50 and payload["blocks"][-1]["type"] == "context"
    assert u"and 2 more pods" in payload["blocks"][-1]["elements"][0]["text"]


def test_text_stays_under_40000_characters():
    payload = _slack(_pods(45, reason_len=1400), event="scan")
    assert len(payload["text"]) <= m.SLACK_TEXT_LIMIT
    assert u"more pods not shown here" in payload["text"]
    for block in payload["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= m.SLACK_SECTION_LIMIT


def test_one_huge_field_is_cut_not_the_whole_item():
    payload = _slack([{"namespace": "ns", "pod": "p", "reason": "x" * 100000, "next_step": "look"}])
    section = payload["blocks"][-1]["text"]["text"]
    assert len(section) <= m.SLACK_SECTION_LIMIT
    assert u"\u2026" in section and u"Next step: look" in section


def test_cutting_never_splits_an_entity():
    # 1,500 '&' become 7,500 characters of &amp;: the cut lands on a whole entity.
    payload = _slack([{"namespace": "ns", "pod": "p", "reason": "&" * 1500}])
    reason = [line for line in payload["blocks"][-1]["text"]["text"].splitlines() if line.startswith("Reason")][0]
    assert reason.endswith(u"&amp;\u2026")
    assert m.cut(u"abc&amp;def", 6) == u"abc\u2026"
    assert m.cut(u"short", 10) == u"short"


def test_long_titles_fit_the_header():
    payload = _slack([], title="t" * 500)
    assert len(payload["blocks"][0]["text"]["text"]) == m.SLACK_HEADER_LIMIT


# -- JSON payload --------------------------------------------------------------------------

def test_json_payload_schema():
    payload = m.json_payload("scan", "prod-eu", {"unhealthy": 2}, [{"pod": "a", "namespace": "n", "class": "crash_loop"}],
                             generated_at="2026-12-01T03:04:05Z")
    assert sorted(payload) == ["cluster", "event", "generated_at", "items", "source", "summary", "text", "title",
                               "version"]
    assert payload["source"] == "triage.k8s" and payload["version"] == 1 and payload["event"] == "scan"
    assert payload["items"] == [{"namespace": "n", "pod": "a", "reason": None, "class": "crash_loop", "next_step": None,
                                 "evidence_url": None, "release_command": None, "note": None}]
    assert payload["summary"] == {"unhealthy": 2}
    assert payload["title"] == "triage.k8s crash-loop scan on prod-eu: 1 pod"


def test_json_payload_keeps_every_item_and_raw_text():
    payload = m.json_payload("scan", "c", {}, _pods(500))
    assert len(payload["items"]) == 500
    raw = m.json_payload("quarantine", "c", {}, [{"pod": "p", "namespace": "n", "reason": "<!channel> & @here"}])
    assert raw["items"][0]["reason"] == "<!channel> & @here"  # the receiver escapes for its own renderer


def test_build_payload_rejects_an_unknown_format():
    with pytest.raises(ValueError):
        m.build_payload("teams", "scan")


# -- the release command -------------------------------------------------------------------

def test_release_command_plain_names():
    assert m.release_command("web-1", "shop", "kwok-triage-a") == (
        "ansible-playbook triage.k8s.release -e pod=shop/web-1 -e context=kwok-triage-a")
    assert m.release_command("web-1", "shop") == "ansible-playbook triage.k8s.release -e pod=shop/web-1"
    assert m.release_command(None, "shop") is None and m.release_command("p", "") is None


@pytest.mark.parametrize("cluster", ["my cluster", "a=b", "it's; rm -rf /", "$(id)", "ctx\"quoted\"", u"zürich ctx"])
def test_release_command_quotes_for_the_shell_and_for_ansible(cluster):
    command = m.release_command("web", "shop", cluster)
    words = shlex.split(command)
    assert words[:2] == ["ansible-playbook", "triage.k8s.release"]
    assert words[-2] == "-e" and json.loads(words[-1]) == {"context": cluster}


def test_release_command_marks_jinja_unsafe():
    command = m.release_command("web", "shop", "ctx-{{ lookup('pipe', 'id') }}")
    words = shlex.split(command)
    assert words[-1] == u'{"context": !unsafe "ctx-{{ lookup(\'pipe\', \'id\') }}"}'


# -- the webhook's name ---------------------------------------------------------------------

@pytest.mark.parametrize("url, name", [
    ("https://hooks.slack.com/services/T000/B000/XXXXXXXX", "the webhook (https://hooks.slack.com/...)"),
    ("http://127.0.0.1:8080/hook?token=abc", "the webhook (http://127.0.0.1:8080/...)"),
    ("https://user:pass@chat.example:8443/hooks/xyz", "the webhook (https://chat.example:8443/...)"),
    ("HTTPS://Hooks.Example", "the webhook (https://Hooks.Example/...)"),
    ("hooks.slack.com/services/T/B/X", "the webhook (not an http(s) URL)"),
    ("", "the webhook (not an http(s) URL)"),
])
def test_webhook_name_never_shows_the_path(url, name):
    assert m.webhook_name(url) == name


# -- retries --------------------------------------------------------------------------------

@pytest.mark.parametrize("status, retried", [
    (None, True), (429, True), (500, True), (502, True), (503, True), (599, True),
    (400, False), (401, False), (403, False), (404, False), (410, False), (413, False), (301, False), (200, False),
])
def test_what_is_retried(status, retried):
    assert m.retryable(status) is retried or status == 200
    assert (m.retry_delay(status, 1, 3) is not None) is retried


def test_backoff_doubles_and_is_capped():
    assert [m.retry_delay(503, attempt, 10, max_delay=5) for attempt in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_no_retry_after_the_last_attempt():
    assert m.retry_delay(503, 3, 3) is not None
    assert m.retry_delay(503, 4, 3) is None
    assert m.retry_delay(503, 1, 0) is None


def test_retry_after_is_honoured_and_capped():
    assert m.retry_delay(429, 1, 3, retry_after="7") == 7.0
    assert m.retry_delay(429, 1, 3, retry_after="3600", max_delay=30) == 30.0
    assert m.retry_delay(429, 1, 3, retry_after="0") == 0.0
    assert m.retry_delay(429, 1, 3, retry_after="soon") == 1.0  # unreadable: the backoff
    assert m.retry_delay(404, 1, 3, retry_after="1") is None  # a 4xx is not retried, whatever it asks


def test_retry_after_http_date():
    now = 1764558245  # 2025-12-01T03:04:05Z
    assert m.retry_after_seconds("Mon, 01 Dec 2025 03:04:15 GMT", now=now) == 10.0
    assert m.retry_after_seconds("Mon, 01 Dec 2025 03:00:00 GMT", now=now) == 0.0
    assert m.retry_after_seconds(None) is None and m.retry_after_seconds("") is None
    assert m.retry_after_seconds("not a date") is None


def test_failure_hints_say_what_to_do():
    assert "check the URL" in m.failure_hint(404)
    assert "headers" in m.failure_hint(401)
    assert "rate limiting" in m.failure_hint(429)
    assert "try later" in m.failure_hint(503)
    assert "redirects are not followed" in m.failure_hint(302)
    assert m.failure_hint(None) is None
