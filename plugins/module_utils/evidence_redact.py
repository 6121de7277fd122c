# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redaction for evidence bundles. Pure functions, no I/O.

- Manifests: literal env values whose names look secret become `<redacted>` wherever a container
  list appears (pods, owner templates, the last-applied-configuration annotation); `valueFrom`
  references are kept (they name a Secret key, they do not hold it). managedFields are dropped.
- Text (logs, exec output, command lines): regular expressions, applied line by line on bytes,
  so a stream of any size is redacted in bounded memory (LineRedactor).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re

REDACTED = "<redacted>"
REDACTED_BYTES = b"<redacted>"

# Env var names that look like they hold a secret. Over-redaction is harmless; a leak is not.
SECRET_NAME_WORDS = ("PASSWORD", "PASSWD", "PASSPHRASE", "PWD", "TOKEN", "SECRET", "KEY", "CREDENTIAL",
                     "CREDS", "AUTH", "PRIVATE", "CERT", "COOKIE", "SESSION", "SALT", "SIGNATURE", "DSN",
                     "CONNECTION_STRING", "CONN_STR", "LICENSE")

# Built-in text patterns, each with the lower-case literals one of which every match contains: the
# expression runs only on lines where one of them is found (a C-speed search), so text without
# secrets streams at disk speed. When a pattern has a group named `secret`, only that group is
# replaced. Patterns are applied to blocks of complete lines, so none may match a newline.
DEFAULT_TEXT_PATTERNS = (
    (r"(?i)\b(?:bearer|basic)[ \t]+(?P<secret>[A-Za-z0-9._~+/=-]{8,})", ("bearer", "basic")),
    (r"(?i)(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
     r"|client[_-]?secret|credentials?)[\"']?[ \t]*[:=][ \t]*[\"']?(?P<secret>[^\s\"',;&]{1,512})",
     ("pass", "pwd", "secret", "token", "key", "credential")),
    (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", ("akia", "asia")),
    (r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}", ("eyj",)),
    (r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]{1,256}:(?P<secret>[^/\s@]{1,256})@", ("://",)),
)
_PEM_BEGIN = re.compile(br"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_PEM_END = re.compile(br"-----END [A-Z0-9 ]*PRIVATE KEY-----")

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# A line longer than this is redacted and written in pieces, so memory stays bounded.
MAX_LINE_BYTES = 1024 * 1024


def secret_name_re(extra_words=None):
    words = [re.escape(w.upper()) for w in tuple(SECRET_NAME_WORDS) + tuple(extra_words or ())]
    return re.compile("(%s)" % "|".join(words))


def looks_secret(name, name_re=None):
    return bool((name_re or secret_name_re()).search(str(name or "").upper()))


def compile_patterns(extra=None, builtin=True):
    """[(byte regex, trigger literals or None)] for text redaction; ValueError naming a bad expression.

    Extra expressions have no triggers: they run over every block (and cost throughput).
    """
    compiled = []
    specs = (list(DEFAULT_TEXT_PATTERNS) if builtin else []) + [(text, None) for text in extra or []]
    for text, triggers in specs:
        try:
            regex = re.compile(text.encode("utf-8") if isinstance(text, str) else text)
        except re.error as exc:
            raise ValueError("invalid redact_patterns expression %r: %s" % (text, exc))
        compiled.append((regex, tuple(t.encode("ascii") for t in triggers) if triggers else None))
    return compiled


def _replace(match):
    if "secret" in match.re.groupindex and match.group("secret") is not None:
        start, end = match.span("secret")
        whole_start = match.start()
        whole = match.group(0)
        return whole[:start - whole_start] + REDACTED_BYTES + whole[end - whole_start:]
    return REDACTED_BYTES


def _candidate_lines(lowered, triggers):
    """Sorted, disjoint (start, end) spans of the lines of `lowered` that contain a trigger."""
    spans = []
    for trigger in triggers:
        pos = lowered.find(trigger)
        while pos >= 0:
            start = lowered.rfind(b"\n", 0, pos) + 1
            end = lowered.find(b"\n", pos)
            end = len(lowered) if end < 0 else end + 1
            spans.append((start, end))
            pos = lowered.find(trigger, end)
    spans.sort()
    merged = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def redact_bytes(data, patterns):
    """(redacted bytes, number of replacements)."""
    count = 0
    lowered = None
    for regex, triggers in patterns:
        if triggers is None:
            data, n = regex.subn(_replace, data)
            count += n
            lowered = None if n else lowered
            continue
        if lowered is None:
            lowered = data.lower()
        spans = _candidate_lines(lowered, triggers)
        if not spans:
            continue
        pieces, last, found = [], 0, 0
        for start, end in spans:
            line, n = regex.subn(_replace, data[start:end])
            pieces.append(data[last:start])
            pieces.append(line)
            last, found = end, found + n
        if found:
            pieces.append(data[last:])
            data, lowered, count = b"".join(pieces), None, count + found
    return data, count


def redact_text(text, patterns):
    if not isinstance(text, str) or not patterns:
        return text
    return redact_bytes(text.encode("utf-8"), patterns)[0].decode("utf-8", "replace")


class LineRedactor(object):
    """Redacts a byte stream line by line: feed(chunk) and flush() return what may be written.

    Output never depends on how the stream was split into chunks (lines shorter than
    MAX_LINE_BYTES), and at most one partial line is held. Lines between the BEGIN and END of a
    PEM private key are replaced whole.
    """

    def __init__(self, patterns, max_line=MAX_LINE_BYTES):
        self.patterns = patterns
        self.max_line = max_line
        self.carry = b""
        self.in_key = False
        self.count = 0

    def _line(self, line):
        if self.in_key:
            ending = line[len(line.rstrip(b"\r\n")):]
            end = _PEM_END.search(line)
            if end:
                self.in_key = False
                # Whatever precedes the END marker on its line is key material too.
                self.count += int(end.start() > 0)
                return (REDACTED_BYTES if end.start() else b"") + line[end.start():]
            self.count += 1
            return REDACTED_BYTES + ending
        begin = _PEM_BEGIN.search(line)
        if begin and not _PEM_END.search(line, begin.end()):
            self.in_key = True
        redacted, n = redact_bytes(line, self.patterns)
        self.count += n
        return redacted

    def _lines(self, block):
        """Complete lines: one pass per pattern over the whole block, unless a key block is near."""
        if self.in_key or b"PRIVATE KEY-----" in block:
            return b"".join(self._line(line) for line in block.splitlines(True))
        redacted, n = redact_bytes(block, self.patterns)
        self.count += n
        return redacted

    def feed(self, chunk):
        data = self.carry + chunk if self.carry else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            if len(data) < self.max_line:
                self.carry = data
                return b""
            self.carry = b""
            return self._line(data)
        self.carry = data[cut + 1:]
        out = self._lines(data[:cut + 1])
        if len(self.carry) >= self.max_line:
            out += self._line(self.carry)
            self.carry = b""
        return out

    def flush(self):
        data, self.carry = self.carry, b""
        return self._line(data) if data else b""


# ---------------------------------------------------------------- manifests

def strip_managed_fields(obj):
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return obj


def _redact_env(env, name_re, patterns):
    count = 0
    for entry in env:
        if not isinstance(entry, dict):
            continue
        if "value" in entry and entry["value"] not in (None, "") and looks_secret(entry.get("name"), name_re):
            entry["value"] = REDACTED
            count += 1
        elif isinstance(entry.get("value"), str) and patterns:
            new = redact_text(entry["value"], patterns)
            count += int(new != entry["value"])
            entry["value"] = new
    return count


def _redact_container(container, name_re, patterns):
    count = 0
    if isinstance(container.get("env"), list):
        count += _redact_env(container["env"], name_re, patterns)
    for field in ("command", "args"):
        values = container.get(field)
        if isinstance(values, list) and patterns:
            new = [redact_text(v, patterns) for v in values]
            count += sum(1 for a, b in zip(values, new) if a != b)
            container[field] = new
    return count


def _walk(node, name_re, patterns):
    """Redact every container-like dict under node (any depth: templates of templates)."""
    count = 0
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers", "ephemeralContainers") and isinstance(value, list):
                for container in value:
                    if isinstance(container, dict):
                        count += _redact_container(container, name_re, patterns)
            count += _walk(value, name_re, patterns)
    elif isinstance(node, list):
        for value in node:
            count += _walk(value, name_re, patterns)
    return count


def clean_manifest(obj, redact=True, patterns=None, extra_names=None):
    """(a deep copy without managedFields and, with redact, without secret-looking env values,
    number of values redacted). The last-applied-configuration annotation is redacted the same
    way (it is a full copy of the spec as applied); if it cannot be parsed it is replaced."""
    obj = strip_managed_fields(copy.deepcopy(obj))
    if not redact:
        return obj, 0
    name_re = secret_name_re(extra_names)
    count = _walk(obj.get("spec"), name_re, patterns)
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if LAST_APPLIED in annotations:
        try:
            applied = json.loads(annotations[LAST_APPLIED])
            inner = _walk(applied, name_re, patterns)
            if inner:
                annotations[LAST_APPLIED] = json.dumps(applied, sort_keys=True, separators=(",", ":"))
                count += inner
        except (TypeError, ValueError):
            annotations[LAST_APPLIED] = REDACTED
            count += 1
    return obj, count
