# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redaction of structured evidence (YAML, JSON, manifests) with the same rule set as text.

- Every string value goes through the text rules; a list of words (command, args) is also read
  as a command line, so the value after `--password` or `mysql -p` goes; a string under a
  secret-looking key (`"DB_PASSWORD": "..."`, an annotation `.../api-token`) is replaced whole.
- Manifests also lose literal env values whose names look secret (PASSWORD, TOKEN, ...), in every
  container list and in the last-applied-configuration annotation; `valueFrom` references are
  kept (they name a Secret key, they do not hold it). managedFields are dropped.

Pure functions, no I/O. Every replacement is counted by shape in a Tally.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import posixpath
import re

from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact import (
    REDACTED,
    LineRedactor,
    Tally,
    add,
    compile_patterns,
    redact_string,
    redact_text,
)
from ansible_collections.triage.k8s.plugins.module_utils._evidence.secret_shapes import (
    KEYS_THAT_NAME_OBJECTS,
    MYSQL_COMMANDS,
    PEM_SHAPE,
    RULESET,
    SECRET_NAME,
    SHAPES,
)

# Env var names that look like they hold a secret. Over-redaction is harmless; a leak is not.
SECRET_NAME_WORDS = ("PASSWORD", "PASSWD", "PASSPHRASE", "PWD", "TOKEN", "SECRET", "KEY", "CREDENTIAL",
                     "CREDS", "AUTH", "PRIVATE", "CERT", "COOKIE", "SESSION", "SALT", "SIGNATURE", "DSN",
                     "CONNECTION_STRING", "CONN_STR", "LICENSE")
ENV_SHAPE = "secret_env_name"
KEY_SHAPE = "secret_key_value"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_SECRET_KEY = re.compile(r"(?i)" + SECRET_NAME)
_SECRET_FLAG = re.compile(r"(?i)--?(?:%s|pass)" % SECRET_NAME)
_MYSQL = frozenset(MYSQL_COMMANDS)
# Neighbours on each side a word of a command line is read with.
ARGV_WINDOW = 4
ARGV_SHAPE = "split_over_words"


def secret_name_re(extra_words=None):
    words = [re.escape(w.upper()) for w in tuple(SECRET_NAME_WORDS) + tuple(extra_words or ())]
    return re.compile("(%s)" % "|".join(words))


def looks_secret(name, name_re=None):
    return bool((name_re or secret_name_re()).search(str(name or "").upper()))


def is_secret_key(key):
    """Whether a map key (JSON/YAML, an annotation's last segment) names a secret value."""
    if not isinstance(key, str) or key in KEYS_THAT_NAME_OBJECTS:
        return False
    return bool(_SECRET_KEY.fullmatch(key.rsplit("/", 1)[-1]))


def _argv_flag(word, commands):
    """The shape whose value is the next word of a command line, or None."""
    if _SECRET_FLAG.fullmatch(word):
        return "secret_flag"
    if word == "-p" and commands & _MYSQL:
        return "mysql_password_flag"
    if word == "-p" and "sshpass" in commands:
        return "sshpass_flag"
    if word == "-a" and "redis-cli" in commands:
        return "redis_cli_flag"
    if word in ("-u", "--user") and "curl" in commands:
        return "curl_user"
    return None


def _in_context(words, index, patterns):
    """words[index] as the rules see it among its neighbours (`Bearer TOKEN`, `--password VALUE`,
    a quoted value or a key split over several words), or None when that changes nothing."""
    word = words[index]
    left = " ".join(w for w in words[max(0, index - ARGV_WINDOW):index] if isinstance(w, str))
    right = " ".join(w for w in words[index + 1:index + 1 + ARGV_WINDOW] if isinstance(w, str))
    joined = " ".join(p for p in (left, word, right) if p)
    out = redact_string(joined, patterns)[0]
    if out == joined:
        return None
    head, tail = (left + " " if left else ""), (" " + right if right else "")
    if out.startswith(head) and out.endswith(tail):
        middle = out[len(head):len(out) - len(tail)]
        return middle if middle != word else None
    # A match that spans words: this one is redacted if the match took it.
    return None if word in out.split(" ") else REDACTED


def redact_argv(words, patterns, tally=None):
    """(a list of words, replacements): each word as text, then among its neighbours, and the
    value after a password flag (`--password VALUE`, `mysql -p VALUE`, `mysql -pVALUE`,
    `curl -u user:VALUE`)."""
    if not patterns:
        return list(words), 0
    words = list(words)
    commands = set(posixpath.basename(w) for w in words if isinstance(w, str))
    out, count, pending = [], 0, None
    for index, word in enumerate(words):
        if not isinstance(word, str):
            out.append(word)
            pending = None
            continue
        if pending and word and not word.startswith("-") and word != REDACTED:
            if pending == "curl_user" and ":" in word and not word.endswith(":" + REDACTED):
                word, n = word.split(":", 1)[0] + ":" + REDACTED, 1
            elif pending == "curl_user":
                n = 0  # a user name alone, or already redacted
            else:
                word, n = REDACTED, 1
            out.append(word)
            count += n
            add(tally, pending, n)
            pending = None
            continue
        new, n = redact_string(word, patterns, tally)
        if not n and word.startswith("-p") and len(word) > 2 and not word.startswith("-p" + REDACTED) \
                and commands & _MYSQL:
            new, n = "-p" + REDACTED, 1
            add(tally, "mysql_password_flag")
        if len(words) > 1:
            seen = _in_context(words[:index] + [new] + words[index + 1:], index, patterns)
            if seen is not None:
                new, n = seen, n + 1
                add(tally, ARGV_SHAPE)
        count += n
        pending = _argv_flag(word, commands)
        out.append(new)
    return out, count


