# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""quarantine_cleanup's I/O: one LIST of quarantined pods (and one of our NetworkPolicies), the
pure decision (cleanup_decide) for each, the max_deletions fail-safe, then deletes in bounded
parallel, each guarded by the uid and resourceVersion the pod had when it was listed.

A pod whose delete fails its precondition (409: changed since it was listed) is read again and
decided again; it is deleted only if it still qualifies, with the new preconditions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.triage.k8s.plugins.module_utils import cleanup_decide as decide_mod
from ansible_collections.triage.k8s.plugins.module_utils.client import build_api_client, describe_target
from ansible_collections.triage.k8s.plugins.module_utils.contract import (
    FOR_POD_LABEL,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    QUARANTINED_SELECTOR,
)
from ansible_collections.triage.k8s.plugins.module_utils.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils.kube import Kube
from ansible_collections.triage.k8s.plugins.module_utils.quarantine_state import is_our_network_policy, quarantine_record
from ansible_collections.triage.k8s.plugins.module_utils.retry import retry_call

POLICY_SELECTOR = "%s=%s,%s" % (MANAGED_BY_LABEL, MANAGED_BY_VALUE, FOR_POD_LABEL)
TRANSIENT_STATUSES = (429, 500, 502, 503, 504)
# Reads and decisions again after a failed precondition, before giving up on a pod.
REEVALUATIONS = 3


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _transient(exc):
    return isinstance(exc, TriageError) and exc.details.get("status") in TRANSIENT_STATUSES


def _call(fn, *args, **kwargs):
    """Retry throttling and server errors (bounded, with backoff); everything else is raised."""
    return retry_call(fn, *args, attempts=4, retry_on=_transient, **kwargs)


def list_objects(kube, kind, selector, namespaces):
    """One LIST over all namespaces, or one per given namespace (paginated either way)."""
    items = []
    for namespace in namespaces or [None]:
        items.extend(kube.list(kind, namespace=namespace, label_selector=selector))
    return items


def _identity(obj):
    meta = obj.get("metadata") or {}
    return {"namespace": meta.get("namespace"), "name": meta.get("name"), "uid": meta.get("uid")}


def pod_entry(pod, why, expires_at=None):
    record = quarantine_record(pod)
    evidence = record["evidence"] if isinstance(record["evidence"], dict) else None
    entry = _identity(pod)
    entry.update(why=why, quarantined_at=record["quarantined_at"], quarantined_by=record["quarantined_by"],
                 quarantine_reason=record["reason"], expires_at=expires_at or record["expires_at"],
                 evidence=evidence.get("bundle") if evidence else None, network_policy=record["network_policy"])
    return entry


def _sorted(entries):
    return sorted(entries, key=lambda e: (e.get("namespace") or "", e.get("name") or ""))


# ---------------------------------------------------------------- planning

def plan(kube, config, now):
    """Everything decided before any write: pods to delete, pods kept (why), policies."""
    pods = list_objects(kube, "Pod", QUARANTINED_SELECTOR, config["namespaces"])
    policies = [p for p in list_objects(kube, "NetworkPolicy", POLICY_SELECTOR, config["namespaces"])
                if is_our_network_policy(p)]
    delete, skipped = [], []
    for pod in pods:
        verdict = decide_mod.decide(pod, now, config)
        entry = pod_entry(pod, verdict["why"], verdict.get("expires_at"))
        (delete if verdict["delete"] else skipped).append((pod, entry))
    by_uid = dict((pod["metadata"].get("uid"), pod) for pod in pods)
    by_policy = dict(((pod["metadata"].get("namespace"), quarantine_record(pod)["network_policy"]), pod) for pod in pods)
    linked, orphans, kept = {}, [], []
    for policy in policies:
        if decide_mod.namespace_refusal(policy["metadata"].get("namespace"), config):
            continue
        uid = decide_mod.policy_for_pod_uid(policy)
        owner = by_uid.get(uid) if uid else by_policy.get((policy["metadata"].get("namespace"), policy["metadata"]["name"]))
        if owner is not None and decide_mod.policy_links(policy, owner):
            linked.setdefault(owner["metadata"]["uid"], []).append(policy)
            continue
        if uid and uid in by_uid:  # its pod exists, but the policy's labels do not match it
            kept.append((policy, "its pod (uid %s) is %s/%s, which its labels do not name: left alone"
                         % (uid, by_uid[uid]["metadata"].get("namespace"), by_uid[uid]["metadata"].get("name"))))
            continue
        named = decide_mod.policy_pod_name(policy)
        current = kube.get_or_none("Pod", named, policy["metadata"]["namespace"]) if named else None
        gone, why = decide_mod.orphan_verdict(policy, current)
        (orphans if gone else kept).append((policy, why))
    return {"delete": delete, "skipped": skipped, "linked": linked, "orphans": orphans, "policies_kept": kept}


