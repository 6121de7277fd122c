"""A fleet in AWX as AWX runs it (tests/integration/awx_job.py): an inventory update of the project's
inventory source (examples/awx-project/inventory/clusters.kubeconfig.yml, the triage.k8s.kubeconfig
plugin) with ONE multi-context kubeconfig credential (examples/awx/credential-type-kubeconfig.yml,
contexts for both local clusters, a ServiceAccount token each), then jobs against the stored
inventory with the same credential attached; sliced (job_slice_count 2) for the scan and cleanup
fleet reports."""

import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest
from kubernetes import client

import awx_job
from awx_job import Credential, InventoryUpdate, kubeconfig_credential, launch, multi_context_kubeconfig
from conftest import api_client_for
from k8s_helpers import JobIdentity, cluster_server_and_ca, contract_pod_body, crash_looping_pod, create, names_in, wait_list

SCAN_VARS = {"crashloop_scan_restart_threshold": 1}


class Cluster:
    def __init__(self, kubeconfig, context, namespace, jobs):
        self.context = context
        self.api = api_client_for(kubeconfig, context)
        self.core = client.CoreV1Api(self.api)
        self.namespace = namespace
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
        self.identities = dict((job, JobIdentity(self.api, job, namespace)) for job in jobs)

    def credential_entry(self, job, token=None):
        server, ca = cluster_server_and_ca(self.api)
        return (self.context, server, ca, token or self.identities[job].token())

    def delete(self):
        for identity in self.identities.values():
            identity.delete()
        try:
            self.core.delete_namespace(self.namespace, grace_period_seconds=0, propagation_policy="Background")
        except client.ApiException:
            pass


@pytest.fixture
def fleet(clusters):
    """Both local clusters, the same fresh namespace in each, ServiceAccounts of docs/rbac/scan.yaml
    cleanup.yaml and evidence.yaml in it."""
    namespace = "awxfleet-%s" % uuid.uuid4().hex[:6]
    made = []
    try:
        for context in clusters["contexts"]:
            made.append(Cluster(clusters["kubeconfig"], context, namespace, ("scan", "cleanup", "evidence")))
        yield made
    finally:
        for cluster in made:
            cluster.delete()


def fleet_credential(fleet, job, broken=None):
    """One kubeconfig credential, one context per cluster (no context input: the host's k8s_context
    picks it). broken: the context whose token the API server refuses."""
    entries = [c.credential_entry(job, token="not-a-token" if c.context == broken else None) for c in fleet]
    credential = kubeconfig_credential(multi_context_kubeconfig(entries))
    credential.secrets.extend(e[3] for e in entries)  # each token on its own, not only the whole file
    return credential


def inventory_update(tmp_path, credential):
    update = InventoryUpdate(tmp_path / "inventory-update", [credential])
    return update


def read_json(path):
    with open(path) as f:
        return json.load(f)


# ---------------------------------------------------------------- the inventory update

def test_inventory_update_stores_one_host_per_context_and_no_credential(fleet, tmp_path):
    credential = fleet_credential(fleet, "scan")
    update = inventory_update(tmp_path, credential)

    stored = update.inventory
    assert sorted(stored.hosts) == sorted(c.context for c in fleet)
    assert stored.groups["k8s_clusters"]["hosts"] == sorted(c.context for c in fleet)
    text = json.dumps(update.output) + update.stdout
    for secret in credential.secrets:
        assert secret not in text
    for token in [c.identities["scan"].token() for c in fleet]:
        assert token[:40] not in text
    assert awx_job.JWT_PREFIX not in text
    # The path the update saw is the credential's private file of that run: gone for every job.
    for name, host in stored.hosts.items():
        assert host["vars"]["k8s_context"] in (name, {"__ansible_unsafe": name})
    paths = set(json.dumps(h["vars"]["k8s_kubeconfig"]) for h in stored.hosts.values())
    assert len(paths) == 1 and os.path.join(update.pdd, "env") in paths.pop()


