"""triage.k8s.notify through ansible-playbook against a local receiver (tests/integration/receiver.py):
what arrives, retries (429/5xx with Retry-After, capped), no retry of 4xx, check mode, the
TRIAGE_K8S_NOTIFY_URL fallback, and that the URL (a secret) is never shown. No cluster needed,
except for the quarantine role tests at the end."""

import datetime
import json
import os
import time
import uuid

import yaml

from conftest import AnsibleRunner
from k8s_helpers import contract_pod_body, create, deployment, pod_ready, service, wait_list
from receiver import Receiver, make_certificates, running


def _runner(tmp_path):
    return AnsibleRunner(None, None, str(tmp_path))


def _notify(tmp_path, args, check=False, env=None, verbosity=""):
    """Run triage.k8s.notify once; return (result, everything ansible-playbook printed)."""
    out = os.path.join(str(tmp_path), "result-%s.json" % uuid.uuid4().hex)
    task = {"name": "under test", "triage.k8s.notify": args, "register": "result", "ignore_errors": True}
    if check:
        task["check_mode"] = True
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": [task]}]
    runner = _runner(tmp_path)
    proc = runner.playbook_content(play, env=runner.results_env(out, env), args=[verbosity] if verbosity else [])
    printed = proc.stdout + proc.stderr
    return runner.saved_results(out, "notify", printed)["result"], printed


def _secret_parts(receiver):
    return [receiver.url, receiver.path, receiver.path.rsplit("/", 1)[-1]]


def _assert_url_hidden(receiver, *texts):
    for text in texts:
        if not isinstance(text, str):
            text = json.dumps(text)
        for secret in _secret_parts(receiver):
            assert secret not in text, "the webhook URL (%s) leaked:\n%s" % (secret, text)


ITEM = {"namespace": "shop", "pod": "web-7d4b9c-x2x9k", "reason": "OOM at 03:00", "class": "oom_killed",
        "next_step": "raise the memory limit", "evidence_url": "s3://evidence/prod/shop-web-7d4b9c-x2x9k/"}


def test_slack_notification_arrives_as_slack_takes_it(receiver, tmp_path):
    result, printed = _notify(tmp_path, {"url": receiver.url, "event": "quarantine", "cluster": "prod-eu",
                                         "items": [ITEM], "summary": {"quarantined": 1}}, verbosity="-vvv")
    assert result["changed"] is True and result["sent"] is True, result
    assert result["status"] == 200 and result["attempts"] == 1 and result["delivery"] == "sent"
    got = receiver.wait(1)
    assert len(receiver.requests) == 1
    request = got[0]
    assert request["path"] == receiver.path
    assert request["headers"]["content-type"] == "application/json; charset=utf-8"
    assert request["json"] == result["payload"]
    body = request["json"]
    assert body["blocks"][0]["text"]["text"] == "triage.k8s quarantine on prod-eu: 1 pod"
    section = body["blocks"][-1]["text"]["text"]
    assert "*shop/web-7d4b9c-x2x9k* \u2014 oom_killed" in section
    assert "Evidence: `s3://evidence/prod/shop-web-7d4b9c-x2x9k/`" in section
    assert ("Release: `ansible-playbook triage.k8s.release -e pod=shop/web-7d4b9c-x2x9k -e context=prod-eu`"
            in section)
    assert "the webhook (http://127.0.0.1:%d/...)" % receiver.port in result["msg"]
    # Even at -vvv (the invocation is printed) the URL shows nowhere.
    _assert_url_hidden(receiver, printed, result)


def test_json_notification_with_a_token_header(receiver, tmp_path):
    token = "Bearer tok-%s" % uuid.uuid4().hex
    result, printed = _notify(tmp_path, {"url": receiver.url, "format": "json", "event": "scan", "cluster": "c1",
                                         "headers": {"Authorization": token},
                                         "items": [ITEM, {"pod": "lonely"}], "summary": {"unhealthy": 2}},
                              verbosity="-vvv")
    assert result["sent"] is True, result
    body = receiver.wait(1)[0]
    assert body["headers"]["authorization"] == token
    payload = body["json"]
    assert payload["source"] == "triage.k8s" and payload["version"] == 1 and payload["event"] == "scan"
    assert payload["cluster"] == "c1" and payload["summary"] == {"unhealthy": 2}
    assert payload["items"][1] == {"namespace": None, "pod": "lonely", "reason": None, "class": None,
                                   "next_step": None, "evidence_url": None, "release_command": None, "note": None}
    assert payload["generated_at"].endswith("Z")
    assert token not in printed and token.split()[1] not in json.dumps(result)
    _assert_url_hidden(receiver, printed, result)


