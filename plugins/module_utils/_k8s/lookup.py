# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The first reads every feature makes: the pod it was pointed at (with a message that says
whether the pod or its namespace is missing) and who the caller is."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError


def read_pod(kube, name, namespace):
    pod = kube.get_or_none("Pod", name, namespace)
    if pod is None:
        if kube.get_or_none("Namespace", namespace) is None:
            raise TriageError('namespace "%s" not found%s: check namespace and context'
                              % (namespace, " on %s" % kube.target if kube.target else ""))
        raise TriageError('pod "%s" not found in namespace "%s"%s' % (
            name, namespace, " on %s" % kube.target if kube.target else ""))
    return pod


def caller_identity(kube, given):
    """quarantined-by: the parameter, else who the API server says we are, else the AWX job."""
    if given:
        return given
    who = kube.whoami()
    if who:
        return who
    if os.environ.get("JOB_ID"):
        return "awx-job-%s" % os.environ["JOB_ID"]
    return None
