"""The transport's ceiling: :mod:`bare_grpc` run as its own process, and timings of it.

A bare gRPC server streams bytes it already holds (OpenStream) or parses and drops every
frame (SaveStream) over the same kind of unix socket, through the plugin's own stub: no
storage and no per-message work, so no plugin can move bytes faster over this transport.
"""

from __future__ import annotations

import sys
from pathlib import Path

from transfer_calls import check, drain_stream, file_chunks

from argo_artifact_driver.plugin_server.client import PluginClient
from argo_artifact_driver.plugin_server.testing.processes import ManagedProcess


class BareServer:
    def __init__(self, work: Path) -> None:
        self.socket = work / "sockets" / "bare" / "socket"
        self.socket.parent.mkdir(parents=True, exist_ok=True)
        script = str(Path(__file__).with_name("bare_grpc.py"))
        self.proc = ManagedProcess("bare-grpc", [sys.executable, script, str(self.socket)], work)
        self.proc.wait_until(lambda: self.socket.exists())
        self.client = PluginClient(self.socket, timeout=3600)
        self.client.wait_ready()
        self.open_stream(1024 * 1024, 8 * 1024 * 1024)  # connected and warm before anything is timed

    def open_stream(self, chunk: int, total: int) -> int:
        """Receive ``total`` bytes in messages of ``chunk`` bytes."""
        return drain_stream(self.client, "", f"{chunk}:{total}")

    def save_stream(self, src: Path) -> None:
        """Send the file ``src`` in Argo's SaveStream frames."""
        check(self.client.save_stream("", "bare", file_chunks(src)))

    def stop(self) -> None:
        self.client.close()
        self.proc.stop()
