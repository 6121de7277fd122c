# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""quarantine_info's answer: each quarantined pod described from its contract annotations
(docs/contract.md) and its current status, a pod whose recorded NetworkPolicy is not there (its
isolation is lost) flagged, and the summary. Pure: run_info.py makes the LISTs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._cleanup.decide import format_duration
from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_NETWORK_POLICY,
    ANN_QUARANTINED_AT,
    QUARANTINED_LABEL,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.policy import (
    is_our_network_policy,
    policy_for_pod_uid,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import (
    is_quarantined,
    quarantine_record,
    remote_evidence_url,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import pod_ready
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import parse_rfc3339


def _time(text):
    try:
        return parse_rfc3339(text) if text else None
    except ValueError:
        return None


def health(pod):
    status = pod.get("status") or {}
    statuses = (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
    return {
        "phase": status.get("phase"),
        "ready": pod_ready(pod),
        "restarts": sum(int(cs.get("restartCount") or 0) for cs in statuses),
        "terminating": bool((pod.get("metadata") or {}).get("deletionTimestamp")),
    }


def info_entry(pod, now):
    """One quarantined pod, as quarantine_info returns it (now: an aware UTC datetime)."""
    meta = pod.get("metadata") or {}
    record = quarantine_record(pod)
    since, until = _time(record["quarantined_at"]), _time(record["expires_at"])
    age = int((now - since).total_seconds()) if since else None
    evidence = record["evidence"] if isinstance(record["evidence"], dict) else None
    return {
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "node": (pod.get("spec") or {}).get("nodeName"),
        "reason": record["reason"],
        "quarantined_by": record["quarantined_by"],
        "quarantined_at": record["quarantined_at"],
        "age": format_duration(age) if age is not None else None,
        "age_seconds": age,
        "expires_at": record["expires_at"],
        "expired": bool(until and now >= until),
        "evidence": {"exists": bool(evidence and evidence.get("bundle")),
                     "name": evidence.get("bundle") if evidence else None,
                     "collected_at": evidence.get("collected_at") if evidence else None,
                     "url": remote_evidence_url(evidence)},
        "owner": record["owner"],
        "network_policy": record["network_policy"],
        "original_labels": record["original_labels"],
        "health": health(pod),
    }


def policy_index(policies):
    """{(namespace, name): policy} of our NetworkPolicies (from one LIST per scope)."""
    return dict(((p["metadata"].get("namespace"), p["metadata"].get("name")), p) for p in policies
                if is_our_network_policy(p))


def policy_problem(entry, index):
    """Why the pod's recorded NetworkPolicy does not isolate it, or None (it is there, or none is
    recorded). index is policy_index() of the pod's namespace scope."""
    name = entry["network_policy"]
    if not name:
        return None
    policy = index.get((entry["namespace"], name))
    if policy is None:
        return "missing"
    uid = policy_for_pod_uid(policy)
    if uid and uid != entry["uid"]:
        return "made for another pod (uid %s)" % uid
    return None


def mark_policies(entries, index):
    """Set network_policy_missing on every entry (None when not checked); return the warnings."""
    warnings = []
    for entry in entries:
        if index is None:
            entry["network_policy_missing"] = None
            continue
        problem = policy_problem(entry, index)
        entry["network_policy_missing"] = problem is not None
        if problem:
            warnings.append('pod %s/%s is quarantined with NetworkPolicy "%s" (its %s annotation), but that policy '
                            "is %s: the pod is not network-isolated; quarantine it again with network_isolation "
                            "to restore it, or release it" % (entry["namespace"], entry["name"], entry["network_policy"],
                                                              ANN_NETWORK_POLICY, problem))
    return warnings


def summarize(entries, ignored):
    by_namespace = {}
    for entry in entries:
        counts = by_namespace.setdefault(entry["namespace"], {"total": 0, "expired": 0, "not_expired": 0,
                                                              "no_expiry": 0})
        counts["total"] += 1
        counts[_expiry_bucket(entry)] += 1
    return {
        "total": len(entries),
        "expired": sum(1 for e in entries if _expiry_bucket(e) == "expired"),
        "not_expired": sum(1 for e in entries if _expiry_bucket(e) == "not_expired"),
        "no_expiry": sum(1 for e in entries if _expiry_bucket(e) == "no_expiry"),
        "with_evidence": sum(1 for e in entries if e["evidence"]["exists"]),
        "network_policy_missing": sum(1 for e in entries if e.get("network_policy_missing")),
        "look_alikes": len(ignored),
        "by_namespace": by_namespace,
    }


def _expiry_bucket(entry):
    if entry["expired"]:
        return "expired"
    return "not_expired" if entry["expires_at"] else "no_expiry"


def _by_name(entry):
    return (entry["namespace"] or "", entry["name"] or "")


def describe(pods, now):
    """(pods, summary, ignored) for the pods a label-selector LIST returned."""
    entries, ignored = [], []
    for pod in pods:
        if is_quarantined(pod):
            entries.append(info_entry(pod, now))
        else:
            meta = pod.get("metadata") or {}
            ignored.append({"namespace": meta.get("namespace"), "name": meta.get("name"), "uid": meta.get("uid"),
                            "why": "look-alike: the %s label without the %s annotation; not quarantined by "
                                   "triage.k8s" % (QUARANTINED_LABEL, ANN_QUARANTINED_AT)})
    entries.sort(key=_by_name)
    ignored.sort(key=_by_name)
    return entries, summarize(entries, ignored), ignored


def records_a_policy(entries):
    """Whether any pod records a NetworkPolicy: without one, our policies need not be listed."""
    return any(entry["network_policy"] for entry in entries)


def info_result(entries, ignored):
    """The module result, once mark_policies has flagged the entries."""
    return {"changed": False, "pods": entries, "summary": summarize(entries, ignored), "look_alikes": ignored}


def namespaces_problem(namespaces):
    """Why the namespaces option is unusable (an entry that is not a name), or None."""
    if any(not isinstance(n, str) or not n.strip() for n in namespaces):
        return "namespaces must contain namespace names, got %r" % (namespaces,)
    return None
