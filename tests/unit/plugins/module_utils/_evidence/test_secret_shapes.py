# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property tests of the secret shapes: no generated secret of any shape survives any redaction
entry point (the byte stream in any chunking, text, argv, manifests and structured files), and
ordinary log lines are left exactly as they are."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import string

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact import (
    LineRedactor,
    Tally,
    compile_patterns,
    redact_string,
)
from ansible_collections.triage.k8s.plugins.module_utils._evidence.redact_objects import (
    clean_manifest,
    redact_argv,
)
from ansible_collections.triage.k8s.plugins.module_utils._evidence.secret_shapes import SHAPES, URL_SCHEMES

PATTERNS = compile_patterns()
SETTINGS = settings(max_examples=300, deadline=None)

# What secrets are made of: no white space, quotes, `,;&` or backslash (they end a bare value).
PW_CHARS = string.ascii_letters + string.digits + "!#$%*+-.=?^_~()[]{}|<>"
ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
B64URL = ALNUM + "-_"


def _text(alphabet, min_size, max_size=40):
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)


# A password that is not a word of the line around it (checked with assume).
passwords = _text(PW_CHARS, 8).filter(lambda s: not s.startswith("-") and "<redacted>" not in s)
url_passwords = _text(ALNUM + "!$%*+-.=?^_~:@()", 8)
names_around = _text(string.ascii_uppercase + "_", 0, 8)
prefix_text = st.sampled_from(["", "INFO starting: ", "2026-01-01T00:00:00Z app[1] ", "export ", "  ", "[db] "])
suffix_text = st.sampled_from(["", " ok", " (retrying)", "\tdone", ";next=1", ",other=2"])


@st.composite
def url_credentials(draw):
    scheme = draw(st.sampled_from(["postgres", "postgresql", "mysql", "mongodb", "mongodb+srv", "redis", "rediss",
                                   "amqp", "amqps", "https", "http", "ftp", "kafka", "custom+tls"]))
    user = draw(_text(ALNUM + "._-", 0, 8))
    secret = draw(url_passwords)
    host = draw(st.sampled_from(["db", "redis.cache.svc", "10.0.0.1", "cluster0.example.net"]))
    return "%s://%s:%s@%s:5432/app?sslmode=require" % (scheme, user, secret, host), [secret]


@st.composite
def url_userinfo(draw):
    scheme = draw(st.sampled_from([s.replace("\\", "") for s in URL_SCHEMES]))
    secret = draw(_text(ALNUM + "!$%*+-.=?^_~", 8))
    return "%s://%s@host:1234/0" % (scheme, secret), [secret]


SECRET_WORDS = ["PASSWORD", "password", "Passwd", "PASSPHRASE", "SECRET", "secret", "TOKEN", "token", "Credential",
                "API_KEY", "apikey", "api-key", "PRIVATE_KEY", "ACCESS_KEY", "CREDENTIALS"]


