# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pod_evidence's debug option, decided before anything is written: the ephemeral container
(`kubectl debug POD --image=IMG --target=CONTAINER --profile=P`), its deterministic name, the
patch that adds it, whether the pod can take one, and how exec and copy_from go through it.
Pure functions over the option and the pod as the API returns it (camelCase dicts).

Ephemeral containers cannot be removed or changed once added (the API refuses both), so the
name is derived from what the container is: a second run with the same option finds the one it
added and reuses it while it runs; one that has exited stays in the pod, and the next run adds
another under the next free name (`-2`, `-3`, ...)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import posixpath
import re
import shlex

PROFILES = ("legacy", "general", "baseline", "restricted", "netadmin", "sysadmin")
DEFAULT_PROFILE = "general"
# Without a command the image's entrypoint runs, and for shells (busybox's sh) that exits at
# once without a terminal: the container must stay up for the exec diagnostics that follow.
DEFAULT_COMMAND = ("sleep", "3600")
DEFAULT_TIMEOUT = 60
NAME_PREFIX = "triage-debug-"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
# Where the target's root file system is seen from the debug container: the target's process is
# PID 1 of the process namespace the debug container joins (targetContainerName), unless the pod
# shares one namespace between all its containers, where PID 1 is the pause process.
TARGET_ROOT = "/proc/1/root"
_KUBELET_VERSION = re.compile(r"v(\d+)\.(\d+)\.")
STAYS_SHORT = "it stays in the pod: ephemeral containers cannot be removed"


def security_context(profile):
    """The securityContext kubectl debug --profile gives an ephemeral container (None: none).

    As kubectl's profiles do for the ephemeral style: legacy and baseline set nothing (baseline
    clears it), general adds SYS_PTRACE, netadmin NET_ADMIN and NET_RAW, sysadmin runs privileged,
    restricted runs as non-root with every capability dropped, no privilege escalation and the
    runtime's default seccomp profile."""
    if profile in ("legacy", "baseline"):
        return None
    if profile == "general":
        return {"capabilities": {"add": ["SYS_PTRACE"]}}
    if profile == "netadmin":
        return {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}}
    if profile == "sysadmin":
        return {"privileged": True}
    if profile == "restricted":
        return {"runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}, "allowPrivilegeEscalation": False,
                "seccompProfile": {"type": "RuntimeDefault"}}
    raise ValueError("unknown debug profile %r (one of %s)" % (profile, ", ".join(PROFILES)))


def _words(value):
    if value is None:
        return None
    if isinstance(value, str):
        return shlex.split(value)
    return [str(word) for word in value]


def validate(debug):
    """Problems of the debug option (a list of strings); normalises command and args in place."""
    problems = []
    if not (debug.get("image") or "").strip():
        problems.append("debug.image is required (for example busybox:1.36)")
    if (debug.get("profile") or DEFAULT_PROFILE) not in PROFILES:
        problems.append("debug.profile must be one of %s, got %r" % (", ".join(PROFILES), debug.get("profile")))
    for key in ("command", "args"):
        try:
            debug[key] = _words(debug.get(key))
        except ValueError as exc:
            problems.append("debug.%s: cannot split %r into words (%s); give it as a list" % (key, debug.get(key), exc))
    if debug.get("timeout") is not None and debug["timeout"] <= 0:
        problems.append("debug.timeout must be a positive number of seconds")
    if debug.get("name") and not debug["name"].strip():
        problems.append("debug.name is empty")
    return problems


def settings(debug, target):
    """What the container is: image, target, profile, command, args (the command defaulted)."""
    command = debug.get("command")
    args = debug.get("args")
    if command is None and args is None:
        command = list(DEFAULT_COMMAND)
    return {"image": debug["image"].strip(), "target": target, "profile": debug.get("profile") or DEFAULT_PROFILE,
            "command": command, "args": args}


def base_name(wanted):
    """triage-debug-<10 hex of sha256 over image, target, profile, command and args>: the same
    option always names the same container (a name is at most 63 characters, a DNS label)."""
    blob = json.dumps([wanted[k] for k in ("image", "target", "profile", "command", "args")], separators=(",", ":"))
    return NAME_PREFIX + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:10]


