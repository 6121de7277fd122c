# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The classes crashloop_info gives containers and pods, and what it says about each: the
explanation and next-step templates, exit code meanings, and filling the templates in. Pure;
classify.py decides which class applies.

CLASSES is in severity order, most severe first: what an operator must act on first.
- oom_killed: a crash loop whose cause is known (the kernel kills the container at its memory
  limit). Above crash_loop because it is the more specific diagnosis and has a direct fix.
- crash_loop: the app keeps dying; back-off grows to 5 minutes, each crash costs capacity.
- image_pull, config_error: the container never starts. A manifest or cluster-object mistake
  (image/tag/credentials; missing ConfigMap/Secret/key, bad command) that never heals by itself.
- init_failure: an init container fails, so the app containers never start.
- unschedulable: placed on no node (capacity, taints, affinity, PVCs); an autoscaler may clear it.
- probe_failure: running but not Ready, so out of Service endpoints: the app or its probe config.
- evicted: terminal and already replaced by its controller; the action is on the node (pressure).
- error: terminal non-zero exit (Job-style pods); usually retried by the owner.
- not_ready (added): past the start grace, not Ready, and no known failure signal (volumes still
  mounting, sandbox/CNI errors, readiness gates, a lost node). Without it `starting` would last
  forever; it needs a look, but is not a diagnosed failure, so a rollout gate keeps waiting.
- starting: within the grace period and not failing: wait.  completed, healthy: nothing to do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import as_int, one_line

CLASSES = (
    "oom_killed", "crash_loop", "image_pull", "config_error", "init_failure", "unschedulable",
    "probe_failure", "evicted", "error", "not_ready", "starting", "completed", "healthy",
)
SEVERITY = dict((klass, rank) for rank, klass in enumerate(CLASSES))
# A rollout gate fails fast on these. init_failure is an init container crash loop (or failure)
# under another name: the new pods can never become Ready either.
FAIL_FAST_CLASSES = frozenset(("oom_killed", "crash_loop", "image_pull", "config_error", "init_failure", "unschedulable"))
OK_CLASSES = frozenset(("starting", "completed", "healthy"))

EXIT_MEANINGS = {
    0: "success", 1: "application error", 2: "misuse of a shell builtin or bad arguments",
    126: "command not executable", 127: "command not found", 128: "the runtime could not start the process",
    130: "SIGINT", 134: "SIGABRT: abort, e.g. a failed assertion", 137: "SIGKILL: OOM killer, or killed after a failed liveness probe",
    139: "SIGSEGV: segmentation fault", 143: "SIGTERM: asked to stop",
}

EXPLANATIONS = {  # a container is the cause
    "oom_killed": "container {container} was OOMKilled (exit code {exit_code}) and has restarted {restarts} time(s){detail}",
    "crash_loop": "container {container} is crash-looping: {restarts} restart(s), last exit code {exit_code} ({exit_meaning}){detail}",
    "image_pull": "container {container} cannot pull image {image}: {reason}{detail}",
    "config_error": "container {container} cannot be created or started: {reason}{detail}",
    "init_failure": "init container {container} fails ({reason}, exit code {exit_code}: {exit_meaning}), so the app never starts{detail}",
    "probe_failure": "container {container} runs but is not Ready {seconds}s after starting: its probes fail{detail}",
    "error": "container {container} exited with code {exit_code} ({exit_meaning}){detail}",
    "not_ready": "container {container} is not Ready {seconds}s after start ({reason}){detail}",
    "starting": "container {container} is starting ({reason}, {seconds}s into the {grace}s grace period)",
    "completed": "container {container} ran to completion",
    "healthy": "container {container} is running and Ready",
}
POD_EXPLANATIONS = {  # the pod as a whole is the cause
    "unschedulable": "the scheduler cannot place the pod{detail}",
    "evicted": "the pod was evicted from node {node}{detail}",
    "error": "the pod failed ({reason}){detail}",
    "not_ready": "the pod is not Ready {seconds}s after creation ({reason}){detail}",
    "starting": "the pod is starting ({reason}, {seconds}s into the {grace}s grace period)",
    "completed": "the pod ran to completion",
    "healthy": "all containers are running and Ready",
}
NEXT_STEPS = {
    "oom_killed": "compare the memory limit of {container} with its real usage (kubectl top pod) and raise the limit or fix the leak; read `{logs} --previous`",
    "crash_loop": "read `{logs} --previous`; exit code 1 = application error, 137 = SIGKILL (OOM or failed liveness probe), "
                  "139 = SIGSEGV, 143 = SIGTERM; check the liveness probe in `kubectl describe pod -n {namespace} {pod}`",
    "image_pull": "check that image {image} exists (name, tag or digest), that the node can reach the registry, and the registry "
                  "credentials (imagePullSecrets of the pod or its service account)",
    "config_error": "create or fix the ConfigMap, Secret or key named in the message (or the command or volume it names); the kubelet retries by itself",
    "init_failure": "read `{logs} --previous`: init containers must exit 0 before the app starts; "
                    "check what it waits for (a Service, a migration, permissions)",
    "unschedulable": "read the scheduler message: requested CPU/memory vs free capacity, node taints vs tolerations, nodeSelector/affinity, "
                     "unbound PersistentVolumeClaims; a cluster autoscaler may clear it by adding a node",
    "probe_failure": "compare the probe (path, port, timeoutSeconds, failureThreshold) with how long the app takes to start; "
                     "add a startupProbe for slow starts; read the Unhealthy events in `kubectl describe pod -n {namespace} {pod}`",
    "evicted": "check the node's pressure conditions (`kubectl describe node {node}`) and the pod's requests vs usage; "
               "its controller has replaced it, delete it once understood",
    "error": "read `{logs}` (add --previous if it restarted) and the exit code meaning",
    "not_ready": "run `kubectl describe pod -n {namespace} {pod}`: events (volumes, sandbox), conditions and readiness gates",
    "starting": "wait: the pod is within its start grace period",
    "completed": "nothing to do",
    "healthy": "nothing to do",
}


