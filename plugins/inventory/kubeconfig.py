# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: kubeconfig
short_description: One inventory host per Kubernetes context, read from kubeconfig files
version_added: 0.1.0
author:
  - triage.k8s developers (@triage-k8s)
description:
  - Turns kubeconfig files into an inventory of clusters. Every context becomes one host, named
    after the context, with C(ansible_connection=local), in the group named by O(group).
    This is the one-host-per-cluster pattern; pods are never hosts.
  - "Host variables: C(k8s_kubeconfig) (absolute path of the file the context was read from),
    C(k8s_context) (the context name), C(k8s_cluster) (the cluster name in that file),
    C(k8s_server) (the API server URL) and C(k8s_namespace) (the context's namespace, only when
    the context sets one). The playbooks of this collection pass C(k8s_kubeconfig) and
    C(k8s_context) to every module through C(module_defaults: group/triage.k8s.k8s)."
  - "The C(all) group gets one variable, C(k8s_fleet_hosts): the sorted names of every host this
    source (and any other source of this plugin in the same inventory) produced. The roles
    C(crashloop_scan) and C(cleanup) use it to tell which slice of an AWX sliced job they run in."
  - Credentials are never copied. Tokens, passwords, client certificates and keys, exec and
    auth-provider settings stay in the kubeconfig file; only the names, the file path and the
    server URL above reach host variables, the inventory cache and messages. User names and
    passwords embedded in a server URL are removed from C(k8s_server).
  - Each file must be self-contained, because a module loads only the file named by
    C(k8s_kubeconfig). A context whose cluster or user is defined only in another file is an error.
  - Context names must be unique across all files. When a name repeats, in one file or in two,
    the first definition (in the order of O(kubeconfig)) wins and a warning names both files, the
    way C(kubectl) merges C($KUBECONFIG).
  - A broken kubeconfig - unreadable, not YAML, not a mapping, without contexts or clusters, an
    entry without a name, a context naming a cluster or user the file does not define, a cluster
    without a server - makes the inventory source fail with a message naming the file and the
    problem. Problems of a single context are only reported when that context is selected by
    O(include_contexts) and O(exclude_contexts), so a stale context can be excluded.
  - "The configuration file must end in C(.kubeconfig.yml) or C(.kubeconfig.yaml) and contain
    C(plugin: triage.k8s.kubeconfig). It is read through the C(ansible.builtin.auto) inventory
    plugin, which is enabled by default."
  - With O(cache=true) the contexts read from the kubeconfig files are cached, never the
    credentials. The cache entry records the path, modification time, size and inode of every
    file; when any of them changes (or a file appears in or disappears from a directory), the files
    are read again.
