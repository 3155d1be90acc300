"""The plugin as Argo runs it: its console script, a unix socket, a gRPC client."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Iterable, Iterator

import grpc

from .. import artifact_pb2 as pb
from .. import artifact_pb2_grpc as pb_grpc
from .processes import ManagedProcess

MiB = 1024 * 1024


def console_script(name: str) -> str:
    found = shutil.which(name, path=os.path.dirname(sys.executable))
    assert found, f"{name} is not installed next to {sys.executable}"
    return found


class PluginProcess(ManagedProcess):
    """``argo-artifact-driver SOCKET`` started as a separate process.

    ``python``: run the server with this interpreter (another virtualenv) instead of the
    console script installed next to the running one."""

    def __init__(
        self, socket_path: Path, log_dir: Path, env: dict | None = None, name: str = "plugin", python: str | None = None
    ) -> None:
        self.socket_path = socket_path
        if python:
            argv = [python, "-m", "argo_artifact_driver.plugin_server", str(socket_path)]
        else:
            argv = [console_script("argo-artifact-driver"), str(socket_path)]
        super().__init__(name, argv, log_dir, env=env)
        self.wait_until(lambda: socket_path.exists())

    def client(self) -> "Client":
        return Client(self.socket_path)

    def log_records(self) -> list[dict]:
        records = []
        for line in self.output().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                records.append({"unparsed": line})
        return records


def artifact(config: str, key: str) -> "pb.Artifact":
    return pb.Artifact(name="art", plugin=pb.PluginArtifact(name="argo-artifact-driver", configuration=config, key=key))


class Client:
    """Thin helpers over the generated stub; each returns the raw response."""

    def __init__(self, socket_path: Path) -> None:
        self.channel = grpc.insecure_channel(f"unix:{socket_path}")
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stub = pb_grpc.ArtifactServiceStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def load(self, config: str, key: str, path: str | Path):
        return self.stub.Load(pb.LoadArtifactRequest(input_artifact=artifact(config, key), path=str(path)), timeout=300)

    def save(self, config: str, key: str, path: str | Path):
        return self.stub.Save(pb.SaveArtifactRequest(output_artifact=artifact(config, key), path=str(path)), timeout=300)

    def delete(self, config: str, key: str):
        return self.stub.Delete(pb.DeleteArtifactRequest(artifact=artifact(config, key)), timeout=60)

    def list_objects(self, config: str, key: str):
        return self.stub.ListObjects(pb.ListObjectsRequest(artifact=artifact(config, key)), timeout=60)

    def is_directory(self, config: str, key: str):
        return self.stub.IsDirectory(pb.IsDirectoryRequest(artifact=artifact(config, key)), timeout=60)

    def capabilities(self):
        return self.stub.GetCapabilities(pb.GetCapabilitiesRequest(), timeout=10)

    def open_stream(self, config: str, key: str) -> list:
        """Every OpenStream message, in order."""
        return list(self.stub.OpenStream(pb.OpenStreamRequest(artifact=artifact(config, key)), timeout=300))

    def stream_bytes(self, config: str, key: str) -> tuple[bytes, str]:
        """(data up to is_end, error)."""
        data = bytearray()
        for msg in self.stub.OpenStream(pb.OpenStreamRequest(artifact=artifact(config, key)), timeout=300):
            if msg.error:
                return bytes(data), msg.error
            if msg.is_end:
                break
            data += msg.data
        return bytes(data), ""

    def save_stream(self, config: str, key: str, chunks: Iterable[bytes]):
        def frames() -> Iterator:
            yield pb.SaveStreamArtifactRequest(output_artifact=artifact(config, key))
            for chunk in chunks:
                yield pb.SaveStreamArtifactRequest(chunk=chunk)

        return self.stub.SaveStream(frames(), timeout=300)