def policy_entry(policy, why):
    entry = _identity(policy)
    entry.update(pod=decide_mod.policy_pod_name(policy), why=why)
    entry.pop("uid")
    return entry


# ---------------------------------------------------------------- deleting

def delete_pod(kube, pod, entry, config, clock):
    """Delete one listed pod under its uid + resourceVersion precondition.

    Returns (outcome, entry) with outcome "deleted", "gone" (someone else deleted it), "skipped"
    (it changed and no longer qualifies) or "failed" (entry["error"] says why).
    """
    current, reevaluated = pod, False
    listed_uid = pod["metadata"]["uid"]
    for _attempt in range(REEVALUATIONS + 1):
        meta = current["metadata"]
        try:
            _call(kube.delete, "Pod", meta["name"], meta["namespace"],
                  preconditions={"uid": meta["uid"], "resourceVersion": meta["resourceVersion"]},
                  grace_period=config["grace_period"])
            return "deleted", dict(entry, reevaluated=reevaluated)
        except TriageError as exc:
            if exc.details.get("status") == 404:
                return "gone", dict(entry, why="already gone: deleted by someone else since it was listed")
            if exc.details.get("status") != 409:
                return "failed", dict(entry, error=exc.msg)
        # 409: the precondition failed, so the pod changed since it was read. Read and decide again.
        try:
            current = _call(kube.get_or_none, "Pod", meta["name"], meta["namespace"])
        except TriageError as exc:
            return "failed", dict(entry, error="changed since it was listed, and reading it again failed: %s" % exc.msg)
        if current is None:
            return "gone", dict(entry, why="already gone: deleted by someone else since it was listed")
        if current["metadata"].get("uid") != listed_uid:
            return "gone", dict(entry, why="already gone: a new pod named %s (uid %s) has replaced it and is left "
                                "for the next run" % (meta["name"], current["metadata"].get("uid")))
        verdict = decide_mod.decide(current, clock(), config)
        reevaluated = True
        if not verdict["delete"]:
            return "skipped", dict(pod_entry(current, "changed since it was listed, decided again and kept: %s"
                                             % verdict["why"], verdict.get("expires_at")))
        entry = pod_entry(current, verdict["why"], verdict.get("expires_at"))
    return "failed", dict(entry, error="it kept changing between reading and deleting (%d attempts): left for the "
                          "next run" % (REEVALUATIONS + 1))


def delete_policy(kube, policy, why):
    meta = policy["metadata"]
    entry = policy_entry(policy, why)
    try:
        _call(kube.delete, "NetworkPolicy", meta["name"], meta["namespace"], preconditions={"uid": meta["uid"]})
    except TriageError as exc:
        if exc.details.get("status") == 404:
            return "gone", entry
        if exc.details.get("status") == 409:
            return "skipped", dict(entry, why="replaced by a new NetworkPolicy of the same name since it was listed: "
                                   "left alone")
        return "failed", dict(entry, error=exc.msg)
    return "deleted", entry


def _parallel(fn, jobs, parallelism):
    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=min(parallelism, len(jobs))) as pool:
        return list(pool.map(lambda job: fn(*job), jobs))


# ---------------------------------------------------------------- the run

