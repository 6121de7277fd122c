# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Syntax checks of label and field selector strings, before anything is listed.

They follow the API server's own parsers (k8s.io/apimachinery labels.Parse and
fields.ParseSelector), so a typo fails at once with a message naming the selector and what is
wrong, instead of a 400 after other calls. They never reject what the server accepts: whether a
field label is supported (`spec.nodeName` is, `spec.image` is not) is left to the server.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import validate_label_key, validate_label_value

_SPECIAL = "=!(),<>"
_TOKEN_RE = re.compile(r"\s*(!=|==|[=!(),<>]|[^\s=!(),<>]+)")
_OPERATORS = ("=", "==", "!=", "in", "notin", "<", ">")
_LABEL_EXAMPLES = "for example app=web, tier in (a,b), track!=canary, !legacy"
_FIELD_EXAMPLES = "for example spec.nodeName=node-1 or status.phase!=Succeeded"


def _tokens(text):
    """The selector's tokens: operators, punctuation and identifiers (runs of anything else)."""
    tokens, position = [], 0
    while True:
        match = _TOKEN_RE.match(text, position)
        if not match:
            return tokens
        tokens.append(match.group(1))
        position = match.end()


class _Parser(object):
    def __init__(self, text):
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self):
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self):
        token = self.peek()
        self.index += 1
        return token


def _identifier(token):
    return token is not None and token not in _SPECIAL and token not in ("!=", "==")


def _values(parser):
    """The values of `in (...)`/`notin (...)`; an empty position is the empty value."""
    if parser.take() != "(":
        raise ValueError("expected '(' after in/notin")
    values = []
    expect_value = True
    while True:
        token = parser.take()
        if token is None:
            raise ValueError("missing ')'")
        if token == ")":
            if expect_value:
                values.append("")
            return values
        if token == ",":
            if expect_value:
                values.append("")
            expect_value = True
        elif _identifier(token) and expect_value:
            values.append(token)
            expect_value = False
        else:
            raise ValueError("unexpected %r in the value list" % token)


def _requirement(parser):
    """(key, operator, values) of one requirement; ValueError on a syntax error."""
    token = parser.take()
    if token == "!":
        key = parser.take()
        if not _identifier(key):
            raise ValueError("expected a label key after '!'")
        return key, "!", []
    if not _identifier(token):
        raise ValueError("expected a label key, found %r" % (token or "the end"))
    key, operator = token, parser.peek()
    if operator in (None, ","):
        return key, "exists", []
    if operator not in _OPERATORS:
        raise ValueError("expected an operator (=, ==, !=, in, notin) after %r, found %r" % (key, operator))
    parser.take()
    if operator in ("in", "notin"):
        return key, operator, _values(parser)
    value = parser.peek()
    if value in (None, ","):
        if operator in ("<", ">"):
            raise ValueError("%s %s needs an integer" % (key, operator))
        return key, operator, [""]
    if not _identifier(value):
        raise ValueError("expected a value after %r %s, found %r" % (key, operator, value))
    parser.take()
    if operator in ("<", ">") and not re.fullmatch(r"-?[0-9]+", value):
        raise ValueError("%s %s %s: the value must be an integer" % (key, operator, value))
    return key, operator, [value]


def label_selector_problem(text):
    """None when `text` is a valid label selector, else what is wrong with it."""
    if not isinstance(text, str) or not text.strip():
        return "label selector %r is empty; %s" % (text, _LABEL_EXAMPLES)
    parser = _Parser(text)
    try:
        while True:
            key, operator, values = _requirement(parser)
            problem = validate_label_key(key)
            for value in values:
                problem = problem or (validate_label_value(value) if operator not in ("<", ">") else None)
            if problem:
                raise ValueError(problem)
            token = parser.take()
            if token is None:
                return None
            if token != ",":
                raise ValueError("expected ',' or the end after the requirement on %r, found %r" % (key, token))
    except ValueError as exc:
        return "label selector %r is invalid: %s; %s" % (text, exc, _LABEL_EXAMPLES)


def _split_terms(text):
    """Terms of a field selector: split on commas that are not escaped with a backslash."""
    terms, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == ",":
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return terms


def _split_term(term):
    """(field, operator, value) at the first unescaped !=, == or =; None without an operator."""
    index = 0
    while index < len(term):
        if term[index] == "\\":
            index += 2
            continue
        for operator in ("!=", "==", "="):
            if term.startswith(operator, index):
                return term[:index], operator, term[index + len(operator):]
        index += 1
    return None


def _bad_escape(text):
    """The first backslash escape other than \\\\, \\, and \\= (what the server accepts), or None."""
    index = 0
    while index < len(text):
        if text[index] == "\\":
            if index + 1 >= len(text) or text[index + 1] not in "\\,=":
                return text[index:index + 2]
            index += 2
        else:
            index += 1
    return None


def field_selector_problem(text):
    """None when `text` is a syntactically valid field selector, else what is wrong with it."""
    if not isinstance(text, str) or not text.strip():
        return "field selector %r is empty; %s" % (text, _FIELD_EXAMPLES)
    for term in _split_terms(text):
        parts = _split_term(term)
        if parts is None:
            return "field selector %r is invalid: %r has no operator (=, == or !=); %s" % (text, term, _FIELD_EXAMPLES)
        field, operator, value = parts
        if not field.strip():
            return "field selector %r is invalid: %r names no field before %s; %s" % (text, term, operator, _FIELD_EXAMPLES)
        escape = _bad_escape(field) or _bad_escape(value)
        if escape:
            return ("field selector %r is invalid: '%s' is not an escape the API server accepts "
                    "(only \\\\, \\, and \\=)" % (text, escape))
    return None


def selector_problems(label_selectors, field_selectors):
    """Every problem with the module's label_selectors and field_selectors lists."""
    problems = []
    for option, items, check in (("label_selectors", label_selectors, label_selector_problem),
                                 ("field_selectors", field_selectors, field_selector_problem)):
        for index, text in enumerate(items or []):
            problem = check(text)
            if problem:
                problems.append("%s[%d]: %s" % (option, index, problem))
    return problems
