"""What the S3, GCS and Azure backends share about moving bytes over aiohttp: an upload
part as a request body, and a filesystem class with a streamed read."""

from __future__ import annotations

import functools
import io
from typing import Any, Callable


class PartBody(io.BytesIO):
    """An upload part as a request body that aiohttp and the SDKs read without copying it
    whole; use it as a context manager around the request.

    Given ``bytes``, aiohttp copies the body once to put the headers in front of it and
    again into the socket's write buffer (up to three times a part's size in memory,
    measured); a ``BytesIO`` it reads 256 KiB at a time. This one reads from the part's
    buffer itself (a view, which the plugin reuses for a later part once the request is
    over): ``read``, ``seek`` and ``tell`` work on the view, ``getbuffer`` gives aiohttp
    its size without a copy. ``close()`` (aiohttp closes a body once sent) keeps the data,
    so that the SDK can rewind it to retry; leaving the ``with`` block lets it go."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        super().__init__()
        self._view = memoryview(data).cast("B")
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        out = bytes(self._view[self._pos:end])
        self._pos = max(self._pos, end)
        return out

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def getbuffer(self) -> memoryview:  # type: ignore[override]
        return self._view[:]  # a view of its own: aiohttp releases what it is given

    def getvalue(self) -> bytes:
        return bytes(self._view)

    def close(self) -> None:
        pass  # the SDK may still rewind and resend it

    def __exit__(self, *exc: Any) -> None:  # type: ignore[override]
        self._view = memoryview(b"")
        super().close()


@functools.cache
def with_streamed_read(base: type, stream: Callable[[Any, str], Any]) -> type:
    """``base`` (an fsspec async filesystem class) with ``open_async(path, "rb")`` answering
    ``stream(fs, path)``: an object with ``async read(n)`` and ``async close()`` that reads one
    object in order, as the plugin's Load and OpenStream ask for it. Cached, so that each
    filesystem class is made once, on first use (the SDK is imported only then)."""

    class Streaming(base):  # type: ignore[misc, valid-type]
        async def open_async(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
            if mode != "rb":
                raise NotImplementedError("only streamed reads")
            return stream(self, path)

    Streaming.__name__ = Streaming.__qualname__ = f"Streaming{base.__name__}"
    return Streaming
