# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Object names and namespaces, checked before they reach a URL.

Every name that ends up in an API path passes here first (kube.resource_path calls it), so
`../../other/pods/x`, `a/b`, `%2e%2e` or `..` can never move a request to another namespace or
resource: urllib3 collapses dot segments, and the API server would serve whatever path results.
The rules are the API server's own for these kinds: a namespace is an RFC 1123 label, most
objects are RFC 1123 subdomains.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError

# The one spelling of the 63-character limit (an RFC 1123 label); labels.py derives the label name and
# value limits from it.
DNS_LABEL_MAX = 63
DNS_SUBDOMAIN_MAX = 253
_DNS_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
_DNS_SUBDOMAIN_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")

LABEL_RULE = ("must be a lowercase RFC 1123 label (a-z, 0-9 and '-', starting and ending with a letter or "
              "digit, at most %d characters)" % DNS_LABEL_MAX)
SUBDOMAIN_RULE = ("must be a lowercase RFC 1123 subdomain (a-z, 0-9, '-' and '.', starting and ending with a "
                  "letter or digit, at most %d characters)" % DNS_SUBDOMAIN_MAX)

# Kinds whose names the API server validates as RFC 1123 labels; every other kind triage.k8s
# touches uses subdomains.
LABEL_NAMED_KINDS = ("Namespace", "Service")


def _shown(value):
    """The value as the user gave it, shortened so a 300 KB input does not flood the message."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else "%s... (%d characters)" % (text[:60], len(text))


def dns_problem(value, label=False):
    """Why value is not a valid RFC 1123 label (label=True) or subdomain, or None."""
    if not isinstance(value, str) or not value:
        return "must not be empty" if value in (None, "") else "must be a string"
    limit, pattern, rule = ((DNS_LABEL_MAX, _DNS_LABEL_RE, LABEL_RULE) if label
                            else (DNS_SUBDOMAIN_MAX, _DNS_SUBDOMAIN_RE, SUBDOMAIN_RULE))
    if len(value) > limit or not pattern.match(value):
        return rule
    return None


def _singular(kind):
    return {"NetworkPolicy": "NetworkPolicy", "EndpointSlice": "EndpointSlice"}.get(kind, kind[:1].lower() + kind[1:])


def name_problem(kind, name):
    """`invalid pod name "x": ...` when name cannot be an object of this kind, else None."""
    problem = dns_problem(name, label=kind in LABEL_NAMED_KINDS)
    if problem is None:
        return None
    if kind == "Namespace":
        return 'invalid namespace "%s": %s' % (_shown(name), problem)
    return 'invalid %s name "%s": %s' % (_singular(kind), _shown(name), problem)


def namespace_problem(namespace):
    return name_problem("Namespace", namespace)


def _fail(problem, before_any_call):
    # Modules check their options before any call, and can then promise nothing happened.
    raise TriageError(problem + ("; nothing was read or written" if before_any_call else ""),
                      {"error_type": "invalid_input"})


def validate_name(kind, name, before_any_call=True):
    problem = name_problem(kind, name)
    if problem:
        _fail(problem, before_any_call)
    return name


def validate_namespace(namespace, before_any_call=True):
    problem = namespace_problem(namespace)
    if problem:
        _fail(problem, before_any_call)
    return namespace


def container_problem(name):
    """Container names are RFC 1123 labels; they reach the log and exec query strings."""
    problem = dns_problem(name, label=True)
    return 'invalid container name "%s": %s' % (_shown(name), problem) if problem else None
