"""The Python client of a running plugin: ``argo-artifacts call``, the demo, the test kit.

Each call builds the request Argo's driver builds (an ``Artifact`` whose ``plugin`` holds
the configuration and key) and returns the raw response; :meth:`PluginClient.run` turns
one call into a plain dict for the command line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator, Sequence

import grpc

from ..core.units import MiB
from . import artifact_pb2 as pb
from . import artifact_pb2_grpc as pb_grpc
from .servicer import ERROR_KIND_METADATA

#: What Argo's own driver sends per SaveStream message.
SAVE_STREAM_CHUNK = 2 * MiB

#: The gRPC method names, and the short aliases ``argo-artifacts call`` also takes.
METHODS = {
    "Load": "load", "Save": "save", "Delete": "delete", "ListObjects": "list", "IsDirectory": "isdir",
    "OpenStream": "get", "SaveStream": "put", "GetCapabilities": "capabilities",
}


def plugin_error_kind(exc: grpc.RpcError) -> str | None:
    """The kind of error (``bad_configuration``, ``not_found``, ...) when ``exc`` is the
    plugin's own answer to a failed call, None when it is not (a cancellation, a transport
    failure)."""
    trailers = exc.trailing_metadata() if hasattr(exc, "trailing_metadata") else None
    return dict(trailers or ()).get(ERROR_KIND_METADATA)


def artifact(configuration: str, key: str, name: str = "argo-artifact-driver") -> pb.Artifact:
    """The artifact of a request, as Argo's driver sends it."""
    return pb.Artifact(name="artifact", plugin=pb.PluginArtifact(name=name, configuration=configuration, key=key))


