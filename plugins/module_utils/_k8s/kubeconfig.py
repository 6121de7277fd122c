# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one kubeconfig reader, for the modules (client.py) and the triage.k8s.kubeconfig inventory
plugin: which files (an option, $KUBECONFIG or ~/.kube/config; directories and glob patterns for the
plugin), what a file holds (YAML errors that never quote the file), which contexts exist, which is
current, and what of them may be shown (names, paths and server URLs without user info, never
credentials).

Problems raise KubeconfigError. Its str() is the plugin's wording ("kubeconfig PATH: problem", a
parser error); `for_module` is the same problem in the wording the modules have always used, which
client.py turns into a TriageError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fnmatch
import glob
import os
import re

from ansible.module_utils.common.text.converters import to_native
from urllib.parse import urlsplit, urlunsplit

try:
    import yaml
    try:
        from yaml import CSafeLoader as _SafeLoader
    except ImportError:
        from yaml import SafeLoader as _SafeLoader
    HAS_YAML = True
except ImportError:  # reported by the plugin and by client.require_kubernetes()
    yaml = None
    _SafeLoader = None
    HAS_YAML = False


class KubeconfigError(ValueError):
    """A kubeconfig (or an option about them) is unusable; the message names the file.

    `for_module` is the message a module fails with (the same problem, as modules phrase it)."""

    def __init__(self, msg, for_module=None):
        super(KubeconfigError, self).__init__(msg)
        self.for_module = for_module or msg


DEFAULT_KUBECONFIG = "~/.kube/config"
ENV_VARS = ("K8S_AUTH_KUBECONFIG", "KUBECONFIG")
CACHE_VERSION = 1
_GLOB_CHARS = re.compile(r"[*?\[]")
_USERINFO = re.compile(r"//[^/@]*@")


def _problem(path, what, for_module=None):
    return KubeconfigError("kubeconfig %s: %s" % (path, what), for_module)


# ---------------------------------------------------------------------------------------------
# Which files


def split_paths(value):
    """A kubeconfig path list (entries joined by os.pathsep, as in $KUBECONFIG), ~ expanded."""
    return [os.path.expanduser(p) for p in str(value).split(os.pathsep) if p.strip()]


def default_paths(environ):
    """kubectl's default for the modules: the existing files of $KUBECONFIG (missing ones are
    ignored), else ~/.kube/config if it exists. Returns (paths, where looked) for messages."""
    if environ.get("KUBECONFIG"):
        paths = split_paths(environ["KUBECONFIG"])
        return [p for p in paths if os.path.exists(p)], "KUBECONFIG=%s" % environ["KUBECONFIG"]
    path = os.path.expanduser(DEFAULT_KUBECONFIG)
    return ([path] if os.path.exists(path) else []), DEFAULT_KUBECONFIG


def default_entries(environ=None):
    """(entries, description) for the inventory plugin when its kubeconfig option is not set."""
    environ = os.environ if environ is None else environ
    for var in ENV_VARS:
        value = environ.get(var, "")
        entries = [p for p in value.split(os.pathsep) if p.strip()]
        if entries:
            return entries, "$%s (%s)" % (var, value)
    return [DEFAULT_KUBECONFIG], DEFAULT_KUBECONFIG


def _expand(entry, base_dir):
    path = os.path.expandvars(os.path.expanduser(entry))
    if not os.path.isabs(path):
        path = os.path.join(base_dir, path)
    return os.path.normpath(path)


def _dir_files(directory):
    files = []
    for name in sorted(os.listdir(directory)):
        if name.startswith(".") or name.endswith("~"):
            continue
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            files.append(path)
    return files


def resolve_files(entries, base_dir, skip_missing=False, warn=None):
    """Expand the plugin's kubeconfig entries (files, directories, glob patterns) into absolute paths.

    Explicit entries that do not exist are errors; default entries ($K8S_AUTH_KUBECONFIG,
    $KUBECONFIG, ~/.kube/config) are skipped when missing (skip_missing), as kubectl does.
    Duplicates (same real path) are dropped, first spelling kept.
    """
    warn = warn or (lambda msg: None)
    files = []
    for entry in entries:
        path = _expand(entry, base_dir)
        if _GLOB_CHARS.search(path) and not os.path.exists(path):
            matched = sorted(glob.glob(path))
            if not matched:
                warn("kubeconfig pattern %s matches no file" % path)
            for found in matched:
                if os.path.isdir(found):
                    files.extend(_dir_files(found))
                elif os.path.isfile(found):
                    files.append(found)
        elif os.path.isdir(path):
            try:
                found = _dir_files(path)
            except OSError as e:
                raise _problem(path, "cannot list the directory: %s" % (e.strerror or to_native(e)))
            if not found:
                warn("kubeconfig directory %s holds no file" % path)
            files.extend(found)
        elif os.path.exists(path):
            files.append(path)
        elif not skip_missing:
            raise _problem(path, "does not exist")
    unique, seen = [], set()
    for path in files:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            unique.append(path)
    return unique


