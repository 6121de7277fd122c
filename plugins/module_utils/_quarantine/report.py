# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The result pod_quarantine returns, the same shape whether it changed anything or not, and
the ready-to-paste commands an operator needs next. Pure functions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._contract.commands import debug_command, release_command, shell_word
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import apply_merge_patch, quarantine_record
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.owner import WHAT_OWNER_DOES


def operator_commands(pod, context=None):
    """kubectl lines for investigating and releasing the quarantined pod, safe to paste into a shell."""
    meta = pod.get("metadata") or {}
    name, namespace = meta.get("name"), meta.get("namespace")
    base = "kubectl%s -n %s" % (" --context %s" % shell_word(context) if context else "", shell_word(namespace))
    containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    first = containers[0] if containers else None
    container = " -c %s" % first if first else ""
    return {
        "logs": "%s logs %s%s" % (base, name, container),
        "logs_previous": "%s logs %s%s --previous" % (base, name, container),
        "exec": "%s exec -it %s%s -- sh" % (base, name, container),
        # For images without a shell (exec above fails there): an ephemeral container sharing its processes.
        "debug": debug_command(namespace, name, first, context=context),
        "port_forward": "%s port-forward pod/%s 8080:8080" % (base, name),
        "describe": "%s describe pod %s" % (base, name),
        "release": release_command(namespace, name, context),
    }


def labels_changed(changes):
    return dict((key, {"before": c.get("before"), "after": c.get("after")}) for key, c in (changes or {}).items())


def changes_from_record(pod):
    """The label changes of an existing quarantine, rebuilt from original-labels."""
    record = quarantine_record(pod)
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return dict((key, {"before": before, "after": labels.get(key)})
                for key, before in (record.get("original_labels") or {}).items())


def diff_for(pod, patch):
    """Ansible diff of labels and annotations, before and after the patch."""
    meta = pod.get("metadata") or {}
    before = {"labels": dict(meta.get("labels") or {}), "annotations": dict(meta.get("annotations") or {})}
    return {"before": before, "after": apply_merge_patch(meta, patch["metadata"])}


def owner_outcome(ref, releases_owner, scope):
    if not ref:
        return {"kind": None, "name": None, "released": False,
                "note": "bare pod: nothing replaces it; only its Services stop sending it traffic"}
    if releases_owner:
        note = WHAT_OWNER_DOES.get(ref.get("kind"), "the owner releases the pod")
    else:
        note = "scope %s: the pod stays managed by its %s and still counts as one of its pods" % (scope, ref.get("kind"))
    return {"kind": ref.get("kind"), "name": ref.get("name"), "uid": ref.get("uid"), "released": bool(releases_owner),
            "note": note}


def quarantine_result(pod, changes, services, ref, releases_owner, scope, context=None, policy_name=None,
                      record=None):
    record = record or quarantine_record(pod)
    status = pod.get("status") or {}
    meta = pod.get("metadata") or {}
    return {
        "pod": {"name": meta.get("name"), "namespace": meta.get("namespace"), "uid": meta.get("uid"),
                "ip": status.get("podIP"), "node": (pod.get("spec") or {}).get("nodeName"),
                "phase": status.get("phase")},
        "labels_changed": labels_changed(changes),
        "services": list(services or []),
        "endpoints_removed": {"verified": False, "services_still_listing": []},
        "owner": owner_outcome(ref, releases_owner, scope),
        "replacement": {"expected": bool(releases_owner), "ready": None, "pods": []},
        "network_policy": policy_name if policy_name is not None else record.get("network_policy"),
        "quarantined_at": record.get("quarantined_at"),
        "quarantined_by": record.get("quarantined_by"),
        "reason": record.get("reason"),
        "expires_at": record.get("expires_at"),
        "commands": operator_commands(pod, context),
    }


def _owner_part(result, check_mode):
    owner = result["owner"]
    if not owner["released"]:
        return "%s by %s %s" % ("would stay managed" if check_mode else "still managed", owner["kind"], owner["name"])
    part = "%s by %s %s" % ("would be released" if check_mode else "released", owner["kind"], owner["name"])
    if owner["kind"] == "DaemonSet":
        # A DaemonSet replaces the pod on its own node, which then runs both while the pod is quarantined.
        node = result["pod"].get("node")
        part += ", which %s its replacement on the same node%s" % (
            "would start" if check_mode else "starts", " (%s)" % node if node else "")
    return part


def quarantine_summary(result, check_mode=False):
    """One line for humans: what the quarantine did, or in check mode what it would do."""
    services = ", ".join(result["services"])
    if check_mode:
        parts = ["would leave Service(s) %s" % services if services else "in no Service"]
    else:
        parts = ["out of Service(s) %s" % services if services else "in no Service"]
    if result["owner"]["kind"]:
        parts.append(_owner_part(result, check_mode))
    if result["network_policy"]:
        parts.append("%s by NetworkPolicy %s" % ("would be isolated" if check_mode else "isolated",
                                                 result["network_policy"]))
    return "pod %s %s: %s" % (result["pod"]["name"], "would be quarantined (check mode)" if check_mode else "quarantined",
                              "; ".join(parts))


def release_note(ref):
    """What a release does to traffic and ownership; worded so it holds in check mode too (the
    summary line before it says whether the release happened)."""
    if not ref:
        return "Release puts the pod's labels back: its Services select it again."
    return ("Release puts the pod's labels back, so its Services select it again and %s %s may adopt it again; "
            "a controller that then has one pod too many deletes a surplus one, which may be this pod or another."
            % (ref.get("kind"), ref.get("name")))
