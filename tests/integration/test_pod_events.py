"""Kubernetes Events on the pod (docs/contract.md, "Events"), on the real local control plane: every
change pod_quarantine, pod_evidence and quarantine_cleanup make is an events.k8s.io/v1 Event that
`kubectl events` and `kubectl describe` show; check mode and a re-run that changes nothing write
none; without create on events.k8s.io events the change still succeeds and the result says why no
Event was written."""

import datetime

from kubernetes import client

from k8s_helpers import CONTROLLER, bearer_token_env, contract_pod_body, create, our_events, quarantine, serving_deployment, wait_list

GRANT = 'grant the "create" verb on "events" (API group "events.k8s.io")'


def assert_event(event, reason, action, uid, note_has=()):
    assert (event.reason, event.action, event.type) == (reason, action, "Normal"), event
    assert event.reporting_controller == CONTROLLER and event.reporting_instance.startswith("triage.k8s-"), event
    assert event.regarding.kind == "Pod" and event.regarding.api_version == "v1" and event.regarding.uid == uid, event
    assert event.event_time is not None and event.event_time.tzinfo is not None, event
    assert event.metadata.labels == {"app.kubernetes.io/managed-by": "triage.k8s"}, event
    for text in note_has:
        assert text in event.note, (text, event.note)


def written(result, reason):
    event = result.get("event")
    assert event and event["written"] is True and event["reason"] == reason and event["error"] is None, result
    assert not [w for w in result.get("warnings", []) if "Kubernetes Event" in w], result
    return event


# ---------------------------------------------------------------- pod_quarantine

def test_quarantine_and_release_are_events_on_the_pod(core, api, namespace, ansible, kubectl):
    victim = serving_deployment(core, api, namespace, labels={"app": "web", "enabled": "true"},
                                selector={"matchLabels": {"app": "web"}})[0]
    uid = core.read_namespaced_pod(victim, namespace).metadata.uid
    # traffic_only: the pod stays with its ReplicaSet, which after the release cannot delete it as a surplus
    params = dict(reason="OOM at 03:00", ttl="1h", network_isolation=True, scope="traffic_only")

    result = quarantine(ansible, victim, namespace, **params)

    assert result["changed"] is True and not result.get("failed"), result
    event = written(result, "Quarantined")
    (quarantined,) = our_events(api, namespace, victim)
    assert quarantined.metadata.name == event["name"] and quarantined.metadata.name.startswith(victim + ".")
    assert_event(quarantined, "Quarantined", "Quarantine", uid,
                 ("Quarantined by %s" % result["quarantined_by"], 'reason: "OOM at 03:00"', "out of Service(s) web",
                  "still owned by ReplicaSet", "expires %s" % result["expires_at"], result["network_policy"]))
    assert (quarantined.related.kind, quarantined.related.name) == ("NetworkPolicy", result["network_policy"])
    # What people look at: kubectl events and kubectl describe (core/v1 view of the same Event).
    assert "Quarantined" in kubectl("events", "-n", namespace, "--for", "pod/%s" % victim).stdout
    described = kubectl("describe", "pod", "-n", namespace, victim).stdout
    assert "Quarantined" in described.split("Events:")[-1], described

    again = quarantine(ansible, victim, namespace, **params)
    assert again["changed"] is False and again["event"] is None, again
    assert len(our_events(api, namespace, victim)) == 1

    released = quarantine(ansible, victim, namespace, state="released", reason="fixed in 1.2.4")
    assert released["changed"] is True, released
    event = written(released, "Released")
    events = our_events(api, namespace, victim)
    assert [e.reason for e in events] == ["Quarantined", "Released"] and events[1].metadata.name == event["name"]
    assert_event(events[1], "Released", "Release", uid,
                 ("Released by ", 'reason: "fixed in 1.2.4"', "NetworkPolicy %s deleted" % result["network_policy"]))

    again = quarantine(ansible, victim, namespace, state="released")
    assert again["changed"] is False and again["event"] is None, again
    assert len(our_events(api, namespace, victim)) == 2


def test_check_mode_writes_no_event(core, api, namespace, ansible):
    victim = serving_deployment(core, api, namespace)[0]

    result = quarantine(ansible, victim, namespace, check=True, reason="dry run")

    assert result["changed"] is True and result["event"] is None, result
    assert our_events(api, namespace, victim) == []

    quarantine(ansible, victim, namespace, reason="for real")
    result = quarantine(ansible, victim, namespace, check=True, state="released")
    assert result["changed"] is True and result["event"] is None, result
    assert [e.reason for e in our_events(api, namespace, victim)] == ["Quarantined"]


def test_a_missing_network_policy_recreated_is_an_event(core, api, namespace, ansible):
    victim = serving_deployment(core, api, namespace)[0]
    first = quarantine(ansible, victim, namespace, network_isolation=True)
    client.NetworkingV1Api(api).delete_namespaced_network_policy(first["network_policy"], namespace)

    result = quarantine(ansible, victim, namespace, network_isolation=True)

    assert result["changed"] is True and result["network_policy_repaired"] == first["network_policy"], result
    written(result, "NetworkPolicyRestored")
    events = our_events(api, namespace, victim)
    assert [e.reason for e in events] == ["Quarantined", "NetworkPolicyRestored"]
    assert_event(events[1], "NetworkPolicyRestored", "Isolate", first["pod"]["uid"], (first["network_policy"],))


# ---------------------------------------------------------------- pod_evidence

