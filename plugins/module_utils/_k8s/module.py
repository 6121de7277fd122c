# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue every module uses: build the AnsibleModule, run the work, never show a traceback.

    def main():
        module = build_module(dict(name=dict(type="str", required=True)), supports_check_mode=True)
        run_module(module, quarantine)      # quarantine(module) returns the result dict
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import gc
import io
import json
import sys
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.triage.k8s.plugins.module_utils._k8s.auth import auth_argument_spec, connection_secrets
from ansible_collections.triage.k8s.plugins.module_utils._k8s.client import describe_target, require_kubernetes
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError, translate_exception


def _escaped(secret):
    """How a no_log value appears inside JSON text (json.dumps escapes character by character, so a
    string containing the secret encodes to text containing this)."""
    return json.dumps(to_text(secret, errors="surrogate_or_strict"))[1:-1]


def _unmasked_bulk(encoded, no_log_values):
    """True when no no_log value can occur in the JSON text `encoded`: Ansible's masking
    (remove_values) would then return the data unchanged. Any possible occurrence (a key, a
    part of a longer string, an empty secret) answers False and the normal masking runs."""
    return not any(_escaped(secret) in encoded for secret in no_log_values)


class _Module(AnsibleModule):
    """AnsibleModule that masks the secrets inside connection options (a kubeconfig dict, a proxy
    URL's password) like no_log values, from the first moment anything can be printed.

    bulk_key (build_module): a result key holding plain JSON data read from the API (str, int,
    bool, None, lists, dicts), such as crashloop_info's 10,000 pod records. Ansible's masking walks
    and copies every string of a result (7.5 s for 10,000 pods) even when there is nothing to
    mask; here that value is encoded once, searched for every no_log value (the auth token,
    passwords, kubeconfig secrets), and spliced into the result as encoded only when none of
    them occurs in it. Otherwise it goes through remove_values like the rest of the result."""

    _bulk_key = None
    _bulk_encoded = None

    def _load_params(self):
        # Runs before validation, whose failure message carries the invocation too.
        super(_Module, self)._load_params()
        self._add_connection_secrets()

    def _log_invocation(self):
        # Validated params: options that came from K8S_AUTH_* variables are there now.
        self._add_connection_secrets()
        super(_Module, self)._log_invocation()

    def _return_formatted(self, kwargs):
        key = self._bulk_key
        # _record_module_result is ansible-core 2.19's hook for the result's serialization; without
        # it (older cores) the value takes the ordinary path, masked like the rest.
        if key and key in kwargs and key not in ("invocation", "warnings", "deprecations") \
                and hasattr(AnsibleModule, "_record_module_result"):
            encoded = json.dumps(kwargs[key])
            if _unmasked_bulk(encoded, self.no_log_values or ()):
                kwargs = dict(kwargs)
                del kwargs[key]
                self._bulk_encoded = (key, encoded)
        super(_Module, self)._return_formatted(kwargs)

    def _record_module_result(self, o):
        bulk, self._bulk_encoded = self._bulk_encoded, None
        if bulk is None or not isinstance(o, dict) or not o or bulk[0] in o:
            if bulk is not None:
                o = dict(o, **{bulk[0]: json.loads(bulk[1])})  # never expected: the plain path
            return super(_Module, self)._record_module_result(o)
        # The rest of the result, masked and encoded by Ansible, with the checked bulk value appended.
        head = _captured_json(super(_Module, self)._record_module_result, o)
        sys.stdout.write("\n%s, %s: %s}\n" % (head.rstrip()[:-1], json.dumps(bulk[0]), bulk[1]))

    def _add_connection_secrets(self):
        if getattr(self, "no_log_values", None) is None:
            self.no_log_values = set()
        self.no_log_values.update(connection_secrets(getattr(self, "params", None) or {}))


def _captured_json(record, o):
    """The JSON text Ansible's own result recording prints for `o` (its encoder, its profile)."""
    saved, sys.stdout = sys.stdout, io.StringIO()
    try:
        record(o)
        return sys.stdout.getvalue().strip()
    finally:
        sys.stdout = saved


def build_module(argument_spec=None, bulk_key=None, **kwargs):
    """An AnsibleModule whose spec is the module's own options plus the auth options.

    kwargs (supports_check_mode, mutually_exclusive, required_if, ...) go to AnsibleModule.
    Fails the module at once if the kubernetes library is missing. Secrets inside the connection
    options are no_log values: Ansible replaces them in the invocation and in every result.
    bulk_key: see _Module (a large result value of API data masked only if a secret occurs in it).
    """
    spec = auth_argument_spec()
    clash = sorted(set(spec) & set(argument_spec or {}))
    if clash:
        # A programming error in the module, not a user error.
        raise ValueError("module options %s clash with the shared auth options" % ", ".join(clash))
    spec.update(argument_spec or {})
    module = _Module(argument_spec=spec, **kwargs)
    module._bulk_key = bulk_key
    module._add_connection_secrets()  # also when the module has no_log and logs no invocation
    require_kubernetes(module)
    return module


def fail_from(module, error):
    """fail_json for a TriageError; details never override msg. A failure after a write (a wait
    that timed out) keeps changed=True so nobody reads it as "nothing happened"."""
    details = dict((k, v) for k, v in error.details.items() if k not in ("msg", "failed"))
    module.fail_json(msg=error.msg, **details)


@contextlib.contextmanager
def cyclic_gc_paused():
    """Pause Python's cyclic garbage collector while a module runs. A scan decodes and keeps
    hundreds of thousands of small dicts and lists (the pages, the records); every collection the
    allocations trigger walks all of them again, which cost crashloop_info about 2 s of 5.8 s of
    CPU at 30,000 pods with only_unhealthy and 4 s of 8.6 s with the full result
    (docs/performance.md). Decoded JSON holds no reference cycles, so reference counting frees
    everything as before, and a module's run is bounded (by its wait_timeout at most); the
    collector is switched back on when the block ends (the module process exits right after)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_module(module, fn):
    """Call fn(module); exit_json with its dict result, fail_json with a clear message on error.

    If fn returns None it is assumed to have called exit_json/fail_json itself.
    fail_json is called outside the except block so Ansible never attaches the original
    exception (whose text can include HTTP headers); only unexpected, non-Kubernetes
    errors keep a formatted traceback, which Ansible shows only when asked (-vvv).
    The cyclic garbage collector is paused meanwhile (cyclic_gc_paused).
    """
    with cyclic_gc_paused():
        _run(module, fn)


def _run(module, fn):
    error = None
    try:
        result = fn(module)
    except TriageError as exc:
        error = exc
    except Exception as exc:
        error = translate_exception(exc, None, None, target=describe_target(module.params))
        if error.details.get("error_type") == "unexpected":
            error.details["exception"] = traceback.format_exc()
    if error is not None:
        fail_from(module, error)
    elif result is not None:
        module.exit_json(**result)
