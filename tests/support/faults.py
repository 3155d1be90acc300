"""A fault-injecting HTTP/1.1 proxy for tests: put it between the plugin and moto.

It understands just enough HTTP to see where each request starts (request line, headers,
``Content-Length`` body), so a fault hits one request, not a whole keep-alive connection.
Faults are rules: which requests they match (method, a text in the path) and how many
times they fire; everything else is forwarded byte for byte. Kinds:

- ``status``: answer with an HTTP error (503, 500, 403, 404...) and an S3-style XML body;
- ``reset``: reset the connection (TCP RST) as soon as the request head arrives;
- ``stall``: accept the request and never answer (until the proxy stops);
- ``cut_response``: forward the request, pass the first ``after`` bytes of the answer,
  then reset: a body that breaks mid-way;
- ``cut_request``: forward the first ``after`` bytes of the request body, then reset.

Threads, bounded: one pair per connection, all stopped by :meth:`FaultProxy.close`.
"""

from __future__ import annotations

import collections
import socket
import struct
import threading
from dataclasses import dataclass

_REASONS = {403: "Forbidden", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}
_CODES = {403: "AccessDenied", 404: "NoSuchKey", 500: "InternalError", 503: "SlowDown"}


@dataclass
class Fault:
    kind: str
    method: str | None = None
    path_contains: str | None = None
    times: int = 1
    status: int = 503
    after: int = 0

    def matches(self, method: str, target: str) -> bool:
        return (
            self.times > 0
            and (self.method is None or self.method == method)
            and (self.path_contains is None or self.path_contains in target)
        )


class FaultProxy:
    """Listens on 127.0.0.1:``port`` and forwards to ``upstream`` (``host:port``)."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.injected: collections.Counter[str] = collections.Counter()
        self.requests: list[tuple[str, str]] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._spawn(self._accept)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add(self, kind: str, **match: object) -> Fault:
        fault = Fault(kind, **match)  # type: ignore[arg-type]
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def close(self) -> None:
        self._closing.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # close() alone does not wake accept()
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            for s in list(self._sockets):
                _reset(s)
        for t in self._threads:
            t.join(timeout=5)

    # -- internals -------------------------------------------------------------------

    def _spawn(self, target, *args) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        t.start()
        self._threads.append(t)

    def _track(self, s: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.add(s)
        return s

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._spawn(self._serve, self._track(client))

    def _take(self, method: str, target: str) -> Fault | None:
        with self._lock:
            self.requests.append((method, target))
            for fault in self._faults:
                if fault.matches(method, target):
                    fault.times -= 1
                    self.injected[fault.kind if fault.kind != "status" else f"status {fault.status}"] += 1
                    return fault
        return None

    def _serve(self, client: socket.socket) -> None:
        reader = client.makefile("rb")
        upstream: socket.socket | None = None
        cut = {"after": None}
        graceful = False
        try:
            while True:
                head = _read_head(reader)
                if head is None:
                    return
                method, target = head.split(b" ", 2)[:2]
                method_s, target_s = method.decode(), target.decode(errors="replace")
                length = _content_length(head)
                fault = self._take(method_s, target_s)
                if fault is not None and fault.kind == "status":
                    if b"100-continue" not in head.lower():
                        _copy(reader, None, length)  # read the body, as a server does
                    client.sendall(_error_response(fault.status, with_body=method != b"HEAD"))
                    client.shutdown(socket.SHUT_WR)
                    graceful = True
                    return
                if fault is not None and fault.kind == "reset":
                    return
                if fault is not None and fault.kind == "stall":
                    self._closing.wait()
                    return
                if upstream is None:
                    upstream = self._track(socket.create_connection(self.upstream))
                    self._spawn(self._pump_back, upstream, client, cut)
                if fault is not None and fault.kind == "cut_response":
                    cut["after"] = fault.after
                upstream.sendall(head)
                if fault is not None and fault.kind == "cut_request":
                    upstream.sendall(reader.read(min(fault.after, length)))
                    return
                _copy(reader, upstream, length)
        except OSError:
            return
        finally:
            if graceful:
                client.close()
            else:
                _reset(client)
            if upstream is not None:
                _reset(upstream)

    def _pump_back(self, upstream: socket.socket, client: socket.socket, cut: dict) -> None:
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    # The server closed after its answer: pass that on gracefully. A reset
                    # here would throw away the answer's tail still in the send buffer.
                    client.shutdown(socket.SHUT_WR)
                    return
                after = cut["after"]
                if after is not None:
                    if len(data) >= after:
                        client.sendall(data[:after])
                        break
                    cut["after"] = after - len(data)
                client.sendall(data)
        except OSError:
            pass
        _reset(client)
        _reset(upstream)


def _read_head(reader) -> bytes | None:
    lines = []
    while True:
        line = reader.readline(65537)
        if not line:
            return None
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            return b"".join(lines)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def _copy(reader, dest: socket.socket | None, length: int) -> None:
    while length > 0:
        data = reader.read(min(length, 1 << 20))
        if not data:
            raise ConnectionResetError("client closed mid-body")
        if dest is not None:
            dest.sendall(data)
        length -= len(data)


def _error_response(status: int, with_body: bool) -> bytes:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{_CODES.get(status, "Error")}</Code>'
        f"<Message>injected by the test proxy</Message></Error>"
    ).encode()
    return (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: application/xml\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + (body if with_body else b"")


def _reset(s: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a crashed peer or a middlebox would."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.shutdown(socket.SHUT_RD)  # wakes a thread blocked reading it; close() alone does not
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass
