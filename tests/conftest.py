"""Session fixtures: storage servers and the plugin process, started here and stopped by pid.

``store`` is parametrised over every backend in ``BACKENDS``: a test that takes it runs
once per store, against a real server, with the plugin as a separate process. The
plugin, client and key fixtures come from the exported conformance fixtures, exactly as
a third-party backend's tests get them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from argo_artifact_driver.plugin_server.testing.processes import ManagedProcess, free_port, port_open
from argo_artifact_driver.plugin_server.testing.stores import FileStore, S3Store, StoreUnderTest

pytest_plugins = ["argo_artifact_driver.plugin_server.testing.fixtures"]

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
def plugin_env() -> dict[str, str]:
    return dict(AWS_ENV)


def _moto(name: str, work_dir: Path):
    port = free_port()
    server = ManagedProcess(name, [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], work_dir)
    server.wait_until(lambda: port_open(port))
    yield f"127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def moto_endpoint(work_dir: Path) -> str:
    """A real moto S3 server on a free port: ``host:port``."""
    yield from _moto("moto", work_dir)


@pytest.fixture(scope="session")
def moto_endpoint_b(work_dir: Path) -> str:
    """A second, independent moto server: the other side of a migration or fallback."""
    yield from _moto("moto-b", work_dir)


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
