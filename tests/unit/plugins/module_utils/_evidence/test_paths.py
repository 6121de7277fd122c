# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every API path pod_evidence builds comes from validated, quoted segments: no pod, namespace,
container, node, owner name or apiVersion can move a request elsewhere."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._evidence import plan
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError
from ansible_collections.triage.k8s.plugins.module_utils._evidence.collect_exec import ExecApi, run_command
from ansible_collections.triage.k8s.plugins.module_utils._evidence.collect_items import _checkpoint_path, _resolve_path

TRAVERSALS = ["../../other/pods/x", "..", ".", "a/b", "%2e%2e", "x?dryRun=All", "X"]


class _Serializer(object):
    """Records the path the exec stand-in asks the client to serialize (no request is made)."""

    def __init__(self):
        self.paths = []

    def param_serialize(self, method, path, **_kwargs):
        self.paths.append(path)
        return (method, path)

    def call_api(self, *_args, **_kwargs):
        class _Answer(object):
            response = "ws"
        return _Answer()


def test_exec_path_is_built_from_validated_segments():
    client = _Serializer()
    ExecApi(client).connect_get_namespaced_pod_exec("web-1", "shop", command=["true"])
    assert client.paths == ["/api/v1/namespaces/shop/pods/web-1/exec"]
    for bad in TRAVERSALS:
        with pytest.raises(TriageError, match="invalid pod name"):
            ExecApi(client).connect_get_namespaced_pod_exec(bad, "shop", command=["true"])
        with pytest.raises(TriageError, match="invalid namespace"):
            ExecApi(client).connect_get_namespaced_pod_exec("web-1", bad, command=["true"])
    assert len(client.paths) == 1


@pytest.mark.parametrize("container", ["../x", "app&command=sh", "a/b", "App"])
def test_a_container_name_that_is_not_a_label_never_reaches_exec(container):
    with pytest.raises(TriageError, match="invalid container name"):
        run_command(None, "shop", "web-1", container, ["true"], 5, None)


def test_checkpoint_path():
    assert _checkpoint_path("kwok-node-0", "shop", "web-1", "app") == \
        "/api/v1/nodes/kwok-node-0/proxy/checkpoint/shop/web-1/app"
    for bad in TRAVERSALS:
        with pytest.raises(TriageError):
            _checkpoint_path(bad, "shop", "web-1", "app")
        with pytest.raises(TriageError):
            _checkpoint_path("kwok-node-0", "shop", "web-1", bad)


@pytest.mark.parametrize("api_version", ["../../api/v1", "v1/../..", "apps/v1/namespaces/x", "", "apps"])
def test_owner_paths_refuse_an_api_version_that_adds_segments(api_version):
    with pytest.raises(TriageError, match="not group/version"):
        _resolve_path(None, api_version, "Widget", "shop", "w-1")


def test_owner_names_are_checked_before_discovery():
    with pytest.raises(TriageError, match='invalid widget name "../x"'):
        _resolve_path(None, "example.com/v1", "Widget", "shop", "../x")


def test_pod_and_namespace_are_checked_before_any_call():
    params = {"name": "../../other/pods/x", "namespace": "Shop", "include": None, "exclude": [], "required": [],
              "exec": None, "copy_from": None, "checkpoint": False, "tail_lines": None, "since_seconds": None,
              "limit_bytes": None, "workers": 4, "timeout": 60, "redact": True, "redact_patterns": []}
    with pytest.raises(TriageError) as caught:
        plan.validate_params(params)
    assert 'invalid pod name "../../other/pods/x"' in caught.value.msg
    assert 'invalid namespace "Shop"' in caught.value.msg and caught.value.msg.endswith("nothing was read or written")
