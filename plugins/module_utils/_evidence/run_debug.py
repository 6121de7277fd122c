# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pod_evidence's debug container: find the one an earlier run added, or add it through
pods/ephemeralcontainers (a strategic merge patch guarded by the resourceVersion read), then
watch the pod until it runs. Every decision is debug.py's; the reads, the PATCH and the watch
are here. An added container stays for the life of the pod: the outcome says so."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s import ephemeral
from ansible_collections.triage.k8s.plugins.module_utils._evidence import debug as dbg
from ansible_collections.triage.k8s.plugins.module_utils._evidence.plan import default_container

# How often a 409 (the pod changed between the read and the PATCH) reads the pod again.
ATTEMPTS = 5
STAYS = "ephemeral containers cannot be removed or changed: it stays in the pod until the pod is deleted"


def _refused(msg):
    return TriageError(msg + "; nothing was changed or collected", {"error_type": "debug", "changed": False})


def node_of(kube, pod):
    """The pod's node, best effort: None when it cannot be read (a missing grant is no refusal)."""
    name = (pod.get("spec") or {}).get("nodeName")
    if not name:
        return None
    try:
        return kube.get_or_none("Node", name)
    except TriageError:
        return None


def plan(pod, option, copy_entries, node=None):
    """(wanted, name, reuse) for this pod, or a TriageError saying why it cannot have one."""
    target = option.get("target") or default_container(pod)
    wanted = dbg.settings(option, target)
    problem = dbg.refusal(pod, target) or dbg.node_refusal(node) or dbg.check_copy(copy_entries, pod, target)
    if problem:
        raise _refused(problem)
    try:
        name, reuse = dbg.choose(pod, wanted, option.get("name"))
    except ValueError as exc:
        raise _refused(str(exc))
    return wanted, name, reuse


def outcome(pod, wanted, name, reuse, added=False):
    """The result's and the manifest's `debug`: the container, what it is, and whether this run added it."""
    _spec, status = dbg.ephemeral(pod, name)
    current, reason, _message = dbg.state(status)
    return {"container": name, "image": wanted["image"], "target": wanted["target"], "profile": wanted["profile"],
            "command": wanted["command"], "args": wanted["args"], "reused": reuse, "added": added,
            "state": current, "reason": reason}


def diff(pod, name, reuse):
    """before/after of spec.ephemeralContainers (names) for --diff."""
    before = [c.get("name") for c in (pod.get("spec") or {}).get("ephemeralContainers") or []]
    return {"before": {"ephemeralContainers": before},
            "after": {"ephemeralContainers": before if reuse else before + [name]}}


def ensure(kube, pod, option, copy_entries):
    """The debug container running in the pod: (outcome, pod as last seen). Adds it unless reused.

    Raises TriageError: refused before any write (changed false), or after the container was added
    and did not run (changed true, the message says it was added and stays)."""
    namespace, pod_name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    node = node_of(kube, pod)
    wanted, name, reuse = plan(pod, option, copy_entries, node)
    added = False
    for attempt in range(ATTEMPTS):
        if reuse:
            break
        body = dbg.patch_body(dbg.container(name, wanted), pod["metadata"].get("resourceVersion"))
        try:
            pod = ephemeral.add(kube, namespace, pod_name, body)
        except TriageError as exc:
            if exc.details.get("status") != 409 or attempt == ATTEMPTS - 1:
                exc.details.update(changed=False, error_type=exc.details.get("error_type") or "debug")
                exc.msg = "cannot add the debug container %s to pod %s/%s: %s; nothing was changed or collected" % (
                    name, namespace, pod_name, exc.msg)
                raise exc
            pod = kube.get("Pod", pod_name, namespace)  # changed since it was read: decide again on what it is now
            wanted, name, reuse = plan(pod, option, copy_entries, node)
            continue
        added = True
        break
    timeout = option.get("timeout") or dbg.DEFAULT_TIMEOUT
    decision, seen = ephemeral.wait(kube, namespace, pod_name,
                                    lambda current: dbg.started(dbg.ephemeral(current, name)[1]), timeout)
    result = outcome(seen or pod, wanted, name, reuse, added)
    if decision is True:
        return result, seen
    if decision == "gone":
        problem = "pod %s/%s was deleted while its debug container %s started" % (namespace, pod_name, name)
    elif decision is None:
        problem = dbg.not_started(name, dbg.ephemeral(seen or pod, name)[1], timeout)
    else:
        problem = "the debug container %s will not run: %s" % (name, decision)
    written = (" The debug container %s was added to the pod (%s)." % (name, STAYS)) if added else ""
    raise TriageError("%s; nothing was collected.%s" % (problem, written),
                      {"error_type": "debug", "changed": added, "debug": result})
