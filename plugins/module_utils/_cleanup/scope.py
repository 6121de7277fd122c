# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The namespaces quarantine_info and quarantine_cleanup are given must exist: a LIST of pods in a
namespace that does not exist answers an empty list, so a misspelled namespace would read as
"nothing quarantined" / "deleted 0 of 0". Checked with one LIST of namespaces when several are
given (one GET when one is), falling back to a GET each when listing namespaces is not allowed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.names import validate_namespace


def _forbidden(exc):
    return exc.details.get("status") == 403


def find_missing(kube, namespaces):
    """(missing, problem): the given namespaces the cluster does not have, and why the check could
    not be made (None when it was). Other errors are raised."""
    namespaces = sorted(set(namespaces or []))
    if len(namespaces) > 1:
        try:
            existing = set((ns.get("metadata") or {}).get("name") for ns in kube.list("Namespace"))
            return [n for n in namespaces if n not in existing], None
        except TriageError as exc:
            if not _forbidden(exc):
                raise
    missing = []
    for namespace in namespaces:
        try:
            if kube.get_or_none("Namespace", namespace) is None:
                missing.append(namespace)
        except TriageError as exc:
            if not _forbidden(exc):
                raise
            return missing, exc.msg
    return missing, None


def missing_message(missing, target, nothing_done):
    """'namespace "x" not found on context 'c' (...): check namespaces and context; <nothing_done>'."""
    what = ('namespace "%s"' % missing[0]) if len(missing) == 1 else (
        "namespaces %s" % ", ".join('"%s"' % n for n in missing))
    return "%s not found%s: check namespaces and context; %s" % (
        what, " on %s" % target if target else "", nothing_done)


def unchecked_warning(problem):
    return ("could not check that the given namespaces exist (%s): a misspelled namespace finds nothing; grant get "
            "on namespaces to have it reported" % problem)


def check_namespaces(kube, namespaces, nothing_done, warn):
    """Validate the names, then fail naming every namespace the cluster does not have."""
    for namespace in namespaces or []:
        validate_namespace(namespace)
    if not namespaces:
        return
    missing, problem = find_missing(kube, namespaces)
    if missing:
        raise TriageError(missing_message(missing, kube.target, nothing_done),
                          {"error_type": "namespace_not_found", "missing_namespaces": missing, "changed": False})
    if problem:
        warn(unchecked_warning(problem))
