"""Session fixtures: storage servers and the plugin process, started here and stopped by pid.

``store`` is parametrised over every backend in ``BACKENDS``: a test that takes it runs
once per store, against a real server, with the plugin as a separate process. The
plugin, client and key fixtures come from the exported conformance fixtures, exactly as
a third-party backend's tests get them. Adding a backend is one entry in ``STORES``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from argo_artifact_driver.plugin_server.testing.policy import write_policy
from support import servers
from support.stores import (
    AzureStore,
    FileStore,
    FTPStore,
    GCSStore,
    S3Store,
    SFTPStore,
    StoreUnderTest,
)

pytest_plugins = ["argo_artifact_driver.plugin_server.testing.fixtures"]

NPM_DIR = Path(__file__).parents[1] / "servers"

AWS_ENV = servers.MOTO_ENV
# Set before anything here imports gcsfs: gcsfs >= 2026 probes each bucket's type over gRPC on
# first use, which the emulator never answers (a minute's hang per call).
os.environ.update(AWS_ENV)
os.environ.update(servers.GCS_EMULATOR_ENV)


def _server(name: str, start: Callable[[Path], servers.Server]):
    @pytest.fixture(scope="session", name=name)
    def fixture(work_dir: Path) -> servers.Server:
        server = start(work_dir)
        yield server
        server.stop()

    return fixture


moto_server = _server("moto_server", servers.start_moto)
gcs_server = _server("gcs_server", servers.start_gcs_emulator)
azurite_server = _server("azurite_server", lambda d: servers.start_azurite(d, NPM_DIR))
s3rver_server = _server("s3rver_server", lambda d: servers.start_s3rver(d, NPM_DIR))
sshd_server = _server("sshd_server", servers.start_sshd)
ftp_server = _server("ftp_server", servers.start_ftp)


@pytest.fixture(scope="session")
def moto_endpoint(moto_server: servers.Server) -> str:
    """``host:port`` of the session's moto S3 server."""
    return moto_server.info["endpoint"]


def _server_info(request: pytest.FixtureRequest, name: str) -> dict:
    return request.getfixturevalue(name).info


#: scheme label -> how to make its store (a fixture request and the session directory).
STORES: dict[str, Callable[[pytest.FixtureRequest, Path], StoreUnderTest]] = {
    "file": lambda r, d: FileStore(d / "file-store"),
    "s3": lambda r, d: S3Store(_server_info(r, "moto_server")["endpoint"], "artifacts"),
    "s3-s3rver": lambda r, d: S3Store(_server_info(r, "s3rver_server")["endpoint"], "artifacts"),
    "gcs": lambda r, d: GCSStore(_server_info(r, "gcs_server")["endpoint"], "artifacts"),
    "azure": lambda r, d: AzureStore(_server_info(r, "azurite_server")["endpoint"], "artifacts"),
    "fsspec-sftp": lambda r, d: SFTPStore(
        r.getfixturevalue("sshd_server").port, _server_info(r, "sshd_server")["username"],
        _server_info(r, "sshd_server")["client_key"], str(d / "sftp-store"),
    ),
    "fsspec-ftp": lambda r, d: FTPStore(
        r.getfixturevalue("ftp_server").port, _server_info(r, "ftp_server")["username"],
        _server_info(r, "ftp_server")["password"], _server_info(r, "ftp_server")["served_dir"], "artifacts",
    ),
}
BACKENDS = list(STORES)


@pytest.fixture(scope="session")
def moto_endpoint_b(work_dir: Path) -> str:
    """A second, independent moto server: the other side of a migration or fallback."""
    server = servers.start_moto(work_dir, name="moto-b")
    yield server.info["endpoint"]
    server.stop()


#: A listed endpoint where nothing listens (the discard port): a store that is down.
UNREACHABLE = "127.0.0.1:9"


@pytest.fixture(scope="session")
def test_servers(request: pytest.FixtureRequest) -> list[str]:
    """``host:port`` of every storage server of the session (each started here)."""
    endpoints = [request.getfixturevalue("moto_endpoint"), request.getfixturevalue("moto_endpoint_b")]
    endpoints += [request.getfixturevalue(name).endpoint for name in
                  ("s3rver_server", "gcs_server", "azurite_server", "sshd_server", "ftp_server")]
    return [*endpoints, UNREACHABLE]


@pytest.fixture(scope="session")
def plugin_env(work_dir: Path, tmp_path_factory: pytest.TempPathFactory, test_servers: list[str]) -> dict[str, str]:
    """The plugin's environment: credentials for the test servers, and an operator policy
    allowing exactly those servers and the session's temporary directory (every local
    store and key file of the tests lives there)."""
    env = {**AWS_ENV, **servers.GCS_EMULATOR_ENV}
    for cls in (FileStore, S3Store, GCSStore, AzureStore, SFTPStore, FTPStore):
        env.update(cls.plugin_env)
    env.update(write_policy(work_dir / "policy.yaml", endpoints=test_servers, roots=[tmp_path_factory.getbasetemp()]))
    return env


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, work_dir: Path) -> StoreUnderTest:
    """Each backend in turn, configured against its real server."""
    return STORES[request.param](request, work_dir)
