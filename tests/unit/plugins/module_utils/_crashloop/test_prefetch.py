# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_scope.prefetched: the pods of a LIST read ahead in a thread come out complete, in order,
with the thread's error raised in the caller, and the thread stops when the caller does."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._crashloop.run_scope import prefetched
from ansible_collections.triage.k8s.plugins.module_utils._k8s.errors import TriageError


@pytest.mark.parametrize("count", [0, 1, 99, 100, 101, 1234])
def test_every_item_in_order(count):
    assert list(prefetched(iter(range(count)), batch=100, page_size=200)) == list(range(count))


def test_an_error_in_the_listing_is_raised_in_the_caller_after_the_items_before_it():
    def listing():
        yield from range(250)
        raise TriageError("cannot list pods: forbidden", {"status": 403})

    seen = []
    with pytest.raises(TriageError) as caught:
        for item in prefetched(listing(), batch=100, page_size=100):
            seen.append(item)
    assert seen == list(range(200)) + list(range(200, 250))
    assert caught.value.details["status"] == 403


def test_a_caller_that_stops_early_stops_the_thread():
    pulled = []
    gate = threading.Event()

    def listing():
        for i in range(100000):
            pulled.append(i)
            yield i

    stream = prefetched(listing(), batch=10, page_size=10)
    assert next(stream) == 0
    stream.close()
    gate.wait(1.5)  # the thread notices the stop within its 0.5 s put timeout
    stopped_at = len(pulled)
    gate.wait(0.6)
    assert len(pulled) == stopped_at < 100000
    assert not [t for t in threading.enumerate() if t.name == "crashloop-list"]
