# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The triage.k8s.kubeconfig inventory plugin.

End to end through `ansible-inventory` (and `ansible` once), the way users run it: the plugin is
found by its FQCN on ANSIBLE_COLLECTIONS_PATH, read through the `auto` plugin, and its output
is the full JSON dump. The helpers that resolve files and read kubeconfigs are also tested
in-process, where a subprocess cannot reach (unreadable files).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_collections.triage.k8s.plugins.inventory import kubeconfig as plugin
from ansible_collections.triage.k8s.tests.unit.plugins.kubeconfigs import context as _ctx, kubeconfig_file

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
FLEET = os.path.join(FIXTURES, "fleet.yaml")
OTHER = os.path.join(FIXTURES, "other.yaml")
DIR = os.path.join(FIXTURES, "dir")
REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
COLLECTIONS = os.path.join(REPO, ".build", "collections")
BIN = os.path.dirname(sys.executable)

HOST_VARS = {"ansible_connection", "k8s_kubeconfig", "k8s_context", "k8s_cluster", "k8s_server", "k8s_namespace"}


# ------------------------------------------------------------------------------------------------
# helpers


def _unwrap(value):
    """ansible-inventory marks untrusted strings as {"__ansible_unsafe": "..."}; strip that."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def _env(tmp_path, extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANSIBLE_", "K8S_AUTH_")) and k != "KUBECONFIG"}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update({
        "HOME": str(home),
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
        "ANSIBLE_LOCALHOST_WARNING": "false",
    })
    env.update(extra or {})
    return env


class Run:
    def __init__(self, proc):
        self.proc = proc
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.out = proc.stdout + proc.stderr
        # Whatever the run, not one credential may show, in output, warnings or errors.
        assert "SECRET" not in self.out, self.out

    @property
    def inventory(self):
        assert self.rc == 0, self.out
        # With -vvv, messages come before the JSON document on stdout.
        start = 0 if self.stdout.startswith("{") else self.stdout.index("\n{") + 1
        return _unwrap(json.loads(self.stdout[start:]))

    def hosts(self, group="all"):
        inv = self.inventory
        names = set(inv.get(group, {}).get("hosts", []))
        for child in inv.get(group, {}).get("children", []):
            names |= self.hosts(child)
        return names

    def hostvars(self, host):
        return self.inventory["_meta"]["hostvars"][host]


def write_config(tmp_path, config, name="inv.kubeconfig.yml"):
    path = tmp_path / name
    data = dict({"plugin": "triage.k8s.kubeconfig"}, **config)
    path.write_text(yaml.safe_dump(data))
    return str(path)


def run_inventory(tmp_path, config, env=None, args=("--list",), name="inv.kubeconfig.yml", cwd=None):
    inv = write_config(tmp_path, config, name=name) if isinstance(config, dict) else config
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", inv] + list(args),
                          env=_env(tmp_path, env), cwd=cwd or str(tmp_path), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    return Run(proc)


# ------------------------------------------------------------------------------------------------
# hosts and host variables


def test_one_host_per_context_with_its_vars_and_the_default_group(tmp_path):
    run = run_inventory(tmp_path, {"kubeconfig": [FLEET]})
    assert run.hosts() == {"prod-eu", "prod-us", "staging-eu"}
    assert run.hosts("k8s_clusters") == {"prod-eu", "prod-us", "staging-eu"}
    assert run.hostvars("prod-eu") == {
        "ansible_connection": "local",
        "k8s_kubeconfig": FLEET,
        "k8s_context": "prod-eu",
        "k8s_cluster": "prod-eu-cluster",
        "k8s_server": "https://prod-eu.example.test:6443",
        "k8s_namespace": "shop",
        "k8s_fleet_hosts": ["prod-eu", "prod-us", "staging-eu"],  # the all group's, merged in by --list
    }
    # No namespace in the context: no k8s_namespace at all. No interpreter unless asked.
    assert run.hostvars("prod-us") == {
        "ansible_connection": "local",
        "k8s_kubeconfig": FLEET,
        "k8s_context": "prod-us",
        "k8s_cluster": "prod-us-cluster",
        "k8s_server": "https://prod-us.example.test:6443",
        "k8s_fleet_hosts": ["prod-eu", "prod-us", "staging-eu"],
    }


def test_every_host_of_the_source_is_listed_once_on_the_all_group(tmp_path):
    """AWX stores all-group variables as the inventory's variables and gives them to every slice of a
    sliced job: k8s_fleet_hosts is how a slice finds its place (docs/awx.md)."""
    run = run_inventory(tmp_path, {"kubeconfig": [FLEET], "exclude_contexts": ["staging-*"]},
                        args=("--list", "--export"))
    inv = run.inventory
    assert inv["all"]["vars"] == {"k8s_fleet_hosts": ["prod-eu", "prod-us"]}
    assert all("k8s_fleet_hosts" not in hvars for hvars in inv["_meta"]["hostvars"].values())
    # A second source of the plugin in the same inventory adds its hosts.
    first = write_config(tmp_path, {"kubeconfig": [FLEET], "include_contexts": ["prod-us"]}, name="a.kubeconfig.yml")
    second = write_config(tmp_path, {"kubeconfig": [FLEET], "include_contexts": ["staging-eu"]}, name="b.kubeconfig.yml")
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", first, "-i", second, "--list", "--export"],
                          env=_env(tmp_path), cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120, check=False)
    assert Run(proc).inventory["all"]["vars"] == {"k8s_fleet_hosts": ["prod-us", "staging-eu"]}


def test_credentials_never_reach_the_inventory_output(tmp_path):
    """Every credential in the fixtures contains SECRET; check each value too, on the full dump."""
    secrets = []

    def collect(value, key=None):
        if isinstance(value, dict):
            for k, v in value.items():
                collect(v, k)
        elif isinstance(value, list):
            for v in value:
                collect(v, key)
        elif isinstance(value, str) and key not in ("apiVersion", "interactiveMode", "name"):
            secrets.append(value)

    for path in (FLEET, OTHER, os.path.join(DIR, "a.yaml"), os.path.join(DIR, "b.yml")):
        with open(path) as f:
            doc = yaml.safe_load(f)
        for user in doc["users"]:
            collect(user["user"])
        for cluster in doc["clusters"]:
            collect({k: v for k, v in cluster["cluster"].items() if "certificate" in k})
    assert len(secrets) >= 14 and all("SECRET" in s for s in secrets), secrets

    config = {"kubeconfig": [FLEET, OTHER, DIR], "use_playbook_python": True,
              "keyed_groups": [{"key": "k8s_cluster", "prefix": "cluster"}], "compose": {"copy": "k8s_server"}}
    for args in (["--list", "--yaml", "--export"], ["--graph", "--vars"], ["--host", "prod-us"], ["--list", "-vvv"]):
        run = run_inventory(tmp_path, config, args=args)
        assert run.rc == 0, run.out
        for secret in secrets:
            assert secret not in run.out, (args, secret)
    # User entries' names are not copied either, only what the host variables list.
    run = run_inventory(tmp_path, config)
    for host, hvars in run.inventory["_meta"]["hostvars"].items():
        assert set(hvars) - {"ansible_python_interpreter", "copy", "k8s_fleet_hosts"} <= HOST_VARS, (host, hvars)
    assert "prod-eu-admin" not in run.stdout and "staging-token" not in run.stdout


def test_userinfo_in_a_server_url_is_dropped(tmp_path):
    path = kubeconfig_file(tmp_path, "userinfo", [_ctx("c1", user="u")],
                           clusters=[{"name": "c1", "cluster": {"server": "https://admin:SECRET-pw@api.example.test:6443/k8s"}}],
                           users=[{"name": "u", "user": {}}])
    run = run_inventory(tmp_path, {"kubeconfig": [path]})
    assert run.hostvars("c1")["k8s_server"] == "https://api.example.test:6443/k8s"


def test_several_files_then_a_directory_in_order(tmp_path):
    run = run_inventory(tmp_path, {"kubeconfig": [OTHER, DIR]})
    assert run.hosts() == {"dev", "prod-eu", "dir-a", "dir-b"}
    assert run.hostvars("dev")["k8s_kubeconfig"] == OTHER
    assert run.hostvars("dir-a")["k8s_kubeconfig"] == os.path.join(DIR, "a.yaml")
    assert run.hostvars("dir-b")["k8s_kubeconfig"] == os.path.join(DIR, "b.yml")
    assert run.hostvars("dir-b")["k8s_namespace"] == "team-b"


def test_a_directory_skips_hidden_files_backups_and_subdirectories(tmp_path):
    fleet = tmp_path / "fleet"
    shutil.copytree(DIR, str(fleet))
    (fleet / ".hidden").write_text("not: [yaml\n")
    (fleet / "a.yaml~").write_text("not: [yaml\n")
    (fleet / "nested").mkdir()
    (fleet / "nested" / "c.yaml").write_text("not: [yaml\n")
    run = run_inventory(tmp_path, {"kubeconfig": [str(fleet)]})
    assert run.hosts() == {"dir-a", "dir-b"}


def test_a_glob_pattern_and_relative_paths_from_the_inventory_file(tmp_path):
    inv_dir = tmp_path / "inventory"
    shutil.copytree(DIR, str(inv_dir / "clusters"))
    inv = write_config(inv_dir, {"kubeconfig": ["clusters/*.yaml"]})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = run_inventory(tmp_path, inv, cwd=str(elsewhere))
    assert run.hosts() == {"dir-a"}
    assert run.hostvars("dir-a")["k8s_kubeconfig"] == str(inv_dir / "clusters" / "a.yaml")


def test_a_file_listed_twice_is_read_once(tmp_path):
    run = run_inventory(tmp_path, {"kubeconfig": [DIR, os.path.join(DIR, "a.yaml")]})
    assert run.hosts() == {"dir-a", "dir-b"}
    assert "must be unique" not in run.out


def test_duplicate_context_names_first_file_wins_with_a_warning(tmp_path):
    run = run_inventory(tmp_path, {"kubeconfig": [FLEET, OTHER]})
    assert run.hosts() == {"prod-eu", "prod-us", "staging-eu", "dev"}
    assert run.hostvars("prod-eu")["k8s_server"] == "https://prod-eu.example.test:6443"
    assert run.hostvars("prod-eu")["k8s_kubeconfig"] == FLEET
    warning = " ".join(run.stderr.split())
    assert "context 'prod-eu' of %s is ignored: %s defines it first" % (OTHER, FLEET) in warning

    run = run_inventory(tmp_path, {"kubeconfig": [OTHER, FLEET]})
    assert run.hostvars("prod-eu")["k8s_server"] == "https://imposter.example.test:6443"
    assert run.hostvars("prod-eu")["k8s_kubeconfig"] == OTHER


def test_a_context_name_repeated_in_one_file_first_wins_with_a_warning(tmp_path):
    path = kubeconfig_file(tmp_path, "twice", [_ctx("same", "one"), _ctx("same", "two")])
    run = run_inventory(tmp_path, {"kubeconfig": [path]})
    assert run.hostvars("same")["k8s_cluster"] == "one"
    assert "context 'same' of %s is ignored: the same file defines it earlier" % path in " ".join(run.stderr.split())


# ------------------------------------------------------------------------------------------------
# selection and groups


def test_include_and_exclude_with_wildcards_and_regular_expressions(tmp_path):
    run = run_inventory(tmp_path, {"kubeconfig": [FLEET, OTHER, DIR],
                                   "include_contexts": ["prod-*", "~^dev$", "~dir-"],
                                   "exclude_contexts": ["*-us", "~dir-b"]})
    assert run.hosts() == {"prod-eu", "dev", "dir-a"}


def test_an_invalid_regular_expression_is_named(tmp_path):
    run = run_inventory(tmp_path, {"kubeconfig": [FLEET], "exclude_contexts": ["~prod-(eu"]})
    assert run.rc != 0
    assert "exclude_contexts: invalid pattern '~prod-(eu'" in run.out


def test_keyed_groups_groups_and_compose(tmp_path):
    run = run_inventory(tmp_path, {
        "kubeconfig": [FLEET, OTHER],
        "keyed_groups": [
            {"key": "k8s_namespace | default('')", "prefix": "ns", "default_value": "none"},
            {"key": "k8s_kubeconfig | basename | splitext | first", "prefix": "file"},
        ],
        "groups": {"eu": "k8s_context is search('-eu$')", "tls": "k8s_server.startswith('https://')"},
        "compose": {"api_host": "k8s_server | urlsplit('hostname')", "region": "k8s_context.split('-')[-1]"},
    })
    inv = run.inventory
    assert run.hosts("ns_shop") == {"prod-eu"}
    assert run.hosts("ns_dev") == {"dev"}
    assert run.hosts("ns_none") == {"prod-us", "staging-eu"}
    assert run.hosts("file_fleet") == {"prod-eu", "prod-us", "staging-eu"}
    assert run.hosts("file_other") == {"dev"}
    assert run.hosts("eu") == {"prod-eu", "staging-eu"}
    assert run.hosts("tls") == {"prod-eu", "prod-us", "staging-eu", "dev"}
    assert run.hostvars("prod-us")["api_host"] == "prod-us.example.test"
    assert run.hostvars("dev")["region"] == "dev"
    assert "k8s_clusters" in inv["all"]["children"]


def test_the_group_option_names_the_group_of_every_host(tmp_path):
    run = run_inventory(tmp_path, {"kubeconfig": [DIR], "group": "fleet"})
    assert run.hosts("fleet") == {"dir-a", "dir-b"}
    assert "k8s_clusters" not in run.inventory


def test_strict_compose_errors_surface(tmp_path):
    run = run_inventory(tmp_path, {"kubeconfig": [FLEET], "strict": True, "compose": {"x": "k8s_nope.attr"}})
    assert run.rc != 0
    assert "Could not set x for host" in run.out


def test_use_playbook_python_sets_a_working_interpreter_only_when_asked(tmp_path):
    def interpreter(config):
        inv = write_config(tmp_path, dict({"kubeconfig": [DIR], "include_contexts": ["dir-a"]}, **config))
        proc = subprocess.run([os.path.join(BIN, "ansible"), "-i", inv, "all", "-m", "ansible.builtin.debug",
                               "-a", "var=ansible_python_interpreter"], env=_env(tmp_path), cwd=str(tmp_path),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    out = interpreter({"use_playbook_python": True})
    # The template is trusted, so it renders to the Python that runs Ansible.
    assert '"ansible_python_interpreter": "%s' % BIN in out, out
    assert "{{" not in out
    out = interpreter({})
    assert "VARIABLE IS NOT DEFINED" in out or "'ansible_python_interpreter' is undefined" in out, out


# ------------------------------------------------------------------------------------------------
# default sources


def _default_source_files(tmp_path):
    a = kubeconfig_file(tmp_path, "a", [_ctx("from-a")])
    b = kubeconfig_file(tmp_path, "b", [_ctx("from-b")])
    return a, b


def test_default_is_kubeconfig_paths_skipping_missing_ones(tmp_path):
    a, b = _default_source_files(tmp_path)
    missing = str(tmp_path / "missing")
    run = run_inventory(tmp_path, {}, env={"KUBECONFIG": os.pathsep.join([a, missing, b])})
    assert run.hosts() == {"from-a", "from-b"}


def test_k8s_auth_kubeconfig_comes_before_kubeconfig(tmp_path):
    a, b = _default_source_files(tmp_path)
    run = run_inventory(tmp_path, {}, env={"KUBECONFIG": a, "K8S_AUTH_KUBECONFIG": b})
    assert run.hosts() == {"from-b"}


def test_default_is_home_kube_config(tmp_path):
    home_kube = tmp_path / "home" / ".kube"
    home_kube.mkdir(parents=True)
    kubeconfig_file(home_kube, "config", [_ctx("from-home")])
    run = run_inventory(tmp_path, {})
    assert run.hosts() == {"from-home"}
    assert run.hostvars("from-home")["k8s_kubeconfig"] == str(home_kube / "config")


def test_no_kubeconfig_anywhere_is_an_error_saying_where_it_looked(tmp_path):
    run = run_inventory(tmp_path, {}, env={"KUBECONFIG": str(tmp_path / "nope")})
    assert run.rc != 0
    assert "no kubeconfig file found: looked at $KUBECONFIG (%s)" % (tmp_path / "nope") in run.out
    run = run_inventory(tmp_path, {})
    assert "no kubeconfig file found: looked at ~/.kube/config" in run.out


def test_an_explicit_missing_file_is_an_error_an_empty_directory_a_warning(tmp_path):
    run = run_inventory(tmp_path, {"kubeconfig": [str(tmp_path / "gone.yaml")]})
    assert run.rc != 0
    assert "kubeconfig %s: does not exist" % (tmp_path / "gone.yaml") in run.out
    (tmp_path / "empty").mkdir()
    run = run_inventory(tmp_path, {"kubeconfig": [str(tmp_path / "empty"), str(tmp_path / "*.nothing")]})
    assert run.rc == 0, run.out
    assert run.hosts() == set()
    assert "kubeconfig directory %s holds no file" % (tmp_path / "empty") in run.out
    assert "matches no file" in run.out


def test_verify_file_wants_the_kubeconfig_suffix(tmp_path):
    inv = write_config(tmp_path, {"kubeconfig": [FLEET]}, name="inventory.yml")
    run = run_inventory(tmp_path, inv)
    assert run.rc != 0
    assert "could not be verified by inventory plugin 'triage.k8s.kubeconfig'" in run.out

    module = plugin.InventoryModule()
    for name, ok in (("a.kubeconfig.yml", True), ("a.kubeconfig.yaml", True), ("a.yml", False),
                     ("kubeconfig.yml", False), ("a.kubeconfig.json", False)):
        path = tmp_path / name
        path.write_text("plugin: triage.k8s.kubeconfig\n")
        assert module.verify_file(str(path)) is ok, name
    assert module.verify_file(str(tmp_path / "missing.kubeconfig.yml")) is False


# ------------------------------------------------------------------------------------------------
# broken kubeconfigs: one clear error naming the file


BROKEN = [
    ("not-yaml", "contexts: [\n  - name: a\n",
     "is not valid YAML at line 2, column 3: did not find expected node content (while parsing a flow node)"),
    ("token-in-bad-line", "users:\n- name: u\n  user: {token: SECRET-abc: def}\n", "is not valid YAML"),
    ("empty", "", "is empty"),
    ("a-list", "- a\n- b\n", "is not a kubeconfig: the document is a list, not a mapping"),
    ("a-pod", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n", "is not a kubeconfig: kind is 'Pod', not 'Config'"),
    ("no-contexts", "clusters:\n- {name: c, cluster: {server: 'https://c'}}\n", "has no 'contexts' entries"),
    ("empty-contexts", "contexts: []\nclusters: []\n", "has no 'contexts' entries ('contexts' is empty)"),
    ("contexts-map", "contexts: {a: b}\nclusters: []\n", "'contexts' must be a list, not dict"),
    ("no-clusters", "contexts:\n- {name: a, context: {cluster: c}}\n", "has no 'clusters' entries"),
    ("nameless-context", "contexts:\n- {context: {cluster: c}}\nclusters:\n- {name: c, cluster: {server: 'https://c'}}\n",
     "'contexts' entry 1 has no name"),
    ("scalar-cluster", "contexts:\n- {name: a, context: {cluster: c}}\nclusters:\n- c\n", "'clusters' entry 1 is not a mapping"),
    ("missing-cluster", "contexts:\n- {name: a, context: {cluster: gone}}\nclusters:\n- {name: c, cluster: {server: 'https://c'}}\n",
     "context 'a' names cluster 'gone', which the file does not define"),
    ("missing-user", "contexts:\n- {name: a, context: {cluster: c, user: SECRET-name}}\nclusters:\n"
     "- {name: c, cluster: {server: 'https://c'}}\nusers: []\n", "context 'a' names a user the file does not define"),
    ("no-cluster-name", "contexts:\n- {name: a, context: {user: u}}\nclusters:\n- {name: c, cluster: {server: 'https://c'}}\n",
     "context 'a' names no cluster"),
    ("no-context-body", "contexts:\n- {name: a}\nclusters:\n- {name: c, cluster: {server: 'https://c'}}\n",
     "context 'a' has no 'context' mapping"),
    ("no-server", "contexts:\n- {name: a, context: {cluster: c}}\nclusters:\n- {name: c, cluster: {insecure-skip-tls-verify: true}}\n",
     "cluster 'c' (of context 'a') has no server"),
]


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory):
    """One ansible-inventory run over one source per broken file (each also lists a good file).

    Without ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED each failing source is reported and the
    next one is parsed, so one run shows every message.
    """
    tmp_path = tmp_path_factory.mktemp("broken")
    args = []
    for name, content, dummy in BROKEN:
        path = tmp_path / name
        path.write_text(content)
        args += ["-i", write_config(tmp_path, {"kubeconfig": [FLEET, str(path)]}, name="%s.kubeconfig.yml" % name)]
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "--list"] + args,
                          env=_env(tmp_path, {"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "false"}),
                          cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=300, check=False)
    return tmp_path, Run(proc)


@pytest.mark.parametrize("name,content,message", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_kubeconfig_is_an_error_naming_the_file(broken_run, name, content, message):
    tmp_path, run = broken_run
    out = " ".join(run.out.split())
    assert "Failed to parse inventory with 'auto' plugin: kubeconfig %s: %s" % (tmp_path / name, message) in out, run.out
    assert "Traceback" not in run.out
    # None of the good file's contexts made it: a broken file fails its whole source.
    assert run.inventory["_meta"]["hostvars"] == {}


def test_a_broken_kubeconfig_fails_the_run_when_unparsed_is_failed(tmp_path):
    path = tmp_path / "broken"
    path.write_text(BROKEN[0][1])
    run = run_inventory(tmp_path, {"kubeconfig": [FLEET, str(path)]})
    assert run.rc != 0
    assert "kubeconfig %s: is not valid YAML" % path in run.out


def test_a_binary_file_is_not_a_kubeconfig(tmp_path):
    path = tmp_path / "binary"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    run = run_inventory(tmp_path, {"kubeconfig": [str(path)]})
    assert "kubeconfig %s: is not a kubeconfig: not UTF-8 text" % path in run.out


def test_every_broken_context_is_reported_at_once(tmp_path):
    path = kubeconfig_file(tmp_path, "two", [_ctx("a", "gone"), _ctx("b", "also-gone"), _ctx("ok", "ok")],
                           clusters=[{"name": "ok", "cluster": {"server": "https://ok"}}])
    run = run_inventory(tmp_path, {"kubeconfig": [path]})
    assert "context 'a' names cluster 'gone'" in run.out and "context 'b' names cluster 'also-gone'" in run.out


def test_an_excluded_broken_context_does_not_fail_the_source(tmp_path):
    path = kubeconfig_file(tmp_path, "stale", [_ctx("stale", "gone"), _ctx("live", "live")],
                           clusters=[{"name": "live", "cluster": {"server": "https://live"}}])
    run = run_inventory(tmp_path, {"kubeconfig": [path], "exclude_contexts": ["stale"]})
    assert run.hosts() == {"live"}


# ------------------------------------------------------------------------------------------------
# cache


def _cache_config(path, cache_dir, **extra):
    return dict({"kubeconfig": [path], "cache": True, "cache_plugin": "ansible.builtin.jsonfile",
                 "cache_connection": str(cache_dir), "cache_timeout": 3600}, **extra)


def _rewrite_keeping_stat(path, old, new):
    """Change the content in place, same size, same mtime: only a cache could hide it."""
    assert len(old) == len(new)
    st = os.stat(path)
    with open(path) as f:
        text = f.read()
    with open(path, "r+") as f:
        f.write(text.replace(old, new))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_size == st.st_size


def test_cache_hit_then_invalidated_by_a_changed_kubeconfig(tmp_path):
    path = str(tmp_path / "fleet.yaml")
    shutil.copy(FLEET, path)
    cache_dir = tmp_path / "cache"
    config = _cache_config(path, cache_dir)

    first = run_inventory(tmp_path, config, args=("--list", "-vvv"))
    assert first.hostvars("prod-us")["k8s_server"] == "https://prod-us.example.test:6443"
    assert "cache miss or kubeconfig files changed" in first.out
    cached = "".join(p.read_text() for p in cache_dir.iterdir())
    assert "prod-us.example.test" in cached
    assert "SECRET" not in cached and "prod-eu-admin" not in cached  # the cache holds no credentials

    # Same size, same mtime, same inode: the cached contexts are used (the edit is not seen).
    _rewrite_keeping_stat(path, "prod-us.example.test", "prod-XX.example.test")
    hit = run_inventory(tmp_path, config, args=("--list", "-vvv"))
    assert "contexts from the cache" in hit.out
    assert hit.hostvars("prod-us")["k8s_server"] == "https://prod-us.example.test:6443"
    # Options apply to cached contexts too.
    filtered = run_inventory(tmp_path, dict(config, include_contexts=["prod-eu"]))
    assert filtered.hosts() == {"prod-eu"}

    # A new mtime: the file is read again and the cache updated.
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1000000000))
    miss = run_inventory(tmp_path, config, args=("--list", "-vvv"))
    assert "cache miss or kubeconfig files changed" in miss.out
    assert miss.hostvars("prod-us")["k8s_server"] == "https://prod-XX.example.test:6443"
    again = run_inventory(tmp_path, config, args=("--list", "-vvv"))
    assert "contexts from the cache" in again.out
    assert again.hostvars("prod-us")["k8s_server"] == "https://prod-XX.example.test:6443"


def test_cache_invalidated_by_a_file_added_to_a_directory_and_by_flush(tmp_path):
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    shutil.copy(os.path.join(DIR, "a.yaml"), str(fleet / "a.yaml"))
    cache_dir = tmp_path / "cache"
    config = _cache_config(str(fleet), cache_dir)
    assert run_inventory(tmp_path, config).hosts() == {"dir-a"}
    shutil.copy(os.path.join(DIR, "b.yml"), str(fleet / "b.yml"))
    assert run_inventory(tmp_path, config).hosts() == {"dir-a", "dir-b"}

    _rewrite_keeping_stat(str(fleet / "a.yaml"), "a.example.test", "z.example.test")
    assert run_inventory(tmp_path, config).hostvars("dir-a")["k8s_server"] == "https://a.example.test"
    flushed = run_inventory(tmp_path, config, args=("--list", "--flush-cache"))
    assert flushed.hostvars("dir-a")["k8s_server"] == "https://z.example.test"


def test_without_cache_true_the_files_are_always_read(tmp_path):
    path = str(tmp_path / "fleet.yaml")
    shutil.copy(FLEET, path)
    cache_dir = tmp_path / "cache"
    config = _cache_config(path, cache_dir, cache=False)
    run_inventory(tmp_path, config)
    assert not cache_dir.exists() or not list(cache_dir.iterdir())
    _rewrite_keeping_stat(path, "prod-us.example.test", "prod-XX.example.test")
    assert run_inventory(tmp_path, config).hostvars("prod-us")["k8s_server"] == "https://prod-XX.example.test:6443"
