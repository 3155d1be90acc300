"""The committed stubs match proto/artifact.proto, and the proto matches Argo's wire contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf.descriptor_pb2 import FieldDescriptorProto as F

from argo_artifact_driver.plugin_server import artifact_pb2 as pb
from argo_artifact_driver.plugin_server import codegen

T = {"string": F.TYPE_STRING, "int32": F.TYPE_INT32, "bool": F.TYPE_BOOL, "bytes": F.TYPE_BYTES, "msg": F.TYPE_MESSAGE}

# Argo v4's contract (pkg/apiclient/artifact/artifact.proto): message -> (name, number, type[, repeated])
CONTRACT = {
    "PluginArtifact": [("name", 1, "string"), ("configuration", 2, "string"), ("connection_timeout_seconds", 3, "int32"), ("key", 4, "string")],
    "Artifact": [("name", 1, "string"), ("path", 2, "string"), ("mode", 3, "int32"), ("from", 4, "string"), ("plugin", 5, "msg"),
                 ("optional", 6, "bool"), ("sub_path", 7, "string"), ("recurse_mode", 8, "bool"), ("from_expression", 9, "string"), ("deleted", 10, "bool")],
    "LoadArtifactRequest": [("input_artifact", 1, "msg"), ("path", 2, "string")],
    "LoadArtifactResponse": [("success", 1, "bool"), ("error", 2, "string")],
    "OpenStreamRequest": [("artifact", 1, "msg")],
    "OpenStreamResponse": [("data", 1, "bytes"), ("is_end", 2, "bool"), ("error", 3, "string")],
    "SaveArtifactRequest": [("path", 1, "string"), ("output_artifact", 2, "msg")],
    "SaveArtifactResponse": [("success", 1, "bool"), ("error", 2, "string")],
    "DeleteArtifactRequest": [("artifact", 1, "msg")],
    "DeleteArtifactResponse": [("success", 1, "bool"), ("error", 2, "string")],
    "ListObjectsRequest": [("artifact", 1, "msg")],
    "ListObjectsResponse": [("objects", 1, "string", "repeated"), ("error", 2, "string")],
    "IsDirectoryRequest": [("artifact", 1, "msg")],
    "IsDirectoryResponse": [("is_directory", 1, "bool"), ("error", 2, "string")],
    "SaveStreamArtifactRequest": [("output_artifact", 1, "msg"), ("chunk", 2, "bytes")],
    "GetCapabilitiesRequest": [],
    "GetCapabilitiesResponse": [("supports_save_stream", 1, "bool")],
}

RPCS = {
    "Load": ("LoadArtifactRequest", "LoadArtifactResponse", False, False),
    "OpenStream": ("OpenStreamRequest", "OpenStreamResponse", False, True),
    "Save": ("SaveArtifactRequest", "SaveArtifactResponse", False, False),
    "Delete": ("DeleteArtifactRequest", "DeleteArtifactResponse", False, False),
    "ListObjects": ("ListObjectsRequest", "ListObjectsResponse", False, False),
    "IsDirectory": ("IsDirectoryRequest", "IsDirectoryResponse", False, False),
    "SaveStream": ("SaveStreamArtifactRequest", "SaveArtifactResponse", True, False),
    "GetCapabilities": ("GetCapabilitiesRequest", "GetCapabilitiesResponse", False, False),
}


# The repository's files, not the installed package's: `make test` installs a wheel,
# which carries the stubs but not proto/.
REPO = Path(__file__).resolve().parents[2]


def test_committed_stubs_match_the_proto(tmp_path: Path):
    codegen.generate(tmp_path, proto_dir=REPO / "proto")
    for name in codegen.STUB_NAMES:
        committed = (REPO / "plugin_server" / name).read_text()
        assert (tmp_path / name).read_text() == committed, (
            f"{name} is stale: run python -m argo_artifact_driver.plugin_server.codegen"
        )


@pytest.mark.parametrize("message", sorted(CONTRACT))
def test_field_numbers_and_types(message):
    descriptor = pb.DESCRIPTOR.message_types_by_name[message]
    assert descriptor.full_name == f"artifact.{message}"
    actual = {f.name: (f.number, f.type, f.is_repeated) for f in descriptor.fields}
    expected = {n: (num, T[t], bool(rest)) for n, num, t, *rest in CONTRACT[message]}
    assert actual == expected


def test_service_methods():
    service = pb.DESCRIPTOR.services_by_name["ArtifactService"]
    assert service.full_name == "artifact.ArtifactService"
    actual = {
        m.name: (m.input_type.name, m.output_type.name, m.client_streaming, m.server_streaming)
        for m in service.methods
    }
    assert actual == RPCS


@pytest.mark.parametrize("size", [1, 127, 128, 16383, 16384, 1024 * 1024, 3 * 1024 * 1024 + 5])
def test_pre_encoded_open_stream_data_is_what_protobuf_writes(size):
    """OpenStream sends data messages it encoded itself (one copy instead of two); they
    must be byte for byte the protobuf encoding, so every client decodes them."""
    from argo_artifact_driver.plugin_server.servicer import encode_data_message

    chunk = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    assert encode_data_message(chunk) == pb.OpenStreamResponse(data=chunk).SerializeToString()
    assert pb.OpenStreamResponse.FromString(encode_data_message(chunk)).data == chunk
