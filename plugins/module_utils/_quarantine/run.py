# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pod_quarantine's body: validate the parameters before any API call, quarantine or release,
wait with watches, and report. The module file holds only documentation and the spec."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import connect
from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import ANN_QUARANTINED_AT
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import validate_label_key, validate_label_value
from ansible_collections.triage.k8s.plugins.module_utils._k8s.names import name_problem, namespace_problem
from ansible_collections.triage.k8s.plugins.module_utils._quarantine import budgets
from ansible_collections.triage.k8s.plugins.module_utils._quarantine import run_apply as ops
from ansible_collections.triage.k8s.plugins.module_utils._quarantine import run_release as release
from ansible_collections.triage.k8s.plugins.module_utils._quarantine import report
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import quarantine_record
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.run_wait import (
    wait_out_of_endpoints,
    wait_replacement_ready,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339, parse_duration
from ansible_collections.triage.k8s.plugins.module_utils._k8s.lookup import caller_identity
from ansible_collections.triage.k8s.plugins.module_utils._k8s import events as pod_events
from ansible_collections.triage.k8s.plugins.module_utils._contract import events as event_contract


# A reason is a sentence for a human; the API server caps all annotations of a pod at 256 KiB.
REASON_MAX = 4096


def validate_params(params):
    """Every input problem, found before anything is read or written."""
    problems = [p for p in (name_problem("Pod", params["name"]), namespace_problem(params["namespace"])) if p]
    if len(params["reason"] or "") > REASON_MAX:
        problems.append("reason is %d characters long; keep it under %d (it is stored in an annotation, and a pod's "
                        "annotations are limited to 256 KiB in all): put long notes in the evidence instead"
                        % (len(params["reason"]), REASON_MAX))
    if params["labels"] is not None and params["strategy"] != "labels":
        problems.append("labels is only used with strategy: labels (strategy: auto computes the labels itself); "
                        "add strategy: labels or drop labels")
    for key, value in (params["labels"] or {}).items():
        problem = validate_label_key(key)
        if not problem and value is not None:
            problem = validate_label_value(value if isinstance(value, str) else str(value))
        if problem:
            problems.append("labels: %s" % problem)
    if params["ttl"] is not None:
        try:
            parse_duration(params["ttl"])
        except ValueError as exc:
            problems.append("ttl: %s" % exc)
    if params["wait_timeout"] <= 0:
        problems.append("wait_timeout must be a positive number of seconds, got %d" % params["wait_timeout"])
    if params["max_quarantined_per_owner"] < 1:
        problems.append("max_quarantined_per_owner must be at least 1, got %d" % params["max_quarantined_per_owner"])
    if params.get("min_healthy_replicas") is not None:
        problem = budgets.min_healthy_problem(params["min_healthy_replicas"])
        if problem:
            problems.append(problem)
    if params["network_allow"] and not params["network_isolation"]:
        problems.append("network_allow only applies with network_isolation: true")
    if problems:
        raise TriageError("invalid parameters: %s; nothing was read or written" % "; ".join(problems),
                          {"error_type": "invalid_input"})
    if params["labels"]:
        params["labels"] = dict((k, None if v is None else str(v)) for k, v in params["labels"].items())


def run_quarantine(module):
    params = module.params
    validate_params(params)
    kube = connect(params)
    if params["state"] == "released":
        return _release(module, kube)
    return _quarantine(module, kube)


def _quarantine(module, kube):
    params = module.params
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    expires_at = format_rfc3339(now + datetime.timedelta(seconds=parse_duration(params["ttl"]))) if params["ttl"] else None
    identity = caller_identity(kube, params["quarantined_by"])
    changed, proposal, written = ops.apply_quarantine(kube, params, module.check_mode, format_rfc3339(now),
                                                      expires_at, identity)
    if not changed:
        return _already_quarantined(module, kube, proposal["pod"])
    pod = proposal["pod"]
    for warning in proposal["plan"].get("warnings") or []:
        module.warn(warning)  # e.g. the owner's selector did not match the pod even before
    result = report.quarantine_result(written or pod, proposal["plan"]["changes"], proposal["services"], proposal["ref"],
                                      proposal["releases_owner"], params["scope"], params.get("context"),
                                      policy_name=proposal["policy_name"])
    if written is None:  # check mode: the plan, nothing written
        result.update(quarantined_at=proposal["patch"]["metadata"]["annotations"].get(ANN_QUARANTINED_AT),
                      quarantined_by=identity, reason=params["reason"], expires_at=expires_at,
                      plan=proposal["patch"])
    result["changed"] = True
    result["msg"] = report.quarantine_summary(result, check_mode=written is None)
    if module._diff:
        result["diff"] = report.diff_for(pod, proposal["patch"])
    result["event"] = None  # check mode: nothing written, no Event
    if written is not None:  # recorded before any wait: the pod is quarantined whatever the wait finds
        note = event_contract.quarantined_note(identity, params["reason"], expires_at, proposal["services"],
                                               proposal["ref"], proposal["releases_owner"], proposal["policy_name"])
        result["event"] = _record_event(module, kube, written, event_contract.QUARANTINED, note, proposal["policy_name"])
    if params["wait"] and written is not None:
        owner = proposal["owner"] if proposal["releases_owner"] else None
        known = set(p["metadata"]["uid"] for p in proposal["owner_pods"]) | set([pod["metadata"]["uid"]])
        _wait(kube, params, pod, proposal["services"], owner, proposal["owner_selector"], known, result)
    return result


def _record_event(module, kube, pod, reason, note, policy=None):
    """The Event of this change on the pod; a failure to write it is a warning, never a failure."""
    related = event_contract.policy_reference(policy, pod["metadata"]["namespace"]) if policy else None
    event = event_contract.pod_event(pod, reason, note, pod_events.now(), pod_events.host(), related)
    return pod_events.record(kube, event, module.warn)


def _written_then_failed(result, what_landed, exc):
    """A failure after this run's writes landed: changed stays true and the message says so."""
    raise TriageError("%s; then %s failed: %s" % (what_landed, "waiting", exc.msg), dict(exc.details, **result))


def _already_quarantined(module, kube, pod):
    """Same result shape as the run that quarantined the pod, rebuilt from its record; nothing is
    written. With wait, waits for what that run started (a re-run after a wait timed out)."""
    params = module.params
    found = ops.existing_quarantine(kube, pod)
    scope = "traffic_and_owner" if found["released"] else "traffic_only"
    result = report.quarantine_result(pod, report.changes_from_record(pod), found["services"], found["ref"],
                                      found["released"], scope, params.get("context"))
    result["event"] = None  # nothing changed, no Event (unless the policy is re-created below)
    repaired = ops.repair_network_policy(kube, pod, params, module.check_mode)
    if repaired:
        result.update(changed=True, network_policy_repaired=repaired,
                      msg="pod %s is already quarantined (since %s), but its NetworkPolicy %s was missing: %s"
                      % (params["name"], result["quarantined_at"], repaired,
                         "it would be created again" if module.check_mode else "created it again, the pod is isolated"))
        if not module.check_mode:
            note = event_contract.restored_note(caller_identity(kube, params["quarantined_by"]), repaired)
            result["event"] = _record_event(module, kube, pod, event_contract.NETWORK_POLICY_RESTORED, note, repaired)
    else:
        result.update(changed=False, msg="pod %s is already quarantined (since %s); nothing changed"
                      % (params["name"], result["quarantined_at"]))
    if params["network_isolation"] and not result["network_policy"]:
        module.warn("pod %s was quarantined without network_isolation and this run changes nothing: release it "
                    "and quarantine it again to isolate it" % params["name"])
    if params["wait"]:
        _wait(kube, params, pod, found["services"], found["owner"], found["owner_selector"], found["known"], result,
              written=bool(repaired) and not module.check_mode)
    return result


def _wait(kube, params, pod, services, owner, owner_selector, known, result, written=True):
    """Fill endpoints_removed and replacement; a timeout fails, saying what was and was not reached."""
    try:
        _wait_for_both(kube, params, pod, services, owner, owner_selector, known, result, written)
    except TriageError as exc:
        if exc.details.get("error_type") == "wait_timeout":
            raise
        landed = ("pod %s is quarantined (labels and annotations %s%s)"
                  % (params["name"], "written by this run" if written else "already there",
                     ", NetworkPolicy %s" % result["network_policy"] if result.get("network_policy") else ""))
        _written_then_failed(dict(result, changed=written), landed, exc)


def _wait_for_both(kube, params, pod, services, owner, owner_selector, known, result, written):
    timeout = params["wait_timeout"]
    started = datetime.datetime.now()
    status = pod.get("status") or {}
    ips = [status.get("podIP")] + [i.get("ip") for i in status.get("podIPs") or []]
    gone, still = wait_out_of_endpoints(kube, params["namespace"], services, params["name"], ips, timeout)
    result["endpoints_removed"] = {"verified": gone, "services_still_listing": still}
    missing = []
    if not gone:
        missing.append("the pod is still listed in the EndpointSlices of Service(s) %s" % ", ".join(still))
    if owner is not None:
        left = max(1, timeout - int((datetime.datetime.now() - started).total_seconds()))
        node = (pod.get("spec") or {}).get("nodeName") if owner["kind"] == "DaemonSet" else None
        ready, pods = wait_replacement_ready(kube, params["namespace"], owner["metadata"]["uid"], owner_selector,
                                             known, node, left)
        result["replacement"] = {"expected": True, "ready": ready, "pods": pods}
        if not ready and not pods:
            missing.append("%s %s created no replacement at all: is kube-controller-manager running on this "
                           "cluster? (Or its pods are refused - a ResourceQuota, an admission policy - see the events "
                           "of %s %s.)" % (owner["kind"], owner["metadata"]["name"], owner["kind"].lower(),
                                           owner["metadata"]["name"]))
        elif not ready:
            missing.append("no replacement from %s %s is Ready yet (%s)" % (
                owner["kind"], owner["metadata"]["name"],
                ", ".join("%s %s" % (p["name"], p["phase"] or "not started") for p in pods)))
    if missing:
        reached = ["the pod is quarantined (labels and annotations %s)" % ("written" if written else "already there")]
        if gone:
            reached.append("it left the EndpointSlices of every Service it was in (%s)" % (", ".join(services) or "none"))
        if owner is not None and result["replacement"]["ready"]:
            reached.append("a replacement is Ready")
        raise TriageError("timed out after %ss waiting: reached: %s; not reached: %s"
                          % (timeout, "; ".join(reached), "; ".join(missing)),
                          dict(result, changed=written, error_type="wait_timeout"))


def _release(module, kube):
    params = module.params
    changed, pod, patch, policy_deleted = release.apply_release(kube, params, module.check_mode)
    record = quarantine_record(pod)
    result = {
        "changed": changed,
        "pod": ops.pod_summary(pod),
        "labels_changed": {},
        "network_policy": record["network_policy"],
        "network_policy_deleted": policy_deleted,
        "event": None,
    }
    if not changed:
        result["msg"] = "pod %s is not quarantined" % params["name"]
        return result
    labels = pod["metadata"].get("labels") or {}
    result["labels_changed"] = dict((key, {"before": labels.get(key), "after": value})
                                    for key, value in patch["metadata"]["labels"].items())
    result["note"] = report.release_note(record["owner"])
    result["msg"] = _release_message(params["name"], record["network_policy"], policy_deleted, module.check_mode)
    if module.check_mode:
        result["plan"] = patch
    else:
        note = event_contract.released_note(caller_identity(kube, params["quarantined_by"]), params["reason"],
                                            record["network_policy"], policy_deleted)
        result["event"] = _record_event(module, kube, pod, event_contract.RELEASED, note, record["network_policy"])
    if module._diff:
        result["diff"] = report.diff_for(pod, patch)
    return result


def _release_message(name, policy, deleted, check_mode):
    if check_mode:
        return "pod %s would be released (labels restored, quarantine marks removed%s)" % (
            name, ", NetworkPolicy %s deleted" % policy if policy else "")
    if not policy:
        tail = ""
    elif deleted:
        tail = "; NetworkPolicy %s deleted" % policy
    else:
        tail = ("; NetworkPolicy %s was not deleted: it was gone already, or a newer quarantine of this pod "
                "replaced it and keeps it" % policy)
    return "pod %s is released (labels restored, quarantine marks removed)%s" % (name, tail)
