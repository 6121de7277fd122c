# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _k8s/events.py, the Event writer, through the real Kube against a scripted
transport: where it POSTs, that it never raises, what a refusal says (verb, resource, API group),
that a create sent again after a lost answer counts as written, and the warning."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.triage.k8s.plugins.module_utils._k8s import events
from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import Kube, resource_path
from ansible_collections.triage.k8s.plugins.module_utils._k8s.retry import RetryPolicy

from .test_api_watch import api_error

EVENTS = "/apis/events.k8s.io/v1/namespaces/shop/events"
EVENT = {"apiVersion": "events.k8s.io/v1", "kind": "Event",
         "metadata": {"name": "web-1.0123456789abcdef", "namespace": "shop"}, "reason": "Quarantined",
         "regarding": {"apiVersion": "v1", "kind": "Pod", "name": "web-1", "namespace": "shop", "uid": "u-1"}}
FORBIDDEN = ('events.events.k8s.io is forbidden: User "system:serviceaccount:triage:triage-quarantine" cannot create '
             'resource "events" in API group "events.k8s.io" in the namespace "shop"')


class Response(object):
    def __init__(self, data):
        self.data = data


class Client(object):
    """The older call_api transport, answering from a list of answers in order."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def call_api(self, path, method, query_params=None, header_params=None, body=None, **_options):
        self.calls.append((method, path, body))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def kube(*answers):
    return Kube(Client(*answers), retry=RetryPolicy(sleep=lambda _s: None))


def test_the_kind_is_the_events_k8s_io_v1_collection():
    assert resource_path(events.KIND, "shop") == EVENTS


def test_write_posts_the_event_to_events_k8s_io():
    k = kube(Response(json.dumps(EVENT).encode()))
    outcome = events.write(k, EVENT)
    assert outcome == {"written": True, "name": "web-1.0123456789abcdef", "namespace": "shop", "reason": "Quarantined",
                       "error": None}
    assert k.api_client.calls == [("POST", EVENTS, EVENT)]


def test_a_forbidden_create_is_an_outcome_naming_the_verb_resource_and_group():
    outcome = events.write(kube(api_error(403, "Forbidden", FORBIDDEN)), EVENT)
    assert outcome["written"] is False
    assert 'Forbidden: cannot create events.events.k8s.io in namespace "shop"' in outcome["error"], outcome
    assert 'grant the "create" verb on "events" (API group "events.k8s.io")' in outcome["error"], outcome


def test_a_lost_answer_is_sent_again_and_already_exists_means_it_was_written():
    k = kube(ConnectionResetError(104, "Connection reset by peer"), api_error(409, "AlreadyExists", "exists"))
    assert events.write(k, EVENT)["written"] is True
    assert [c[0] for c in k.api_client.calls] == ["POST", "POST"]


def test_anything_else_never_raises():
    outcome = events.write(kube(RuntimeError("boom")), EVENT)
    assert outcome["written"] is False and outcome["error"].endswith(": boom"), outcome
    bad = dict(EVENT, metadata={"name": "x", "namespace": "../kube-system"})
    outcome = events.write(kube(), bad)
    assert outcome["written"] is False and "invalid namespace" in outcome["error"]


def test_record_warns_only_when_the_event_was_not_written():
    warnings = []
    events.record(kube(Response(b"{}")), EVENT, warnings.append)
    assert warnings == []
    outcome = events.record(kube(api_error(403, "Forbidden", FORBIDDEN)), EVENT, warnings.append)
    assert warnings == ["the change was made, but no Kubernetes Event (reason Quarantined) was recorded on pod "
                        "shop/web-1: %s" % outcome["error"]]


def test_now_is_aware_and_host_is_a_string():
    assert events.now().tzinfo is not None
    assert isinstance(events.host(), str)
