# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What manifest.json records (docs/evidence.md, "What manifest.json records") and pod_evidence's
result, built from what was collected. Pure: run.py passes in the clock, the caller's identity,
the local user and host, and the server."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.triage.k8s.plugins.module_utils._contract.record import is_quarantined, quarantine_record
from ansible_collections.triage.k8s.plugins.module_utils._evidence.plan import failed_and_skipped
from ansible_collections.triage.k8s.plugins.module_utils._k8s.timeutil import format_rfc3339

# Kept equal to galaxy.yml's version (a unit test checks): a module cannot read galaxy.yml at run time.
COLLECTION_NAME = "triage.k8s"
COLLECTION_VERSION = "0.1.0"
BUNDLE_FORMAT = "triage.k8s/evidence-bundle/v1"


def build_manifest(pod, params, items, results, bundle, cluster, collected_by, started, finished, seconds):
    """manifest.json before the bundle adds its files, sizes and redaction record.

    bundle: the bundle's name; cluster: {server, target}; collected_by: {identity, local_user, host};
    started, finished: aware datetimes; seconds: how long the collection took."""
    meta = pod["metadata"]
    failed, skipped = failed_and_skipped(results)
    quarantined = is_quarantined(pod)
    return {
        "format": BUNDLE_FORMAT,
        "bundle": bundle,
        "complete": not failed,
        "collection": {"name": COLLECTION_NAME, "version": COLLECTION_VERSION},
        "cluster": {"server": cluster["server"], "target": cluster["target"], "context": params.get("context")},
        "collected_by": {"identity": collected_by["identity"], "local_user": collected_by["local_user"],
                         "host": collected_by["host"]},
        "pod": {"name": meta.get("name"), "namespace": meta.get("namespace"), "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"), "node": (pod.get("spec") or {}).get("nodeName"),
                "phase": (pod.get("status") or {}).get("phase"), "quarantined": quarantined,
                "quarantine": dict((k, v) for k, v in quarantine_record(pod).items() if k != "evidence")
                if quarantined else None},
        "started_at": format_rfc3339(started), "finished_at": format_rfc3339(finished), "duration_seconds": seconds,
        "options": {"items": items, "required": params["required"] or [], "tail_lines": params["tail_lines"],
                    "since_seconds": params["since_seconds"], "limit_bytes": params["limit_bytes"],
                    "redact": params["redact"], "redact_patterns": params["redact_patterns"] or [],
                    "workers": params["workers"]},
        "notes": params.get("notes") or {},
        "items": results, "failed": failed, "skipped": skipped,
    }


def manifest_summary(manifest):
    """The result's `manifest`: the finished manifest.json in short."""
    return {
        "bundle": manifest["bundle"], "complete": manifest["complete"],
        "started_at": manifest["started_at"], "finished_at": manifest["finished_at"],
        "collected_by": manifest["collected_by"], "server": manifest["cluster"]["server"],
        "files": len(manifest["files"]), "size_bytes": manifest["size_bytes"],
        "items": dict((k, v["status"]) for k, v in manifest["items"].items()),
    }


def module_result(final, manifest, manifest_sha, results):
    """pod_evidence's result for a finished bundle at final, before the archive and the annotation."""
    return {
        "changed": True, "bundle": final, "bundle_name": os.path.basename(final), "partial": None, "archive": None,
        "manifest_sha256": manifest_sha, "manifest": manifest_summary(manifest),
        "complete": manifest["complete"], "files": len(manifest["files"]), "size_bytes": manifest["size_bytes"],
        "failed_items": manifest["failed"], "skipped_items": manifest["skipped"],
        "items": dict((k, dict((f, v[f]) for f in ("status", "note", "error") if v.get(f))) for k, v in results.items()),
        "redactions": manifest["redactions"], "annotation": None,
    }
