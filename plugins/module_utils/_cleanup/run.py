# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""quarantine_cleanup's run: one LIST of quarantined pods (and one of our NetworkPolicies), the
pure decisions (decide.py, policies.py) for each, the max_deletions fail-safe, then
deletes in bounded parallel (run_delete.py), each guarded by what the object was when listed.

After any failed delete the object is read again, so the result says what this run deleted,
what it could not, and what it cannot tell (pods_unknown): changed is true when a delete
landed or may have landed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.triage.k8s.plugins.module_utils._cleanup import decide as decide_mod
from ansible_collections.triage.k8s.plugins.module_utils._cleanup import policies as policies_mod
from ansible_collections.triage.k8s.plugins.module_utils._cleanup.run_evidence import settle
from ansible_collections.triage.k8s.plugins.module_utils._cleanup.run_delete import (
    delete_pod,
    delete_policy,
    pod_entry,
    policy_entry,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import connect
from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    FOR_POD_LABEL,
    OUR_POLICIES_SELECTOR,
    QUARANTINED_SELECTOR,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.namespaces import check_namespaces
from ansible_collections.triage.k8s.plugins.module_utils._contract.policy import (
    is_our_network_policy,
    policy_for_pod_uid,
    policy_links,
    records_policy,
)
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import quarantine_record
from ansible_collections.triage.k8s.plugins.module_utils._contract import events as event_contract
from ansible_collections.triage.k8s.plugins.module_utils._k8s import events as pod_events
from ansible_collections.triage.k8s.plugins.module_utils._k8s.lookup import caller_identity

# Names listed in a failure message before "and N more".
NAMES_SHOWN = 10
OUTCOME_KEYS = {"deleted": "pods_deleted", "failed": "pods_failed", "unknown": "pods_unknown"}
POLICY_OUTCOME_KEYS = {"deleted": "network_policies_deleted", "failed": "network_policies_failed",
                       "unknown": "network_policies_unknown", "skipped": "network_policies_skipped"}


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def list_objects(kube, kind, selector, namespaces):
    """One LIST over all namespaces, or one per given namespace (paginated either way)."""
    items = []
    for namespace in namespaces or [None]:
        items.extend(kube.list(kind, namespace=namespace, label_selector=selector))
    return items


def _sorted(entries):
    return sorted(entries, key=lambda e: (e.get("namespace") or "", e.get("name") or ""))


# ---------------------------------------------------------------- planning

def _look_up_pod(kube, policy):
    """(pod or None, certain, problem) for a policy whose pod was not among the listed ones."""
    name, certain = policies_mod.pod_lookup(policy)
    if not name:
        return None, False, "its %s label is empty: left alone" % FOR_POD_LABEL
    try:
        return kube.get_or_none("Pod", name, policy["metadata"]["namespace"]), certain, None
    except TriageError as exc:
        if exc.details.get("error_type") == "invalid_input":  # a label no pod name can match
            return None, False, "its %s label is not a pod name (%s): left alone" % (FOR_POD_LABEL, exc.msg)
        raise


def _plan_policies(kube, config, now, pods, deleting):
    """linked {pod uid: [policy]} (they go with their pod), orphans [(policy, why)] and kept
    [(policy, why)], for every one of our policies in the selected namespaces."""
    policies = [p for p in list_objects(kube, "NetworkPolicy", OUR_POLICIES_SELECTOR, config["namespaces"])
                if is_our_network_policy(p)]
    by_uid = dict((pod["metadata"].get("uid"), pod) for pod in pods)
    by_policy = dict(((pod["metadata"].get("namespace"), quarantine_record(pod)["network_policy"]), pod) for pod in pods)
    linked, orphans, kept = {}, [], []
    min_age = config["orphan_min_age"]
    for policy in policies:
        meta = policy["metadata"]
        if decide_mod.namespace_refusal(meta.get("namespace"), config):
            continue
        uid = policy_for_pod_uid(policy)
        owner = by_uid.get(uid) if uid else by_policy.get((meta.get("namespace"), meta.get("name")))
        if owner is not None and policy_links(policy, owner):
            linked.setdefault(owner["metadata"]["uid"], []).append(policy)
            if owner["metadata"]["uid"] in deleting or records_policy(owner, policy) or not uid:
                continue  # goes with its pod, or is the isolation of a pod that stays
            delete, why = policies_mod.orphan_verdict(policy, owner, now, min_age)
        elif uid and uid in by_uid:  # its pod is listed, but the policy's labels name another
            delete, why = False, "its pod (uid %s) is %s/%s, which its labels do not name: left alone" % (
                uid, by_uid[uid]["metadata"].get("namespace"), by_uid[uid]["metadata"].get("name"))
        elif not uid:
            delete, why = policies_mod.orphan_verdict(policy, None, now, min_age)
        else:
            pod, certain, problem = _look_up_pod(kube, policy)
            delete, why = (False, problem) if problem else policies_mod.orphan_verdict(policy, pod, now, min_age,
                                                                                       certain)
        (orphans if delete else kept).append((policy, why))
    return linked, orphans, kept


def plan(kube, config, now, warn=None):
    """Everything decided before any write: pods to delete, pods kept (why), policies."""
    pods = list_objects(kube, "Pod", QUARANTINED_SELECTOR, config["namespaces"])
    delete, skipped = [], []
    for pod, verdict in settle(config, [(pod, decide_mod.decide(pod, now, config)) for pod in pods], warn):
        entry = pod_entry(pod, verdict["why"], verdict.get("expires_at"))
        (delete if verdict["delete"] else skipped).append((pod, entry))
    deleting = set(pod["metadata"].get("uid") for pod, _e in delete)
    linked, orphans, kept = _plan_policies(kube, config, now, pods, deleting)
    return {"delete": delete, "skipped": skipped, "linked": linked, "orphans": orphans, "policies_kept": kept}


# ---------------------------------------------------------------- the run

def _parallel(fn, jobs, parallelism):
    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=min(parallelism, len(jobs))) as pool:
        return list(pool.map(lambda job: fn(*job), jobs))


