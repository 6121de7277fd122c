# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _crashloop/alerts.py: Alertmanager webhook notifications to the shared event
shape, one event per alert per state, with an injected clock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.alerts import (
    DEFAULT_CLASSES, DEFAULTS, Alerts, alerts_of, check_classes, check_options, fingerprint, safe_text,
)

T0 = datetime(2026, 1, 2, 3, 0, 0, tzinfo=timezone.utc)
KEYS = set(("source", "cluster", "namespace", "pod", "uid", "owner", "workload", "class", "previous_class",
            "transition", "reason", "restarts", "next_step", "observed_at", "alert"))


def alert(name="KubePodCrashLooping", status="firing", fp="a1", starts="2026-01-02T02:55:00Z", **labels):
    base = {"alertname": name, "namespace": "shop", "pod": "web-5d9c7b-x1", "container": "app",
            "job": "kube-state-metrics", "severity": "warning"}
    base.update(labels)
    return {"status": status, "labels": dict((k, v) for k, v in base.items() if v is not None),
            "annotations": {"description": "Pod shop/web-5d9c7b-x1 (app) is in waiting state (reason: \"CrashLoopBackOff\").",
                            "summary": "Pod is crash looping."},
            "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-01-02T03:10:00Z",
            "generatorURL": "http://prometheus/graph", "fingerprint": fp}


def note(*alerts, **kw):
    """A webhook notification as Alertmanager sends it (version 4)."""
    return {"version": "4", "groupKey": "{}:{alertname=\"KubePodCrashLooping\"}", "truncatedAlerts": 0,
            "status": kw.get("status", "firing"), "receiver": "triage", "groupLabels": {"alertname": "KubePodCrashLooping"},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "alerts": list(alerts)}


def source(**args):
    return Alerts(check_options(args))


def test_a_firing_crash_loop_alert_is_one_unhealthy_event_of_the_shared_shape():
    events, ignored = source(cluster="kwok-triage-a").receive(note(alert()), T0)
    assert ignored == [] and len(events) == 1
    event = events[0]["triage"]
    assert set(event) == KEYS
    assert event["source"] == "alertmanager" and event["cluster"] == "kwok-triage-a"
    assert (event["namespace"], event["pod"], event["class"], event["transition"]) == ("shop", "web-5d9c7b-x1", "crash_loop", "unhealthy")
    assert event["uid"] is None and event["owner"] is None and event["workload"] is None and event["previous_class"] is None
    assert event["restarts"] == 0 and event["observed_at"] == "2026-01-02T03:00:00Z"
    assert event["reason"].startswith("Pod shop/web-5d9c7b-x1 (app) is in waiting state")
    assert "kubectl logs -n shop web-5d9c7b-x1 -c app --previous" in event["next_step"]
    assert event["alert"] == {"name": "KubePodCrashLooping", "status": "firing", "labels": alert()["labels"], "fingerprint": "a1",
                              "starts_at": "2026-01-02T02:55:00Z", "ends_at": "0001-01-01T00:00:00Z"}


def test_not_ready_and_configured_names_map_to_their_class():
    events, _ignored = source().receive(note(alert("KubePodNotReady", fp="b")), T0)
    assert events[0]["triage"]["class"] == "not_ready"
    mine = source(classes={"OOMKilledRecently": "oom_killed"})
    events, ignored = mine.receive(note(alert("OOMKilledRecently", fp="c"), alert(fp="d")), T0)
    assert [e["triage"]["class"] for e in events] == ["oom_killed"]
    assert ignored == ["alert KubePodCrashLooping (d): no class for this alert name (option classes); ignored"]


def test_repeats_are_not_news_but_resolution_and_a_new_firing_are():
    am = source()
    first, _ignored = am.receive(note(alert()), T0)
    again, ignored = am.receive(note(alert(), alert(fp="other", pod="web-5d9c7b-x2")), T0 + timedelta(minutes=5))
    assert len(first) == 1 and [e["triage"]["pod"] for e in again] == ["web-5d9c7b-x2"] and ignored == []
    assert am.repeats == 1
    resolved, _ignored = am.receive(note(alert(status="resolved"), status="resolved"), T0 + timedelta(minutes=10))
    event = resolved[0]["triage"]
    assert (event["transition"], event["class"], event["previous_class"]) == ("recovered", "healthy", "crash_loop")
    assert event["next_step"] == "nothing to do" and event["alert"]["status"] == "resolved"
    assert am.receive(note(alert(status="resolved")), T0 + timedelta(minutes=11))[0] == []
    refired, _ignored = am.receive(note(alert(starts="2026-01-02T04:00:00Z")), T0 + timedelta(hours=1))
    assert [e["triage"]["transition"] for e in refired] == ["unhealthy"]


def test_an_alert_without_its_status_takes_the_notifications():
    raw = alert()
    del raw["status"]
    events, _ignored = source().receive(note(raw, status="firing"), T0)
    assert events[0]["triage"]["transition"] == "unhealthy"
    assert source().receive(note(dict(raw), status="pending"), T0)[1] == [
        "alert KubePodCrashLooping (a1): status 'pending' is neither firing nor resolved; ignored"]


@pytest.mark.parametrize("labels, why", [
    ({"pod": None}, "no namespace and pod labels"),
    ({"namespace": ""}, "no namespace and pod labels"),
    ({"namespace": "Shop"}, 'invalid namespace "Shop": must be a lowercase RFC 1123 label'),
    ({"pod": "web/../../x"}, 'invalid pod name "web/../../x": must be a lowercase RFC 1123 subdomain'),
    ({"pod": 7}, "invalid pod name \"7\": must be a string"),
])
def test_alerts_without_a_usable_pod_are_ignored_with_a_line(labels, why):
    events, ignored = source().receive(note(alert(**labels)), T0)
    assert events == [] and len(ignored) == 1
    assert ignored[0].startswith("alert KubePodCrashLooping (a1): " + why) and ignored[0].endswith("; ignored")


