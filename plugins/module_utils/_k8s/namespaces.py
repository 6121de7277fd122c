# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Do the namespaces a module was given exist? A LIST of pods in a namespace that does not exist
answers an empty list, so a misspelled namespace would read as "no pod crash-loops", "nothing
quarantined" or "deleted 0 of 0". crashloop_info, quarantine_info and quarantine_cleanup all ask
here (check_namespaces).

One LIST of namespaces when several are given, one GET when one is; when listing namespaces is
not allowed (RBAC that grants only get on namespaces, or a RoleBinding in each namespace), a GET
each. What a GET that is forbidden too means is the caller's choice: crashloop_info fails with
the Forbidden error, quarantine_info and quarantine_cleanup warn (unchecked_warning) and go on.
absent, missing_message and unchecked_warning are pure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.names import validate_namespace


def _forbidden(exc):
    return exc.details.get("status") == 403


def absent(namespaces, existing):
    """The given namespaces (sorted, once each) that are not among the `existing` names."""
    existing = set(existing)
    return [namespace for namespace in sorted(set(namespaces or [])) if namespace not in existing]


def missing_message(missing, target, advice):
    """'namespace "x" not found on <target>: <advice>' ('namespaces "a", "b" ...' for several)."""
    what = ('namespace "%s"' % missing[0]) if len(missing) == 1 else (
        "namespaces %s" % ", ".join('"%s"' % n for n in missing))
    return "%s not found%s: %s" % (what, " on %s" % target if target else "", advice)


def unchecked_warning(problem):
    return ("could not check that the given namespaces exist (%s): a misspelled namespace finds nothing; grant get "
            "on namespaces to have it reported" % problem)


def find_missing(kube, namespaces, forbidden_ok=False):
    """(missing, problem): the given namespaces the cluster does not have (sorted), and why the
    check could not be made (None when it was).

    Several namespaces: one LIST of namespaces; if that is forbidden, a GET each (an identity may
    be allowed to get a namespace and not to list them). A forbidden GET is raised, or with
    forbidden_ok ends the check: (what was found missing so far, its message). Other errors are
    raised."""
    namespaces = sorted(set(namespaces or []))
    if len(namespaces) > 1:
        try:
            return absent(namespaces, ((ns.get("metadata") or {}).get("name") for ns in kube.list("Namespace"))), None
        except TriageError as exc:
            if not _forbidden(exc):
                raise
    missing = []
    for namespace in namespaces:
        try:
            if kube.get_or_none("Namespace", namespace) is None:
                missing.append(namespace)
        except TriageError as exc:
            if not (forbidden_ok and _forbidden(exc)):
                raise
            return missing, exc.msg
    return missing, None


def check_namespaces(kube, namespaces, advice, warn=None, with_keys=False):
    """Validate the names, then fail naming every given namespace the cluster does not have.

    advice ends the failure message (missing_message). warn: None, a namespace that may not be
    read fails with its Forbidden error; a function, the check is skipped with unchecked_warning.
    with_keys: the failure result also carries error_type namespace_not_found, missing_namespaces
    and changed false."""
    for namespace in namespaces or []:
        validate_namespace(namespace)
    if not namespaces:
        return
    missing, problem = find_missing(kube, namespaces, forbidden_ok=warn is not None)
    if missing:
        keys = {"error_type": "namespace_not_found", "missing_namespaces": missing, "changed": False}
        raise TriageError(missing_message(missing, kube.target, advice), keys if with_keys else None)
    if problem:
        warn(unchecked_warning(problem))
