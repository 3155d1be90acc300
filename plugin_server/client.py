"""A small client of a running plugin, behind ``argo-artifacts call``."""

from __future__ import annotations

import sys
from typing import Any, BinaryIO, Iterator

import grpc

from . import artifact_pb2 as pb
from . import artifact_pb2_grpc as pb_grpc

CHUNK = 2 * 1024 * 1024  # what Argo's own driver sends per SaveStream message


class PluginClient:
    """Calls ``artifact.ArtifactService`` on a unix socket."""

    def __init__(self, socket_path: str) -> None:
        self.channel = grpc.insecure_channel(f"unix:{socket_path}")
        self.stub = pb_grpc.ArtifactServiceStub(self.channel)

    def __enter__(self) -> "PluginClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.channel.close()

    @staticmethod
    def artifact(configuration: str, key: str) -> pb.Artifact:
        return pb.Artifact(name="cli", plugin=pb.PluginArtifact(name="cli", configuration=configuration, key=key))

    def run(self, method: str, configuration: str, key: str, path: str) -> dict[str, Any]:
        """Run one call and return its result as a plain dict (``error`` set on failure)."""
        art = self.artifact(configuration, key)
        if method == "load":
            r = self.stub.Load(pb.LoadArtifactRequest(input_artifact=art, path=path))
            return {"success": r.success, "error": r.error}
        if method == "save":
            r = self.stub.Save(pb.SaveArtifactRequest(output_artifact=art, path=path))
            return {"success": r.success, "error": r.error}
        if method == "delete":
            r = self.stub.Delete(pb.DeleteArtifactRequest(artifact=art))
            return {"success": r.success, "error": r.error}
        if method == "list":
            r = self.stub.ListObjects(pb.ListObjectsRequest(artifact=art))
            return {"objects": list(r.objects), "error": r.error}
        if method == "isdir":
            r = self.stub.IsDirectory(pb.IsDirectoryRequest(artifact=art))
            return {"is_directory": r.is_directory, "error": r.error}
        if method == "capabilities":
            r = self.stub.GetCapabilities(pb.GetCapabilitiesRequest())
            return {"supports_save_stream": r.supports_save_stream}
        if method == "get":
            return self._get(art, path)
        if method == "put":
            return self._put(art, path)
        raise ValueError(f"unknown method {method!r}")

    def _get(self, art: pb.Artifact, path: str) -> dict[str, Any]:
        out: BinaryIO = open(path, "wb") if path else sys.stdout.buffer
        size = 0
        try:
            for msg in self.stub.OpenStream(pb.OpenStreamRequest(artifact=art)):
                if msg.error:
                    return {"bytes": size, "error": msg.error}
                if msg.is_end:
                    break
                out.write(msg.data)
                size += len(msg.data)
        finally:
            if path:
                out.close()
        return {"bytes": size, "error": ""}

    def _put(self, art: pb.Artifact, path: str) -> dict[str, Any]:
        source: BinaryIO = open(path, "rb") if path else sys.stdin.buffer

        def frames() -> Iterator[pb.SaveStreamArtifactRequest]:
            yield pb.SaveStreamArtifactRequest(output_artifact=art)
            while chunk := source.read(CHUNK):
                yield pb.SaveStreamArtifactRequest(chunk=chunk)

        try:
            r = self.stub.SaveStream(frames())
        finally:
            if path:
                source.close()
        return {"success": r.success, "error": r.error}
