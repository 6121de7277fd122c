# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shape of plugins/module_utils, read from the source (docs/development.md, "Layout"):

- every file lives in a package: _k8s (the Kubernetes layer), _s3 (the object-storage layer),
  _contract (what we write on objects), and one package per feature (_quarantine, _crashloop,
  _evidence, _cleanup, _notify);
- _k8s imports only itself, _s3 only _k8s and itself, _contract only _k8s, and a feature only
  _k8s, _s3, _contract and itself: features never import each other;
- only a feature's run/collect files (run.py, run_*.py, collect.py, collect_*.py) talk to the
  API layer or the store: nothing else imports them, takes a `kube`, `api_client` or `s3`, or calls one;
- only the API layer builds an API path or calls the transport (raw_request, call_api, stream).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
MODULE_UTILS = os.path.join(REPO, "plugins", "module_utils")
BASE = "ansible_collections.triage.k8s.plugins.module_utils"
FEATURES = ("_quarantine", "_crashloop", "_evidence", "_cleanup", "_notify")
LAYERS = ("_k8s", "_s3")
PACKAGES = LAYERS + ("_contract",) + FEATURES
ALLOWED = {"_k8s": {"_k8s"}, "_s3": {"_k8s", "_s3"}, "_contract": {"_k8s", "_contract"}}
ALLOWED.update((feature, {"_k8s", "_s3", "_contract", feature}) for feature in FEATURES)
# The modules of _k8s that reach a cluster (api, and the factory, glue and hook around it; lookup
# and namespaces are first reads built on it, events the Event writer, ephemeral the debug
# container's patch and watch). The rest of _k8s (names, labels, selectors, objects, timeutil,
# retry, errors) is pure and may be imported anywhere.
API_TALK = {"api", "stream", "client", "module", "faults", "lookup", "namespaces", "events", "ephemeral"}
# The modules of _s3 that reach the store; the rest (spec, keys, checksums, errors) is pure.
S3_TALK = {"client", "transfer", "verify"}
API_NAMES = {"kube", "api_client", "s3"}
TRANSPORT_FILES = {"_k8s/api.py", "_k8s/stream.py"}


def _files():
    out = []
    for folder, _dirs, names in os.walk(MODULE_UTILS):
        for name in names:
            if name.endswith(".py"):
                out.append(os.path.relpath(os.path.join(folder, name), MODULE_UTILS).replace(os.sep, "/"))
    return sorted(out)


FILES = _files()


def _tree(rel):
    with open(os.path.join(MODULE_UTILS, rel)) as handle:
        return ast.parse(handle.read(), rel)


def _imports(rel, tree=None):
    """(package, module) pairs this file imports from module_utils."""
    found = []
    for node in ast.walk(tree or _tree(rel)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(BASE):
            rest = node.module[len(BASE):].lstrip(".").split(".")
            if rest == [""]:
                found.extend((alias.name, None) for alias in node.names)
            elif len(rest) == 1:
                found.extend((rest[0], alias.name) for alias in node.names)
            else:
                found.append((rest[0], rest[1]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(BASE):
                    rest = alias.name[len(BASE):].lstrip(".").split(".")
                    found.append((rest[0], rest[1] if len(rest) > 1 else None))
    return found


def _package(rel):
    return rel.split("/")[0]


def _talks_to_api(rel):
    return os.path.basename(rel).startswith(("run", "collect"))


def test_every_file_is_in_a_package():
    flat = [rel for rel in FILES if "/" not in rel and rel != "__init__.py"]
    assert not flat, "files outside a package: %s" % flat
    found = set(_package(rel) for rel in FILES if "/" in rel)
    assert found <= set(PACKAGES), "packages the layout rules do not know: %s" % sorted(found - set(PACKAGES))


@pytest.mark.parametrize("rel", [rel for rel in FILES if "/" in rel])
def test_packages_import_only_what_they_may(rel):
    package = _package(rel)
    wrong = sorted(set("%s.%s" % (pkg, mod) for pkg, mod in _imports(rel) if pkg not in ALLOWED[package]))
    assert not wrong, "%s may import only %s, but imports %s" % (rel, sorted(ALLOWED[package]), wrong)


@pytest.mark.parametrize("rel", [rel for rel in FILES if _package(rel) not in LAYERS + ("__init__.py",)
                                 and not _talks_to_api(rel)])
def test_only_run_and_collect_files_talk_to_the_api(rel):
    imported, names = _api_use(rel)
    assert not imported, "%s is a decision file but imports the API layer: %s" % (rel, imported)
    assert not names, "%s is a decision file but uses %s: move the I/O into a run/collect file" % (rel, sorted(names))


def _api_use(rel, tree=None):
    tree = tree or _tree(rel)
    imported = sorted(set(mod for pkg, mod in _imports(rel, tree)
                          if (pkg == "_k8s" and mod in API_TALK) or (pkg == "_s3" and mod in S3_TALK)))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in API_NAMES:
            names.add(node.id)
        elif isinstance(node, ast.arg) and node.arg in API_NAMES:
            names.add(node.arg)
    return imported, names


@pytest.mark.parametrize("rel", [rel for rel in FILES if rel not in TRANSPORT_FILES])
def test_only_the_api_layer_calls_the_transport_or_builds_paths(rel):
    problems = []
    for node in ast.walk(_tree(rel)):
        if isinstance(node, ast.Attribute) and node.attr in ("raw_request", "call_api"):
            problems.append("calls %s (line %d)" % (node.attr, node.lineno))
        elif isinstance(node, ast.Name) and node.id == "raw_request":
            problems.append("calls raw_request (line %d)" % node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(("/api/", "/apis/")):
            problems.append("builds the API path %r (line %d)" % (node.value, node.lineno))
    assert not problems, "%s: %s; go through _k8s/api.py" % (rel, "; ".join(problems))


def test_the_rules_see_a_violation():
    """The checks above are not vacuous: on a file that breaks them they find what they look for."""
    source = (
        "from %(b)s._cleanup.decide import decide\n"
        "from %(b)s._k8s import api\n"
        "from %(b)s._k8s.client import connect\n"
        "from %(b)s import _crashloop\n"
        "from %(b)s._s3.transfer import upload\n"
        "def guard(kube, pod):\n"
        "    return kube.get('Pod', pod)\n" % {"b": BASE})
    tree = ast.parse(source)
    assert _imports("x", tree) == [("_cleanup", "decide"), ("_k8s", "api"), ("_k8s", "client"), ("_crashloop", None),
                                   ("_s3", "transfer")]
    imported, names = _api_use("x", tree)
    assert imported == ["api", "client", "transfer"] and names == {"kube"}
    assert _talks_to_api("_quarantine/run_policy.py") and _talks_to_api("_evidence/collect_logs.py")
    assert not _talks_to_api("_quarantine/guards.py")
