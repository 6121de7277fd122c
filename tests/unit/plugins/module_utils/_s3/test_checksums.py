# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for _s3/checksums.py: the checksum a store must report, computed in one streaming
pass (full-object for one PUT, composite of the parts for multipart, parts as boto3's transfer
manager cuts them), and how a HEAD answer compares with it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import io
import os

import pytest

from ansible_collections.triage.k8s.plugins.module_utils._s3 import checksums
from ansible_collections.triage.k8s.plugins.module_utils._s3.checksums import MIB

try:
    from s3transfer.utils import ChunksizeAdjuster
except ImportError:  # boto3 is optional
    ChunksizeAdjuster = None


def _composite(data, part):
    digests = [hashlib.sha256(data[i:i + part]).digest() for i in range(0, len(data), part)]
    return base64.b64encode(hashlib.sha256(b"".join(digests)).digest()).decode() + "-%d" % len(digests)


def _full(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.mark.parametrize("size", [0, 1, 5 * MIB - 1])
def test_below_the_threshold_is_one_put_with_a_full_object_checksum(size):
    data = os.urandom(size)
    local = checksums.of_stream(io.BytesIO(data), size, 5 * MIB, 5 * MIB)
    assert (local.size, local.sha256, local.checksum, local.parts) == (size, hashlib.sha256(data).hexdigest(),
                                                                       _full(data), 1)


@pytest.mark.parametrize("size, parts", [(5 * MIB, 1), (5 * MIB + 1, 2), (10 * MIB, 2), (12 * MIB + 5, 3)])
def test_from_the_threshold_up_the_checksum_is_composite(size, parts):
    data = os.urandom(size)
    local = checksums.of_stream(io.BytesIO(data), size, 5 * MIB, 5 * MIB)
    assert local.sha256 == hashlib.sha256(data).hexdigest() and local.size == size
    assert local.checksum == _composite(data, 5 * MIB) and local.parts == parts


def test_of_file_matches_of_stream(tmp_path):
    data = os.urandom(6 * MIB + 3)
    path = tmp_path / "f"
    path.write_bytes(data)
    local = checksums.of_file(str(path), 5 * MIB, 5 * MIB)
    assert local.checksum == _composite(data, 5 * MIB) and local.size == len(data)


@pytest.mark.parametrize("part, size", [(1, 100 * MIB), (5 * MIB, 100 * MIB), (8 * MIB, 100 * 1024 * MIB),
                                        (8 * MIB, 10000 * 8 * MIB), (8 * MIB, 10000 * 8 * MIB + 1),
                                        (6 * 1024 * MIB, MIB), (5 * MIB, 0)])
def test_part_size_follows_the_transfer_manager(part, size):
    expected = {(1, 100 * MIB): 5 * MIB, (5 * MIB, 100 * MIB): 5 * MIB, (8 * MIB, 100 * 1024 * MIB): 16 * MIB,
                (8 * MIB, 10000 * 8 * MIB): 8 * MIB, (8 * MIB, 10000 * 8 * MIB + 1): 16 * MIB,
                (6 * 1024 * MIB, MIB): 5 * 1024 * MIB, (5 * MIB, 0): 5 * MIB}[(part, size)]
    assert checksums.part_size_for(part, size) == expected
    if ChunksizeAdjuster is not None:
        assert checksums.part_size_for(part, size) == ChunksizeAdjuster().adjust_chunksize(part, size)


def test_b64_round_trip():
    hexd = hashlib.sha256(b"x").hexdigest()
    assert checksums.unb64(checksums.b64(hexd)) == hexd
    assert checksums.unb64("not base64!") is None


def _head(size, checksum=None):
    head = {"ContentLength": size}
    if checksum:
        head["ChecksumSHA256"] = checksum
    return head


def test_compare_head():
    data = b"hello\n"
    sha = hashlib.sha256(data).hexdigest()
    assert checksums.compare_head(None, 6, sha) == (False, "the object is not there")
    assert checksums.compare_head(_head(6, _full(data)), 6, sha)[0] is True
    ok, why = checksums.compare_head(_head(6, _full(b"other\n")), 6, sha)
    assert ok is False and "SHA256 checksum is" in why
    ok, why = checksums.compare_head(_head(7, _full(data)), 6, sha)
    assert ok is False and why == "it has 7 bytes, the file 6"
    ok, why = checksums.compare_head(_head(6), 6, sha)
    assert ok is None and "no SHA256 checksum" in why


def test_compare_head_composite():
    data = os.urandom(11 * MIB)
    sha = hashlib.sha256(data).hexdigest()
    mine = _composite(data, 5 * MIB)
    assert checksums.compare_head(_head(len(data), mine), len(data), sha, mine)[0] is True
    # Same number of parts, other content: a mismatch.
    other = _composite(os.urandom(11 * MIB), 5 * MIB)
    assert checksums.compare_head(_head(len(data), other), len(data), sha, mine)[0] is False
    # Other parts (another part size), or no expected value: cannot tell from the headers.
    eight = _composite(data, 8 * MIB)
    assert checksums.compare_head(_head(len(data), eight), len(data), sha, mine)[0] is None
    assert checksums.compare_head(_head(len(data), mine), len(data), sha)[0] is None