def redact_strings(node, patterns, tally=None):
    """(a copy of node with every string redacted, replacements). A list of strings is read as a
    command line too; a string under a secret-looking key is replaced whole."""
    if not patterns:
        return node, 0
    if isinstance(node, str):
        return redact_string(node, patterns, tally)
    if isinstance(node, dict):
        out, count = {}, 0
        for key, value in node.items():
            if isinstance(value, str) and value not in ("", REDACTED) and is_secret_key(key):
                out[key] = REDACTED
                count += 1
                add(tally, KEY_SHAPE)
                continue
            out[key], n = redact_strings(value, patterns, tally)
            count += n
        return out, count
    if isinstance(node, (list, tuple)):
        if node and all(isinstance(v, str) for v in node):
            return redact_argv(node, patterns, tally)
        out, count = [], 0
        for value in node:
            new, n = redact_strings(value, patterns, tally)
            out.append(new)
            count += n
        return out, count
    return node, 0


def strip_managed_fields(obj):
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return obj


def _redact_env(env, name_re, tally):
    count = 0
    for entry in env:
        if isinstance(entry, dict) and entry.get("value") not in (None, "", REDACTED) \
                and looks_secret(entry.get("name"), name_re):
            entry["value"] = REDACTED
            count += 1
    add(tally, ENV_SHAPE, count)
    return count


def _walk_env(node, name_re, tally):
    """Redact secret-named env values of every container-like dict under node (any depth)."""
    count = 0
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers", "ephemeralContainers") and isinstance(value, list):
                for container in value:
                    if isinstance(container, dict) and isinstance(container.get("env"), list):
                        count += _redact_env(container["env"], name_re, tally)
            count += _walk_env(value, name_re, tally)
    elif isinstance(node, list):
        for value in node:
            count += _walk_env(value, name_re, tally)
    return count


def clean_manifest(obj, redact=True, patterns=None, extra_names=None, tally=None):
    """(a deep copy without managedFields and, with redact, redacted: env values by name, every
    string by the rules; number of values redacted). The last-applied-configuration annotation is
    redacted the same way (a full copy of the spec as applied); if it cannot be parsed it is
    replaced."""
    obj = strip_managed_fields(copy.deepcopy(obj))
    if not redact:
        return obj, 0
    name_re = secret_name_re(extra_names)
    count = _walk_env(obj.get("spec"), name_re, tally)
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if LAST_APPLIED in annotations:
        try:
            applied = json.loads(annotations[LAST_APPLIED])
            inner = _walk_env(applied, name_re, tally)
            applied, n = redact_strings(applied, patterns, tally)
            if inner or n:
                annotations[LAST_APPLIED] = json.dumps(applied, sort_keys=True, separators=(",", ":"))
                count += inner + n
        except (TypeError, ValueError):
            annotations[LAST_APPLIED] = REDACTED
            count += 1
            add(tally, ENV_SHAPE)
    obj, n = redact_strings(obj, patterns, tally)
    return obj, count + n


class Redaction(object):
    """The rule set of one collection and its tally; disabled (redact: false) when patterns is empty."""

    def __init__(self, patterns, extra_names=None, extra_patterns=0):
        self.patterns = patterns or []
        self.extra_names = extra_names or []
        self.extra_patterns = extra_patterns
        self.tally = Tally()

    @classmethod
    def from_params(cls, params):
        """pod_evidence's rule set: the built-in shapes and redact_patterns, none with redact: false."""
        if not params["redact"]:
            return cls([])
        return cls(compile_patterns(params["redact_patterns"]), params.get("redact_env_names"),
                   len(params["redact_patterns"] or []))

    @property
    def enabled(self):
        return bool(self.patterns)

    def text(self, text):
        return redact_text(text, self.patterns, self.tally)

    def argv(self, words):
        return redact_argv(words, self.patterns, self.tally)[0]

    def strings(self, obj):
        return redact_strings(obj, self.patterns, self.tally)[0]

    def manifest(self, obj):
        return clean_manifest(obj, self.enabled, self.patterns, self.extra_names, self.tally)[0]

    def stream(self):
        return LineRedactor(self.patterns, tally=self.tally) if self.enabled else None

    def record(self, not_redacted=()):
        """What manifest.json says about redaction."""
        shapes = [name for name, _what, _re, _triggers in SHAPES] + [PEM_SHAPE, ENV_SHAPE, KEY_SHAPE, ARGV_SHAPE]
        return {"enabled": self.enabled, "rules": RULESET if self.enabled else None,
                "shapes": shapes if self.enabled else [],
                "extra_patterns": self.extra_patterns if self.enabled else 0, "by_shape": self.tally.as_dict(),
                "total": self.tally.total, "not_redacted": sorted(not_redacted, key=lambda f: f["path"])}
