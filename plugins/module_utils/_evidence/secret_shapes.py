# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secret shapes every file of an evidence bundle is redacted with: data, not code.

SHAPES is the one rule set. Each entry is (name, what it catches, regular expression, trigger
literals). An expression sees one line at a time and never matches a newline. It runs only on
lines that contain one of its lower-case trigger literals (a fast search), so text without secrets
streams at disk speed. Groups named `secret`, `secret2`, ... are replaced by `<redacted>`; a shape
without such groups is replaced whole. A value that is already `<redacted>` is never matched
again, so redacting twice changes nothing and counts nothing.

PEM private-key blocks span lines: PEM_BEGIN and PEM_END mark them for the line redactor, which
replaces every line in between; `pem_private_key_inline` catches a block kept on one line (JSON
logs, escaped `\\n`).

evidence_redact.py applies these; docs/evidence.md lists them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

RULESET = "triage.k8s/secret-shapes/v1"

_NOT_DONE = r"(?!<redacted>)"

# A value after `NAME=`, `NAME: `, `"name": `: double-quoted (escapes allowed), single-quoted,
# quoted with escaped quotes (JSON inside JSON), or a bare word that ends at white space, a quote,
# `,`, `;` or `&` (the separators of lists, DSNs and query strings).
_VALUE = (r"(?:\\\"" + _NOT_DONE + r"(?P<secret4>[^\"\\\r\n]{1,1024})\\\""
          r"|\"" + _NOT_DONE + r"(?P<secret>(?:[^\"\\\r\n]|\\.){1,1024})\""
          r"|'" + _NOT_DONE + r"(?P<secret2>[^'\r\n]{1,1024})'"
          r"|" + _NOT_DONE + r"(?P<secret3>(?:[^\s\"',;&\\]|\\(?![\"'])){1,1024}))")

# Words that make a name (an env var, a JSON/YAML key, a flag) hold a secret wherever they appear
# in it; KEY, PASS, PWD and PW only as the whole name or its last part (`STRIPE_KEY`, `db.pass`),
# so `keyboard`, `passed` and `monkey` stay.
NAME_WORDS = ("password", "passwd", "passphrase", "secret", "token", "credential", r"api[_-]?key",
              r"private[_-]?key", r"access[_-]?key", r"auth[_-]?key", r"signing[_-]?key", r"encryption[_-]?key")
NAME_SUFFIXES = ("key", "pass", "pwd", "pw")
_NAME_CHARS = r"[A-Za-z0-9_.-]"
SECRET_NAME = (r"(?:%(c)s*(?:%(words)s)%(c)s*|%(c)s*[_.-](?:%(suffixes)s)|pass|pwd|passwd|pw|apikey)"
               % {"c": _NAME_CHARS, "words": "|".join(NAME_WORDS), "suffixes": "|".join(NAME_SUFFIXES)})
_NAME_START = r"(?<![A-Za-z0-9_.-])"
_SEPARATOR = r"(?:\\?[\"'])?[ \t]*(?::=|=>|:(?!=)|=(?!>))[ \t]*"
# Only a word followed by a separator is worth the name alternatives (most words are not): a
# linear look ahead first keeps the expression fast on long lines.
_SEPARATOR_AHEAD = r"(?=%s+%s)" % (_NAME_CHARS, _SEPARATOR)
_NAME_TRIGGERS = ("pass", "pw", "secret", "token", "credential", "key")

# Connection URLs of databases and brokers. With a `user:password@`, every scheme is covered
# (`url_credentials`); for these schemes a userinfo without a colon is a password too
# (`redis://PASSWORD@host`).
URL_SCHEMES = ("postgres", "postgresql", "mysql", "mariadb", "mongodb", r"mongodb\+srv", "redis", "rediss",
               "amqp", "amqps", "mqtt", "mqtts", "nats", "kafka", "sqlserver", "mssql", "oracle", "clickhouse",
               "couchdb", "cassandra", "memcached", "neo4j", r"neo4j\+s", "bolt", "ldap", "ldaps", "smtp", "smtps",
               "imap", "imaps", "ftp", "sftp", "ssh", "sentinel")

# Commands whose password flag takes the value attached or as the next word: mysql -pPW, -p PW.
# A bare `-p` elsewhere means a port, a path or a profile, so it is left alone.
MYSQL_COMMANDS = ("mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlcheck", "mysqlshow", "mysqlpump",
                  "mysqlsh", "mysqlslap", "mariadb", "mariadb-dump", "mariadb-admin")

_ALNUM_BEFORE = r"(?<![A-Za-z0-9])"
_AUTH_SCHEMES = r"(?:bearer|basic|token|digest|negotiate|aws4-hmac-sha256)[ \t]+"