def test_hostile_and_non_ascii_text_arrive_escaped(receiver, tmp_path):
    item = dict(ITEM, reason="<!channel> @here crash \u65e5\u672c\u8a9e & <@U123|boss>", pod="w\u00e9b-1")
    result = _notify(tmp_path, {"url": receiver.url, "event": "quarantine", "cluster": "z\u00fcrich", "items": [item]})[0]
    assert result["sent"] is True, result
    text = receiver.wait(1)[0]["json"]["text"]
    assert "&lt;!channel&gt; @\u2060here crash \u65e5\u672c\u8a9e &amp; &lt;@\u2060U123|boss&gt;" in text
    assert "w\u00e9b-1" in text and "z\u00fcrich" in text
    assert "<!channel>" not in receiver.requests[0]["body"]


def test_5xx_and_429_are_retried_honouring_retry_after(receiver, tmp_path):
    receiver.fail_next(1, status=503, retry_after=1)
    receiver.fail_next(1, status=429, retry_after=2)
    started = time.monotonic()
    result, printed = _notify(tmp_path, {"url": receiver.url, "event": "cleanup", "cluster": "c", "retries": 3})
    assert result["sent"] is True and result["attempts"] == 3, result
    assert [r["status"] for r in receiver.wait(3)] == [503, 429, 200]
    assert [h["waited"] for h in result["history"]] == [1.0, 2.0, 0.0]
    gaps = [b["at"] - a["at"] for a, b in zip(receiver.requests, receiver.requests[1:])]
    assert gaps[0] >= 0.9 and gaps[1] >= 1.9, gaps
    assert time.monotonic() - started < 30
    _assert_url_hidden(receiver, printed, result)


def test_a_huge_retry_after_is_capped(receiver, tmp_path):
    receiver.fail_next(1, status=429, retry_after=3600)
    started = time.monotonic()
    result = _notify(tmp_path, {"url": receiver.url, "event": "scan", "retry_max_delay": 1})[0]
    assert result["sent"] is True and result["attempts"] == 2, result
    assert result["history"][0]["waited"] == 1.0
    assert time.monotonic() - started < 30


def test_4xx_is_not_retried_and_fails_with_an_actionable_message(receiver, tmp_path):
    receiver.fail_next(1, status=404, body="no_service")
    result, printed = _notify(tmp_path, {"url": receiver.url, "event": "scan", "retries": 3}, verbosity="-vvv")
    assert result["failed"] is True and result["changed"] is False and result["sent"] is False, result
    assert result["attempts"] == 1 and len(receiver.wait(1)) == 1
    time.sleep(0.5)
    assert len(receiver.requests) == 1
    msg = result["msg"]
    assert msg.startswith("notification not sent: the webhook (http://127.0.0.1:%d/...) answered HTTP 404 (no_service)"
                          % receiver.port), msg
    assert "not retried" in msg and "check the URL" in msg and "Nothing else was changed" in msg
    assert "Traceback" not in printed
    _assert_url_hidden(receiver, printed, result)


def test_a_wrong_path_gets_the_receivers_404(receiver, tmp_path):
    url = receiver.url.replace(receiver.path, "/hook/wrong/one")
    result, printed = _notify(tmp_path, {"url": url, "event": "scan"})
    assert result["failed"] is True and result["status"] == 404, result
    assert "/hook/wrong/one" not in printed and "/hook/wrong/one" not in json.dumps(result)


def test_5xx_until_the_retries_run_out(receiver, tmp_path):
    receiver.fail_next(5, status=500)
    result, printed = _notify(tmp_path, {"url": receiver.url, "event": "scan", "retries": 2, "retry_max_delay": 0})
    assert result["failed"] is True and result["attempts"] == 3 and result["status"] == 500, result
    assert [h["status"] for h in result["history"]] == [500, 500, 500]
    assert "after 3 attempts" in result["msg"] and "try later" in result["msg"]
    assert len(receiver.wait(3)) == 3
    _assert_url_hidden(receiver, printed, result)


def test_fail_on_error_false_warns_instead(receiver, tmp_path):
    receiver.fail_next(1, status=403, body="forbidden")
    result, printed = _notify(tmp_path, {"url": receiver.url, "event": "scan", "fail_on_error": False})
    assert not result.get("failed") and result["sent"] is False and result["changed"] is False, result
    assert "[WARNING]: notification not sent: the webhook (http://127.0.0.1:%d/...) answered HTTP 403" % receiver.port \
        in " ".join(printed.split())
    _assert_url_hidden(receiver, printed, result)


def test_check_mode_sends_nothing_and_returns_the_payload(receiver, tmp_path):
    result, printed = _notify(tmp_path, {"url": receiver.url, "event": "quarantine", "items": [ITEM]}, check=True)
    assert result["changed"] is True and result["sent"] is False and result["delivery"] == "check_mode", result
    assert result["attempts"] == 0
    assert result["payload"]["blocks"][0]["text"]["text"].startswith("triage.k8s quarantine on")
    assert "would send a slack notification (quarantine, 1 pod)" in result["msg"]
    time.sleep(0.5)
    assert receiver.requests == []
    _assert_url_hidden(receiver, printed, result)


def test_the_url_from_the_environment(receiver, tmp_path):
    result, printed = _notify(tmp_path, {"event": "evidence", "cluster": "c"},
                              env={"TRIAGE_K8S_NOTIFY_URL": receiver.url}, verbosity="-vvv")
    assert result["sent"] is True, result
    assert receiver.wait(1)[0]["json"]["blocks"][0]["text"]["text"] == "triage.k8s evidence on c: 0 pods"
    _assert_url_hidden(receiver, printed, result)


def test_no_url_at_all_says_where_to_set_one(tmp_path):
    env = {"TRIAGE_K8S_NOTIFY_URL": ""}
    result = _notify(tmp_path, {"event": "scan"}, env=env)[0]
    assert result["failed"] is True
    assert "no webhook URL: set the url option or the TRIAGE_K8S_NOTIFY_URL environment variable" in result["msg"]


def test_a_url_that_is_not_http_is_refused_without_showing_it(tmp_path):
    result, printed = _notify(tmp_path, {"event": "scan", "url": "hooks.example/services/T/B/secretpart"})
    assert result["failed"] is True
    assert "url must be an http:// or https:// URL" in result["msg"]
    assert "secretpart" not in printed and "secretpart" not in json.dumps(result)


def test_nothing_listening_is_retried_then_reported(tmp_path):
    dead = Receiver().start()
    url = dead.url
    dead.stop()
    result, printed = _notify(tmp_path, {"url": url, "event": "scan", "retries": 1, "retry_max_delay": 0})
    assert result["failed"] is True and result["attempts"] == 2 and result["status"] is None, result
    assert "could not be reached: connection refused" in result["msg"], result["msg"]
    assert dead.path not in printed and dead.path not in json.dumps(result)


def test_a_timeout_may_have_delivered(receiver, tmp_path):
    receiver.delay_next(3)
    result, printed = _notify(tmp_path, {"url": receiver.url, "event": "scan", "timeout": 1, "retries": 0})
    receiver.delay_next(0)
    assert result["failed"] is True and result["delivery"] == "unknown", result
    # It may have arrived (it did: the receiver has it), so it counts as a change.
    assert result["changed"] is True
    assert "may still have arrived" in result["msg"]
    assert len(receiver.wait(1, timeout=10)) == 1
    _assert_url_hidden(receiver, printed, result)


def test_https_with_a_private_ca(tmp_path):
    ca, cert, key = make_certificates(tmp_path)
    with running(tls=(cert, key)) as tls_receiver:
        assert tls_receiver.url.startswith("https://127.0.0.1:")
        result, printed = _notify(tmp_path, {"url": tls_receiver.url, "event": "scan", "retries": 3})
        # Unknown CA: a TLS failure, not retried (a certificate does not get better), the hint names ca_path.
        assert result["failed"] is True and result["attempts"] == 1 and result["status"] is None, result
        assert "TLS failed" in result["msg"] and "set ca_path" in result["msg"], result["msg"]
        assert tls_receiver.requests == []
        _assert_url_hidden(tls_receiver, printed, result)

        result = _notify(tmp_path, {"url": tls_receiver.url, "event": "scan", "ca_path": ca})[0]
        assert result["sent"] is True, result
        result = _notify(tmp_path, {"url": tls_receiver.url, "event": "scan", "validate_certs": False})[0]
        assert result["sent"] is True, result
        assert len(tls_receiver.wait(2)) == 2


