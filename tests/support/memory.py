"""A real backend on fsspec's in-process ``memory`` filesystem, for the unit layer.

``MemoryBackend`` implements the contract (nothing stubbed) over :class:`ObjectMemoryFileSystem`,
fsspec's memory filesystem made to keep the one promise of an object store that it does not
keep itself: a file opened with ``autocommit=False`` is visible only once committed (fsspec's
own shows every file from the moment it is opened, like a disk). ``RenamingMemoryBackend``
declares the other write strategy, as file systems do. Every store gets its own root, so the
memory filesystem's process-wide store is never shared between tests.
"""

from __future__ import annotations

import itertools
from typing import Any

from fsspec.implementations.memory import MemoryFile, MemoryFileSystem

from argo_artifact_driver.core.backend import Backend, Option, WriteStrategy
from argo_artifact_driver.core.observe import NO_OBSERVER, Observer
from argo_artifact_driver.core.secrets import SecretResolver
from argo_artifact_driver.core.settings import Settings
from argo_artifact_driver.core.store import ArtifactStore

_roots = itertools.count()


class ObjectMemoryFileSystem(MemoryFileSystem):
    """fsspec's memory filesystem where ``autocommit=False`` writes publish on ``commit()``."""

    def _open(self, path: str, mode: str = "rb", block_size: Any = None, autocommit: bool = True, **kwargs: Any) -> Any:
        if autocommit or "w" not in mode:
            return super()._open(path, mode, block_size=block_size, autocommit=autocommit, **kwargs)
        return MemoryFile(self, self._strip_protocol(path))  # committed by commit(), dropped otherwise


class MemoryBackend(Backend):
    """Keys under ``root`` of an in-process memory filesystem that behaves like an object store."""

    option_spec = {"root": Option(str, required=True, help="where keys live")}

    def create_filesystem(self) -> MemoryFileSystem:
        return ObjectMemoryFileSystem(skip_instance_cache=True)

    def root(self) -> str:
        return self.options["root"]


class MemoryUpload:
    """A :class:`MultipartUpload` into the memory filesystem: parts kept apart, the object
    written only by ``put`` or ``complete`` (as an object store does). Records what it was
    asked to do, for tests to check."""

    min_part_size = 1
    max_parts = 10_000

    def __init__(self, fs: MemoryFileSystem, rpath: str, log: list[tuple[str, Any]]) -> None:
        self.fs, self.rpath, self.log = fs, rpath, log
        self.parts: dict[int, bytes] = {}

    async def put(self, data: bytes | memoryview) -> None:
        self.log.append(("put", len(data)))
        self.fs.pipe_file(self.rpath, bytes(data))

    async def begin(self) -> None:
        self.log.append(("begin", None))

    async def upload_part(self, number: int, data: memoryview) -> int:
        self.log.append(("part", len(data)))
        self.parts[number] = bytes(data)
        return number

    async def complete(self, receipts: list[int]) -> None:
        assert receipts == sorted(self.parts), "receipts out of order"
        self.log.append(("complete", len(receipts)))
        self.fs.pipe_file(self.rpath, b"".join(self.parts[n] for n in receipts))

    async def abort(self) -> None:
        self.log.append(("abort", None))
        self.parts.clear()


class PartsMemoryBackend(MemoryBackend):
    """The object-store memory backend, written in parts (as S3 and Azure are)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.uploads: list[list[tuple[str, Any]]] = []  # one log per upload, in order

    def multipart_upload(self, fs: MemoryFileSystem, rpath: str) -> MemoryUpload:
        log: list[tuple[str, Any]] = []
        self.uploads.append(log)
        return MemoryUpload(fs, rpath, log)


class RenamingMemoryBackend(MemoryBackend):
    """The same store, written the way file systems are (temporary sibling, then rename)."""

    write_strategy = WriteStrategy.RENAME_INTO_PLACE


def new_root() -> str:
    return f"/unit-{next(_roots)}"


def make_store(
    cls: type[Backend] = MemoryBackend, settings: Settings | None = None, observer: Observer = NO_OBSERVER,
    **options: Any,
) -> ArtifactStore:
    options.setdefault("root", new_root())
    settings = settings or Settings()
    return ArtifactStore(cls("memory", options, settings, SecretResolver(secrets_dir="/nonexistent")), observer)


def sizes(store: ArtifactStore, prefix: str = "") -> dict[str, int]:
    """What ``store`` holds at ``prefix`` and below, as {key: size}, from its own listing."""
    return {entry.key: entry.size for entry in store.list_sorted(prefix)}
