# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The budget guards of pod_quarantine: PodDisruptionBudgets and min_healthy_replicas. Pure
functions over API-shaped dicts; run_apply reads the budgets and their pods, guards.py asks.

Relabelling a pod takes it out of its workload: before its replacement is Ready, the workload has
one healthy pod less. A budget refuses when that leaves fewer healthy pods than it requires.

How the numbers are computed, as the disruption controller (kube-controller-manager) computes
them (pkg/controller/disruption; https://kubernetes.io/docs/tasks/run-application/configure-pdb/,
"Rounding logic when specifying percentages"):
- minAvailable N: desiredHealthy = N.
- minAvailable P%: desiredHealthy = ceil(P% of expectedPods) (rounded up).
- maxUnavailable N or P%: desiredHealthy = expectedPods - N, or - ceil(P% of expectedPods) (the
  number that may be disrupted is rounded up too), never below 0.
expectedPods (the owners' desired scale) is only in the status, so for the last three the status
must be current (observedGeneration = generation), as the eviction API requires too.

Healthy pods are counted here rather than taken from status.currentHealthy: a Ready pod whose own
diagnosis is unhealthy (_k8s/objects.py healthy_ready), a terminating pod and a quarantined pod
(still selected, but out of its workload) are not counted, consistent with the last-Ready guards.
So the quarantined pod counts as leaving the budget even when its new labels still match the
budget's selector: the budget would go on counting a pod that serves nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.triage.k8s.plugins.module_utils._contract.record import is_quarantined
from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import selector_matches
from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import healthy_ready, meta, pod_ready

_PERCENT_RE = re.compile(r"^([0-9]+)%$")
_COUNT_RE = re.compile(r"^[0-9]+$")


def parse_int_or_percent(value):
    """(number, is_percent) of an int or a string like "3" or "50%"; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("expected a count such as 2 or a percentage such as \"50%%\", got %r" % (value,))
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a count cannot be negative, got %d" % value)
        return value, False
    text = value.strip() if isinstance(value, str) else None
    if text and _COUNT_RE.match(text):
        return int(text), False
    match = _PERCENT_RE.match(text or "")
    if not match:
        raise ValueError("expected a count such as 2 or a percentage such as \"50%%\", got %r" % (value,))
    percent = int(match.group(1))
    if percent > 100:
        raise ValueError("a percentage is at most 100%%, got %r" % (value,))
    return percent, True


def scaled(number, is_percent, total):
    """A count as is; a percentage of total, rounded up (as Kubernetes rounds budget percentages)."""
    if not is_percent:
        return number
    return (number * total + 99) // 100


def min_healthy_problem(value):
    """Why min_healthy_replicas is not valid, or None."""
    try:
        parse_int_or_percent(value)
    except ValueError as exc:
        return "min_healthy_replicas: %s" % exc
    return None


def counts_healthy(pod, now=None):
    """Whether the pod counts as a healthy pod of its workload: Ready (and, with `now`, not unhealthy
    by its own diagnosis), not terminating, not quarantined."""
    if meta(pod).get("deletionTimestamp") or is_quarantined(pod):
        return False
    return pod_ready(pod) if now is None else healthy_ready(pod, now)


def _healthy_others(pod, pods, now):
    uid = meta(pod).get("uid")
    return sorted(meta(p).get("name") for p in pods if meta(p).get("uid") != uid and counts_healthy(p, now))


# --- min_healthy_replicas ------------------------------------------------------------------------

def desired_replicas(owner):
    """The owner's desired replica count, or None for an owner without one (a Job)."""
    kind = owner.get("kind")
    if kind in ("ReplicaSet", "ReplicationController", "StatefulSet"):
        replicas = (owner.get("spec") or {}).get("replicas")
        return 1 if replicas is None else replicas  # the API's default
    if kind == "DaemonSet":
        return (owner.get("status") or {}).get("desiredNumberScheduled") or 0
    return None


def min_healthy_refusal(pod, owner, owner_pods, value, now=None):
    """(message, details for guards.refused) when quarantining a healthy pod would leave the owner fewer healthy Ready
    replicas than min_healthy_replicas (`value`, validated) requires, else None. A pod that is not
    itself healthy (counts_healthy) is never refused: taking it out leaves as many as before."""
    if value is None or owner is None or not counts_healthy(pod, now):
        return None
    desired = desired_replicas(owner)
    if desired is None:
        return None
    number, is_percent = parse_int_or_percent(value)
    required = scaled(number, is_percent, desired)
    left = _healthy_others(pod, owner_pods, now)
    if len(left) >= required:
        return None
    name, owner_name = meta(pod).get("name"), meta(owner).get("name")
    if is_percent:
        of = "%s%% of the %d desired replica(s) of %s %s, rounded up, is %d" % (
            number, desired, owner["kind"], owner_name, required)
    else:
        of = "%s %s needs %d" % (owner["kind"], owner_name, required)
    return ("refusing to quarantine %s: min_healthy_replicas=%s (%s), and taking it out would leave %d healthy Ready "
            "replica(s)%s until a replacement is Ready. Wait until more replicas are Ready (or scale up), lower "
            "min_healthy_replicas, or use force: true to quarantine it anyway."
            % (name, value, of, len(left), " (%s)" % ", ".join(left) if left else ""),
            {"min_healthy_replicas": {
                "value": value, "required": required, "desired_replicas": desired, "healthy_left": left}})


def min_healthy_applies(owner):
    """Whether min_healthy_replicas can be decided for this owner (None: a bare pod, or its owner is gone)."""
    return owner is not None and desired_replicas(owner) is not None


# --- PodDisruptionBudgets ------------------------------------------------------------------------

def selects(pdb, labels):
    """Whether the budget's selector selects these labels (policy/v1: {} selects every pod, none selects none)."""
    return selector_matches((pdb.get("spec") or {}).get("selector"), labels or {})


def _sync_failure(status):
    for cond in status.get("conditions") or []:
        if cond.get("type") == "DisruptionAllowed" and cond.get("reason") == "SyncFailed":
            return cond.get("message") or "SyncFailed"
    return None


def desired_healthy(pdb):
    """(desiredHealthy, None) computed from the spec (and status.expectedPods when the spec needs
    it), or (None, why it cannot be known now)."""
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    minimum, maximum = spec.get("minAvailable"), spec.get("maxUnavailable")
    if minimum is None and maximum is None:
        return 0, None
    try:
        number, is_percent = parse_int_or_percent(minimum if minimum is not None else maximum)
    except ValueError as exc:
        return None, "its %s cannot be read: %s" % ("minAvailable" if minimum is not None else "maxUnavailable", exc)
    if minimum is not None and not is_percent:
        return number, None
    generation, observed = meta(pdb).get("generation"), status.get("observedGeneration")
    if observed is None or (generation is not None and observed < generation):
        return None, ("the disruption controller has not computed its status yet (observedGeneration %s, generation %s)"
                      % (observed, generation))
    failed = _sync_failure(status)
    if failed:
        return None, "the disruption controller could not compute it: %s" % failed
    expected = status.get("expectedPods") or 0
    if minimum is not None:
        return scaled(number, True, expected), None
    return max(0, expected - scaled(number, is_percent, expected)), None


def _numbers(pdb):
    """What the budget says of itself, for the message and the result."""
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    found = dict((key, status.get(key)) for key in ("currentHealthy", "desiredHealthy", "disruptionsAllowed",
                                                    "expectedPods"))
    for key in ("minAvailable", "maxUnavailable"):
        if spec.get(key) is not None:
            found[key] = spec[key]
    return found


def pdb_refusal(pod, pdb, selected, new_labels, now=None):
    """(message, details for guards.refused) when taking the pod out of its workload would leave this budget (which
    selects it) fewer healthy pods than it requires before a replacement is Ready, else None.

    selected: the pods the budget's selector selects (the pod among them); new_labels: the pod's
    planned labels (whether the budget still selects it afterwards is told, not decisive)."""
    if not counts_healthy(pod, now):
        return None  # it is not among the healthy pods now: taking it out leaves as many
    desired, unknown = desired_healthy(pdb)
    left = _healthy_others(pod, selected, now)
    if unknown is None and len(left) >= desired:
        return None
    pmeta = meta(pdb)
    where = "%s/%s" % (pmeta.get("namespace"), pmeta.get("name"))
    name = meta(pod).get("name")
    numbers = _numbers(pdb)
    shown = ", ".join("%s %s" % item for item in sorted(numbers.items()) if item[1] is not None)
    still = selects(pdb, new_labels)
    details = {"pod_disruption_budget": dict(
        numbers, namespace=pmeta.get("namespace"), name=pmeta.get("name"), healthy=len(left) + 1,
        healthy_after=len(left), required=desired, still_selects_pod=still)}
    how = "Wait until more of its pods are Ready (or scale up), or use force: true to quarantine it anyway."
    if unknown is not None:
        return ("refusing to quarantine %s: PodDisruptionBudget %s selects it, and whether it allows a disruption "
                "cannot be told: %s (%s). %s" % (name, where, unknown, shown, how), details)
    counted = [p for p in selected if pod_ready(p) and not meta(p).get("deletionTimestamp")]
    not_counted = sorted(meta(p).get("name") for p in counted
                         if meta(p).get("uid") != meta(pod).get("uid") and meta(p).get("name") not in left)
    tail = ""
    if not_counted:
        tail += (" Not counted as healthy here although Ready: %s (unhealthy by their own diagnosis, or quarantined)."
                 % ", ".join(not_counted))
    if still:
        tail += (" Its new labels still match the budget's selector, so the budget would go on counting it while it is "
                 "out of its workload.")
    return ("refusing to quarantine %s: PodDisruptionBudget %s allows %d disruption(s) (%s): taking %s out of its "
            "workload would leave %d healthy pod(s), fewer than the %d it requires, until a replacement is Ready.%s %s"
            % (name, where, max(0, len(left) + 1 - desired), shown, name, len(left), desired, tail, how), details)
