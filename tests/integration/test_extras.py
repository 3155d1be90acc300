"""A scheme whose extra is not installed fails with the extra to install, and only that scheme.

The plugin runs as a separate process whose ``sitecustomize`` makes the storage SDKs
unimportable, so the backend meets a real ``ImportError`` (exactly what a slim image
without the extra gives); the test process itself keeps its SDKs. The tools' gate
(``argo-artifacts backends``, ``check``) runs in a virtualenv from which ``s3fs`` is
really absent (an overlay of this one, :mod:`support.overlay`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess
from argo_artifact_driver.plugin_server.testing.policy import write_policy
from support.overlay import OverlayVenv
from support.uninstalled import site_without

BLOCKED = ("s3fs", "gcsfs", "adlfs", "sshfs", "paramiko")


@pytest.fixture(scope="module")
def slim_client(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("slim")
    # scheme file is off by default: the test's stores live in the session's temporary directory
    policy = write_policy(base / "policy.yaml", roots=[tmp_path_factory.getbasetemp()])
    proc = PluginProcess(base / "socket", base, env={**site_without(base / "site", BLOCKED), **policy},
                         name="slim-plugin")
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
        ("scheme: fsspec\nprotocol: sftp\nroot: /srv\nstorageOptions: {host: sftp.example.invalid}", "sftp"),
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


@pytest.fixture(scope="module")
def venv_without_s3(tmp_path_factory: pytest.TempPathFactory) -> OverlayVenv:
    """This environment without the distribution the [s3] extra brings."""
    return OverlayVenv(tmp_path_factory.mktemp("no-s3") / "env", hide=["s3fs"])


def test_backends_fails_naming_the_missing_extra(venv_without_s3: OverlayVenv):
    """An image built without [s3] fails its own gate, not the first real call."""
    result = venv_without_s3.tools("backends")
    assert result.returncode == 1, result.stdout + result.stderr
    rows = {line.split()[0]: line.split()[-1] for line in result.stdout.splitlines()[1:] if line.strip() and ":" not in line}
    assert rows["s3"] == "FAILED"
    assert rows["file"] == rows["gcs"] == rows["azure"] == "ok"
    assert "s3: scheme 's3' needs the Python package 's3fs', which is not installed" in result.stdout
    assert "pip install 'argo-artifact-driver[s3]'" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_check_fails_naming_the_missing_extra(venv_without_s3: OverlayVenv):
    result = venv_without_s3.tools("check", "scheme: s3\nbucket: b\n")
    assert result.returncode == 1
    assert "argo-artifact-driver[s3]" in result.stderr and "Traceback" not in result.stderr
    assert venv_without_s3.tools("check", "scheme: gcs\nbucket: b\n").returncode == 0
