# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Human views of what was collected: a `kubectl describe`-like text, the node summary and which
Services select the pod. Pure functions over API-shaped dicts (already redacted by the caller)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.triage.k8s.plugins.module_utils._k8s.labels import map_selector_matches

NODE_INFO_KEYS = ("kubeletVersion", "containerRuntimeVersion", "osImage", "kernelVersion", "operatingSystem",
                  "architecture")
ANNOTATION_WIDTH = 120


def _kv(mapping, indent):
    if not mapping:
        return ["<none>"]
    pad = " " * indent
    items = sorted(mapping.items())
    return ["%s=%s" % items[0]] + ["%s%s=%s" % (pad, k, v) for k, v in items[1:]]


def _field(lines, label, value, width=20):
    if isinstance(value, list):
        value = value or ["<none>"]
        lines.append("%-*s%s" % (width, label + ":", value[0]))
        lines.extend(" " * width + str(v) for v in value[1:])
    else:
        lines.append("%-*s%s" % (width, label + ":", "<none>" if value in (None, "") else value))


def _short(value):
    text = str(value).replace("\n", " ")
    return text if len(text) <= ANNOTATION_WIDTH else text[:ANNOTATION_WIDTH - 3] + "..."


def _state(state):
    if not state:
        return ["<unknown>"]
    name, detail = next(iter(state.items()))
    lines = [name.capitalize()]
    for key in ("reason", "message", "exitCode", "signal", "startedAt", "finishedAt"):
        if (detail or {}).get(key) not in (None, ""):
            lines.append("  %s: %s" % (key[0].upper() + key[1:], _short(detail[key])))
    return lines


def _env_line(env):
    if "valueFrom" in env:
        source = env["valueFrom"]
        kind = next(iter(source), "valueFrom")
        ref = source.get(kind) or {}
        where = ref.get("name") or ref.get("fieldPath") or ref.get("resource") or ""
        return "%s: <set from %s %s%s>" % (env.get("name"), kind, where, (" key " + ref["key"]) if ref.get("key") else "")
    return "%s: %s" % (env.get("name"), env.get("value", ""))


def _container(lines, container, status):
    lines.append("  %s:" % container.get("name"))
    inner = []
    _field(inner, "Container ID", status.get("containerID"))
    _field(inner, "Image", container.get("image"))
    _field(inner, "Image ID", status.get("imageID"))
    ports = ["%s/%s" % (p.get("containerPort"), p.get("protocol", "TCP")) for p in container.get("ports") or []]
    _field(inner, "Port(s)", ", ".join(ports))
    if container.get("command"):
        _field(inner, "Command", list(container["command"]))
    if container.get("args"):
        _field(inner, "Args", list(container["args"]))
    _field(inner, "State", _state(status.get("state")))
    if status.get("lastState"):
        _field(inner, "Last State", _state(status.get("lastState")))
    _field(inner, "Ready", str(status.get("ready", False)))
    _field(inner, "Restart Count", str(status.get("restartCount", 0)))
    resources = container.get("resources") or {}
    for label, key in (("Limits", "limits"), ("Requests", "requests")):
        if resources.get(key):
            _field(inner, label, ["%s: %s" % kv for kv in sorted(resources[key].items())])
    for label, key in (("Liveness", "livenessProbe"), ("Readiness", "readinessProbe"), ("Startup", "startupProbe")):
        if container.get(key):
            probe = container[key]
            how = next((k for k in ("httpGet", "tcpSocket", "exec", "grpc") if k in probe), "probe")
            _field(inner, label, "%s delay=%ss timeout=%ss period=%ss #failure=%s" % (
                how, probe.get("initialDelaySeconds", 0), probe.get("timeoutSeconds", 1),
                probe.get("periodSeconds", 10), probe.get("failureThreshold", 3)))
    _field(inner, "Environment", [_env_line(e) for e in container.get("env") or []])
    mounts = ["%s from %s (%s)" % (m.get("mountPath"), m.get("name"), "ro" if m.get("readOnly") else "rw")
              for m in container.get("volumeMounts") or []]
    _field(inner, "Mounts", mounts)
    lines.extend("    " + line for line in inner)


def _volume(volume):
    kind = next((k for k in volume if k != "name"), "unknown")
    source = volume.get(kind) or {}
    ref = source.get("secretName") or source.get("claimName") or source.get("name") or source.get("path") or ""
    return "%s: %s%s" % (volume.get("name"), kind, (" (%s)" % ref) if ref else "")


def event_rows(events):
    """Events sorted by last time: (type, reason, last seen, from, count, message)."""
    rows = []
    for event in events:
        when = event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp") or ""
        source = event.get("source") or {}
        rows.append((event.get("type") or "", event.get("reason") or "", when,
                     event.get("reportingComponent") or source.get("component") or "",
                     (event.get("series") or {}).get("count") or event.get("count") or 1,
                     _short(event.get("message") or "")))
    return sorted(rows, key=lambda row: row[2])