class Fields(dict):
    """Template values; a missing one renders as '?' rather than raising."""

    def __missing__(self, key):
        return "?"


def most_severe(classes):
    """The most severe of an iterable of classes ('healthy' when empty)."""
    return min(classes, key=SEVERITY.__getitem__, default="healthy")


def exit_code_meaning(exit_code, signal=None):
    """What an exit code usually means: 1 application error, 137 SIGKILL, 139 SIGSEGV, 143 SIGTERM, 128+n signal n."""
    code = as_int(exit_code, None)
    if code is None:
        return "unknown" if as_int(signal, None) is None else "signal %d" % signal
    if code in EXIT_MEANINGS:
        return EXIT_MEANINGS[code]
    if 128 < code < 160:
        return "killed by signal %d" % (code - 128)
    return "application-defined exit code"


def template_values(namespace, pod, node, grace, container="", **values):
    """The values the templates are filled with; the next steps name the pod and its logs command.
    A value given as None keeps its default; a detail becomes ': <detail on one line>'."""
    logs = "kubectl logs -n %s %s %s" % (namespace or "NAMESPACE", pod or "POD", "-c " + container if container else "--all-containers")
    fields = Fields(container=container, namespace=namespace or "NAMESPACE", pod=pod or "POD", node=node,
                    logs=logs, grace=grace, reason="?", detail="", image="?", restarts=0, seconds="?")
    fields.update((key, value) for key, value in values.items() if value is not None)
    if fields.get("detail"):
        fields["detail"] = ": " + one_line(fields["detail"])
    return fields


def termination_values(term):
    """Template values of a termination (a container state as classify reads it, or None)."""
    code = term["exit_code"] if term else None
    return {"exit_code": "?" if code is None else code, "exit_meaning": exit_code_meaning(code, term and term["signal"]),
            "reason": term and term["reason"], "detail": term and term["message"]}


def explain(klass, fields, by_container=True):
    """(explanation, next step) of a class. by_container: a container is the cause (its template,
    when the class has one); otherwise the pod as a whole is."""
    template = EXPLANATIONS[klass] if by_container and klass in EXPLANATIONS else POD_EXPLANATIONS[klass]
    return template.format_map(fields), NEXT_STEPS[klass].format_map(fields)


# Jinja's opening and closing markers: '{{', '{%', '{#' and their ends.
_TEMPLATE_MARKS = re.compile(r"([{][{%#])|([}%#][}])")


def safe_text(value):
    """Text from a workload or an alert (a container's termination message, an event, a label) with
    Jinja's markers broken up ('{{' -> '{ {'), so it stays data when ansible-playbook reads an EDA
    event from its extra vars."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    # Again until none is left: matches do not overlap, so '{{{' becomes '{ {{' in one pass.
    while _TEMPLATE_MARKS.search(text):
        text = _TEMPLATE_MARKS.sub(lambda m: " ".join(m.group(0)), text)
    return text
