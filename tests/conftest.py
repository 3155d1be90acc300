"""Session fixtures: storage servers and the plugin process, started here and stopped by pid.

``store`` is parametrised over every backend in ``BACKENDS``: a test that takes it runs
once per store, against a real server, with the plugin as a separate process.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

from support.plugin import PluginProcess
from support.processes import ManagedProcess, free_port, port_open
from support.stores import FileStore, S3Store, StoreUnderTest

# Credentials of the throwaway moto server; the plugin finds them through the AWS SDK chain.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
os.environ.update(AWS_ENV)

BACKENDS = ["file", "s3"]


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("session")


@pytest.fixture(scope="session")
def moto_endpoint(work_dir: Path) -> str:
    """A real moto S3 server on a free port: ``host:port``."""
    port = free_port()
    server = ManagedProcess("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], work_dir)
    server.wait_until(lambda: port_open(port))
    yield f"127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def plugin(work_dir: Path) -> PluginProcess:
    """The plugin, started the way Argo starts it, shared by the session."""
    proc = PluginProcess(work_dir / "sockets" / "shared" / "socket", work_dir, env=AWS_ENV)
    yield proc
    code = proc.stop()
    assert code == 0, f"plugin exited with {code}:\n{proc.output()[-4000:]}"


@pytest.fixture(scope="session")
def client(plugin: PluginProcess):
    c = plugin.client()
    yield c
    c.close()


def _make_store(scheme: str, request: pytest.FixtureRequest, work_dir: Path) -> StoreUnderTest:
    if scheme == "file":
        return FileStore(work_dir / "file-store")
    if scheme == "s3":
        return S3Store(request.getfixturevalue("moto_endpoint"), "artifacts")
    raise ValueError(scheme)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, work_dir: Path) -> StoreUnderTest:
    """Each backend in turn, configured against its real server."""
    return _make_store(request.param, request, work_dir)


@pytest.fixture
def key() -> str:
    """A key no other test uses."""
    return f"wf-{uuid.uuid4().hex[:10]}/pod/artifact"
