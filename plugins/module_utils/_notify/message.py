# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a notification says, as pure functions: the Slack payload (text + blocks), the generic JSON
payload, the release command, the webhook's name without its secret path, and the retry decision.

Everything a pod can influence (reasons, next steps, notes, even names) is treated as hostile:
in Slack mrkdwn, & < > are escaped, which turns <!channel>, <!here>, <@U123> and <#C123> into
plain text, and every @word gets a word joiner after its @, so Slack-compatible servers that
parse plain @channel, @here, @all or @user (Mattermost, Rocket.Chat) ping nobody.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json
import re
import time
from email.utils import parsedate_tz, mktime_tz

from ansible_collections.triage.k8s.plugins.module_utils._contract import commands

SOURCE = "triage.k8s"
SCHEMA_VERSION = 1
EVENTS = ("quarantine", "release", "scan", "cleanup", "evidence")
ITEM_KEYS = ("namespace", "pod", "reason", "class", "next_step", "evidence_url", "release_command", "note")

# Slack's limits: a message's text is truncated after 40,000 characters, a message takes at most
# 50 blocks, a section's text at most 3,000 characters and a header's at most 150.
SLACK_TEXT_LIMIT = 40000
SLACK_BLOCK_LIMIT = 50
SLACK_SECTION_LIMIT = 3000
SLACK_HEADER_LIMIT = 150
# Room kept at the end of the text for the "and N more" line.
_MORE_RESERVE = 120
# One field of one item is never longer than this in Slack (the JSON payload keeps them whole).
_FIELD_LIMIT = 1500

