# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One place that turns Kubernetes and network failures into messages a human can act on.

Modules catch TriageError and call ``module.fail_json(msg=e.msg, **e.details)``.
Nothing here ever prints ApiException.headers or str(ApiException): the client's own
rendering dumps every response header, and request credentials must never be echoed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import re
import socket
import ssl

try:
    from kubernetes.client.exceptions import ApiException
except ImportError:  # reported by client.require_kubernetes()
    ApiException = None

try:
    from kubernetes.config.config_exception import ConfigException
except ImportError:
    ConfigException = None

try:
    from urllib3 import exceptions as urllib3_exceptions
except ImportError:
    urllib3_exceptions = None


class TriageError(Exception):
    """A failure already phrased for the user; `details` become extra fail_json keys."""

    def __init__(self, msg, details=None):
        super(TriageError, self).__init__(msg)
        self.msg = msg
        self.details = dict(details or {})

    def __str__(self):
        return self.msg


# Credentials that might appear inside a server or library message.
_SECRET_PATTERNS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 <redacted>"),
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\",}\s]+(\s+[^'\",}\s]+)?"),
     r"\1<redacted>"),
)


def scrub(text):
    """Remove anything that looks like a bearer/basic credential from `text`."""
    text = "" if text is None else str(text)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def http_status(exc):
    """The HTTP status of an ApiException (0 for client-side failures), else None."""
    if ApiException is not None and isinstance(exc, ApiException):
        return exc.status
    return None


