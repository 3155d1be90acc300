"""Argo's own plugin client (``workflow/artifacts/plugin/plugin.go``, v4.1) as Python.

What a workflow author sees depends on how Argo's Go driver talks to the plugin, not only
on what the plugin answers; our own client (:mod:`argo_artifact_driver.plugin_server.client`)
is more forgiving than grpc-go. This one does what ``plugin.go`` does, step by step, and
returns the error text Argo would report (empty on success):

* ``SaveStream``: a first frame with the artifact, then the reader's content in frames of
  2 MiB. The first ``Send`` that fails (grpc-go returns ``io.EOF`` once the server has
  ended the call) stops the upload; Argo then calls ``CloseAndRecv`` and reports its
  *status* error if there is one, else only the ``EOF`` of the send: a response carrying
  ``success=false`` is never looked at on that path.
* ``ListObjects``: grpc-go's default receive limit of 4 MiB (``NewDriver`` sets none).

Errors are worded as ``plugin.go`` words them, with grpc-go's ``rpc error: code = X desc = Y``.
The Go client itself, built from Argo's source, is run against the plugin by a rig beside
the project; these are the behaviours it found, kept as regression tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import grpc

from argo_artifact_driver.core.units import MiB
from argo_artifact_driver.plugin_server import artifact_pb2 as pb
from argo_artifact_driver.plugin_server import artifact_pb2_grpc as pb_grpc
from argo_artifact_driver.plugin_server.client import artifact

#: ``saveStreamChunkSize`` in plugin.go.
SAVE_STREAM_CHUNK = 2 * MiB
#: grpc-go's default receive limit, which Argo's client keeps.
GO_MAX_RECEIVE = 4 * MiB


def go_status(code: grpc.StatusCode, details: str) -> str:
    """A status as grpc-go's ``status.Error`` prints it."""
    name = "Canceled" if code is grpc.StatusCode.CANCELLED else "".join(w.capitalize() for w in code.name.split("_"))
    return f"rpc error: code = {name} desc = {details}"


class ArgoDriver:
    """``plugin.Driver`` of Argo v4.1 for the plugin named ``name`` listening on ``socket_path``."""

    def __init__(self, socket_path: str | Path, name: str = "argo-artifact-driver", timeout: float = 300.0) -> None:
        self.target = f"unix:{socket_path}"
        self.name = name
        self.timeout = timeout
        #: What the last SaveStream saw: the last frame gRPC took before the call ended
        #: (0 = the metadata frame), or None when every frame was sent.
        self.failed_frame: int | None = None

    def save_stream(self, config: str, key: str, content: bytes | Iterable[bytes]) -> str:
        """Upload ``content`` as ``Driver.SaveStream`` does; Argo's error text, or "".

        gRPC Python sends the frames from its own thread and stops taking them from the
        iterator once the call has ended: a frame never taken is a ``Send`` that failed in
        grpc-go. (grpc.aio cannot stand in here: a write that fails replaces the server's
        status with a local INTERNAL one, which grpc-go never does.)"""
        frames = _Frames(pb.SaveStreamArtifactRequest(output_artifact=artifact(config, key, self.name)),
                         (pb.SaveStreamArtifactRequest(chunk=chunk) for chunk in _reads(content)))
        with grpc.insecure_channel(self.target) as channel:
            future = pb_grpc.ArtifactServiceStub(channel).SaveStream.future(iter(frames), timeout=self.timeout)
            try:
                response, status = future.result(), None
            except grpc.RpcError as exc:
                response, status = None, go_status(exc.code(), exc.details())
        self.failed_frame = None if frames.exhausted else frames.taken
        if not frames.exhausted:
            # Send failed; Argo's sendFrame reports CloseAndRecv's error, else the EOF of
            # the send, and never reads the response.
            action = "to send metadata" if frames.taken == 0 else "mid-transfer"
            return f"plugin {self.name} save stream failed {action}: {status or 'EOF'}"
        if status is not None:
            return f"plugin {self.name} save stream failed: {status}"
        if not response.success:
            return f"plugin {self.name} save stream failed: {response.error}"
        return ""

    def list_objects(self, config: str, key: str) -> tuple[list[str], str]:
        """``Driver.ListObjects``: (objects, Argo's error text or "")."""
        options = [("grpc.max_receive_message_length", GO_MAX_RECEIVE)]
        with grpc.insecure_channel(self.target, options=options) as channel:
            stub = pb_grpc.ArtifactServiceStub(channel)
            try:
                response = stub.ListObjects(pb.ListObjectsRequest(artifact=artifact(config, key, self.name)),
                                            timeout=self.timeout)
            except grpc.RpcError as exc:
                return [], f"plugin {self.name} list objects failed: {go_status(exc.code(), exc.details())}"
        if response.error:
            return [], f"plugin {self.name} list objects failed: {response.error}"
        return list(response.objects), ""


class _Frames:
    """The frames of one SaveStream, counting how many gRPC took before the call ended."""

    def __init__(self, first: pb.SaveStreamArtifactRequest, rest: Iterator[pb.SaveStreamArtifactRequest]) -> None:
        self._first, self._rest = first, rest
        self.taken = -1  # index of the last frame taken (0: the metadata frame)
        self.exhausted = False

    def __iter__(self) -> Iterator[pb.SaveStreamArtifactRequest]:
        self.taken = 0
        yield self._first
        for frame in self._rest:
            self.taken += 1
            yield frame
        self.exhausted = True


def _reads(content: bytes | Iterable[bytes]) -> Iterable[bytes]:
    """The reader's content as Argo's loop reads it: ``reader.Read`` into a 2 MiB buffer."""
    if isinstance(content, (bytes, bytearray)):
        view = memoryview(content)
        return (bytes(view[i : i + SAVE_STREAM_CHUNK]) for i in range(0, len(view), SAVE_STREAM_CHUNK))
    return content
