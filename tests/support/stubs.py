"""Client stubs compiled from ``proto/artifact.proto`` for this test session.

Built from the contract itself, not imported from the plugin, so the tests talk to the
server the way any other client (Argo's Go driver) would.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path
from types import ModuleType

PROTO_DIR = Path(__file__).resolve().parents[2] / "proto"
_cache: tuple[ModuleType, ModuleType] | None = None


def compiled() -> tuple[ModuleType, ModuleType]:
    """(artifact_pb2, artifact_pb2_grpc) generated into a temporary directory."""
    global _cache
    if _cache is None:
        from grpc_tools import protoc

        out = tempfile.mkdtemp(prefix="artifact-stubs-")
        status = protoc.main(["protoc", f"-I{PROTO_DIR}", f"--python_out={out}", f"--grpc_python_out={out}", str(PROTO_DIR / "artifact.proto")])
        assert status == 0, "protoc failed on proto/artifact.proto"
        sys.path.insert(0, out)
        _cache = (importlib.import_module("artifact_pb2"), importlib.import_module("artifact_pb2_grpc"))
    return _cache
