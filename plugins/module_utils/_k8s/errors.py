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

import json
import re
import time
from email.utils import parsedate_to_datetime

try:
    from kubernetes.client.exceptions import ApiException
except ImportError:  # reported by client.require_kubernetes()
    ApiException = None

try:
    from kubernetes.config.config_exception import ConfigException
except ImportError:
    ConfigException = None

# TriageError and scrub are imported from here by every caller.
from ansible_collections.triage.k8s.plugins.module_utils._k8s.failure import (
    TriageError,
    in_namespace as _where,
    named_apart as _named,
    object_phrase as _object,
    on_target as _on,
    scrub,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.network import is_network, network_error, tls_error


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


def retry_after_seconds(exc):
    """Seconds the server asked us to wait (Retry-After header or Status details), or None.

    The one Retry-After parser: the 429 message below and retry.RetryPolicy both use it."""
    value = None
    headers = getattr(exc, "headers", None) or {}
    try:
        for key in headers:
            if str(key).lower() == "retry-after":
                value = headers[key]
                break
    except TypeError:
        pass
    if value is None:
        value = (api_status(exc).get("details") or {}).get("retryAfterSeconds")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:  # Retry-After may also be an HTTP date
        when = parsedate_to_datetime(str(value))
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _seconds(value):
    return "%d" % value if value == int(value) else "%.1f" % value


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
            return tls_error(text, target, details)
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
        wait = retry_after_seconds(exc)
        msg = "Throttled: the API server%s is rate-limiting requests (429 TooManyRequests)" % _on(target)
        msg += "; retry after %s seconds" % _seconds(wait) if wait is not None else "; retry later"
    elif 500 <= code <= 599:
        details["error_type"] = "server_error"
        msg = "API server error %s %s%s while trying to %s %s%s" % (
            code, reason or "", _on(target), verb or "access", what, tail)
    else:
        details["error_type"] = "api_error"
        msg = "cannot %s %s%s: %s %s%s" % (verb or "access", what, _on(target), code, reason, tail)
    return TriageError(msg, details)


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
    if is_network(exc):
        return network_error(exc, verb, resource, namespace, name, target)
    return TriageError("unexpected %s while trying to %s %s%s: %s" % (
        type(exc).__name__, verb or "access", _object(resource, name, namespace), _on(target), scrub(exc)),
        {"error_type": "unexpected"})