def fingerprint(files):
    """What must be unchanged for cached contexts to stay valid: path, mtime, size, inode."""
    stamp = []
    for path in files:
        try:
            st = os.stat(path)
        except OSError as e:
            raise _problem(path, "cannot be read: %s" % (e.strerror or to_native(e)))
        stamp.append([path, st.st_mtime_ns, st.st_size, st.st_ino])
    return stamp


# ---------------------------------------------------------------------------------------------
# What a file holds


def _yaml_where(e):
    mark = getattr(e, "problem_mark", None)
    return " at line %d, column %d" % (mark.line + 1, mark.column + 1) if mark is not None else ""


def _yaml_error(e):
    # PyYAML's own message quotes the offending line, which may hold a token: say where only.
    what = getattr(e, "problem", None) or e.__class__.__name__
    context = getattr(e, "context", None)
    if context:
        what = "%s (%s)" % (what, context)
    return "is not valid YAML%s: %s" % (_yaml_where(e), what)


def load_file(path):
    """The mapping one kubeconfig file holds. KubeconfigError naming the file, never quoting it."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except (IOError, OSError) as e:
        reason = e.strerror or to_native(e)
        if e.errno == errno.ENOENT:
            module = "kubeconfig %s does not exist; set kubeconfig (K8S_AUTH_KUBECONFIG) to an existing file" % path
        else:
            module = "cannot read kubeconfig %s: %s" % (path, reason)
        raise _problem(path, "cannot be read: %s" % reason, module)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _problem(path, "is not a kubeconfig: not UTF-8 text", "kubeconfig %s is not UTF-8 text" % path)
    try:
        doc = yaml.load(text, Loader=_SafeLoader)  # nosec: safe loader
    except yaml.YAMLError as e:
        raise _problem(path, _yaml_error(e), "kubeconfig %s is not valid YAML: %s%s"
                       % (path, getattr(e, "problem", None) or "parse error", _yaml_where(e)))
    not_a_mapping = "kubeconfig %s is empty or not a YAML mapping" % path
    if doc is None:
        raise _problem(path, "is empty", not_a_mapping)
    if not isinstance(doc, dict):
        raise _problem(path, "is not a kubeconfig: the document is a %s, not a mapping" % type(doc).__name__,
                       not_a_mapping)
    return doc


def safe_server(url):
    """The server URL without user name and password."""
    if not isinstance(url, str) or "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a broken IPv6 literal: still never show the user info
        return _USERINFO.sub("//", url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _named_entries(path, doc, key, required):
    value = doc.get(key)
    if value is None:
        if required:
            raise _problem(path, "has no '%s' entries" % key)
        return {}
    if not isinstance(value, list):
        raise _problem(path, "'%s' must be a list, not %s" % (key, type(value).__name__))
    if required and not value:
        raise _problem(path, "has no '%s' entries ('%s' is empty)" % (key, key))
    named = {}
    for index, item in enumerate(value, 1):
        if not isinstance(item, dict):
            raise _problem(path, "'%s' entry %d is not a mapping" % (key, index))
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise _problem(path, "'%s' entry %d has no name" % (key, index))
        named.setdefault(name, item)  # the first of a duplicated name wins, as in client-go
    return named


def _context_record(path, entry, clusters, users):
    """Only names, path and server: never anything from users or credentials."""
    name = entry["name"]
    record = {"context": name, "kubeconfig": path, "cluster": None, "server": None,
              "namespace": None, "problem": None}
    body = entry.get("context")
    if not isinstance(body, dict):
        record["problem"] = "context '%s' has no 'context' mapping" % name
        return record
    cluster = body.get("cluster")
    if not isinstance(cluster, str) or not cluster:
        record["problem"] = "context '%s' names no cluster" % name
        return record
    record["cluster"] = cluster
    if cluster not in clusters:
        record["problem"] = "context '%s' names cluster '%s', which the file does not define" % (name, cluster)
        return record
    user = body.get("user")
    if user not in (None, "") and (not isinstance(user, str) or user not in users):
        record["problem"] = "context '%s' names a user the file does not define" % name
        return record
    namespace = body.get("namespace")
    if namespace not in (None, ""):
        if not isinstance(namespace, str):
            record["problem"] = "context '%s' has a namespace that is not a string" % name
            return record
        record["namespace"] = namespace
    server = _server(clusters[cluster])
    if not server:
        record["problem"] = "cluster '%s' (of context '%s') has no server" % (cluster, name)
        return record
    record["server"] = safe_server(server)
    return record


def read_kubeconfig(path):
    """The plugin's view: context records of one self-contained file, every entry checked;
    KubeconfigError naming the file if it is broken."""
    doc = load_file(path)
    kind = doc.get("kind")
    if kind not in (None, "", "Config"):
        raise _problem(path, "is not a kubeconfig: kind is '%s', not 'Config'" % to_native(kind))
    _named_entries(path, doc, "contexts", required=True)  # validates every entry
    clusters = _named_entries(path, doc, "clusters", required=True)
    users = _named_entries(path, doc, "users", required=False)
    # A name repeated inside one file is handled like one repeated across files: the first wins.
    return [_context_record(path, entry, clusters, users) for entry in doc["contexts"]]


# ---------------------------------------------------------------------------------------------
# Which contexts: the modules' view of one or more merged files (or a dict), as the kubernetes
# library merges them: the first definition of a name wins, the last current-context wins.


def _entries(configs, key):
    for doc in configs:
        for entry in doc.get(key) or []:
            if isinstance(entry, dict) and entry.get("name"):
                yield entry


def _server(cluster_entry):
    body = cluster_entry.get("cluster")
    server = body.get("server") if isinstance(body, dict) else None
    return server if isinstance(server, str) and server else None


def context_names(configs):
    """(every context name in order, the current-context or None)."""
    names = []
    for entry in _entries(configs, "contexts"):
        if entry["name"] not in names:
            names.append(entry["name"])
    current = None
    for doc in configs:
        current = doc.get("current-context") or current
    return names, current


def server_of(configs, context):
    """The API server URL a context points at, or None."""
    body = next((e.get("context") for e in _entries(configs, "contexts") if e["name"] == context), None)
    cluster = body.get("cluster") if isinstance(body, dict) else None
    return next((_server(e) for e in _entries(configs, "clusters") if e["name"] == cluster), None)


class Selection(object):
    """A context chosen in kubeconfig files or in a kubeconfig dict, known to exist."""

    def __init__(self, label, context, configs, paths, config_dict=None):
        self.label = label              # e.g. "kubeconfig /root/.kube/config", for messages
        self.context = context
        self.configs = configs          # the parsed files (or [the dict])
        self.paths = paths              # [] for a dict
        self.config_dict = config_dict

    @property
    def server(self):
        return server_of(self.configs, self.context)


def select_context(kubeconfig, context, environ):
    """The context to use. kubeconfig: a dict, paths joined by os.pathsep, or None for kubectl's
    default files; context None means the current-context. Every problem is a KubeconfigError."""
    config_dict = kubeconfig if isinstance(kubeconfig, dict) else None
    if config_dict is not None:
        configs, paths, label = [config_dict], [], "the kubeconfig given as a dict"
    elif kubeconfig:
        paths = split_paths(kubeconfig)
        configs, label = [load_file(p) for p in paths], "kubeconfig %s" % kubeconfig
    else:
        paths, where = default_paths(environ)
        if not paths:
            raise KubeconfigError("context '%s' was requested but there is no kubeconfig (looked at %s); set "
                                  "kubeconfig" % (context, where))
        configs, label = [load_file(p) for p in paths], "kubeconfig " + where
    names, current = context_names(configs)
    context = context or current
    if not context:
        raise KubeconfigError("%s has no current-context; set context to one of: %s"
                              % (label, ", ".join(names) or "(it defines no contexts)"))
    if context not in names:
        raise KubeconfigError("context '%s' not found in %s; available contexts: %s"
                              % (context, label, ", ".join(names) or "(none)"))
    return Selection(label, context, configs, paths, config_dict)


# ---------------------------------------------------------------------------------------------
# Which contexts the plugin keeps


def _compile(pattern, option):
    if not isinstance(pattern, str) or not pattern:
        raise KubeconfigError("%s: every pattern must be a non-empty string" % option)
    try:
        if pattern.startswith("~"):
            return re.compile(pattern[1:])
        return re.compile(fnmatch.translate(pattern))
    except re.error as e:
        raise KubeconfigError("%s: invalid pattern %r: %s" % (option, pattern, e))


def context_filter(include, exclude):
    """A predicate on context names from include/exclude pattern lists."""
    inc = [_compile(p, "include_contexts") for p in include or []]
    exc = [_compile(p, "exclude_contexts") for p in exclude or []]

    def selected(name):
        if inc and not any(p.match(name) for p in inc):
            return False
        return not any(p.match(name) for p in exc)

    return selected