def test_the_cluster_comes_from_a_label_mapped_to_a_context_else_the_default():
    am = source(cluster="local", contexts={"prod-eu": "admin@prod-eu"})
    events, _ignored = am.receive(note(alert(fp="1", cluster="prod-eu"), alert(fp="2", cluster="dev"), alert(fp="3")), T0)
    assert [e["triage"]["cluster"] for e in events] == ["admin@prod-eu", "dev", "local"]
    events, _ignored = source(cluster="fixed", cluster_label="").receive(note(alert(cluster="prod-eu")), T0)
    assert events[0]["triage"]["cluster"] == "fixed"
    events, _ignored = source(cluster_label="k8s_cluster").receive(note(alert(k8s_cluster="b")), T0)
    assert events[0]["triage"]["cluster"] == "b"


def test_the_namespaces_allow_list():
    am = source(namespaces=["shop", "billing"])
    events, ignored = am.receive(note(alert(fp="1"), alert(fp="2", namespace="kube-system"), alert(fp="3", namespace="billing")), T0)
    assert [e["triage"]["namespace"] for e in events] == ["shop", "billing"]
    assert ignored == ["alert KubePodCrashLooping (2): namespace kube-system is not in the source's namespaces; ignored"]
    assert check_options({"namespaces": "shop"})["namespaces"] == ["shop"]
    with pytest.raises(ValueError, match="namespaces must be a list"):
        check_options({"namespaces": [1]})


def test_other_label_names_for_namespace_and_pod():
    events, _ignored = source(namespace_label="exported_namespace", pod_label="exported_pod").receive(
        note(alert(exported_namespace="shop", exported_pod="api-1", namespace="monitoring", pod="ksm-0")), T0)
    assert (events[0]["triage"]["namespace"], events[0]["triage"]["pod"]) == ("shop", "api-1")


def test_template_markers_from_the_alert_are_broken_up():
    raw = alert(team="{{ lookup('pipe', 'id') }}")
    raw["annotations"] = {"description": "{% for x in y %}{# c #}"}
    event = source().receive(note(raw), T0)[0][0]["triage"]
    assert event["alert"]["labels"]["team"] == "{ { lookup('pipe', 'id') } }"
    assert event["reason"] == "{ % for x in y % }{ # c # }"
    assert safe_text(None) == "" and safe_text(3) == "3" and safe_text("a { b } c") == "a { b } c"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_safe_text_never_leaves_a_template_marker(text):
    out = safe_text(text)
    assert not any(mark in out for mark in ("{{", "{%", "{#", "}}", "%}", "#}"))


def test_no_fingerprint_hashes_the_labels_and_a_bad_container_is_left_out():
    raw = alert(container="App_1")
    del raw["fingerprint"]
    same = copy.deepcopy(raw)
    assert fingerprint(raw) == fingerprint(same) and len(fingerprint(raw)) == 16
    assert fingerprint(raw) != fingerprint(alert(pod="other"))
    event = source().receive(note(raw), T0)[0][0]["triage"]
    assert "--all-containers --previous" in event["next_step"]


def test_memory_is_bounded():
    am = source(remember=2)
    for n in range(5):
        am.receive(note(alert(fp=str(n), pod="p%d" % n)), T0)
    assert list(am.seen) == ["3", "4"]
    assert len(am.receive(note(alert(fp="0", pod="p0")), T0)[0]) == 1  # forgotten, so news again


@pytest.mark.parametrize("payload, message", [
    ([], "not an Alertmanager webhook notification"),
    ({"alerts": {}}, "not an Alertmanager webhook notification"),
    ({"version": "3", "alerts": []}, "webhook notification version '3'"),
])
def test_what_is_not_a_notification_is_refused(payload, message):
    with pytest.raises(ValueError, match=message):
        alerts_of(payload)
    assert alerts_of({"alerts": [1, {"a": 1}]}) == [{}, {"a": 1}]


def test_options_defaults_and_checks():
    opts = check_options({})
    assert opts == dict(DEFAULTS, classes=DEFAULT_CLASSES) and opts["host"] == "127.0.0.1"
    assert check_options({"port": "5052", "token": None})["port"] == 5052
    for args, message in [
        ({"prot": 1}, "unknown option"), ({"port": "x"}, "integers"), ({"port": 70000}, "between 1 and 65535"), ({"port": 0}, "between 1"),
        ({"certfile": "c.pem"}, "certfile and keyfile go together"),
        ({"path": "alerts"}, "path must start with /"), ({"path": "/a b"}, "path must"), ({"token": 5}, "token must be a string"),
        ({"cluster_label": "a-b"}, "cluster_label must be a label name"), ({"pod_label": ""}, "pod_label must be a label name"),
        ({"contexts": {"a": 1}}, "contexts must map"), ({"remember": 0}, "remember must be at least 1"),
        ({"classes": {"X": "healthy"}}, "classes: X maps to 'healthy'"), ({"classes": {"a b": "crash_loop"}}, "is not an alert name"),
        ({"classes": []}, "classes must be a mapping"),
    ]:
        with pytest.raises(ValueError, match=message):
            check_options(args)


def test_an_error_about_the_token_never_shows_it():
    with pytest.raises(ValueError) as err:
        check_options({"token": ["s3cret"]})
    assert "s3cret" not in str(err.value)
    assert check_classes({"A": "oom_killed"}) == {"A": "oom_killed"}