class PluginClient:
    """Calls ``artifact.ArtifactService`` on a unix socket; ``timeout`` is each call's
    deadline, ``metadata`` what every call sends besides its request (such as the
    ``traceparent`` of a client's span, as Argo's otelgrpc client sends it)."""

    def __init__(
        self, socket_path: str | Path, timeout: float | None = None, metadata: Sequence[tuple[str, str]] = ()
    ) -> None:
        self.channel = grpc.insecure_channel(f"unix:{socket_path}")
        self.stub = pb_grpc.ArtifactServiceStub(self.channel)
        self.timeout = timeout
        self.metadata = tuple(metadata)

    def __enter__(self) -> "PluginClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until the plugin accepts connections (or raise grpc.FutureTimeoutError)."""
        grpc.channel_ready_future(self.channel).result(timeout=timeout)

    # -- the eight calls, raw responses --------------------------------------------

    def load(self, config: str, key: str, path: str | Path) -> pb.LoadArtifactResponse:
        request = pb.LoadArtifactRequest(input_artifact=artifact(config, key), path=str(path))
        return self.stub.Load(request, timeout=self.timeout, metadata=self.metadata)

    def save(self, config: str, key: str, path: str | Path) -> pb.SaveArtifactResponse:
        request = pb.SaveArtifactRequest(output_artifact=artifact(config, key), path=str(path))
        return self.stub.Save(request, timeout=self.timeout, metadata=self.metadata)

    def delete(self, config: str, key: str) -> pb.DeleteArtifactResponse:
        return self.stub.Delete(pb.DeleteArtifactRequest(artifact=artifact(config, key)), timeout=self.timeout, metadata=self.metadata)

    def list_objects(self, config: str, key: str) -> pb.ListObjectsResponse:
        return self.stub.ListObjects(pb.ListObjectsRequest(artifact=artifact(config, key)), timeout=self.timeout, metadata=self.metadata)

    def is_directory(self, config: str, key: str) -> pb.IsDirectoryResponse:
        return self.stub.IsDirectory(pb.IsDirectoryRequest(artifact=artifact(config, key)), timeout=self.timeout, metadata=self.metadata)

    def capabilities(self) -> pb.GetCapabilitiesResponse:
        return self.stub.GetCapabilities(pb.GetCapabilitiesRequest(), timeout=self.timeout, metadata=self.metadata)

    def open_stream(self, config: str, key: str) -> list[pb.OpenStreamResponse]:
        """Every OpenStream message, in order."""
        return list(self.stub.OpenStream(pb.OpenStreamRequest(artifact=artifact(config, key)), timeout=self.timeout, metadata=self.metadata))

    def stream_bytes(self, config: str, key: str) -> tuple[bytes, str]:
        """(data up to ``is_end``, error), reading the stream as Argo's driver does."""
        data = bytearray()
        for message in self.stub.OpenStream(pb.OpenStreamRequest(artifact=artifact(config, key)), timeout=self.timeout, metadata=self.metadata):
            if message.error:
                return bytes(data), message.error
            if message.is_end:
                break
            data += message.data
        return bytes(data), ""

    def save_stream(self, config: str, key: str, chunks: Iterable[bytes]) -> pb.SaveArtifactResponse:
        """SaveStream: a first frame with the artifact, then one frame per chunk.

        The plugin ends a failed SaveStream with a gRPC status carrying its message (see
        the servicer); that answer is returned as the response the other calls give,
        ``success=false`` and ``error``. Any other failure (the call cancelled by this
        side, a transport error) raises ``grpc.RpcError``."""

        def frames() -> Iterator[pb.SaveStreamArtifactRequest]:
            yield pb.SaveStreamArtifactRequest(output_artifact=artifact(config, key))
            for chunk in chunks:
                yield pb.SaveStreamArtifactRequest(chunk=chunk)

        try:
            return self.stub.SaveStream(frames(), timeout=self.timeout, metadata=self.metadata)
        except grpc.RpcError as exc:
            if plugin_error_kind(exc) is None:
                raise
            return pb.SaveArtifactResponse(success=False, error=exc.details())

    # -- the command line's view -----------------------------------------------------

    def run(self, method: str, configuration: str, key: str, path: str) -> dict[str, Any]:
        """Run one call (a gRPC method name or its alias, see :data:`METHODS`) and return
        its result as a plain dict (``error`` set on failure)."""
        alias = METHODS.get(method, method)
        if alias == "load":
            r = self.load(configuration, key, path)
            return {"success": r.success, "error": r.error}
        if alias == "save":
            r = self.save(configuration, key, path)
            return {"success": r.success, "error": r.error}
        if alias == "delete":
            r = self.delete(configuration, key)
            return {"success": r.success, "error": r.error}
        if alias == "list":
            r = self.list_objects(configuration, key)
            return {"objects": list(r.objects), "error": r.error}
        if alias == "isdir":
            r = self.is_directory(configuration, key)
            return {"is_directory": r.is_directory, "error": r.error}
        if alias == "capabilities":
            return {"supports_save_stream": self.capabilities().supports_save_stream}
        if alias == "get":
            return self._get_to(configuration, key, path)
        if alias == "put":
            return self._put_from(configuration, key, path)
        raise ValueError(f"unknown method {method!r}")

    def _get_to(self, configuration: str, key: str, path: str) -> dict[str, Any]:
        out: BinaryIO = open(path, "wb") if path else sys.stdout.buffer
        size = 0
        try:
            for message in self.stub.OpenStream(
                pb.OpenStreamRequest(artifact=artifact(configuration, key)), timeout=self.timeout, metadata=self.metadata
            ):
                if message.error:
                    return {"bytes": size, "error": message.error}
                if message.is_end:
                    break
                out.write(message.data)
                size += len(message.data)
        finally:
            if path:
                out.close()
        return {"bytes": size, "error": ""}

    def _put_from(self, configuration: str, key: str, path: str) -> dict[str, Any]:
        source: BinaryIO = open(path, "rb") if path else sys.stdin.buffer
        try:
            r = self.save_stream(configuration, key, iter(lambda: source.read(SAVE_STREAM_CHUNK), b""))
        finally:
            if path:
                source.close()
        return {"success": r.success, "error": r.error}
