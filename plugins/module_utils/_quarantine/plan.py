# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which labels to change so a pod leaves its Services (and, by scope, its owner), and how to undo it.

Quarantine relabels the pod the way an operator would with `kubectl label --overwrite`: once
no Service selector matches, EndpointSlices drop the pod; once the owning controller's selector
stops matching, the controller releases the pod and starts a replacement. Pure functions over
plain dicts; the caller reads the cluster and applies the result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import itertools

from ansible_collections.triage.k8s.plugins.module_utils._contract.keys import (
    PREFIX,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import (
    map_selector_matches, map_selector_requirements, requirement_holds, requirements_hold, selector_requirements,
    validate_label_key, validate_label_value,
)
from ansible_collections.triage.k8s.plugins.module_utils._quarantine.values import (
    DEFAULT_QUARANTINE_PREFIX, quarantine_value, validate_quarantine_prefix,
)

SCOPE_TRAFFIC_AND_OWNER = "traffic_and_owner"
SCOPE_TRAFFIC_ONLY = "traffic_only"
SCOPES = (SCOPE_TRAFFIC_AND_OWNER, SCOPE_TRAFFIC_ONLY)

# Keys that name the application. Monitoring (PodMonitors), dashboards and log queries usually
# select on these, so among equally good keys the planner rewrites another one: the quarantined
# pod stays visible where people look for it (e.g. `release: stable`, not `app: web`).
IDENTITY_KEYS = frozenset(("app", "name", "k8s-app", "app.kubernetes.io/name", "app.kubernetes.io/instance"))

# Cost of one label change, lowest preferred: rewriting keeps the original visible in the value.
_COST_REWRITE, _COST_ADD_OR_SET, _COST_REMOVE = 0, 1, 2
# Key combinations the exact search may try before it settles for greedy set cover.
_SEARCH_BUDGET = 20000
_OVER_BUDGET = object()


# How one label key can change: the Services that breaks (covers), its cheapest option (default),
# and the cheapest option under which an owner requirement on the key fails (breaking). An option
# is (new value or None to remove, cost, whether an owner requirement fails).
_KeyChoice = collections.namedtuple("_KeyChoice", "key covers default breaking rank")


def _owner_name(owner):
    return "%s/%s" % (owner.get("kind") or "owner", owner.get("name") or "?")


def _owner_requirements(owner):
    if not isinstance(owner, dict):
        raise ValueError("the owner must be a mapping with 'kind', 'name' and 'selector', got %r" % (owner,))
    if owner.get("kind") == "ReplicationController":
        return map_selector_requirements(owner.get("selector"))
    return selector_requirements(owner.get("selector"))


def _service_selectors(services):
    result = []
    for service in services or ():
        if not isinstance(service, dict) or not isinstance(service.get("name"), str):
            raise ValueError("each Service must be a mapping with a 'name' and a 'selector', got %r" % (service,))
        selector = service.get("selector") or {}
        map_selector_requirements(selector)  # raises on anything but a plain map
        result.append((service["name"], selector))
    return result


def _describe(name, selector):
    return "%s (%s)" % (name, ",".join("%s=%s" % item for item in sorted(selector.items())))


def _options(key, labels, key_requirements, prefix):
    """(value or None, cost) ways to change key, most preferred first."""
    options = []
    if key in labels:
        options.append((quarantine_value(labels[key], prefix), _COST_REWRITE))
    else:
        options.append((quarantine_value(None, prefix), _COST_ADD_OR_SET))  # breaks DoesNotExist
    for _key, operator, values in key_requirements:
        if operator == "NotIn" and values and values[0] != labels.get(key):
            options.append((values[0], _COST_ADD_OR_SET))  # the only way to break NotIn
    if key in labels:
        options.append((None, _COST_REMOVE))  # the only way to break Exists
    return sorted(options, key=lambda option: option[1])


def _key_choice(key, labels, services, selecting, owner_requirements, owner_before, scope, prefix):
    """(_KeyChoice or None, set of reasons options were refused) for one label key."""
    key_requirements = [requirement for requirement in owner_requirements or () if requirement[0] == key]
    allowed, refused = [], set()
    for value, cost in _options(key, labels, key_requirements, prefix):
        # Never write a value some Service selects on for this key: that could pull the pod into it.
        if value is not None and (validate_label_value(value) or any(selector.get(key) == value for _name, selector in services)):
            refused.add("taken")
            continue
        changed = {} if value is None else {key: value}
        fails = not all(requirement_holds(requirement, changed) for requirement in key_requirements)
        if fails and owner_before and scope == SCOPE_TRAFFIC_ONLY:
            refused.add("releases")
            continue
        allowed.append((value, cost, fails))
    covers = frozenset(name for name, selector in selecting if key in selector)
    breaking = next((option for option in allowed if option[2]), None)
    if not allowed or (not covers and breaking is None):
        return None, refused
    owner_keys = set(requirement[0] for requirement in owner_requirements or ())
    shared_by = len(covers) + (1 if breaking and owner_before and scope == SCOPE_TRAFFIC_AND_OWNER else 0)
    rank = (-shared_by, int(scope == SCOPE_TRAFFIC_ONLY and key in owner_keys), int(key in IDENTITY_KEYS), key)
    return _KeyChoice(key, covers, allowed[0], breaking, rank), refused


def _settle_owner(picks, combo, owner_off):
    """Keep at least one owner requirement failing: one already fails on an untouched key or
    under a picked option, or the cheapest failing option is swapped in; None when impossible.

    owner_off is None when the owner does not matter, else the keys whose requirements fail now.
    """
    if owner_off is None or any(option[2] for option in picks.values()) or not owner_off <= set(picks):
        return picks
    swaps = [choice for choice in combo if choice.breaking]
    if not swaps:
        return None
    swap = min(swaps, key=lambda choice: (choice.breaking[1] - choice.default[1], choice.rank))
    return dict(picks, **{swap.key: swap.breaking})


def _assign(combo, selecting_names, owner_off):
    """Options for a set of keys that breaks every selecting Service (and keeps the owner off), or None."""
    if frozenset().union(*(choice.covers for choice in combo)) != selecting_names:
        return None
    return _settle_owner(dict((choice.key, choice.default) for choice in combo), combo, owner_off)


def _exact_cover(choices, selecting_names, owner_off):
    """Fewest keys, then lowest cost, then best-ranked keys; None when impossible, _OVER_BUDGET when too big."""
    classes = {}
    for choice in sorted(choices, key=lambda choice: choice.rank):
        # Keys with the same effect are interchangeable; searching only the best-ranked one is enough.
        signature = (choice.covers, choice.default[1:], choice.breaking[1:] if choice.breaking else None,
                     owner_off is not None and choice.key in owner_off)
        classes.setdefault(signature, choice)
    candidates = sorted(classes.values(), key=lambda choice: choice.rank)
    budget = _SEARCH_BUDGET
    for size in range(1, len(candidates) + 1):
        best = None
        for combo in itertools.combinations(candidates, size):
            budget -= 1
            if budget < 0:
                return _OVER_BUDGET
            picks = _assign(combo, selecting_names, owner_off)
            if picks is not None:
                score = (sum(option[1] for option in picks.values()), sorted(choice.rank for choice in combo))
                if best is None or score < best[0]:
                    best = (score, picks)
        if best is not None:
            return best[1]
    return None


def _greedy_cover(choices, selecting_names, owner_off):
    """Classic greedy set cover: the change that breaks the most remaining selectors first."""
    picks, uncovered, owner_left = {}, set(selecting_names), owner_off is not None and not owner_off
    while uncovered or owner_left:
        best = None
        for choice in choices:
            if choice.key in picks:
                continue
            # While the owner still matches, a key that can break it does (that is the owner's only way out).
            option = choice.breaking if owner_left and choice.breaking else choice.default
            gain = len(choice.covers & uncovered) + int(owner_left and option[2])
            # Leaving a key on which the owner already fails untouched keeps that owner off for free.
            order = (-gain, int(bool(owner_off) and choice.key in owner_off), option[1], choice.rank)
            if gain and (best is None or order < best[0]):
                best = (order, choice, option)
        choice, option = best[1], best[2]
        picks[choice.key] = option
        uncovered -= choice.covers
        owner_left = owner_left and not option[2]
    settled = _settle_owner(picks, [choice for choice in choices if choice.key in picks], owner_off)
    extras = [choice for choice in choices if choice.key not in picks and choice.breaking]
    if settled is None and extras:  # the picked keys cannot keep the owner off: one more change can
        extra = min(extras, key=lambda choice: (choice.breaking[1], choice.rank))
        settled = dict(picks, **{extra.key: extra.breaking})
    return settled


def _unbreakable_error(stuck, owner_stuck, selecting, owner, owner_requirements, refused):
    owner_keys = set(requirement[0] for requirement in owner_requirements or ())
    explain = {
        "releases": "%s selects on it too" % (owner and _owner_name(owner)),
        "taken": "every replacement value is one a Service selects on",
    }
    sentences = []
    for name, selector in selecting:
        if name in stuck:
            reasons = []
            for key in sorted(selector):
                if key.startswith(PREFIX):
                    reasons.append("%s (under %s, which triage.k8s manages itself)" % (key, PREFIX))
                else:
                    reasons.append("%s (%s)" % (key, "; ".join(explain[cause] for cause in sorted(refused.get(key, ())))))
            sentences.append("cannot take the pod out of Service %s: no label it selects on can change: %s"
                             % (_describe(name, selector), "; ".join(reasons)))
    if any("releases" in refused.get(key, ()) for name, selector in selecting if name in stuck for key in selector):
        sentences.append("Scope traffic_only keeps the pod matching its owner's selector; use scope traffic_and_owner, "
                         "or give the Service a selector label its owner does not use")
    if owner_stuck:
        detail = "its selector is empty and matches every pod" if not owner_requirements else (
            "it selects only on %s" % ", ".join(sorted(owner_keys)))
        sentences.append(
            "cannot release the pod from %s: no change to a label outside %s makes its selector stop matching (%s); "
            "use scope traffic_only to leave the pod with its owner" % (_owner_name(owner), PREFIX, detail)
        )
    return ". ".join(sentences) + "."


def _auto_changes(labels, services, selecting, owner, owner_requirements, owner_before, scope, prefix):
    """(changes, error, Services that cannot be broken) for the auto strategy."""
    break_owner = scope == SCOPE_TRAFFIC_AND_OWNER and bool(owner_before)
    keys = set(key for _name, selector in selecting for key in selector)
    owner_off = None
    if break_owner:
        owner_off = frozenset()
    elif owner_before is False and owner_requirements is not None:
        # Not matching now: it must not match after either, or the controller keeps (or adopts) the pod.
        owner_off = frozenset(requirement[0] for requirement in owner_requirements if not requirement_holds(requirement, labels))
    if owner_off is not None:
        keys.update(requirement[0] for requirement in owner_requirements)
    choices, refused = [], {}
    for key in sorted(key for key in keys if not key.startswith(PREFIX)):
        choice, refused[key] = _key_choice(key, labels, services, selecting, owner_requirements, owner_before, scope, prefix)
        if choice is not None:
            choices.append(choice)
    selecting_names = frozenset(name for name, _selector in selecting)
    stuck = sorted(selecting_names - frozenset().union(*(choice.covers for choice in choices)))
    owner_stuck = break_owner and not any(choice.breaking for choice in choices)
    if stuck or owner_stuck:
        return {}, _unbreakable_error(stuck, owner_stuck, selecting, owner, owner_requirements, refused), stuck
    if not selecting_names and not break_owner:
        return {}, None, []
    picks = _exact_cover(choices, selecting_names, owner_off)
    if picks is _OVER_BUDGET:
        picks = _greedy_cover(choices, selecting_names, owner_off)
    if picks is None:
        return {}, ("cannot take the pod out of Service(s) %s without making %s select it again (its selector does not "
                    "match the pod now, failing only on %s; matching again, it would keep or adopt the pod); "
                    "relabel the pod with explicit labels instead" % (", ".join(sorted(selecting_names)), _owner_name(owner),
                                                                      ", ".join(sorted(owner_off)))), sorted(selecting_names)
    return dict((key, {"before": labels.get(key), "after": option[0]}) for key, option in picks.items()), None, []


def _explicit_changes(labels, explicit_labels):
    if not isinstance(explicit_labels, dict):
        return {}, "explicit labels must be a mapping of label key to new value (null removes the label), got %r" % (explicit_labels,)
    problems = []
    for key, value in explicit_labels.items():
        problem = validate_label_key(key) or (value is not None and validate_label_value(value))
        if not problem and key.startswith(PREFIX):
            problem = "label %r is under %s, which triage.k8s manages itself; choose another key" % (key, PREFIX)
        if problem:
            problems.append(problem)
    if problems:
        return {}, "; ".join(problems)
    return dict((key, {"before": labels.get(key), "after": value}) for key, value in explicit_labels.items() if labels.get(key) != value), None


def _apply(labels, changes):
    result = dict(labels)
    for key, change in changes.items():
        if change["after"] is None:
            result.pop(key, None)
        else:
            result[key] = change["after"]
    return result


def _verification_error(still, services, owner, owner_requirements, owner_before, owner_after, scope):
    problems = []
    if still:
        problems.append("Service(s) %s would still select it" % ", ".join(_describe(name, selector) for name, selector in services if name in still))
    owner_keys = ", ".join(sorted(set(requirement[0] for requirement in owner_requirements or ())))
    if scope == SCOPE_TRAFFIC_AND_OWNER and owner_before and owner_after:
        problems.append("%s would still select it and keep managing it (change one of: %s)" % (_owner_name(owner), owner_keys))
    if owner_before is False and owner_after:
        problems.append("%s does not select it now but would, and would keep or adopt it (leave %s as they are)" % (_owner_name(owner), owner_keys))
    if scope == SCOPE_TRAFFIC_ONLY and owner_before and not owner_after:
        problems.append("%s would release it, which scope traffic_only forbids (leave %s as they are)" % (_owner_name(owner), owner_keys))
    return "; ".join(problems) or None


def plan_label_changes(pod_labels, services, owner_selector, scope=SCOPE_TRAFFIC_AND_OWNER,
                       prefix=DEFAULT_QUARANTINE_PREFIX, explicit_labels=None):
    """Plan the label changes that quarantine a pod; see the module docstring.

    services: [{'name': str, 'selector': {label: value} or None}] of the pod's namespace.
    owner_selector: None for a bare pod, else {'kind', 'name', 'selector'} where selector is a
    LabelSelector, or a plain map for kind ReplicationController.
    explicit_labels: None plans automatically; a map {key: value or None to remove} is applied as given.

    Returns a plain dict: changes {key: {'before', 'after'}} (None = absent), new_labels,
    services_selecting, services_still_selecting (every Service that would select new_labels),
    owner_matches_before / owner_matches_after (None without owner), warnings (list) and error.
    With an error, changes is {} and new_labels equals the current labels; the other fields tell
    what the rejected plan would have left selecting the pod.
    """
    labels = dict(pod_labels or {})
    result = {"changes": {}, "new_labels": dict(labels), "services_selecting": [], "services_still_selecting": [],
              "owner_matches_before": None, "owner_matches_after": None, "warnings": [], "error": None}
    try:
        if scope not in SCOPES:
            raise ValueError("unknown scope %r: use one of %s" % (scope, ", ".join(SCOPES)))
        problem = validate_quarantine_prefix(prefix)
        if problem:
            raise ValueError(problem)
        services = _service_selectors(services)
        owner_requirements = None if owner_selector is None else _owner_requirements(owner_selector)
    except ValueError as exc:
        result["error"] = str(exc)
        return result
    selecting = [(name, selector) for name, selector in services if map_selector_matches(selector, labels)]
    result["services_selecting"] = sorted(name for name, _selector in selecting)
    result["services_still_selecting"] = list(result["services_selecting"])
    if owner_selector is not None:
        result["owner_matches_before"] = result["owner_matches_after"] = requirements_hold(owner_requirements, labels)
        if not result["owner_matches_before"]:
            result["warnings"].append(
                "the selector of %s does not match the pod's labels even now, so the controller releases the pod "
                "whatever the scope" % _owner_name(owner_selector))
    if not selecting and owner_selector is None:
        result["error"] = "no Service selects the pod and it has no owner: nothing to take it out of"
        return result
    if not selecting and scope == SCOPE_TRAFFIC_ONLY:
        result["warnings"].append("no Service selects the pod, so scope traffic_only changes no labels")

    if explicit_labels is None:
        changes, error, stuck = _auto_changes(labels, services, selecting, owner_selector, owner_requirements,
                                              result["owner_matches_before"], scope, prefix)
        if error:
            result.update(error=error, services_still_selecting=stuck)
            return result
    else:
        changes, error = _explicit_changes(labels, explicit_labels)
        if error:
            result["error"] = error
            return result

    new_labels = _apply(labels, changes)
    still = sorted(name for name, selector in services if map_selector_matches(selector, new_labels))
    owner_after = None if owner_selector is None else requirements_hold(owner_requirements, new_labels)
    result.update(services_still_selecting=still, owner_matches_after=owner_after)
    error = _verification_error(still, services, owner_selector, owner_requirements, result["owner_matches_before"], owner_after, scope)
    if error:
        origin = "the labels given do not quarantine the pod" if explicit_labels is not None else "internal error: the planned labels do not quarantine the pod"
        result["error"] = "%s: %s" % (origin, error)
        return result
    result.update(changes=changes, new_labels=new_labels)
    return result
