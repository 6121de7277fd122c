# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _k8s/objects.py: the tolerant readers of API-shaped dicts every feature shares."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._k8s.objects import (
    as_dict,
    as_int,
    as_list,
    as_str,
    as_time,
    controller_ref,
    meta,
    one_line,
    pod_ready,
)
from ansible_collections.triage.k8s.tests.unit.plugins.module_utils._contract.pods import make_pod, owner_ref


def test_controller_ref_picks_the_controller():
    other = owner_ref(kind="Deployment", name="not-controller", uid="u-1", controller=False)
    ctrl = owner_ref()
    assert controller_ref(make_pod(owners=[other, ctrl])) is ctrl


@pytest.mark.parametrize("owners", [
    None,
    [],
    [owner_ref(controller=False)],
    [owner_ref(controller=None)],  # controller field absent
])
def test_controller_ref_none_for_bare_pods(owners):
    assert controller_ref(make_pod(owners=owners)) is None


def test_controller_ref_with_null_owner_references():
    pod = make_pod()
    pod["metadata"]["ownerReferences"] = None
    assert controller_ref(pod) is None


@pytest.mark.parametrize("conditions, expected", [
    ([{"type": "Ready", "status": "True"}], True),
    ([{"type": "Ready", "status": "False"}], False),
    ([{"type": "Ready", "status": "Unknown"}], False),
    ([{"type": "ContainersReady", "status": "True"}], False),  # only the Ready condition counts
    ([], False),
    (None, False),
])
def test_pod_ready(conditions, expected):
    assert pod_ready({"status": {"conditions": conditions}}) is expected
    assert pod_ready({}) is False and pod_ready({"status": None}) is False


@pytest.mark.parametrize("obj", [None, {}, {"metadata": None}])
def test_meta_of_nothing_is_empty(obj):
    assert meta(obj) == {}


def test_meta_is_the_object_s_own():
    obj = {"metadata": {"name": "p"}}
    assert meta(obj) is obj["metadata"]


@pytest.mark.parametrize("value", [None, "text", 3, [], ()])
def test_as_dict_and_as_list_read_a_wrong_type_as_empty(value):
    assert as_dict(value) == {}
    assert as_list(value) == ([] if not isinstance(value, list) else value)


def test_as_readers_keep_the_right_type():
    assert as_dict({"a": 1}) == {"a": 1} and as_list([1]) == [1]
    assert as_str("x") == "x" and as_str(5) is None and as_str(None, "d") == "d"
    assert as_int(7) == 7 and as_int(True) == 0 and as_int("7") == 0 and as_int(None, -1) == -1


def test_as_time():
    assert as_time("2026-11-22T03:04:05Z") == datetime(2026, 11, 22, 3, 4, 5, tzinfo=timezone.utc)
    assert as_time(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=timezone.utc)  # naive is taken as UTC
    plus_two = timezone(timedelta(hours=2))
    assert as_time(datetime(2026, 1, 1, 2, tzinfo=plus_two)) == datetime(2026, 1, 1, tzinfo=timezone.utc)
    for bad in ("yesterday", "", None, 1700000000):
        assert as_time(bad) is None


def test_one_line():
    assert one_line("a\n  b\tc") == "a b c"
    assert one_line("x" * 10, limit=8) == "xxxxx..."
    assert one_line("x" * 8, limit=8) == "x" * 8
