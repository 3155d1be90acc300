"""What the HTTP layers under several SDKs raise, as the builtins the plugin words.

s3fs (aiobotocore), gcsfs and adlfs (azure-core) all talk through aiohttp, whose
connection errors are not all ``OSError``s (a server that closes the connection raises
``ServerDisconnectedError``); an unmapped one would be reported as a bug in the plugin.
"""

from __future__ import annotations

import asyncio


def network_error(exc: BaseException) -> BaseException | None:
    """``ConnectionError``/``TimeoutError`` for an aiohttp or asyncio transport failure, else None."""
    if isinstance(exc, OSError):
        return None  # already a builtin the plugin words
    if isinstance(exc, asyncio.TimeoutError):
        return TimeoutError(str(exc) or "timed out")
    try:
        import aiohttp
    except ImportError:  # pragma: no cover - every SDK that uses this brings aiohttp
        return None
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return TimeoutError(str(exc) or "timed out")
    if isinstance(exc, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)):
        return ConnectionError(str(exc) or type(exc).__name__)
    return None
