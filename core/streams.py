"""Reading an object as a stream of bounded chunks, with as few requests as possible.

fsspec's buffered ``open()`` reads in ranged requests of one block each; some servers
(moto copies the whole object per ranged GET) and every high-latency link make that slow
for large objects. Some async filesystems (s3fs, fsspec's HTTP) offer ``open_async``: one
streamed GET read incrementally. This module drives that from a worker thread on
fsspec's own event loop, and falls back to ``open()`` where it is not offered.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem


class _AsyncStreamReader:
    """Blocking ``read(n)`` over an fsspec async streamed file, opened by the first read.

    Each call is one trip to fsspec's event loop thread, and those trips cost (two thread
    wake-ups each, slow on a busy machine): the file is opened in the same trip as the
    first read and closed in the same trip as the read that reaches its end, so a small
    object takes one trip, not three."""

    def __init__(self, fs: "AbstractFileSystem", rpath: str, block_size: int) -> None:
        self._fs = fs
        self._rpath = rpath
        self._block_size = block_size
        self._afile: Any = None
        self._fallback: Any = None  # fs.open()'s file, where open_async turns out not to exist
        self._done = False

    def read(self, n: int) -> bytes:
        from fsspec.asyn import sync

        if self._fallback is not None:
            return self._fallback.read(n)
        if self._done:
            return b""
        try:
            return sync(self._fs.loop, self._read_full, n)
        except NotImplementedError:  # a wrapper whose inner filesystem has no open_async
            if self._afile is not None:
                raise
            self._fallback = _open_buffered(self._fs, self._rpath, self._block_size)
            return self._fallback.read(n)

    async def _read_full(self, n: int) -> bytes:
        if self._afile is None:
            self._afile = await self._fs.open_async(self._rpath, "rb")
        # A streamed body returns whatever the socket has (often 64 KiB); gather up to
        # n bytes so each message sent upstream is a full chunk.
        parts: list[bytes] = []
        size = 0
        while size < n:
            part = await self._afile.read(n - size)
            if not part:
                self._done = True
                await self._afile.close()
                break
            parts.append(part)
            size += len(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        from fsspec.asyn import sync

        if self._fallback is not None:
            self._fallback.close()
        if self._afile is not None and not self._done:
            with contextlib.suppress(Exception):
                sync(self._fs.loop, self._afile.close)


@contextlib.contextmanager
def open_streaming_reader(fs: "AbstractFileSystem", rpath: str, block_size: int) -> Iterator[Any]:
    """Yield a reader for ``rpath``; see :meth:`Backend.open_reader`."""
    if not _has_open_async(fs):
        with _open_buffered(fs, rpath, block_size) as f:
            yield f
        return
    reader = _AsyncStreamReader(fs, rpath, block_size)
    try:
        yield reader
    finally:
        reader.close()


def _open_buffered(fs: "AbstractFileSystem", rpath: str, block_size: int) -> Any:
    f = fs.open(rpath, "rb", block_size=block_size)
    # Some stores (gcsfs) open a prefix as an empty file; say what it is instead.
    if (getattr(f, "details", None) or {}).get("type") == "directory":
        f.close()
        raise IsADirectoryError(rpath)
    return f


def _has_open_async(fs: "AbstractFileSystem") -> bool:
    """Whether the filesystem implements ``open_async`` (s3fs does, and the GCS and Azure
    backends add one; sshfs keeps fsspec's base method, which raises NotImplementedError)."""
    if not getattr(fs, "async_impl", False):
        return False
    from fsspec.asyn import AsyncFileSystem

    return getattr(type(fs), "open_async", None) is not AsyncFileSystem.open_async


def download_streaming(fs: "AbstractFileSystem", rpath: str, lpath: str, chunk: int, callback: Any = None) -> bool:
    """Write the object at ``rpath`` to ``lpath`` through one streamed GET, ``chunk`` bytes at
    a time, telling ``callback`` of each; False (nothing done) where the filesystem has no
    streamed GET."""
    if not _has_open_async(fs):
        return False
    reader = _AsyncStreamReader(fs, rpath, chunk)
    try:
        with open(lpath, "wb") as f:
            while data := reader.read(chunk):
                f.write(data)
                if callback is not None:
                    callback.relative_update(len(data))
    finally:
        reader.close()
    return True
