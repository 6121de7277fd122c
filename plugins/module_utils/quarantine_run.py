# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pod_quarantine's body: validate the parameters before any API call, quarantine or release,
wait with watches, and report. The module file holds only documentation and the spec."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.triage.k8s.plugins.module_utils.client import build_api_client, describe_target
from ansible_collections.triage.k8s.plugins.module_utils.contract import ANN_QUARANTINED_AT
from ansible_collections.triage.k8s.plugins.module_utils.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils.kube import Kube
from ansible_collections.triage.k8s.plugins.module_utils.labels import validate_label_key, validate_label_value
from ansible_collections.triage.k8s.plugins.module_utils import quarantine_ops as ops
from ansible_collections.triage.k8s.plugins.module_utils import quarantine_report as report
from ansible_collections.triage.k8s.plugins.module_utils.quarantine_state import quarantine_record
from ansible_collections.triage.k8s.plugins.module_utils.quarantine_wait import (
    wait_out_of_endpoints,
    wait_replacement_ready,
)
from ansible_collections.triage.k8s.plugins.module_utils.timeutil import format_rfc3339, parse_duration


def validate_params(params):
    """Every input problem, found before anything is read or written."""
    problems = []
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
    if params["network_allow"] and not params["network_isolation"]:
        problems.append("network_allow only applies with network_isolation: true")
    if problems:
        raise TriageError("invalid parameters: " + "; ".join(problems))
    if params["labels"]:
        params["labels"] = dict((k, None if v is None else str(v)) for k, v in params["labels"].items())


def run_quarantine(module):
    params = module.params
    validate_params(params)
    target = describe_target(params)
    kube = Kube(build_api_client(params), target)
    if params["state"] == "released":
        return _release(module, kube)
    return _quarantine(module, kube)


def _quarantine(module, kube):
    params = module.params
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    expires_at = format_rfc3339(now + datetime.timedelta(seconds=parse_duration(params["ttl"]))) if params["ttl"] else None
    identity = ops.caller_identity(kube, params["quarantined_by"])
    changed, proposal, written = ops.apply_quarantine(kube, params, module.check_mode, format_rfc3339(now),
                                                      expires_at, identity)
    pod = proposal["pod"]
    if not changed:  # already quarantined: same result shape, nothing written
        record = quarantine_record(pod)
        ref = record["owner"]
        labels = dict(pod["metadata"].get("labels") or {})
        original = dict(labels)
        for key, before in (record["original_labels"] or {}).items():
            if before is None:
                original.pop(key, None)
            else:
                original[key] = before
        services = ops.services_selecting(kube, params["namespace"], original)
        result = report.quarantine_result(pod, report.changes_from_record(pod), services, ref, bool(ref) and
                                          params["scope"] == "traffic_and_owner", params["scope"], params.get("context"))
        result.update(changed=False, msg="pod %s is already quarantined" % params["name"])
        return result

    result = report.quarantine_result(written or pod, proposal["plan"]["changes"], proposal["services"], proposal["ref"],
                                      proposal["releases_owner"], params["scope"], params.get("context"),
                                      policy_name=proposal["policy_name"])
    if written is None:  # check mode: the plan, nothing written
        result.update(quarantined_at=proposal["patch"]["metadata"]["annotations"].get(ANN_QUARANTINED_AT),
                      quarantined_by=identity, reason=params["reason"], expires_at=expires_at,
                      plan=proposal["patch"])
    result["changed"] = True
    if module._diff:
        result["diff"] = report.diff_for(pod, proposal["patch"])
    if params["wait"] and written is not None:
        _wait(kube, params, proposal, result)
    return result


def _wait(kube, params, proposal, result):
    """Fill endpoints_removed and replacement; a timeout fails, saying what was and was not reached."""
    pod = proposal["pod"]
    deadline_total = params["wait_timeout"]
    started = datetime.datetime.now()
    ips = [pod.get("status", {}).get("podIP")] + [i.get("ip") for i in pod.get("status", {}).get("podIPs") or []]
    gone, still = wait_out_of_endpoints(kube, params["namespace"], proposal["services"], params["name"], ips,
                                        deadline_total)
    result["endpoints_removed"] = {"verified": gone, "services_still_listing": still}
    missing = []
    if not gone:
        missing.append("the pod is still listed in the EndpointSlices of %s" % ", ".join(still))
    if proposal["releases_owner"]:
        left = max(1, deadline_total - int((datetime.datetime.now() - started).total_seconds()))
        owner = proposal["owner"]
        node = pod.get("spec", {}).get("nodeName") if owner["kind"] == "DaemonSet" else None
        known = set(p["metadata"]["uid"] for p in proposal["owner_pods"]) | set([pod["metadata"]["uid"]])
        ready, pods = wait_replacement_ready(kube, params["namespace"], owner["metadata"]["uid"],
                                             proposal["owner_selector"], known, node, left)
        result["replacement"] = {"expected": True, "ready": ready, "pods": pods}
        if not ready:
            missing.append("no replacement from %s %s is Ready yet (%s)" % (
                owner["kind"], owner["metadata"]["name"],
                ", ".join("%s %s" % (p["name"], p["phase"]) for p in pods) or "none started"))
    if missing:
        reached = ["the pod is quarantined (labels and annotations written)"]
        if gone:
            reached.append("it left every EndpointSlice")
        raise TriageError("timed out after %ss: %s; but %s" % (deadline_total, "; ".join(reached), "; ".join(missing)),
                          dict(result, changed=True))


def _release(module, kube):
    params = module.params
    changed, pod, patch, policy_deleted = ops.apply_release(kube, params, module.check_mode)
    record = quarantine_record(pod)
    result = {
        "changed": changed,
        "pod": ops.pod_summary(pod),
        "labels_changed": {},
        "network_policy": record["network_policy"],
        "network_policy_deleted": policy_deleted,
    }
    if not changed:
        result["msg"] = "pod %s is not quarantined" % params["name"]
        return result
    labels = pod["metadata"].get("labels") or {}
    result["labels_changed"] = dict((key, {"before": labels.get(key), "after": value})
                                    for key, value in patch["metadata"]["labels"].items())
    result["note"] = report.release_note(record["owner"])
    if module.check_mode:
        result["plan"] = patch
    if module._diff:
        result["diff"] = report.diff_for(pod, patch)
    return result
