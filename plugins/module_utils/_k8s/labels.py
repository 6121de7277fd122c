# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes label rules: selector matching and key/value validation.

Pure functions over plain dicts. Selectors are accepted both as the python client's
to_dict() output (match_labels, match_expressions) and as raw API JSON (matchLabels,
matchExpressions).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.triage.k8s.plugins.module_utils._k8s.names import DNS_LABEL_MAX, DNS_SUBDOMAIN_MAX, dns_problem

# A label name (the part after any prefix) and a label value are at most as long as a DNS label,
# and the key prefix is a DNS subdomain: the limits are defined once, in names.py.
LABEL_NAME_MAX = DNS_LABEL_MAX
LABEL_VALUE_MAX = DNS_LABEL_MAX
LABEL_KEY_PREFIX_MAX = DNS_SUBDOMAIN_MAX

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
_SELECTOR_FIELDS = ("match_labels", "matchLabels", "match_expressions", "matchExpressions")

_NAME_RE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")


def _field(mapping, snake, camel):
    """Read a field named in snake_case by the python client and in camelCase by raw JSON."""
    value = mapping.get(snake)
    return mapping.get(camel) if value is None else value


def selector_requirements(selector):
    """Flatten a LabelSelector into (key, operator, values) tuples; matchLabels entries become In.

    None (no selector) returns None, which matches nothing; {} returns [], which matches everything.
    Raises ValueError on anything that is not a LabelSelector, so a plain map given by mistake
    is not silently read as the empty selector.
    """
    if selector is None:
        return None
    if not isinstance(selector, dict) or any(field not in _SELECTOR_FIELDS for field in selector):
        raise ValueError(
            "expected a LabelSelector such as {'matchLabels': {'app': 'web'}, 'matchExpressions': [...]}, got %r" % (selector,)
        )
    requirements = []
    for key, value in sorted((_field(selector, "match_labels", "matchLabels") or {}).items()):
        requirements.append((key, "In", (value,)))
    for expression in _field(selector, "match_expressions", "matchExpressions") or ():
        operator = expression.get("operator")
        if operator not in OPERATORS:
            raise ValueError(
                "unsupported matchExpressions operator %r for key %r: use one of %s" % (operator, expression.get("key"), ", ".join(OPERATORS))
            )
        requirements.append((expression.get("key"), operator, tuple(expression.get("values") or ())))
    return requirements


def map_selector_requirements(selector_map):
    """Requirements of an equality map (Service, ReplicationController); None/{} selects nothing."""
    if not selector_map:
        return None
    if not isinstance(selector_map, dict) or not all(isinstance(value, str) for value in selector_map.values()):
        raise ValueError("expected a plain label map such as {'app': 'web'}, got %r" % (selector_map,))
    return [(key, "In", (value,)) for key, value in sorted(selector_map.items())]


def requirement_holds(requirement, labels):
    """One requirement against a label map, with Kubernetes semantics (NotIn holds when the key is absent)."""
    key, operator, values = requirement
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    return not present  # DoesNotExist


def requirements_hold(requirements, labels):
    """All requirements hold; None requirements (no selector) never match."""
    if requirements is None:
        return False
    labels = labels or {}
    return all(requirement_holds(requirement, labels) for requirement in requirements)


def selector_matches(selector, labels):
    """Whether a LabelSelector selects a pod with these labels ({} selects all, None selects none)."""
    return requirements_hold(selector_requirements(selector), labels)


def map_selector_matches(selector_map, labels):
    """Whether a Service/ReplicationController equality selector selects these labels.

    A Service without a selector gets no automatic endpoints, so None/{} selects nothing.
    """
    return requirements_hold(map_selector_requirements(selector_map), labels)


def _name_problem(name):
    """What is wrong with a label name or non-empty value, or None."""
    if not name:
        return "it must not be empty"
    if len(name) > LABEL_NAME_MAX:
        return "it is %d characters long; the limit is %d" % (len(name), LABEL_NAME_MAX)
    if not _NAME_RE.fullmatch(name):
        return "it must start and end with a letter or digit and contain only letters, digits, '-', '_' and '.'"
    return None


def validate_label_key(key):
    """None when key is a valid label key, else an explanation of what to fix."""
    if not isinstance(key, str) or not key:
        return "label key %r is invalid: use a non-empty string such as 'app' or 'example.com/app'" % (key,)
    parts = key.split("/")
    if len(parts) > 2:
        return "label key %r is invalid: it may contain at most one '/', as in 'example.com/app'" % key
    if len(parts) == 2:
        prefix = parts[0]
        if dns_problem(prefix) is not None:  # empty, too long or not a subdomain
            return (
                "label key %r is invalid: the prefix before '/' must be a lowercase DNS subdomain of at most %d characters, "
                "such as 'example.com'" % (key, LABEL_KEY_PREFIX_MAX)
            )
    problem = _name_problem(parts[-1])
    return None if problem is None else "label key %r is invalid: after any 'prefix/' part, %s" % (key, problem)


def validate_label_value(value):
    """None when value is a valid label value (empty is valid), else an explanation of what to fix."""
    if not isinstance(value, str):
        return "label value %r is invalid: label values are strings; quote numbers and booleans, e.g. '1' or 'true'" % (value,)
    if value == "":
        return None
    problem = _name_problem(value)
    return None if problem is None else "label value %r is invalid: %s" % (value, problem)


def selector_string(selector, plain_map=False):
    """A LabelSelector (or, with plain_map, an equality map) as a `labelSelector` query string:
    `app=web,tier in (a,b),track notin (canary),debug,!legacy`. None/empty map: ''."""
    if plain_map:
        requirements = map_selector_requirements(selector) or []
    else:
        requirements = selector_requirements(selector) or []
    parts = []
    for key, operator, values in requirements:
        if operator == "In" and len(values) == 1:
            parts.append("%s=%s" % (key, values[0]))
        elif operator in ("In", "NotIn"):
            parts.append("%s %s (%s)" % (key, operator.lower(), ",".join(values)))
        elif operator == "Exists":
            parts.append(key)
        else:
            parts.append("!" + key)
    return ",".join(parts)
