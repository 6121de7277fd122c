# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The quarantine role with quarantine_evidence_before_relabel: false relabels first and then
collects everything in one bundle: the pod is out of its Service, and the bundle still has the
manifest, the events and the previous logs next to the rest."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from kubernetes import client

from k8s_helpers import create, deployment_body, endpoint_slice_pods, service_body, wait_ready_pods


def test_relabel_first_then_one_bundle_with_everything(core, api, namespace, ansible):
    create(api, namespace, deployment_body("web", 2, {"app": "web"}))
    create(api, namespace, service_body("web", {"app": "web"}))
    victim = sorted(p.metadata.name for p in wait_ready_pods(core, namespace, 2, "app=web"))[0]
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = ansible.playbook(os.path.join(repo, "playbooks", "quarantine.yml"),
                            extra_vars={"pod": victim, "namespace": namespace, "reason": "traffic first",
                                        "quarantine_evidence_before_relabel": False},
                            env={"K8S_AUTH_KUBECONFIG": ansible.kubeconfig, "K8S_AUTH_CONTEXT": ansible.context})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "relabelling failed" not in proc.stdout, proc.stdout
    assert victim not in endpoint_slice_pods(client.DiscoveryV1Api(api), namespace, "web")
    dest = os.path.join(ansible.tmpdir, "evidence")
    bundles = sorted(b for b in os.listdir(dest) if not b.endswith(".partial"))
    assert len(bundles) == 1, bundles
    with open(os.path.join(dest, bundles[0], "manifest.json")) as handle:
        manifest = json.load(handle)
    items = manifest["options"]["items"]
    for item in ("manifest", "events", "previous_logs", "describe"):
        assert item in items, items
    assert manifest["pod"]["quarantined"] is True
    assert manifest["notes"] == {"stage": "after relabelling", "reason": "traffic first", "before_relabelling_bundle": None}
    annotations = core.read_namespaced_pod(victim, namespace).metadata.annotations
    assert json.loads(annotations["triage.k8s/evidence"])["bundle"] == bundles[0]


def test_relabel_first_with_a_misspelled_pod_fails_clearly_and_collects_nothing(namespace, ansible):
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = ansible.playbook(os.path.join(repo, "playbooks", "quarantine.yml"),
                            extra_vars={"pod": "web-typo", "namespace": namespace, "quarantine_evidence_before_relabel": False},
                            env={"K8S_AUTH_KUBECONFIG": ansible.kubeconfig, "K8S_AUTH_CONTEXT": ansible.context})
    assert proc.returncode != 0
    assert 'pod \\"web-typo\\" not found' in proc.stdout or 'pod "web-typo" not found' in proc.stdout, proc.stdout
    assert not os.path.exists(os.path.join(ansible.tmpdir, "evidence")) or not os.listdir(os.path.join(ansible.tmpdir, "evidence"))
