# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _evidence/usage.py: quantities, usage against requests and limits, the node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from decimal import Decimal

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._evidence import usage


@pytest.mark.parametrize("text,expected", [
    ("12m", Decimal("0.012")),
    ("1234n", Decimal("0.000001234")),
    ("250u", Decimal("0.00025")),
    ("0.5", Decimal("0.5")),
    ("2", Decimal(2)),
    (".5", Decimal("0.5")),
    ("34Mi", Decimal(34 * 2 ** 20)),
    ("12345Ki", Decimal(12345 * 1024)),
    ("1Gi", Decimal(2 ** 30)),
    ("5G", Decimal(5 * 10 ** 9)),
    ("128k", Decimal(128000)),
    ("1e3", Decimal(1000)),
    ("1E3", Decimal(1000)),
    ("1.5e-3", Decimal("0.0015")),
    ("1E", Decimal(10) ** 18),
    ("1Ei", Decimal(2) ** 60),
    (" 3Mi ", Decimal(3 * 2 ** 20)),
    (7, Decimal(7)),
    (0.25, Decimal("0.25")),
])
def test_parse_quantity(text, expected):
    assert usage.parse_quantity(text) == expected


@pytest.mark.parametrize("bad", ["", None, "Mi", "12 Mi", "12mi", "12KB", "1e", "e3", "abc", "1..2", True, "--1"])
def test_parse_quantity_refuses_what_is_not_one(bad):
    with pytest.raises(ValueError, match="not a quantity"):
        usage.parse_quantity(bad)


def test_usage_against_request_and_limit():
    cpu = usage.usage_against("cpu", "50m", "100m", "500m")
    assert cpu == {"usage": "50m", "request": "100m", "limit": "500m", "millicores": 50.0,
                   "percent_of_request": 50.0, "percent_of_limit": 10.0}
    memory = usage.usage_against("memory", "96Mi", "64Mi", "128Mi")
    assert memory["bytes"] == 96 * 2 ** 20 and memory["percent_of_request"] == 150.0 and memory["percent_of_limit"] == 75.0


def test_usage_without_request_or_limit_has_no_share():
    entry = usage.usage_against("cpu", "1234n")
    assert entry["millicores"] == 0.001 and entry["percent_of_request"] is None and entry["percent_of_limit"] is None
    assert "error" not in entry


def test_a_bad_quantity_is_recorded_not_raised():
    assert usage.usage_against("memory", "lots")["error"] == "not a quantity: 'lots'"
    assert usage.usage_against("memory", None)["error"] == "no usage reported"
    entry = usage.usage_against("memory", "1Mi", limit="big")
    assert entry["bytes"] == 2 ** 20 and entry["percent_of_limit"] is None and entry["error"].startswith("limit: ")
    # A zero limit/request gives no share rather than a division by zero.
    assert usage.usage_against("cpu", "5m", "0")["percent_of_request"] is None


def _pod(*containers):
    return {"spec": {"containers": list(containers)}}


def _container(name, requests=None, limits=None):
    return {"name": name, "resources": {"requests": requests or {}, "limits": limits or {}}}


def _metrics(**containers):
    return {"timestamp": "2026-12-01T22:00:00Z", "window": "10.5s",
            "containers": [{"name": n, "usage": {"cpu": c, "memory": m}} for n, (c, m) in containers.items()]}


def test_container_usage_per_container_with_warnings_near_a_limit():
    pod = _pod(_container("app", {"cpu": "100m", "memory": "64Mi"}, {"cpu": "200m", "memory": "100Mi"}),
               _container("sidecar"))
    containers, warnings = usage.container_usage(pod, _metrics(app=("190m", "95Mi"), sidecar=("2m", "10Mi")))
    app, sidecar = containers
    assert app["container"] == "app" and app["cpu"]["percent_of_limit"] == 95.0 and app["memory"]["percent_of_limit"] == 95.0
    assert sidecar["cpu"]["millicores"] == 2.0 and sidecar["memory"]["limit"] is None
    assert warnings == ["app: cpu at 95.0% of its limit 200m (throttled at 100%)",
                        "app: memory at 95.0% of its limit 100Mi (OOM-killed at 100%)"]


def test_container_usage_names_containers_without_metrics_and_unknown_ones():
    containers, warnings = usage.container_usage(_pod(_container("app")), _metrics(other=("1m", "1Mi")))
    assert [c["container"] for c in containers] == ["app", "other"]
    assert "no usage" in containers[0]["note"] and "cpu" not in containers[0]
    assert "not a container of the pod" in containers[1]["note"] and containers[1]["cpu"]["millicores"] == 1.0
    assert warnings == []


def test_node_usage_against_allocatable():
    node = {"status": {"allocatable": {"cpu": "32", "memory": "256Gi"}}}
    out = usage.node_usage({"usage": {"cpu": "3200m", "memory": "64Gi"}}, node)
    assert out["cpu"] == {"usage": "3200m", "allocatable": "32", "millicores": 3200.0, "percent_of_allocatable": 10.0}
    assert out["memory"]["bytes"] == 64 * 2 ** 30 and out["memory"]["percent_of_allocatable"] == 25.0
    # Without the Node (not readable), usage alone.
    assert usage.node_usage({"usage": {"cpu": "1m"}})["cpu"]["percent_of_allocatable"] is None
    assert usage.node_usage({"usage": {}})["memory"]["error"] == "no usage reported"


def test_summary_layout():
    pod = _pod(_container("app", limits={"memory": "1Gi"}))
    out = usage.summary(pod, _metrics(app=("5m", "100Mi")), {"usage": {"cpu": "1", "memory": "1Gi"}})
    assert out["timestamp"] == "2026-12-01T22:00:00Z" and out["window"] == "10.5s"
    assert out["containers"][0]["memory"]["percent_of_limit"] == 9.8 and out["warnings"] == []
    assert out["node"]["cpu"]["millicores"] == 1000.0
    assert "node" not in usage.summary(pod, _metrics(app=("5m", "100Mi")))
