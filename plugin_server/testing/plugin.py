"""The plugin as Argo runs it: its console script, a unix socket, a gRPC client."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Sequence

from ..client import PluginClient
from .processes import ManagedProcess

#: Each call of the test client may take this long (large transfers on a loaded machine).
CALL_TIMEOUT_SECONDS = 300.0


def console_script(name: str) -> str:
    found = shutil.which(name, path=os.path.dirname(sys.executable))
    assert found, f"{name} is not installed next to {sys.executable}"
    return found


class PluginProcess(ManagedProcess):
    """``argo-artifact-driver SOCKET [ARGS...]`` started as a separate process.

    ``args``: what Argo appends after the socket path (the controller's ``executor.args``).
    ``python``: run the server with this interpreter (another virtualenv) instead of the
    console script installed next to the running one."""

    def __init__(
        self, socket_path: Path, log_dir: Path, env: dict | None = None, name: str = "plugin", python: str | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.socket_path = socket_path
        if python:
            argv = [python, "-m", "argo_artifact_driver.plugin_server", str(socket_path), *args]
        else:
            argv = [console_script("argo-artifact-driver"), str(socket_path), *args]
        super().__init__(name, argv, log_dir, env=env)
        self.wait_until(lambda: socket_path.exists())

    def client(self, timeout: float | None = CALL_TIMEOUT_SECONDS, metadata: Sequence[tuple[str, str]] = ()) -> PluginClient:
        """A client of this plugin, connected; ``metadata`` is sent with every call."""
        client = PluginClient(self.socket_path, timeout=timeout, metadata=metadata)
        client.wait_ready()
        return client

    def log_records(self) -> list[dict]:
        records = []
        for line in self.output().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                records.append({"unparsed": line})
        return records