# -- the quarantine role (needs a cluster) --------------------------------------------------------

def _ready_pods(core, namespace, selector, count):
    return wait_list(core.list_namespaced_pod, lambda ps: len([p for p in ps if pod_ready(p)]) >= count,
                     timeout=60, what="%d ready pods" % count, namespace=namespace, label_selector=selector)


def _play(ansible, name, extra, kubeconfig, context, env=None):
    proc = ansible.playbook("triage.k8s.%s" % name, extra_vars=dict(extra, kubeconfig=kubeconfig, context=context),
                            env=dict({"ANSIBLE_SHOW_CUSTOM_STATS": "1"}, **(env or {})))
    return proc, proc.stdout + proc.stderr


def _custom_stats(out):
    """The CUSTOM STATS ansible-playbook prints at the end (ANSIBLE_SHOW_CUSTOM_STATS)."""
    marker = "CUSTOM STATS:"
    assert marker in out, out
    text = out.split(marker, 1)[1]
    start = text.index("{")
    depth = 0
    for index, char in enumerate(text[start:], start):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            return yaml.safe_load(text[start:index + 1])
    raise AssertionError(out)


def test_quarantine_and_release_playbooks_notify(core, apps, namespace, ansible, kubeconfig, context, receiver):
    labels = {"app": "shop"}
    apps.create_namespaced_deployment(namespace, deployment("shop", 2, labels))
    core.create_namespaced_service(namespace, service("shop", labels))
    sick = sorted(p.metadata.name for p in _ready_pods(core, namespace, "app=shop", 2))[0]

    notify = {"url": receiver.url, "format": "json"}
    proc, out = _play(ansible, "quarantine", {"pod": sick, "namespace": namespace, "reason": "<!channel> it hurts",
                                              "ttl": "2h", "collect_evidence": False, "triage_notify": notify},
                      kubeconfig, context)
    assert proc.returncode == 0, out
    payload = receiver.wait(1)[0]["json"]
    assert payload["event"] == "quarantine" and payload["cluster"] == context
    assert payload["summary"]["quarantined"] == 1
    assert payload["summary"]["traffic"] == "out of shop"
    item = payload["items"][0]
    assert item["namespace"] == namespace and item["pod"] == sick
    assert item["reason"] == "<!channel> it hurts"
    assert item["release_command"] == "ansible-playbook triage.k8s.release -e pod=%s/%s -e context=%s" % (
        namespace, sick, context)
    assert item["next_step"].startswith("investigate: kubectl --context %s -n %s logs %s" % (context, namespace, sick))
    assert item["note"].startswith("quarantined, expires 20")
    assert item["evidence_url"] is None
    stats = _custom_stats(out)
    assert stats["triage_notifications"][0]["sent"] is True
    assert stats["triage_notifications"][0]["event"] == "quarantine"
    _assert_url_hidden(receiver, out)

    proc, out = _play(ansible, "release", {"pod": sick, "namespace": namespace, "triage_notify": notify},
                      kubeconfig, context)
    assert proc.returncode == 0, out
    payload = receiver.wait(2)[1]["json"]
    assert payload["event"] == "release" and payload["summary"] == {"released": 1}
    assert payload["items"][0]["pod"] == sick and payload["items"][0]["release_command"] is None
    _assert_url_hidden(receiver, out)


