"""The server as Argo runs it: socket handling, signals, reflection, health, start-up."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess, console_script


def test_creates_missing_socket_directory_and_exits_0_on_sigterm(tmp_path):
    sock = tmp_path / "not" / "yet" / "there" / "socket"
    proc = PluginProcess(sock, tmp_path)
    try:
        assert proc.client().capabilities().supports_save_stream is True
    finally:
        proc.signal(signal.SIGTERM)
        assert proc.proc.wait(timeout=30) == 0
    assert not sock.exists()  # removed on the way out


def test_replaces_a_stale_socket(tmp_path):
    sock = tmp_path / "socket"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(sock))
    stale.close()  # the file stays: a socket left by a crashed run
    proc = PluginProcess(sock, tmp_path)
    try:
        assert proc.client().capabilities().supports_save_stream
    finally:
        assert proc.stop() == 0


def test_refuses_to_replace_a_file_that_is_not_a_socket(tmp_path):
    path = tmp_path / "socket"
    path.write_text("precious")
    result = subprocess.run([console_script("argo-artifact-driver"), str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "not a socket" in result.stderr
    assert path.read_text() == "precious"


def test_takes_exactly_one_argument():
    result = subprocess.run([console_script("argo-artifact-driver")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "SOCKET_PATH" in result.stderr
    version = subprocess.run([console_script("argo-artifact-driver"), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.strip().startswith("argo-artifact-driver ")


def test_reflection_lists_the_artifact_service(plugin):
    channel = grpc.insecure_channel(f"unix:{plugin.socket_path}")
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10)
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert {"artifact.ArtifactService", "grpc.health.v1.Health"} <= names
    channel.close()


def test_health_reports_serving(plugin):
    channel = grpc.insecure_channel(f"unix:{plugin.socket_path}")
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ("", "artifact.ArtifactService"):
        assert stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status == health_pb2.HealthCheckResponse.SERVING
    channel.close()


def test_sigterm_lets_a_call_in_flight_finish(tmp_path):
    """A SaveStream still sending when SIGTERM arrives completes, then the server exits 0."""
    proc = PluginProcess(tmp_path / "s" / "socket", tmp_path)
    client = proc.client()
    config = f"scheme: file\nroot: {tmp_path / 'store'}\n"
    sent = []

    def slow_chunks():
        for i in range(10):
            if i == 2:
                proc.signal(signal.SIGTERM)  # mid-upload
            time.sleep(0.1)
            sent.append(i)
            yield b"z" * 1024

    response = client.save_stream(config, "in-flight", slow_chunks())
    assert (response.success, response.error) == (True, "")
    assert (tmp_path / "store" / "in-flight").read_bytes() == b"z" * 10240
    assert proc.proc.wait(timeout=30) == 0


def test_demo_round_trip_command():
    """The README's first command (after install): start, round trip, stop."""
    result = subprocess.run([console_script("argo-artifacts"), "demo", "--once"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERR" not in result.stdout and "loaded files equal the saved ones" in result.stdout


def test_cancelled_save_streams_never_publish_under_load(client, tmp_path):
    """gRPC Python can report a cancelled client stream as a clean end for a few tens of
    milliseconds; without the settle wait some of these would publish a truncated object
    (seen here: 3 in 100 under CPU load)."""
    from concurrent.futures import ThreadPoolExecutor

    root = tmp_path / "store"
    config = f"scheme: file\nroot: {root}\n"

    def broken(i: int) -> None:
        def chunks():
            yield b"a" * 65536
            raise RuntimeError("reader failed")

        try:
            client.save_stream(config, f"k{i}", chunks())
        except Exception:
            pass

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(broken, range(80)))
    published = sorted(p.name for p in root.glob("k*")) if root.exists() else []
    assert published == []
