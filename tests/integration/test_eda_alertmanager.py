"""The shipped rulebook alertmanager_quarantine.yml under real ansible-rulebook, fed by a real
Alertmanager (hack/alertmanager/build.sh) that receives the alert through its own API exactly as
Prometheus posts it and routes it by webhook to the rulebook's triage.k8s.alertmanager source; the
playbooks act on the local control plane. Outcomes are read from Kubernetes objects: the alerted
pod's labels, annotations and ownerReferences, the Service's EndpointSlices, and the evidence
bundle on disk. The other pod of the Deployment is left alone.

Bound: the pod is quarantined and out of the Service's EndpointSlices within QUARANTINE_BOUND
seconds of the POST to Alertmanager. Measured 5 to 10 s on the 2-core development machine with
other test runs going (about 1.5 s to the event: group_wait 1s; the rest is eda_quarantine.yml
and the quarantine); the whole test takes 15 to 22 s once the cluster is up."""

import datetime
import time
import uuid

import pytest
from kubernetes import client

from alertmanager import Alertmanager, alert, free_port
from eda import rulebook_factory
from k8s_helpers import annotate_behavior, our_events, serving_deployment, wait_list, wait_not_in_slices, wait_pod

QUARANTINE_BOUND = 60
QUARANTINED = "triage.k8s/quarantined"


@pytest.fixture
def rulebook(tmp_path):
    make, stop_all = rulebook_factory(tmp_path)
    yield make
    stop_all()


def _restarted(pod):
    return any(cs.restart_count for cs in pod.status.container_statuses or [])


def _receiver_up(url):
    import urllib.request

    def check(_rb):
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                return resp.status == 200
        except OSError:
            return False
    return check


def test_an_alert_through_alertmanager_quarantines_the_pod_with_evidence(api, core, namespace, kubeconfig, context,
                                                                         rulebook, tmp_path):
    names = serving_deployment(core, api, namespace, replicas=2)
    sick, healthy = names
    annotate_behavior(core, namespace, sick, "crashloop")
    wait_pod(core, namespace, sick, _restarted, "%s restarting" % sick, timeout=60)

    port, token = free_port(), uuid.uuid4().hex
    evidence = tmp_path / "evidence"
    rb = rulebook("triage.k8s.alertmanager_quarantine", args=["-v"], variables={
        "alertmanager_port": port, "alertmanager_token": token,
        # The alert names its cluster as an external label would; the map gives its kubeconfig context.
        "cluster_contexts": {"triage-a": context}, "kubeconfig": kubeconfig,
        "namespaces": [namespace], "ttl": "1h", "evidence_dest": str(evidence),
        # Other tests quarantine pods on this cluster too; the hourly budget is not what is tested here.
        "max_quarantines_per_hour": 1000,
    })
    receiver = "http://127.0.0.1:%d/alerts" % port
    rb.wait_for(_receiver_up(receiver), 90, "the alertmanager source listening")

    with Alertmanager(tmp_path / "alertmanager", receiver, token=token) as am:
        labels = {"alertname": "KubePodCrashLooping", "namespace": namespace, "pod": sick, "container": "app",
                  "job": "kube-state-metrics", "severity": "warning", "cluster": "triage-a"}
        firing = alert(labels, {
            "description": "Pod %s/%s (app) is in waiting state (reason: \"CrashLoopBackOff\")." % (namespace, sick),
            "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
            "summary": "Pod is crash looping."})
        posted = time.time()
        am.post_alerts([firing])
        # An alert for a namespace outside the allow-list is dropped by the source.
        am.post_alerts([alert(dict(labels, namespace="kube-system", pod="coredns-1"))])

        pod = wait_pod(core, namespace, sick, lambda p: (p.metadata.labels or {}).get(QUARANTINED) == "true",
                       "%s quarantined" % sick, timeout=QUARANTINE_BOUND)
        wait_not_in_slices(client.DiscoveryV1Api(api), namespace, "web", sick, timeout=30)
        took = time.time() - posted
        print("alert POSTed to Alertmanager -> pod quarantined and out of the EndpointSlices: %.1fs" % took)
        assert took < QUARANTINE_BOUND

        ann = pod.metadata.annotations or {}
        assert "KubePodCrashLooping (triage.k8s.alertmanager): Pod %s/%s (app)" % (namespace, sick) in ann["triage.k8s/reason"]
        assert "triage.k8s/expires-at" in ann
        # Its labels no longer match the ReplicaSet's selector: the ReplicaSet controller releases it.
        wait_pod(core, namespace, sick, lambda p: not [r for r in p.metadata.owner_references or [] if r.controller],
                 "%s released by its ReplicaSet" % sick, timeout=30)

        # The evidence bundle: on disk, and linked from the pod once collected after relabelling.
        pod = wait_pod(core, namespace, sick, lambda p: "triage.k8s/evidence" in (p.metadata.annotations or {}),
                       "the evidence annotation on %s" % sick, timeout=60)
        manifests = list(evidence.glob("**/manifest.json"))
        assert manifests, "no evidence bundle under %s" % evidence
        assert any(sick in str(path) for path in manifests), manifests
        # And what was done is on the pod for `kubectl events`.
        reasons = [e.reason for e in our_events(api, namespace, sick)]
        assert reasons.count("Quarantined") == 1 and "EvidenceCollected" in reasons, reasons

        # Alertmanager sends the group again (repeat_interval 4s): no second event, no second playbook run.
        rb.wait_for(lambda r: "1 repeat(s) so far" in r.log(), 30, "a repeated notification")
        firing["endsAt"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        am.post_alerts([firing])
        rb.wait_for(lambda r: any(e["triage"]["transition"] == "recovered" for e in r.events()), 30, "the resolved alert")

    events = [e["triage"] for e in rb.events()]
    assert [(e["transition"], e["pod"], e["class"]) for e in events] == [
        ("unhealthy", sick, "crash_loop"), ("recovered", sick, "healthy")], events
    assert all(e["source"] == "alertmanager" and e["cluster"] == context for e in events)
    assert "namespace kube-system is not in the source's namespaces; ignored" in rb.log()
    assert token not in rb.log() and token not in am.log(), "the bearer token was logged"

    # One pod of the owner is quarantined, the healthy one is untouched and still serving.
    quarantined = core.list_namespaced_pod(namespace, label_selector=QUARANTINED + "=true").items
    assert [p.metadata.name for p in quarantined] == [sick]
    assert QUARANTINED not in (core.read_namespaced_pod(healthy, namespace).metadata.labels or {})
    wait_list(core.list_namespaced_pod, lambda ps: len(ps) >= 2, timeout=30, what="a replacement for %s" % sick,
              namespace=namespace, label_selector="app=web")
