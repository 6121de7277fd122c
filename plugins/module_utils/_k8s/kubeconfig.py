# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading kubeconfig files for the triage.k8s.kubeconfig inventory plugin: which files, which
contexts, and what of them may be shown (names, paths and server URLs, never credentials).
Problems raise KubeconfigError naming the file; the plugin turns them into parser errors."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
except ImportError:  # reported by the plugin
    yaml = None
    _SafeLoader = None
    HAS_YAML = False


class KubeconfigError(ValueError):
    """A kubeconfig (or an option about them) is unusable; the message names the file."""


DEFAULT_KUBECONFIG = "~/.kube/config"
ENV_VARS = ("K8S_AUTH_KUBECONFIG", "KUBECONFIG")
CACHE_VERSION = 1
_GLOB_CHARS = re.compile(r"[*?\[]")


def _problem(path, what):
    return KubeconfigError("kubeconfig %s: %s" % (path, what))


# ---------------------------------------------------------------------------------------------
# Which files


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
    """Expand kubeconfig entries (files, directories, glob patterns) into absolute file paths.

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


def default_entries(environ=None):
    """(entries, description) when the kubeconfig option is not set."""
    environ = os.environ if environ is None else environ
    for var in ENV_VARS:
        value = environ.get(var, "")
        entries = [p for p in value.split(os.pathsep) if p.strip()]
        if entries:
            return entries, "$%s (%s)" % (var, value)
    return [DEFAULT_KUBECONFIG], DEFAULT_KUBECONFIG


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


def _yaml_error(e):
    # PyYAML's own message quotes the offending line, which may hold a token: say where only.
    where = ""
    mark = getattr(e, "problem_mark", None)
    if mark is not None:
        where = " at line %d, column %d" % (mark.line + 1, mark.column + 1)
    what = getattr(e, "problem", None) or e.__class__.__name__
    context = getattr(e, "context", None)
    if context:
        what = "%s (%s)" % (what, context)
    return "is not valid YAML%s: %s" % (where, what)


def safe_server(url):
    """The server URL without user name and password."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
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
    cluster_body = clusters[cluster].get("cluster")
    server = cluster_body.get("server") if isinstance(cluster_body, dict) else None
    if not isinstance(server, str) or not server:
        record["problem"] = "cluster '%s' (of context '%s') has no server" % (cluster, name)
        return record
    record["server"] = safe_server(server)
    return record


def read_kubeconfig(path):
    """Context records of one kubeconfig file; KubeconfigError naming the file if broken."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except (IOError, OSError) as e:
        raise _problem(path, "cannot be read: %s" % (e.strerror or to_native(e)))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _problem(path, "is not a kubeconfig: not UTF-8 text")
    try:
        doc = yaml.load(text, Loader=_SafeLoader)  # nosec: safe loader
    except yaml.YAMLError as e:
        raise _problem(path, _yaml_error(e))
    if doc is None:
        raise _problem(path, "is empty")
    if not isinstance(doc, dict):
        raise _problem(path, "is not a kubeconfig: the document is a %s, not a mapping" % type(doc).__name__)
    kind = doc.get("kind")
    if kind not in (None, "", "Config"):
        raise _problem(path, "is not a kubeconfig: kind is '%s', not 'Config'" % to_native(kind))
    _named_entries(path, doc, "contexts", required=True)  # validates every entry
    clusters = _named_entries(path, doc, "clusters", required=True)
    users = _named_entries(path, doc, "users", required=False)
    # A name repeated inside one file is handled like one repeated across files: the first wins.
    return [_context_record(path, entry, clusters, users) for entry in doc["contexts"]]


# ---------------------------------------------------------------------------------------------
# Which contexts


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


# ---------------------------------------------------------------------------------------------