def test_the_quarantine_notification_links_the_verified_remote_evidence(core, apps, namespace, ansible, kubeconfig,
                                                                        context, receiver, s3, s3_bucket, tmp_path):
    labels = {"app": "shop"}
    apps.create_namespaced_deployment(namespace, deployment("shop", 2, labels))
    sick = sorted(p.metadata.name for p in _ready_pods(core, namespace, "app=shop", 2))[0]
    extra = {"pod": sick, "namespace": namespace, "reason": "evidence please",
             "triage_storage": s3.storage(s3_bucket, prefix="prod"), "triage_notify": {"url": receiver.url, "format": "json"}}
    proc = ansible.playbook("triage.k8s.quarantine", extra_vars=dict(extra, kubeconfig=kubeconfig, context=context),
                            args=["-e", "evidence_dest=%s" % (tmp_path / "ev")])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    item = receiver.wait(1)[0]["json"]["items"][0]
    assert item["evidence_url"] and item["evidence_url"].startswith("s3://%s/prod/" % s3_bucket), item
    # The link is the annotated bundle's (the one after relabelling).
    annotation = json.loads(core.read_namespaced_pod(sick, namespace).metadata.annotations["triage.k8s/evidence"])
    assert annotation["remote"]["url"] == item["evidence_url"]
    assert "on the controller only" not in item["note"]
    assert s3.secret_key not in out
    _assert_url_hidden(receiver, out)


def test_local_only_evidence_is_named_as_such(core, apps, namespace, ansible, kubeconfig, context, receiver):
    labels = {"app": "shop"}
    apps.create_namespaced_deployment(namespace, deployment("shop", 2, labels))
    sick = sorted(p.metadata.name for p in _ready_pods(core, namespace, "app=shop", 2))[0]
    proc, out = _play(ansible, "quarantine", {"pod": sick, "namespace": namespace,
                                              "triage_notify": {"url": receiver.url, "format": "json"}},
                      kubeconfig, context)
    assert proc.returncode == 0, out
    item = receiver.wait(1)[0]["json"]["items"][0]
    assert item["evidence_url"] is None
    assert "; evidence bundle " in item["note"] and item["note"].endswith("on the controller only (not stored remotely)")
    assert sick in item["note"]


def test_a_check_mode_quarantine_sends_nothing(core, apps, namespace, ansible, kubeconfig, context, receiver):
    labels = {"app": "shop"}
    apps.create_namespaced_deployment(namespace, deployment("shop", 2, labels))
    sick = sorted(p.metadata.name for p in _ready_pods(core, namespace, "app=shop", 2))[0]
    proc = ansible.playbook("triage.k8s.quarantine", args=["--check"], env={"ANSIBLE_SHOW_CUSTOM_STATS": "1"},
                            extra_vars={"pod": sick, "namespace": namespace, "collect_evidence": False,
                                        "kubeconfig": kubeconfig, "context": context,
                                        "triage_notify": {"url": receiver.url}})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "would be quarantined" in out
    stats = _custom_stats(out)["triage_notifications"][0]
    assert stats["delivery"] == "check_mode" and stats["sent"] is False
    time.sleep(0.5)
    assert receiver.requests == []


def test_a_failed_notification_does_not_fail_the_quarantine(core, apps, namespace, ansible, kubeconfig, context,
                                                            receiver):
    labels = {"app": "shop"}
    apps.create_namespaced_deployment(namespace, deployment("shop", 2, labels))
    sick = sorted(p.metadata.name for p in _ready_pods(core, namespace, "app=shop", 2))[0]
    receiver.fail_next(10, status=500)
    proc, out = _play(ansible, "quarantine", {"pod": sick, "namespace": namespace, "collect_evidence": False,
                                              "triage_notify": {"retries": 1, "retry_max_delay": 0}},
                      kubeconfig, context, env={"TRIAGE_K8S_NOTIFY_URL": receiver.url})
    assert proc.returncode == 0, out
    assert "%s/%s is quarantined" % (namespace, sick) in out
    flat = " ".join(out.split())
    assert "[WARNING]: notification not sent: the webhook (http://127.0.0.1:%d/...) answered HTTP 500" % receiver.port \
        in flat, out
    assert len(receiver.wait(2)) == 2
    stats = _custom_stats(out)["triage_notifications"][0]
    assert stats["sent"] is False and stats["attempts"] == 2 and stats["status"] == 500
    assert core.read_namespaced_pod(sick, namespace).metadata.labels.get("triage.k8s/quarantined") == "true"
    _assert_url_hidden(receiver, out)


