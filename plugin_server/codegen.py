"""Regenerate the Python gRPC stubs in this directory from ``proto/artifact.proto``.

The stubs are committed so that installing the plugin needs no code generator;
``tests/test_stubs.py`` regenerates them into a temporary directory and fails when the
committed files no longer match the ``.proto``. Run after editing the contract::

    python -m argo_artifact_driver.plugin_server.codegen

Needs ``grpcio-tools`` (a test dependency, not a runtime one).
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent.parent / "proto"
PROTO_NAME = "artifact.proto"
STUB_DIR = Path(__file__).resolve().parent
STUB_NAMES = ("artifact_pb2.py", "artifact_pb2.pyi", "artifact_pb2_grpc.py")

# protoc writes ``import artifact_pb2`` (a top-level import) into the service module;
# the stubs live inside a package, so that import has to be relative.
_TOP_LEVEL_IMPORT = re.compile(r"^import artifact_pb2 as", re.MULTILINE)


def generate(out_dir: Path, proto_dir: Path = PROTO_DIR) -> list[Path]:
    """Write the three stub files for ``proto_dir/artifact.proto`` into ``out_dir``."""
    from grpc_tools import protoc  # imported here: a dev-only dependency

    with tempfile.TemporaryDirectory() as raw_dir:
        status = protoc.main(
            [
                "protoc",
                f"-I{proto_dir}",
                f"--python_out={raw_dir}",
                f"--pyi_out={raw_dir}",
                f"--grpc_python_out={raw_dir}",
                str(proto_dir / PROTO_NAME),
            ]
        )
        if status != 0:
            raise RuntimeError(f"protoc failed with status {status}")
        written = []
        for name in STUB_NAMES:
            text = (Path(raw_dir) / name).read_text()
            text = _TOP_LEVEL_IMPORT.sub("from . import artifact_pb2 as", text)
            target = out_dir / name
            target.write_text(text)
            written.append(target)
    return written


def main() -> int:
    for path in generate(STUB_DIR):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
