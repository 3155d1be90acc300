"""Test helpers: a real WebDAV server (wsgidav on cheroot) and the conformance store.

Needs the ``test`` extra. Used by this package's own tests and by argo-artifact-driver's
tests of third-party discovery.
"""

from __future__ import annotations

import sys
from pathlib import Path

from argo_artifact_driver.plugin_server.testing.processes import start_listening
from argo_artifact_driver.plugin_server.testing.store import StoreUnderTest

from .backend import webdav_filesystem

USER, PASSWORD = "argo", "webdav-test-password"
#: Environment the plugin process needs to log in to :class:`WebdavServer`.
PLUGIN_ENV = {"WEBDAV_USERNAME": USER, "WEBDAV_PASSWORD": PASSWORD}

_CONFIG = """\
host: 127.0.0.1
port: {port}
provider_mapping:
  "/": "{root}"
http_authenticator:
  accept_basic: true
  accept_digest: false
  default_to_digest: false
simple_dc:
  user_mapping:
    "*":
      {user}:
        password: {password}
verbose: 1
"""


class WebdavServer:
    """wsgidav serving ``work_dir/dav-data`` on a free loopback port, with one user."""

    def __init__(self, work_dir: Path) -> None:
        self.data = work_dir / "dav-data"
        self.data.mkdir(parents=True, exist_ok=True)
        config = work_dir / "wsgidav.yaml"

        def argv(port: int) -> list[str]:
            config.write_text(_CONFIG.format(port=port, root=self.data, user=USER, password=PASSWORD))
            return [sys.executable, "-m", "wsgidav.server.server_cli", "--config", str(config)]

        self.process, self.port = start_listening("wsgidav", argv, work_dir)

    def stop(self) -> int:
        return self.process.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class WebdavStore(StoreUnderTest):
    """``scheme: webdav`` on a :class:`WebdavServer`, checked out of band with webdav4."""

    scheme = "webdav"
    # WebDAV keeps collections, but Save makes no object for an empty directory, and a
    # resource cannot be a file and a collection at once.
    object_and_prefix_may_share_a_name = False

    def __init__(self, url: str, root: str = "artifacts") -> None:
        fs = webdav_filesystem(url, auth=(USER, PASSWORD))
        fs.makedirs(root, exist_ok=True)
        super().__init__(f"scheme: webdav\nurl: {url}\nroot: {root}\n", fs, root)
