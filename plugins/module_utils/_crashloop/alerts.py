# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The alertmanager event source's decisions (pure): which alerts of an Alertmanager webhook
notification are news, and the event each becomes.

Alertmanager POSTs a notification per alert group ({"version": "4", "status", "alerts": [...],
"groupLabels", "commonLabels", ...}) and sends the whole group again on every group_interval and
repeat_interval, so the same alert arrives many times. Alerts turns each notification into one
event per alert per state: an alert (its fingerprint) firing for the first time is "unhealthy",
the same alert resolved is "recovered", and a repeat of what was already emitted is nothing. The
event has the shape pod_health's has (transitions.PodHealth.event, docs/eda.md), with source
"alertmanager"; what only the pod would tell (uid, owner, restarts) is null or 0: the playbooks
read the pod themselves.

The class comes from the alert's name (KubePodCrashLooping -> crash_loop, configurable), the pod
from its namespace and pod labels, the cluster from a label (e.g. an external label `cluster`,
mapped to a kubeconfig context) or a fixed name. The event goes on to ansible-playbook as extra
vars, so text from the alert (label values, annotations) has its template markers broken up.
Alerts from namespaces outside the `namespaces` allow-list are left out. The clock is injected:
receive() takes `now`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re
from collections import OrderedDict

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.explain import CLASSES, NEXT_STEPS, safe_text, template_values
from ansible_collections.triage.k8s.plugins.module_utils._k8s.names import container_problem, name_problem, namespace_problem
from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import one_line
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339

# kubernetes-mixin's pod alerts. A name not in the map is ignored (with a log line).
DEFAULT_CLASSES = {"KubePodCrashLooping": "crash_loop", "KubePodNotReady": "not_ready"}
RESOLVED_CLASS = "healthy"  # what a resolved alert's event says the pod is now: the alert no longer fires
DEFAULTS = {
    "host": "127.0.0.1", "port": 5051, "path": "/alerts", "token": "", "certfile": "", "keyfile": "", "classes": DEFAULT_CLASSES,
    "cluster": "", "cluster_label": "cluster", "contexts": {}, "namespace_label": "namespace",
    "pod_label": "pod", "namespaces": [], "remember": 10000,
}
_PATH_RE = re.compile(r"/[A-Za-z0-9._~/-]*\Z")
_LABEL_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def check_classes(classes):
    """{alertname: class}, or ValueError naming what is wrong."""
    if not isinstance(classes, dict) or not classes:
        raise ValueError("classes must be a mapping of alert names to classes, e.g. {KubePodCrashLooping: crash_loop}")
    for name, klass in classes.items():
        if not isinstance(name, str) or not _LABEL_NAME_RE.match(name):
            raise ValueError("classes: %r is not an alert name" % (name,))
        if klass not in CLASSES or klass in ("healthy", "starting", "completed"):
            raise ValueError("classes: %s maps to %r; use one of %s" % (
                name, klass, ", ".join(c for c in CLASSES if c not in ("healthy", "starting", "completed"))))
    return dict(classes)


def check_options(args):
    """The source's options with defaults filled in, or ValueError naming the wrong one. Never
    says what a token is, only whether one is set."""
    args = dict(args or {})
    unknown = sorted(set(args) - set(DEFAULTS))
    if unknown:
        raise ValueError("unknown option(s) %s; known: %s" % (", ".join(unknown), ", ".join(sorted(DEFAULTS))))
    opts = dict(DEFAULTS)
    opts.update((key, value) for key, value in args.items() if value is not None)
    try:
        opts["port"] = int(opts["port"])
        opts["remember"] = int(opts["remember"])
    except (TypeError, ValueError):
        raise ValueError("port and remember must be integers")
    if not 1 <= opts["port"] <= 65535:
        raise ValueError("port must be between 1 and 65535")
    if opts["remember"] < 1:
        raise ValueError("remember must be at least 1")
    if not isinstance(opts["path"], str) or not _PATH_RE.match(opts["path"]):
        raise ValueError("path must start with / and hold only URL path characters, e.g. /alerts")
    if not isinstance(opts["token"], str):
        raise ValueError("token must be a string")
    for key in ("host", "certfile", "keyfile", "cluster", "cluster_label", "namespace_label", "pod_label"):
        if not isinstance(opts[key], str):
            raise ValueError("%s must be a string" % key)
    for key in ("namespace_label", "pod_label"):
        if not _LABEL_NAME_RE.match(opts[key]):
            raise ValueError("%s must be a label name" % key)
    if bool(opts["certfile"]) != bool(opts["keyfile"]):
        raise ValueError("certfile and keyfile go together (TLS), or neither")
    if opts["cluster_label"] and not _LABEL_NAME_RE.match(opts["cluster_label"]):
        raise ValueError("cluster_label must be a label name, or empty for none")
    if not isinstance(opts["contexts"], dict) or not all(isinstance(v, str) for v in opts["contexts"].values()):
        raise ValueError("contexts must map cluster label values to kubeconfig context names")
    if isinstance(opts["namespaces"], str):
        opts["namespaces"] = [opts["namespaces"]]
    if not isinstance(opts["namespaces"], (list, tuple)) or not all(isinstance(n, str) for n in opts["namespaces"]):
        raise ValueError("namespaces must be a list of namespace names (empty: every namespace)")
    opts["namespaces"] = list(opts["namespaces"])
    opts["classes"] = check_classes(opts["classes"])
    return opts


