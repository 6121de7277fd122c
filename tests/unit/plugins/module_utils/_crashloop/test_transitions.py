# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _crashloop/transitions.py: the pod_health source's settle/debounce state machine,
driven by an injected clock (no cluster, no sleeping)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.classify import classify_pod
from ansible_collections.triage.k8s.plugins.module_utils._crashloop.transitions import (
    UNHEALTHY_CLASSES, PodHealth, check_classes, controller_ref, workload_of,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339

T0 = datetime(2026, 1, 2, 3, 0, 0, tzinfo=timezone.utc)
KEYS = set(("source", "cluster", "namespace", "pod", "uid", "owner", "workload", "class", "previous_class",
            "transition", "reason", "restarts", "next_step", "observed_at", "alert"))


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def pod(name, klass, owner="web-5d9c7b", uid=None, restarts=0, digest="5d9c7b"):
    """A pod whose class the fake classifier reads from an annotation."""
    meta = {"name": name, "namespace": "shop", "uid": uid or "uid-" + name, "labels": {"pod-template-hash": digest},
            "annotations": {"test/class": klass}, "restarts": restarts}
    if owner:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": owner, "uid": "uid-" + owner, "controller": True}]
    return {"metadata": meta}


def fake_classify(p, now):
    meta = p["metadata"]
    klass = meta["annotations"]["test/class"]
    return {"class": klass, "explanation": "%s is %s" % (meta["name"], klass), "next_step": "look at " + meta["name"],
            "restarts": meta.get("restarts", 0)}


def machine(**kwargs):
    kwargs.setdefault("settle_seconds", 10)
    kwargs.setdefault("debounce_seconds", 60)
    return PodHealth("kwok-a", fake_classify, **kwargs)


def triage(events):
    return [e["triage"] for e in events]


def test_a_pod_first_seen_healthy_is_no_news_and_status_updates_are_not_events():
    m = machine()
    assert m.resync([pod("a", "healthy")], at(0)) == []
    for s in range(1, 100):
        assert m.observe(pod("a", "healthy" if s % 2 else "starting"), at(s)) == []
        assert m.tick(at(s)) == []


def test_unhealthy_after_settle_then_recovered_after_settle():
    m = machine()
    m.resync([pod("a", "healthy")], at(0))
    assert m.observe(pod("a", "crash_loop", restarts=1), at(1)) == []
    assert m.tick(at(10)) == []                     # 9 s in the class: not yet
    assert m.next_due(at(10)) == pytest.approx(1.0)
    events = triage(m.tick(at(11)))                  # 10 s: settled, without a new status
    assert len(events) == 1
    e = events[0]
    assert set(e) == KEYS
    assert (e["transition"], e["class"], e["previous_class"], e["pod"], e["namespace"]) == \
        ("unhealthy", "crash_loop", "healthy", "a", "shop")
    assert e["owner"] == {"kind": "ReplicaSet", "name": "web-5d9c7b", "uid": "uid-web-5d9c7b"}
    assert e["workload"] == {"kind": "Deployment", "name": "web"}
    assert e["source"] == "pod_health" and e["cluster"] == "kwok-a" and e["alert"] is None
    assert e["restarts"] == 1 and e["reason"] == "a is crash_loop" and e["next_step"] == "look at a"
    assert e["observed_at"] == format_rfc3339(at(11)) and e["uid"] == "uid-a"
    # Further status updates of the crash loop are not events.
    for s in range(12, 40):
        assert m.observe(pod("a", "crash_loop", restarts=s), at(s)) == []
    assert m.observe(pod("a", "healthy"), at(40)) == []
    events = triage(m.tick(at(50)))
    assert [(e["transition"], e["class"], e["previous_class"]) for e in events] == [("recovered", "healthy", "crash_loop")]
    assert m.tick(at(100)) == []


def test_flapping_shorter_than_settle_is_never_news():
    m = machine(settle_seconds=5)
    m.resync([pod("a", "healthy")], at(0))
    for s in range(1, 60, 2):   # 2 s in CrashLoopBackOff, 2 s running, as a young crash loop does
        assert m.observe(pod("a", "crash_loop"), at(s)) == []
        assert m.tick(at(s + 1)) == []
        assert m.observe(pod("a", "healthy"), at(s + 2)) == []
    assert m.next_due(at(61)) is None


def test_settle_zero_emits_on_the_observation_itself():
    m = machine(settle_seconds=0)
    m.resync([pod("a", "healthy")], at(0))
    assert [e["transition"] for e in triage(m.observe(pod("a", "oom_killed"), at(1)))] == ["unhealthy"]
    assert [e["transition"] for e in triage(m.observe(pod("a", "healthy"), at(2)))] == ["recovered"]


def test_pods_unhealthy_at_start_are_reported_unless_emit_initial_is_false():
    m = machine()
    assert m.resync([pod("a", "image_pull")], at(0)) == []
    assert [(e["class"], e["previous_class"]) for e in triage(m.tick(at(10)))] == [("image_pull", None)]
    quiet = machine(emit_initial=False)
    assert quiet.resync([pod("a", "image_pull")], at(0)) == []
    assert quiet.tick(at(100)) == []
    assert quiet.observe(pod("a", "healthy"), at(101)) == []
    assert quiet.tick(at(200)) == []     # its unhealthy class was never reported: no recovered either
    assert [e["transition"] for e in triage(quiet.observe(pod("a", "crash_loop"), at(201)) + quiet.tick(at(211)))] \
        == ["unhealthy"]


def test_one_event_per_owner_within_the_debounce():
    m = machine(settle_seconds=0, debounce_seconds=60)
    m.resync([pod("a", "healthy"), pod("b", "healthy"), pod("other", "healthy", owner="api-7f8")], at(0))
    first = triage(m.observe(pod("a", "crash_loop"), at(1)))
    assert [e["pod"] for e in first] == ["a"]
    assert m.observe(pod("b", "crash_loop"), at(2)) == []          # same owner: debounced
    assert m.suppressed == 1
    assert [e["pod"] for e in triage(m.observe(pod("other", "crash_loop", owner="api-7f8"), at(3)))] == ["other"]
    # A replacement pod of the same ReplicaSet, 30 s later: still debounced.
    assert m.observe(pod("c", "crash_loop"), at(31)) == []
    # b recovers: its unhealthy was never reported, so neither is its recovery.
    assert m.observe(pod("b", "healthy"), at(40)) == []
    # After the debounce the owner may be news again.
    assert [e["pod"] for e in triage(m.observe(pod("d", "crash_loop"), at(62)))] == ["d"]
    m.tick(at(200))
    assert m.owner_reported == {}    # expired debounce entries are pruned


def test_moving_between_unhealthy_classes_is_reported_with_its_previous_class():
    m = machine(settle_seconds=0)
    m.resync([pod("a", "healthy")], at(0))
    m.observe(pod("a", "crash_loop"), at(1))
    events = triage(m.observe(pod("a", "oom_killed"), at(2)))   # within the debounce: same pod, already news
    assert [(e["transition"], e["class"], e["previous_class"]) for e in events] == [("unhealthy", "oom_killed", "crash_loop")]


def test_a_pod_without_owner_is_its_own_debounce_key():
    m = machine(settle_seconds=0)
    m.resync([pod("x", "healthy", owner=None), pod("y", "healthy", owner=None)], at(0))
    events = triage(m.observe(pod("x", "config_error", owner=None), at(1)) + m.observe(pod("y", "config_error", owner=None), at(1)))
    assert [e["pod"] for e in events] == ["x", "y"]
    assert events[0]["owner"] is None and events[0]["workload"] is None


def test_resync_forgets_deleted_pods_and_reports_what_changed_while_nobody_watched():
    m = machine(settle_seconds=0)
    m.resync([pod("a", "healthy"), pod("b", "healthy", owner="api-1")], at(0))
    # The watch was down; meanwhile a started crash-looping and b was deleted.
    events = triage(m.resync([pod("a", "crash_loop")], at(30)))
    assert [(e["pod"], e["transition"]) for e in events] == [("a", "unhealthy")]
    assert set(m.pods) == set(["uid-a"])
    # The same LIST again (a second reconnect) is not news.
    assert m.resync([pod("a", "crash_loop")], at(40)) == []


def test_deleted_pod_is_forgotten_without_event_and_a_recreated_one_is_new():
    m = machine(settle_seconds=0)
    m.resync([pod("a", "healthy")], at(0))
    m.observe(pod("a", "crash_loop"), at(1))
    assert m.deleted("uid-a") == [] and m.pods == {}
    assert m.deleted("never-seen") == []


def test_time_dependent_classes_are_classified_again_on_tick():
    calls = []

    def classify(p, now):
        calls.append(p["metadata"]["name"])
        # "starting" until 20 s, then its grace period is over: not_ready; unhealthy here.
        return {"class": "starting" if now < at(20) else "probe_failure", "restarts": 0}

    m = PodHealth("c", classify, settle_seconds=5, debounce_seconds=0)
    m.resync([pod("slow", "")], at(0))
    assert m.tick(at(10)) == []
    assert m.tick(at(21)) == []
    events = triage(m.tick(at(26)))
    assert [(e["class"], e["previous_class"]) for e in events] == [("probe_failure", "starting")]
    assert calls.count("slow") == 4


def test_healthy_pods_are_not_classified_again_on_tick():
    count = []

    def classify(p, now):
        count.append(1)
        return {"class": "healthy", "restarts": 0}

    m = PodHealth("c", classify)
    m.resync([pod(str(i), "") for i in range(50)], at(0))
    m.tick(at(1))
    m.tick(at(2))
    assert len(count) == 50 and all(s.pod is None for s in m.pods.values())


def test_pods_without_uid_are_ignored():
    m = machine()
    assert m.observe({"metadata": {"name": "x"}}, at(0)) == []
    assert m.pods == {}


def test_classes_are_checked():
    assert check_classes(["crash_loop", "error"]) == frozenset(["crash_loop", "error"])
    with pytest.raises(ValueError, match="unknown class"):
        check_classes(["crashloop"])
    with pytest.raises(ValueError, match="cannot be unhealthy"):
        check_classes(["healthy"])
    assert "crash_loop" in UNHEALTHY_CLASSES and "healthy" not in UNHEALTHY_CLASSES and "error" not in UNHEALTHY_CLASSES


def test_owner_and_workload():
    p = pod("a", "healthy", owner="web-5d9c7b")
    assert controller_ref(p)["name"] == "web-5d9c7b"
    assert workload_of(p, controller_ref(p)) == {"kind": "Deployment", "name": "web"}
    bare_rs = pod("a", "healthy", owner="batch", digest="zz")
    assert workload_of(bare_rs, controller_ref(bare_rs)) == {"kind": "ReplicaSet", "name": "batch"}
    assert workload_of(p, {"kind": "StatefulSet", "name": "db"}) == {"kind": "StatefulSet", "name": "db"}
    assert workload_of(p, {"kind": "Node", "name": "n1"}) is None and workload_of(p, None) is None
    assert controller_ref({"metadata": {"ownerReferences": [{"kind": "X", "name": "y"}]}}) is None


def test_the_pods_own_text_in_an_event_stays_data():
    """The reason and next step quote what the workload wrote (a termination message, an event):
    the event reaches ansible-playbook as extra vars, so Jinja's markers are broken up."""
    def hostile(p, now):
        return {"class": "crash_loop", "explanation": "exit 1: {{ lookup('pipe', 'id') }} {% raw %}",
                "next_step": "see {#x#}", "restarts": 3}
    m = PodHealth("kwok-a", hostile, settle_seconds=0, debounce_seconds=0)
    (event,) = triage(m.resync([pod("web-1", "crash_loop")], at(0)))
    for text in (event["reason"], event["next_step"]):
        assert "{{" not in text and "{%" not in text and "{#" not in text and "}}" not in text, text
    assert "lookup('pipe', 'id')" in event["reason"]


def test_with_the_real_classifier_a_crash_looping_pod_is_one_event():
    """classify_pod itself: CrashLoopBackOff then running again (restarts below the threshold:
    healthy) then CrashLoopBackOff for good: one unhealthy event."""
    def status(waiting, restarts, seconds):
        state = {"waiting": {"reason": "CrashLoopBackOff"}} if waiting else {"running": {"startedAt": format_rfc3339(at(seconds - 1))}}
        term = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": format_rfc3339(at(seconds - 3)),
                               "finishedAt": format_rfc3339(at(seconds - 2))}}
        ready = not waiting
        return {"metadata": {"name": "web-5d9c7b-abcde", "namespace": "shop", "uid": "u1", "creationTimestamp": format_rfc3339(at(-30)),
                             "labels": {"pod-template-hash": "5d9c7b"},
                             "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d9c7b", "uid": "rs1", "controller": True}]},
                "spec": {"containers": [{"name": "app", "image": "app:1"}]},
                "status": {"phase": "Running", "startTime": format_rfc3339(at(-30)),
                           "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                           "containerStatuses": [{"name": "app", "image": "app:1", "ready": ready, "restartCount": restarts,
                                                  "state": state, "lastState": term if restarts else {}}]}}

    m = PodHealth("kwok-a", lambda p, now: classify_pod(p, None, now), settle_seconds=2, debounce_seconds=300)
    events = m.resync([status(False, 0, 0)], at(0))
    for cycle in range(10):
        t = 4 * cycle + 1
        events += m.observe(status(True, cycle + 1, t), at(t)) + m.tick(at(t + 1)) + m.tick(at(t + 2.5))
        events += m.observe(status(False, cycle + 1, t + 2.5), at(t + 2.5)) + m.tick(at(t + 3.5))
    assert [(e["transition"], e["class"]) for e in triage(events)] == [("unhealthy", "crash_loop")]
    assert triage(events)[0]["workload"] == {"kind": "Deployment", "name": "web"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["healthy", "starting", "crash_loop", "oom_killed", "image_pull"]),
                          st.integers(min_value=0, max_value=30)), max_size=40),
       st.integers(min_value=0, max_value=15))
def test_events_alternate_and_follow_settled_classes(steps, settle):
    """Whatever the sequence: recovered only after a reported unhealthy, never two recovered in a
    row, every event's class was held for the settle time, and unhealthy events of the one owner
    are at least the debounce apart unless the pod moved between unhealthy classes."""
    m = PodHealth("c", fake_classify, settle_seconds=settle, debounce_seconds=100)
    m.resync([pod("a", "healthy")], at(0))
    now, events = 0, []
    for klass, wait in steps:
        now += 1
        events += [(now, e) for e in triage(m.observe(pod("a", klass), at(now)))]
        now += wait
        events += [(now, e) for e in triage(m.tick(at(now)))]
    last = None
    for when, e in events:
        if e["transition"] == "recovered":
            assert last == "unhealthy" and e["previous_class"] in UNHEALTHY_CLASSES
        else:
            assert e["class"] in UNHEALTHY_CLASSES
        last = e["transition"]
    unhealthy_times = [when for when, e in events if e["transition"] == "unhealthy" and
                       e["previous_class"] not in UNHEALTHY_CLASSES]
    assert all(b - a >= 100 for a, b in zip(unhealthy_times, unhealthy_times[1:]))
