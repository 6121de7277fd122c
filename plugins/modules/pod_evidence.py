#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pod_evidence
short_description: Collect a checksummed evidence bundle from a pod before it is gone
version_added: 0.1.0
description:
  - Captures in one step what people otherwise collect with a page of kubectl (describe, logs,
    logs --previous, get -o yaml, get events, exec, cp) into a bundle directory on the host that runs
    the module (the controller with C(connection=local), as the collection's playbooks use).
  - The bundle is named C(<context-or-cluster>_<namespace>_<pod>_<UTC timestamp>) and is collected
    into C(<name>.partial), then renamed when everything is written and synced. A crash or an
    interruption leaves only C(.partial), never a bundle that looks complete. Directories are 0700,
    files 0600.
  - C(manifest.json) lists every file with its size and sha256 (also in C(SHA256SUMS) for
    C(sha256sum -c)), the collection version, the API server, who collected, start and end times,
    and each item's outcome. C(complete) is false when an item failed.
  - Items are fetched in parallel by a bounded pool of O(workers). A failed item never aborts the
    others; items listed in O(required) fail the task when they are not collected.
  - Logs are streamed to disk in chunks, never held whole in memory, and redacted line by line.
  - Redaction is on by default and covers every file of the bundle with one rule set, a shipped table of
    secret shapes (connection URLs with credentials, C(*PASSWORD*)/C(*SECRET*)/C(*TOKEN*)/C(*_KEY)
    assignments in env, YAML and JSON style, password flags such as C(--password) and C(mysql -p), Authorization
    headers, well-known token prefixes such as C(sk_live_), C(ghp_), C(xoxb-), C(glpat-), C(AKIA), JWTs and PEM
    private keys) plus O(redact_patterns). Text (logs, exec output, describe.txt, copied text files) is
    redacted line by line as it streams; YAML and JSON value by value, and literal env values whose names
    look secret become C(<redacted>) in every manifest, including the last-applied-configuration
    annotation (C(valueFrom) references are kept). manifest.json records the rule set, the count by shape and
    any file kept as it came (copied binary files). The data of Secrets is never read.
  - After any failure the result still says what is on disk (RV(bundle) or RV(partial), RV(complete),
    RV(archive)) and whether the annotation was written, C(changed) is true when a bundle or the annotation
    was written, and the message says what was written and what was not.
  - When the pod is quarantined (see M(triage.k8s.pod_quarantine)), it is annotated with
    C(triage.k8s/evidence), the bundle name, the sha256 of its manifest.json and the time, in one
    merge patch guarded by resourceVersion. Cleanup relies on it.
  - With O(storage), the finished bundle is uploaded to S3-compatible object storage under
    C(<storage.prefix>/<bundle name>/) - every file at its relative path, then C(manifest.json); with O(archive) the
    C(.tar.gz) as C(<storage.prefix>/<bundle name>.tar.gz) plus C(<storage.prefix>/<bundle name>/manifest.json).
    Each object is read back (its SHA256 checksum and size against the file, whose sha256 must still be the
    manifest's), then the bundle is verified as cleanup will verify it. Only then does the annotation get
    C(remote) (bucket, key prefix, manifest key, endpoint, number of objects, time), written in the same single
    PATCH. A failed upload or verification keeps the local bundle, writes the annotation without C(remote) (so a
    cleanup requiring remote evidence keeps the pod), and fails the task with C(changed=true) and a message saying
    what was and was not written. Nothing local is ever deleted; nothing is uploaded in check mode.
author:
  - triage.k8s developers (@triage-k8s)
extends_documentation_fragment:
  - triage.k8s.k8s_auth
  - triage.k8s.s3
  - triage.k8s.attributes
attributes:
  check_mode:
    support: full
    details: Reads the pod and reports what would be collected (items, log streams, commands, bundle path, the remote URL,
      the debug container); writes, adds and uploads nothing.
  diff_mode:
    support: partial
    details: With O(debug), the pod's ephemeral containers before and after (the only change to the pod's spec).
options:
  name:
    description: Name of the pod.
    type: str
    required: true
  namespace:
    description: Namespace of the pod.
    type: str
    required: true
  dest:
    description:
      - Directory that receives the bundle, created (0700) if missing.
      - Prefer an absolute path. A relative path is relative to the module's working directory, and with
        C(connection=local) Ansible runs modules in the playbook's directory, not where C(ansible-playbook) was
        started. The C(triage.k8s.evidence) role and the collection's playbooks resolve it on the controller,
        relative to where C(ansible-playbook) runs.
    type: path
    default: ./evidence
  archive:
    description: Also write C(<bundle>.tar.gz) (0600) next to the bundle directory.
    type: bool
    default: false
  include:
    description:
      - Items to collect. Default is every cheap item, V(manifest) (the pod as YAML without managedFields),
        V(describe) (a C(kubectl describe)-like text), V(events) (of the pod and of each owner, one LIST per
        object), V(owners) (the owner chain, for example ReplicaSet then Deployment), V(node) (conditions,
        allocatable, taints), V(services) (Services that select the pod, or selected it before its
        quarantine, and their EndpointSlices), V(logs) and V(previous_logs) (every container, init
        containers included; previous logs where restartCount > 0 or lastState.terminated) and V(metrics)
        (metrics.k8s.io usage, and each container's usage against its requests and limits and the node's allocatable,
        with a warning in the item's note at 90% of a limit, see C(docs/resource-usage.md); skipped with a note when
        the API is not served).
      - V(exec), V(copy_from) and V(checkpoint) are added when O(exec), O(copy_from) or O(checkpoint) ask for them.
    type: list
    elements: str
    choices: [manifest, describe, events, owners, node, services, logs, previous_logs, metrics, exec, copy_from, checkpoint]
  exclude:
    description: Items not to collect, applied after O(include).
    type: list
    elements: str
    default: []
    choices: [manifest, describe, events, owners, node, services, logs, previous_logs, metrics, exec, copy_from, checkpoint]
  required:
    description:
      - Items that must be collected. When one fails, is only partly collected or is unavailable in this
        cluster, the task fails after the bundle is written, and the pod is not annotated.
    type: list
    elements: str
    default: []
    choices: [manifest, describe, events, owners, node, services, logs, previous_logs, metrics, exec, copy_from, checkpoint]
  tail_lines:
    description: Keep only the last lines of each log (C(tailLines)).
    type: int
  since_seconds:
    description: Keep only log lines newer than this many seconds (C(sinceSeconds)).
    type: int
  limit_bytes:
    description: Stop each log after this many bytes (C(limitBytes)).
    type: int
  exec:
    description:
      - Commands to run in the pod, one after another, for example a thread dump. stdout, stderr and the
        return code of each are saved. A command that fails, times out or cannot start is recorded and
        the others still run.
      - Needs the exec websocket, which the kubernetes client opens without impersonation headers, so it is
        refused with O(impersonate_user) or O(impersonate_groups).
    type: list
    elements: dict
    suboptions:
      command:
        description: The command, as a list of words or a string split like a shell would (no shell runs).
        type: raw
        required: true
      container:
        description: Container to run it in; default the pod's default container (annotation C(kubectl.kubernetes.io/default-container), else the first).
        type: str
      timeout:
        description: Seconds before the command's stream is closed and it is recorded as timed out.
        type: int
        default: 60
      max_bytes:
        description: Cap on the saved stdout (and stderr) of the command.
        type: int
        default: 67108864
      name:
        description: Short name used in the output file names, default the command's first word.
        type: str
  copy_from:
    description:
      - Paths copied out of a container with C(tar) over exec, as C(kubectl cp) does (the container needs
        C(tar)). Only regular files and directories are extracted; absolute names, C(..), links and devices
        are listed in C(<copy>.listing.json) but not extracted. Copied text files are redacted like logs;
        binary files (a NUL byte in their first 8 KiB) are kept as they are and listed in manifest.json
        (C(redaction.not_redacted)). A member whose name looks like a secret is not extracted.
      - Refused with impersonation, like O(exec).
    type: list
    elements: dict
    suboptions:
      path:
        description: File or directory in the container.
        type: str
        required: true
      container:
        description: Container to copy from; default the pod's default container.
        type: str
      max_bytes:
        description: Size limit of the tar stream; a larger copy is stopped and recorded as failed.
        type: int
        default: 104857600
      timeout:
        description: Seconds before the copy is stopped.
        type: int
        default: 300
  debug:
    description:
      - Add an ephemeral debug container to the pod, as C(kubectl debug POD --image=IMAGE --target=TARGET --profile=PROFILE)
        does, through the C(pods/ephemeralcontainers) subresource (a strategic merge patch guarded by the pod's
        resourceVersion), wait with a watch until it runs, and run O(exec) and O(copy_from) through it. For
        distroless and scratch images, which have no shell or C(tar).
      - The container shares the target's process namespace. O(exec) entries that name no container, or the target,
        run in the debug container (with the debug image's tools; the target's processes are visible, its files
        under C(/proc/1/root)). O(copy_from) entries that name no container, or the target, copy C(/proc/1/root/PATH)
        with the debug image's C(tar), the target's PATH as its process (PID 1 of the shared namespace) sees it; refused
        when the pod has C(shareProcessNamespace) (PID 1 is then the pause process). Entries naming another
        container run there, as without O(debug).
      - The container is named C(triage-debug-<hash of image, target, profile, command, args>), so a second run with
        the same option reuses the container while it runs (C(changed) is then false for it). Ephemeral containers
        cannot be removed or changed once added; one that exited stays in the pod, and the next run adds another
        (C(-2), C(-3), ...).
      - Refused, with nothing changed, for a pod that is not Running, is being deleted, is a static (mirror) pod or
        a Windows HostProcess pod, or runs on a node whose kubelet is older than 1.23, and when the API server refuses the PATCH (a 403 names the grant,
        C(patch) on C(pods/ephemeralcontainers)). When the container does not run within O(debug.timeout), the task
        fails with its state and reason; once it was added, C(changed) is true and the message says it stays.
      - Check mode adds nothing and reports the container that would be added or reused (C(debug) in RV(would_collect)).
        With C(--diff), the pod's ephemeral container names before and after.
    type: dict
    suboptions:
      image:
        description: Image of the debug container, for example C(busybox:1.36).
        type: str
        required: true
      target:
        description: Container whose process namespace it joins; default the pod's default container (annotation
          C(kubectl.kubernetes.io/default-container), else the first).
        type: str
      command:
        description:
          - Command of the debug container, a list or a string split like a shell would. Default C(sleep 3600) (with
            neither O(debug.command) nor O(debug.args)), which keeps it running for the exec diagnostics.
        type: raw
      args:
        description: Arguments of the debug container (with the image's entrypoint when O(debug.command) is not given).
        type: raw
      profile:
        description:
          - Security profile, as C(kubectl debug --profile) sets it - V(legacy) and V(baseline) no securityContext,
            V(general) adds C(SYS_PTRACE), V(netadmin) adds C(NET_ADMIN) and C(NET_RAW), V(sysadmin) privileged,
            V(restricted) non-root, every capability dropped, no privilege escalation, seccomp C(RuntimeDefault).
        type: str
        choices: [legacy, general, baseline, restricted, netadmin, sysadmin]
        default: general
      name:
        description: Name of the debug container instead of the derived one.
        type: str
      timeout:
        description: Seconds to wait for the debug container to run.
        type: int
        default: 60
  checkpoint:
    description:
      - Ask the kubelet to checkpoint each container (C(POST /api/v1/nodes/NODE/proxy/checkpoint/NS/POD/CONTAINER),
        through the API server). The kubelet writes the archive on the node; the bundle records its path.
        When the API is unavailable (feature off, runtime without CRIU, proxy refused) it is skipped with a note.
    type: bool
    default: false
  redact:
    description: Redact secret-looking env values in manifests and apply the redaction expressions to text.
    type: bool
    default: true
  redact_patterns:
    description:
      - Extra Python regular expressions applied line by line to logs, exec output and other text. A match is
        replaced by C(<redacted>); with a group named C(secret), only that group is.
    type: list
    elements: str
    default: []
  redact_env_names:
    description: Extra words that make an env var name look secret (matched case-insensitively within the name).
    type: list
    elements: str
    default: []
  annotate:
    description: Annotate the pod with C(triage.k8s/evidence) when it is quarantined.
    type: bool
    default: true
  collected_by:
    description: Who collects, for the manifest. Default the identity the API server reports (SelfSubjectReview), else the AWX job.
    type: str
  notes:
    description:
      - Free-form facts stored as C(notes) in manifest.json, for example why the evidence was taken or the name of
        a related bundle (the quarantine role links the bundle taken after relabelling to the one taken before).
    type: dict
    default: {}
  workers:
    description: Number of items fetched at the same time (1 to 32).
    type: int
    default: 4
  timeout:
    description: Seconds for each API request to answer (for log streams, between two chunks).
    type: int
    default: 60
notes:
  - RBAC needed - get on pods and pods/log; list on events, services and endpointslices; get on the owner kinds
    and on nodes (node summary); get on pods and nodes in metrics.k8s.io (metrics); get and create on pods/exec (exec,
    copy_from); patch on pods/ephemeralcontainers and list, watch on pods (debug only); create on nodes/proxy
    (checkpoint); patch on pods (annotation); create on selfsubjectreviews (optional);
    create on events in API group events.k8s.io (the EvidenceCollected Event; without it the bundle is still
    collected and RV(event) says the Event was not written).
  - A finished collection is recorded as a Kubernetes Event on the pod (events.k8s.io/v1, reportingController
    C(triage.k8s), reason V(EvidenceCollected), the note naming who, the bundle and its manifest checksum), so
    C(kubectl describe pod) and C(kubectl events) show it; see C(docs/contract.md). Check mode and a failed
    collection write no Event.
  - Secrets are never read. Copied binary files are not redacted (manifest.json lists them); checkpoint archives
    stay on the node.
  - Statuses in the manifest - V(ok); V(partial) some parts failed; V(failed); V(skipped) nothing to collect (for
    example no container restarted); V(unavailable) the cluster does not offer it (no metrics API, no checkpoint API).
seealso:
  - module: triage.k8s.pod_quarantine
"""

EXAMPLES = r"""
- name: Collect the cheap items of a crash-looping pod
  triage.k8s.pod_evidence:
    name: web-7d4b9c-x2x9k
    namespace: shop

- name: Everything, with a thread dump and a heap histogram, archived, logs must be there
  triage.k8s.pod_evidence:
    name: web-7d4b9c-x2x9k
    namespace: shop
    dest: /srv/evidence
    archive: true
    required: [manifest, logs, previous_logs]
    tail_lines: 100000
    exec:
      - command: [jcmd, "1", Thread.print]
        timeout: 30
      - command: jcmd 1 GC.class_histogram
    copy_from:
      - path: /var/log/app
        max_bytes: 52428800
    redact_patterns:
      - 'sessionid=(?P<secret>[0-9a-f]+)'

- name: Collect and store in S3-compatible storage; the annotation names the verified copy
  triage.k8s.pod_evidence:
    name: web-7d4b9c-x2x9k
    namespace: shop
    dest: /tmp/evidence
    storage:
      bucket: incident-evidence
      prefix: prod-eu
      endpoint_url: https://minio.example:9000
      access_key: "{{ s3_access_key }}"
      secret_key: "{{ s3_secret_key }}"
      sse: AES256

- name: A distroless pod - a thread dump and a file through an ephemeral debug container (kubectl debug)
  triage.k8s.pod_evidence:
    name: api-5c9f7d-q8w2r
    namespace: shop
    debug:
      image: busybox:1.36
      target: api
      profile: general
    exec:
      - command: [sh, -c, "ps -o pid,args; cat /proc/1/status"]
    copy_from:
      - path: /etc/app/config.yaml

- name: Only what disappears first (before relabelling a pod)
  triage.k8s.pod_evidence:
    name: web-7d4b9c-x2x9k
    namespace: shop
    include: [manifest, events, previous_logs]
"""

RETURN = r"""
msg:
  description: What was written (the bundle, the archive, the annotation) and what was not; on failure, the cause first.
  returned: always
  type: str
changed:
  description: True when a bundle (or an incomplete C(.partial)), an archive or the pod annotation was written.
  returned: always
  type: bool
bundle:
  description: Absolute path of the finished bundle directory, or null when only C(.partial) (or nothing) is on disk.
  returned: always after the bundle directory was created, also on failure
  type: str
  sample: /srv/evidence/prod-eu_shop_web-7d4b9c-x2x9k_20261122T030405Z
bundle_name:
  description: Name of the bundle directory (the value recorded in the pod annotation).
  returned: always after the bundle directory was created, also on failure
  type: str
archive:
  description: Path of the C(.tar.gz), or null without O(archive) or when it could not be written.
  returned: always after the bundle directory was created, also on failure
  type: str
archive_sha256:
  description: sha256 of the archive.
  returned: with O(archive)
  type: str
archive_size:
  description: Size of the archive in bytes.
  returned: with O(archive)
  type: int
manifest_sha256:
  description: sha256 of manifest.json, as in the annotation; null when there is no finished bundle.
  returned: always after the bundle directory was created, also on failure
  type: str
manifest:
  description: Summary of manifest.json (bundle, complete, times, who, server, number of files, size, status of each item).
  returned: success
  type: dict
complete:
  description:
    - Whether every requested item was collected, or skipped because there was nothing to collect (manifest.json's
      C(complete)). False when only C(.partial) is on disk.
  returned: always after the bundle directory was created, also on failure
  type: bool
files:
  description: Number of files in the bundle.
  returned: success
  type: int
size_bytes:
  description: Total size of the bundle's files.
  returned: success
  type: int
items:
  description: Each item's status (ok, partial, failed, skipped, unavailable) with its note or error.
  returned: success
  type: dict
  sample: {"logs": {"status": "ok"}, "metrics": {"status": "unavailable", "note": "metrics.k8s.io is not served ..."}}
failed_items:
  description: Items that failed or partly failed, and why.
  returned: success
  type: list
  elements: dict
skipped_items:
  description: Items skipped or unavailable, and why.
  returned: success
  type: list
  elements: dict
redactions:
  description: Number of values and text matches redacted in all files (manifest.json C(redaction) has them by shape).
  returned: success
  type: int
annotation:
  description:
    - Whether the C(triage.k8s/evidence) annotation was written, its value, or why not (C(note), C(error)).
      C(written) is null when a PATCH failed and the pod could not be read again to learn whether it landed.
  returned: success, and on failure once the bundle is finished
  type: dict
  sample: {"written": true, "key": "triage.k8s/evidence", "value": "{\"bundle\":\"...\",\"collected_at\":\"...\",\"manifest_sha256\":\"...\"}"}
event:
  description:
    - The Kubernetes Event (events.k8s.io/v1, reason V(EvidenceCollected)) recorded on the pod - C(written),
      C(name), C(namespace), C(reason) and, when it was not written, C(error) (for a missing grant, the verb and
      resource to grant). Not writing it never fails the collection; a warning says so too.
  returned: success (not in check mode)
  type: dict
  sample: {"written": true, "name": "web-7d4b9c-x2x9k.9a8b7c6d5e4f3a2b", "namespace": "shop",
           "reason": "EvidenceCollected", "error": null}
would_collect:
  description:
    - In check mode, the bundle path, items, log streams, commands and copies that would be collected, and with O(debug)
      C(debug), the debug container that would be reused, or added (C(would_add), the EphemeralContainer).
  returned: check mode
  type: dict
remote:
  description:
    - With O(storage), the remote copy - C(url) (C(s3://BUCKET/PREFIX/BUNDLE/)), C(verified), C(objects) (each
      C(path), C(key), C(url), C(size), C(sha256), C(checksum), C(status) V(uploaded) or V(present)), C(error) (why it is not
      verified), and C(record), the annotation's C(remote), when verified.
  returned: with O(storage), after the bundle is finished, also on failure
  type: dict
  sample: {"url": "s3://incident-evidence/prod-eu/kind-a_shop_web-1_20261201T030405Z/", "verified": true,
           "objects": [{"key": "prod-eu/kind-a_shop_web-1_20261201T030405Z/manifest.json", "status": "uploaded"}],
           "error": null}
debug:
  description:
    - With O(debug), the debug container - C(container) (its name, also in manifest.json C(debug)), C(image), C(target),
      C(profile), C(command), C(args), C(added) (this run added it), C(reused) (an earlier run had), C(state) and C(reason).
  returned: with O(debug), also on failure once it was decided
  type: dict
  sample: {"container": "triage-debug-3f2a9c0d1e", "image": "busybox:1.36", "target": "api", "profile": "general",
           "command": ["sleep", "3600"], "args": null, "added": true, "reused": false, "state": "running", "reason": null}
partial:
  description: Path of the incomplete C(.partial) directory left behind when the bundle could not be finished, else null.
  returned: always after the bundle directory was created, also on failure
  type: str
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.triage.k8s.plugins.module_utils._evidence.plan import ITEMS
from ansible_collections.triage.k8s.plugins.module_utils._s3.client import HAS_BOTO3
from ansible_collections.triage.k8s.plugins.module_utils._s3.spec import STORAGE_SPEC, wanted
from ansible_collections.triage.k8s.plugins.module_utils._evidence.run import run_evidence
from ansible_collections.triage.k8s.plugins.module_utils._k8s.module import build_module, run_module

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    namespace=dict(type="str", required=True),
    dest=dict(type="path", default="./evidence"),
    archive=dict(type="bool", default=False),
    include=dict(type="list", elements="str", choices=list(ITEMS)),
    exclude=dict(type="list", elements="str", choices=list(ITEMS), default=[]),
    required=dict(type="list", elements="str", choices=list(ITEMS), default=[]),
    tail_lines=dict(type="int"),
    since_seconds=dict(type="int"),
    limit_bytes=dict(type="int"),
    exec=dict(type="list", elements="dict", options=dict(
        command=dict(type="raw", required=True),
        container=dict(type="str"),
        timeout=dict(type="int", default=60),
        max_bytes=dict(type="int", default=64 * 1024 * 1024),
        name=dict(type="str"),
    )),
    copy_from=dict(type="list", elements="dict", options=dict(
        path=dict(type="str", required=True),
        container=dict(type="str"),
        max_bytes=dict(type="int", default=100 * 1024 * 1024),
        timeout=dict(type="int", default=300),
    )),
    debug=dict(type="dict", options=dict(
        image=dict(type="str", required=True),
        target=dict(type="str"),
        command=dict(type="raw"),
        args=dict(type="raw"),
        profile=dict(type="str", choices=["legacy", "general", "baseline", "restricted", "netadmin", "sysadmin"],
                     default="general"),
        name=dict(type="str"),
        timeout=dict(type="int", default=60),
    )),
    checkpoint=dict(type="bool", default=False),
    redact=dict(type="bool", default=True),
    redact_patterns=dict(type="list", elements="str", default=[]),
    redact_env_names=dict(type="list", elements="str", default=[]),
    annotate=dict(type="bool", default=True),
    collected_by=dict(type="str"),
    notes=dict(type="dict", default={}),
    workers=dict(type="int", default=4),
    timeout=dict(type="int", default=60),
    storage=STORAGE_SPEC,
)


def main():
    module = build_module(ARGUMENT_SPEC, supports_check_mode=True)
    if wanted(module.params["storage"]) and not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3"), changed=False)
    run_module(module, run_evidence)


if __name__ == "__main__":
    main()
