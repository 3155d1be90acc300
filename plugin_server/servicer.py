"""``artifact.ArtifactService``: decode the request, call core, encode the answer.

Errors are mapped once, by :meth:`.calls.Call.fail`: an
:class:`~argo_artifact_driver.core.errors.ArtifactError` becomes its message (Argo shows it
to the user verbatim); anything else is a bug, logged with its traceback and reported as an
internal error without the traceback. Unary calls and OpenStream carry the message in the
response's ``error`` field. A failed SaveStream ends the call with a gRPC status carrying
the message (:data:`STATUS_CODES`): while the client is still sending, that status is the
only answer Argo's Go client reads (see :meth:`ArtifactServicer.SaveStream`). Every call is
told once when it ends (its log line, span and metrics: :mod:`.calls`).
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import grpc

from ..core.deadline import Deadline
from ..core.errors import (
    ArtifactError,
    BackendUnavailable,
    BadConfiguration,
    BadRequest,
    Cancelled,
    Conflict,
    DeadlineExceeded,
    NotFound,
    PermissionDenied,
    RefusedByPolicy,
    SecretUnavailable,
    StorageUnavailable,
)
from ..core.store import Store
from ..core.stores import StoreCache
from . import artifact_pb2 as pb
from .calls import Call, Calls

#: ``artifact.ArtifactService``, as the proto names it.
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ArtifactService"].full_name

#: The largest message Argo's client can receive: its ``plugin.NewDriver`` sets no
#: ``MaxCallRecvMsgSize``, so grpc-go's default applies to the encoded message.
ARGO_CLIENT_MAX_RECEIVE_BYTES = 4 * 1024 * 1024

#: The gRPC status a failed SaveStream ends with, by error class (the nearest class in the
#: exception's MRO wins; anything else is INTERNAL).
STATUS_CODES: dict[type[BaseException], grpc.StatusCode] = {
    BadRequest: grpc.StatusCode.INVALID_ARGUMENT,
    BadConfiguration: grpc.StatusCode.INVALID_ARGUMENT,  # the configuration is part of the request
    RefusedByPolicy: grpc.StatusCode.PERMISSION_DENIED,  # valid, but not allowed by the operator's policy
    SecretUnavailable: grpc.StatusCode.FAILED_PRECONDITION,  # a secret the cluster does not (yet) have
    BackendUnavailable: grpc.StatusCode.FAILED_PRECONDITION,  # the image lacks the scheme's extra
    Conflict: grpc.StatusCode.FAILED_PRECONDITION,
    NotFound: grpc.StatusCode.NOT_FOUND,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    StorageUnavailable: grpc.StatusCode.UNAVAILABLE,
    DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
    Cancelled: grpc.StatusCode.CANCELLED,
}

#: Trailing metadata of a SaveStream that failed: the error's kind, so that a client can
#: tell the plugin's own answer from a failure of the transport (:mod:`.client` does).
ERROR_KIND_METADATA = "argo-artifact-driver-error-kind"


def status_code(exc: BaseException) -> grpc.StatusCode:
    """The gRPC status for a failure (see :data:`STATUS_CODES`)."""
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return grpc.StatusCode.INTERNAL


def _unary(response_type: type) -> Callable:
    """Wrap a unary handler: time it, log it, and turn any failure into ``error`` on the response."""

    def decorate(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def wrapper(self: "ArtifactServicer", request: Any, context: grpc.ServicerContext) -> Any:
            call = self.calls.begin(handler.__name__, context)
            try:
                with call.current():
                    return handler(self, request, call, self.deadline(context))
            except Exception as exc:
                return response_type(error=call.fail(exc))
            finally:
                self.calls.end(call)

        return wrapper

    return decorate


def encode_data_message(chunk: bytes) -> bytes:
    """``OpenStreamResponse(data=chunk)`` in its wire form, byte for byte what protobuf
    writes (field 1, length-delimited; proto3 leaves the defaults out).

    Building the message and serialising it copies the chunk twice and took as long as
    the transport itself (0.8 ms per MiB measured here); this is one copy."""
    size, head = len(chunk), bytearray(b"\x0a")
    while size > 0x7F:
        head.append((size & 0x7F) | 0x80)
        size >>= 7
    head.append(size)
    return bytes(head) + chunk


def decode_save_stream_frame(data: bytes) -> pb.SaveStreamArtifactRequest | memoryview:
    """A SaveStream frame: a frame holding only a chunk (every frame after the first, as
    Argo sends them) becomes a view of the chunk inside the received bytes; any other is
    parsed by protobuf. Parsing copies the chunk out of the frame: one 2 MiB copy per
    frame, the same cost :func:`encode_data_message` saves on the way out."""
    if data[:1] == b"\x12":  # field 2 (chunk), length-delimited, first and alone
        size, shift, pos = 0, 0, 1
        while pos < len(data) and shift < 64:
            byte = data[pos]
            size |= (byte & 0x7F) << shift
            pos += 1
            shift += 7
            if not byte & 0x80:
                if pos + size == len(data):
                    return memoryview(data)[pos:]
                break
    return pb.SaveStreamArtifactRequest.FromString(data)


def method_handlers(servicer: "ArtifactServicer") -> grpc.GenericRpcHandler:
    """The eight methods of ``artifact.ArtifactService``, built with grpc's public API.

    OpenStream's data messages arrive from the servicer already encoded (see
    :func:`encode_data_message`) and SaveStream's chunk frames are read in place (see
    :func:`decode_save_stream_frame`); everything else is (de)serialised by protobuf."""
    unary = grpc.unary_unary_rpc_method_handler
    calls = {
        "Load": unary(servicer.Load, pb.LoadArtifactRequest.FromString, pb.LoadArtifactResponse.SerializeToString),
        "Save": unary(servicer.Save, pb.SaveArtifactRequest.FromString, pb.SaveArtifactResponse.SerializeToString),
        "Delete": unary(servicer.Delete, pb.DeleteArtifactRequest.FromString, pb.DeleteArtifactResponse.SerializeToString),
        "ListObjects": unary(
            servicer.ListObjects, pb.ListObjectsRequest.FromString, pb.ListObjectsResponse.SerializeToString
        ),
        "IsDirectory": unary(
            servicer.IsDirectory, pb.IsDirectoryRequest.FromString, pb.IsDirectoryResponse.SerializeToString
        ),
        "GetCapabilities": unary(
            servicer.GetCapabilities, pb.GetCapabilitiesRequest.FromString, pb.GetCapabilitiesResponse.SerializeToString
        ),
        "OpenStream": grpc.unary_stream_rpc_method_handler(
            servicer.OpenStream, pb.OpenStreamRequest.FromString, _serialize_open_stream_response
        ),
        "SaveStream": grpc.stream_unary_rpc_method_handler(
            servicer.SaveStream, decode_save_stream_frame, pb.SaveArtifactResponse.SerializeToString
        ),
    }
    return grpc.method_handlers_generic_handler(SERVICE_NAME, calls)


def _serialize_open_stream_response(message: pb.OpenStreamResponse | bytes) -> bytes:
    return message if isinstance(message, bytes) else message.SerializeToString()


class StreamBroken(Cancelled):
    pass


# How gRPC Python's server marks a pending send of initial metadata (see SettledStream).
try:
    from grpc._server import _SEND_INITIAL_METADATA_TOKEN
except ImportError:  # another gRPC release: SettledStream relies on its settle wait alone
    _SEND_INITIAL_METADATA_TOKEN = None


class ListingTooLarge(ArtifactError):
    """A ListObjects answer larger than Argo's client can receive."""

    kind = "listing_too_large"


