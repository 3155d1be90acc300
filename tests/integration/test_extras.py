"""A scheme whose extra is not installed fails with the extra to install, and only that scheme.

The plugin runs as a separate process whose ``sitecustomize`` makes the storage SDKs
unimportable, so the backend meets a real ``ImportError`` (exactly what a slim image
without the extra gives); the test process itself keeps its SDKs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess
from support.uninstalled import site_without

BLOCKED = ("s3fs", "gcsfs", "adlfs", "sshfs", "paramiko")

@pytest.fixture(scope="module")
def slim_client(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("slim")
    proc = PluginProcess(base / "socket", base, env=site_without(base / "site", BLOCKED), name="slim-plugin")
    client = proc.client()
    yield client
    client.close()
    assert proc.stop() == 0


@pytest.mark.parametrize(
    "config, extra",
    [
        ("scheme: s3\nbucket: b", "s3"),
        ("scheme: gcs\nbucket: b", "gcs"),
        ("scheme: azure\nendpoint: https://acct.blob.core.windows.net\ncontainer: c\nuseSDKCreds: true", "azure"),
        ("scheme: fsspec\nprotocol: sftp\nroot: /srv\nstorageOptions: {host: 127.0.0.1}", "sftp"),
    ],
)
def test_missing_extra_is_named(slim_client, config: str, extra: str):
    r = slim_client.list_objects(config, "some/key")
    assert f"argo-artifact-driver[{extra}]" in r.error, r.error
    assert list(r.objects) == []


def test_installed_schemes_keep_working(slim_client, tmp_path: Path):
    config = f"scheme: file\nroot: {tmp_path / 'store'}"
    src = tmp_path / "f"
    src.write_bytes(b"still served")
    assert slim_client.save(config, "k", src).success
    assert slim_client.stream_bytes(config, "k") == (b"still served", "")
