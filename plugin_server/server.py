"""The gRPC server on a unix socket, as Argo starts it next to every workflow pod."""

from __future__ import annotations

import logging
import os
import signal
import stat
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ..core.policy import Policy, PolicyError
from ..core.settings import Settings
from ..core.stores import StoreCache
from . import telemetry as telemetry_setup
from .calls import Calls, EdgeObserver
from .servicer import SERVICE_NAME, ArtifactServicer, method_handlers
from .telemetry import NO_TELEMETRY, Telemetry

#: umask around the socket's bind: mode 0666 (read and write for every user, nothing else).
SOCKET_UMASK = 0o111

log = logging.getLogger("argo_artifact_driver")


def limit_malloc_arenas(arenas: int) -> None:
    """Cap glibc's malloc arenas (``MALLOC_ARENA_MAX``) before the server starts threads.

    Does nothing for 0, or where the C library is not glibc. (Upload parts do not go
    through malloc's arenas again and again: their buffers are kept and reused, see
    ``core/multipart.py``; fixing glibc's mmap threshold instead made every fresh buffer
    fault in page by page and cost several times the CPU.)"""
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


class StartupError(SystemExit):
    """The server cannot start; the message is one line, printed as the process exits 1."""

    def __init__(self, message: str) -> None:
        super().__init__(f"argo-artifact-driver: {message}")


#: Longest unix socket path the kernel takes: ``sun_path`` is 108 bytes, one of them the NUL.
MAX_SOCKET_PATH_BYTES = 107


def prepare_socket(path: str) -> str:
    """Check the socket path, create its directory (Argo may create it concurrently) and
    remove a stale socket; any problem stops start-up with one line naming the path.

    Argo waits up to two minutes for the socket before failing the step, so a plugin that
    cannot listen must say why and exit at once rather than leave the pod waiting."""
    path = os.path.abspath(path)
    size = len(os.fsencode(path))
    if size > MAX_SOCKET_PATH_BYTES:
        raise StartupError(
            f"socket path {path} is {size} bytes long; a unix socket path can have at most "
            f"{MAX_SOCKET_PATH_BYTES} (sun_path): use a shorter path (Argo's own, "
            "/tmp/artifact-plugins/NAME/socket, always fits)"
        )
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:  # a file where a directory should be, a read-only file system, ...
        raise StartupError(f"cannot create the socket's directory {directory}: {exc.strerror or exc}") from None
    try:
        mode: int | None = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISSOCK(mode):
        raise StartupError(f"{path} exists and is not a socket; refusing to replace it")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StartupError(f"cannot create the socket in {directory}: the directory is not writable by this user "
                           f"(uid {os.getuid()}); give the volume mounted there write access for it")
    if mode is not None:
        os.unlink(path)  # left by a previous run that did not exit cleanly
    return path


def operator_policy(settings: Settings) -> Policy:
    """The operator's policy for this process (the default one when no file is named); a
    policy that cannot be loaded stops the plugin at once with one line: calls must never
    run with less policy than the operator wrote."""
    try:
        return Policy.load(settings.policy, settings.role)
    except PolicyError as exc:
        raise StartupError(str(exc)) from None


def build_server(
    socket_path: str, stores: StoreCache, settings: Settings, telemetry: Telemetry = NO_TELEMETRY
) -> tuple[grpc.Server, health.HealthServicer, ArtifactServicer]:
    """A started-ready server with the artifact, health and reflection services on the socket."""
    server = grpc.server(
        ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="rpc"),
        options=[
            ("grpc.max_receive_message_length", settings.max_receive_bytes),
            ("grpc.max_send_message_length", settings.max_receive_bytes),
            *_window_options(settings.stream_window_bytes),
        ],
    )
    servicer = ArtifactServicer(stores, settings.save_stream_settle_seconds, calls=Calls(telemetry))
    server.add_generic_rpc_handlers((method_handlers(servicer),))
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    # The socket gets its mode from the umask at bind(), never from a chmod by path
    # afterwards: in a shared, world-writable directory the path could be swapped for a
    # symbolic link between the two, and the chmod would make its target 0666. 0666:
    # Argo's executor, which connects, may run as another user than this container.
    previous = os.umask(SOCKET_UMASK)
    try:
        bound = server.add_insecure_port(f"unix:{socket_path}")  # grpc binds here
    except RuntimeError:  # grpcio raises where older releases returned 0
        bound = 0
    finally:
        os.umask(previous)
    if not bound:
        raise StartupError(f"cannot listen on unix socket {socket_path} (see gRPC's message above)")
    return server, health_servicer, servicer


def serve(socket_path: str, settings: Settings) -> int:
    """Serve until SIGTERM/SIGINT; return the process exit code (0 on a graceful stop)."""
    limit_malloc_arenas(settings.malloc_arenas)
    policy = operator_policy(settings)
    path = prepare_socket(socket_path)
    telemetry = telemetry_setup.from_env(settings, os.environ)
    stores = StoreCache(settings, observer=EdgeObserver(telemetry), policy=policy)
    server, health_servicer, servicer = build_server(path, stores, settings, telemetry)
    server.start()
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if stopping.is_set():  # a second signal: stop at once
            log.info("second signal: stopping now", extra={"fields": {"signal": signum}})
            servicer.abort.set()
            server.stop(0)
            return
        stopping.set()
        log.info("stopping: finishing calls in flight", extra={"fields": {"signal": signum, "grace_seconds": settings.grace_seconds}})
        health_servicer.enter_graceful_shutdown()
        server.stop(settings.grace_seconds)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("listening", extra={"fields": {"socket": path, "workers": settings.workers, "policy": policy.describe()}})
    server.wait_for_termination()
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return _finish(servicer, settings, telemetry)


#: Longest wait for the last spans and metrics to leave when the server stops: a
#: collector that does not answer must not hold up the pod's end.
TELEMETRY_FLUSH_SECONDS = 3.0


def _flush(telemetry: Telemetry) -> None:
    flushing = threading.Thread(target=telemetry.shutdown, name="telemetry-flush", daemon=True)
    flushing.start()
    flushing.join(TELEMETRY_FLUSH_SECONDS)


def _finish(servicer: ArtifactServicer, settings: Settings, telemetry: Telemetry = NO_TELEMETRY) -> int:
    """Stop calls still running after the grace period, give them ``abort_seconds`` to
    throw away what they had written, and exit 0.

    gRPC cannot stop a handler thread; the abort flag makes each call stop at its next
    check (between chunks, parts or objects) and clean up. A thread stuck in a storage
    request past that is abandoned: ``os._exit`` skips the interpreter's join of worker
    threads, which would otherwise wait for it, and the unfinished request publishes
    nothing (an S3 multipart upload left open is removed by the bucket's lifecycle rule).
    """
    servicer.abort.set()
    idle = servicer.calls.wait_idle(settings.abort_seconds)
    log.info("stopped", extra={"fields": {"abandoned_calls": not idle}})
    _flush(telemetry)
    if idle:
        return 0
    for handler in logging.getLogger("argo_artifact_driver").handlers:
        handler.flush()
    os._exit(0)