def _all_names(pod):
    spec = pod.get("spec") or {}
    return set(c.get("name") for key in ("initContainers", "containers", "ephemeralContainers")
               for c in spec.get(key) or [])


def ephemeral(pod, name):
    """(spec, status) of the pod's ephemeral container called name; (None, None) when absent."""
    spec = next((c for c in (pod.get("spec") or {}).get("ephemeralContainers") or [] if c.get("name") == name), None)
    status = next((s for s in (pod.get("status") or {}).get("ephemeralContainerStatuses") or []
                   if s.get("name") == name), None)
    return spec, status


def state(status):
    """running, waiting, terminated or None (no status yet), with the reason when there is one."""
    current = (status or {}).get("state") or {}
    for key in ("running", "terminated", "waiting"):
        if key in current:
            detail = current[key] or {}
            return key, detail.get("reason"), detail.get("message")
    return None, None, None


def same_container(spec, wanted):
    """Whether an existing ephemeral container is the one this option describes."""
    return (spec.get("image") == wanted["image"] and spec.get("targetContainerName") == wanted["target"]
            and (spec.get("command") or None) == (wanted["command"] or None)
            and (spec.get("args") or None) == (wanted["args"] or None)
            and (spec.get("securityContext") or None) == security_context(wanted["profile"]))


def choose(pod, wanted, given_name=None):
    """(name, reuse): the container to use. reuse is True when the pod already has it running (or
    starting); otherwise name is free and a new container gets it. A given name that the pod
    already uses for something else is an error (ValueError), as the API would refuse it."""
    names = _all_names(pod)
    if given_name:
        spec, status = ephemeral(pod, given_name)
        if spec is None:
            if given_name in names:
                raise ValueError("debug.name %r is already a container of the pod" % given_name)
            return given_name, False
        if not same_container(spec, wanted):
            raise ValueError("the pod already has an ephemeral container %r with another image, target, profile or "
                             "command, and ephemeral containers cannot be changed: choose another debug.name"
                             % given_name)
        if state(status)[0] == "terminated":
            raise ValueError("the ephemeral container %r has exited and cannot be restarted or removed: choose "
                             "another debug.name (or leave it out)" % given_name)
        return given_name, True
    base = base_name(wanted)
    for index in range(1, 1000):
        name = base if index == 1 else "%s-%d" % (base, index)
        spec, status = ephemeral(pod, name)
        if spec is None:
            if name not in names:
                return name, False
            continue
        if same_container(spec, wanted) and state(status)[0] != "terminated":
            return name, True
    raise ValueError("the pod has too many exited debug containers")


def container(name, wanted):
    """The EphemeralContainer to add, as kubectl debug builds it (no stdin or terminal: nothing attaches)."""
    body = {"name": name, "image": wanted["image"], "targetContainerName": wanted["target"],
            "terminationMessagePolicy": "File"}
    if wanted["command"] is not None:
        body["command"] = list(wanted["command"])
    if wanted["args"] is not None:
        body["args"] = list(wanted["args"])
    context = security_context(wanted["profile"])
    if context:
        body["securityContext"] = context
    return body


def patch_body(body, resource_version):
    """The strategic merge patch of pods/ephemeralcontainers that adds body (as kubectl sends: the
    list merges on name, so the others stay), guarded by the resourceVersion that was read: a pod
    changed since is a 409, read again, rather than a container added on a view we did not check."""
    return {"metadata": {"resourceVersion": resource_version}, "spec": {"ephemeralContainers": [body]}}


