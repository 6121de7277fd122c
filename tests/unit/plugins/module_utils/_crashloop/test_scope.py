# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _crashloop/scope.py: which pods a crashloop_info run looks at, decided from the
parameters and the owner objects run_scope.py reads (a Deployment's newest ReplicaSet, the
selectors joined, one named pod, namespaces). Also the owner checks: has the
owner's controller caught up with its spec (generation_pending, update_pending), parse_owner."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._crashloop.scope import (
    REVISION_ANNOTATION,
    Scope,
    controller_uid,
    generation_pending,
    parse_owner,
    update_pending,
    current_replica_set,
    namespace_scopes,
    narrowed,
    needs_namespace,
    owner_scope,
    owner_selector,
    pod_events_selector,
    pod_scope,
    user_selectors,
    wanted_namespaces,
)


def deployment(replicas=3, generation=2, observed=2):
    spec = {"selector": {"matchLabels": {"app": "web"}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"metadata": {"name": "web", "namespace": "shop", "uid": "d-1", "generation": generation},
            "spec": spec, "status": {"observedGeneration": observed}}


def replica_set(name, revision, owner="d-1", template_hash=None):
    annotations = {REVISION_ANNOTATION: revision} if revision is not None else {}
    return {"metadata": {"name": name, "namespace": "shop", "uid": "rs-" + name, "annotations": annotations,
                         "ownerReferences": [{"kind": "Deployment", "uid": owner, "controller": True}]},
            "spec": {"selector": {"matchLabels": {"app": "web", "pod-template-hash": template_hash or name}}}}


def test_the_newest_replica_set_the_deployment_owns_is_current():
    sets = [replica_set("a", "1"), replica_set("c", "3"), replica_set("b", "2"), replica_set("other", "9", owner="d-2"),
            replica_set("odd", "not-a-number")]
    newest, family = current_replica_set(deployment(), sets)
    assert newest["metadata"]["name"] == "c"
    assert family == {"rs-a", "rs-b", "rs-c", "rs-odd"}
    assert current_replica_set(deployment(), []) == (None, set())
    assert current_replica_set(deployment(), [replica_set("x", None)])[0]["metadata"]["name"] == "x"


def test_a_deployment_scope_is_its_newest_replica_set_watched_through_the_deployment():
    newest, family = current_replica_set(deployment(), [replica_set("a", "1"), replica_set("b", "2")])
    scope = owner_scope("shop", "Deployment", "web", deployment(), newest, family)
    assert scope.label_selector == "app=web,pod-template-hash=b" and scope.owner_uid == "rs-b"
    assert scope.watch_selector == "app=web" and scope.family == {"rs-a", "rs-b"}
    assert scope.description == "Deployment shop/web, ReplicaSet b" and scope.expected == 3
    assert scope.pending is None and scope.updating is None


def test_a_deployment_without_a_replica_set_selects_no_pod_and_is_pending():
    scope = owner_scope("shop", "Deployment", "web", deployment(replicas=None, generation=3, observed=2))
    assert scope.label_selector == "!pod-template-hash,pod-template-hash" and scope.owner_uid is None
    assert scope.description == "Deployment web (no ReplicaSet yet)" and scope.expected == 1
    assert "has not yet acted on generation 3" in scope.pending


def test_other_owners_select_their_pods_by_controller_uid():
    statefulset = {"metadata": {"name": "db", "uid": "s-1", "generation": 1},
                   "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "db"}}},
                   "status": {"observedGeneration": 1, "updateRevision": "r2", "currentRevision": "r1",
                              "updatedReplicas": 1}}
    scope = owner_scope("shop", "StatefulSet", "db", statefulset)
    assert (scope.label_selector, scope.owner_uid, scope.expected) == ("app=db", "s-1", 2)
    assert scope.description == "StatefulSet shop/db" and "rolling update in progress" in scope.updating
    rc = {"metadata": {"name": "old", "uid": "rc-1"}, "spec": {"selector": {"app": "old"}}}
    assert owner_scope("shop", "ReplicationController", "old", rc).label_selector == "app=old"
    job = {"metadata": {"name": "once", "uid": "j-1", "generation": 1}, "spec": {"selector": {"matchLabels": {"j": "1"}}}}
    assert owner_scope("shop", "Job", "once", job).expected is None
    assert owner_selector({}) == ""


def test_the_module_selectors_narrow_an_owner_scope():
    labels, fields = user_selectors({"label_selectors": ["tier=web", "!canary"], "field_selectors": ["status.phase=Running"]})
    assert (labels, fields) == ("tier=web,!canary", "status.phase=Running")
    assert user_selectors({}) == (None, None) and user_selectors({"label_selectors": []}) == (None, None)
    newest, family = current_replica_set(deployment(), [replica_set("a", "1")])
    scope = narrowed(owner_scope("shop", "Deployment", "web", deployment(), newest, family), labels, fields)
    assert scope.label_selector == "app=web,pod-template-hash=a,tier=web,!canary"
    assert scope.watch_selector == "app=web,tier=web,!canary" and scope.field_selector == "status.phase=Running"
    empty = narrowed(owner_scope("shop", "Deployment", "web", deployment()), None, None)
    assert empty.label_selector == "!pod-template-hash,pod-template-hash" and empty.field_selector is None


def test_one_named_pod_and_its_events():
    scope = pod_scope("shop", "web-1", "app=web", "status.phase=Running")
    assert scope.field_selector == "metadata.name=web-1,status.phase=Running" and scope.label_selector == "app=web"
    assert scope.description == "pod shop/web-1"
    assert pod_events_selector(scope) == "involvedObject.kind=Pod,type=Warning,involvedObject.name=web-1"
    assert pod_events_selector(namespace_scopes(["shop"], None, None)[0]) == "involvedObject.kind=Pod,type=Warning"


def test_namespaces_are_joined_sorted_and_none_is_every_namespace():
    assert wanted_namespaces({"namespace": "web", "namespaces": ["shop", "web"]}) == ["shop", "web"]
    assert wanted_namespaces({"namespace": None, "namespaces": None}) == []
    scopes = namespace_scopes(["shop", "web"], "app=x", None)
    assert [(s.namespace, s.label_selector, s.description) for s in scopes] == [
        ("shop", "app=x", "namespace shop"), ("web", "app=x", "namespace web")]
    (every,) = namespace_scopes([], None, "spec.nodeName=n1")
    assert (every.namespace, every.field_selector, every.description) == (None, "spec.nodeName=n1", "all namespaces")


def test_owner_and_name_need_a_namespace():
    assert needs_namespace({"owner": "Deployment/web"}).msg == (
        "owner needs namespace: give the namespace of Deployment/web")
    assert needs_namespace({"name": "web-1"}).msg == "name needs namespace: give the namespace of pod web-1"
    assert needs_namespace({"owner": "Deployment/web", "name": "web-1"}).msg.startswith("owner needs namespace")
    assert needs_namespace({"namespace": "shop", "name": "web-1"}) is None and needs_namespace({}) is None


# -- owners --------------------------------------------------------------------------------------

def _owner(generation=2, observed=2, spec=None, status=None, name="web"):
    body_status = dict(status or {})
    if observed is not None:
        body_status["observedGeneration"] = observed
    return {"metadata": {"name": name, "generation": generation}, "spec": spec or {}, "status": body_status}


@pytest.mark.parametrize("kind,obj,pending", [
    ("Deployment", _owner(2, 2), False),
    ("Deployment", _owner(3, 2), True),
    ("Deployment", _owner(1, None), True),
    ("ReplicaSet", _owner(1, 1), False),
    ("Job", _owner(5, None), False),  # Jobs do not report observedGeneration
    ("StatefulSet", {"metadata": {"name": "db"}}, False),  # no generation at all: nothing to wait for
])
def test_generation_pending(kind, obj, pending):
    reason = generation_pending(kind, obj)
    assert (reason is not None) is pending
    if pending:
        assert "its controller has not yet acted on generation" in reason and obj["metadata"]["name"] in reason


STS_UPDATING = {"updateRevision": "db-2", "currentRevision": "db-1", "updatedReplicas": 1}


@pytest.mark.parametrize("kind,spec,status,updating", [
    ("StatefulSet", {"replicas": 3}, STS_UPDATING, True),
    ("StatefulSet", {"replicas": 3}, {"updateRevision": "db-2", "currentRevision": "db-2", "updatedReplicas": 3}, False),
    ("StatefulSet", {"replicas": 3, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}},
     STS_UPDATING, False),  # only ordinal 2 is to be updated, and it is
    ("StatefulSet", {"replicas": 3, "updateStrategy": {"type": "OnDelete"}}, STS_UPDATING, False),
    ("DaemonSet", {}, {"desiredNumberScheduled": 2, "updatedNumberScheduled": 1}, True),
    ("DaemonSet", {}, {"desiredNumberScheduled": 2, "updatedNumberScheduled": 2}, False),
    ("DaemonSet", {"updateStrategy": {"type": "OnDelete"}}, {"desiredNumberScheduled": 2, "updatedNumberScheduled": 0}, False),
    ("Deployment", {}, STS_UPDATING, False),
])
def test_update_pending(kind, spec, status, updating):
    reason = update_pending(kind, _owner(spec=spec, status=status))
    assert (reason is not None) is updating, reason
    if updating:
        assert "rolling update in progress" in reason


def test_scope_selects_controlled_pods_and_compares_identity():
    pod = {"metadata": {"ownerReferences": [{"kind": "ReplicaSet", "uid": "rs-1", "controller": True},
                                            {"kind": "Other", "uid": "x"}]}}
    assert controller_uid(pod) == "rs-1" and controller_uid(pod, "ReplicaSet") == "rs-1"
    assert controller_uid(pod, "StatefulSet") is None and controller_uid({}) is None
    assert Scope(owner_uid="rs-1").selects(pod) and not Scope(owner_uid="rs-2").selects(pod) and Scope().selects({})
    one, two = Scope("shop", "app=web", owner_uid="rs-1", expected=3), Scope("shop", "app=web", owner_uid="rs-1", expected=3)
    assert one.identity() == two.identity()
    two.expected = 4
    assert one.identity() != two.identity()


def test_parse_owner():
    assert parse_owner("deployment/web") == ("Deployment", "web")
    assert parse_owner({"kind": "StatefulSet", "name": "db"}) == ("StatefulSet", "db")
    for bad in ("CronJob/x", "Deployment/", "web", ""):
        with pytest.raises(TriageError) as err:
            parse_owner(bad)
        assert "give KIND/NAME" in err.value.msg