notes:
  - Ansible only warns about an inventory source that fails to parse and carries on without its
    hosts. Set C(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true) (C(any_unparsed_is_failed) in the
    C([inventory]) section of C(ansible.cfg)) to make a broken kubeconfig stop the run.
  - A context name that contains a colon (for example an EKS ARN) cannot be given to C(--limit)
    as is, because C(:) separates host patterns. Rename the context (C(kubectl config rename-context),
    C(aws eks update-kubeconfig --alias)) or limit with a wildcard such as C(-l '*cluster/prod').
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description:
      - The name of this plugin. It must be V(triage.k8s.kubeconfig) for the file to be read by it.
    type: str
    required: true
    choices: [triage.k8s.kubeconfig]
  kubeconfig:
    description:
      - Kubeconfig files to read, in order. An entry may also be a directory, whose regular files
        are all read (not recursively; hidden files and names ending in V(~) are skipped), or a glob
        pattern such as V(~/.kube/fleet/*.yaml).
      - C(~) and environment variables are expanded. Relative paths are relative to the directory
        of this inventory configuration file.
      - A file or directory given here that does not exist is an error; a directory without files
        or a pattern matching nothing only gives a warning.
      - When not set, the paths in the environment variable C(K8S_AUTH_KUBECONFIG) (as the
        modules use it), else those in C(KUBECONFIG), else C(~/.kube/config). Both variables may
        list several paths separated by C(:); paths from them that do not exist are skipped, as
        C(kubectl) does, but at least one must exist.
    type: list
    elements: path
  include_contexts:
    description:
      - Only contexts whose name matches at least one of these patterns become hosts. Empty means
        every context.
      - Patterns are shell-style wildcards (C(*), C(?), C([abc])), matched against the whole name
        and case-sensitively. A pattern starting with C(~) is a Python regular expression matched
        at the start of the name (use C($) to anchor the end), as in Ansible host patterns.
    type: list
    elements: str
    default: []
  exclude_contexts:
    description:
      - Contexts whose name matches any of these patterns are left out, even when they match
        O(include_contexts). Same pattern syntax as O(include_contexts).
    type: list
    elements: str
    default: []
  group:
    description:
      - Every host is added to this group, so playbooks can target all clusters of this source
        with C(-e target=k8s_clusters).
    type: str
    default: k8s_clusters
  use_playbook_python:
    description:
      - Also set C(ansible_python_interpreter) to C({{ ansible_playbook_python }}) on every host, so
        that modules run with the Python (and the C(kubernetes) library) that runs Ansible.
      - Off by default because the playbooks of this collection set it themselves. Turn it on for
        your own playbooks against these hosts.
    type: bool
    default: false
"""

EXAMPLES = r"""
---
# fleet.kubeconfig.yml - every context of $K8S_AUTH_KUBECONFIG, $KUBECONFIG or ~/.kube/config is a host
plugin: triage.k8s.kubeconfig

---
# prod.kubeconfig.yml - several files and a directory of them, production contexts only,
# grouped by namespace and by file, with a composed variable
plugin: triage.k8s.kubeconfig
kubeconfig:
  - ~/.kube/config
  - ~/.kube/fleet/            # every file in the directory
  - /etc/triage/clusters/*.yaml
include_contexts:
  - "prod-*"
  - "~^gke_.*_prod$"          # a regular expression
exclude_contexts:
  - "*-legacy"
keyed_groups:
  - key: k8s_namespace | default('')
    prefix: ns
    default_value: none       # ns_none for contexts without a namespace
  - key: k8s_kubeconfig | basename | splitext | first
    prefix: file
groups:
  eu: k8s_context is search('-eu-')
compose:
  api_host: k8s_server | urlsplit('hostname')

---
# cached.kubeconfig.yml - cache the contexts in a JSON file for an hour; a changed kubeconfig is
# read again at once
plugin: triage.k8s.kubeconfig
kubeconfig: [~/.kube/config]
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/triage-k8s-inventory
cache_timeout: 3600

# Use it:
#   ansible-inventory -i fleet.kubeconfig.yml --graph
#   ansible-playbook -i fleet.kubeconfig.yml triage.k8s.crashloop_scan -e target=k8s_clusters -f 20
#   ansible-playbook -i fleet.kubeconfig.yml triage.k8s.crashloop_scan -e target=k8s_clusters -l prod-eu
"""

import os

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.triage.k8s.plugins.module_utils._k8s.kubeconfig import (
    CACHE_VERSION,
    HAS_YAML,
    KubeconfigError,
    context_filter,
    default_entries,
    fingerprint,
    read_kubeconfig,
    resolve_files,
)

try:  # ansible-core >= 2.19: inventory variables are not templated unless trusted
    from ansible.template import trust_as_template
except ImportError:  # older cores template every variable
    def trust_as_template(value):
        return value


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """One host per kubeconfig context."""

    NAME = "triage.k8s.kubeconfig"

    def verify_file(self, path):
        if not super(InventoryModule, self).verify_file(path):
            return False
        return path.endswith((".kubeconfig.yml", ".kubeconfig.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        if not HAS_YAML:
            raise AnsibleParserError("triage.k8s.kubeconfig needs the PyYAML Python library on the controller")
        try:
            files, stamp = self._files(path)
            records = self._records(path, files, stamp, cache)
            self._populate(records)
        except KubeconfigError as e:
            raise AnsibleParserError(to_native(e))

    # -- sources -------------------------------------------------------------------------------

    def _files(self, path):
        entries = self.get_option("kubeconfig")
        if entries:
            files = resolve_files(entries, os.path.dirname(os.path.abspath(path)), warn=self.display.warning)
        else:
            entries, looked_at = default_entries()
            files = resolve_files(entries, os.getcwd(), skip_missing=True, warn=self.display.warning)
            if not files:
                raise AnsibleParserError("no kubeconfig file found: looked at %s; set the 'kubeconfig' option" % looked_at)
        self.display.vvv("triage.k8s.kubeconfig: reading %s" % ", ".join(files))
        return files, fingerprint(files)

    def _records(self, path, files, stamp, cache):
        use_cache = self.get_option("cache")
        read_cache = use_cache and cache
        write_cache = use_cache and not cache
        key = self.get_cache_key(path)
        if read_cache:
            entry = self._cache.get(key)
            if (isinstance(entry, dict) and entry.get("version") == CACHE_VERSION
                    and entry.get("fingerprint") == stamp and isinstance(entry.get("contexts"), list)):
                self.display.vvv("triage.k8s.kubeconfig: contexts from the cache (kubeconfig files unchanged)")
                return entry["contexts"]
            write_cache = True
            self.display.vvv("triage.k8s.kubeconfig: cache miss or kubeconfig files changed; reading them")
        records = []
        for file_path in files:
            records.extend(read_kubeconfig(file_path))
        if write_cache:
            self._cache[key] = {"version": CACHE_VERSION, "fingerprint": stamp, "contexts": records}
        return records

    # -- hosts ---------------------------------------------------------------------------------

    def _populate(self, records):
        selected = context_filter(self.get_option("include_contexts"), self.get_option("exclude_contexts"))
        chosen, first_file, problems = [], {}, []
        for record in records:
            name = record["context"]
            if not selected(name):
                continue
            if name in first_file:
                where = ("the same file defines it earlier" if first_file[name] == record["kubeconfig"]
                         else "%s defines it first" % first_file[name])
                self.display.warning("triage.k8s.kubeconfig: context '%s' of %s is ignored: %s "
                                     "(context names must be unique across kubeconfig files)"
                                     % (name, record["kubeconfig"], where))
                continue
            first_file[name] = record["kubeconfig"]
            if record.get("problem"):
                problems.append("kubeconfig %s: %s" % (record["kubeconfig"], record["problem"]))
                continue
            chosen.append(record)
        if problems:
            raise AnsibleParserError("; ".join(problems))

        group = self.get_option("group")
        if group:
            group = self.inventory.add_group(group)
        strict = self.get_option("strict")
        # Every host of this source, once, as a variable of the all group (not per host: the list on
        # every host would be O(n^2) in what AWX stores). AWX keeps all-group variables as the
        # inventory's variables and puts them into every slice's inventory, which is how a sliced
        # job can tell which slice it is (docs/awx.md). Other sources in the same inventory add theirs.
        fleet = set(record["context"] for record in chosen)
        fleet.update(self.inventory.groups["all"].get_vars().get("k8s_fleet_hosts") or [])
        self.inventory.set_variable("all", "k8s_fleet_hosts", sorted(fleet))
        for record in chosen:
            host = record["context"]
            self.inventory.add_host(host, group=group or None)
            for var, value in self._host_vars(record).items():
                self.inventory.set_variable(host, var, value)
            host_vars = self.inventory.get_host(host).get_vars()
            self._set_composite_vars(self.get_option("compose"), host_vars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), host_vars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host_vars, host, strict=strict)

    def _host_vars(self, record):
        host_vars = {
            "ansible_connection": "local",
            "k8s_kubeconfig": record["kubeconfig"],
            "k8s_context": record["context"],
            "k8s_cluster": record["cluster"],
            "k8s_server": record["server"],
        }
        if record.get("namespace"):
            host_vars["k8s_namespace"] = record["namespace"]
        if self.get_option("use_playbook_python"):
            host_vars["ansible_python_interpreter"] = trust_as_template("{{ ansible_playbook_python }}")
        return host_vars
