# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _contract/events.py: the events.k8s.io/v1 Event manifest, its name, the API
server's limits (note 1 KiB in bytes, reportingInstance 128), and the notes of each change."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._contract import events
from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import MANAGED_BY_LABEL

from .pods import DNS_SUBDOMAIN, UID, make_pod

NOW = datetime.datetime(2026, 11, 22, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc)
# Kubernetes' IsQualifiedName (reportingController): [prefix/]name, name <= 63 characters.
QUALIFIED_NAME = re.compile(r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                            r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?\Z")


def test_the_manifest_is_an_events_k8s_io_v1_event_on_the_pod():
    pod = make_pod()
    event = events.pod_event(pod, events.QUARANTINED, "Quarantined by alice", NOW, "runner-1")
    assert event["apiVersion"] == "events.k8s.io/v1" and event["kind"] == "Event"
    assert event["regarding"] == {"apiVersion": "v1", "kind": "Pod", "name": "web-7d4b9c-x2x9z", "namespace": "shop",
                                  "uid": UID, "resourceVersion": "4711"}
    assert event["metadata"]["namespace"] == "shop"
    assert event["metadata"]["labels"] == {MANAGED_BY_LABEL: "triage.k8s"}
    assert event["eventTime"] == "2026-11-22T03:04:05.123456Z"
    assert event["reportingController"] == "triage.k8s" and QUALIFIED_NAME.match(event["reportingController"])
    assert event["reportingInstance"] == "triage.k8s-runner-1"
    assert (event["action"], event["reason"], event["type"]) == ("Quarantine", "Quarantined", "Normal")
    assert event["note"] == "Quarantined by alice"
    assert "related" not in event
    # What events.k8s.io/v1 refuses on create: the deprecated core fields must be unset.
    assert not set(event) & {"deprecatedSource", "deprecatedFirstTimestamp", "deprecatedLastTimestamp",
                             "deprecatedCount", "series", "involvedObject", "message", "source", "count"}


@pytest.mark.parametrize("reason, action", [
    (events.QUARANTINED, "Quarantine"),
    (events.RELEASED, "Release"),
    (events.EVIDENCE_COLLECTED, "CollectEvidence"),
    (events.QUARANTINE_EXPIRED, "Delete"),
    (events.NETWORK_POLICY_RESTORED, "Isolate"),
])
def test_each_reason_has_its_action(reason, action):
    event = events.pod_event(make_pod(), reason, "n", NOW, "h")
    assert (event["reason"], event["action"]) == (reason, action)
    assert len(reason) <= 128 and len(action) <= 128


def test_an_unknown_reason_is_a_programming_error():
    with pytest.raises(ValueError):
        events.pod_event(make_pod(), "Exploded", "n", NOW, "h")


def test_the_time_is_a_micro_time_in_utc_and_must_be_aware():
    eastern = datetime.timezone(datetime.timedelta(hours=-5))
    assert events.micro_time(datetime.datetime(2026, 11, 21, 22, 4, 5, 7, tzinfo=eastern)) == "2026-11-22T03:04:05.000007Z"
    with pytest.raises(ValueError):
        events.micro_time(datetime.datetime(2026, 11, 22, 3, 4, 5))


def test_a_pod_from_a_list_has_no_kind_and_the_reference_says_pod():
    pod = make_pod()
    pod.pop("apiVersion", None)
    pod.pop("kind", None)
    ref = events.reference(pod)
    assert (ref["apiVersion"], ref["kind"]) == ("v1", "Pod")


def test_related_names_the_network_policy():
    related = events.policy_reference("triage-quarantine-web-1", "shop")
    event = events.pod_event(make_pod(), events.QUARANTINED, "n", NOW, "h", related)
    assert event["related"] == {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                "name": "triage-quarantine-web-1", "namespace": "shop"}


# ---------------------------------------------------------------- the name

def test_the_name_is_the_pod_and_a_hash_and_the_same_for_the_same_event():
    first = events.pod_event(make_pod(), events.QUARANTINED, "n", NOW, "h")["metadata"]["name"]
    again = events.pod_event(make_pod(), events.QUARANTINED, "other note", NOW, "other host")["metadata"]["name"]
    assert re.match(r"web-7d4b9c-x2x9z\.[0-9a-f]{16}\Z", first) and first == again


def test_another_reason_uid_or_microsecond_is_another_name():
    name = events.pod_event(make_pod(), events.QUARANTINED, "n", NOW, "h")["metadata"]["name"]
    later = NOW + datetime.timedelta(microseconds=1)
    others = [events.pod_event(make_pod(), events.RELEASED, "n", NOW, "h"),
              events.pod_event(make_pod(uid="another-uid"), events.QUARANTINED, "n", NOW, "h"),
              events.pod_event(make_pod(), events.QUARANTINED, "n", later, "h")]
    assert len(set([name] + [e["metadata"]["name"] for e in others])) == 4


@pytest.mark.parametrize("pod_name", ["a" * 253, "a" * 235 + "-" + "b" * 17, "x.y", "a" * 236 + ".b" * 8])
def test_the_name_of_an_event_on_a_long_pod_name_is_still_a_dns_subdomain(pod_name):
    name = events.event_name(pod_name, UID, events.QUARANTINED, "2026-11-22T03:04:05.123456Z")
    assert len(name) <= 253 and DNS_SUBDOMAIN.fullmatch(name), name


# ---------------------------------------------------------------- limits

def test_a_short_note_is_kept_as_it_is():
    assert events.truncate_note("x" * 1024) == "x" * 1024
    assert events.truncate_note(None) == ""


def test_a_long_note_is_cut_to_1_kib_in_bytes_and_says_so():
    note = events.truncate_note("é" * 2000)  # 4000 bytes
    assert len(note.encode("utf-8")) <= 1024
    assert note.endswith(" [truncated: 4000 bytes in all]")
    assert note.startswith("é" * 400)
    assert "\ufffd" not in note  # never half a character


def test_the_builder_truncates_the_note():
    event = events.pod_event(make_pod(), events.QUARANTINED, "why " * 1000, NOW, "h")
    assert len(event["note"].encode("utf-8")) <= 1024 and "truncated" in event["note"]


def test_reporting_instance_is_at_most_128_characters():
    assert events.reporting_instance("h" * 300) == ("triage.k8s-" + "h" * 300)[:128]
    assert events.reporting_instance("") == events.reporting_instance(None) == "triage.k8s"


# ---------------------------------------------------------------- the notes

def test_quarantined_note_says_who_why_and_what():
    note = events.quarantined_note("alice", "OOM at 03:00", "2026-11-23T03:04:05Z", ["web", "web-canary"],
                                   {"kind": "ReplicaSet", "name": "web-7d4b9c"}, True, "triage-quarantine-web-1")
    assert note == ('Quarantined by alice: out of Service(s) web, web-canary; released by ReplicaSet web-7d4b9c; '
                    'isolated by NetworkPolicy triage-quarantine-web-1; expires 2026-11-23T03:04:05Z; '
                    'reason: "OOM at 03:00"')


def test_quarantined_note_of_a_bare_pod_without_reason_or_identity():
    assert events.quarantined_note(None, "", None, [], None) == (
        "Quarantined by an unknown identity: in no Service; no expiry; no reason given")
    assert "still owned by StatefulSet db" in events.quarantined_note("a", "r", None, ["db"],
                                                                      {"kind": "StatefulSet", "name": "db"}, False)


def test_released_note():
    assert events.released_note("bob", None, "np-1", True) == (
        "Released by bob: labels restored, quarantine marks removed; NetworkPolicy np-1 deleted")
    assert "np-1 not deleted" in events.released_note("bob", None, "np-1", False)
    assert events.released_note("bob", "fixed").endswith('; reason: "fixed"')


def test_evidence_note():
    assert events.evidence_note("carol", "shop-web-20261122T030405Z", "ab" * 32, [], True) == (
        "Evidence collected by carol: bundle shop-web-20261122T030405Z (manifest.json sha256 %s); every item "
        "collected; recorded in the triage.k8s/evidence annotation" % ("ab" * 32))
    assert "failed items: logs, exec" in events.evidence_note("carol", "b", None, ["logs", "exec"])


def test_expired_note():
    note = events.expired_note("system:serviceaccount:triage:triage-cleanup", "expired 2h ago (triage.k8s/expires-at "
                               "until 2026-11-23T03:04:05Z)", "2026-11-22T03:04:05Z", "alice", "OOM", "b-1", "np-1")
    assert note == ("Deleted by system:serviceaccount:triage:triage-cleanup (quarantine_cleanup): the quarantine expired "
                    "2h ago (triage.k8s/expires-at until 2026-11-23T03:04:05Z); quarantined at 2026-11-22T03:04:05Z by "
                    'alice; reason: "OOM"; evidence bundle b-1; its NetworkPolicy np-1 goes with it')


def test_restored_note():
    assert events.restored_note("alice", "np-1").startswith("NetworkPolicy np-1, recorded on the quarantined pod, was "
                                                            "missing: created again by alice")
