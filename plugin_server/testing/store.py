"""What a conformance test needs to know of a store: its configuration and a direct view.

The direct ("out-of-band") view goes straight to the store with its own client library
(os for local disk, s3fs for S3, ...), never through the plugin, so a test can check what
the plugin really wrote. A backend's tests subclass :class:`StoreUnderTest` once and say
how their store differs from an object store, if it does.
"""

from __future__ import annotations

import posixpath
from typing import Any


class StoreUnderTest:
    """A configured store: ``config`` for the plugin, ``fs``/``root`` for direct checks."""

    scheme = ""
    #: Whether an empty directory saved to the store reads back as a directory. Object
    #: stores hold objects, not directories: an empty directory saves as nothing.
    keeps_empty_directories = False
    #: Whether an object 'a' and an object 'a/b' can both exist (object stores: yes;
    #: file systems: no, 'a' cannot be a file and a directory at once).
    object_and_prefix_may_share_a_name = True
    #: Environment the plugin process needs to reach this store (credentials for a test server).
    plugin_env: dict[str, str] = {}
    #: The field of ``fs.info`` that changes whenever an object is written, even with the
    #: same bytes (see :meth:`write_stamp`); empty when the store has none.
    stamp_field = ""
    #: Seconds the stamp needs to tell two writes apart (S3's LastModified: whole seconds).
    stamp_resolution = 0.0

    def __init__(self, config: str, fs: Any, root: str) -> None:
        self.config = config
        self.fs = fs
        self.root = root.rstrip("/")

    def payload(self, data: bytes) -> bytes:
        """``data`` as this store's test server can hold it unchanged. Real stores hold any
        bytes; an emulator with a known defect says so here, once, for every test."""
        return data

    def path(self, key: str) -> str:
        return posixpath.join(self.root, key)

    def put(self, key: str, data: bytes) -> None:
        self.fs.pipe_file(self.path(key), data)

    def get(self, key: str) -> bytes:
        return self.fs.cat_file(self.path(key))

    def exists(self, key: str) -> bool:
        self.fs.invalidate_cache()
        return self.fs.exists(self.path(key))

    def write_stamp(self, key: str) -> Any:
        """What the store records of the last write of ``key``: it changes when the object is
        written again with the same bytes, so a test can tell that a tool did not rewrite it."""
        if not self.stamp_field:
            raise NotImplementedError(f"{type(self).__name__} has no write stamp")
        self.fs.invalidate_cache()
        return self.fs.info(self.path(key))[self.stamp_field]

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key below ``prefix`` (relative to the root), as the store has them."""
        self.fs.invalidate_cache()
        base = self.path(prefix) if prefix else self.root
        found = self.fs.find(base, withdirs=False)
        return sorted(posixpath.relpath(p, self.root) for p in found)

    def __repr__(self) -> str:
        return f"<{self.scheme} store at {self.root}>"
