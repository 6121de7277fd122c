# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes Events the collection records on a pod for every change it makes (docs/contract.md,
"Events"): events.k8s.io/v1 Events with reportingController triage.k8s, one reason per change.

Pure: the manifest is built from the pod, the reason, the note and the time given; _k8s/events.py
writes it. The API server's limits (pkg/apis/core/validation/events.go) are kept here: reason,
action and reportingInstance at most 128 characters, the note at most 1 KiB (bytes, as the API
server counts them), eventTime set (a MicroTime), reportingController a qualified name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import MANAGED_BY_LABEL, MANAGED_BY_VALUE
from ansible_collections.triage.k8s.plugins.module_utils._k8s.names import DNS_SUBDOMAIN_MAX

API_VERSION = "events.k8s.io/v1"
REPORTING_CONTROLLER = MANAGED_BY_VALUE  # "triage.k8s"

# The reasons (why the action was taken) and the action each goes with (what was done).
QUARANTINED = "Quarantined"
RELEASED = "Released"
EVIDENCE_COLLECTED = "EvidenceCollected"
QUARANTINE_EXPIRED = "QuarantineExpired"
NETWORK_POLICY_RESTORED = "NetworkPolicyRestored"
ACTIONS = {
    QUARANTINED: "Quarantine",
    RELEASED: "Release",
    EVIDENCE_COLLECTED: "CollectEvidence",
    QUARANTINE_EXPIRED: "Delete",
    NETWORK_POLICY_RESTORED: "Isolate",
}

NOTE_MAX = 1024  # bytes
INSTANCE_MAX = 128
HASH_CHARS = 16


def _cut(text, limit):
    """The longest prefix of text that is at most `limit` bytes in UTF-8, never half a character."""
    return text.encode("utf-8")[:max(0, limit)].decode("utf-8", "ignore")


def truncate_note(text, limit=NOTE_MAX):
    """text when it fits in `limit` bytes, else its start and a marker saying how long it was."""
    text = text or ""
    size = len(text.encode("utf-8"))
    if size <= limit:
        return text
    marker = " [truncated: %d bytes in all]" % size
    return _cut(text, limit - len(marker.encode("utf-8"))).rstrip() + marker


def reporting_instance(host):
    """triage.k8s-<host> (the machine that ran the module), at most 128 characters."""
    host = (host or "").strip()
    return _cut("%s-%s" % (REPORTING_CONTROLLER, host) if host else REPORTING_CONTROLLER, INSTANCE_MAX)


def micro_time(now):
    """A MicroTime: RFC 3339 UTC with six fraction digits, e.g. 2026-11-22T03:04:05.123456Z."""
    if now.tzinfo is None:
        raise ValueError("event time must be timezone-aware")
    return now.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_name(obj_name, uid, reason, event_time):
    """<object name>.<16 hex>: unique per object, reason and microsecond, and the same when the same
    create is sent again (so a retried create meets AlreadyExists instead of writing a second Event).
    Long names are shortened so the whole stays a DNS subdomain of at most 253 characters."""
    digest = hashlib.sha256(("%s\n%s\n%s" % (uid or obj_name, reason, event_time)).encode("utf-8")).hexdigest()
    base = (obj_name or "")[:DNS_SUBDOMAIN_MAX - HASH_CHARS - 1].rstrip("-.")
    return "%s.%s" % (base, digest[:HASH_CHARS]) if base else digest[:HASH_CHARS]


def reference(obj, api_version="v1", kind="Pod"):
    """An ObjectReference to obj (apiVersion, kind, name, namespace, uid, resourceVersion). Objects
    from a LIST carry no apiVersion and kind of their own: the defaults say what they are."""
    meta = obj.get("metadata") or {}
    ref = {"apiVersion": obj.get("apiVersion") or api_version, "kind": obj.get("kind") or kind}
    for key in ("name", "namespace", "uid", "resourceVersion"):
        if meta.get(key):
            ref[key] = meta[key]
    return ref


def pod_event(pod, reason, note, now, host, related=None):
    """The events.k8s.io/v1 Event for one change (`reason`, one of ACTIONS) made to `pod` at `now`
    (an aware datetime) from `host`. related: an ObjectReference (the NetworkPolicy) or None."""
    if reason not in ACTIONS:
        raise ValueError("unknown event reason %r" % (reason,))
    regarding = reference(pod)
    event_time = micro_time(now)
    event = {
        "apiVersion": API_VERSION,
        "kind": "Event",
        "metadata": {
            "name": event_name(regarding.get("name"), regarding.get("uid"), reason, event_time),
            "namespace": regarding.get("namespace"),
            "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE},
        },
        "eventTime": event_time,
        "reportingController": REPORTING_CONTROLLER,
        "reportingInstance": reporting_instance(host),
        "action": ACTIONS[reason],
        "reason": reason,
        "note": truncate_note(note),
        "type": "Normal",
        "regarding": regarding,
    }
    if related:
        event["related"] = related
    return event


def policy_reference(name, namespace):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "name": name, "namespace": namespace}


# ---------------------------------------------------------------- the notes: what was done, by whom, why

def _by(who):
    return who or "an unknown identity"


def _why(reason):
    return ('; reason: "%s"' % reason) if reason else "; no reason given"


def quarantined_note(who, reason, expires_at=None, services=None, owner=None, owner_released=False, policy=None):
    """Quarantined by WHO: out of Service(s) ...; released by ReplicaSet ...; isolated by ...; expires ...; reason."""
    parts = ["out of Service(s) %s" % ", ".join(services) if services else "in no Service"]
    if owner:
        parts.append("%s by %s %s" % ("released" if owner_released else "still owned", owner.get("kind"),
                                      owner.get("name")))
    if policy:
        parts.append("isolated by NetworkPolicy %s" % policy)
    parts.append("expires %s" % expires_at if expires_at else "no expiry")
    return "Quarantined by %s: %s%s" % (_by(who), "; ".join(parts), _why(reason))


def released_note(who, reason=None, policy=None, policy_deleted=False):
    text = "Released by %s: labels restored, quarantine marks removed" % _by(who)
    if policy:
        text += "; NetworkPolicy %s %s" % (policy, "deleted" if policy_deleted else "not deleted (gone already, or "
                                           "kept by a newer quarantine)")
    return text + (('; reason: "%s"' % reason) if reason else "")


def evidence_note(who, bundle, manifest_sha256=None, failed=(), annotated=False, remote_url=None):
    text = "Evidence collected by %s: bundle %s" % (_by(who), bundle)
    if manifest_sha256:
        text += " (manifest.json sha256 %s)" % manifest_sha256
    text += "; %s" % ("failed items: %s" % ", ".join(failed) if failed else "every item collected")
    if remote_url:
        text += "; stored and verified at %s" % remote_url
    if annotated:
        text += "; recorded in the triage.k8s/evidence annotation"
    return text


def expired_note(who, why, quarantined_at=None, quarantined_by=None, reason=None, evidence=None, policy=None):
    text = "Deleted by %s (quarantine_cleanup): the quarantine %s" % (_by(who), why)
    if quarantined_at:
        text += "; quarantined at %s by %s%s" % (quarantined_at, _by(quarantined_by), _why(reason))
    if evidence:
        text += "; evidence bundle %s" % evidence
    if policy:
        text += "; its NetworkPolicy %s goes with it" % policy
    return text


def restored_note(who, policy):
    return ("NetworkPolicy %s, recorded on the quarantined pod, was missing: created again by %s; the pod is "
            "isolated again" % (policy, _by(who)))
