"""Storage faults between the plugin and a real moto server, injected by tests/faults.py.

Transient faults (5xx, throttling, resets, a body cut mid-way) are survived by retries;
permanent ones (403, 404) fail at once with a clear message; whatever fails leaves
nothing at the key (no object, no open multipart upload) and nothing at the local path.
Every check of the store is out of band, straight to moto.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid

import grpc
import pytest

from argo_artifact_driver.core.units import MiB
from argo_artifact_driver.plugin_server import artifact_pb2 as pb
from argo_artifact_driver.plugin_server.client import artifact
from argo_artifact_driver.plugin_server.testing.conformance import eventually
from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess
from argo_artifact_driver.plugin_server.testing.policy import write_policy
from argo_artifact_driver.plugin_server.testing.processes import free_port
from support.faults import FaultProxy
from support.stores import S3Store

TRANSFER_ATTEMPTS = 3  # core's default (Settings.transfer_attempts)
STORAGE_ATTEMPTS = 4  # botocore's, as the S3 backend configures it (Settings.storage_max_attempts)


@pytest.fixture(scope="module")
def fault_plugin(work_dir, plugin_env, tmp_path_factory):
    """A plugin with short storage time-outs, so stalls are cut in seconds. Its policy lists
    the host 127.0.0.1 without a port: each test puts a fault proxy (or nothing) on a port
    of its own, chosen when it runs."""
    policy = write_policy(work_dir / "faults-policy.yaml", endpoints=["127.0.0.1"],
                          roots=[tmp_path_factory.getbasetemp()])
    env = {**plugin_env, **policy,
           "ARGO_ARTIFACT_DRIVER_STORAGE_READ_TIMEOUT": "2", "ARGO_ARTIFACT_DRIVER_STORAGE_CONNECT_TIMEOUT": "2"}
    proc = PluginProcess(work_dir / "sockets" / "faults" / "socket", work_dir, env=env, name="plugin-faults")
    yield proc
    assert proc.stop() == 0, proc.output()[-4000:]


@pytest.fixture(scope="module")
def fclient(fault_plugin):
    c = fault_plugin.client()
    yield c
    c.close()


@pytest.fixture
def s3(moto_endpoint):
    return S3Store(moto_endpoint, "artifacts")


@pytest.fixture
def proxy(moto_endpoint):
    p = FaultProxy(moto_endpoint)
    yield p
    print(f"FIGURE faults injected: {dict(p.injected)}")
    p.close()


def through(s3: S3Store, proxy: FaultProxy) -> str:
    """The store's configuration, with the plugin talking to moto through the proxy."""
    return s3.config.replace(s3.config.split("endpoint: ")[1].split("\n")[0], proxy.endpoint)


def open_uploads(s3: S3Store, key: str) -> list:
    uploads = s3.fs.call_s3("list_multipart_uploads", Bucket="artifacts").get("Uploads", [])
    return [u for u in uploads if u["Key"].startswith(key)]


def nothing_beside(path) -> bool:
    return not path.exists() and not [p for p in path.parent.iterdir() if p.name.startswith(f".{path.name}")]


@pytest.mark.parametrize(
    "kind,extra",
    [("status", {"status": 503}), ("status", {"status": 500}), ("reset", {}), ("cut_request", {"after": 4096})],
)
def test_save_survives_transient_faults(fclient, s3, proxy, key, tmp_path, kind, extra):
    data = os.urandom(3 * MiB)
    src = tmp_path / "f"
    src.write_bytes(data)
    proxy.add(kind, method="PUT", times=2, **extra)
    r = fclient.save(through(s3, proxy), key, src)
    assert (r.success, r.error) == (True, "")
    assert sum(proxy.injected.values()) == 2
    assert s3.get(key) == data


@pytest.mark.parametrize(
    "kind,extra",
    [("status", {"status": 503}), ("reset", {}), ("cut_response", {"after": 300_000})],
)
def test_load_survives_transient_faults(fclient, fault_plugin, s3, proxy, key, tmp_path, kind, extra):
    data = os.urandom(3 * MiB)
    s3.put(key, data)
    proxy.add(kind, method="GET", times=2, **extra)
    dest = tmp_path / "loaded"
    r = fclient.load(through(s3, proxy), key, dest)
    assert (r.success, r.error) == (True, "")
    assert sum(proxy.injected.values()) == 2
    assert hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert sorted(os.listdir(tmp_path)) == ["loaded"]
    # the call's log line counts core's retries: a broken body; a failed request is botocore's
    (logged,) = [r for r in fault_plugin.log_records() if r.get("msg") == "call" and r.get("key") == key
                 and r["method"] == "Load"]
    assert (logged["level"], logged["retries"]) == ("INFO", 2 if kind == "cut_response" else 0)


def test_directory_round_trip_survives_faults_on_every_kind_of_request(fclient, s3, proxy, key, tmp_path):
    files = {f"d{i}/f{j}.bin": os.urandom(50_000 + i * j) for i in range(3) for j in range(4)}
    src = tmp_path / "src"
    for rel, data in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)
    # Fewer faults of each family than attempts of the layer that retries them, since
    # concurrent transfers may all land on one object: 3 < 4 botocore attempts, 2 < 3 core.
    proxy.add("status", status=503, method="PUT", times=2)
    proxy.add("reset", method="PUT", times=1)
    proxy.add("status", status=503, method="GET", times=2)  # list and get
    proxy.add("cut_response", method="GET", path_contains="/f", times=2, after=20_000)
    config = through(s3, proxy)
    assert fclient.save(config, key, src).success
    dest = tmp_path / "dest"
    r = fclient.load(config, key, dest)
    assert (r.success, r.error) == (True, "")
    assert {str(p.relative_to(dest)): p.read_bytes() for p in dest.rglob("*") if p.is_file()} == files
    assert sum(proxy.injected.values()) == 7


