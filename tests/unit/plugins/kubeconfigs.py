# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubeconfig files for unit tests of the kubeconfig reader and the inventory plugin."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml


def kubeconfig_file(tmp_path, name, contexts, clusters=None, users=None, extra=None):
    doc = {"apiVersion": "v1", "kind": "Config", "contexts": contexts,
           "clusters": clusters if clusters is not None else
           [{"name": c["context"]["cluster"], "cluster": {"server": "https://%s.example.test" % c["name"]}}
            for c in contexts]}
    if users is not None:
        doc["users"] = users
    doc.update(extra or {})
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def context(name, cluster=None, **extra):
    return {"name": name, "context": dict({"cluster": cluster or name}, **extra)}