def api_status(exc):
    """The API server's `Status` object from an ApiException body, as a dict ({} if none)."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, dict):
        return body
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _singular(resource):
    base = (resource or "object").split("/")[0]
    if base.endswith("ies"):
        return base[:-3] + "y"
    if base.endswith("sses") or base.endswith("xes"):
        return base[:-2]
    if base.endswith("s") and not base.endswith("ss"):
        return base[:-1]
    return base


def _where(namespace):
    return ' in namespace "%s"' % namespace if namespace else ""


def _object(resource, name, namespace):
    """`pod "web-1" in namespace "shop"`, or `pods in namespace "shop"` for a list."""
    if name:
        return '%s "%s"%s' % (_singular(resource), name, _where(namespace))
    return "%s%s" % (resource or "objects", _where(namespace))


def _named(resource, name, namespace):
    """`pod "web-1"` plus `in namespace "shop"` separately, for "not found in ..." phrasing."""
    if not name:
        return _object(resource, None, namespace), ""
    return '%s "%s"' % (_singular(resource), name), _where(namespace)


def _on(target):
    return " on %s" % target if target else ""


# "... User "alice" cannot patch resource "pods" in API group "" in the namespace "shop""
_FORBIDDEN_RE = re.compile(
    r'[Uu]ser "(?P<user>[^"]*)" cannot (?P<verb>\S+) resource "(?P<resource>[^"]+)"'
    r'(?: in API group "(?P<group>[^"]*)")?'
    r'(?: in the namespace "(?P<namespace>[^"]+)"| at the cluster scope)?')
_USER_RE = re.compile(r'[Uu]ser "([^"]*)"')


_HANDSHAKE_RE = re.compile(r"[Hh]andshake status (\d{3})")
_STATUS_MESSAGE_RE = re.compile(r'"message":"((?:[^"\\]|\\.)*)"')


def _forbidden(status, verb, resource, namespace):
    server_msg = scrub(status.get("message", ""))
    match = _FORBIDDEN_RE.search(server_msg)
    user_match = _USER_RE.search(server_msg)
    user = user_match.group(1) if user_match else None
    checked = match.groupdict() if match else {}
    if not match and ("admission" in server_msg.lower() or "denied" in server_msg.lower()):
        # ValidatingAdmissionPolicy, a webhook or PodSecurity: more RBAC would not help.
        return ("Forbidden: an admission check of the API server refused to %s %s%s (not an RBAC permission: "
                "granting verbs will not help; see the policy or webhook named here). API server said: %s"
                % (verb or "change", resource or "this object", _where(namespace), server_msg)), {}
    # The server knows what was really checked (e.g. "impersonate" on "users", or a
    # subresource like "pods/eviction"); the grant hint prefers it over the caller's view.
    need_verb, need_resource = checked.get("verb") or verb, checked.get("resource") or resource
    msg = "Forbidden: cannot %s %s%s" % (verb or need_verb or "access", resource or need_resource or "this object",
                                         _where(namespace or checked.get("namespace")))
    if user:
        msg += ' (user "%s")' % user
    if need_verb and need_resource:
        msg += ': grant the "%s" verb on "%s"' % (need_verb, need_resource)
        if checked.get("group"):
            msg += ' (API group "%s")' % checked["group"]
        msg += " to this identity"
    if server_msg:
        msg += ". API server said: %s" % server_msg
    return msg, {"user": user} if user else {}


def _invalid(status, verb, resource, namespace, name):
    causes = []
    for cause in (status.get("details") or {}).get("causes") or []:
        field, message = cause.get("field"), scrub(cause.get("message", ""))
        causes.append({"field": field, "message": message, "reason": cause.get("reason")})
    described = "; ".join("%s: %s" % (c["field"], c["message"]) if c["field"] else c["message"]
                          for c in causes)
    msg = "Invalid: the API server rejected %s %s" % (verb or "the request for", _object(resource, name, namespace))
    msg += ": %s" % (described or scrub(status.get("message", "")) or "no cause given")
    return msg, {"causes": causes}


def _retry_after(exc, status):
    headers = getattr(exc, "headers", None) or {}
    try:
        for key in headers:
            if str(key).lower() == "retry-after":
                return headers[key]
    except TypeError:
        pass
    return (status.get("details") or {}).get("retryAfterSeconds")


def translate_api_exception(exc, verb, resource, namespace=None, name=None, target=None):
    """Turn a kubernetes ApiException into a TriageError with an actionable message."""
    code = getattr(exc, "status", None)
    status = api_status(exc)
    reason = scrub(status.get("reason") or getattr(exc, "reason", None) or "")
    server_msg = scrub(status.get("message") or "")
    what = _object(resource, name, namespace)
    details = {"status": code, "reason": reason, "api_message": server_msg}
    if target:
        details["target"] = target
    tail = (": %s" % server_msg) if server_msg else ""

    if code == 0 or code is None:
        text = scrub(getattr(exc, "reason", "") or "")
        if "SSL" in text or "CERTIFICATE" in text.upper():
            return _tls_error(text, target, details)
        handshake = _HANDSHAKE_RE.search(text)
        if handshake and handshake.group(1) in ("401", "403", "404"):
            # A refused websocket (exec, attach): the client only reports the handshake, whose
            # text includes response headers; answer as for the same status on a plain request.
            code = int(handshake.group(1))
            said = _STATUS_MESSAGE_RE.search(text)
            server_msg = said.group(1).replace('\\"', '"') if said else ""
            details.update(status=code, api_message=server_msg)
            if code == 403:
                details["error_type"] = "forbidden"
                return TriageError(
                    'Forbidden: cannot %s %s%s%s: the API server refused the connection; grant the "create" '
                    'and "get" verbs on "%s" to this identity%s' % (
                        verb or "open", resource or "this stream", _where(namespace), _on(target), resource or "pods/exec",
                        ". API server said: %s" % server_msg if server_msg else ""),
                    details)
            if code == 401:
                details["error_type"] = "unauthorized"
                return TriageError("Unauthorized: the API server%s rejected the credentials for %s %s"
                                   % (_on(target), verb or "this", resource or "request"), details)
            details["error_type"] = "not_found"
            return TriageError("%s not found%s" % (_object(resource, name, namespace), _on(target)), details)
        details.update(error_type="client")
        return TriageError("request to the API server%s failed before a response: %s"
                           % (_on(target), text.splitlines()[-1] if text else "no detail"), details)
    if code == 401:
        details["error_type"] = "unauthorized"
        msg = ("Unauthorized: the API server%s rejected the credentials; check the token (api_key), "
               "client certificate/key or kubeconfig user, and that they have not expired" % _on(target))
    elif code == 403:
        details["error_type"] = "forbidden"
        msg, extra = _forbidden(status, verb, resource, namespace)
        details.update(extra)
    elif code == 404:
        details["error_type"] = "not_found"
        gone = status.get("details") or {}
        if gone.get("kind") == "namespaces" and (gone.get("name") or namespace):
            msg = 'namespace "%s" not found%s' % (gone.get("name") or namespace, _on(target))
        elif name:
            msg = "%s not found%s%s" % (_named(resource, name, namespace) + (_on(target),))
        else:
            msg = "%s not found%s (is the resource type served by this cluster?)%s" % (what, _on(target), tail)
    elif code == 409:
        details["error_type"] = "conflict"
        if reason == "AlreadyExists":
            msg = "%s already exists%s%s" % (_named(resource, name, namespace) + (_on(target),))
        else:
            msg = ("Conflict: %s changed since it was read (or is being changed by someone else); "
                   "read it again and retry%s" % (what, tail))
    elif code == 422:
        details["error_type"] = "invalid"
        msg, extra = _invalid(status, verb, resource, namespace, name)
        details.update(extra)
    elif code == 429:
        details["error_type"] = "throttled"
        wait = _retry_after(exc, status)
        msg = "Throttled: the API server%s is rate-limiting requests (429 TooManyRequests)" % _on(target)
        msg += "; retry after %s seconds" % wait if wait is not None else "; retry later"
    elif 500 <= code <= 599:
        details["error_type"] = "server_error"
        msg = "API server error %s %s%s while trying to %s %s%s" % (
            code, reason or "", _on(target), verb or "access", what, tail)
    else:
        details["error_type"] = "api_error"
        msg = "cannot %s %s%s: %s %s%s" % (verb or "access", what, _on(target), code, reason, tail)
    return TriageError(msg, details)


def _tls_error(text, target, details):
    details["error_type"] = "tls"
    if "CERTIFICATE_VERIFY_FAILED" in text.upper() or "certificate verify failed" in text:
        msg = ("TLS verification failed for the API server%s: its certificate is not trusted; "
               "set ca_cert to the cluster CA bundle (or validate_certs: false for a disposable lab "
               "cluster)" % _on(target))
    else:
        msg = ("TLS error talking to the API server%s; check that host uses the right scheme and port, "
               "and set ca_cert or validate_certs" % _on(target))
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


def _network_error(exc, verb, resource, namespace, name, target):
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
            return _tls_error(scrub(item), target or where, details)
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
                               % (where, verb or "access", _object(resource, name, namespace)), details)
    for item in chain:
        if isinstance(item, (ConnectionResetError, BrokenPipeError)) or _is(item, "ProtocolError"):
            return TriageError("the connection to the API server at %s was reset while trying to %s %s; "
                               "retry, and check proxies/load balancers in between"
                               % (where, verb or "access", _object(resource, name, namespace)), details)
    last = str(chain[-1]) if chain else str(exc)
    return TriageError("cannot reach the API server at %s: %s" % (where, scrub(last)), details)


def _is_network(exc):
    return isinstance(exc, (OSError, ssl.SSLError)) or _is(exc, "HTTPError")


def translate_exception(exc, verb, resource, namespace=None, name=None, target=None):
    """Always return a TriageError for any exception raised while talking to a cluster.

    Use as ``except Exception as e: raise translate_exception(e, "patch", "pods", ns, name)``.
    """
    if isinstance(exc, TriageError):
        return exc
    if ApiException is not None and isinstance(exc, ApiException):
        return translate_api_exception(exc, verb, resource, namespace, name, target)
    if ConfigException is not None and isinstance(exc, ConfigException):
        return TriageError("Kubernetes client configuration problem%s: %s; check kubeconfig, context and the "
                           "K8S_AUTH_* settings" % (_on(target), scrub(exc)), {"error_type": "config"})
    if _is_network(exc):
        return _network_error(exc, verb, resource, namespace, name, target)
    return TriageError("unexpected %s while trying to %s %s%s: %s" % (
        type(exc).__name__, verb or "access", _object(resource, name, namespace), _on(target), scrub(exc)),
        {"error_type": "unexpected"})
