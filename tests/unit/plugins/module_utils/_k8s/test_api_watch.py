# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kube's LIST that seeds a watch, and watch_until over a scripted transport: the LIST is
paginated (limit + continue), a 410 on a continue token lists again from the start, the watch
starts from the LIST's resourceVersion, and an expired watch lists again. Also the log stream's
open (retried before the first byte, translated once)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from kubernetes.client.exceptions import ApiException

from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import RELISTS, Kube
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.retry import RetryPolicy


def api_error(status, reason, message=""):
    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps({"kind": "Status", "code": status, "reason": reason, "message": message})
    exc.headers = {}
    return exc


class Response(object):
    def __init__(self, data=b"", chunks=None):
        self.data = data
        self.chunks = chunks or []
        self.released = False

    def stream(self, amt=None, decode_content=None):
        yield from self.chunks

    def release_conn(self):
        self.released = True


class Client(object):
    """The kubernetes client's older call_api transport, answering from a script of
    (expected path, answer) in order; each query is recorded."""

    def __init__(self, *script):
        self.script = list(script)
        self.calls = []

    def call_api(self, path, method, query_params=None, header_params=None, body=None, **_options):
        self.calls.append((method, path, dict(query_params or [])))
        expected, answer = self.script.pop(0)
        assert path == expected
        if isinstance(answer, Exception):
            raise answer
        return answer


def page(names, version="100", token=None):
    items = [{"metadata": {"name": n, "uid": "uid-" + n, "resourceVersion": version}} for n in names]
    meta = {"resourceVersion": version}
    if token:
        meta["continue"] = token
    return Response(json.dumps({"kind": "PodList", "metadata": meta, "items": items}).encode())


PODS = "/api/v1/namespaces/shop/pods"
EXPIRED_TOKEN = api_error(410, "Expired", "The provided continue parameter is too old to display a consistent list "
                          "result. You can start a new list without the continue parameter.")


def kube(client):
    return Kube(client, retry=RetryPolicy(sleep=lambda _s: None))


def test_list_with_version_is_paginated_with_limit_and_continue():
    client = Client((PODS, page(["a", "b"], "100", "t1")), (PODS, page(["c"], "100", "t2")), (PODS, page([], "100")))
    items, version = kube(client).list_with_version("Pod", "shop", label_selector="app=web", page_size=2)
    assert [i["metadata"]["name"] for i in items] == ["a", "b", "c"] and version == "100"
    assert [q for _m, _p, q in client.calls] == [
        {"limit": 2, "labelSelector": "app=web"},
        {"limit": 2, "labelSelector": "app=web", "continue": "t1"},
        {"limit": 2, "labelSelector": "app=web", "continue": "t2"}]


def test_a_410_on_the_continue_token_lists_again_from_the_start():
    client = Client((PODS, page(["a", "b"], "100", "t1")), (PODS, EXPIRED_TOKEN),
                    (PODS, page(["a2", "b2"], "200", "u1")), (PODS, page(["c2"], "200")))
    items, version = kube(client).list_with_version("Pod", "shop", page_size=2)
    assert [i["metadata"]["name"] for i in items] == ["a2", "b2", "c2"]  # nothing of the expired snapshot kept
    assert version == "200"
    assert [q for _m, _p, q in client.calls] == [{"limit": 2}, {"limit": 2, "continue": "t1"}, {"limit": 2},
                                                 {"limit": 2, "continue": "u1"}]


def test_relisting_gives_up_and_a_410_on_the_first_page_is_not_a_relist():
    script = []
    for _relist in range(RELISTS + 1):
        script += [(PODS, page(["a"], "100", "t")), (PODS, EXPIRED_TOKEN)]
    with pytest.raises(TriageError) as caught:
        kube(Client(*script)).list_with_version("Pod", "shop")
    assert caught.value.details["status"] == 410
    client = Client((PODS, api_error(410, "Gone")))
    with pytest.raises(TriageError):
        kube(client).list_with_version("Pod", "shop")
    assert len(client.calls) == 1


def _event(kind, name, version):
    return json.dumps({"type": kind, "object": {"metadata": {"name": name, "uid": "uid-" + name,
                                                             "resourceVersion": version}}}).encode() + b"\n"


def test_watch_until_seeds_the_watch_with_the_paginated_list_and_relists_when_it_expires():
    expired = json.dumps({"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}).encode()
    first_watch = Response(chunks=[_event("ADDED", "c", "101"), expired + b"\n"])
    second_watch = Response(chunks=[_event("DELETED", "a", "301")])
    client = Client((PODS, page(["a"], "100", "t1")), (PODS, page(["b"], "100")), (PODS, first_watch),
                    (PODS, page(["a", "b", "c"], "300")), (PODS, second_watch))
    value, objects = kube(client).watch_until("Pod", "shop", lambda objs: "uid-a" not in objs and "gone", 30,
                                              label_selector="app=web")
    assert value == "gone" and sorted(objects) == ["uid-b", "uid-c"]
    queries = [q for _m, _p, q in client.calls]
    assert queries[0] == {"limit": 500, "labelSelector": "app=web"}
    assert queries[1] == {"limit": 500, "labelSelector": "app=web", "continue": "t1"}
    assert queries[2]["watch"] == "true" and queries[2]["resourceVersion"] == "100"
    assert queries[2]["labelSelector"] == "app=web" and queries[2]["allowWatchBookmarks"] == "true"
    assert "limit" not in queries[2] and "continue" not in queries[2]
    assert queries[3] == {"limit": 500, "labelSelector": "app=web"}  # expired: a fresh LIST
    assert queries[4]["resourceVersion"] == "300"
    assert first_watch.released and second_watch.released


def test_a_forbidden_watch_is_translated_once():
    forbidden = api_error(403, "Forbidden", 'pods is forbidden: User "bob" cannot watch resource "pods" in API '
                                            'group "" in the namespace "shop"')
    client = Client((PODS, page([], "100")), (PODS, forbidden))
    with pytest.raises(TriageError) as caught:
        kube(client).watch_until("Pod", "shop", lambda objs: None, 30)
    assert 'grant the "watch" verb on "pods"' in caught.value.msg and caught.value.details["status"] == 403


LOG = "/api/v1/namespaces/shop/pods/web-1/log"


def test_a_log_stream_opens_with_retries_before_the_first_byte_only():
    body = Response(chunks=[b"one\n", b"two\n"])
    client = Client((LOG, api_error(503, "ServiceUnavailable")), (LOG, body))
    log = kube(client).log_stream("shop", "web-1", {"container": "app", "tailLines": "10"}, timeout=(30, 60))
    with log:
        assert list(log.chunks(4)) == [b"one\n", b"two\n"]
    assert body.released
    assert client.calls == [("GET", LOG, {"container": "app", "tailLines": "10"})] * 2


def test_a_log_that_does_not_exist_is_one_translated_error_and_not_retried():
    client = Client((LOG, api_error(400, "BadRequest", 'previous terminated container "app" in pod "web-1" not '
                                    'found')))
    with pytest.raises(TriageError) as caught:
        kube(client).log_stream("shop", "web-1", {"container": "app", "previous": "true"}, timeout=60)
    assert caught.value.details["status"] == 400 and len(client.calls) == 1
    assert caught.value.details["api_message"] == 'previous terminated container "app" in pod "web-1" not found'
