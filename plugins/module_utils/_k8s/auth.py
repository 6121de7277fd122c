# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by every module (documented in doc_fragments/k8s_auth.py).

Option names, aliases and K8S_AUTH_* variables follow kubernetes.core so that AWX/AAP
credentials and existing playbooks work unchanged. Where kubernetes.core accepts two
variable names (the option's own name and the kubernetes client's name) both are listed,
the option's own name first, as kubernetes.core reads them in that order.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import re
from urllib.parse import unquote, urlsplit

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError

# option name -> environment variables consulted when the option is not set.
AUTH_ENV_VARS = {
    "kubeconfig": ["K8S_AUTH_KUBECONFIG"],
    "context": ["K8S_AUTH_CONTEXT"],
    "host": ["K8S_AUTH_HOST"],
    "api_key": ["K8S_AUTH_API_KEY"],
    "username": ["K8S_AUTH_USERNAME"],
    "password": ["K8S_AUTH_PASSWORD"],
    "validate_certs": ["K8S_AUTH_VALIDATE_CERTS", "K8S_AUTH_VERIFY_SSL"],
    "ca_cert": ["K8S_AUTH_CA_CERT", "K8S_AUTH_SSL_CA_CERT"],
    "client_cert": ["K8S_AUTH_CLIENT_CERT", "K8S_AUTH_CERT_FILE"],
    "client_key": ["K8S_AUTH_CLIENT_KEY", "K8S_AUTH_KEY_FILE"],
    "proxy": ["K8S_AUTH_PROXY"],
    "no_proxy": ["K8S_AUTH_NO_PROXY"],
    "impersonate_user": ["K8S_AUTH_IMPERSONATE_USER"],
    "impersonate_groups": ["K8S_AUTH_IMPERSONATE_GROUPS"],
    "persist_config": ["K8S_AUTH_PERSIST_CONFIG"],
}

# proxy_headers is a dict; like kubernetes.core, each key has its own variable and they
# are only consulted when proxy_headers itself is not given.
PROXY_HEADERS_ENV_PREFIX = "K8S_AUTH_PROXY_HEADERS_"

PROXY_HEADERS_SPEC = {
    "proxy_basic_auth": {"type": "str", "no_log": True},
    "basic_auth": {"type": "str", "no_log": True},
    "user_agent": {"type": "str"},
}


def _opt(name, **spec):
    spec["fallback"] = (env_fallback, AUTH_ENV_VARS[name])
    return spec


AUTH_ARG_SPEC = {
    "kubeconfig": _opt("kubeconfig", type="raw"),
    "context": _opt("context", type="str"),
    "host": _opt("host", type="str"),
    "api_key": _opt("api_key", type="str", no_log=True),
    "username": _opt("username", type="str"),
    "password": _opt("password", type="str", no_log=True),
    "validate_certs": _opt("validate_certs", type="bool", aliases=["verify_ssl"]),
    "ca_cert": _opt("ca_cert", type="path", aliases=["ssl_ca_cert"]),
    "client_cert": _opt("client_cert", type="path", aliases=["cert_file"]),
    "client_key": _opt("client_key", type="path", aliases=["key_file"]),
    "proxy": _opt("proxy", type="str"),
    "no_proxy": _opt("no_proxy", type="str"),
    "proxy_headers": {"type": "dict", "options": PROXY_HEADERS_SPEC},
    "impersonate_user": _opt("impersonate_user", type="str"),
    "impersonate_groups": _opt("impersonate_groups", type="list", elements="str"),
    # As in kubernetes.core: let the kubernetes library write a token it refreshed back to the file.
    "persist_config": _opt("persist_config", type="bool"),
}

AUTH_OPTION_NAMES = tuple(AUTH_ARG_SPEC)


def auth_argument_spec():
    """A private copy of AUTH_ARG_SPEC for a module to merge into its own spec."""
    return copy.deepcopy(AUTH_ARG_SPEC)