def _empty_result(planned):
    return {"pods_deleted": [], "pods_skipped": [e for _p, e in planned["skipped"]], "pods_failed": [],
            "pods_unknown": [], "network_policies_deleted": [],
            "network_policies_skipped": [policy_entry(p, why) for p, why in planned["policies_kept"]],
            "network_policies_failed": [], "network_policies_unknown": []}


def _with_pod(planned, pod, state):
    return [(p, "made for pod %s, which is %s" % (pod["metadata"]["name"], state), False)
            for p in planned["linked"].get(pod["metadata"]["uid"], [])]


def cleanup(kube, config, check_mode, clock=utcnow, after_plan=None, warn=None):
    """The whole run on one cluster; returns the module result.

    after_plan(pods), when given, is called with the pods about to be deleted after the plan is
    made and before the first delete: a seam for tests that change a pod in between.
    """
    check_namespaces(kube, config["namespaces"], "check namespaces and context; nothing was deleted",
                     warn or (lambda _msg: None), with_keys=True)
    planned = plan(kube, config, clock(), warn)
    to_delete = planned["delete"]
    policies_for_deleted = sum(len(planned["linked"].get(p["metadata"]["uid"], [])) for p, _e in to_delete)
    limit = decide_mod.deletion_limit_error(len(to_delete), config["max_deletions"], _sorted(e for _p, e in to_delete),
                                            policies_for_deleted + len(planned["orphans"]), len(planned["orphans"]))
    if limit is not None:
        raise limit
    result = _empty_result(planned)
    orphans = [(p, why, True) for p, why in planned["orphans"]]
    listed = len(planned["delete"]) + len(planned["skipped"])
    if check_mode:
        result["pods_deleted"] = [dict(e, reevaluated=False) for _p, e in to_delete]
        pod_policies = [job for pod, _e in to_delete for job in _with_pod(planned, pod, "deleted")]
        result["network_policies_deleted"] = [policy_entry(p, why) for p, why, _o in pod_policies + orphans]
        return _finish(result, check_mode, listed)
    if after_plan is not None:
        after_plan([pod for pod, _e in to_delete])
    who = caller_identity(kube, None) if to_delete else None
    outcomes = _parallel(lambda pod, entry: _delete_and_record(kube, pod, entry, config, clock, who), to_delete,
                         config["parallelism"])
    _warn_unrecorded([entry for outcome, entry in outcomes if outcome == "deleted"], warn)
    pod_policies = []
    for (pod, _entry), (outcome, entry) in zip(to_delete, outcomes):
        result[OUTCOME_KEYS.get(outcome, "pods_skipped")].append(entry)
        if outcome in ("deleted", "gone"):  # not "unknown": the pod may still be there, isolated
            pod_policies += _with_pod(planned, pod, outcome)

    def policy_job(policy, why, orphan):
        return delete_policy(kube, policy, why, orphan, config, clock)

    for outcome, entry in _parallel(policy_job, pod_policies + orphans, config["parallelism"]):
        key = POLICY_OUTCOME_KEYS.get(outcome)
        if key:
            result[key].append(entry)
    return _finish(result, check_mode, listed)


