"""The backend API: what a storage system must provide, and where it may do better.

A backend turns validated options into an fsspec filesystem and the root under which
artifact keys live. Everything else (Load, Save, Delete, ListObjects, IsDirectory,
OpenStream, SaveStream) is written once in :mod:`.store` on top of fsspec. The hooks
below have generic defaults; a backend overrides one only where its SDK does better.

Third-party backends subclass :class:`Backend` and declare an entry point in the group
``argo_artifact_driver.backends`` whose name is the scheme (see the README).
"""

from __future__ import annotations

import abc
import contextlib
import threading
import uuid
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Iterator, Mapping

from .options import Option, validate_options

if TYPE_CHECKING:  # fsspec is imported lazily at run time
    from fsspec import AbstractFileSystem

    from .config import PluginConfig
    from .registry import BackendRegistry
    from .settings import Settings
    from .store import ArtifactStore, Store

#: Version of this API. A backend sets ``api_version`` to the version it was written
#: for; the registry refuses a backend whose version this plugin does not support.
API_VERSION = 1
SUPPORTED_API_VERSIONS = frozenset({1})


class Backend(abc.ABC):
    """One storage system, configured for one ``plugin.configuration``.

    Subclasses set :attr:`option_spec` and implement :meth:`create_filesystem` and
    :meth:`root`. Instances are cached and shared between concurrent requests, so they
    must not keep per-request state.
    """

    api_version: ClassVar[int] = API_VERSION
    #: The options this backend accepts; unknown ones are rejected with a suggestion.
    option_spec: ClassVar[Mapping[str, Option]] = {}

    def __init__(self, scheme: str, options: Mapping[str, Any], settings: "Settings") -> None:
        self.scheme = scheme
        self.settings = settings
        self.options = validate_options(scheme, self.option_spec, options)
        self.validate()
        self._fs: AbstractFileSystem | None = None
        self._fs_lock = threading.Lock()

    # -- what every backend provides -------------------------------------------------

    def validate(self) -> None:
        """Check relations between options; raise :class:`~.errors.BadConfiguration`."""

    @abc.abstractmethod
    def create_filesystem(self) -> "AbstractFileSystem":
        """Build the fsspec filesystem. Import the storage SDK here, not at module level."""

    @abc.abstractmethod
    def root(self) -> str:
        """The path, in the filesystem's own form, under which keys live (bucket, directory)."""

    def describe(self) -> str:
        """A short, secret-free name of the store for messages, like ``s3://bucket``."""
        return f"{self.scheme}://{self.root().lstrip('/')}"

    @property
    def filesystem(self) -> "AbstractFileSystem":
        """The filesystem, created on first use and then shared."""
        if self._fs is None:
            with self._fs_lock:
                if self._fs is None:
                    self._fs = self.create_filesystem()
        return self._fs

    def build_store(self, registry: "BackendRegistry") -> "Store":
        """The store that serves requests for this configuration: the generic
        :class:`~.store.ArtifactStore` over this backend's filesystem.
        :class:`CompositeBackend` overrides it to build its parts through ``registry``."""
        from .store import ArtifactStore

        return ArtifactStore(self)

    # -- optional hooks, with generic fsspec defaults --------------------------------

    def upload_file(self, fs: "AbstractFileSystem", lpath: str, rpath: str) -> None:
        """Upload one local file. Default: ``put_file``, which object stores publish
        only when the upload completes (s3fs aborts its multipart upload on failure)."""
        fs.put_file(lpath, rpath)

    def download_file(self, fs: "AbstractFileSystem", rpath: str, lpath: str) -> None:
        """Download one object to a local file (the caller renames it into place)."""
        fs.get_file(rpath, lpath)

    @contextlib.contextmanager
    def open_writer(self, fs: "AbstractFileSystem", rpath: str) -> Iterator[BinaryIO]:
        """A writable file whose content appears at ``rpath`` only if the block exits
        cleanly. Default: fsspec's ``autocommit=False`` with commit/discard."""
        f = fs.open(rpath, "wb", autocommit=False, block_size=self.settings.write_block_size)
        try:
            yield f
            f.close()
            f.commit()
        except BaseException:
            _discard(f)
            raise

    def open_reader(self, fs: "AbstractFileSystem", rpath: str) -> contextlib.AbstractContextManager:
        """A context manager yielding an object whose ``read(n)`` returns up to ``n``
        bytes (fewer only at the end). Default: one streamed GET where the filesystem
        offers ``open_async``, else fsspec's buffered file."""
        from .streams import open_streaming_reader

        return open_streaming_reader(fs, rpath, self.settings.read_block_size)


class CompositeBackend(Backend):
    """A scheme made of other configured backends (``fallback``), not a storage system.

    Its options hold nested configurations (each a mapping with its own ``scheme``); it
    has no filesystem of its own and serves requests through the store that
    :meth:`build_store` composes from stores the registry builds for those parts.
    """

    @abc.abstractmethod
    def build_store(self, registry: "BackendRegistry") -> "Store":
        """Compose the store from the parts, built with ``registry.store(...)``."""

    def create_filesystem(self) -> "AbstractFileSystem":
        raise TypeError(f"scheme '{self.scheme}' is composed of other stores and has no filesystem of its own")

    def root(self) -> str:
        return ""

    def part(self, name: str) -> "PluginConfig":
        """The nested configuration in option ``name``; raises BadConfiguration naming it."""
        from .config import config_from_mapping

        return config_from_mapping(self.options[name], where=f"'{name}' of scheme '{self.scheme}'")


#: Marks the temporary name a :class:`RenameOnCommit` store writes under; such files are
#: uploads in progress (or left by a killed writer), never artifacts.
PARTIAL_MARKER = ".partial-"


def is_partial_name(path: str) -> bool:
    """Whether ``path`` is the temporary sibling of a write in progress."""
    name = path.rstrip("/").rpartition("/")[2]
    return name.startswith(".") and PARTIAL_MARKER in name


class RenameOnCommit:
    """Mix-in for stores that show a file while it is being written (local disk, SFTP):
    write to a temporary sibling name, then move it over the key."""

    def upload_file(self, fs: "AbstractFileSystem", lpath: str, rpath: str) -> None:
        with self._temporary_sibling(fs, rpath) as tmp:
            fs.put_file(lpath, tmp)

    @contextlib.contextmanager
    def open_writer(self, fs: "AbstractFileSystem", rpath: str) -> Iterator[BinaryIO]:
        with self._temporary_sibling(fs, rpath) as tmp:
            with fs.open(tmp, "wb") as f:
                yield f

    @staticmethod
    @contextlib.contextmanager
    def _temporary_sibling(fs: "AbstractFileSystem", rpath: str) -> Iterator[str]:
        parent, _, name = rpath.rpartition("/")
        tmp = f"{parent}/.{name}{PARTIAL_MARKER}{uuid.uuid4().hex[:12]}"
        try:
            yield tmp
            fs.mv(tmp, rpath)
        except BaseException:
            with contextlib.suppress(Exception):
                fs.rm_file(tmp)
            raise


def _discard(f: Any) -> None:
    """Throw away an uncommitted fsspec file and keep its finaliser from committing it."""
    with contextlib.suppress(Exception):
        f.discard()
    with contextlib.suppress(Exception):
        f.closed = True  # AbstractBufferedFile.__del__ would otherwise close() it
