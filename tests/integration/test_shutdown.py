"""SIGTERM during a 256 MiB Save to S3 (moto): within the grace period the Save finishes
and the server exits 0; a second SIGTERM, or the end of the grace period, stops it at
once, still exiting 0, with no object at the key and no multipart upload left open."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from argo_artifact_driver.core.units import MiB
from argo_artifact_driver.plugin_server.testing.conformance import eventually
from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess
from support.stores import S3Store

SIZE = 256 * MiB


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "256mib"
    block = os.urandom(MiB)
    with open(path, "wb") as f:
        for i in range(SIZE // MiB):
            f.write(bytes([i % 256]) + block[1:])
    return path


@pytest.fixture
def s3(moto_endpoint):
    return S3Store(moto_endpoint, "artifacts")


def open_uploads(s3: S3Store, key: str) -> list:
    uploads = s3.fs.call_s3("list_multipart_uploads", Bucket="artifacts").get("Uploads", [])
    return [u for u in uploads if u["Key"] == key]


def start_save(tmp_path, plugin_env, grace: float, s3: S3Store, key: str, big_file):
    """A plugin with the given grace period, and its Save of the big file under way:
    returns once the multipart upload exists (the transfer is mid-way)."""
    env = {**plugin_env, "ARGO_ARTIFACT_DRIVER_GRACE_SECONDS": str(grace)}
    proc = PluginProcess(tmp_path / "s" / "socket", tmp_path, env=env)
    client = proc.client()
    pool = ThreadPoolExecutor(1)
    future = pool.submit(client.save, s3.config, key, big_file)
    assert eventually(lambda: open_uploads(s3, key) != [] or future.done(), timeout=60)
    assert not future.done(), "the Save finished before it could be interrupted"
    return proc, client, pool, future


def outcome(future) -> str:
    try:
        r = future.result(timeout=120)
    except grpc.RpcError as exc:
        return f"rpc {exc.code().name}"
    return "saved" if r.success else f"error: {r.error}"


def test_sigterm_lets_the_save_finish_then_exits_0(tmp_path, plugin_env, s3, key, big_file):
    proc, client, pool, future = start_save(tmp_path, plugin_env, 120, s3, key, big_file)
    started = time.monotonic()
    proc.signal(signal.SIGTERM)
    assert outcome(future) == "saved"
    assert proc.proc.wait(timeout=150) == 0
    print(f"FIGURE 256 MiB Save finished {time.monotonic() - started:.1f} s after SIGTERM")
    assert s3.fs.size(s3.path(key)) == SIZE
    assert open_uploads(s3, key) == []
    client.close()
    pool.shutdown()


@pytest.mark.parametrize("how", ["second SIGTERM", "grace period over"])
def test_hard_stop_exits_0_and_leaves_no_partial_object(tmp_path, plugin_env, s3, key, big_file, how):
    grace = 120 if how == "second SIGTERM" else 0.5
    proc, client, pool, future = start_save(tmp_path, plugin_env, grace, s3, key, big_file)
    proc.signal(signal.SIGTERM)
    if how == "second SIGTERM":
        time.sleep(0.2)
        proc.signal(signal.SIGTERM)
    assert proc.proc.wait(timeout=60) == 0
    assert outcome(future) != "saved"
    s3.fs.invalidate_cache()
    assert not s3.exists(key)
    assert open_uploads(s3, key) == [], proc.output()[-3000:]  # aborted before the process exited
    assert '"abandoned_calls":false' in proc.output()
    client.close()
    pool.shutdown()