def test_no_url_means_no_notification(core, apps, namespace, ansible, kubeconfig, context, receiver):
    labels = {"app": "shop"}
    apps.create_namespaced_deployment(namespace, deployment("shop", 2, labels))
    sick = sorted(p.metadata.name for p in _ready_pods(core, namespace, "app=shop", 2))[0]
    proc, out = _play(ansible, "quarantine", {"pod": sick, "namespace": namespace, "collect_evidence": False},
                      kubeconfig, context, env={"TRIAGE_K8S_NOTIFY_URL": ""})
    assert proc.returncode == 0, out
    assert "triage_notifications" not in _custom_stats(out)
    time.sleep(0.5)
    assert receiver.requests == []


# -- the crashloop_scan and cleanup roles' notify.yml, from results shaped as the modules return them --

SCAN_PODS = [
    {"namespace": "shop", "name": "web-1", "class": "crash_loop", "restarts": 7,
     "explanation": "container web keeps crashing (exit code 1: application error); the kubelet is backing off",
     "next_step": "read kubectl logs --previous"},
    {"namespace": "shop", "name": "web-2", "class": "crash_loop", "restarts": 6,
     "explanation": "container web keeps crashing <!here>", "next_step": "read kubectl logs --previous"},
    {"namespace": "batch", "name": "job-x", "class": "oom_killed", "restarts": 2,
     "explanation": "container worker was OOM-killed", "next_step": "raise the memory limit"},
]


def _role_tasks(tmp_path, role, variables, env=None):
    """Run roles/<role>/tasks/notify.yml with these variables set as the role's main.yml leaves them."""
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local", "vars": variables, "tasks": [
        {"name": "notify", "ansible.builtin.include_role": {"name": "triage.k8s.%s" % role, "tasks_from": "notify"}},
    ]}]
    proc = _runner(tmp_path).playbook_content(play, env=dict({"ANSIBLE_SHOW_CUSTOM_STATS": "1"}, **(env or {})))
    return proc, proc.stdout + proc.stderr


def test_scan_notification_lists_each_unhealthy_pod_and_its_quarantine(receiver, tmp_path):
    variables = {
        "triage_notify": {"url": receiver.url, "format": "json"},
        "crashloop_scan_cluster": "prod-eu",
        "crashloop_scan_error": "",
        "crashloop_scan_auto_quarantine": True,
        "crashloop_scan_result": {"pods": SCAN_PODS, "summary": {"total": 40}, "crashloop_detected": True},
        "crashloop_scan_quarantines": {"results": [
            {"item": SCAN_PODS[0], "changed": True,
             "commands": {"release": "ansible-playbook triage.k8s.release -e pod=shop/web-1"}},
            {"item": SCAN_PODS[1], "changed": False, "failed": True, "quarantined_pods": ["web-1"],
             "msg": "refused: the owner already has 1 quarantined pod"},
        ]},
        "crashloop_scan_outcomes": {"quarantined": ["shop/web-1"], "already": [],
                                    "workload_failing": [{"pod": "shop/web-2", "quarantined_already": ["web-1"]}],
                                    "failed": []},
        "crashloop_scan_upload": {"objects": [
            {"url": "s3://reports/crashloop/20261201T030405Z/crashloop-prod-eu.json"},
            {"url": "s3://reports/crashloop/20261201T030405Z/crashloop-prod-eu.md"}]},
    }
    proc, out = _role_tasks(tmp_path, "crashloop_scan", variables)
    assert proc.returncode == 0, out
    payload = receiver.wait(1)[0]["json"]
    assert payload["event"] == "scan" and payload["cluster"] == "prod-eu"
    assert payload["summary"] == {"scanned": 40, "unhealthy": 3, "crash_loop": 2, "oom_killed": 1, "quarantined": 1}
    assert payload["text"] == "Report: s3://reports/crashloop/20261201T030405Z/crashloop-prod-eu.md"
    web1, web2, job = payload["items"]
    assert web1["note"] == "quarantined now"
    assert web1["release_command"] == "ansible-playbook triage.k8s.release -e pod=shop/web-1"
    assert web1["reason"].startswith("container web keeps crashing") and web1["class"] == "crash_loop"
    assert web2["note"] == "not quarantined: its owner already has web-1 quarantined (the workload is failing)"
    assert web2["release_command"] is None
    assert job["note"] is None and job["next_step"] == "raise the memory limit" and job["release_command"] is None
    stats = _custom_stats(out)["triage_notifications"]
    assert stats[0]["sent"] is True and stats[0]["event"] == "scan"
    _assert_url_hidden(receiver, out)


