# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one kubeconfig reader, in-process: what the inventory plugin (tests/unit/plugins/inventory)
and the client factory (test_client.py) see of it end to end is tested there."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._k8s import kubeconfig as files
from ansible_collections.triage.k8s.plugins.module_utils._k8s.kubeconfig import KubeconfigError
from ansible_collections.triage.k8s.tests.unit.plugins.kubeconfigs import context as _ctx, kubeconfig_file


@pytest.mark.parametrize("include,exclude,expected", [
    ([], [], {"prod-eu", "prod-us", "staging-eu", "dev"}),
    (["prod"], [], set()),                       # a wildcard pattern matches the whole name
    (["prod*"], [], {"prod-eu", "prod-us"}),
    (["?ev"], [], {"dev"}),
    (["[ps]*-eu"], [], {"prod-eu", "staging-eu"}),
    (["~eu"], [], set()),                        # a regex matches at the start, like host patterns
    (["~.*eu$"], [], {"prod-eu", "staging-eu"}),
    (["~prod"], [], {"prod-eu", "prod-us"}),
    ([], ["PROD-*"], {"prod-eu", "prod-us", "staging-eu", "dev"}),  # case-sensitive
    ([], ["*-eu", "~d"], {"prod-us"}),
    (["prod-*"], ["prod-*"], set()),             # exclude wins
])
def test_context_filter(include, exclude, expected):
    selected = files.context_filter(include, exclude)
    assert {n for n in ("prod-eu", "prod-us", "staging-eu", "dev") if selected(n)} == expected


def test_empty_or_non_string_patterns_are_refused():
    for bad in ([""], [None], [3]):
        with pytest.raises(KubeconfigError, match="include_contexts: every pattern must be a non-empty string"):
            files.context_filter(bad, [])


def test_read_kubeconfig_unreadable_paths_name_the_file(tmp_path):
    with pytest.raises(KubeconfigError) as e:
        files.read_kubeconfig(str(tmp_path))  # a directory where a file is expected
    assert "kubeconfig %s: cannot be read: Is a directory" % tmp_path in str(e.value)
    with pytest.raises(KubeconfigError) as e:
        files.read_kubeconfig(str(tmp_path / "gone"))
    assert "kubeconfig %s: cannot be read: No such file or directory" % (tmp_path / "gone") in str(e.value)
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked"
        locked.write_text("contexts: []\n")
        locked.chmod(0)
        with pytest.raises(KubeconfigError) as e:
            files.read_kubeconfig(str(locked))
        assert "cannot be read: Permission denied" in str(e.value)


def test_yaml_errors_never_quote_the_offending_line():
    class Mark:
        line, column = 2, 17

    err = files.yaml.scanner.ScannerError("while scanning", Mark(), "found SECRET-ish thing", Mark())
    err.problem = "mapping values are not allowed here"
    text = files._yaml_error(err)
    assert text == "is not valid YAML at line 3, column 18: mapping values are not allowed here (while scanning)"


def test_resolve_files_and_default_entries(tmp_path):
    a = kubeconfig_file(tmp_path, "a", [_ctx("a")])
    assert files.resolve_files(["a", str(tmp_path / "a")], str(tmp_path)) == [a]
    assert files.resolve_files([str(tmp_path / "gone")], str(tmp_path), skip_missing=True) == []
    with pytest.raises(KubeconfigError, match="gone: does not exist"):
        files.resolve_files([str(tmp_path / "gone")], str(tmp_path))
    assert files.default_entries({"K8S_AUTH_KUBECONFIG": "", "KUBECONFIG": "x%sy" % os.pathsep}) == (
        ["x", "y"], "$KUBECONFIG (x%sy)" % os.pathsep)
    assert files.default_entries({}) == (["~/.kube/config"], "~/.kube/config")


def test_safe_server():
    assert files.safe_server("https://u:p@h:6443/x?y=1") == "https://h:6443/x?y=1"
    assert files.safe_server("https://h:6443") == "https://h:6443"
    assert files.safe_server("https://token@[::1]:6443") == "https://[::1]:6443"


def test_safe_server_never_shows_user_info_even_in_a_url_it_cannot_parse():
    assert files.safe_server("https://u:p@[::1:6443") == "https://[::1:6443"
    assert files.safe_server("https://u:p@h@real:6443") == "https://real:6443"
    assert files.safe_server(None) is None


