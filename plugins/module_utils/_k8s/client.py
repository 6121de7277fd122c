# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that turns connection options into a kubernetes ApiClient, and a module run's
one Kube (connect). Kubeconfig files are read by kubeconfig.py; this file only decides which
source applies, loads it into a Configuration and applies the explicit options.

Resolution order (also documented in doc_fragments/k8s_auth.py):
  1. module parameters, then the K8S_AUTH_* environment (auth.resolve_auth_params);
  2. kubeconfig (a path, a list of paths joined by os.pathsep, or a dict) when given, or the
     default kubeconfig when only `context` is given;
  3. `host` alone (e.g. host + api_key, AWX's bearer-token credential): no file is read;
  4. in-cluster service account when KUBERNETES_SERVICE_HOST is set;
  5. $KUBECONFIG, else ~/.kube/config.
Explicit options are then applied over whatever 2-5 loaded.

Every ApiClient gets its own Configuration: one process may talk to several clusters, so
the library's process-wide default configuration is never read nor written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import Kube
from ansible_collections.triage.k8s.plugins.module_utils._k8s.auth import resolve_auth_params
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError, scrub
from ansible_collections.triage.k8s.plugins.module_utils._k8s.kubeconfig import (
    KubeconfigError,
    default_paths,
    safe_server,
    select_context,
)

KUBERNETES_IMPORT_ERROR = None
try:
    import kubernetes
    import urllib3
    from kubernetes.client import ApiClient, Configuration
    from kubernetes.config import load_incluster_config
    from kubernetes.config.kube_config import load_kube_config, load_kube_config_from_dict
    HAS_KUBERNETES = True
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

try:
    from urllib3 import HTTPHeaderDict
except ImportError:
    try:
        from urllib3._collections import HTTPHeaderDict  # urllib3 < 2
    except ImportError:
        HTTPHeaderDict = None

MIN_KUBERNETES_VERSION = "24.2.0"
# Compressed responses, as kubectl asks for them: a LIST page of 500 pods is about 3 MiB of JSON
# and a tenth of that gzipped, which decides a scan over a real link (docs/performance.md). The
# API server compresses only large responses; urllib3 inflates them (every read decodes content).
ACCEPT_ENCODING = "gzip"
IMPERSONATE_USER_HEADER = "Impersonate-User"
IMPERSONATE_GROUP_HEADER = "Impersonate-Group"


def require_kubernetes(module):
    """fail_json with the standard 'missing library' message when kubernetes is absent."""
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    from ansible.module_utils.compat.version import LooseVersion
    if LooseVersion(kubernetes.__version__) < LooseVersion(MIN_KUBERNETES_VERSION):
        module.fail_json(msg="kubernetes >= %s is required, found %s"
                         % (MIN_KUBERNETES_VERSION, kubernetes.__version__))


# ---------------------------------------------------------------- where the settings come from

class _Source(object):
    """Where the connection settings come from, decided without touching the network."""

    def __init__(self, mode, label="", selection=None):
        self.mode = mode              # "kubeconfig", "host", "incluster" or "none"
        self.label = label            # e.g. "kubeconfig /root/.kube/config", for messages
        self.selection = selection    # a kubeconfig.Selection in "kubeconfig" mode
        self.context = selection.context if selection else None


def _kubeconfig_source(kubeconfig, context, environ):
    try:
        selection = select_context(kubeconfig, context, environ)
    except KubeconfigError as exc:
        raise TriageError(exc.for_module, {"error_type": "config"})
    return _Source("kubeconfig", selection.label, selection)


def _plan(auth, environ):
    if auth.get("kubeconfig") or auth.get("context"):
        return _kubeconfig_source(auth.get("kubeconfig"), auth.get("context"), environ)
    if auth.get("host"):
        return _Source("host", label=auth["host"])
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return _Source("incluster", label="in-cluster service account")
    paths, where = default_paths(environ)
    if paths:
        return _kubeconfig_source(os.pathsep.join(paths), auth.get("context"), environ)
    return _Source("none", label=where)


# ---------------------------------------------------------------- building the client

def _normalise_host(host):
    host = host.strip().rstrip("/")
    return host if "://" in host else "https://" + host


def _load(source, configuration, environ, persist=False):
    """Load the chosen settings into configuration. persist: let the kubernetes library write a token
    it refreshed (gcp and oidc auth-providers) back to the kubeconfig file, as kubernetes.core does
    with persist_config; a kubeconfig dict has no file to write to."""
    selection = source.selection
    try:
        if source.mode == "kubeconfig" and selection.config_dict is not None:
            load_kube_config_from_dict(config_dict=copy.deepcopy(selection.config_dict), context=source.context,
                                       client_configuration=configuration, persist_config=False)
        elif source.mode == "kubeconfig":
            load_kube_config(config_file=os.pathsep.join(selection.paths), context=source.context,
                             client_configuration=configuration, persist_config=bool(persist))
        elif source.mode == "incluster":
            load_incluster_config(client_configuration=configuration)
    except TriageError:
        raise
    except Exception as exc:  # ConfigException, exec-plugin failures, bad cert data...
        if source.mode == "incluster":
            # e.g. KUBERNETES_SERVICE_HOST set but no service account token mounted.
            paths, where = default_paths(environ)
            if paths:
                fallback = _kubeconfig_source(os.pathsep.join(paths), None, environ)
                _load(fallback, configuration, environ, persist)
                return fallback
            raise TriageError("KUBERNETES_SERVICE_HOST is set but the in-cluster configuration failed (%s) "
                              "and there is no kubeconfig at %s: mount a service account token or set "
                              "kubeconfig/context or host/api_key" % (scrub(exc), where), {"error_type": "config"})
        where = "%s, context '%s'" % (source.label, source.context) if source.context else source.label
        raise TriageError("cannot load %s: %s" % (where, scrub(exc)), {"error_type": "config"})
    return source


def _basic_auth_header(username, password):
    return urllib3.util.make_headers(basic_auth="%s:%s" % (username, password or ""))["authorization"]


def _apply_overrides(configuration, auth):
    """Explicit options win over whatever the kubeconfig or in-cluster config said."""
    if auth.get("host"):
        configuration.host = _normalise_host(auth["host"])
    if auth.get("ca_cert"):
        configuration.ssl_ca_cert = auth["ca_cert"]
    if auth.get("validate_certs") is not None:
        configuration.verify_ssl = auth["validate_certs"]
    if auth.get("client_cert"):
        configuration.cert_file = auth["client_cert"]
    if auth.get("client_key"):
        configuration.key_file = auth["client_key"]
    if auth.get("proxy"):
        configuration.proxy = auth["proxy"]
    if auth.get("no_proxy"):
        configuration.no_proxy = auth["no_proxy"]
    if auth.get("proxy_headers"):
        given = dict((k, v) for k, v in auth["proxy_headers"].items() if v is not None)
        configuration.proxy_headers = urllib3.util.make_headers(**given)
    token = auth.get("api_key")
    if token:
        token = token.strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        configuration.api_key = {"authorization": token}
        configuration.api_key_prefix = {"authorization": "Bearer"}
        # A kubeconfig exec plugin or in-cluster token refresher would overwrite our token.
        configuration.refresh_api_key_hook = None
    elif auth.get("username"):
        configuration.username, configuration.password = auth["username"], auth.get("password")
        # The generated client only sends api_key['authorization'], so build the header here.
        configuration.api_key = {"authorization": _basic_auth_header(auth["username"], auth.get("password"))}
        configuration.api_key_prefix = {}
        configuration.refresh_api_key_hook = None
    if configuration.verify_ssl is False:
        # Asked for explicitly (option or kubeconfig); don't print a warning on every request.
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def _add_group_headers(request, groups):
    """Wrap RESTClientObject.request so each group goes out as its own Impersonate-Group header.

    ApiClient.default_headers is a plain dict (one value per name) and the API server
    does not split a comma-joined value, so the headers are added per request instead.
    Note: an http:// API server reached through an http proxy gets them comma-joined by
    urllib3, and websocket streams (exec/attach) send no custom headers at all.
    """
    def request_with_groups(method, url, *args, **kwargs):
        headers = HTTPHeaderDict(kwargs.get("headers") or {})
        headers.discard(IMPERSONATE_GROUP_HEADER)
        for group in groups:
            headers.add(IMPERSONATE_GROUP_HEADER, group)
        kwargs["headers"] = headers
        return request(method, url, *args, **kwargs)
    return request_with_groups


def _impersonate(api_client, user, groups):
    if user:
        api_client.set_default_header(IMPERSONATE_USER_HEADER, user)
    if groups:
        api_client.rest_client.request = _add_group_headers(api_client.rest_client.request, list(groups))
    api_client.impersonation = {"user": user, "groups": list(groups)} if (user or groups) else None


def _describe(source, configuration_host=None, host=None):
    """e.g. "context 'kwok-a' (https://127.0.0.1:32768)"; never shows URL credentials."""
    server = host and _normalise_host(host)
    if source.mode == "kubeconfig":
        server = safe_server(server or source.selection.server)
        return "context '%s' (%s)" % (source.context, server) if server else "context '%s'" % source.context
    if source.mode == "incluster":
        return "in-cluster config (%s)" % safe_server(server or configuration_host or "the cluster's API service")
    if source.mode == "host":
        return safe_server(server)
    return "no cluster configured"


def _no_configuration(source):
    return TriageError("no Kubernetes configuration found: no kubeconfig at %s, no K8S_AUTH_* variables and "
                       "not running in a cluster: set kubeconfig/context or host/api_key" % source.label,
                       {"error_type": "config"})


def build_api_client(params, environ=None):
    """A kubernetes ApiClient for these connection options, with its own Configuration.

    `params` is module.params or any dict with the auth option names. Raises TriageError
    (never a raw library exception) when the configuration cannot be resolved or loaded.
    The client carries `target_description` (for messages) and `impersonation`.
    """
    if not HAS_KUBERNETES:
        raise TriageError(missing_required_lib("kubernetes"), {"error_type": "config"})
    environ = os.environ if environ is None else environ
    auth = resolve_auth_params(params, environ)
    source = _plan(auth, environ)
    if source.mode == "none":
        raise _no_configuration(source)
    configuration = Configuration()
    source = _load(source, configuration, environ, auth.get("persist_config"))
    if source.mode == "kubeconfig" and not auth.get("host") and not source.selection.server:
        # The library would silently fall back to http://localhost.
        raise TriageError("%s: context '%s' names no cluster with a server URL; fix the kubeconfig or set host"
                          % (source.label, source.context), {"error_type": "config"})
    _apply_overrides(configuration, auth)
    api_client = ApiClient(configuration)
    api_client.set_default_header("Accept-Encoding", ACCEPT_ENCODING)
    _impersonate(api_client, auth.get("impersonate_user"), auth.get("impersonate_groups") or [])
    api_client.target_description = _describe(source, configuration.host, auth.get("host"))
    return api_client


def connect(params, environ=None):
    """The one Kube of a module run for these options: its ApiClient built once (the kubeconfig read
    and loaded once, exec plugins run once) and its target described once, from what was loaded."""
    api_client = build_api_client(params, environ)
    return Kube(api_client, api_client.target_description)


def sibling_api_client(api_client):
    """Another ApiClient on the same, already loaded Configuration (nothing is read again), with the
    same impersonation: for a websocket stream, which takes over the client it runs on."""
    sibling = ApiClient(api_client.configuration)
    impersonation = getattr(api_client, "impersonation", None) or {}
    _impersonate(sibling, impersonation.get("user"), impersonation.get("groups") or [])
    sibling.target_description = getattr(api_client, "target_description", None)
    return sibling


def describe_target(params, environ=None):
    """A short, secret-free description of the cluster these options point at.

    e.g. "context 'kwok-a' (https://127.0.0.1:32768)" or "https://api.example:6443".
    Never raises: on a broken configuration it describes what was asked for.
    """
    environ = os.environ if environ is None else environ
    try:
        auth = resolve_auth_params(params, environ)
    except Exception:
        auth = dict(params or {})
    try:
        return _describe(_plan(auth, environ), _incluster_host(environ), auth.get("host"))
    except Exception:
        if auth.get("context"):
            return "context '%s'" % auth["context"]
        if auth.get("host"):
            return str(auth["host"])
        return "the configured cluster"


def _incluster_host(environ):
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    if not host:
        return None
    host = "[%s]" % host if ":" in host else host
    return "https://%s:%s" % (host, port) if port else "https://" + host