def test_without_the_credential_on_the_job_every_host_fails_on_the_gone_kubeconfig(fleet, tmp_path):
    """The stored k8s_kubeconfig is the inventory update's private file, deleted with its private data
    dir (as AWX deletes it): a job without the credential cannot reach any cluster, and says why."""
    update = inventory_update(tmp_path, fleet_credential(fleet, "scan"))
    gone = os.path.join(update.pdd, "env")
    shutil.rmtree(gone)

    (job,) = launch(tmp_path, "crashloop_scan", update.inventory, survey="crashloop-scan",
                    answers={"namespaces": fleet[0].namespace},
                    template_vars=dict(SCAN_VARS, report_dir=str(tmp_path / "reports"), target="k8s_clusters"))

    assert not job.successful
    assert "the scan failed on 2 of 2 cluster(s)" in job.stdout, job.stdout
    assert gone in job.stdout, job.stdout


# ---------------------------------------------------------------- crashloop_scan, sliced

def test_sliced_scan_each_slice_reports_its_own_clusters(fleet, tmp_path):
    sick = dict((c.context, crash_looping_pod(c.core, c.api, c.namespace, "sick")) for c in fleet)
    credential = fleet_credential(fleet, "scan")
    stored = inventory_update(tmp_path, credential).inventory
    reports = tmp_path / "shared-volume"

    jobs = launch(tmp_path, "crashloop_scan", stored, job_slice_count=2, survey="crashloop-scan",
                  answers={"namespaces": fleet[0].namespace}, credentials=[credential],
                  template_vars=dict(SCAN_VARS, report_dir=str(reports), target="k8s_clusters"))

    assert len(jobs) == 2
    names = sorted(c.context for c in fleet)
    seen = []
    for k, job in enumerate(jobs, start=1):
        job.assert_successful()
        assert job.hosts == [names[k - 1]]
        (host,) = job.hosts
        fleet_json = os.path.join(str(reports), "crashloop-fleet-slice-%d-of-2.json" % k)
        report = read_json(fleet_json)
        assert [c["cluster"] for c in report["clusters"]] == [host], report
        assert report["slice"] == {"number": k, "count": 2, "hosts": [host], "sliced": True,
                                   "label": "slice %d of 2" % k, "suffix": "-slice-%d-of-2" % k,
                                   "awx_job_id": job.job_id, "awx_workflow_job_id": 4999}, report["slice"]
        assert [p["name"] for p in report["clusters"][0]["unhealthy_pods"]] == [sick[host]]
        with open(fleet_json[:-4] + "md") as f:
            assert "slice %d of 2" % k in f.read()
        assert sorted(job.artifacts["triage_crashloop_reports"]) == sorted(
            os.path.join(str(reports), n) for n in ("crashloop-%s.json" % host, "crashloop-%s.md" % host,
                                                    "crashloop-fleet-slice-%d-of-2.json" % k,
                                                    "crashloop-fleet-slice-%d-of-2.md" % k))
        assert job.artifacts["triage_crashloop_slice"]["number"] == k
        assert job.leaks(str(reports)) == []
        seen.append(host)
    assert sorted(seen) == names
    # Both slices on one volume: four cluster reports and two fleet reports, nothing overwritten.
    assert sorted(os.listdir(str(reports))) == sorted(
        ["crashloop-%s.%s" % (h, e) for h in names for e in ("json", "md")]
        + ["crashloop-fleet-slice-%d-of-2.%s" % (k, e) for k in (1, 2) for e in ("json", "md")])


