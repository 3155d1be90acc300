"""Reading an object as a stream of bounded chunks, with as few requests as possible.

fsspec's buffered ``open()`` reads in ranged requests of one block each; some servers
(moto copies the whole object per ranged GET) and every high-latency link make that slow
for large objects. Async filesystems (s3fs, gcsfs, ...) offer ``open_async``: one
streamed GET read incrementally. This module drives that from a worker thread on
fsspec's own event loop, and falls back to ``open()`` where it is not offered.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem


class _AsyncStreamReader:
    """Blocking ``read(n)`` over an fsspec async streamed file."""

    def __init__(self, fs: "AbstractFileSystem", afile: Any) -> None:
        self._fs = fs
        self._afile = afile

    def read(self, n: int) -> bytes:
        from fsspec.asyn import sync

        return sync(self._fs.loop, self._read_full, n)

    async def _read_full(self, n: int) -> bytes:
        # A streamed body returns whatever the socket has (often 64 KiB); gather up to
        # n bytes so each message sent upstream is a full chunk.
        parts: list[bytes] = []
        size = 0
        while size < n:
            part = await self._afile.read(n - size)
            if not part:
                break
            parts.append(part)
            size += len(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        from fsspec.asyn import sync

        with contextlib.suppress(Exception):
            sync(self._fs.loop, self._afile.close)


@contextlib.contextmanager
def open_streaming_reader(fs: "AbstractFileSystem", rpath: str, block_size: int) -> Iterator[Any]:
    """Yield a reader for ``rpath``; see :meth:`Backend.open_reader`."""
    reader = _open_async(fs, rpath)
    if reader is None:
        with fs.open(rpath, "rb", block_size=block_size) as f:
            # Some stores (gcsfs) open a prefix as an empty file; say what it is instead.
            if (getattr(f, "details", None) or {}).get("type") == "directory":
                raise IsADirectoryError(rpath)
            yield f
        return
    try:
        yield reader
    finally:
        reader.close()


def _open_async(fs: "AbstractFileSystem", rpath: str) -> _AsyncStreamReader | None:
    if not getattr(fs, "async_impl", False):
        return None
    from fsspec.asyn import sync

    try:
        afile = sync(fs.loop, fs.open_async, rpath, "rb")
    except NotImplementedError:
        return None
    return _AsyncStreamReader(fs, afile)


def download_streaming(fs: "AbstractFileSystem", rpath: str, lpath: str, chunk: int, callback: Any = None) -> bool:
    """Write the object at ``rpath`` to ``lpath`` through one streamed GET, ``chunk`` bytes at
    a time, telling ``callback`` of each; False (nothing done) where the filesystem has no
    streamed GET."""
    reader = _open_async(fs, rpath)
    if reader is None:
        return False
    try:
        with open(lpath, "wb") as f:
            while data := reader.read(chunk):
                f.write(data)
                if callback is not None:
                    callback.relative_update(len(data))
    finally:
        reader.close()
    return True

