# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a failed write of pod_quarantine means, so that its result tells the truth: was the write
refused (nothing of it landed), is what the pod carries this run's own write, or is it unknown."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError

# A failed write with one of these statuses was refused: nothing of it landed.
REFUSED_STATUSES = (400, 401, 403, 404, 405, 413, 415, 422)


class WriteUnknown(TriageError):
    """A write whose outcome could not be found out: the result must not claim nothing changed."""


def refused(exc):
    return exc.details.get("status") in REFUSED_STATUSES


def wrote_this(pod, patch):
    """Whether the pod carries exactly what this run's patch wrote: a 409 on a PATCH sent twice (the
    first response lost) finds our own write, which must be reported as ours."""
    meta = pod.get("metadata") or {}
    for field in ("labels", "annotations"):
        have = meta.get(field) or {}
        if any(have.get(key) != value for key, value in (patch["metadata"].get(field) or {}).items()):
            return False
    return True