def test_sliced_scan_a_broken_cluster_fails_only_its_slice(fleet, tmp_path):
    names = sorted(c.context for c in fleet)
    broken = names[1]
    credential = fleet_credential(fleet, "scan", broken=broken)
    stored = inventory_update(tmp_path, credential).inventory
    reports = tmp_path / "shared-volume"

    jobs = launch(tmp_path, "crashloop_scan", stored, job_slice_count=2, survey="crashloop-scan",
                  answers={"namespaces": fleet[0].namespace}, credentials=[credential],
                  template_vars=dict(SCAN_VARS, report_dir=str(reports), target="k8s_clusters"))

    ok, bad = jobs
    ok.assert_successful()
    assert not bad.successful and bad.runner.rc != 0
    assert "the scan failed on 1 of 1 cluster(s): %s" % broken in bad.stdout, bad.stdout
    assert "slice 2 of 2" in bad.stdout
    assert read_json(os.path.join(str(reports), "crashloop-fleet-slice-1-of-2.json"))["failed_clusters"] == []
    report = read_json(os.path.join(str(reports), "crashloop-fleet-slice-2-of-2.json"))
    assert report["failed_clusters"] == [broken]
    assert [c["cluster"] for c in report["clusters"]] == [broken]


def test_unsliced_scan_keeps_the_fleet_report_name(fleet, tmp_path):
    credential = fleet_credential(fleet, "scan")
    stored = inventory_update(tmp_path, credential).inventory
    reports = tmp_path / "reports"

    (job,) = launch(tmp_path, "crashloop_scan", stored, survey="crashloop-scan",
                    answers={"namespaces": fleet[0].namespace}, credentials=[credential],
                    template_vars=dict(SCAN_VARS, report_dir=str(reports), target="k8s_clusters"))

    job.assert_successful()
    report = read_json(os.path.join(str(reports), "crashloop-fleet.json"))
    assert sorted(c["cluster"] for c in report["clusters"]) == sorted(c.context for c in fleet)
    assert report["slice"]["count"] == 1


# ---------------------------------------------------------------- cleanup, sliced