class SettledStream:
    """The chunks of a SaveStream, and a check that the client really finished it.

    gRPC Python reports a client that cancels mid-stream (what Argo's driver does when
    its reader fails) as a clean end of stream: the transport's reset ends the pending
    read with "no message", and the cancellation itself arrives as a second event, which
    the server's polling thread may process much later under CPU load (truncated
    artifacts were published here, 22 in 200 cancelled streams with three busy loops
    beside the server, without the measures below). Publishing a truncated artifact is
    the worst outcome, so :meth:`confirm` (called by the store just before it publishes):

    1. sends the call's initial metadata and waits until gRPC has processed that
       operation: its completion is queued after the cancellation's, which the same
       reset produced, so once it is seen a cancellation that happened is known;
    2. only where step 1 cannot be made (a gRPC release that changed the internals it
       reads), waits until ``settle_seconds`` after the last frame for the call to
       terminate. Where the probe works it settles the question alone (the test that
       cancels 200 streams beside busy loops passes with a settle of 0), and waiting
       anyway cost every SaveStream its settle time: 0.2 s of a 256 MiB SaveStream's
       1.2 s on a local disk.
    """

    def __init__(
        self,
        first: pb.SaveStreamArtifactRequest,
        rest: Iterator[pb.SaveStreamArtifactRequest],
        context: grpc.ServicerContext,
        settle_seconds: float,
    ) -> None:
        self._frames = itertools.chain([first], rest)
        self._context = context
        self._settle_seconds = settle_seconds
        self._ended_at: float | None = None
        self._terminated = threading.Event()
        if not context.add_callback(self._terminated.set):
            self._terminated.set()  # already terminated

    def __iter__(self) -> Iterator[bytes | memoryview]:
        for frame in self._frames:
            chunk = frame if isinstance(frame, memoryview) else frame.chunk
            if chunk:
                yield chunk
        self._ended_at = time.monotonic()

    def confirm(self) -> None:
        """Raise :class:`StreamBroken` unless the client ended the stream cleanly."""
        if self._ended_at is None:
            raise StreamBroken("the client ended the stream before it was complete")
        probed = self._cancellation_delivered()
        if probed is False:
            raise StreamBroken("the client ended the stream before it was complete")
        left = 0.0 if probed else self._ended_at + self._settle_seconds - time.monotonic()
        if self._terminated.wait(max(left, 0.0)) or not self._context.is_active():
            raise StreamBroken("the client ended the stream before it was complete")

    def _cancellation_delivered(self, timeout: float = 10.0) -> bool | None:
        """Step 1 of :meth:`confirm`: True when every cancellation that happened has been
        delivered, False when the call is known to be cancelled (or the server is too
        starved to tell), None when there is no probe to make (the settle wait decides)."""
        state = getattr(self._context, "_state", None)
        if state is None or not hasattr(state, "due") or _SEND_INITIAL_METADATA_TOKEN is None:
            return None  # not the gRPC internals this was written for
        try:
            self._context.send_initial_metadata(())
        except grpc.RpcError:
            return False  # gRPC already knows the call was cancelled
        except ValueError:
            return None  # initial metadata already sent: nothing to probe with
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            with state.condition:
                if _SEND_INITIAL_METADATA_TOKEN not in state.due:
                    return True
            time.sleep(0.001)
        return False  # the server is too starved to tell: publish nothing rather than guess