def _delete_and_record(kube, pod, entry, config, clock, who):
    """delete_pod, then the QuarantineExpired Event on the pod it deleted (entry["event"])."""
    outcome, entry = delete_pod(kube, pod, entry, config, clock)
    if outcome == "deleted":
        note = event_contract.expired_note(who, entry["why"], entry.get("quarantined_at"), entry.get("quarantined_by"),
                                           entry.get("quarantine_reason"), entry.get("evidence"),
                                           entry.get("network_policy"))
        event = event_contract.pod_event(pod, event_contract.QUARANTINE_EXPIRED, note, pod_events.now(),
                                         pod_events.host())
        entry = dict(entry, event=pod_events.write(kube, event))
    return outcome, entry


def _warn_unrecorded(entries, warn):
    """One warning per distinct failure to write the Events of deleted pods (a missing grant fails them all)."""
    missed = {}
    for entry in entries:
        event = entry.get("event") or {}
        if event and not event["written"]:
            missed.setdefault(event["error"], []).append(entry)
    for error, pods in sorted(missed.items()):
        if warn is not None:
            warn("the pods were deleted, but no Kubernetes Event (reason %s) was recorded on pod(s) %s: %s"
                 % (event_contract.QUARANTINE_EXPIRED, _names(_sorted(pods), None), error))


def _names(entries, field="error", kind=""):
    """'pod ns/a: why; pod ns/b: why' (or 'ns/a, ns/b' without a field), at most NAMES_SHOWN."""
    prefix = kind + " " if kind else ""
    shown = [prefix + "%s/%s" % (e["namespace"], e["name"]) + (": %s" % e[field] if field else "")
             for e in entries[:NAMES_SHOWN]]
    if len(entries) > NAMES_SHOWN:
        shown.append("and %d more" % (len(entries) - NAMES_SHOWN))
    return "; ".join(shown) if field else ", ".join(shown)


def _finish(result, check_mode, listed):
    """Sort, count and phrase; raise (with the whole result) when any delete failed or its
    outcome is unknown. The message says what was deleted and what was not."""
    for key in list(result):
        result[key] = _sorted(result[key])
    by_namespace = {}
    for outcome in ("deleted", "skipped", "failed", "unknown"):
        for entry in result["pods_" + outcome]:
            counts = by_namespace.setdefault(entry["namespace"], {"deleted": 0, "skipped": 0, "failed": 0,
                                                                  "unknown": 0})
            counts[outcome] += 1
    deleted, skipped, failed, unknown = (len(result["pods_" + k]) for k in ("deleted", "skipped", "failed", "unknown"))
    policies = dict((k, len(result["network_policies_" + k])) for k in ("deleted", "failed", "unknown"))
    result["summary"] = {
        "listed": listed, "deleted": deleted, "skipped": skipped, "failed": failed, "unknown": unknown,
        "network_policies_deleted": policies["deleted"], "network_policies_failed": policies["failed"],
        "network_policies_unknown": policies["unknown"], "by_namespace": by_namespace,
    }
    # An unknown outcome may be a delete that landed: never report it as "nothing changed".
    result["changed"] = bool(deleted or policies["deleted"] or unknown or policies["unknown"])
    result["msg"] = "%s %d of %d quarantined pods and %d NetworkPolicies; %d kept, %d failed" % (
        "would delete" if check_mode else "deleted", deleted, listed, policies["deleted"], skipped,
        failed + policies["failed"])
    if unknown or policies["unknown"]:
        result["msg"] += ", %d unknown" % (unknown + policies["unknown"])
    if not (failed or policies["failed"] or unknown or policies["unknown"]):
        return result
    parts = [result["msg"]]  # the causes first: a fleet summary may keep only the start of this
    for label, outcome in (("Not deleted", "failed"), ("Outcome unknown (re-run to find out)", "unknown")):
        listed_here = [_names(result[key], kind=kind) for key, kind in (("pods_" + outcome, "pod"),
                                                                        ("network_policies_" + outcome, "NetworkPolicy"))
                       if result[key]]
        if listed_here:
            parts.append("%s: %s" % (label, "; ".join(listed_here)))
    if deleted:
        parts.append("Deleted: %s" % _names(result["pods_deleted"], None))
    raise TriageError(". ".join(parts), dict(result, error_type="partial_failure"))


def widen_connection_pool(api_client, size):
    """Let `size` deletes share the client's connection pool: urllib3 creates its pools on the first
    request, from connection_pool_kw (the kubernetes client sizes them by CPU count)."""
    manager = getattr(getattr(api_client, "rest_client", None), "pool_manager", None)
    settings = getattr(manager, "connection_pool_kw", None)
    if isinstance(settings, dict) and settings.get("maxsize", 1) < size:
        settings["maxsize"] = size


def run_cleanup(module):
    config = decide_mod.build_config(module.params)  # every problem, before any call
    kube = connect(module.params)
    widen_connection_pool(kube.api_client, config["parallelism"])
    return cleanup(kube, config, module.check_mode, warn=module.warn)