@st.composite
def secret_name(draw):
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(names_around) + draw(st.sampled_from(SECRET_WORDS)) + draw(names_around)
    if kind == 1:
        return draw(_text(string.ascii_uppercase, 1, 8)) + draw(st.sampled_from(["_KEY", "_PASS", "_PWD", ".key",
                                                                                 "-key", "_pw"]))
    return draw(st.sampled_from(["pass", "pwd", "PASS", "passwd", "pw", "SECRET_KEY_BASE", "STRIPE_SECRET_KEY",
                                 "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "DB_PASSWORD"]))


@st.composite
def assignment(draw):
    name, secret = draw(secret_name()), draw(passwords)
    style = draw(st.integers(0, 7))
    if style == 0:
        return "%s=%s" % (name, secret), [secret]
    if style == 1:
        return "%s: %s" % (name, secret), [secret]
    if style == 2:
        return '{"%s": "%s", "level": "info"}' % (name, secret), [secret]
    if style == 3:
        return "{'%s': '%s'}" % (name, secret), [secret]
    if style == 4:
        words = [draw(passwords) for _word in range(3)]
        return '%s="%s"' % (name, " ".join(words)), words
    if style == 5:
        return "%s => %s" % (name, secret), [secret]
    if style == 6:
        return '{\\"%s\\":\\"%s\\"}' % (name, secret), [secret]  # JSON inside a JSON string
    return "--%s=%s" % (name.lower().replace("_", "-"), secret), [secret]


@st.composite
def flags(draw):
    secret = draw(passwords)
    form = draw(st.sampled_from(["--password %s", "--db-password %s", "--token %s", "--pass %s",
                                 "mysql -h db -u root -p%s shop", "mysql -u root -p %s", "mysqldump -p%s --all",
                                 "mariadb -p%s", "sshpass -p %s ssh host", "redis-cli -h r -a %s ping",
                                 "curl -u admin:%s https://x"]))
    return form % secret, [secret]


@st.composite
def bearer(draw):
    # RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    body = list(draw(_text(ALNUM + "._~+/-", 7)) + draw(st.sampled_from(string.digits + "+/")))
    secret = "".join(draw(st.permutations(body))) + draw(st.sampled_from(["", "=", "=="]))
    scheme = draw(st.sampled_from(["Bearer", "bearer", "Basic"]))
    if draw(st.booleans()):
        return "Authorization: %s %s" % (scheme, secret), [secret]
    # Without the header, a credential must look like one: it starts with a letter or digit.
    secret = draw(st.sampled_from(string.ascii_letters + string.digits)) + secret
    return "sent %s %s" % (scheme, secret), [secret]


@st.composite
def prefixed_token(draw):
    kind = draw(st.integers(0, 10))
    if kind == 0:
        token = draw(st.sampled_from(["sk_live_", "sk_test_", "rk_live_", "rk_test_"])) + draw(_text(ALNUM, 8))
    elif kind == 1:
        token = draw(st.sampled_from(["ghp_", "gho_", "ghs_", "ghu_", "ghr_"])) + draw(_text(ALNUM, 20))
    elif kind == 2:
        token = "github_pat_" + draw(_text(ALNUM + "_", 20))
    elif kind == 3:
        token = draw(st.sampled_from(["xoxb-", "xoxp-", "xoxa-", "xoxs-"])) + draw(_text(ALNUM + "-", 8))
    elif kind == 4:
        token = draw(st.sampled_from(["AKIA", "ASIA"])) + draw(_text(UPPER_DIGITS, 16, 16))
    elif kind == 5:
        token = draw(st.sampled_from(["glpat-", "gldt-", "glrt-"])) + draw(_text(B64URL, 16))
    elif kind == 6:
        token = "eyJ" + draw(_text(B64URL, 5)) + ".eyJ" + draw(_text(B64URL, 5)) + "." + draw(_text(B64URL, 0))
    elif kind == 7:
        token = "AIza" + draw(_text(B64URL, 35, 35))
    elif kind == 8:
        token = "npm_" + draw(_text(ALNUM, 36, 36))
    elif kind == 9:
        token = "whsec_" + draw(_text(ALNUM, 16))
    else:
        token = draw(st.sampled_from(["sk-", "sk-proj-"])) + draw(_text(B64URL, 20))
    # A bare token in a sentence, or after `=`, `:` or a quote.
    around = draw(st.sampled_from(["using %s now", "key=%s", "value: %s", '"%s"', "%s", "(%s)"]))
    return around % token, [token]


@st.composite
def pem_inline(draw):
    body = draw(_text(ALNUM + "+/=", 16))
    kind = draw(st.sampled_from(["RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", ""]))
    return ('{"key": "-----BEGIN %sPRIVATE KEY-----\\n%s\\n-----END %sPRIVATE KEY-----"}' % (kind, body, kind),
            [body])


SINGLE_LINE = st.one_of(url_credentials(), url_userinfo(), assignment(), flags(), bearer(), prefixed_token(),
                        pem_inline())


@st.composite
def secret_lines(draw):
    """(a line holding a secret of some shape, the secret values), in ordinary surroundings."""
    line, secrets = draw(SINGLE_LINE)
    before, after = draw(prefix_text), draw(suffix_text)
    for secret in secrets:
        assume(secret not in (before + after) and line.count(secret) == 1)
    return before + line + after, secrets


@st.composite
def pem_block(draw):
    kind = draw(st.sampled_from(["RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", "", "PGP "]))
    tail = " BLOCK" if kind == "PGP " else ""
    lines = draw(st.lists(_text(ALNUM + "+/=", 16, 64), min_size=1, max_size=6))
    text = "\n".join(["-----BEGIN %sPRIVATE KEY%s-----" % (kind, tail)] + lines
                     + ["-----END %sPRIVATE KEY%s-----" % (kind, tail)])
    return text, lines


def _stream(data, cuts):
    redactor = LineRedactor(PATTERNS)
    out, pos, i = [], 0, 0
    while pos < len(data):
        size = cuts[i % len(cuts)]
        out.append(redactor.feed(data[pos:pos + size]))
        pos, i = pos + size, i + 1
    out.append(redactor.flush())
    return b"".join(out), redactor.count


def _gone(text, secrets):
    for secret in secrets:
        assert secret not in text, "%r survived in %r" % (secret, text)


@SETTINGS
@given(secret_lines())
def test_no_secret_survives_in_text(case):
    line, secrets = case
    out, count = redact_string(line, PATTERNS)
    _gone(out, secrets)
    assert count >= 1 and "<redacted>" in out
    again, second = redact_string(out, PATTERNS)
    assert again == out and second == 0  # idempotent: a second pass finds nothing to count


@SETTINGS
@given(st.lists(st.one_of(secret_lines(), pem_block()), min_size=1, max_size=6),
       st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=8))
def test_no_secret_survives_in_a_stream_of_any_chunking(cases, cuts):
    for index, (_text_, secrets) in enumerate(cases):  # no secret is also a word of another line
        others = "\n".join(t for i, (t, _s) in enumerate(cases) if i != index)
        assume(not any(secret in others for secret in secrets))
    data = "\n".join(text for text, _secrets in cases) + "\n"
    out, count = _stream(data.encode("utf-8"), cuts)
    _gone(out.decode("utf-8"), [s for _text, secrets in cases for s in secrets])
    assert count >= len(cases)


TEMPLATE_WORDS = ("web-1 note example.com/api-token managedFields manager app sh -c LOG_LINE DB_PASSWORD BackOff "
                  "notes why db_password metadata annotations spec containers command args env name value status "
                  "message reason")


@SETTINGS
@given(st.one_of(secret_lines(), pem_block()))
def test_no_secret_survives_in_manifests(case):
    text, secrets = case
    assume(not any(secret in TEMPLATE_WORDS for secret in secrets))
    pod = {"metadata": {"name": "web-1", "annotations": {"note": text, "example.com/api-token": secrets[0]},
                        "managedFields": [{"manager": "x"}]},
           "spec": {"containers": [{"name": "app", "command": ["sh", "-c", text], "args": text.split(" "),
                                    "env": [{"name": "LOG_LINE", "value": text},
                                            {"name": "DB_PASSWORD", "value": secrets[0]}]}]},
           "status": {"message": text}}
    event = {"metadata": {"name": "e"}, "message": text, "reason": "BackOff"}
    tally = Tally()
    for obj in (pod, event, {"notes": {"why": text, "db_password": secrets[0]}}):
        cleaned, _count = clean_manifest(obj, True, PATTERNS, tally=tally)
        for rendered in (json.dumps(cleaned), yaml.safe_dump(cleaned, width=40)):
            _gone(rendered, secrets)
    assert tally.total >= 1


@SETTINGS
@given(secret_lines())
def test_no_secret_survives_in_a_command_line(case):
    line, secrets = case
    words, _count = redact_argv(line.split(" "), PATTERNS)
    _gone(" ".join(words), secrets)


# -- nothing ordinary is touched ------------------------------------------------------------------

ORDINARY_WORDS = ["keyboard", "passed", "3", "tests", "-port", "80", "monkey=banana", "keyspace", "tokenizer",
                  "password", "reset", "sent", "basic", "Basic", "Authentication", "bearer", "of", "news", "secret",
                  "santa", "token", "expired", "key", "value", "level=debug", "port=8080", "user=alice", "host=db",
                  "http://example.com:8080/path?x=1", "https://registry.example/v2/", "-p", "8080", "--verbose",
                  "passport", "bypass=true", "skill", "disk-", "ask_question", "eye", "GET", "/healthz", "200",
                  "keyboard=us", "passes", "tokens", "api", "1.2.3", "ERROR", "connection", "refused", "retry"]


@SETTINGS
@given(st.lists(st.sampled_from(ORDINARY_WORDS), min_size=1, max_size=12), st.sampled_from([" ", "  ", "\t"]))
def test_ordinary_lines_are_left_alone(words, space):
    line = space.join(words)
    assert redact_string(line, PATTERNS) == (line, 0)
    data = (line + "\n").encode("utf-8")
    assert _stream(data, [7]) == (data, 0)


@pytest.mark.parametrize("line", [
    "keyboard layout us", "passed 3 tests", "server -port 80", "monkey=banana", "Basic Authentication enabled",
    "password reset email sent", "redis://redis:6379/0", "postgres://db:5432/app", "psql -p 5432 -h db",
    "ssh -p 2222 host", "the bearer of bad news", "tokens used 1234", "GET /api/v1/pods?limit=500",
    "listening on http://0.0.0.0:8080", "secretName db-creds mounted", "kubectl -n shop get pods",
    "2026-01-01T00:00:00Z INFO eye_colour=brown skill=high",
])
def test_known_ordinary_lines(line):
    assert redact_string(line, PATTERNS) == (line, 0)


@pytest.mark.parametrize("line,secret", [
    ("redis://:PW@redis:6379", "PW"),
    ("SECRET_KEY_BASE=4f5e6d7c8b9a", "4f5e6d7c8b9a"),
    ("STRIPE_SECRET_KEY=sk_live_" + "51Habc" * 4, "sk_live_"),
    ("mysql -pPW", "PW"),
    ("mysql -u root -p PW shop", "PW"),
    ("pass=opensesame", "opensesame"),
    ("pwd=opensesame", "opensesame"),
    ("postgres://u:p@ss@db/x", "p@ss"),
    ('password: "correct horse battery"', "horse"),
    ("token xoxb-" + "1234-abcd", "xoxb-"),
])
def test_the_reported_leaks(line, secret):
    out = redact_string(line, PATTERNS)[0]
    assert secret not in out.replace("<redacted>", ""), out


def test_every_shape_has_a_test_and_a_description():
    covered = {"authorization_header", "url_credentials", "url_userinfo", "assignment", "secret_flag", "mysql_password_flag", "sshpass_flag",
               "redis_cli_flag", "curl_user", "bearer_basic", "stripe_key", "github_token", "gitlab_token",
               "slack_token", "aws_access_key_id", "google_api_key", "npm_token", "openai_key", "jwt",
               "pem_private_key_inline"}
    assert set(name for name, _what, _re, _triggers in SHAPES) == covered
    assert all(what and triggers for _name, what, _re, triggers in SHAPES)