def split_groups(value):
    """Normalise impersonate_groups: a list, or a comma-separated string (from the env)."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        value = str(value).split(",")
    return [str(group).strip() for group in value if str(group).strip()]


def _env_value(name, environ):
    for var in AUTH_ENV_VARS.get(name, ()):
        if var in environ:
            return environ[var]
    return None


def _coerce(name, value):
    """Apply the conversions AnsibleModule would have applied to an env string."""
    kind = AUTH_ARG_SPEC[name].get("type")
    if kind == "bool" and not isinstance(value, bool):
        try:
            return boolean(value, strict=True)
        except TypeError:
            raise TriageError(
                "%s must be a boolean (true/false, yes/no, 1/0), got %r" % (name, value))
    if kind == "list":
        return split_groups(value)
    if kind == "path" and value:
        return os.path.expanduser(os.path.expandvars(value))
    return value


def _proxy_headers_from_env(environ):
    found = {}
    for key in PROXY_HEADERS_SPEC:
        value = environ.get(PROXY_HEADERS_ENV_PREFIX + key.upper())
        if value is not None:
            found[key] = value
    return found or None


def resolve_auth_params(params, environ=None):
    """Return a complete auth dict: the given values, else the K8S_AUTH_* environment.

    AnsibleModule already applies the env fallbacks; this makes the same rules hold for
    callers that are not modules (plugins, tests) and fills proxy_headers from its own
    per-key variables. Aliases (verify_ssl, ssl_ca_cert, cert_file, key_file) are
    accepted in `params` too. Values not given anywhere are None.
    """
    environ = os.environ if environ is None else environ
    params = params or {}
    resolved = {}
    for name, spec in AUTH_ARG_SPEC.items():
        value = params.get(name)
        for alias in spec.get("aliases", ()):
            if value is None:
                value = params.get(alias)
        if value is None and name == "proxy_headers":
            value = _proxy_headers_from_env(environ)
        elif value is None:
            value = _env_value(name, environ)
        if isinstance(value, str) and value == "":
            value = None  # an exported-but-empty variable means "not set"
        if value is not None and name != "proxy_headers":
            value = _coerce(name, value)
        resolved[name] = value
    return resolved


# -- credentials inside option values ----------------------------------------------------------
# A kubeconfig given as a dict, or a proxy URL with a password, carries secrets in an option that
# cannot be no_log as a whole (a kubeconfig path must stay visible). connection_secrets() finds
# them so that a module adds them to no_log_values and Ansible masks them in its invocation and
# everywhere else in its output.

# A key naming a credential, in users[].user, auth-provider config, exec env names and flags.
_SECRET_KEY = re.compile(r"(?i)(token|secret|passw|pwd|key|credential|cookie|session|auth|private|signature)")
# Keys that match above but hold a file path or a reference, never the secret itself.
_NOT_SECRET_KEY = re.compile(r"(?i)(^client-key$|^client-certificate$|file$|path$|^token-key$|^expiry-key$)")
_URL_PASSWORD = re.compile(r"//[^/@:]*:([^/@]*)@")


def _secret_key(key):
    return bool(_SECRET_KEY.search(key)) and not _NOT_SECRET_KEY.search(key)


def url_password(url):
    """The password in a URL's userinfo (user:PASSWORD@host) as written and decoded, or []."""
    if not isinstance(url, str) or "@" not in url:
        return []
    found = set()
    try:
        found.add(urlsplit(url).password)
    except ValueError:
        pass
    # As written, too: urlsplit drops tabs and newlines and stops the host at "#" or "?".
    written = _URL_PASSWORD.search(url)
    if written:
        found.add(written.group(1))
    found.discard(None)
    found.discard("")
    return sorted(found | set(unquote(p) for p in found))


def _scalar(value):
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    return value if isinstance(value, str) and value else None


def _exec_secrets(body, found):
    for entry in body.get("env") or []:
        if isinstance(entry, dict) and _secret_key(str(entry.get("name") or "")):
            value = _scalar(entry.get("value"))
            if value:
                found.add(value)
    args = [a for a in body.get("args") or [] if isinstance(a, str)]
    for index, arg in enumerate(args):
        flag, sep, value = arg.partition("=")
        if not flag.startswith("-") or not _secret_key(flag.lstrip("-")):
            continue
        if sep and value:
            found.add(value)
        elif not sep and index + 1 < len(args) and not args[index + 1].startswith("-"):
            found.add(args[index + 1])


def _walk_user(node, found):
    """Every value under a secret-looking key, at any depth of a users[].user entry."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "exec" and isinstance(value, dict):
                _exec_secrets(value, found)
            if isinstance(value, (dict, list)):
                _walk_user(value, found)
            elif _secret_key(str(key)):
                value = _scalar(value)
                if value:
                    found.add(value)
    elif isinstance(node, list):
        for item in node:
            _walk_user(item, found)


def kubeconfig_secrets(config):
    """Secrets of a kubeconfig dict: user credentials (token, password, client-key-data,
    auth-provider and exec secrets) and passwords in cluster server and proxy-url URLs."""
    found = set()
    if not isinstance(config, dict):
        return found
    for entry in config.get("users") or []:
        if isinstance(entry, dict):
            _walk_user(entry.get("user"), found)
    for entry in config.get("clusters") or []:
        cluster = entry.get("cluster") if isinstance(entry, dict) else None
        if isinstance(cluster, dict):
            for key in ("server", "proxy-url"):
                found.update(url_password(cluster.get(key)))
    return found


def connection_secrets(params):
    """Every secret inside the auth options of module params (or raw module args): those of a
    kubeconfig dict and the passwords in the proxy and host URLs."""
    params = params or {}
    found = kubeconfig_secrets(params.get("kubeconfig"))
    for name in ("proxy", "host"):
        found.update(url_password(params.get(name)))
    return found