@pytest.mark.parametrize("status,words", [(403, "permission denied"), (404, "not found")])
def test_permanent_faults_fail_at_once_with_a_clear_message(fclient, s3, proxy, key, tmp_path, status, words):
    src = tmp_path / "f"
    src.write_bytes(b"x" * 1000)
    proxy.add("status", status=status, times=1000)
    config = through(s3, proxy)
    for r in (fclient.save(config, key, src), fclient.load(config, key, tmp_path / "d")):
        assert not r.success and words in r.error.lower() and key in r.error and "Traceback" not in r.error
    # Not retried: a handful of requests in all (Save: 1 PUT; Load: HEAD, then a listing).
    assert len(proxy.requests) <= 4, proxy.requests
    assert not (tmp_path / "d").exists() and not s3.exists(key)


def test_a_body_cut_on_every_attempt_leaves_nothing_at_path(fclient, s3, proxy, key, tmp_path):
    s3.put(key, os.urandom(2 * MiB))
    proxy.add("cut_response", method="GET", times=1000, after=100_000)
    dest = tmp_path / "never"
    r = fclient.load(through(s3, proxy), key, dest)
    assert not r.success and key in r.error
    assert nothing_beside(dest)
    # Core's whole-object retry, and only that: botocore does not retry a broken body,
    # and s3fs's own retry loop is off, so attempts do not multiply.
    assert proxy.injected["cut_response"] == TRANSFER_ATTEMPTS


def test_an_upload_cut_on_every_attempt_leaves_nothing_at_the_key(fclient, s3, proxy, key, tmp_path):
    src = tmp_path / "f"
    src.write_bytes(os.urandom(2 * MiB))
    proxy.add("cut_request", method="PUT", times=1000, after=65536)
    r = fclient.save(through(s3, proxy), key, src)
    assert not r.success and key in r.error and "Traceback" not in r.error
    assert not s3.exists(key)
    # botocore's attempts, each of which aiohttp may send twice: it re-sends a request
    # once when the kept-alive connection it reused closes before any answer.
    assert STORAGE_ATTEMPTS <= proxy.injected["cut_request"] <= 2 * STORAGE_ATTEMPTS


def test_failed_save_stream_aborts_its_multipart_upload(fclient, s3, proxy, key):
    """Parts 1 and 2 go through; part 3 is cut on every attempt: the upload is aborted."""
    proxy.add("cut_request", method="PUT", path_contains="partNumber=3", times=1000, after=65536)
    chunks = (bytes([i]) * (2 * MiB) for i in range(14))  # 28 MiB: parts of 8 MiB
    r = fclient.save_stream(through(s3, proxy), key, chunks)
    assert not r.success and key in r.error
    assert not s3.exists(key)
    assert open_uploads(s3, key) == []
    assert proxy.injected["cut_request"] >= 1


def test_client_cancelling_save_stream_aborts_its_multipart_upload(fclient, s3, key):
    def chunks():
        for i in range(8):
            yield bytes([i]) * (2 * MiB)  # 16 MiB: two parts uploaded
        while not open_uploads(s3, key):
            time.sleep(0.05)
        raise RuntimeError("the client dies")

    with pytest.raises(grpc.RpcError):
        fclient.save_stream(s3.config, key, chunks())
    assert eventually(lambda: open_uploads(s3, key) == [], timeout=30)
    assert not s3.exists(key)


def test_load_from_a_stalled_store_fails_within_its_deadline(fclient, s3, proxy, key, tmp_path):
    proxy.add("stall", times=1000)
    dest = tmp_path / "never"
    request = pb.LoadArtifactRequest(input_artifact=artifact(through(s3, proxy), key), path=str(dest))
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as failure:
        fclient.stub.Load(request, timeout=3)
    elapsed = time.monotonic() - started
    assert failure.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    print(f"FIGURE stalled Load gave up after {elapsed:.2f} s (deadline 3 s)")
    # The server gives up too (read time-out, no retry past the deadline) and never
    # publishes: nothing at or beside path, and it keeps serving.
    time.sleep(1)
    assert nothing_beside(dest)
    assert fclient.capabilities().supports_save_stream


def test_load_from_unreachable_storage_fails_within_its_deadline(fclient, tmp_path):
    config = f"scheme: s3\nbucket: b\nendpoint: 127.0.0.1:{free_port()}\ninsecure: true\nregion: us-east-1\n"
    dest = tmp_path / "never"
    request = pb.LoadArtifactRequest(input_artifact=artifact(config, f"k-{uuid.uuid4().hex}"), path=str(dest))
    try:
        response = fclient.stub.Load(request, timeout=10)
    except grpc.RpcError as exc:  # the retries outlasted the deadline: gRPC ends the call
        assert exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    else:
        assert not response.success and "unreachable" in response.error.lower() and "Traceback" not in response.error
    assert nothing_beside(dest)
