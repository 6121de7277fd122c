# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resource usage from metrics.k8s.io set against what the pod asked for and may use.

Pure functions: the metrics item (collect_items.collect_metrics) hands them the pod as read at
the start, its PodMetrics, and the node's NodeMetrics and Node. Quantities are parsed the way
the API server writes them ("12m", "1234n", "0.5" for CPU; "34Mi", "12345Ki", "5G", "1e3" for
memory). metrics.k8s.io gives current usage only (a window of about the scrape interval), never
usage at an earlier instant such as an OOM kill: the summary says "now" and nothing more.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from decimal import Decimal, InvalidOperation

_SUFFIXES = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9, "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}
# A number, then either a decimal exponent (e3, E-2) or a suffix; "1E" is an exa, "1E3" an exponent.
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$")
RESOURCES = ("cpu", "memory")
# At or above this share of a limit the summary warns: CPU is throttled at its limit, memory is OOM-killed.
NEAR_LIMIT_PERCENT = 90


def parse_quantity(value):
    """A Kubernetes quantity as a Decimal in base units (cores, bytes); ValueError if it is not one."""
    if isinstance(value, bool):
        raise ValueError("not a quantity: %r" % (value,))
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    text = str(value).strip() if value is not None else ""
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError("not a quantity: %r" % (value,))
    number, exponent, suffix = match.groups()
    try:
        base = Decimal(number)
        if exponent:
            return base * (Decimal(10) ** int(exponent[1:]))
        return base * _SUFFIXES[suffix or ""]
    except (InvalidOperation, OverflowError):
        raise ValueError("not a quantity: %r" % (value,))


def _in_units(resource, amount):
    """(key, number) for the summary: CPU in millicores, memory in bytes."""
    if resource == "cpu":
        return "millicores", float(round(amount * 1000, 3))
    return "bytes", int(amount)


def _percent(part, whole):
    if whole is None or whole <= 0:
        return None
    return float(round(part * 100 / whole, 1))


def _parsed(value):
    """(Decimal or None, error text or None) for an optional quantity."""
    if value is None:
        return None, None
    try:
        return parse_quantity(value), None
    except ValueError as exc:
        return None, str(exc)


def usage_against(resource, usage, request=None, limit=None):
    """One resource of one container: usage, request, limit and the shares, as plain data."""
    entry = {"usage": usage, "request": request, "limit": limit}
    used, error = _parsed(usage)
    if used is None:
        entry["error"] = error or "no usage reported"
        return entry
    key, number = _in_units(resource, used)
    entry[key] = number
    for name, value in (("request", request), ("limit", limit)):
        amount, error = _parsed(value)
        if error:
            entry.setdefault("error", "%s: %s" % (name, error))
        entry["percent_of_%s" % name] = _percent(used, amount)
    return entry


def _near_limit(container, resource, entry):
    share = entry.get("percent_of_limit")
    if share is None or share < NEAR_LIMIT_PERCENT:
        return None
    effect = "throttled" if resource == "cpu" else "OOM-killed"
    return "%s: %s at %s%% of its limit %s (%s at 100%%)" % (container, resource, share, entry["limit"], effect)


def container_usage(pod, pod_metrics):
    """Each container's usage against its requests and limits.

    Returns (containers, warnings): one entry per container of the pod spec (init and ephemeral
    containers are not in metrics.k8s.io) plus any container the metrics name that the spec does
    not; warnings name containers at or above NEAR_LIMIT_PERCENT of a limit.
    """
    spec = dict((c.get("name"), c) for c in ((pod.get("spec") or {}).get("containers") or []))
    measured = dict((c.get("name"), c.get("usage") or {}) for c in ((pod_metrics or {}).get("containers") or []))
    names = list(spec) + sorted(n for n in measured if n not in spec)
    containers, warnings = [], []
    for name in names:
        resources = (spec.get(name) or {}).get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        entry = {"container": name}
        if name not in measured:
            entry["note"] = "metrics.k8s.io reports no usage for this container (not running at the last scrape?)"
        else:
            for resource in RESOURCES:
                entry[resource] = usage_against(resource, measured[name].get(resource),
                                                requests.get(resource), limits.get(resource))
                warning = _near_limit(name, resource, entry[resource])
                if warning:
                    warnings.append(warning)
        if name not in spec:
            entry["note"] = "not a container of the pod as read at the start of the collection"
        containers.append(entry)
    return containers, warnings


def node_usage(node_metrics, node=None):
    """The node's usage against its allocatable capacity (when the Node could be read)."""
    usage = (node_metrics or {}).get("usage") or {}
    allocatable = ((node or {}).get("status") or {}).get("allocatable") or {}
    out = {}
    for resource in RESOURCES:
        entry = {"usage": usage.get(resource), "allocatable": allocatable.get(resource)}
        used, error = _parsed(usage.get(resource))
        if used is None:
            entry["error"] = error or "no usage reported"
        else:
            key, number = _in_units(resource, used)
            entry[key] = number
            amount, error = _parsed(allocatable.get(resource))
            entry["percent_of_allocatable"] = _percent(used, amount)
            if error:
                entry["error"] = "allocatable: %s" % error
        out[resource] = entry
    return out


def summary(pod, pod_metrics, node_metrics=None, node=None):
    """What metrics.yaml records beside the raw objects: when, the window, per container, the node."""
    containers, warnings = container_usage(pod, pod_metrics)
    out = {
        "timestamp": (pod_metrics or {}).get("timestamp"),
        "window": (pod_metrics or {}).get("window"),
        "containers": containers,
        "warnings": warnings,
    }
    if node_metrics is not None:
        out["node"] = node_usage(node_metrics, node)
    return out