def refusal(pod, target):
    """Why this pod cannot take a debug container (a sentence), or None."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    where = "pod %s/%s" % (meta.get("namespace"), meta.get("name"))
    if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
        return ("%s is a static pod (a mirror of the kubelet's manifest): the API server does not add ephemeral "
                "containers to it. Debug it on its node instead (kubectl debug node/%s)" % (where, spec.get("nodeName")))
    if meta.get("deletionTimestamp"):
        return "%s is being deleted: a debug container cannot be added" % where
    if status.get("phase") != "Running":
        return ("%s is %s, not Running: an ephemeral container only starts in a running pod"
                % (where, status.get("phase") or "without a phase"))
    names = [c.get("name") for c in spec.get("containers") or []] + [c.get("name") for c in spec.get("initContainers") or []]
    if target not in names:
        return "debug.target %r is not a container of %s (containers: %s)" % (target, where, ", ".join(n for n in names if n))
    if ((spec.get("securityContext") or {}).get("windowsOptions") or {}).get("hostProcess"):
        return "%s is a Windows HostProcess pod: they cannot have ephemeral containers" % where
    return None


def node_refusal(node):
    """Why the pod's node cannot run an ephemeral container (a sentence), or None: a kubelet older
    than 1.23 (before that, ephemeral containers were off by default). A version that is not
    vMAJOR.MINOR (a simulated node) says nothing."""
    info = ((node or {}).get("status") or {}).get("nodeInfo") or {}
    match = _KUBELET_VERSION.match(info.get("kubeletVersion") or "")
    if match and (int(match.group(1)), int(match.group(2))) < (1, 23):
        return ("the kubelet of node %s is %s, older than 1.23: it does not run ephemeral containers"
                % ((node.get("metadata") or {}).get("name"), info["kubeletVersion"]))
    return None


def started(status):
    """For the wait: True when running; a message when it exited (it never will run); None to keep
    waiting (no status yet, or waiting: an image pull may still succeed within the timeout)."""
    current, reason, message = state(status)
    if current == "running":
        return True
    if current == "terminated":
        return "it exited (%s%s)" % (reason or "no reason", ": %s" % message if message else "")
    return None


def not_started(name, status, timeout):
    """The message when the container did not run within the timeout."""
    current, reason, message = state(status)
    if current is None:
        seen = "it has no status yet (the kubelet has not started it: is the node's kubelet alive?)"
    else:
        seen = "it is %s%s%s" % (current, " (%s)" % reason if reason else "", ": %s" % message if message else "")
    return "the debug container %s did not run within %ss: %s" % (name, timeout, seen)


# ---------------------------------------------------------------- exec and copy_from through it

def routed(entry_container, target):
    """Whether an exec or copy_from entry goes through the debug container: those that name no
    container or the target; an entry naming another container runs there, as without debug."""
    return entry_container in (None, "", target)


def copy_source(path, share_process_namespace):
    """The path the debug container reads for a path of the target: /proc/1/root/<path>, through
    the target's process (PID 1 of the namespace it shares). ValueError when PID 1 is not the
    target's: the pod shares one process namespace (shareProcessNamespace: true)."""
    if share_process_namespace:
        raise ValueError("the pod shares one process namespace (shareProcessNamespace: true), so PID 1 is the "
                         "pause process, not the target: copy_from through the debug container cannot find the "
                         "target's files. Copy from a container that has tar, or exec a command that reads them")
    clean = posixpath.normpath("/" + path.lstrip("/"))
    return TARGET_ROOT + ("" if clean == "/" else clean)


def route_plans(exec_plan, copy_plan, pod, name, target):
    """exec and copy plans with the entries that go through the debug container rewritten: run in
    it, and tar from the target's root as the debug container sees it. Each rewritten entry keeps
    the target in `target` (and the copy its source path) for the manifest."""
    share = bool((pod.get("spec") or {}).get("shareProcessNamespace"))
    for entry in exec_plan:
        if routed(entry.get("given_container"), target):
            entry.update(container=name, target=target)
    for entry in copy_plan:
        if not routed(entry.get("given_container"), target):
            continue
        source = copy_source(entry["path"], share)
        parent, base = posixpath.split(source)
        entry.update(container=name, target=target, source=source,
                     command=["tar", "cf", "-", "-C", parent or "/", base or "."])
    return exec_plan, copy_plan


def check_copy(copy_entries, pod, target):
    """The problem of routing copy_from through the debug container in this pod, or None."""
    if not any(routed(e.get("container"), target) for e in copy_entries or []):
        return None
    try:
        copy_source("/", bool((pod.get("spec") or {}).get("shareProcessNamespace")))
    except ValueError as exc:
        return str(exc)
    return None


def summary(outcome):
    """The sentence of the result's message about the debug container."""
    how = "added by this run (%s)" % STAYS_SHORT if outcome.get("added") else "reused (added by an earlier run)"
    return "Debug container %s (image %s, target %s, profile %s): %s." % (
        outcome["container"], outcome["image"], outcome["target"], outcome["profile"], how)
