"""The stores under test, each with a plugin configuration and an out-of-band view.

The out-of-band view goes straight to the store with its own client library (os for
local disk, s3fs for S3, ...), never through the plugin, so a test can check what the
plugin really wrote. Adding a backend to this repository's suite is one class here plus
one line in ``tests/conftest.py``; a third party subclasses :class:`StoreUnderTest`.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
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

    def __init__(self, config: str, fs: Any, root: str) -> None:
        self.config = config
        self.fs = fs
        self.root = root.rstrip("/")

    def path(self, key: str) -> str:
        return posixpath.join(self.root, key)

    def put(self, key: str, data: bytes) -> None:
        self.fs.pipe_file(self.path(key), data)

    def get(self, key: str) -> bytes:
        return self.fs.cat_file(self.path(key))

    def exists(self, key: str) -> bool:
        self.fs.invalidate_cache()
        return self.fs.exists(self.path(key))

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key below ``prefix`` (relative to the root), as the store has them."""
        self.fs.invalidate_cache()
        base = self.path(prefix) if prefix else self.root
        found = self.fs.find(base, withdirs=False)
        return sorted(posixpath.relpath(p, self.root) for p in found)

    def __repr__(self) -> str:
        return f"<{self.scheme} store at {self.root}>"


class FileStore(StoreUnderTest):
    scheme = "file"
    object_and_prefix_may_share_a_name = False

    def __init__(self, root: Path) -> None:
        from fsspec.implementations.local import LocalFileSystem

        root.mkdir(parents=True, exist_ok=True)
        super().__init__(f"scheme: file\nroot: {root}\n", LocalFileSystem(auto_mkdir=True), str(root))


class S3Store(StoreUnderTest):
    scheme = "s3"

    def __init__(self, endpoint: str, bucket: str) -> None:
        import s3fs

        fs = s3fs.S3FileSystem(
            key="testing", secret="testing", client_kwargs={"endpoint_url": f"http://{endpoint}", "region_name": "us-east-1"},
            skip_instance_cache=True,
        )
        if not fs.exists(bucket):  # mkdir raises FileExistsError on an existing bucket
            fs.call_s3("create_bucket", Bucket=bucket)  # mkdir sends a location constraint moto refuses for us-east-1
        config = f"scheme: s3\nbucket: {bucket}\nendpoint: {endpoint}\ninsecure: true\nregion: us-east-1\n"
        super().__init__(config, fs, bucket)
