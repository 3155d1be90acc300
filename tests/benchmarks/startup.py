"""(5) From process start to the first served call, with every backend installed.

Measured from ``Popen`` of the console script to the answer of its first call
(GetCapabilities, then an IsDirectory on ``file`` that loads a backend), against
``python -c "import grpc"`` in the same run; then again with traces and metrics asked
for (``OTEL_EXPORTER_OTLP_ENDPOINT`` set, nothing listening: the exporters start, the
first export fails quietly). ``python -X importtime`` of the server then shows that no
storage SDK, and no OpenTelemetry without the variables, is imported at start-up.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import grpc
from harness import Report, Row, Servers, policy_env

from argo_artifact_driver.plugin_server import artifact_pb2 as pb
from argo_artifact_driver.plugin_server import artifact_pb2_grpc as pb_grpc
from argo_artifact_driver.plugin_server.client import artifact
from argo_artifact_driver.plugin_server.testing.plugin import console_script

TARGET_S = 0.5
SDKS = ("s3fs", "gcsfs", "adlfs", "sshfs", "asyncssh", "botocore", "aiobotocore", "boto3", "azure", "google.cloud",
        "google.auth", "aiohttp", "opentelemetry")
#: Traces and metrics asked for; port 9 answers nothing, as a collector not yet up.
OTEL_ENV = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}


def first_call(work: Path, config: str, run: int, env: dict[str, str] | None = None) -> tuple[float, float]:
    sock = work / "sockets" / f"startup-{run}{'-otel' if env else ''}" / "socket"
    sock.parent.mkdir(parents=True, exist_ok=True)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    start = time.perf_counter()
    proc = subprocess.Popen([console_script("argo-artifact-driver"), str(sock)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, env={**environ, **policy_env(work), **(env or {})})
    try:
        while not sock.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"plugin exited with {proc.returncode}")
            time.sleep(0.002)
        with grpc.insecure_channel(f"unix:{sock}") as channel:
            stub = pb_grpc.ArtifactServiceStub(channel)
            stub.GetCapabilities(pb.GetCapabilitiesRequest(), wait_for_ready=True, timeout=30)
            capabilities = time.perf_counter() - start
            answer = stub.IsDirectory(pb.IsDirectoryRequest(artifact=artifact(config, "x")), timeout=30)
            if answer.error:  # a refusal would be answered before any backend is loaded
                raise RuntimeError(answer.error)
            backend = time.perf_counter() - start
        return capabilities, backend
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def import_grpc() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import grpc"], check=True)
    return time.perf_counter() - start


def sdk_imports(work: Path) -> tuple[list[str], list[tuple[int, str]]]:
    """(storage SDK modules imported by a started server, the 5 slowest imports in µs)."""
    sock = work / "sockets" / "importtime" / "socket"
    sock.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "argo_artifact_driver.plugin_server", str(sock)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    with grpc.insecure_channel(f"unix:{sock}") as channel:
        deadline = time.monotonic() + 30
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        pb_grpc.ArtifactServiceStub(channel).GetCapabilities(pb.GetCapabilitiesRequest(), wait_for_ready=True, timeout=30)
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    found, top = set(), []
    for line in err.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
        if not cumulative.isdigit():
            continue
        if any(name == sdk or name.startswith(sdk + ".") for sdk in SDKS):
            found.add(name.split(".")[0])
        if not line.split("|")[2].startswith("  "):  # a top-level import
            top.append((int(cumulative), name))
    return sorted(found), sorted(top, reverse=True)[:5]


def run(report: Report, servers: Servers, work: Path, repeat: int) -> None:
    config = f"scheme: file\nroot: {work / 'file-store'}\n"
    print(f"(5) start-up, median of {repeat}", flush=True)
    runs = [first_call(work, config, i) for i in range(repeat)]
    base = statistics.median(import_grpc() for _ in range(repeat))
    cap = statistics.median(r[0] for r in runs)
    backend = statistics.median(r[1] for r in runs)
    report.add(Row("5 start-up", "start to first served call (GetCapabilities)", f"{cap:.2f} s",
                   f"python -c 'import grpc' {base:.2f} s", cap / base, f"< {TARGET_S} s", cap < TARGET_S))
    report.add(Row("5 start-up", "start to first IsDirectory on file", f"{backend:.2f} s",
                   f"python -c 'import grpc' {base:.2f} s", backend / base, "(context)", None))
    otel = statistics.median(first_call(work, config, i, OTEL_ENV)[0] for i in range(repeat))
    report.add(Row("5 start-up", "same, traces and metrics on (OTEL_EXPORTER_OTLP_ENDPOINT)", f"{otel:.2f} s",
                   f"without {cap:.2f} s", otel / cap, "(context)", None))
    sdks, top = sdk_imports(work)
    report.add(Row("5 start-up", "storage SDKs imported at start-up", ", ".join(sdks) or "none",
                   "every backend installed", None, "none", not sdks,
                   note="slowest imports: " + ", ".join(f"{n} {us / 1000:.0f} ms" for us, n in top)))
