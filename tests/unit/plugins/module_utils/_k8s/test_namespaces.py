# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _k8s/namespaces.py: the messages naming namespaces that do not exist (pure), and
the one check crashloop_info, quarantine_info and quarantine_cleanup make, against a stand-in for
the API layer that records its calls: one LIST for several namespaces, a GET each when listing is
forbidden, and a forbidden GET raised (crashloop_info) or warned about (quarantine_*)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._k8s.namespaces import (
    absent,
    check_namespaces,
    find_missing,
    missing_message,
    unchecked_warning,
)

TARGET = "context 'prod' (https://k:6443)"


def test_missing_namespaces_are_named_with_the_cluster():
    advice = "check namespaces and context; nothing was deleted"
    assert missing_message(["shpo"], "context 'prod' (https://k:6443)", advice) == (
        'namespace "shpo" not found on context \'prod\' (https://k:6443): check namespaces and context; '
        "nothing was deleted")
    assert missing_message(["a", "b"], None, "check namespaces and context; nothing was read").startswith(
        'namespaces "a", "b" not found: ')
    assert "grant get on namespaces" in unchecked_warning("Forbidden: cannot get namespaces")


def test_crashloop_info_keeps_its_wording():
    assert missing_message(["nope"], TARGET, "check the name and the context") == (
        'namespace "nope" not found on %s: check the name and the context' % TARGET)
    assert missing_message(["nope-a", "nope-b"], None, "check the name and the context") == (
        'namespaces "nope-a", "nope-b" not found: check the name and the context')


def test_absent_is_sorted_and_once_each():
    assert absent(["b", "a", "b", "c"], iter(["c", "x"])) == ["a", "b"]
    assert absent([], ["a"]) == [] and absent(None, []) == [] and absent(["a"], []) == ["a"]


def forbidden(what):
    return TriageError("Forbidden: cannot %s" % what, {"status": 403})


class FakeKube(object):
    """Namespaces that exist, and which calls are forbidden ("list", or names whose GET is)."""

    target = TARGET

    def __init__(self, existing, deny=(), fail=None):
        self.existing, self.deny, self.fail, self.calls = set(existing), set(deny), fail, []

    def list(self, kind, **_kwargs):
        assert kind == "Namespace"
        self.calls.append(("list",))
        if self.fail is not None:
            raise self.fail
        if "list" in self.deny:
            raise forbidden("list namespaces")
        return iter([{"metadata": {"name": name}} for name in sorted(self.existing)])

    def get_or_none(self, kind, name, namespace=None):
        assert kind == "Namespace" and namespace is None
        self.calls.append(("get", name))
        if name in self.deny:
            raise forbidden('get namespace "%s"' % name)
        return {"metadata": {"name": name}} if name in self.existing else None


def test_several_namespaces_are_checked_with_one_list():
    kube = FakeKube(["shop", "web"])
    assert find_missing(kube, ["web", "nope-b", "shop", "nope-a"]) == (["nope-a", "nope-b"], None)
    assert kube.calls == [("list",)]


def test_one_namespace_is_one_get():
    kube = FakeKube(["shop"])
    assert find_missing(kube, ["nope"]) == (["nope"], None) and kube.calls == [("get", "nope")]
    assert find_missing(FakeKube(["shop"]), ["shop", "shop"]) == ([], None)


def test_who_may_get_but_not_list_namespaces_is_checked_with_a_get_each():
    kube = FakeKube(["shop"], deny=["list"])
    assert find_missing(kube, ["shop", "nope"]) == (["nope"], None)
    assert kube.calls == [("list",), ("get", "nope"), ("get", "shop")]


def test_a_forbidden_get_is_raised_unless_the_caller_goes_on_without_the_check():
    with pytest.raises(TriageError) as caught:
        find_missing(FakeKube(["shop"], deny=["list", "shop"]), ["nope", "shop"])
    assert caught.value.msg == 'Forbidden: cannot get namespace "shop"'
    missing, problem = find_missing(FakeKube(["shop"], deny=["list", "shop"]), ["nope", "shop"], forbidden_ok=True)
    assert missing == ["nope"] and problem == 'Forbidden: cannot get namespace "shop"'


def test_other_list_errors_are_raised():
    with pytest.raises(TriageError) as caught:
        find_missing(FakeKube([], fail=TriageError("Unauthorized", {"status": 401})), ["a", "b"])
    assert caught.value.msg == "Unauthorized"


def test_crashloop_info_fails_with_its_message_only():
    with pytest.raises(TriageError) as caught:
        check_namespaces(FakeKube(["shop"]), ["shop", "nope-b", "nope-a"], "check the name and the context")
    assert caught.value.msg == 'namespaces "nope-a", "nope-b" not found on %s: check the name and the context' % TARGET
    assert caught.value.details == {}
    with pytest.raises(TriageError) as caught:
        check_namespaces(FakeKube([], deny=["shop"]), ["shop"], "check the name and the context")
    assert caught.value.msg == 'Forbidden: cannot get namespace "shop"'


def test_quarantine_modules_fail_with_the_missing_names_and_warn_when_they_cannot_check():
    warnings = []
    with pytest.raises(TriageError) as caught:
        check_namespaces(FakeKube(["shop"]), ["shop", "shpo"], "check namespaces and context; nothing was read",
                         warnings.append, with_keys=True)
    assert caught.value.msg.startswith('namespace "shpo" not found on %s' % TARGET)
    assert caught.value.details == {"error_type": "namespace_not_found", "missing_namespaces": ["shpo"],
                                    "changed": False}
    check_namespaces(FakeKube(["shop"], deny=["list", "shop"]), ["shop", "web"], "nothing", warnings.append,
                     with_keys=True)
    assert len(warnings) == 1 and "could not check that the given namespaces exist" in warnings[0]
    assert "Forbidden" in warnings[0] and not caught.value.details.get("failed")


def test_names_are_validated_before_any_call_and_none_means_no_call():
    kube = FakeKube([])
    with pytest.raises(TriageError) as caught:
        check_namespaces(kube, ["Not_A_Name"], "advice")
    assert "Not_A_Name" in caught.value.msg and kube.calls == []
    check_namespaces(kube, [], "advice")
    check_namespaces(kube, None, "advice")
    assert kube.calls == []