def test_evidence_collected_is_an_event(core, api, namespace, ansible, tmp_path):
    victim = serving_deployment(core, api, namespace, replicas=1)[0]
    uid = core.read_namespaced_pod(victim, namespace).metadata.uid
    args = {"name": victim, "namespace": namespace, "dest": str(tmp_path / "bundles"), "include": ["manifest"],
            "collected_by": "oncall-alice"}

    dry = ansible.module("triage.k8s.pod_evidence", args, check=True)
    assert dry["changed"] is True and "event" not in dry, dry
    assert our_events(api, namespace, victim) == []

    result = ansible.module("triage.k8s.pod_evidence", args)

    assert result["changed"] is True and not result.get("failed"), result
    event = written(result, "EvidenceCollected")
    (collected,) = our_events(api, namespace, victim)
    assert collected.metadata.name == event["name"]
    assert_event(collected, "EvidenceCollected", "CollectEvidence", uid,
                 ("Evidence collected by oncall-alice", result["bundle_name"], result["manifest_sha256"]))


# ---------------------------------------------------------------- quarantine_cleanup

def test_cleanup_deleting_an_expired_pod_leaves_an_event_that_outlives_it(core, api, namespace, ansible, kubectl):
    now = datetime.datetime.now(datetime.timezone.utc)
    hour = datetime.timedelta(hours=1)
    pod = create(api, namespace, contract_pod_body("expired", now - 3 * hour, now - hour, evidence="bundle-1"))
    args = {"namespaces": [namespace], "grace_period": 0}

    dry = ansible.module("triage.k8s.quarantine_cleanup", args, check=True)
    assert [e["name"] for e in dry["pods_deleted"]] == ["expired"] and "event" not in dry["pods_deleted"][0], dry
    assert our_events(api, namespace, "expired") == []

    result = ansible.module("triage.k8s.quarantine_cleanup", args)

    assert result["changed"] is True and not result.get("failed"), result
    (entry,) = result["pods_deleted"]
    assert entry["event"]["written"] is True and entry["event"]["reason"] == "QuarantineExpired", entry
    assert not [w for w in result.get("warnings", []) if "Kubernetes Event" in w], result
    wait_list(core.list_namespaced_pod, lambda ps: not ps, timeout=30, what="the expired pod to go", namespace=namespace)
    (expired,) = our_events(api, namespace, "expired")
    assert expired.metadata.name == entry["event"]["name"]
    assert_event(expired, "QuarantineExpired", "Delete", pod.metadata.uid,
                 ("(quarantine_cleanup): the quarantine expired", "by integration-test", 'reason: "test expired"',
                  "evidence bundle bundle-1"))
    shown = kubectl("events", "-n", namespace).stdout  # the pod is gone; its Event is not
    assert "QuarantineExpired" in shown and "Pod/expired" in shown, shown

    again = ansible.module("triage.k8s.quarantine_cleanup", args)
    assert again["changed"] is False and again["pods_deleted"] == [], again
    assert len(our_events(api, namespace, "expired")) == 1


# ---------------------------------------------------------------- no permission to write Events

def _module_as(ansible, api, identity, tmp_path, module, args):
    env = bearer_token_env(api, identity.token(), str(tmp_path))
    return ansible.module("triage.k8s.%s" % module, args, auth=False, env=env)


def _not_written(result, namespace):
    event = result["event"] if "event" in result else result["pods_deleted"][0]["event"]
    assert event["written"] is False, result
    assert 'Forbidden: cannot create events.events.k8s.io in namespace "%s"' % namespace in event["error"], event
    assert GRANT in event["error"], event
    assert any("no Kubernetes Event" in w and GRANT in w for w in result.get("warnings", [])), result


def test_without_create_on_events_the_changes_succeed_and_say_no_event_was_written(
        core, api, namespace, identities, ansible, tmp_path):
    victim = serving_deployment(core, api, namespace)[0]
    identity = identities("quarantine", namespace, without=("events", "create"))

    result = _module_as(ansible, api, identity, tmp_path, "pod_quarantine",
                        {"name": victim, "namespace": namespace, "reason": "rbac"})
    assert result["changed"] is True and not result.get("failed"), result
    assert core.read_namespaced_pod(victim, namespace).metadata.labels["triage.k8s/quarantined"] == "true"
    _not_written(result, namespace)

    result = _module_as(ansible, api, identity, tmp_path, "pod_evidence",
                        {"name": victim, "namespace": namespace, "dest": str(tmp_path / "b"), "include": ["manifest"]})
    assert result["changed"] is True and not result.get("failed") and result["bundle"], result
    _not_written(result, namespace)

    result = _module_as(ansible, api, identity, tmp_path, "pod_quarantine",
                        {"name": victim, "namespace": namespace, "state": "released"})
    assert result["changed"] is True and not result.get("failed"), result
    _not_written(result, namespace)
    assert our_events(api, namespace, victim) == []


def test_cleanup_without_create_on_events_still_deletes(core, api, namespace, identities, ansible, tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    hour = datetime.timedelta(hours=1)
    create(api, namespace, contract_pod_body("expired", now - 3 * hour, now - hour, evidence="bundle-1"))
    identity = identities("cleanup", namespace, without=("events", "create"))

    result = _module_as(ansible, api, identity, tmp_path, "quarantine_cleanup",
                        {"namespaces": [namespace], "grace_period": 0})

    assert result["changed"] is True and not result.get("failed"), result
    assert [e["name"] for e in result["pods_deleted"]] == ["expired"], result
    _not_written(result, namespace)
    assert any("pod(s) %s/expired" % namespace in w for w in result.get("warnings", [])), result
    assert our_events(api, namespace, "expired") == []