def test_sliced_cleanup_each_slice_reports_its_own_clusters(fleet, tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    hour = datetime.timedelta(hours=1)
    for c in fleet:
        create(c.api, c.namespace, contract_pod_body("expired", now - 3 * hour, now - hour, evidence="bundle-1"))
    credential = fleet_credential(fleet, "cleanup")
    stored = inventory_update(tmp_path, credential).inventory
    reports = tmp_path / "shared-volume"

    jobs = launch(tmp_path, "cleanup", stored, job_slice_count=2, survey="cleanup", credentials=[credential],
                  answers={"namespaces": fleet[0].namespace, "max_deletions": 5, "dry_run": "false"},
                  template_vars={"report_dir": str(reports), "target": "k8s_clusters"})

    names = sorted(c.context for c in fleet)
    summaries = []
    for k, job in enumerate(jobs, start=1):
        job.assert_successful()
        summary = job.artifacts["triage_cleanup"]
        assert [c["cluster"] for c in summary["clusters"]] == [names[k - 1]], summary
        assert summary["slice"]["number"] == k and summary["slice"]["count"] == 2
        path = os.path.join(summary["report_dir"], "summary-slice-%d-of-2.json" % k)
        written = read_json(path)
        assert [c["cluster"] for c in written["clusters"]] == [names[k - 1]]
        assert written["slice"]["number"] == k
        with open(path[:-4] + "md") as f:
            assert "slice %d of 2" % k in f.read()
        summaries.append(path)
    assert len(set(summaries)) == 2
    for c in fleet:
        wait_list(c.core.list_namespaced_pod, lambda ps: ps == [], timeout=30, what="the expired pod to go",
                  namespace=c.namespace)
    assert all(names_in(c.api, c.namespace) == [] for c in fleet)


# ---------------------------------------------------------------- issue 13, "Done when"

def _verify_objects(s3, bucket, urls, local_files):
    """Each s3:// URL is an object in the bucket whose bytes hash like the local file of the same name."""
    by_name = dict((os.path.basename(p), p) for p in local_files)
    store = s3.client()
    for url in urls:
        assert url.startswith("s3://%s/" % bucket), url
        key = url[len("s3://%s/" % bucket):]
        body = store.get_object(Bucket=bucket, Key=key)["Body"].read()
        with open(by_name[os.path.basename(key)], "rb") as f:
            assert hashlib.sha256(body).hexdigest() == hashlib.sha256(f.read()).hexdigest(), key


def _command_only(job):
    """ansible-runner records the environment it was given (the S3 secret key and the webhook URL,
    as AWX injects them) in artifacts/<id>/command; nothing else the job left may hold a secret."""
    assert job.leaks() == [os.path.join("artifacts", str(job.job_id), "command")], job.leaks()


def test_done_when_evidence_scan_and_cleanup_jobs_store_verified_objects_and_notify(fleet, s3, receiver, tmp_path):
    """Issue 13: the evidence, scan and cleanup playbooks, run as AWX runs them (inventory update of the
    kubeconfig source, then jobs with a kubeconfig, an S3 and a webhook credential), leave verified
    objects in a real S3 server and notifications at the receiver; the pod annotation names the
    object; cleanup with require_evidence: remote deletes only the pod whose remote evidence verifies."""
    if s3.proc is None:
        s3.start()
    bucket = s3.make_bucket()
    now = datetime.datetime.now(datetime.timezone.utc)
    hour = datetime.timedelta(hours=1)
    a = fleet[0]
    ns = a.namespace
    create(a.api, ns, contract_pod_body("victim", now - 3 * hour, now - hour))
    create(a.api, ns, contract_pod_body("local-only", now - 3 * hour, now - hour, evidence="bundle-on-a-lost-disk"))
    sick = dict((c.context, crash_looping_pod(c.core, c.api, ns, "sick")) for c in fleet)
    store = Credential("credential-type-s3.yml", access_key=s3.access_key, secret_key=s3.secret_key,
                       region=s3.region, bucket=bucket, prefix="prod/", endpoint_url=s3.endpoint)
    webhook = Credential("credential-type-webhook.yml", url=receiver.url)
    stored = inventory_update(tmp_path, fleet_credential(fleet, "scan")).inventory
    common = {"target": "k8s_clusters", "triage_notify": {"format": "json"}}

    # 1. Evidence of the victim (AWX job limited to its cluster).
    (evidence,) = launch(tmp_path / "evidence", "collect_evidence", stored, job_id=6000, survey="evidence",
                         answers={"pod": "victim", "namespace": ns, "include": ["manifest", "describe", "events"]},
                         credentials=[fleet_credential(fleet, "evidence"), store, webhook], template_vars=common,
                         limit=a.context)
    evidence.assert_successful()
    (bundle,) = evidence.artifacts["triage_evidence_bundles"]
    assert bundle["remote_url"].startswith("s3://%s/prod/" % bucket), bundle
    annotation = json.loads(a.core.read_namespaced_pod("victim", ns).metadata.annotations["triage.k8s/evidence"])
    remote = annotation["remote"]
    assert remote["url"] == bundle["remote_url"] and remote["bucket"] == bucket, remote
    manifest = s3.client().get_object(Bucket=bucket, Key=remote["manifest_key"])["Body"].read()
    assert hashlib.sha256(manifest).hexdigest() == annotation["manifest_sha256"]
    listed = s3.objects(bucket, remote["prefix"].rstrip("/"))  # archive mode: BUNDLE.tar.gz + BUNDLE/manifest.json
    assert len(listed) == remote["objects"] and remote["manifest_key"] in listed, listed
    _command_only(evidence)
    # A pod whose annotation names the same objects with another manifest checksum: they do not verify for it.
    forged = dict(annotation, manifest_sha256="0" * 64)
    create(a.api, ns, contract_pod_body("forged", now - 3 * hour, now - hour, extra_annotations={
        "triage.k8s/evidence": json.dumps(forged, sort_keys=True, separators=(",", ":"))}))

    # 2. The scan, sliced in two: each slice uploads its reports and notifies for its cluster.
    reports = tmp_path / "shared-volume"
    scans = launch(tmp_path / "scan", "crashloop_scan", stored, job_slice_count=2, job_id=6100, survey="crashloop-scan",
                   answers={"namespaces": ns}, credentials=[fleet_credential(fleet, "scan"), store, webhook],
                   template_vars=dict(common, report_dir=str(reports), crashloop_scan_restart_threshold=1))
    for k, job in enumerate(scans, start=1):
        job.assert_successful()
        urls = job.artifacts["triage_crashloop_report_urls"]
        assert len(urls) == 4 and all("/prod/reports/crashloop/" in u for u in urls), urls
        assert any(u.endswith("crashloop-fleet-slice-%d-of-2.json" % k) for u in urls), urls
        _verify_objects(s3, bucket, urls, job.artifacts["triage_crashloop_reports"])
        _command_only(job)
    scanned = [r["json"] for r in receiver.wait(2) if r["json"]["event"] == "scan"]
    assert sorted(n["cluster"] for n in scanned) == sorted(c.context for c in fleet), scanned
    for note in scanned:
        assert [i["pod"] for i in note["items"]] == [sick[note["cluster"]]], note

    # 3. Cleanup with require_evidence: remote, against the same store.
    (cleanup,) = launch(tmp_path / "cleanup", "cleanup", stored, job_id=6200, survey="cleanup",
                        answers={"namespaces": ns, "max_deletions": 5, "dry_run": "false", "require_evidence": "remote"},
                        credentials=[fleet_credential(fleet, "cleanup"), store, webhook],
                        template_vars=dict(common, report_dir=str(tmp_path / "cleanup-reports")))
    cleanup.assert_successful()
    wait_list(a.core.list_namespaced_pod, lambda ps: "victim" not in [p.metadata.name for p in ps], timeout=30,
              what="the victim to go", namespace=ns)
    assert "local-only" in names_in(a.api, ns) and "forged" in names_in(a.api, ns)
    summary = cleanup.artifacts["triage_cleanup"]
    (on_a,) = [c for c in summary["clusters"] if c["cluster"] == a.context]
    assert on_a["summary"]["deleted"] == 1 and on_a["summary"]["skipped"] == 2, on_a
    kept = dict((e["name"], e["why"]) for e in read_json(os.path.join(summary["report_dir"], a.context + ".json"))["pods_skipped"])
    assert "does not verify" in kept["forged"] and "no remote copy" in kept["local-only"], kept
    assert summary["report_urls"] and all("/prod/reports/cleanup/" in u for u in summary["report_urls"])
    local = [os.path.join(summary["report_dir"], n) for n in os.listdir(summary["report_dir"])]
    _verify_objects(s3, bucket, summary["report_urls"], local)
    notes = [r["json"] for r in receiver.wait(3) if r["json"]["event"] == "cleanup"]
    time.sleep(0.5)
    # Only the cluster where something was deleted notifies: a quiet night stays quiet.
    assert [n["cluster"] for n in notes] == [a.context], notes
    assert [i["pod"] for i in notes[0]["items"]] == ["victim"], notes
    _command_only(cleanup)


def test_a_refused_upload_keeps_the_reports_and_fails_the_scan_at_the_end(fleet, s3, tmp_path):
    if s3.proc is None:
        s3.start()
    bucket = s3.make_bucket()
    store = Credential("credential-type-s3.yml", access_key=s3.access_key, secret_key="not-the-secret-key",
                       region=s3.region, bucket=bucket, endpoint_url=s3.endpoint)
    credential = fleet_credential(fleet, "scan")
    stored = inventory_update(tmp_path, credential).inventory
    reports = tmp_path / "reports"

    (job,) = launch(tmp_path, "crashloop_scan", stored, survey="crashloop-scan", answers={"namespaces": fleet[0].namespace},
                    credentials=[credential, store], template_vars=dict(SCAN_VARS, report_dir=str(reports),
                                                                        target="k8s_clusters"))

    assert not job.successful
    assert "every cluster was scanned and the reports are in %s, but not all of them were uploaded to s3://%s" % (
        reports, bucket) in job.stdout, job.stdout
    assert "not-the-secret-key" not in job.stdout
    report = read_json(os.path.join(str(reports), "crashloop-fleet.json"))
    assert sorted(c["status"] for c in report["clusters"]) == ["scanned", "scanned"]
    assert all(c["upload_error"] and c["report_urls"] == [] for c in report["clusters"]), report
    assert job.artifacts["triage_crashloop_report_urls"] == []
    assert s3.objects(bucket) == {}


# ---------------------------------------------------------------- the slice rule on its own

SLICE_CASES = [
    # (every host of the source, the hosts of this job, triage_job_slice_count, (number, count) or None = unknown)
    (["a", "b", "c"], ["a", "b", "c"], None, (1, 1)),
    (["a", "b", "c"], ["a", "c"], None, (1, 2)),
    (["a", "b", "c"], ["b"], None, None),  # slice 2 of 2 or of 3: the list cannot tell
    (["a", "b", "c"], ["b"], 3, (2, 3)),
    (["a", "b", "c"], ["b"], 2, (2, 2)),
    (["a", "b", "c"], ["c"], None, (3, 3)),
    (["a", "b", "c"], ["a", "b"], None, None),  # not an AWX slice
    (["a", "b"], ["b"], None, (2, 2)),
    (["a", "b"], ["x"], None, None),  # a host the source did not make
    ([], ["a"], None, (1, 1)),  # another inventory: not sliced as far as anyone can tell
    (["a", "b", "c"], ["a", "b", "x"], "no workflow", (1, 1)),  # a standalone job is no slice
]


@pytest.mark.parametrize("fleet_hosts,hosts,given,expected", SLICE_CASES)
def test_slice_rule(fleet_hosts, hosts, given, expected, tmp_path):
    """roles/*/templates/slice.j2 (the same file in both roles) on a script inventory as AWX writes it."""
    role_dir = os.path.join(awx_job.REPO, "roles")
    with open(os.path.join(role_dir, "crashloop_scan", "templates", "slice.j2")) as one:
        with open(os.path.join(role_dir, "cleanup", "templates", "slice.j2")) as other:
            assert one.read() == other.read()
    data = {"all": {"vars": {"k8s_fleet_hosts": [{"__ansible_unsafe": h} for h in fleet_hosts]} if fleet_hosts else {},
                    "children": ["k8s_clusters"]},
            "k8s_clusters": {"hosts": hosts}, "_meta": {"hostvars": dict((h, {"remote_tower_id": 1}) for h in hosts)}}
    script = tmp_path / "hosts"
    script.write_text("#! /usr/bin/env python3\nprint(%r)\n" % json.dumps(data))
    script.chmod(0o700)
    out = tmp_path / "slice.json"
    play = tmp_path / "play.yml"
    task = {"run_once": True, "ansible.builtin.copy": {
        "content": "{{ lookup('ansible.builtin.template', '%s/crashloop_scan/templates/slice.j2') }}" % role_dir,
        "dest": str(out)}}
    play.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "connection": "local",
                                 "vars": {"ansible_python_interpreter": sys.executable}, "tasks": [task]}]))
    extra = {"awx_job_id": 77, "awx_workflow_job_id": 76}
    if given == "no workflow":
        del extra["awx_workflow_job_id"]
    elif given:
        extra["triage_job_slice_count"] = given
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(script),
                           str(play), "-e", json.dumps(extra)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout
    found = read_json(str(out))
    assert found["hosts"] == sorted(hosts)
    if expected is None:
        assert (found["number"], found["count"], found["suffix"]) == (None, None, "-job-77"), found
        assert found["sliced"] and "which one is unknown" in found["label"], found
    else:
        assert (found["number"], found["count"]) == expected, found
        assert found["sliced"] == (expected[1] > 1)
        assert found["suffix"] == ("-slice-%d-of-%d" % expected if expected[1] > 1 else "")