def cleanup(kube, config, check_mode, clock=utcnow, after_plan=None):
    """The whole run on one cluster; returns the module result.

    after_plan(pods), when given, is called with the pods about to be deleted after the plan is
    made and before the first delete: a seam for tests that change a pod in between.
    """
    planned = plan(kube, config, clock())
    to_delete = planned["delete"]
    policies_for_deleted = sum(len(planned["linked"].get(p["metadata"]["uid"], [])) for p, _e in to_delete)
    limit = decide_mod.deletion_limit_error(len(to_delete), config["max_deletions"], _sorted(e for _p, e in to_delete),
                                            policies_for_deleted + len(planned["orphans"]))
    if limit is not None:
        raise limit
    result = {"pods_deleted": [], "pods_skipped": [e for _p, e in planned["skipped"]], "pods_failed": [],
              "network_policies_deleted": [], "network_policies_skipped": [policy_entry(p, why) for p, why in planned["policies_kept"]],
              "network_policies_failed": []}
    pod_policies = []
    if check_mode:
        result["pods_deleted"] = [dict(e, reevaluated=False) for _p, e in to_delete]
        for pod, _entry in to_delete:
            pod_policies += [(p, "made for pod %s, which is deleted" % pod["metadata"]["name"])
                             for p in planned["linked"].get(pod["metadata"]["uid"], [])]
        result["network_policies_deleted"] = [policy_entry(p, why) for p, why in pod_policies + planned["orphans"]]
        return _finish(result, check_mode, len(planned["delete"]) + len(planned["skipped"]))
    if after_plan is not None:
        after_plan([pod for pod, _e in to_delete])
    outcomes = _parallel(lambda pod, entry: delete_pod(kube, pod, entry, config, clock), to_delete, config["parallelism"])
    for (pod, _entry), (outcome, entry) in zip(to_delete, outcomes):
        result[{"deleted": "pods_deleted", "failed": "pods_failed"}.get(outcome, "pods_skipped")].append(entry)
        if outcome in ("deleted", "gone"):
            pod_policies += [(p, "made for pod %s, which is %s" % (pod["metadata"]["name"], outcome))
                             for p in planned["linked"].get(pod["metadata"]["uid"], [])]
    for outcome, entry in _parallel(lambda p, why: delete_policy(kube, p, why), pod_policies + planned["orphans"],
                                    config["parallelism"]):
        key = {"deleted": "network_policies_deleted", "failed": "network_policies_failed"}.get(outcome)
        if key:
            result[key].append(entry)
        elif outcome == "skipped":
            result["network_policies_skipped"].append(entry)
    return _finish(result, check_mode, len(planned["delete"]) + len(planned["skipped"]))


def _finish(result, check_mode, listed):
    """Sort, count and phrase; raise (with the whole result) when any delete failed."""
    for key in list(result):
        result[key] = _sorted(result[key])
    by_namespace = {}
    for outcome in ("deleted", "skipped", "failed"):
        for entry in result["pods_" + outcome]:
            counts = by_namespace.setdefault(entry["namespace"], {"deleted": 0, "skipped": 0, "failed": 0})
            counts[outcome] += 1
    deleted, skipped, failed = (len(result[k]) for k in ("pods_deleted", "pods_skipped", "pods_failed"))
    policies_deleted, policies_failed = len(result["network_policies_deleted"]), len(result["network_policies_failed"])
    result["summary"] = {
        "listed": listed, "deleted": deleted, "skipped": skipped, "failed": failed,
        "network_policies_deleted": policies_deleted, "network_policies_failed": policies_failed,
        "by_namespace": by_namespace,
    }
    result["changed"] = bool(deleted or policies_deleted)
    result["msg"] = "%s %d of %d quarantined pods and %d NetworkPolicies; %d kept, %d failed" % (
        "would delete" if check_mode else "deleted", deleted, listed, policies_deleted, skipped, failed + policies_failed)
    if failed or policies_failed:
        failures = ["pod %s/%s: %s" % (e["namespace"], e["name"], e["error"]) for e in result["pods_failed"]]
        failures += ["NetworkPolicy %s/%s: %s" % (e["namespace"], e["name"], e["error"])
                     for e in result["network_policies_failed"]]
        raise TriageError("%s. Failures: %s" % (result["msg"], "; ".join(failures)),
                          dict(result, error_type="partial_failure"))
    return result


def widen_connection_pool(api_client, size):
    """Let `size` deletes share the client's connection pool: urllib3 creates its pools on the first
    request, from connection_pool_kw (the kubernetes client sizes them by CPU count)."""
    manager = getattr(getattr(api_client, "rest_client", None), "pool_manager", None)
    settings = getattr(manager, "connection_pool_kw", None)
    if isinstance(settings, dict) and settings.get("maxsize", 1) < size:
        settings["maxsize"] = size


def run_cleanup(module):
    config = decide_mod.build_config(module.params)  # every problem, before any call
    api_client = build_api_client(module.params)
    widen_connection_pool(api_client, config["parallelism"])
    return cleanup(Kube(api_client, describe_target(module.params)), config, module.check_mode)
