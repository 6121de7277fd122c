# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the waits after a quarantine look for, read from the objects a watch sees: the pod is in
no EndpointSlice of its Services any more, and the owner's replacement is Ready. Pure; the
watches themselves are in run_wait.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import controller_ref, pod_ready

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def pod_in_slices(slices, pod_name, pod_ips):
    """Services (by slice label) whose EndpointSlices still list the pod, by targetRef or address."""
    still = set()
    for endpoint_slice in slices:
        service = ((endpoint_slice.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL)
        for endpoint in endpoint_slice.get("endpoints") or []:
            ref = endpoint.get("targetRef") or {}
            if (ref.get("kind") == "Pod" and ref.get("name") == pod_name) or set(endpoint.get("addresses") or []) & pod_ips:
                still.add(service)
    return sorted(still)


def replacement_pods(pods, owner_uid, known_uids, node_name=None):
    """Pods of the owner that did not exist at quarantine time ({name, ready}), newest last.

    For a DaemonSet the replacement is the new pod on the same node."""
    found = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        ref = controller_ref(pod)
        if not ref or ref.get("uid") != owner_uid or meta.get("uid") in known_uids:
            continue
        if node_name and (pod.get("spec") or {}).get("nodeName") not in (None, node_name):
            continue
        phase = (pod.get("status") or {}).get("phase")
        found.append({"name": meta.get("name"), "ready": pod_ready(pod) or phase == "Succeeded",
                      "phase": phase, "created": meta.get("creationTimestamp")})
    return sorted(found, key=lambda p: (p["created"] or "", p["name"]))


def slices_selector(services):
    """The label selector of the EndpointSlices of these Services."""
    return "%s in (%s)" % (SERVICE_NAME_LABEL, ",".join(sorted(services)))
