# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Failures before any HTTP response, in words a human can act on: connection refused, a name that
does not resolve, timeouts, resets, TLS verification, a missing certificate file, a failing proxy
(its password masked). errors.translate_exception dispatches here for OSError, ssl and urllib3 errors.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import re
import socket
import ssl

try:
    from urllib3 import exceptions as urllib3_exceptions
except ImportError:  # reported by client.require_kubernetes()
    urllib3_exceptions = None

from ansible_collections.triage.k8s.plugins.module_utils._k8s.failure import TriageError, object_phrase, on_target, scrub


def tls_error(text, target, details):
    details["error_type"] = "tls"
    if "CERTIFICATE_VERIFY_FAILED" in text.upper() or "certificate verify failed" in text:
        msg = ("TLS verification failed for the API server%s: its certificate is not trusted; "
               "set ca_cert to the cluster CA bundle (or validate_certs: false for a disposable lab "
               "cluster)" % on_target(target))
    else:
        msg = ("TLS error talking to the API server%s; check that host uses the right scheme and port, "
               "and set ca_cert or validate_certs" % on_target(target))
    last = text.strip().splitlines()[-1] if text.strip() else ""
    return TriageError(msg + (" (%s)" % last if last else ""), details)


def _wrapped(exc):
    """The exception `exc` wraps: urllib3 `.reason`, an exception in args, or the cause."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        return reason
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, BaseException):
            return arg
    return exc.__cause__ or exc.__context__


def _chain(exc):
    """exc followed by everything it wraps, outermost first."""
    seen = []
    while exc is not None and exc not in seen and len(seen) < 10:
        seen.append(exc)
        exc = _wrapped(exc)
    return seen


def _host_from(chain, target):
    if target:
        return target
    for item in chain:
        conn = getattr(item, "pool", None) or getattr(item, "conn", None)
        host = getattr(conn, "host", None)
        if host:
            port = getattr(conn, "port", None)
            return "%s:%s" % (host, port) if port else host
    return "the configured host"


def _is(exc, *names):
    """isinstance against urllib3 exception names, without needing urllib3 importable."""
    if urllib3_exceptions is None:
        return False
    classes = tuple(getattr(urllib3_exceptions, n) for n in names if hasattr(urllib3_exceptions, n))
    return bool(classes) and isinstance(exc, classes)


def _proxy_from(chain):
    """The proxy a failed connection went through, its password masked, or None."""
    for item in chain:
        proxy = getattr(getattr(item, "pool", None), "proxy", None)
        if proxy is not None and getattr(proxy, "host", None):
            user = (getattr(proxy, "auth", None) or "").split(":", 1)[0]
            return "%s://%s%s:%s" % (proxy.scheme or "http", "%s:********@" % user if user else "", proxy.host,
                                     proxy.port or (443 if proxy.scheme == "https" else 80))
    return None


def network_error(exc, verb, resource, namespace, name, target):
    chain = _chain(exc)
    where = _host_from(chain, target)
    details = {"error_type": "unreachable"}
    if target:
        details["target"] = target
    if any(_is(item, "ProxyError") for item in chain):
        last = scrub(chain[-1]).splitlines()[-1] if str(chain[-1]) else type(chain[-1]).__name__
        proxy = _proxy_from(chain) or "the configured proxy"
        details["error_type"] = "proxy"
        return TriageError("cannot reach the API server at %s through the proxy %s: the proxy failed (%s) - check "
                           "proxy (and no_proxy)" % (where, proxy, re.sub(r"//[^/@\s]*@", "//<redacted>@", last)),
                           details)
    for item in chain:
        # A missing ca_cert/client_cert/client_key surfaces only when connecting.
        if isinstance(item, (FileNotFoundError, PermissionError, IsADirectoryError)):
            details["error_type"] = "config"
            return TriageError("cannot read %s (%s) while connecting to %s; check ca_cert, client_cert and "
                               "client_key" % (getattr(item, "filename", None) or "a certificate or key file",
                                               item.strerror or type(item).__name__, where), details)
    for item in chain:
        if isinstance(item, ssl.SSLError) or _is(item, "SSLError"):
            return tls_error(scrub(item), target or where, details)
    for item in chain:
        if isinstance(item, ConnectionRefusedError) or "Connection refused" in str(item) \
                or getattr(item, "errno", None) == errno.ECONNREFUSED:
            return TriageError("cannot reach the API server at %s: connection refused - is the cluster up "
                               "and is the context right?" % where, details)
    for item in chain:
        if isinstance(item, socket.gaierror) or _is(item, "NameResolutionError") \
                or "Name or service not known" in str(item) or "nodename nor servname" in str(item):
            return TriageError("cannot reach the API server at %s: its name does not resolve - check host "
                               "or the kubeconfig server address" % where, details)
    for item in chain:
        if isinstance(item, (TimeoutError, socket.timeout)) or _is(item, "TimeoutError"):
            details["error_type"] = "timeout"
            return TriageError("timed out talking to the API server at %s while trying to %s %s - is it "
                               "reachable from here (VPN, firewall, proxy)?"
                               % (where, verb or "access", object_phrase(resource, name, namespace)), details)
    for item in chain:
        if isinstance(item, (ConnectionResetError, BrokenPipeError)) or _is(item, "ProtocolError"):
            return TriageError("the connection to the API server at %s was reset while trying to %s %s; "
                               "retry, and check proxies/load balancers in between"
                               % (where, verb or "access", object_phrase(resource, name, namespace)), details)
    last = str(chain[-1]) if chain else str(exc)
    return TriageError("cannot reach the API server at %s: %s" % (where, scrub(last)), details)


def is_network(exc):
    return isinstance(exc, (OSError, ssl.SSLError)) or _is(exc, "HTTPError")
