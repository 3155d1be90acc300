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
import hashlib
import threading
import uuid
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Iterator, Mapping

from .options import Option, iter_secret_options, validate_options
from .secrets import Resolved, SecretRef, SecretResolver

if TYPE_CHECKING:  # fsspec is imported lazily at run time
    from fsspec import AbstractFileSystem

    from .settings import Settings

#: Version of this API. A backend sets ``api_version`` to the version it was written
#: for; the registry refuses a backend whose version this plugin does not support.
API_VERSION = 1
SUPPORTED_API_VERSIONS = frozenset({1})


class Backend(abc.ABC):
    """One storage system, configured for one ``plugin.configuration``.

    Subclasses set :attr:`option_spec` and implement :meth:`create_filesystem` and
    :meth:`root`. Instances are cached and shared between concurrent requests, so they
    must not keep per-request state.

    Secret references among the options are resolved through :meth:`secret`; the
    filesystem is rebuilt when a resolved value changes (a rotated secret), so
    :meth:`create_filesystem` may read secrets freely.
    """

    api_version: ClassVar[int] = API_VERSION
    #: The options this backend accepts; unknown ones are rejected with a suggestion.
    option_spec: ClassVar[Mapping[str, Option]] = {}

    def __init__(
        self, scheme: str, options: Mapping[str, Any], settings: "Settings", secrets: SecretResolver | None = None
    ) -> None:
        self.scheme = scheme
        self.settings = settings
        self.secrets = secrets if secrets is not None else SecretResolver.from_env()
        self.options = validate_options(scheme, self.option_spec, options)
        self._secret_refs = dict(iter_secret_options(self.option_spec, self.options))
        self.validate()
        self._fs: AbstractFileSystem | None = None
        self._fs_fingerprint: str | None = None
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

    def credential_report(self) -> list[str]:
        """Secret-free lines saying where this backend's credentials come from, for
        ``argo-artifacts check --resolve``. Resolves every secret reference (raising if
        one is missing); backends add what their SDK would find on its own."""
        lines = []
        for name, ref in self.secret_options():
            resolved = self.secrets.resolve(ref)
            lines.append(f"{name}: {ref}, from {resolved.source} ({resolved.location})")
        return lines

    # -- secrets -----------------------------------------------------------------------

    def secret_options(self) -> list[tuple[str, SecretRef]]:
        """(dotted option name, reference) of every secret reference in the options."""
        return list(self._secret_refs.items())

    def secret(self, option: str) -> Resolved | None:
        """The resolved value of the secret option ``option`` (dotted for nested ones),
        or None when it is not set."""
        ref = self._secret_refs.get(option)
        return self.secrets.resolve(ref) if ref is not None else None

    def _secrets_fingerprint(self) -> str:
        """A digest of every resolved secret value: it changes when a secret rotates."""
        digest = hashlib.sha256()
        for name in sorted(self._secret_refs):
            digest.update(name.encode() + b"\0" + self.secret(name).value + b"\0")
        return digest.hexdigest()

    @property
    def filesystem(self) -> "AbstractFileSystem":
        """The filesystem, created on first use and shared; rebuilt when a secret it was
        built from has changed (values are re-resolved after the resolver's TTL)."""
        fingerprint = self._secrets_fingerprint() if self._secret_refs else ""
        if self._fs is None or fingerprint != self._fs_fingerprint:
            with self._fs_lock:
                if self._fs is None or fingerprint != self._fs_fingerprint:
                    self._fs = self.create_filesystem()
                    self._fs_fingerprint = fingerprint
        return self._fs

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
        tmp = f"{parent}/.{name}.partial-{uuid.uuid4().hex[:12]}"
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
