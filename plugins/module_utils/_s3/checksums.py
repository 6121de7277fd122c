# -*- coding: utf-8 -*-
# Copyright: triage.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the store's SHA256 checksum of an object must be, computed locally in one streaming pass,
and how a HEAD answer compares with it. No requests here.

An object written in one PUT has ChecksumSHA256 = base64(sha256(file)) (ChecksumType FULL_OBJECT);
a multipart one base64(sha256(sha256(part 1) || ... || sha256(part N))) + "-N" (COMPOSITE). Which
one, and the part size, follow boto3's transfer manager: multipart from `threshold` bytes up, parts
of `part_size` bytes doubled until there are at most 10,000 (s3transfer's ChunksizeAdjuster)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import os

MIB = 1024 * 1024
MIN_PART = 5 * MIB
MAX_PART = 5 * 1024 * MIB
MAX_PARTS = 10000
READ = MIB


def part_size_for(part_size, size):
    """The part size the transfer manager uses for a file of size bytes."""
    part = min(max(part_size, MIN_PART), MAX_PART)
    while size > 0 and -(-size // part) > MAX_PARTS:
        part *= 2
    return part


def b64(hex_digest):
    """base64 of a hex sha256, as S3 reports ChecksumSHA256."""
    return base64.b64encode(binascii.unhexlify(hex_digest)).decode("ascii")


def unb64(value):
    """The hex digest of a full-object ChecksumSHA256, None when it is not one."""
    try:
        return binascii.hexlify(base64.b64decode(value, validate=True)).decode("ascii")
    except (binascii.Error, ValueError, TypeError):
        return None


class Local(object):
    """A local file as the store must have it: size, sha256 (hex) and the expected ChecksumSHA256."""

    def __init__(self, size, sha256, checksum, parts):
        self.size = size
        self.sha256 = sha256
        self.checksum = checksum
        self.parts = parts

    def __repr__(self):
        return "Local(size=%d, sha256=%s, checksum=%s, parts=%d)" % (self.size, self.sha256, self.checksum, self.parts)


def of_stream(handle, size, threshold, part_size):
    """Local for the size bytes read from handle (a file opened 'rb'), in blocks of at most 1 MiB."""
    whole = hashlib.sha256()
    multipart = size >= threshold
    part = part_size_for(part_size, size) if multipart else None
    digests, current, in_part, read = [], hashlib.sha256(), 0, 0
    while True:
        want = READ if part is None else min(READ, part - in_part)
        block = handle.read(want)
        if not block:
            break
        whole.update(block)
        read += len(block)
        if part is not None:
            current.update(block)
            in_part += len(block)
            if in_part == part:
                digests.append(current.digest())
                current, in_part = hashlib.sha256(), 0
    if part is not None and in_part:
        digests.append(current.digest())
    sha = whole.hexdigest()
    if part is None or not digests:
        return Local(read, sha, b64(sha), 1)
    combined = base64.b64encode(hashlib.sha256(b"".join(digests)).digest()).decode("ascii")
    return Local(read, sha, "%s-%d" % (combined, len(digests)), len(digests))


def of_file(path, threshold, part_size):
    """Local of the file at path (streamed: memory stays at one block)."""
    with open(path, "rb") as handle:
        return of_stream(handle, os.fstat(handle.fileno()).st_size, threshold, part_size)


def compare_head(head, size, sha256, checksum=None):
    """How a HEAD answer (ChecksumMode ENABLED) compares with a local file: (True, why) it matches,
    (False, why) it does not, (None, why) the headers cannot tell (no checksum, or a composite one
    for other parts than `checksum`): read the object back to be sure.

    size, sha256 (hex): the file's; checksum: the ChecksumSHA256 this upload expects, when known."""
    if head is None:
        return False, "the object is not there"
    length = head.get("ContentLength")
    if length != size:
        return False, "it has %s bytes, the file %d" % (length, size)
    value = head.get("ChecksumSHA256")
    if not value:
        return None, "the store reports no SHA256 checksum for it"
    if "-" not in value:
        remote = unb64(value)
        if remote == sha256:
            return True, "size and SHA256 checksum match"
        return False, "its SHA256 checksum is %s, the file's %s" % (value, b64(sha256))
    if checksum and "-" in checksum:
        if value == checksum:
            return True, "size and SHA256 checksum (of %s parts) match" % value.rsplit("-", 1)[1]
        if value.rsplit("-", 1)[1] == checksum.rsplit("-", 1)[1]:
            return False, "its SHA256 checksum is %s, the file's parts give %s" % (value, checksum)
    return None, "its checksum %s is composite (multipart, other parts than this upload's)" % value
