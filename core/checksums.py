"""Checksums of object content: the ones stores keep, and the same ones computed here from
the bytes that pass through.

A checksum is a value named by its algorithm. Backends report what their store keeps for
an object (``Backend.checksums``), already in the forms below, so that core compares two
stores without knowing either:

``md5``
    MD5 of the whole content, hex. S3's ETag of a single-request upload (without SSE-KMS
    or SSE-C, which make the ETag something else), GCS's ``md5Hash``, Azure's
    ``Content-MD5``.
``sha256``
    SHA-256 of the whole content, hex. S3's ``ChecksumSHA256`` of a single-request upload
    that sent one (``x-amz-checksum-sha256``: the server checked it before storing).
``md5-of-parts``
    S3's ETag of a multipart upload: the MD5 of the concatenated MD5 digests of the parts,
    hex, then ``-`` and the number of parts. Computable only with the part size, so two
    equal values mean the same content, but two different values may be the same content
    uploaded in other parts.
``crc32c``
    CRC32C, base64 of the 4 big-endian bytes (GCS). Compared, never computed here (that
    would need a C extension core does not depend on).
"""

from __future__ import annotations

import hashlib
from typing import Mapping

MD5 = "md5"
SHA256 = "sha256"
MD5_OF_PARTS = "md5-of-parts"
CRC32C = "crc32c"

#: Algorithms whose values differ exactly when the content differs; for the others, a
#: different value proves nothing (another part layout).
EXACT = frozenset({MD5, SHA256, CRC32C})
#: The order in which a comparison looks for an algorithm both sides have.
PREFERENCE = (SHA256, MD5, CRC32C, MD5_OF_PARTS)


def compare(a: Mapping[str, str], b: Mapping[str, str]) -> tuple[bool | None, str]:
    """Whether ``a`` and ``b`` describe the same content, and by which algorithm.

    ``(True, algorithm)``: a shared algorithm has equal values. ``(False, algorithm)``:
    an exact algorithm has different values. ``(None, "")``: nothing shared settles it.
    """
    for algorithm in PREFERENCE:
        if algorithm in a and algorithm in b:
            if a[algorithm] == b[algorithm]:
                return True, algorithm
            if algorithm in EXACT:
                return False, algorithm
    return None, ""


def computable(checksums: Mapping[str, str], part_size: int | None) -> bool:
    """Whether :class:`ContentHasher` with ``part_size`` can compute one of ``checksums``."""
    return MD5 in checksums or SHA256 in checksums or (MD5_OF_PARTS in checksums and part_size is not None)


class ContentHasher:
    """MD5 and SHA-256 of bytes fed in order, and the S3 multipart ETag they would get when
    uploaded in parts of ``part_size`` bytes (the last one shorter)."""

    def __init__(self, part_size: int | None = None) -> None:
        self.part_size = part_size
        self.size = 0
        self._md5 = hashlib.md5()
        self._sha256 = hashlib.sha256()
        self._part = hashlib.md5()
        self._part_filled = 0
        self._part_digests: list[bytes] = []

    def update(self, data: bytes) -> None:
        self._md5.update(data)
        self._sha256.update(data)
        self.size += len(data)
        if self.part_size is None:
            return
        view = memoryview(data)
        while view:
            take = min(len(view), self.part_size - self._part_filled)
            self._part.update(view[:take])
            self._part_filled += take
            view = view[take:]
            if self._part_filled == self.part_size:
                self._part_digests.append(self._part.digest())
                self._part, self._part_filled = hashlib.md5(), 0

    def checksums(self) -> dict[str, str]:
        """The checksums of everything fed so far, by algorithm."""
        found = {MD5: self._md5.hexdigest(), SHA256: self._sha256.hexdigest()}
        if self.part_size is not None:
            digests = self._part_digests + ([self._part.digest()] if self._part_filled else [])
            if digests:
                found[MD5_OF_PARTS] = f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"
        return found
