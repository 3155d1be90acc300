"""The GCS backend's HTTP session talks to one server only: a redirect, or a URL the
server answers with (a resumable upload's ``Location``), naming another is refused before
anything is sent there. Real sockets on 127.0.0.1, aiohttp as gcsfs uses it."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from argo_artifact_driver.backends._redirects import refuse_redirects_trace

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


async def _listener(answer: bytes) -> tuple[asyncio.AbstractServer, list[bytes]]:
    """A server on 127.0.0.1 that records what reaches it and answers ``answer``."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(answer)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0), received


def _url(server: asyncio.AbstractServer) -> str:
    return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def test_requests_go_to_the_judged_server_only():
    async def run() -> None:
        judged, judged_got = await _listener(ANSWER)
        other, other_got = await _listener(ANSWER)
        async with judged, other, aiohttp.ClientSession(trace_configs=[refuse_redirects_trace(_url(judged))]) as session:
            async with session.put(f"{_url(judged)}/upload?upload_id=1", data=b"x") as response:
                assert await response.read() == b"ok"
            with pytest.raises(ConnectionRefusedError, match="the plugin talks only to"):
                await session.put(f"{_url(other)}/upload?upload_id=1", data=b"secret")
        assert len(judged_got) == 1 and other_got == []  # the other server never saw a byte

    asyncio.run(run())


def test_a_redirect_to_another_server_is_not_followed():
    async def run() -> None:
        other, other_got = await _listener(ANSWER)
        redirect = f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {_url(other)}/x\r\nContent-Length: 0\r\n\r\n"
        judged, _ = await _listener(redirect.encode())
        async with judged, other, aiohttp.ClientSession(trace_configs=[refuse_redirects_trace()]) as session:
            with pytest.raises(ConnectionRefusedError, match="does not follow redirects"):
                await session.get(f"{_url(judged)}/o")
        assert other_got == []

    asyncio.run(run())