def test_scan_notification_of_a_failed_scan_in_slack(receiver, tmp_path):
    variables = {
        "triage_notify": {"url": receiver.url},
        "crashloop_scan_cluster": "prod-us",
        "crashloop_scan_error": "Forbidden: cannot list pods at the cluster scope",
        "crashloop_scan_auto_quarantine": False,
        "crashloop_scan_result": {"pods": [], "summary": {"total": 0}, "crashloop_detected": False},
        "crashloop_scan_outcomes": {"quarantined": [], "already": [], "workload_failing": [], "failed": []},
    }
    proc, out = _role_tasks(tmp_path, "crashloop_scan", variables)
    assert proc.returncode == 0, out
    payload = receiver.wait(1)[0]["json"]
    assert payload["blocks"][0]["text"]["text"] == "triage.k8s crash-loop scan on prod-us failed"
    assert "The scan failed: Forbidden: cannot list pods at the cluster scope" in payload["text"]


def test_cleanup_notification_lists_deleted_and_failed_pods(receiver, tmp_path):
    outcome = {
        "cluster": "prod-eu", "host": "prod-eu", "run_id": "20261201T030405Z", "check_mode": False, "status": "failed",
        "error": "1 delete failed", "msg": "deleted 1 pod; 1 delete failed: shop/web-3 (Forbidden)",
        "summary": {"listed": 5, "deleted": 1, "skipped": 3, "failed": 1, "unknown": 0, "network_policies_deleted": 1},
        "pods_deleted": [{"namespace": "shop", "name": "web-1", "why": "expired 2h ago", "quarantine_reason": "OOM"}],
        "pods_skipped": [{}, {}, {}],
        "pods_failed": [{"namespace": "shop", "name": "web-3", "error": "Forbidden", "quarantine_reason": "crash"}],
        "pods_unknown": [],
    }
    variables = {"cleanup_notify": {"url": receiver.url, "format": "json"}, "cleanup_outcome": outcome}
    proc, out = _role_tasks(tmp_path, "cleanup", variables)
    assert proc.returncode == 0, out
    payload = receiver.wait(1)[0]["json"]
    assert payload["event"] == "cleanup" and payload["title"] == "triage.k8s cleanup on prod-eu failed"
    assert payload["text"] == "The cleanup failed: deleted 1 pod; 1 delete failed: shop/web-3 (Forbidden)"
    assert payload["summary"] == {"deleted": 1, "kept": 3, "failed": 1, "unknown": 0, "network_policies_deleted": 1}
    assert [(i["pod"], i["note"], i["reason"]) for i in payload["items"]] == [
        ("web-1", "deleted: expired 2h ago", "OOM"), ("web-3", "delete failed: Forbidden", "crash")]
    assert all(i["release_command"] is None for i in payload["items"])


def test_cleanup_dry_run_says_would_and_the_url_can_come_from_the_environment(receiver, tmp_path):
    outcome = {"cluster": "c", "check_mode": True, "status": "ok", "msg": "", "summary": {"deleted": 2},
               "pods_deleted": [{"namespace": "a", "name": "p1", "why": "expired"}, {"namespace": "a", "name": "p2"}],
               "pods_skipped": [], "pods_failed": [], "pods_unknown": []}
    proc, out = _role_tasks(tmp_path, "cleanup", {"cleanup_outcome": outcome},
                            env={"TRIAGE_K8S_NOTIFY_URL": receiver.url})
    assert proc.returncode == 0, out
    payload = receiver.wait(1)[0]["json"]
    assert payload["blocks"][0]["text"]["text"] == "triage.k8s cleanup on c (dry run): 2 pod(s) would be deleted"
    assert "*a/p1*\nOutcome: would be deleted: expired" in payload["text"]
    assert "*a/p2*\nOutcome: would be deleted" in payload["text"]


def test_enabled_false_sends_nothing(receiver, tmp_path):
    outcome = {"cluster": "c", "check_mode": False, "status": "ok", "msg": "", "summary": {},
               "pods_deleted": [], "pods_skipped": [], "pods_failed": [], "pods_unknown": []}
    variables = {"cleanup_outcome": outcome, "triage_notify": {"url": receiver.url, "enabled": False}}
    proc, out = _role_tasks(tmp_path, "cleanup", variables)
    assert proc.returncode == 0, out
    time.sleep(0.5)
    assert receiver.requests == []


