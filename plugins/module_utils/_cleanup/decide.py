# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which quarantined pods quarantine_cleanup may delete, and which NetworkPolicies go with them.

Pure functions over API-shaped dicts (camelCase, as `kubectl get -o json` prints them): no
I/O, no clock. run.py reads the cluster, asks decide() about every pod, and deletes.

A pod is deleted only when all of these hold (docs/cleanup.md):
  - it is quarantined by this collection: the label and the quarantined-at annotation
    (_contract/record.is_quarantined), with a readable quarantined-at time;
  - it is not already terminating, and its namespace is selected and not excluded;
  - every clock that applies to it has run out: its own expires-at annotation (a promise made
    at quarantine time, never brought forward) and the TTL of the first matching rule, else
    older_than, counted from quarantined-at. A pod with none of these is never deleted;
  - with require_evidence, it carries the evidence annotation written by pod_evidence; with
    require_evidence: remote, that annotation names a remote copy, which run_evidence.py then
    verifies in the store before the pod may go (evidence.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import traceback
from datetime import timedelta

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    ANN_EVIDENCE,
    ANN_EXPIRES_AT,
    ANN_QUARANTINED_AT,
    QUARANTINED_LABEL,
)
from ansible_collections.triage.k8s.plugins.module_utils._cleanup import evidence as evidence_rules
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.names import namespace_problem
from ansible_collections.triage.k8s.plugins.module_utils._contract.record import is_quarantined
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339, parse_duration, parse_rfc3339

JMESPATH_IMPORT_ERROR = None
try:
    import jmespath
    HAS_JMESPATH = True
except ImportError:
    HAS_JMESPATH = False
    JMESPATH_IMPORT_ERROR = traceback.format_exc()

MAX_PARALLELISM = 32
# How old one of our NetworkPolicies must be before its live, unquarantined pod makes it an
# orphan: pod_quarantine creates the policy just before it labels the pod.
DEFAULT_ORPHAN_MIN_AGE = "10m"


def _meta(obj):
    return obj.get("metadata") or {}


