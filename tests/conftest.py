# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make the repository importable as `ansible_collections.triage.k8s` for plain pytest.

The repository root is the collection root, so it is linked into
<repo>/.build/collections/ansible_collections/triage/k8s (as the Makefile does) and that
tree is put first on sys.path. Under `ansible-test units` the import already works.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, ".build", "collections")


def _importable():
    try:
        importlib.import_module("ansible_collections.triage.k8s.plugins.module_utils")
        return True
    except ImportError:
        return False


def _link_collection():
    parent = os.path.join(COLLECTIONS, "ansible_collections", "triage")
    link = os.path.join(parent, "k8s")
    os.makedirs(parent, exist_ok=True)
    if not os.path.lexists(link):
        try:
            os.symlink(REPO, link)
        except FileExistsError:  # another pytest worker made it first
            pass
    if COLLECTIONS not in sys.path:
        sys.path.insert(0, COLLECTIONS)
    for name in [m for m in sys.modules if m == "ansible_collections" or m.startswith("ansible_collections.")]:
        del sys.modules[name]  # forget a failed namespace lookup
    importlib.invalidate_caches()


if not _importable():
    _link_collection()
