"""The conformance suite of argo-artifact-driver, run against a real WebDAV server.

This is all a third-party backend needs: the exported fixtures, a server, and a
``store`` fixture returning a StoreUnderTest for the backend.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from argo_artifact_webdav.testing import PLUGIN_ENV, WebdavServer, WebdavStore

from argo_artifact_driver.plugin_server.testing.policy import write_policy

pytest_plugins = ["argo_artifact_driver.plugin_server.testing.fixtures"]


@pytest.fixture(scope="session")
def plugin_env(work_dir: Path, webdav_server: WebdavServer) -> dict[str, str]:
    """The plugin logs in with the credentials of the test server, and its operator policy
    lists that server (the default policy refuses loopback addresses)."""
    return {**PLUGIN_ENV, **write_policy(work_dir / "policy.yaml", endpoints=[f"127.0.0.1:{webdav_server.port}"])}


@pytest.fixture(scope="session")
def webdav_server(work_dir: Path) -> WebdavServer:
    server = WebdavServer(work_dir)
    yield server
    server.stop()


@pytest.fixture
def store(webdav_server: WebdavServer) -> WebdavStore:
    return WebdavStore(webdav_server.url)