def format_duration(seconds):
    """'3d4h', '2h', '12m30s', '45s': at most the two largest units, for ages and reasons."""
    seconds = int(abs(seconds))
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    for i, (unit, size) in enumerate(units):
        if seconds >= size:
            text = "%d%s" % (seconds // size, unit)
            if i + 1 < len(units):
                rest = (seconds % size) // units[i + 1][1]
                if rest:
                    text += "%d%s" % (rest, units[i + 1][0])
            return text
    return "0s"


def _truthy(value):
    """JMESPath truthiness: false, null, "", [] and {} are false; everything else is true."""
    if value is None or value is False:
        return False
    return not (isinstance(value, (str, list, dict)) and not value)


# ---------------------------------------------------------------- parameters

def _jmespath_problem(exc):
    """One line from a jmespath compile error (its str() spans lines and echoes the expression)."""
    if type(exc).__name__ == "IncompleteExpressionError":
        message = "it ends too early"
    else:
        message = getattr(exc, "message", None) or getattr(exc, "msg", None) or (str(exc).splitlines() or [""])[0]
    position = getattr(exc, "lex_position", None)
    return "%s (at character %d)" % (message, position + 1) if isinstance(position, int) else message


def compile_rules(rules, problems):
    """[{match, ttl}] -> [{index, match, ttl, ttl_seconds, expression}]; problems get every error."""
    compiled = []
    for index, rule in enumerate(rules or []):
        where = "rules[%d]" % index
        if not isinstance(rule, dict) or set(rule) - set(["match", "ttl"]) or "match" not in rule or "ttl" not in rule:
            problems.append("%s must be a mapping with exactly the keys match and ttl, got %r" % (where, rule))
            continue
        text, expression, seconds = rule["match"], None, None
        if not isinstance(text, str) or not text.strip():
            problems.append("%s.match must be a non-empty JMESPath expression, got %r" % (where, text))
        elif not HAS_JMESPATH:
            problems.append("%s.match needs the jmespath Python library, which is not installed" % where)
        else:
            try:
                expression = jmespath.compile(text)
            except Exception as exc:  # jmespath raises ParseError/LexerError/...; quote it either way
                problems.append("%s.match: invalid JMESPath expression '%s': %s" % (where, text, _jmespath_problem(exc)))
        try:
            seconds = parse_duration(rule["ttl"])
        except ValueError as exc:
            problems.append("%s.ttl: %s" % (where, exc))
        compiled.append({"index": index, "match": text, "ttl": rule["ttl"], "ttl_seconds": seconds,
                         "expression": expression})
    return compiled


def build_config(params):
    """Validate quarantine_cleanup's parameters (before anything is read or deleted).

    Returns the config decide() and run.py use; raises TriageError naming every problem.
    """
    problems = []
    namespaces = list(params.get("namespaces") or [])
    excluded = list(params.get("exclude_namespaces") or [])
    for option, names in (("namespaces", namespaces), ("exclude_namespaces", excluded)):
        for name in names:
            if not isinstance(name, str) or not name.strip():
                problems.append("%s must contain namespace names, got %r" % (option, name))
            elif namespace_problem(name):
                problems.append("%s: %s" % (option, namespace_problem(name)))
    both = sorted(set(namespaces) & set(excluded))
    if both:
        problems.append("namespace(s) %s are both in namespaces and in exclude_namespaces: remove them from one "
                        "(to clean kube-system, set exclude_namespaces: [])" % ", ".join(both))
    older_than = None
    if params.get("older_than") not in (None, ""):
        try:
            older_than = parse_duration(params["older_than"])
        except ValueError as exc:
            problems.append("older_than: %s" % exc)
    rules = compile_rules(params.get("rules"), problems)
    orphan_min_age = params.get("orphan_min_age")
    orphan_min_age = DEFAULT_ORPHAN_MIN_AGE if orphan_min_age in (None, "") else orphan_min_age
    if str(orphan_min_age).strip() in ("0", "0s"):
        orphan_min_age = 0  # no wait: only when no quarantine can be running (tests, maintenance windows)
    else:
        try:
            orphan_min_age = parse_duration(orphan_min_age)
        except ValueError as exc:
            problems.append("orphan_min_age: %s" % exc)
    max_deletions = params.get("max_deletions")
    if not isinstance(max_deletions, int) or isinstance(max_deletions, bool) or max_deletions < 0:
        problems.append("max_deletions must be 0 or more (the most pods one run may delete), got %r" % (max_deletions,))
    grace = params.get("grace_period")
    if grace is not None and (not isinstance(grace, int) or grace < 0):
        problems.append("grace_period must be 0 or more seconds (or unset for each pod's own), got %r" % (grace,))
    parallelism = params.get("parallelism", 5)
    if not isinstance(parallelism, int) or not 1 <= parallelism <= MAX_PARALLELISM:
        problems.append("parallelism must be between 1 and %d, got %r" % (MAX_PARALLELISM, parallelism))
    require_evidence, problem = evidence_rules.evidence_mode(params.get("require_evidence", True))
    if problem:
        problems.append(problem)
    elif require_evidence == evidence_rules.REMOTE and not (params.get("storage") or {}).get("bucket"):
        problems.append("require_evidence: remote needs storage.bucket, the bucket whose copies this cleanup trusts")
    if problems:
        raise TriageError("invalid parameters, nothing was deleted: " + "; ".join(problems),
                          {"error_type": "invalid_parameters"})
    return {
        "namespaces": sorted(set(namespaces)) or None,
        "exclude_namespaces": frozenset(excluded),
        "older_than": older_than,
        "rules": rules,
        "orphan_min_age": orphan_min_age,
        "require_evidence": require_evidence,
        "storage": dict(params.get("storage") or {}),
        "max_deletions": max_deletions,
        "grace_period": grace,
        "parallelism": parallelism,
    }


# ---------------------------------------------------------------- the decision

def namespace_refusal(namespace, config):
    if config["namespaces"] is not None and namespace not in config["namespaces"]:
        return "namespace %s is not in namespaces" % namespace
    if namespace in config["exclude_namespaces"]:
        return "namespace %s is excluded (exclude_namespaces)" % namespace
    return None


def evidence_of(pod):
    """The decoded evidence annotation, {} when it is absent, None when it is unreadable."""
    text = (_meta(pod).get("annotations") or {}).get(ANN_EVIDENCE)
    if text is None:
        return {}
    try:
        record = json.loads(text)
    except (TypeError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("bundle"), str) or not record["bundle"]:
        return None
    return record


def matching_rule(pod, rules):
    """(rule, None) for the first rule whose expression is truthy on the pod, (None, None) when
    none is, or (None, problem) when a rule cannot be evaluated (the pod is then kept)."""
    for rule in rules:
        try:
            value = rule["expression"].search(pod)
        except Exception as exc:  # a type error inside the expression, for this pod
            return None, "rules[%d] (match: %s) could not be evaluated on this pod: %s" % (rule["index"], rule["match"], exc)
        if _truthy(value):
            return rule, None
    return None, None


def _keep(why, **extra):
    return dict(extra, delete=False, why=why)


def decide(pod, now, config):
    """Whether cleanup deletes this pod at time `now` (an aware UTC datetime), and why.

    Returns {delete: bool, why: str, expires_at: datetime or None, rule: index or None}.
    Total: never raises, whatever the pod holds.
    """
    meta = _meta(pod)
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    if not isinstance(labels, dict) or not isinstance(annotations, dict):
        return _keep("metadata is malformed")
    if not is_quarantined(pod):
        if QUARANTINED_LABEL in labels:
            return _keep("look-alike: it has the %s label but not the %s annotation, so triage.k8s did not "
                         "quarantine it" % (QUARANTINED_LABEL, ANN_QUARANTINED_AT))
        return _keep("not quarantined (no %s=true label: released, or never quarantined)" % QUARANTINED_LABEL)
    try:
        quarantined_at = parse_rfc3339(annotations[ANN_QUARANTINED_AT])
    except ValueError:
        return _keep("its %s annotation is not a readable time (%r)" % (ANN_QUARANTINED_AT, annotations[ANN_QUARANTINED_AT]))
    if meta.get("deletionTimestamp"):
        return _keep("already being deleted (since %s)" % meta["deletionTimestamp"])
    refusal = namespace_refusal(meta.get("namespace"), config)
    if refusal:
        return _keep(refusal)
    return _expiry_decision(pod, annotations, quarantined_at, now, config)


def _expiry_decision(pod, annotations, quarantined_at, now, config):
    clocks = []  # (moment, description)
    if ANN_EXPIRES_AT in annotations:
        try:
            expires = parse_rfc3339(annotations[ANN_EXPIRES_AT])
        except ValueError:
            return _keep("its %s annotation is not a readable time (%r)" % (ANN_EXPIRES_AT, annotations[ANN_EXPIRES_AT]))
        clocks.append((expires, ANN_EXPIRES_AT))
    rule, problem = matching_rule(pod, config["rules"])
    if problem:
        return _keep(problem)
    if rule is not None:
        ttl, source = rule["ttl_seconds"], "rules[%d] (match: %s) ttl %s" % (rule["index"], rule["match"], rule["ttl"])
    else:
        ttl, source = config["older_than"], "older_than %s" % format_duration(config["older_than"] or 0)
    try:
        if ttl is not None:
            clocks.append((quarantined_at + timedelta(seconds=ttl), source))
    except OverflowError:
        return _keep("%s from %s is beyond the representable future" % (source, annotations[ANN_QUARANTINED_AT]))
    index = rule["index"] if rule is not None else None
    if not clocks:
        return _keep("no expiry: quarantined without a ttl, and neither older_than nor a rule applies", rule=index)
    expiry, what = max(clocks, key=lambda clock: clock[0])
    if now < expiry:
        return _keep("not expired: %s runs until %s (in %s)" % (what, format_rfc3339(expiry),
                                                                format_duration((expiry - now).total_seconds())),
                     expires_at=format_rfc3339(expiry), rule=index)
    why = "expired %s ago (%s)" % (format_duration((now - expiry).total_seconds()),
                                   "; ".join("%s until %s" % (name, format_rfc3339(moment)) for moment, name in clocks))
    if config["require_evidence"]:
        evidence = evidence_of(pod)
        if evidence is None:
            return _keep("%s, but its %s annotation is unreadable: kept (require_evidence)" % (why, ANN_EVIDENCE),
                         expires_at=format_rfc3339(expiry), rule=index)
        if not evidence:
            return _keep("%s, but no evidence was collected (no %s annotation): kept; collect it with "
                         "triage.k8s.pod_evidence, or set require_evidence: false" % (why, ANN_EVIDENCE),
                         expires_at=format_rfc3339(expiry), rule=index)
        if config["require_evidence"] == evidence_rules.REMOTE:
            check, problem = evidence_rules.remote_requirement(evidence, config.get("storage"))
            if problem:
                return _keep("%s, but %s" % (why, problem), expires_at=format_rfc3339(expiry), rule=index)
            # Deleted only once run_evidence.py has verified the remote copy (evidence.after_check).
            return {"delete": True, "why": why, "expires_at": format_rfc3339(expiry), "rule": index,
                    "verify_remote": check}
    return {"delete": True, "why": why, "expires_at": format_rfc3339(expiry), "rule": index}


def deletion_limit_error(count, max_deletions, entries, policies=0, orphans=0):
    """The fail-safe: a TriageError when `count` pods plus `orphans` orphaned NetworkPolicies (which
    go on their own, not with a pod) exceed max_deletions, else None. `policies` counts every
    NetworkPolicy that would go, for the message."""
    if count + orphans <= max_deletions:
        return None
    per_namespace = {}
    for entry in entries:
        per_namespace[entry["namespace"]] = per_namespace.get(entry["namespace"], 0) + 1
    spread = ", ".join("%s (%d)" % item for item in sorted(per_namespace.items()))
    orphaned = " and %d orphaned NetworkPolicies" % orphans if orphans else ""
    return TriageError(
        "max_deletions is %d but %d pods%s would be deleted (%s)%s; nothing was deleted. If that many expired "
        "quarantines are expected, raise max_deletions; otherwise find out why so many expired at once"
        % (max_deletions, count, orphaned, spread or "no pods",
           " and %d NetworkPolicies" % policies if policies else ""),
        {"error_type": "max_deletions", "would_delete_count": count + orphans, "would_delete": entries,
         "changed": False})
