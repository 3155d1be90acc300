"""The conformance suite of argo-artifact-driver, run against a real WebDAV server.

This is all a third-party backend needs: the exported fixtures, a server, and a
``store`` fixture returning a StoreUnderTest for the backend.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from argo_artifact_webdav.testing import PLUGIN_ENV, WebdavServer, WebdavStore

pytest_plugins = ["argo_artifact_driver.plugin_server.testing.fixtures"]


@pytest.fixture(scope="session")
def plugin_env() -> dict[str, str]:
    """The plugin logs in with the credentials of the test server."""
    return dict(PLUGIN_ENV)


@pytest.fixture(scope="session")
def webdav_server(work_dir: Path) -> WebdavServer:
    server = WebdavServer(work_dir)
    yield server
    server.stop()


@pytest.fixture
def store(webdav_server: WebdavServer) -> WebdavStore:
    return WebdavStore(webdav_server.url)
