"""``scheme: file``: artifacts as files under a local (or mounted) directory."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..core.backend import Backend, BadRequest, Option, Reach, WriteStrategy

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem


def _absolute(value: str) -> str | None:
    return None if os.path.isabs(value) else "must be an absolute path"


class FileBackend(Backend):
    """Keys are paths below ``root``; they can never escape it ('..' is refused, and so
    is a path that resolves outside root through a symbolic link).

    Files are written under a temporary name beside their key and renamed into place,
    so a reader never sees half a file.
    """

    option_spec = {
        "root": Option(str, required=True, check=_absolute, reaches=Reach.LOCAL_PATH,
                       help="absolute path of the directory holding artifacts"),
    }
    write_strategy = WriteStrategy.RENAME_INTO_PLACE

    def create_filesystem(self) -> "AbstractFileSystem":
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem(auto_mkdir=True)

    def root(self) -> str:
        return os.path.normpath(self.options["root"])

    def describe(self) -> str:
        return f"file://{self.root()}"

    def check_path(self, rpath: str) -> None:
        """Keys cannot name '..', but a symbolic link placed inside root could still
        lead out of it: refuse any path that resolves outside root."""
        real_root = os.path.realpath(self.root())
        real = os.path.realpath(rpath)
        if os.path.commonpath([real_root, real]) != real_root:
            rel = os.path.relpath(rpath, self.root())
            raise BadRequest(
                f"refusing '{rel}' in {self.describe()}: it resolves outside root through a symbolic link"
            )
