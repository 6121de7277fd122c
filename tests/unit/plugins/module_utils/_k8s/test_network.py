# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""network.py through its entry, errors.translate_exception: failures before any HTTP response."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ssl

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3 import HTTPConnectionPool
from urllib3.exceptions import (
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import SSLError as Urllib3SSLError

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import translate_exception

TARGET = "context 'kwok-a' (https://127.0.0.1:32768)"


def test_connection_refused():
    pool = HTTPConnectionPool("127.0.0.1", 6443)
    refused = NewConnectionError(pool, "Failed to establish a new connection: [Errno 111] Connection refused")
    for exc in (MaxRetryError(pool, "/api/v1/pods", refused), ConnectionRefusedError(111, "Connection refused")):
        error = translate_exception(exc, "list", "pods", target=TARGET)
        assert error.msg == ("cannot reach the API server at %s: connection refused - is the cluster up and is "
                             "the context right?" % TARGET)
    error = translate_exception(MaxRetryError(pool, "/api", refused), "list", "pods")
    assert "at 127.0.0.1:6443: connection refused" in error.msg


def test_name_resolution_and_timeout_and_reset():
    pool = HTTPConnectionPool("nowhere.invalid", 443)
    dns = NameResolutionError("nowhere.invalid", pool, OSError("Name or service not known"))
    assert "does not resolve" in translate_exception(MaxRetryError(pool, "/", dns), "get", "pods").msg
    timeout = ReadTimeoutError(pool, "/", "Read timed out. (read timeout=5)")
    error = translate_exception(timeout, "get", "pods", "shop", "web-1")
    assert error.msg.startswith("timed out talking to the API server at nowhere.invalid:443")
    assert error.details["error_type"] == "timeout"
    reset = ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    assert "was reset" in translate_exception(reset, "get", "pods").msg


def test_tls_verification_failure():
    verify = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                             "unable to get local issuer certificate")
    pool = HTTPConnectionPool("127.0.0.1", 6443)
    for exc in (MaxRetryError(pool, "/", Urllib3SSLError(verify)),
                ApiException(status=0, reason="SSLError\n[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
                                              "failed: self-signed certificate")):
        error = translate_exception(exc, "get", "pods", target=TARGET)
        assert error.msg.startswith("TLS verification failed")
        assert "set ca_cert" in error.msg and "validate_certs" in error.msg
        assert error.details["error_type"] == "tls"


def test_missing_certificate_file():
    missing = FileNotFoundError(2, "No such file or directory", "/etc/ca.crt")
    error = translate_exception(ProtocolError("Connection aborted.", missing), "get", "pods")
    assert "/etc/ca.crt" in error.msg and "ca_cert" in error.msg


def test_a_refusing_proxy_is_named_without_its_password():
    # A real urllib3 failure: a proxy on a loopback port nothing listens on.
    import socket
    from kubernetes import client as k8s_client
    from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import translate_exception as translate

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = k8s_client.Configuration()
    config.host, config.proxy, config.verify_ssl = "https://127.0.0.1:6443", "http://u:s3cret@127.0.0.1:%d" % port, False
    config.retries = False
    with pytest.raises(Exception) as caught:  # the client's own exception chain
        k8s_client.CoreV1Api(k8s_client.ApiClient(config)).list_namespace(_request_timeout=3)
    error = translate(caught.value, "list", "namespaces")
    assert "through the proxy http://u:********@127.0.0.1:%d" % port in error.msg
    assert "s3cret" not in error.msg and error.details["error_type"] == "proxy"
