# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""quarantine_cleanup's deletes: one pod or one NetworkPolicy, under the preconditions it had when
listed, and after a failure a re-read that finds out what the DELETE did (outcome.py).

The API layer (_k8s/api.py, Kube.request) already retries throttling, server errors and lost answers of
these preconditioned deletes; nothing here retries them again. A 409 on a pod that is still there
means it changed since it was listed: it is read, decided again, and deleted only if it still
qualifies.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._cleanup import decide as decide_mod
from ansible_collections.triage.k8s.plugins.module_utils._cleanup import policies as policies_mod
from ansible_collections.triage.k8s.plugins.module_utils._cleanup.outcome import NOT_READ, after_failed_delete, must_reread
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._contract.policy import policy_pod_name
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import quarantine_record, remote_evidence_url

# Reads and decisions again after a failed precondition, before giving up on a pod.
REEVALUATIONS = 3


def identity(obj):
    meta = obj.get("metadata") or {}
    return {"namespace": meta.get("namespace"), "name": meta.get("name"), "uid": meta.get("uid")}


def pod_entry(pod, why, expires_at=None):
    record = quarantine_record(pod)
    evidence = record["evidence"] if isinstance(record["evidence"], dict) else None
    entry = identity(pod)
    entry.update(why=why, quarantined_at=record["quarantined_at"], quarantined_by=record["quarantined_by"],
                 quarantine_reason=record["reason"], expires_at=expires_at or record["expires_at"],
                 evidence=evidence.get("bundle") if evidence else None, evidence_url=remote_evidence_url(evidence),
                 network_policy=record["network_policy"])
    return entry


def policy_entry(policy, why):
    entry = identity(policy)
    entry.update(pod=policy_pod_name(policy), why=why)
    entry.pop("uid")
    return entry


def _delete(kube, kind, meta, preconditions, grace_period=None):
    """(outcome, text, current): after_failed_delete's verdict, or ("done", None, None)."""
    try:
        kube.delete(kind, meta["name"], meta["namespace"], preconditions=preconditions, grace_period=grace_period)
        return "done", None, None
    except TriageError as exc:
        error = exc
    status, attempts = error.details.get("status"), error.details.get("api_attempts")
    current, reread_error = NOT_READ, None
    if must_reread(status, attempts):
        try:
            current = kube.get_or_none(kind, meta["name"], meta["namespace"])
        except TriageError as exc:
            reread_error = exc.msg
    outcome, text = after_failed_delete(meta["uid"], status, attempts, error.msg, current, reread_error)
    return outcome, text, current


def delete_pod(kube, pod, entry, config, clock):
    """Delete one listed pod under its uid + resourceVersion precondition.

    Returns (outcome, entry): "deleted" (entry["note"] says how it was confirmed after a failed
    answer), "gone" (someone else deleted it), "skipped" (it changed and no longer qualifies),
    "failed" (entry["error"]) or "unknown" (entry["error"]: the re-read failed too).
    """
    current, reevaluated = pod, False
    for _attempt in range(REEVALUATIONS + 1):
        meta = current["metadata"]
        outcome, text, reread = _delete(kube, "Pod", meta, {"uid": meta["uid"], "resourceVersion": meta["resourceVersion"]},
                                        config["grace_period"])
        if outcome == "done":
            return "deleted", dict(entry, reevaluated=reevaluated)
        if outcome == "deleted":
            return "deleted", dict(entry, reevaluated=reevaluated, note=text)
        if outcome == "gone":
            return "gone", dict(entry, why=text)
        if outcome in ("failed", "unknown"):
            return outcome, dict(entry, error=text)
        # 409 and still there, same uid, not terminating: it changed since it was read. Decide again.
        current, reevaluated = reread, True
        verdict = decide_mod.decide(current, clock(), config)
        if not verdict["delete"]:
            return "skipped", dict(pod_entry(current, "changed since it was listed, decided again and kept: %s"
                                             % verdict["why"], verdict.get("expires_at")))
        entry = pod_entry(current, verdict["why"], verdict.get("expires_at"))
    return "failed", dict(entry, error="it kept changing between reading and deleting (%d attempts): left for the "
                          "next run" % (REEVALUATIONS + 1))


def _recheck_orphan(kube, policy, config, clock):
    """Just before deleting an orphan, look at its pod again: a quarantine may have taken the
    policy over since the plan. Returns None to go on, or (outcome, entry)."""
    name, certain = policies_mod.pod_lookup(policy)
    try:
        pod = kube.get_or_none("Pod", name, policy["metadata"]["namespace"])
    except TriageError as exc:
        return "failed", dict(policy_entry(policy, "orphaned"), error="checking its pod again failed: %s; not "
                              "deleted" % exc.msg)
    delete, why = policies_mod.orphan_verdict(policy, pod, clock(), config["orphan_min_age"], certain)
    if not delete:
        return "skipped", policy_entry(policy, "changed since it was listed: %s" % why)
    return None


def delete_policy(kube, policy, why, orphan=False, config=None, clock=None):
    """Delete one of our NetworkPolicies: with its uid precondition (and, for an orphan, its
    resourceVersion too: a policy a quarantine has just brought up to date is not deleted)."""
    meta = policy["metadata"]
    entry = policy_entry(policy, why)
    preconditions = {"uid": meta["uid"]}
    if orphan:
        rechecked = _recheck_orphan(kube, policy, config, clock)
        if rechecked is not None:
            return rechecked
        preconditions["resourceVersion"] = meta.get("resourceVersion")
    outcome, text, _current = _delete(kube, "NetworkPolicy", meta, preconditions)
    if outcome == "done":
        return "deleted", entry
    if outcome == "deleted":
        return "deleted", dict(entry, note=text)
    if outcome == "gone":
        return "gone", dict(entry, why=text)
    if outcome == "changed":
        return "skipped", dict(entry, why="changed since it was listed (a quarantine may have taken it over): left "
                               "alone for the next run")
    return outcome, dict(entry, error=text)