@pytest.mark.parametrize("content,plugin_says,module_says", [
    ("contexts: [\n  - name: a\n", "is not valid YAML at line 2, column 3: did not find expected node content",
     "is not valid YAML: did not find expected node content at line 2, column 3"),
    ("", "is empty", "is empty or not a YAML mapping"),
    ("- a\n", "is not a kubeconfig: the document is a list, not a mapping", "is empty or not a YAML mapping"),
])
def test_load_file_names_the_file_in_both_wordings(tmp_path, content, plugin_says, module_says):
    path = tmp_path / "k"
    path.write_text(content)
    with pytest.raises(KubeconfigError) as e:
        files.load_file(str(path))
    assert str(e.value).startswith("kubeconfig %s: %s" % (path, plugin_says))
    assert e.value.for_module.startswith("kubeconfig %s %s" % (path, module_says))


def test_load_file_missing_unreadable_and_binary(tmp_path):
    with pytest.raises(KubeconfigError) as e:
        files.load_file(str(tmp_path / "gone"))
    assert e.value.for_module == ("kubeconfig %s does not exist; set kubeconfig (K8S_AUTH_KUBECONFIG) to an existing "
                                  "file" % (tmp_path / "gone"))
    with pytest.raises(KubeconfigError) as e:
        files.load_file(str(tmp_path))
    assert e.value.for_module == "cannot read kubeconfig %s: Is a directory" % tmp_path
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(KubeconfigError) as e:
        files.load_file(str(tmp_path / "bin"))
    assert str(e.value) == "kubeconfig %s: is not a kubeconfig: not UTF-8 text" % (tmp_path / "bin")


def test_default_paths_follow_kubectl(tmp_path, monkeypatch):
    a = kubeconfig_file(tmp_path, "a", [_ctx("a")])
    value = os.pathsep.join([str(tmp_path / "missing"), a])
    assert files.default_paths({"KUBECONFIG": value}) == ([a], "KUBECONFIG=" + value)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert files.default_paths({}) == ([], "~/.kube/config")
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text("{}")
    assert files.default_paths({}) == ([str(tmp_path / ".kube" / "config")], "~/.kube/config")


def test_select_context_merges_files_like_the_library(tmp_path):
    first = kubeconfig_file(tmp_path, "first", [_ctx("a"), _ctx("shared", "one")], extra={"current-context": "a"},
                            clusters=[{"name": "a", "cluster": {"server": "https://a"}},
                                      {"name": "one", "cluster": {"server": "https://one"}}])
    second = kubeconfig_file(tmp_path, "second", [_ctx("shared", "two"), _ctx("b")], extra={"current-context": "b"},
                             clusters=[{"name": "two", "cluster": {"server": "https://two"}},
                                       {"name": "b", "cluster": {"server": "https://b"}}])
    both = os.pathsep.join([first, second])
    chosen = files.select_context(both, None, {})
    assert (chosen.context, chosen.server, chosen.paths) == ("b", "https://b", [first, second])  # last current wins
    assert files.select_context(both, "shared", {}).server == "https://one"  # first definition wins
    assert files.select_context({"contexts": [_ctx("d")], "current-context": "d"}, None, {}).server is None
    with pytest.raises(KubeconfigError) as e:
        files.select_context(both, "nope", {})
    assert str(e.value) == "context 'nope' not found in kubeconfig %s; available contexts: a, shared, b" % both
    with pytest.raises(KubeconfigError) as e:
        files.select_context({"contexts": "broken"}, None, {})
    assert str(e.value) == "the kubeconfig given as a dict has no current-context; set context to one of: " \
                           "(it defines no contexts)"
    with pytest.raises(KubeconfigError) as e:
        files.select_context(None, "a", {"KUBECONFIG": str(tmp_path / "missing")})
    assert "context 'a' was requested but there is no kubeconfig (looked at KUBECONFIG=" in str(e.value)


def test_server_of_tolerates_broken_entries():
    configs = [{"contexts": [{"name": "x", "context": "not a mapping"}, None, {"name": "y", "context": {"cluster": "c"}}],
                "clusters": [{"name": "c", "cluster": {"server": 6443}}, {"name": "c", "cluster": {"server": "https://late"}}]}]
    assert files.server_of(configs, "x") is None
    assert files.server_of(configs, "y") is None  # the first cluster "c" wins, and its server is no URL
