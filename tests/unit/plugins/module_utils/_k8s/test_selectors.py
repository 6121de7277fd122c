# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for crashloop_selectors.py (selector syntax as the API server parses it) and the
pure owner checks of crashloop_scope.py (has the owner's controller caught up with its spec?)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.scope import (
    Scope, controller_uid, generation_pending, parse_owner, update_pending,
)
from ansible_collections.triage.k8s.plugins.module_utils._k8s.selectors import (
    field_selector_problem, label_selector_problem, selector_problems,
)
from ansible_collections.triage.k8s.plugins.module_utils._crashloop.summary import rollout_verdict
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError


@pytest.mark.parametrize("text", [
    "app=web", "app==web", "app!=web", "app", "!legacy", "app=", "tier in (a,b)", "tier notin (a)",
    "tier in ()", "tier in (a,,b)", " app = web , tier in ( a , b ) ", "example.com/app=x", "x>5", "x<-1",
    "app.kubernetes.io/name=web,!canary,track notin (beta)", "a=b_c.d-e", "in",
])
def test_label_selectors_the_api_server_accepts(text):
    assert label_selector_problem(text) is None


@pytest.mark.parametrize("text,fragment", [
    ("", "is empty"),
    ("   ", "is empty"),
    (None, "is empty"),
    ("app in (web", "missing ')'"),
    ("app in web", "expected '(' after in/notin"),
    ("=web", "expected a label key, found '='"),
    ("app=web,", "expected a label key, found 'the end'"),
    ("app=web,,x", "expected a label key, found ','"),
    ("Bad Key!=x", "expected an operator"),
    ("app=we b", "expected ',' or the end"),
    ("app=web)", "expected ',' or the end"),
    ("!", "expected a label key after '!'"),
    ("!a=b", "expected ',' or the end"),
    ("x>abc", "must be an integer"),
    ("x>", "needs an integer"),
    ("app=-bad-", "label value '-bad-' is invalid"),
    ("-app=x", "label key '-app' is invalid"),
    ("tier in (a b)", "unexpected 'b'"),
    ("app==(x)", "expected a value"),
])
def test_label_selector_syntax_errors_are_explained(text, fragment):
    problem = label_selector_problem(text)
    assert problem is not None and fragment in problem, problem
    assert "for example app=web" in problem


@pytest.mark.parametrize("text", [
    "status.phase=Running", "spec.nodeName=", "a==b", "a!=b", "status.phase!=Succeeded,spec.nodeName=node-1",
    "metadata.name=x\\,y", "metadata.name=a\\=b", "metadata.name=c\\\\d", "spec.image=anything-the-server-judges",
])
def test_field_selectors_the_api_server_parses(text):
    assert field_selector_problem(text) is None


@pytest.mark.parametrize("text,fragment", [
    ("", "is empty"),
    ("status.phase", "has no operator"),
    ("a=b,status.phase", "'status.phase' has no operator"),
    ("=Running", "names no field"),
    (" !=x", "names no field"),
    ("a=b\\x", "'\\x' is not an escape"),
    ("a=b\\", "is not an escape"),
])
def test_field_selector_syntax_errors_are_explained(text, fragment):
    problem = field_selector_problem(text)
    assert problem is not None and fragment in problem, problem


def test_selector_problems_name_the_option_and_index():
    assert selector_problems(None, None) == []
    assert selector_problems(["app=web"], ["status.phase=Running"]) == []
    problems = selector_problems(["app=web", "app in (x"], ["nofield"])
    assert len(problems) == 2
    assert problems[0].startswith("label_selectors[1]: label selector 'app in (x' is invalid")
    assert problems[1].startswith("field_selectors[0]: field selector 'nofield' is invalid")


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


def test_a_workload_scaled_to_zero_is_stable_once_no_pod_is_left():
    now = "2026-01-02T12:00:00Z"
    assert rollout_verdict([], 30, now, expected=0)["verdict"] == "stable"
    leaving = [{"namespace": "s", "name": "p", "uid": "u", "class": "healthy", "ready": True, "terminating": True}]
    assert rollout_verdict(leaving, 30, now, expected=0)["verdict"] == "stable"
    assert rollout_verdict([], 30, now, expected=None)["verdict"] == "progressing"
    assert rollout_verdict([], 30, now, expected=2)["verdict"] == "progressing"