# A word joiner (U+2060): invisible, and it breaks @channel / @here / @user apart for every parser.
_JOINER = u"\u2060"
_MENTION = re.compile(r"@(?=[\w.\-])", re.UNICODE)
_CONTROL = re.compile(u"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_ENTITY_TAIL = re.compile(r"&[a-z]{0,4}$")

_TITLES = {
    "quarantine": u"quarantine",
    "release": u"release",
    "scan": u"crash-loop scan",
    "cleanup": u"cleanup",
    "evidence": u"evidence",
}


def text_of(value):
    """A value as one line of text (None stays None): bytes decoded, control characters and
    bidirectional overrides dropped (they can make a message read other than it is)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif not isinstance(value, str):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
    return _CONTROL.sub(u"", value.replace(u"\r\n", u"\n").replace(u"\r", u"\n").replace(u"\t", u" "))


def defang(text):
    """Text in which no @word can ping anyone: a word joiner after every @ that starts a word."""
    return _MENTION.sub(u"@" + _JOINER, text)


def escape_mrkdwn(text):
    """Slack mrkdwn-safe text: & < > escaped (no <!channel>, <@U..>, <#C..>, <url|links>), @words defanged."""
    text = text_of(text) or u""
    return defang(text.replace(u"&", u"&amp;").replace(u"<", u"&lt;").replace(u">", u"&gt;"))


def plain(text):
    """Text for a plain_text block (Slack shows it as it is): @words defanged, "<!" and "<@" broken apart."""
    text = text_of(text) or u""
    return defang(re.sub(u"<(?=[!@#])", u"<" + _JOINER, text))


def cut(text, limit, ellipsis=u"\u2026"):
    """At most limit characters, ending in an ellipsis when cut, never inside an &entity;."""
    if len(text) <= limit:
        return text
    head = text[:max(limit - len(ellipsis), 0)]
    tail = _ENTITY_TAIL.search(head)
    if tail:
        head = head[:tail.start()]
    return head + ellipsis


def _one_line(text):
    return u" ".join((text_of(text) or u"").split())


def _field(text, limit):
    """One field on one line, escaped, then cut to limit."""
    return cut(escape_mrkdwn(_one_line(text)), limit)


# -- the release command -------------------------------------------------------------------------

def release_command(pod, namespace, cluster=None):
    """The release line for a quarantined pod (_contract/commands.py); None when the pod or the
    namespace is unknown."""
    return commands.release_command(text_of(namespace), text_of(pod), text_of(cluster))


# -- the webhook, named without its secret -------------------------------------------------------

def webhook_name(url):
    """'the webhook (https://hooks.slack.com/...)': scheme, host and port only. The path and query
    of an incoming webhook URL are its secret, and so are user and password."""
    text = text_of(url) or u""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#]*)", text)
    if not match:
        return u"the webhook (not an http(s) URL)"
    host = match.group(2).rpartition(u"@")[2]
    return u"the webhook (%s://%s/...)" % (match.group(1).lower(), host)


# -- items and summaries --------------------------------------------------------------------------

def normalize_item(item, event=None, cluster=None):
    """An item with every key of ITEM_KEYS (None when missing), text cleaned; the release command
    filled in from pod, namespace and cluster when the item says it is quarantined and has none."""
    item = dict(item or {})
    out = dict((key, text_of(item.get(key)) if item.get(key) not in (None, u"") else None) for key in ITEM_KEYS)
    quarantined = item.get("quarantined")
    if quarantined is None:
        quarantined = event == "quarantine"
    if not out["release_command"] and quarantined:
        out["release_command"] = release_command(out["pod"], out["namespace"], cluster)
    return out


def _summary_value(value):
    if isinstance(value, (dict, list)):
        return cut(text_of(value), 200)
    return text_of(value)


def summary_line(summary):
    """'unhealthy: 3 · quarantined: 1' in the dict's own order."""
    parts = []
    for key, value in (summary or {}).items():
        parts.append(u"%s: %s" % (text_of(key), _summary_value(value)))
    return u" \u00b7 ".join(parts)


def default_title(event, cluster, count):
    what = _TITLES.get(event, text_of(event) or u"notification")
    where = text_of(cluster) or u"unknown cluster"
    pods = u"1 pod" if count == 1 else u"%d pods" % count
    return u"triage.k8s %s on %s: %s" % (what, where, pods)


def _link(url):
    """A clickable link for http(s) URLs; anything else (s3://...) as code."""
    url = text_of(url)
    if re.match(r"^https?://[^\s|<>]+$", url):
        target = url.replace(u"&", u"&amp;").replace(u"<", u"&lt;").replace(u">", u"&gt;")
        return u"<%s|%s>" % (target, escape_mrkdwn(cut(url, 80)))
    return _code(url)


def _code(text):
    """Inline code, unless the text holds a backtick (Slack has no escape for one inside code)."""
    text = escape_mrkdwn(text)
    if u"`" in text:
        return text
    return u"`%s`" % text


def item_mrkdwn(item):
    """One item as Slack mrkdwn lines; only the fields it has."""
    pod = item.get("pod") or u"(pod unknown)"
    who = u"%s/%s" % (item["namespace"], pod) if item.get("namespace") else pod
    head = u"*%s*" % _field(who, 300)
    if item.get("class"):
        head += u" \u2014 %s" % _field(item["class"], 100)
    lines = [head]
    for key, label in (("reason", u"Reason"), ("note", u"Outcome"), ("next_step", u"Next step")):
        if item.get(key):
            lines.append(u"%s: %s" % (label, _field(item[key], _FIELD_LIMIT)))
    if item.get("evidence_url"):
        lines.append(u"Evidence: %s" % _link(cut(item["evidence_url"], _FIELD_LIMIT)))
    if item.get("release_command"):
        lines.append(u"Release: %s" % _code(cut(item["release_command"], _FIELD_LIMIT)))
    return cut(u"\n".join(lines), SLACK_SECTION_LIMIT)


def _more_line(count):
    return u"\u2026and %d more pod%s not shown here" % (count, u"" if count == 1 else u"s")


# -- the payloads -------------------------------------------------------------------------------------

def slack_payload(event, cluster=None, summary=None, items=None, title=None, text=None, generated_at=None):
    """The Slack incoming-webhook payload: `text` (the whole message in mrkdwn, what Slack puts in
    the notification and what Slack-compatible servers that ignore blocks show) and `blocks` (a
    header, the summary, the free text, one section per item, and "and N more" when they do not
    all fit in 50 blocks or 40,000 characters)."""
    items = [normalize_item(item, event, cluster) for item in (items or [])]
    heading = cut(plain(_one_line(title) if title else default_title(event, cluster, len(items))), SLACK_HEADER_LIMIT)
    counts = summary_line(summary)
    intro = []
    if counts:
        intro.append(cut(escape_mrkdwn(counts), SLACK_SECTION_LIMIT))
    if text:
        intro.append(cut(escape_mrkdwn(text), SLACK_SECTION_LIMIT))
    if cluster or generated_at:
        bits = []
        if cluster:
            bits.append(u"cluster %s" % _field(cluster, 200))
        if generated_at:
            bits.append(escape_mrkdwn(generated_at))
        intro_context = u" \u00b7 ".join(bits)
    else:
        intro_context = None

    blocks = [{"type": "header", "text": {"type": "plain_text", "text": heading, "emoji": True}}]
    for part in intro:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": part}})
    if intro_context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": intro_context}]})

    lines = [u"*%s*" % escape_mrkdwn(heading)] + intro + ([intro_context] if intro_context else [])
    used = len(u"\n".join(lines))
    # Blocks left for items, keeping one for "and N more" if needed.
    room = SLACK_BLOCK_LIMIT - len(blocks)
    shown = 0
    for index, item in enumerate(items):
        section = item_mrkdwn(item)
        last = index == len(items) - 1
        # This item, and one more block for "and N more" unless it is the last.
        if room < (1 if last else 2):
            break
        if used + 2 + len(section) > SLACK_TEXT_LIMIT - (0 if last else _MORE_RESERVE):
            break
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": section}})
        lines.append(section)
        used += 2 + len(section)
        room -= 1
        shown += 1
    hidden = len(items) - shown
    if hidden:
        more = _more_line(hidden)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
        lines.append(more)
    if not items:
        lines.append(u"No pods to report.")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": u"No pods to report."}})
    message = cut(u"\n\n".join(lines), SLACK_TEXT_LIMIT)
    return {"text": message, "blocks": blocks[:SLACK_BLOCK_LIMIT], "unfurl_links": False, "unfurl_media": False}


def json_payload(event, cluster=None, summary=None, items=None, title=None, text=None, generated_at=None):
    """The generic JSON payload, schema version 1 (docs/notifications.md). Values are as given
    (only control characters dropped): a receiver that renders them must escape them itself."""
    items = [normalize_item(item, event, cluster) for item in (items or [])]
    return {
        "source": SOURCE,
        "version": SCHEMA_VERSION,
        "event": event,
        "cluster": text_of(cluster),
        "title": _one_line(title) if title else default_title(event, cluster, len(items)),
        "text": text_of(text),
        "summary": dict(summary or {}),
        "items": items,
        "generated_at": generated_at,
    }


def build_payload(fmt, event, cluster=None, summary=None, items=None, title=None, text=None, generated_at=None):
    if fmt == "slack":
        return slack_payload(event, cluster, summary, items, title, text, generated_at)
    if fmt == "json":
        return json_payload(event, cluster, summary, items, title, text, generated_at)
    raise ValueError("unknown notification format %r" % (fmt,))


def encode(payload):
    """The request body: compact UTF-8 JSON (non-ASCII kept as it is)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=False).encode("utf-8")


# -- retries ------------------------------------------------------------------------------------------

def retryable(status):
    """429 and 5xx are worth another attempt; so is no answer at all (None: connection refused,
    reset, timed out). Other 4xx, and 3xx (redirects are not followed), are not."""
    return status is None or status == 429 or 500 <= status <= 599


def retry_after_seconds(value, now=None):
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), None when absent or unreadable."""
    value = text_of(value)
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    parsed = parsedate_tz(value)
    if parsed is None:
        return None
    when = mktime_tz(parsed)
    now = calendar.timegm(time.gmtime()) if now is None else now
    return max(float(when - now), 0.0)


def retry_delay(status, attempt, retries, retry_after=None, max_delay=30.0, base=1.0, now=None):
    """Seconds to wait before the next attempt, or None for no next attempt.

    attempt counts from 1; retries is how many attempts may follow the first. The server's
    Retry-After is honoured, capped at max_delay; without one, 1 s, 2 s, 4 s ... also capped.
    """
    if attempt > retries or not retryable(status):
        return None
    wanted = retry_after_seconds(retry_after, now=now)
    if wanted is None:
        wanted = base * (2 ** (attempt - 1))
    return min(max(wanted, 0.0), float(max_delay))


# -- messages -------------------------------------------------------------------------------------------

_HINTS = {
    400: "the receiver refused the payload",
    401: "the receiver wants credentials: check the headers (Authorization) or the webhook's token",
    403: "the receiver refused these credentials: check the headers or the webhook's permissions",
    404: "no webhook at this URL: check the URL (url or TRIAGE_K8S_NOTIFY_URL); Slack answers 404 no_service "
         "when the webhook was removed",
    405: "this URL does not take POST: check that it is the webhook's URL",
    410: "the webhook is gone (revoked or its channel archived): make a new one",
    413: "the payload is too large for this receiver",
}


def failure_hint(status):
    """What to do about an answer that was not 2xx."""
    if status in _HINTS:
        return _HINTS[status]
    if status == 429:
        return "the receiver is rate limiting: send fewer notifications or try later"
    if status is not None and 500 <= status <= 599:
        return "the receiver has a server error: try later"
    if status is not None and 300 <= status <= 399:
        return "the receiver redirects, and redirects are not followed: use the URL it redirects to"
    if status is not None and 400 <= status <= 499:
        return "the receiver refused the request"
    return None
