# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing triage.k8s/evidence on the pod: the reads and the PATCH; every decision is in outcome.py.

Transient API errors are retried by Kube.request; a 409 means the pod changed, so it is read
again here. When the answer to the PATCH is lost, the pod is read again to learn whether it landed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._evidence import outcome


def _landed(kube, meta, value):
    """After a PATCH whose outcome is unknown: True/False from a fresh read, None if that fails too."""
    try:
        current = kube.get_or_none("Pod", meta["name"], meta["namespace"])
    except TriageError:
        return None
    return outcome.landed(current, value)


def annotate(kube, pod, value):
    """Write triage.k8s/evidence on the pod if it is (still) quarantined. Returns
    {written, key, value, note}; raises TriageError with details["annotation"] when it cannot."""
    meta = pod["metadata"]
    for _attempt in range(outcome.ANNOTATE_ATTEMPTS):
        try:
            current = kube.get_or_none("Pod", meta["name"], meta["namespace"])
        except TriageError as exc:
            return outcome.reread_failed(pod, exc)
        result, patch = outcome.annotation_step(pod, current, value)
        if patch is None:
            return result
        try:
            kube.patch("Pod", meta["name"], meta["namespace"], patch)
            return outcome.written(value)
        except TriageError as exc:
            if outcome.retry_patch(exc):
                continue
            return outcome.patch_failed(exc, value, _landed(kube, meta, value))
    raise outcome.kept_changing()
