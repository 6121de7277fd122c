# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text redaction for evidence bundles: one rule set (evidence_secret_shapes.SHAPES plus the
user's redact_patterns), applied to bytes line by line, so a stream of any size is redacted in
bounded memory (LineRedactor); multi-line PEM private keys are replaced line by line. Every
replacement is counted by shape (Tally), for the manifest. Pure functions, no I/O.

Structured files (YAML, JSON, manifests) are redacted with the same rules by
evidence_redact_objects.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import threading

from ansible_collections.triage.k8s.plugins.module_utils._evidence.secret_shapes import (
    PEM_BEGIN,
    PEM_END,
    PEM_SHAPE,
    SHAPES,
)

REDACTED = "<redacted>"
REDACTED_BYTES = b"<redacted>"

_PEM_BEGIN = re.compile(PEM_BEGIN.encode("ascii"))
_PEM_END = re.compile(PEM_END.encode("ascii"))

# A line longer than this is redacted and written in pieces, so memory stays bounded.
MAX_LINE_BYTES = 1024 * 1024


class Tally(object):
    """Replacements counted by shape name; shared by the threads of one collection."""

    def __init__(self):
        self._lock = threading.Lock()
        self.counts = {}

    def add(self, name, n=1):
        if n:
            with self._lock:
                self.counts[name] = self.counts.get(name, 0) + n

    @property
    def total(self):
        with self._lock:
            return sum(self.counts.values())

    def as_dict(self):
        with self._lock:
            return dict(sorted(self.counts.items()))


def add(tally, name, n=1):
    if tally is not None:
        tally.add(name, n)


def compile_patterns(extra=None, builtin=True):
    """[(byte regex, trigger literals or None, shape name)]; ValueError naming a bad expression.

    Extra expressions have no triggers: they run over every block (and cost throughput).
    """
    compiled = []
    specs = [(name, text, triggers) for name, _what, text, triggers in SHAPES] if builtin else []
    specs += [("redact_patterns[%d]" % index, text, None) for index, text in enumerate(extra or [])]
    for name, text, triggers in specs:
        try:
            regex = re.compile(text.encode("utf-8") if isinstance(text, str) else text)
        except re.error as exc:
            raise ValueError("invalid redact_patterns expression %r: %s" % (text, exc))
        compiled.append((regex, tuple(t.encode("ascii") for t in triggers) if triggers else None, name))
    return compiled


def _replace(match):
    """The match with its `secret*` groups replaced, or wholly replaced when it has none."""
    spans = [match.span(g) for g in match.re.groupindex if g.startswith("secret") and match.group(g) is not None]
    if not spans:
        return REDACTED_BYTES
    whole, start = match.group(0), match.start()
    for first, last in sorted(spans, reverse=True):
        whole = whole[:first - start] + REDACTED_BYTES + whole[last - start:]
    return whole


def _lines_with(lowered, literal):
    """Start offsets of the lines of `lowered` that contain literal, each line once."""
    starts = []
    pos = lowered.find(literal)
    while pos >= 0:
        starts.append(lowered.rfind(b"\n", 0, pos) + 1)
        end = lowered.find(b"\n", pos)
        if end < 0:
            break
        pos = lowered.find(literal, end)
    return starts


def redact_bytes(data, patterns, tally=None):
    """(redacted bytes, number of replacements). PEM blocks across lines: see LineRedactor.

    Each trigger literal is searched once per call, over the whole block (C speed); expressions
    then run only on the lines that hold one of their literals."""
    count = 0
    for regex, triggers, name in patterns:  # the user's expressions see all the text
        if triggers is None:
            data, n = regex.subn(_replace, data)
            count += n
            add(tally, name, n)
    lowered = data.lower()
    found = {}
    for literal in set(t for _regex, triggers, _name in patterns if triggers for t in triggers):
        for start in _lines_with(lowered, literal):
            found.setdefault(start, set()).add(literal)
    if not found:
        return data, count
    starts = sorted(found)
    ends = [data.find(b"\n", start) + 1 or len(data) for start in starts]
    lines = [data[start:end] for start, end in zip(starts, ends)]
    for regex, triggers, name in patterns:
        if triggers is None:
            continue
        wanted = set(triggers)
        hits = 0
        for index, start in enumerate(starts):
            if found[start] & wanted:
                lines[index], n = regex.subn(_replace, lines[index])
                hits += n
        count += hits
        add(tally, name, hits)
    if not count:
        return data, 0
    pieces, last = [], 0
    for start, end, line in zip(starts, ends, lines):
        pieces.append(data[last:start])
        pieces.append(line)
        last = end
    pieces.append(data[last:])
    return b"".join(pieces), count


def redact_string(text, patterns, tally=None):
    """(redacted text, replacements) for a str that may span lines (PEM blocks included)."""
    if not isinstance(text, str) or not patterns or not text:
        return text, 0
    redactor = LineRedactor(patterns, tally=tally)
    out = redactor.feed(text.encode("utf-8", "surrogateescape")) + redactor.flush()
    return (out.decode("utf-8", "replace"), redactor.count) if redactor.count else (text, 0)


def redact_text(text, patterns, tally=None):
    return redact_string(text, patterns, tally)[0]


class LineRedactor(object):
    """Redacts a byte stream line by line: feed(chunk) and flush() return what may be written.

    Output never depends on how the stream was split into chunks (lines shorter than
    MAX_LINE_BYTES), and at most one partial line is held. Lines between the BEGIN and END of a
    PEM private key are replaced whole.
    """

    def __init__(self, patterns, max_line=MAX_LINE_BYTES, tally=None):
        self.patterns = patterns
        self.max_line = max_line
        self.tally = tally
        self.carry = b""
        self.in_key = False
        self.count = 0

    def _key_line(self):
        self.count += 1
        add(self.tally, PEM_SHAPE)

    def _line(self, line):
        if self.in_key:
            ending = line[len(line.rstrip(b"\r\n")):]
            end = _PEM_END.search(line)
            body = line[:end.start()] if end else line[:len(line) - len(ending)]
            if body and body != REDACTED_BYTES:  # a line redacted earlier is not counted again
                self._key_line()
            if end:
                self.in_key = False
                return (REDACTED_BYTES if body else b"") + line[end.start():]
            return (REDACTED_BYTES if body else b"") + ending
        begin = _PEM_BEGIN.search(line)
        if begin and not _PEM_END.search(line, begin.end()):
            self.in_key = True
            rest = line[begin.end():].rstrip(b"\r\n")
            if rest and rest != REDACTED_BYTES:  # key material after the BEGIN marker, on its line
                self._key_line()
                line = line[:begin.end()] + REDACTED_BYTES + line[begin.end() + len(rest):]
        redacted, n = redact_bytes(line, self.patterns, self.tally)
        self.count += n
        return redacted

    def _lines(self, block):
        """Complete lines: one pass per pattern over the whole block, unless a key block is near."""
        if self.in_key or b"PRIVATE KEY" in block:
            return b"".join(self._line(line) for line in block.splitlines(True))
        redacted, n = redact_bytes(block, self.patterns, self.tally)
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
