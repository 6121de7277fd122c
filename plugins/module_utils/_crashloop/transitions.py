# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pod_health event source's decisions (pure): when a pod's class has changed for long enough
to be news, and whether its owner was already in the news.

A watch delivers a pod on every status update; a crash loop alone updates its pod twice a cycle.
PodHealth turns those observations into one event per TRANSITION into or out of an unhealthy
class, after the pod has stayed in the new class for `settle_seconds` (so a pod that is in
CrashLoopBackOff for a second between two healthy runs is not news yet), and at most one
`unhealthy` event per owner per `debounce_seconds` (so a broken rollout, whose every replacement
fails the same way, reports once). The clock is injected: every call takes `now`.

Classes are crashloop_info's (classify.classify_pod): the same pod gets the same class here and
in `crashloop_info`. A class not in `unhealthy` (healthy, starting, completed, not_ready, error
unless asked for) counts as "ok": moving between two ok classes is never an event.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import timedelta

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.explain import CLASSES, FAIL_FAST_CLASSES, safe_text
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339

# The rollout gate's fail-fast classes, and two more that need a person: a pod whose probes keep
# failing and an evicted pod. `error` (a pod that failed, e.g. a Job's) and `not_ready` are not
# unhealthy by default: a finished Job pod or a slow start is not an incident.
UNHEALTHY_CLASSES = frozenset(FAIL_FAST_CLASSES | set(("probe_failure", "evicted")))
# Classes whose diagnosis can change with time alone, without a new pod status (a start grace
# period runs out, restarts leave the window): pods in them are classified again on every tick.
STEADY_CLASSES = frozenset(("healthy", "completed"))
OK = "ok"
DEFAULTS = {"settle_seconds": 10, "debounce_seconds": 300}
RECORD_KEYS = ("class", "explanation", "next_step", "restarts")


def check_classes(classes):
    """The unhealthy classes asked for, or ValueError naming the unknown ones."""
    classes = set(classes)
    unknown = sorted(classes - set(CLASSES))
    if unknown:
        raise ValueError("unknown class(es) %s; known: %s" % (", ".join(unknown), ", ".join(CLASSES)))
    wrong = sorted(classes & set(("healthy", "starting", "completed")))
    if wrong:
        raise ValueError("class(es) %s cannot be unhealthy" % ", ".join(wrong))
    return frozenset(classes)


def controller_ref(pod):
    """The pod's controller ownerReference as {kind, name, uid}, or None."""
    for ref in ((pod.get("metadata") or {}).get("ownerReferences") or []):
        if isinstance(ref, dict) and ref.get("controller") is True:
            return {"kind": ref.get("kind"), "name": ref.get("name"), "uid": ref.get("uid")}
    return None


def workload_of(pod, owner):
    """The workload behind the owner when the pod alone tells it: a Deployment's ReplicaSet is named
    <deployment>-<pod-template-hash>; a StatefulSet, DaemonSet or bare ReplicaSet is itself the workload."""
    if not owner or not owner.get("name"):
        return None
    if owner.get("kind") == "ReplicaSet":
        digest = ((pod.get("metadata") or {}).get("labels") or {}).get("pod-template-hash")
        if digest and owner["name"].endswith("-" + digest) and len(owner["name"]) > len(digest) + 1:
            return {"kind": "Deployment", "name": owner["name"][:-len(digest) - 1]}
    if owner.get("kind") in ("ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController"):
        return {"kind": owner["kind"], "name": owner["name"]}
    return None


class _Pod(object):
    """What PodHealth remembers of one pod: little, so 10,000 pods stay small."""

    __slots__ = ("namespace", "name", "uid", "owner", "workload", "stable", "stable_class", "reported",
                 "candidate", "since", "last", "pod")

    def __init__(self, namespace, name, uid):
        self.namespace, self.name, self.uid = namespace, name, uid
        self.owner = self.workload = None
        self.stable = None          # OK or an unhealthy class once settled; None before the first settle
        self.stable_class = None    # the class as classified when it settled (e.g. "healthy", "starting")
        self.reported = False       # whether the settled unhealthy class was emitted (not debounced)
        self.candidate = None       # a class waiting to settle, or None
        self.since = None           # when the candidate was first seen
        self.last = None            # the latest classification (for the event's reason, restarts...)
        self.pod = None             # the pod object, kept only while its class may change with time