class ArtifactServicer:
    """The eight RPCs of Argo's artifact plugin interface."""

    def __init__(
        self, stores: StoreCache, save_stream_settle_seconds: float = 0.2, abort: threading.Event | None = None,
        calls: Calls | None = None,
    ) -> None:
        self.stores = stores
        self.save_stream_settle_seconds = save_stream_settle_seconds
        #: the time bound of a call whose client sets no (shorter) deadline
        self.call_timeout_seconds = stores.settings.call_timeout_seconds
        #: Set when the server stops at once (second signal, end of the grace period):
        #: every call in flight stops at its next check and publishes nothing.
        self.abort = abort or threading.Event()
        #: The calls in flight, each told once when it ends.
        self.calls = calls or Calls()

    def deadline(self, context: grpc.ServicerContext) -> Deadline:
        """The call's deadline (the client's, if it set one) and its "called off" test."""
        remaining = context.time_remaining()
        cancelled = lambda: self.abort.is_set() or not context.is_active()  # noqa: E731
        bound = self.call_timeout_seconds
        if remaining is None or remaining > bound:  # no deadline set by the client, or a later one
            return Deadline(bound, cancelled, expired=f"the call ran longer than {bound:g} s "
                            "(ARGO_ARTIFACT_DRIVER_CALL_TIMEOUT_SECONDS)")
        return Deadline(remaining, cancelled)

    def _store(self, artifact: pb.Artifact, call: Call) -> Store:
        plugin = artifact.plugin
        call.key = plugin.key
        store = self.stores.served(plugin.configuration)
        # only a built store's scheme: an installed one, never a string a workflow made up
        call.scheme, call.store = store.scheme, store.describe()
        return store

    @_unary(pb.LoadArtifactResponse)
    def Load(self, request: pb.LoadArtifactRequest, call: Call, deadline: Deadline) -> pb.LoadArtifactResponse:
        artifact = request.input_artifact
        call.bytes = self._store(artifact, call).load(artifact.plugin.key, request.path, deadline)
        return pb.LoadArtifactResponse(success=True)

    @_unary(pb.SaveArtifactResponse)
    def Save(self, request: pb.SaveArtifactRequest, call: Call, deadline: Deadline) -> pb.SaveArtifactResponse:
        artifact = request.output_artifact
        call.bytes = self._store(artifact, call).save(request.path, artifact.plugin.key, deadline)
        return pb.SaveArtifactResponse(success=True)

    @_unary(pb.DeleteArtifactResponse)
    def Delete(self, request: pb.DeleteArtifactRequest, call: Call, deadline: Deadline) -> pb.DeleteArtifactResponse:
        self._store(request.artifact, call).delete(request.artifact.plugin.key)
        return pb.DeleteArtifactResponse(success=True)

    @_unary(pb.ListObjectsResponse)
    def ListObjects(self, request: pb.ListObjectsRequest, call: Call, deadline: Deadline) -> pb.ListObjectsResponse:
        store = self._store(request.artifact, call)
        response = pb.ListObjectsResponse(objects=store.list_objects(request.artifact.plugin.key))
        size = response.ByteSize()
        if size > ARGO_CLIENT_MAX_RECEIVE_BYTES:
            # Sent as it is, Argo's client would refuse it with only grpc-go's
            # "received message larger than max"; say what happened and what to do.
            raise ListingTooLarge(
                f"listing {call.key!r} in {store.describe()} found {len(response.objects):,} objects, "
                f"{size:,} bytes as one gRPC message; Argo's plugin client receives at most "
                f"{ARGO_CLIENT_MAX_RECEIVE_BYTES:,} bytes (grpc-go's 4 MiB default), so no answer can reach it: "
                "list a sub-directory of the artifact instead, or save the directory archived (Argo's default "
                "tar.gz archive stores it as one object)"
            )
        return response

    @_unary(pb.IsDirectoryResponse)
    def IsDirectory(self, request: pb.IsDirectoryRequest, call: Call, deadline: Deadline) -> pb.IsDirectoryResponse:
        is_dir = self._store(request.artifact, call).is_directory(request.artifact.plugin.key)
        return pb.IsDirectoryResponse(is_directory=is_dir)

    def GetCapabilities(self, request: pb.GetCapabilitiesRequest, context: grpc.ServicerContext) -> pb.GetCapabilitiesResponse:
        return pb.GetCapabilitiesResponse(supports_save_stream=True)

    def OpenStream(self, request: pb.OpenStreamRequest, context: grpc.ServicerContext) -> Iterator[pb.OpenStreamResponse | bytes]:
        call = self.calls.begin("OpenStream", context)
        chunks: Iterator[bytes] | None = None
        try:
            deadline = self.deadline(context)
            with call.current():  # core's reader captures the call here; nothing yields inside
                chunks = self._store(request.artifact, call).open_stream(request.artifact.plugin.key, deadline)
            for chunk in chunks:
                if not context.is_active():  # the client went away: stop reading storage
                    call.cancel()
                    return
                call.bytes += len(chunk)
                yield encode_data_message(chunk)
        except GeneratorExit:  # gRPC closes the generator when the client cancels
            call.cancel()
            raise
        except Exception as exc:
            yield pb.OpenStreamResponse(error=call.fail(exc))
            return
        finally:
            if chunks is not None:
                chunks.close()  # releases the storage reader even if the client vanished mid-yield
            self.calls.end(call)
        yield pb.OpenStreamResponse(is_end=True)

    def SaveStream(
        self, request_iterator: Iterator[pb.SaveStreamArtifactRequest | memoryview], context: grpc.ServicerContext
    ) -> pb.SaveArtifactResponse:
        """Write the stream; a failure ends the call with a gRPC status carrying the message.

        Not ``success=false`` with status OK: the server may fail while the client is still
        sending (a bad configuration at the first frame, a store error mid-way, a refused
        publish). grpc-go's ``Send`` then returns ``io.EOF``, and Argo's driver, seeing EOF,
        reads the call's status with ``CloseAndRecv`` and never looks at a response: with
        status OK the user saw only "save stream failed mid-transfer: EOF". A status is
        what every client reports, at any size and timing."""
        call = self.calls.begin("SaveStream", context)
        try:
            with call.current():
                return self._save_stream(request_iterator, context, call)
        finally:
            self.calls.end(call)

    def _save_stream(
        self, request_iterator: Iterator[pb.SaveStreamArtifactRequest | memoryview], context: grpc.ServicerContext,
        call: Call,
    ) -> pb.SaveArtifactResponse:
        try:
            first = next(request_iterator, None)
            if not isinstance(first, pb.SaveStreamArtifactRequest) or not first.HasField("output_artifact"):
                raise BadRequest("the first SaveStream message must carry output_artifact")
            store = self._store(first.output_artifact, call)
            stream = SettledStream(first, request_iterator, context, self.save_stream_settle_seconds)
            call.bytes = store.save_stream(
                first.output_artifact.plugin.key, stream, self.deadline(context), before_publish=stream.confirm
            )
        except Exception as exc:
            message = call.fail(exc)
            if not context.is_active():  # nobody is left to answer
                message = "the client ended the stream before it was complete"
                call.cancel(message)
                return pb.SaveArtifactResponse(error=message)
            context.abort_with_status(_Status(status_code(exc), message, ((ERROR_KIND_METADATA, call.outcome),)))
        return pb.SaveArtifactResponse(success=True)


@dataclass(frozen=True)
class _Status(grpc.Status):
    """A status to end a call with (``grpc.Status`` is an interface without a constructor)."""

    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str], ...]
