# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A test-only fault hook of the API layer, inert unless TRIAGE_K8S_TEST_HOOK is set.

The integration tests use it to stop a module at an exact write against the real API server,
which no timing could do: "the API server dies right after this PATCH landed" or "this
DELETE landed but its response was lost". Specs, separated by ";":

    pause:PATCH:pods:1   after the 1st PATCH on pods got its response, create
                         $TRIAGE_K8S_TEST_HOOK_DIR/paused and wait for .../resume
    drop:DELETE:pods:2   the 2nd DELETE on pods landed; discard its response and raise
                         ConnectionResetError instead

Nothing here changes what the API server does; it only holds or loses a response.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import threading
import time

ENV_SPEC = "TRIAGE_K8S_TEST_HOOK"
ENV_DIR = "TRIAGE_K8S_TEST_HOOK_DIR"
PAUSE_LIMIT = 300

_lock = threading.Lock()
_counts = {}


def _specs():
    text = os.environ.get(ENV_SPEC)
    if not text:
        return []
    specs = []
    for part in text.split(";"):
        fields = part.strip().split(":")
        if len(fields) < 3:
            continue
        nth = int(fields[3]) if len(fields) > 3 and fields[3].isdigit() else 1
        specs.append((fields[0], fields[1].upper(), fields[2], nth, part.strip()))
    return specs


def _pause():
    directory = os.environ.get(ENV_DIR) or "."
    with open(os.path.join(directory, "paused"), "w") as marker:
        marker.write(str(os.getpid()))
    resume = os.path.join(directory, "resume")
    give_up = time.monotonic() + PAUSE_LIMIT
    while not os.path.exists(resume) and time.monotonic() < give_up:
        time.sleep(0.05)
    for done in ("paused", "resume"):  # so a second pause spec can use the same handshake
        try:
            os.remove(os.path.join(directory, done))
        except OSError:
            pass


def after_response(method, resource):
    """Called by the API layer after each successful response."""
    if ENV_SPEC not in os.environ:
        return
    for action, spec_method, spec_resource, nth, key in _specs():
        if spec_method != method or spec_resource != resource:
            continue
        with _lock:
            _counts[key] = _counts.get(key, 0) + 1
            hit = _counts[key] == nth
        if not hit:
            continue
        if action == "pause":
            _pause()
        elif action == "drop":
            raise ConnectionResetError(104, "Connection reset by peer (triage.k8s test hook %s)" % key)
