"""A TCP proxy that adds a fixed latency to every request, for a cross-region round trip.

What exactly it delays: every byte the client sends towards the server is held for
``DELAY_MS`` milliseconds from the moment the proxy receives it, then forwarded in order
(a one-way delay on the request path, not a per-segment sleep: bytes that arrive while
earlier ones wait are not delayed twice). Responses flow back at once. So each HTTP
request/response exchange takes ``DELAY_MS`` longer, on every connection, however many
run at once; opening a connection costs nothing extra until its first request. The proxy
prints the largest number of connections open at once (``max_connections N``, a connection
counting until either side ends it) whenever it grows: how much concurrency a client used.

Run: ``python latency_proxy.py LISTEN_PORT UPSTREAM_HOST:PORT DELAY_MS``.
"""

from __future__ import annotations

import asyncio
import sys
import time

open_now = 0
most = 0


async def delayed_pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    queue: asyncio.Queue = asyncio.Queue()

    async def receive() -> None:
        while data := await reader.read(65536):
            queue.put_nowait((time.monotonic() + delay, data))
        queue.put_nowait((time.monotonic() + delay, b""))

    async def send() -> None:
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.write_eof() if writer.can_write_eof() else None

    await asyncio.gather(receive(), send())


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


def main(listen_port: int, upstream: str, delay_ms: float) -> None:
    host, port = upstream.rsplit(":", 1)
    delay = delay_ms / 1000

    async def handle(c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        global open_now, most
        open_now += 1
        if open_now > most:
            most = open_now
            print(f"max_connections {most}", flush=True)
        counted = True

        def done(_: object = None) -> None:  # a connection counts until either side ends it
            global open_now
            nonlocal counted
            if counted:
                counted = False
                open_now -= 1

        try:
            s_reader, s_writer = await asyncio.open_connection(host, int(port))
            up = asyncio.ensure_future(delayed_pump(c_reader, s_writer, delay))
            down = asyncio.ensure_future(pump(s_reader, c_writer))
            up.add_done_callback(done)
            down.add_done_callback(done)
            await asyncio.gather(up, down, return_exceptions=True)
            s_writer.close()
        finally:
            done()
            c_writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", listen_port, backlog=256)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], float(sys.argv[3]))