def test_crashloop_scan_playbook_notifies_once_per_cluster(core, apps, namespace, ansible, kubeconfig, context,
                                                           receiver, tmp_path):
    labels = {"app": "broken"}
    apps.create_namespaced_deployment(namespace, deployment(
        "broken", 2, labels, pod_annotations={"sim.triage.k8s/behavior": "crashloop"}))
    wait_list(core.list_namespaced_pod,
              lambda ps: len([p for p in ps if sum(cs.restart_count for cs in p.status.container_statuses or []) >= 3]) >= 2,
              timeout=90, what="every pod restarted three times", namespace=namespace, label_selector="app=broken")
    proc, out = _play(ansible, "crashloop_scan", {"namespaces": namespace, "report_dir": str(tmp_path / "reports"),
                                                  "auto_quarantine": True,
                                                  "triage_notify": {"url": receiver.url, "format": "json"}},
                      kubeconfig, context)
    assert proc.returncode == 0, out
    payload = receiver.wait(1)[0]["json"]
    time.sleep(0.5)
    assert len(receiver.requests) == 1
    assert payload["event"] == "scan" and payload["cluster"] == context
    assert payload["summary"]["unhealthy"] == 2 and payload["summary"]["crash_loop"] == 2
    assert payload["summary"]["quarantined"] + len([i for i in payload["items"] if i["note"] == "already quarantined"]) == 1
    quarantined = [i for i in payload["items"] if i["note"] in ("quarantined now", "already quarantined")]
    assert len(quarantined) == 1
    assert quarantined[0]["release_command"].startswith("ansible-playbook triage.k8s.release -e pod=%s/%s"
                                                        % (namespace, quarantined[0]["pod"]))
    other = [i for i in payload["items"] if i not in quarantined][0]
    assert other["note"].startswith("not quarantined: its owner already has"), other
    assert all(i["class"] == "crash_loop" and i["next_step"] for i in payload["items"])
    _assert_url_hidden(receiver, out)


def test_a_scan_with_nothing_to_report_stays_quiet_unless_always(namespace, ansible, kubeconfig, context, receiver,
                                                                 tmp_path):
    extra = {"namespaces": namespace, "report_dir": str(tmp_path / "reports"),
             "triage_notify": {"url": receiver.url, "format": "json"}}
    proc, out = _play(ansible, "crashloop_scan", extra, kubeconfig, context)
    assert proc.returncode == 0, out
    time.sleep(0.5)
    assert receiver.requests == []
    extra["triage_notify"]["always"] = True
    proc, out = _play(ansible, "crashloop_scan", extra, kubeconfig, context)
    assert proc.returncode == 0, out
    payload = receiver.wait(1)[0]["json"]
    assert payload["event"] == "scan" and payload["items"] == [] and payload["summary"]["unhealthy"] == 0


def test_cleanup_playbook_notifies_what_it_deleted(api, namespace, ansible, kubeconfig, context, receiver, tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    hour = datetime.timedelta(hours=1)
    for body in (contract_pod_body("expired", now - 3 * hour, now - hour, evidence="bundle-expired"),
                 contract_pod_body("future", now - 3 * hour, now + hour, evidence="bundle-future")):
        create(api, namespace, body)
    extra = {"namespaces": namespace, "report_dir": str(tmp_path / "reports"),
             "triage_notify": {"url": receiver.url, "format": "json"}}
    proc, out = _play(ansible, "cleanup", extra, kubeconfig, context)
    assert proc.returncode == 0, out
    payload = receiver.wait(1)[0]["json"]
    time.sleep(0.5)
    assert len(receiver.requests) == 1
    assert payload["event"] == "cleanup" and payload["cluster"] == context
    assert payload["summary"]["deleted"] == 1 and payload["summary"]["kept"] == 1 and payload["summary"]["failed"] == 0
    assert [(i["namespace"], i["pod"]) for i in payload["items"]] == [(namespace, "expired")]
    item = payload["items"][0]
    assert item["note"].startswith("deleted: expired") and item["reason"] == "test expired"
    stats = _custom_stats(out)["triage_notifications"]
    assert [n["event"] for n in stats] == ["cleanup"] and stats[0]["sent"] is True
    _assert_url_hidden(receiver, out)