def describe_pod(pod, events, owner_chain=None):
    """A text close to `kubectl describe pod`, from the redacted pod and its events."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    lines = []
    _field(lines, "Name", meta.get("name"))
    _field(lines, "Namespace", meta.get("namespace"))
    _field(lines, "UID", meta.get("uid"))
    _field(lines, "Priority", spec.get("priority", 0))
    _field(lines, "Service Account", spec.get("serviceAccountName"))
    _field(lines, "Node", "%s" % spec.get("nodeName") if spec.get("nodeName") else "<none>")
    _field(lines, "Start Time", status.get("startTime"))
    _field(lines, "Labels", _kv(meta.get("labels"), 20))
    annotations = dict((k, _short(v)) for k, v in (meta.get("annotations") or {}).items())
    _field(lines, "Annotations", _kv(annotations, 20))
    if meta.get("deletionTimestamp"):
        _field(lines, "Terminating", "since %s" % meta["deletionTimestamp"])
    _field(lines, "Status", status.get("phase"))
    if status.get("reason"):
        _field(lines, "Reason", status["reason"])
    if status.get("message"):
        _field(lines, "Message", _short(status["message"]))
    _field(lines, "IP", status.get("podIP"))
    _field(lines, "IPs", [ip.get("ip") for ip in status.get("podIPs") or []])
    chain = ["%s/%s" % (o.get("kind"), (o.get("metadata") or {}).get("name")) for o in owner_chain or []]
    refs = ["%s/%s" % (r.get("kind"), r.get("name")) for r in meta.get("ownerReferences") or [] if r.get("controller")]
    _field(lines, "Controlled By", " <- ".join(chain) if chain else (refs[0] if refs else "<none>"))
    for title, spec_key, status_key in (("Init Containers", "initContainers", "initContainerStatuses"),
                                        ("Containers", "containers", "containerStatuses"),
                                        ("Ephemeral Containers", "ephemeralContainers", "ephemeralContainerStatuses")):
        if not spec.get(spec_key):
            continue
        statuses = dict((s.get("name"), s) for s in status.get(status_key) or [])
        lines.append("%s:" % title)
        for container in spec[spec_key]:
            _container(lines, container, statuses.get(container.get("name")) or {})
    lines.append("Conditions:")
    lines.append("  %-28s %s" % ("Type", "Status"))
    for cond in status.get("conditions") or []:
        lines.append("  %-28s %s" % (cond.get("type"), cond.get("status")))
    _field(lines, "Volumes", [_volume(v) for v in spec.get("volumes") or []])
    _field(lines, "QoS Class", status.get("qosClass"))
    _field(lines, "Node-Selectors", _kv(spec.get("nodeSelector"), 20))
    tolerations = ["%s%s%s%s" % (t.get("key", ""), ("=" + t["value"]) if t.get("value") else "",
                                 (":" + t["effect"]) if t.get("effect") else "",
                                 (" for %ss" % t["tolerationSeconds"]) if t.get("tolerationSeconds") else "")
                   for t in spec.get("tolerations") or []]
    _field(lines, "Tolerations", tolerations)
    lines.append("Events:")
    rows = event_rows(events or [])
    if not rows:
        lines.append("  <none>")
    for row in rows:
        lines.append("  %-8s %-20s %-22s %-18s x%-4s %s" % row)
    return "\n".join(lines) + "\n"


def node_summary(node):
    """What the node says about its health and capacity. Never its secrets (nodes hold none of
    the pod's, and nothing else is copied: no config, no images list, no volumes)."""
    meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    info = status.get("nodeInfo") or {}
    return {
        "name": meta.get("name"), "uid": meta.get("uid"), "created": meta.get("creationTimestamp"),
        "labels": meta.get("labels") or {},
        "unschedulable": bool(spec.get("unschedulable")),
        "taints": spec.get("taints") or [],
        "conditions": [dict((k, c.get(k)) for k in ("type", "status", "reason", "message", "lastTransitionTime"))
                       for c in status.get("conditions") or []],
        "capacity": status.get("capacity") or {},
        "allocatable": status.get("allocatable") or {},
        "node_info": dict((k, info.get(k)) for k in NODE_INFO_KEYS if k in info),
    }


def services_selecting(services, labels, original_labels=None):
    """[{name, selects_now, selected_before_quarantine}] for Services that select the pod now or
    selected it before its quarantine (original_labels: its labels before, when quarantined)."""
    out = []
    for service in services:
        selector = (service.get("spec") or {}).get("selector")
        now = map_selector_matches(selector, labels or {})
        before = map_selector_matches(selector, original_labels) if original_labels is not None else None
        if now or before:
            out.append({"name": (service.get("metadata") or {}).get("name"), "selects_now": now,
                        "selected_before_quarantine": before})
    return out