def alerts_of(payload):
    """The alerts of a webhook notification, or ValueError when it is not one."""
    if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
        raise ValueError("not an Alertmanager webhook notification: no list of alerts")
    version = payload.get("version")
    if version is not None and str(version) != "4":
        raise ValueError("webhook notification version %r; this source reads version 4" % (version,))
    return [alert if isinstance(alert, dict) else {} for alert in payload["alerts"]]


def fingerprint(alert):
    """Alertmanager's fingerprint of the alert; a hash of its labels when it has none."""
    given = alert.get("fingerprint")
    if isinstance(given, str) and given:
        return safe_text(given)
    labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
    return hashlib.sha256(json.dumps(labels, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]


class Alerts(object):
    """The alerts of one receiver. receive(payload, now) -> (events, ignored): the events due,
    in the notification's order, and one line for each alert left out and why."""

    def __init__(self, opts):
        self.opts = opts
        self.classes = opts["classes"]
        self.seen = OrderedDict()   # fingerprint -> (status, startsAt) last emitted, oldest first
        self.repeats = 0            # alerts left out because they were already emitted

    def receive(self, payload, now):
        events, ignored = [], []
        group_status = payload.get("status") if isinstance(payload, dict) else None
        for alert in alerts_of(payload):
            event, why = self.map(alert, group_status, now)
            if why:
                ignored.append(why)
            elif event:
                events.append(event)
        return events, ignored

    def map(self, alert, group_status, now):
        """(event, None) when the alert is news, (None, None) for a repeat, (None, why) when left out."""
        labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
        name = labels.get("alertname")
        fp = fingerprint(alert)
        status = alert.get("status") or group_status
        if status not in ("firing", "resolved"):
            return None, "alert %s (%s): status %r is neither firing nor resolved; ignored" % (safe_text(name), fp, status)
        if name not in self.classes:
            return None, "alert %s (%s): no class for this alert name (option classes); ignored" % (safe_text(name), fp)
        namespace, pod = labels.get(self.opts["namespace_label"]), labels.get(self.opts["pod_label"])
        if namespace in (None, "") or pod in (None, ""):
            problem = "no %s and %s labels" % (self.opts["namespace_label"], self.opts["pod_label"])
        else:
            problem = namespace_problem(namespace) or name_problem("Pod", pod)
        if not problem and self.opts["namespaces"] and namespace not in self.opts["namespaces"]:
            problem = "namespace %s is not in the source's namespaces" % namespace
        if problem:
            return None, "alert %s (%s): %s; ignored" % (safe_text(name), fp, safe_text(one_line(problem)))
        state = (status, alert.get("startsAt"))
        if self.seen.get(fp) == state:
            self.seen.move_to_end(fp)
            self.repeats += 1
            return None, None
        self.seen[fp] = state
        self.seen.move_to_end(fp)
        while len(self.seen) > self.opts["remember"]:
            self.seen.popitem(last=False)
        return self.event(alert, labels, name, fp, status, now), None

    def cluster(self, labels):
        value = labels.get(self.opts["cluster_label"]) if self.opts["cluster_label"] else None
        if isinstance(value, str) and value:
            return safe_text(self.opts["contexts"].get(value, value))
        return self.opts["cluster"]

    def event(self, alert, labels, name, fp, status, now):
        """The shared event shape (docs/eda.md), source alertmanager."""
        namespace, pod = labels[self.opts["namespace_label"]], labels[self.opts["pod_label"]]
        klass = self.classes[name]
        container = labels.get("container")
        container = container if isinstance(container, str) and not container_problem(container) else ""
        annotations = alert.get("annotations") if isinstance(alert.get("annotations"), dict) else {}
        text = annotations.get("description") or annotations.get("summary") or annotations.get("message")
        if status == "firing":
            reason = one_line(text) if text else "Alertmanager alert %s is firing for pod %s/%s" % (name, namespace, pod)
            next_step = NEXT_STEPS[klass].format_map(template_values(namespace, pod, "?", "?", container=container))
            current, previous = klass, None
        else:
            reason = "Alertmanager alert %s resolved for pod %s/%s" % (name, namespace, pod)
            next_step = NEXT_STEPS[RESOLVED_CLASS]
            current, previous = RESOLVED_CLASS, klass
        return {"triage": {
            "source": "alertmanager",
            "cluster": self.cluster(labels),
            "namespace": namespace,
            "pod": pod,
            "uid": None,
            "owner": None,
            "workload": None,
            "class": current,
            "previous_class": previous,
            "transition": "unhealthy" if status == "firing" else "recovered",
            "reason": safe_text(reason),
            "restarts": 0,
            "next_step": next_step,
            "observed_at": format_rfc3339(now),
            "alert": {
                "name": name,
                "status": status,
                "labels": dict((safe_text(k), safe_text(v)) for k, v in labels.items()),
                "fingerprint": fp,
                "starts_at": safe_text(alert.get("startsAt")) or None,
                "ends_at": safe_text(alert.get("endsAt")) or None,
            },
        }}
