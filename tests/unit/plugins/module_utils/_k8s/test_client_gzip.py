# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every client asks for compressed responses (Accept-Encoding: gzip, as kubectl does) and reads
a gzipped LIST page as the JSON it is. A local HTTP server stands in for the wire only: it checks
the header and answers in the API server's shape (no Kubernetes behaviour is simulated)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import connect

PAGES = {None: {"items": [{"metadata": {"name": "a"}}], "metadata": {"continue": "next"}},
         "next": {"items": [{"metadata": {"name": "b"}}], "metadata": {}}}


class Handler(BaseHTTPRequestHandler):
    seen = []

    def do_GET(self):
        token = self.path.split("continue=")[1].split("&")[0] if "continue=" in self.path else None
        body = json.dumps(PAGES[token]).encode()
        encoding = self.headers.get("Accept-Encoding", "")
        Handler.seen.append(encoding)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if "gzip" in encoding:
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT"):
        monkeypatch.delenv(name, raising=False)
    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.seen = []
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()


def test_a_list_asks_for_gzip_and_reads_the_compressed_pages(server):
    kube = connect({"host": server, "api_key": "t0ken"})
    names = [pod["metadata"]["name"] for pod in kube.list("Pod", "shop", page_size=1)]
    assert names == ["a", "b"]
    assert Handler.seen == ["gzip", "gzip"]
