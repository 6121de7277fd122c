# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for what Kubernetes does after a quarantine, with watches (never sleep loops):
the pod leaves every EndpointSlice of its Services, and the owner's replacement becomes Ready.
What each watch looks for is decided in wait.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._quarantine.wait import (
    pod_in_slices,
    replacement_pods,
    slices_selector,
)


def wait_out_of_endpoints(kube, namespace, services, pod_name, pod_ips, timeout):
    """Until no EndpointSlice of `services` lists the pod. Returns (verified, services still listing)."""
    if not services:
        return True, []
    selector = slices_selector(services)
    ips = set(ip for ip in pod_ips if ip)
    last = {"still": []}

    def gone(slices):
        last["still"] = pod_in_slices(slices.values(), pod_name, ips)
        return not last["still"]

    done, _objects = kube.watch_until("EndpointSlice", namespace, gone, timeout, label_selector=selector)
    return bool(done), last["still"]


def wait_replacement_ready(kube, namespace, owner_uid, selector, known_uids, node_name, timeout):
    """Until a new pod of the owner is Ready (or Succeeded, for a Job). Returns (ready, pods)."""
    last = {"pods": []}

    def ready(pods):
        last["pods"] = replacement_pods(pods.values(), owner_uid, known_uids, node_name)
        return any(p["ready"] for p in last["pods"])

    done, _objects = kube.watch_until("Pod", namespace, ready, timeout, label_selector=selector or None)
    return bool(done), last["pods"]
