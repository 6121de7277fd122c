# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every API path pod_evidence uses comes from validated, quoted segments: no pod, namespace,
container, node, owner name or apiVersion can move a request elsewhere. The paths are built by the
API layer (tests/unit/plugins/module_utils/_k8s/test_api_paths.py: exec, checkpoint, owner and
metrics paths); here, that the evidence collectors go through it before any request."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._evidence import plan
from ansible_collections.triage.k8s.plugins.module_utils._evidence.collect_exec import run_command
from ansible_collections.triage.k8s.plugins.module_utils._evidence.collect_items import owner_chain
from ansible_collections.triage.k8s.plugins.module_utils._k8s.api import Kube
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError


@pytest.mark.parametrize("container", ["../x", "app&command=sh", "a/b", "App"])
def test_a_container_name_that_is_not_a_label_never_reaches_exec(container):
    with pytest.raises(TriageError, match="invalid container name"):
        run_command(Kube(None), "shop", "web-1", container, ["true"], 5, None)


def _pod(ref):
    return {"metadata": {"name": "web-1", "namespace": "shop", "ownerReferences": [dict(ref, controller=True)]}}


@pytest.mark.parametrize("ref, message", [
    ({"apiVersion": "example.com/v1", "kind": "Widget", "name": "../x", "uid": "u"}, 'invalid widget name "../x"'),
    ({"apiVersion": "../../api/v1", "kind": "Widget", "name": "w-1", "uid": "u"}, "not group/version"),
    ({"apiVersion": "apps", "kind": "Widget", "name": "w-1", "uid": "u"}, "not group/version"),
])
def test_owner_references_are_checked_before_discovery(ref, message):
    with pytest.raises(TriageError, match=message):
        owner_chain(Kube(None), _pod(ref))  # no client: any request would fail differently


def test_pod_and_namespace_are_checked_before_any_call():
    params = {"name": "../../other/pods/x", "namespace": "Shop", "include": None, "exclude": [], "required": [],
              "exec": None, "copy_from": None, "checkpoint": False, "tail_lines": None, "since_seconds": None,
              "limit_bytes": None, "workers": 4, "timeout": 60, "redact": True, "redact_patterns": []}
    with pytest.raises(TriageError) as caught:
        plan.validate_params(params)
    assert 'invalid pod name "../../other/pods/x"' in caught.value.msg
    assert 'invalid namespace "Shop"' in caught.value.msg and caught.value.msg.endswith("nothing was read or written")