class PodHealth(object):
    """Transitions of the pods of one watch (one cluster, one namespace or all, one selector).

    classify(pod, now) -> classify_pod's result. Each method returns the events (shared shape,
    see event()) that are due, oldest decision first."""

    def __init__(self, cluster, classify, unhealthy=UNHEALTHY_CLASSES, settle_seconds=DEFAULTS["settle_seconds"],
                 debounce_seconds=DEFAULTS["debounce_seconds"], emit_initial=True):
        self.cluster, self.classify = cluster, classify
        self.unhealthy = frozenset(unhealthy)
        self.settle = timedelta(seconds=max(0, settle_seconds))
        self.debounce = timedelta(seconds=max(0, debounce_seconds))
        self.emit_initial = emit_initial
        self.pods = {}              # uid -> _Pod
        self.owner_reported = {}    # owner uid (or pod uid without owner) -> when its last unhealthy event went out
        self.suppressed = 0         # unhealthy transitions not emitted because of the debounce

    def key(self, klass):
        return klass if klass in self.unhealthy else OK

    # -- observations ---------------------------------------------------------------------------
    def observe(self, pod, now, initial=False):
        """A pod as a LIST or a watch ADDED/MODIFIED event delivered it."""
        meta = pod.get("metadata") or {}
        uid = meta.get("uid")
        if not uid:
            return []
        state = self.pods.get(uid)
        if state is None:
            state = self.pods[uid] = _Pod(meta.get("namespace"), meta.get("name"), uid)
        state.owner = controller_ref(pod)
        state.workload = workload_of(pod, state.owner)
        return self._update(state, pod, self.classify(pod, now), now, initial)

    def deleted(self, uid):
        """A pod deleted (watch DELETED, or missing from a new LIST): forgotten, no event."""
        self.pods.pop(uid, None)
        return []

    def resync(self, pods, now):
        """A complete LIST (first start, after a 410 or a reconnect): pods no longer listed are
        forgotten, the others observed; a pod whose class changed while nobody watched is news."""
        listed = set()
        events = []
        first = not self.pods
        for pod in pods:
            listed.add((pod.get("metadata") or {}).get("uid"))
            events.extend(self.observe(pod, now, initial=first))
        for uid in [uid for uid in self.pods if uid not in listed]:
            self.deleted(uid)
        return events

    def tick(self, now):
        """Time passed: classify again the pods whose class may change with time alone, and settle
        the candidates that have waited long enough."""
        events = []
        for state in list(self.pods.values()):
            if state.pod is not None:
                events.extend(self._update(state, state.pod, self.classify(state.pod, now), now, False))
            elif state.candidate is not None:
                events.extend(self._settle_if_due(state, now))
        horizon = now - self.debounce
        for owner in [o for o, at in self.owner_reported.items() if at <= horizon]:
            del self.owner_reported[owner]
        return events

    def next_due(self, now):
        """Seconds until the earliest candidate settles (None when nothing waits)."""
        waits = [(s.since + self.settle - now).total_seconds() for s in self.pods.values() if s.candidate is not None]
        return max(0.0, min(waits)) if waits else None

    # -- the state machine ----------------------------------------------------------------------
    def _update(self, state, pod, record, now, initial):
        # Only what an event carries: a full classification (containers, events) is ~3 KB a pod.
        state.last = dict((key, record.get(key)) for key in RECORD_KEYS)
        state.pod = None if record["class"] in STEADY_CLASSES else pod
        key = self.key(record["class"])
        if state.stable is None and key == OK:
            state.stable, state.stable_class, state.candidate = OK, record["class"], None
            return []  # a pod first seen ok is the baseline, not news
        if key == state.stable:
            state.candidate = None  # back where it was before settling: nothing happened
            if key == OK:
                state.stable_class = record["class"]
            return []
        if state.candidate is None or self.key(state.candidate) != key:
            state.candidate, state.since = record["class"], now
            if initial and not self.emit_initial:
                state.since = now - self.settle
        return self._settle_if_due(state, now, initial)

    def _settle_if_due(self, state, now, initial=False):
        if now - state.since < self.settle:
            return []
        previous, previous_class = state.stable, state.stable_class
        state.stable, state.stable_class = self.key(state.candidate), state.last["class"]
        state.candidate = state.since = None
        if initial and not self.emit_initial:
            state.reported = False
            return []
        if state.stable == OK:
            was_reported, state.reported = state.reported, False
            if previous is None or previous == OK or not was_reported:
                return []  # recovered from something that was never reported
            return [self.event(state, "recovered", previous_class, now)]
        owner = (state.owner or {}).get("uid") or state.uid
        last = self.owner_reported.get(owner)
        if previous not in (None, OK) and state.reported:
            state.reported = True  # one unhealthy class to another: the owner is already in the news
            return [self.event(state, "unhealthy", previous_class, now)]
        if last is not None and now - last < self.debounce:
            state.reported = False
            self.suppressed += 1
            return []
        self.owner_reported[owner] = now
        state.reported = True
        return [self.event(state, "unhealthy", previous_class, now)]

    def event(self, state, transition, previous_class, now):
        """The shared event shape (docs/eda.md), source pod_health."""
        record = state.last
        return {"triage": {
            "source": "pod_health",
            "cluster": self.cluster,
            "namespace": state.namespace,
            "pod": state.name,
            "uid": state.uid,
            "owner": dict(state.owner) if state.owner else None,
            "workload": dict(state.workload) if state.workload else None,
            "class": record["class"],
            "previous_class": previous_class,
            "transition": transition,
            # The explanation and next step quote the pod's own messages: hostile text stays data.
            "reason": safe_text(record.get("explanation") or ""),
            "restarts": int(record.get("restarts") or 0),
            "next_step": safe_text(record.get("next_step") or ""),
            "observed_at": format_rfc3339(now),
            "alert": None,
        }}
