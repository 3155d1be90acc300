"""Pytest fixtures the conformance suite needs, for ``pytest_plugins``.

Provides ``work_dir``, ``plugin`` (the plugin process), ``client`` and ``key``; the
test module provides ``store``. Environment a backend needs (credentials for a test
server, an emulator host) is passed to the plugin through ``plugin_env``, which a
conftest may override.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from ..client import PluginClient
from .plugin import PluginProcess


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("session")


@pytest.fixture(scope="session")
def plugin_env() -> dict[str, str]:
    """Extra environment for the plugin process; override in a conftest."""
    return {}


@pytest.fixture(scope="session")
def plugin(work_dir: Path, plugin_env: dict[str, str]) -> PluginProcess:
    """The plugin, started the way Argo starts it, shared by the session."""
    proc = PluginProcess(work_dir / "sockets" / "shared" / "socket", work_dir, env=plugin_env)
    yield proc
    code = proc.stop()
    assert code == 0, f"plugin exited with {code}:\n{proc.output()[-4000:]}"


@pytest.fixture(scope="session")
def client(plugin: PluginProcess) -> PluginClient:
    c = plugin.client()
    yield c
    c.close()


@pytest.fixture
def key() -> str:
    """A key no other test uses."""
    return f"wf-{uuid.uuid4().hex[:10]}/pod/artifact"