SHAPES = (
    ("url_credentials", "the password of any scheme://user:password@host URL",
     r"[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s/:@\"']{0,256}:" + _NOT_DONE + r"(?P<secret>[^\s/\"']{1,512})@",
     ("://",)),
    ("url_userinfo", "the userinfo of a database or broker URL without a colon (redis://PASSWORD@host)",
     r"(?i)(?<![A-Za-z0-9+.-])(?:jdbc:)?(?:%s)://" % "|".join(URL_SCHEMES)
     + _NOT_DONE + r"(?P<secret>[^\s/:@\"']{1,512})@",
     ("://",)),
    ("assignment", "NAME=value, NAME: value, \"name\": \"value\", NAME => value where NAME contains PASSWORD, "
     "PASSWD, PASSPHRASE, SECRET, TOKEN, CREDENTIAL, API_KEY, or ends in _KEY, _PASS, _PWD, or is pass/pwd/pw",
     r"(?i)" + _NAME_START + _SEPARATOR_AHEAD + SECRET_NAME + _SEPARATOR + _VALUE,
     _NAME_TRIGGERS),
    ("secret_flag", "--password VALUE, --db-password VALUE, --token VALUE, --pass VALUE (the = form is an assignment)",
     r"(?i)(?<![A-Za-z0-9_-])--?(?:%s|pass)[ \t]+(?!-)" % SECRET_NAME + _VALUE,
     _NAME_TRIGGERS),
    ("mysql_password_flag", "mysql -pPASSWORD and mysql -p PASSWORD (and the other MySQL/MariaDB clients)",
     r"(?<![A-Za-z0-9_.-])(?:%s)(?![A-Za-z0-9_-])[^\r\n]*?[ \t]-p[ \t]*(?!-)" % "|".join(MYSQL_COMMANDS) + _VALUE,
     ("mysql", "mariadb")),
    ("sshpass_flag", "sshpass -p PASSWORD", r"\bsshpass\b[^\r\n]*?[ \t]-p[ \t]*(?!-)" + _VALUE, _NAME_TRIGGERS),
    ("redis_cli_flag", "redis-cli -a PASSWORD", r"\bredis-cli\b[^\r\n]*?[ \t]-a[ \t]*(?!-)" + _VALUE, ("redis-cli",)),
    ("curl_user", "curl -u user:PASSWORD",
     r"\bcurl\b[^\r\n]*?[ \t](?:-u|--user)[ \t]*[^\s:]+:" + _VALUE, ("curl",)),
    ("authorization_header", "the credentials of an Authorization or Proxy-Authorization header, whatever they look like",
     r"(?i)\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?(?:%s)?" % _AUTH_SCHEMES
     + _NOT_DONE + r"(?!(?:bearer|basic|token|digest|negotiate|aws4-hmac-sha256)\b)(?P<secret>[^\s\"',;]{1,4096})",
     ("authorization",)),
    # Without the header: a credential, not a word or a path: it starts with a letter or digit (as base64 of text and
    # JWTs do) and has a digit, + or /, = padding, an upper-case letter after the first, or 20+
    # characters (so "Basic Authentication enabled", "basic level=debug", "bearer /healthz" stay).
    ("bearer_basic", "Authorization: Bearer TOKEN / Basic CREDENTIALS",
     r"(?i)\b(?:bearer|basic)[ \t]+" + _NOT_DONE
     + r"(?P<secret>(?-i:(?=[A-Za-z0-9])(?=[A-Za-z0-9._~+/-]*[0-9+/]|[A-Za-z0-9._~+/-]+={1,2}(?![A-Za-z0-9._~+/=-])"
       r"|.[A-Za-z0-9._~+/-]*[A-Z]|[A-Za-z0-9._~+/-]{20}))[A-Za-z0-9._~+/-]{8,}={0,2})",
     ("bearer", "basic")),
    ("stripe_key", "Stripe secret and restricted keys (sk_live_, sk_test_, rk_live_, rk_test_) and webhook secrets",
     _ALNUM_BEFORE + r"(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}|whsec_[A-Za-z0-9]{16,})",
     ("k_live_", "k_test_", "whsec_")),
    ("github_token", "GitHub tokens (ghp_, gho_, ghs_, ghu_, ghr_, github_pat_)",
     _ALNUM_BEFORE + r"(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})",
     ("gh", "github_pat_")),
    ("gitlab_token", "GitLab personal, deploy and runner tokens (glpat-, gldt-, glrt-)",
     _ALNUM_BEFORE + r"gl(?:pat|dt|rt)-[A-Za-z0-9_-]{16,}", ("gl",)),
    ("slack_token", "Slack tokens (xoxb-, xoxp-, xoxa-, xoxo-, xoxs-, xoxr-, xoxe-)",
     _ALNUM_BEFORE + r"xox[abposre]-[A-Za-z0-9-]{8,}", ("xox",)),
    ("aws_access_key_id", "AWS access key ids (AKIA..., ASIA...)",
     r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])", ("akia", "asia")),
    ("google_api_key", "Google API keys (AIza...)", _ALNUM_BEFORE + r"AIza[0-9A-Za-z_-]{35}", ("aiza",)),
    ("npm_token", "npm tokens (npm_...)", _ALNUM_BEFORE + r"npm_[A-Za-z0-9]{36}", ("npm_",)),
    ("openai_key", "OpenAI-style keys (sk-..., sk-proj-...)",
     r"(?<![A-Za-z0-9_-])sk-(?:proj-)?[A-Za-z0-9_-]{20,}", ("sk-",)),
    ("jwt", "JSON Web Tokens (eyJ....eyJ....signature, the signature may be empty)",
     r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*", ("eyj",)),
    ("pem_private_key_inline", "a PEM private key block on one line (escaped newlines)",
     r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----" + _NOT_DONE
     + r"(?P<secret>.*?)-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----", _NAME_TRIGGERS),
)

# Multi-line PEM private keys (RSA, EC, OPENSSH, ENCRYPTED, PGP ... BLOCK): every line between
# these markers is replaced, whatever it holds.
PEM_SHAPE = "pem_private_key"
PEM_BEGIN = r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
PEM_END = r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"

# Structured files (YAML, JSON): a string value under a key that is a secret name is redacted
# whole, except under keys that name a Kubernetes object rather than hold a secret.
KEYS_THAT_NAME_OBJECTS = ("secretName",)
