"""The gRPC server on a unix socket, as Argo starts it next to every workflow pod."""

from __future__ import annotations

import logging
import os
import signal
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ..core.service import ArtifactService
from . import artifact_pb2 as pb
from .servicer import ArtifactServicer, add_to_server

log = logging.getLogger("argo_artifact_driver")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ArtifactService"].full_name
MiB = 1024 * 1024


@dataclass(frozen=True)
class ServerOptions:
    """Server tunables; each is read from ``ARGO_ARTIFACT_DRIVER_<NAME>``."""

    # Concurrent RPCs being served; each streaming call holds one thread while it runs.
    workers: int = 32
    # Seconds in-flight calls get to finish after SIGTERM. Kubernetes kills a container
    # 30 s after SIGTERM by default; 25 s leaves time to exit cleanly before that.
    grace_seconds: float = 25.0
    # Largest message accepted: Argo sends 2 MiB SaveStream chunks; leave headroom for
    # clients that send up to Go's 4 MiB default.
    max_receive_bytes: int = 8 * MiB
    # After a SaveStream's last frame, how long to wait for a cancellation that gRPC
    # Python may deliver late, before publishing the object (see servicer.SettledStream).
    save_stream_settle_seconds: float = 0.2
    # When the server stops at once (second signal, or the grace period is over), how
    # long calls still running get to clean up (abort multipart uploads, remove
    # temporary files) before the process exits anyway.
    abort_seconds: float = 5.0
    # HTTP/2 flow-control window of one stream, in bytes: how much a client may send
    # before the plugin has taken it (0: gRPC's own tuning, which lets the window grow
    # with the stream: peak RSS of a file SaveStream of 2 GiB measured 106-182 MB with
    # it, 81-85 MB with 4 MiB (as for 256 MiB), at the same speed).
    stream_window_bytes: int = 4 * MiB
    # glibc malloc arenas (0: glibc's default, 8 per core). Every thread that allocates
    # gets its own arena by default, and each keeps the chunk buffers it freed: peak RSS of
    # an S3 SaveStream of 256 MiB measured 169-178 MB with the default, 140-147 MB with 2
    # (132-136 MB with 1), at the same speed.
    malloc_arenas: int = 2

    @classmethod
    def from_env(cls) -> "ServerOptions":
        env = os.environ
        return cls(
            workers=int(env.get("ARGO_ARTIFACT_DRIVER_WORKERS", cls.workers)),
            grace_seconds=float(env.get("ARGO_ARTIFACT_DRIVER_GRACE_SECONDS", cls.grace_seconds)),
            max_receive_bytes=int(env.get("ARGO_ARTIFACT_DRIVER_MAX_RECEIVE_BYTES", cls.max_receive_bytes)),
            save_stream_settle_seconds=float(
                env.get("ARGO_ARTIFACT_DRIVER_SAVE_STREAM_SETTLE_SECONDS", cls.save_stream_settle_seconds)
            ),
            abort_seconds=float(env.get("ARGO_ARTIFACT_DRIVER_ABORT_SECONDS", cls.abort_seconds)),
            malloc_arenas=int(env.get("ARGO_ARTIFACT_DRIVER_MALLOC_ARENAS", cls.malloc_arenas)),
            stream_window_bytes=int(env.get("ARGO_ARTIFACT_DRIVER_STREAM_WINDOW_BYTES", cls.stream_window_bytes)),
        )


def limit_malloc_arenas(arenas: int) -> None:
    """Cap glibc's malloc arenas (``MALLOC_ARENA_MAX``) before the server starts threads.

    Does nothing for 0, or where the C library is not glibc."""
    if arenas <= 0:
        return
    import ctypes

    M_ARENA_MAX = -8  # from glibc's malloc.h
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_ARENA_MAX, arenas)
    except (OSError, AttributeError):  # musl or another libc: leave it be
        pass


def _window_options(window: int) -> list[tuple[str, int]]:
    if window <= 0:
        return []
    # a fixed window instead of bandwidth-delay probing, which grows it without bound
    return [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", window)]


def prepare_socket(path: str) -> str:
    """Create the socket's directory (Argo may create it concurrently) and remove a stale socket."""
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return path
    if not stat.S_ISSOCK(mode):
        raise SystemExit(f"argo-artifact-driver: {path} exists and is not a socket; refusing to replace it")
    os.unlink(path)  # left by a previous run that did not exit cleanly
    return path


def build_server(
    socket_path: str, service: ArtifactService, options: ServerOptions
) -> tuple[grpc.Server, health.HealthServicer, ArtifactServicer]:
    """A started-ready server with the artifact, health and reflection services on the socket."""
    server = grpc.server(
        ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="rpc"),
        options=[
            ("grpc.max_receive_message_length", options.max_receive_bytes),
            ("grpc.max_send_message_length", options.max_receive_bytes),
            *_window_options(options.stream_window_bytes),
        ],
    )
    servicer = ArtifactServicer(service, options.save_stream_settle_seconds)
    add_to_server(servicer, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    if not server.add_insecure_port(f"unix:{socket_path}"):
        raise SystemExit(f"argo-artifact-driver: cannot listen on unix socket {socket_path}")
    return server, health_servicer, servicer


def serve(socket_path: str, service: ArtifactService | None = None, options: ServerOptions | None = None) -> int:
    """Serve until SIGTERM/SIGINT; return the process exit code (0 on a graceful stop)."""
    options = options or ServerOptions.from_env()
    limit_malloc_arenas(options.malloc_arenas)
    path = prepare_socket(socket_path)
    server, health_servicer, servicer = build_server(path, service or ArtifactService(), options)
    server.start()
    # The executor that connects may run as another user than this container; a socket
    # needs write permission to connect, and it lives in the pod's private volume.
    os.chmod(path, 0o666)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if stopping.is_set():  # a second signal: stop at once
            log.info("second signal: stopping now", extra={"fields": {"signal": signum}})
            servicer.abort.set()
            server.stop(0)
            return
        stopping.set()
        log.info("stopping: finishing calls in flight", extra={"fields": {"signal": signum, "grace_seconds": options.grace_seconds}})
        health_servicer.enter_graceful_shutdown()
        server.stop(options.grace_seconds)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("listening", extra={"fields": {"socket": path, "workers": options.workers}})
    server.wait_for_termination()
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return _finish(servicer, options)


def _finish(servicer: ArtifactServicer, options: ServerOptions) -> int:
    """Stop calls still running after the grace period, give them ``abort_seconds`` to
    throw away what they had written, and exit 0.

    gRPC cannot stop a handler thread; the abort flag makes each call stop at its next
    check (between chunks, parts or objects) and clean up. A thread stuck in a storage
    request past that is abandoned: ``os._exit`` skips the interpreter's join of worker
    threads, which would otherwise wait for it, and the unfinished request publishes
    nothing (an S3 multipart upload left open is removed by the bucket's lifecycle rule).
    """
    servicer.abort.set()
    idle = servicer.in_flight.wait_idle(options.abort_seconds)
    log.info("stopped", extra={"fields": {"abandoned_calls": not idle}})
    if idle:
        return 0
    for handler in logging.getLogger("argo_artifact_driver").handlers:
        handler.flush()
    os._exit(0)
