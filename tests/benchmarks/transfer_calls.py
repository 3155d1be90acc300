"""The four calls as a benchmark client makes them, the way Argo's executor does."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from argo_artifact_driver.plugin_server import artifact_pb2 as pb
from argo_artifact_driver.plugin_server.client import PluginClient, artifact

MiB = 1024 * 1024
ARGO_SAVE_CHUNK = 2 * MiB  # what Argo's driver sends per SaveStream message


def file_chunks(path: Path, size: int = ARGO_SAVE_CHUNK) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(size):
            yield chunk


def drain_stream(client: PluginClient, config: str, key: str) -> int:
    """Read an OpenStream to its end and drop the bytes, as a fast client would."""
    n = 0
    for msg in client.stub.OpenStream(pb.OpenStreamRequest(artifact=artifact(config, key)), timeout=3600):
        if msg.error:
            raise RuntimeError(msg.error)
        if msg.is_end:
            return n
        n += len(msg.data)
    raise RuntimeError("OpenStream ended without is_end")


def check(response) -> None:
    if not response.success:
        raise RuntimeError(response.error)


def load(client: PluginClient, config: str, key: str, dest: Path) -> None:
    check(client.stub.Load(pb.LoadArtifactRequest(input_artifact=artifact(config, key), path=str(dest)), timeout=3600))


def save(client: PluginClient, config: str, key: str, src: Path) -> None:
    check(client.stub.Save(pb.SaveArtifactRequest(output_artifact=artifact(config, key), path=str(src)), timeout=3600))


def save_stream(client: PluginClient, config: str, key: str, src: Path) -> None:
    def frames() -> Iterator[pb.SaveStreamArtifactRequest]:
        yield pb.SaveStreamArtifactRequest(output_artifact=artifact(config, key))
        for chunk in file_chunks(src):
            yield pb.SaveStreamArtifactRequest(chunk=chunk)

    check(client.stub.SaveStream(frames(), timeout=3600))
