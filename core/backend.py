"""The backend API: what a storage system must provide, and where it may do better.

This module is the stable, public contract between the plugin and every backend,
built in or published by a third party. A backend turns validated options into an
fsspec filesystem and the root under which artifact keys live. Everything else (Load,
Save, Delete, ListObjects, IsDirectory, OpenStream, SaveStream) is written once in
:mod:`.store` on top of fsspec; the optional hooks below have generic defaults with the
guarantees they document, and a backend overrides one only where its SDK does better.

A backend is one class:

* a subclass of :class:`Backend` (directly or through a mix-in such as
  :class:`RenameOnCommit`), with no abstract method left;
* ``option_spec``: the options it accepts, each an :class:`~.options.Option`;
* ``api_version``: the version of this API it was written for (:data:`API_VERSION`);
* declared as an entry point in the group ``argo_artifact_driver.backends`` whose name
  is the scheme (``webdav = my_package.backend:WebdavBackend``).

The registry checks all of this when the scheme is first used (:func:`api_problems`)
and reports a backend that breaks it for its own scheme only.

Compatibility: within one ``API_VERSION`` nothing below changes incompatibly; new
optional hooks may appear, always with a default that keeps existing backends working.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import threading
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Iterator, Mapping

from .keys import join_key, partial_name
from .options import Option, iter_secret_options, validate_options
from .secrets import Resolved, SecretRef, SecretResolver

if TYPE_CHECKING:  # fsspec is imported lazily at run time
    from fsspec import AbstractFileSystem

    from .config import PluginConfig
    from .registry import BackendRegistry
    from .settings import Settings
    from .store import Store

#: Version of this API. A backend sets ``api_version`` to the version it was written
#: for; the registry refuses a backend whose version this plugin does not support.
API_VERSION = 1
#: Every backend API version this plugin can load.
SUPPORTED_API_VERSIONS = frozenset({1})


class Backend(abc.ABC):
    """One storage system, configured for one ``plugin.configuration``.

    Must provide: :attr:`option_spec`, :meth:`create_filesystem` and :meth:`root`.
    May override: :meth:`validate`, :meth:`describe`, and the hooks
    :meth:`upload_file`, :meth:`download_file`, :meth:`open_writer`, :meth:`open_reader`.

    The plugin builds one instance per distinct configuration and shares it between
    concurrent requests (from several threads): keep no per-request state on ``self``.
    Building an instance must not touch storage or import the storage SDK (start-up is
    on the critical path of every workflow pod, and ``argo-artifacts check`` relies on
    it); do that in :meth:`create_filesystem`, which runs on first use.

    Errors: raise :class:`~.errors.BadConfiguration` for bad options, and let the
    filesystem's own exceptions (``FileNotFoundError``, ``PermissionError``,
    ``ConnectionError``, ...) through; the store translates them into messages that
    name the key and :meth:`describe`. Never put a credential in a message.

    Secret references among the options are resolved through :meth:`secret`; the
    filesystem is rebuilt when a resolved value changes (a rotated secret), so
    :meth:`create_filesystem` may read secrets freely.
    """

    #: The backend API version this class was written for (see :data:`API_VERSION`).
    api_version: ClassVar[int] = API_VERSION
    #: The options this backend accepts, by name (the keys of ``plugin.configuration``
    #: next to ``scheme``). Unknown options are rejected with the closest known name;
    #: each option's ``help`` is shown by ``argo-artifacts check``.
    option_spec: ClassVar[Mapping[str, Option]] = {}
    #: Whether writing a key creates the root (a directory on a file system). Where it
    #: does not (a bucket, a container), a missing root is a configuration error, not an
    #: empty store: see :meth:`ArtifactStore.check_root`.
    root_created_by_writes: ClassVar[bool] = False

    def __init__(
        self, scheme: str, options: Mapping[str, Any], settings: "Settings", secrets: SecretResolver | None = None
    ) -> None:
        """Validate ``options`` against :attr:`option_spec`, then call :meth:`validate`.

        Subclasses rarely need their own ``__init__``; if they do, call this first.
        ``self.options`` then holds every declared option (defaults filled in);
        ``secrets`` resolves secret references (the registry passes its shared one)."""
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
        """Check what :attr:`option_spec` cannot express (formats, relations between
        options); raise :class:`~.errors.BadConfiguration` naming the option and the
        expected form. Runs without network access. Default: nothing to check."""

    @abc.abstractmethod
    def create_filesystem(self) -> "AbstractFileSystem":
        """Build the fsspec filesystem from ``self.options``.

        Called once, on first use, then shared by every request of this configuration
        (from several threads). Import the storage SDK here, not at module level; if it
        is missing, raise :class:`~.errors.BackendUnavailable` saying what to install
        (:func:`~.imports.require` does this). Credentials come from the environment or
        the SDK's own chain, never from a message."""

    @abc.abstractmethod
    def root(self) -> str:
        """The path, in the filesystem's own form, under which keys live (a bucket, a
        directory, a collection). Key ``a/b`` is stored at ``root() + "/a/b"``. Must not
        touch storage."""

    def describe(self) -> str:
        """A short, secret-free name of the store for messages, like ``s3://bucket``.
        Default: ``<scheme>://<root>``."""
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

    def build_store(self, registry: "BackendRegistry") -> "Store":
        """The store that serves requests for this configuration: the generic
        :class:`~.store.ArtifactStore` over this backend's filesystem.
        :class:`CompositeBackend` overrides it to build its parts through ``registry``."""
        from .store import ArtifactStore

        return ArtifactStore(self)

    # -- optional hooks, with generic fsspec defaults --------------------------------
    # Each receives the shared filesystem and full store paths (root included). They are
    # called from worker threads, several at once for a directory artifact.

    def upload_file(self, fs: "AbstractFileSystem", lpath: str, rpath: str, callback: Any = None) -> None:
        """Upload one local file to ``rpath``, replacing what is there.

        Must: publish the object only once it is complete (a reader never sees part of
        it; a failed upload leaves the previous object or nothing). Default:
        ``put_file``, which object stores publish only when the upload completes (s3fs
        aborts its multipart upload on failure). Stores that show partial writes use
        :class:`RenameOnCommit`. ``callback`` is an fsspec callback that raises when the
        call must stop; pass it on so a multipart upload is abandoned between parts."""
        fs.put_file(lpath, rpath, **_callback(callback))

    def download_file(self, fs: "AbstractFileSystem", rpath: str, lpath: str, callback: Any = None) -> None:
        """Download one object to the local file ``lpath`` (a temporary name: the caller
        renames it into place, or removes it on failure). Default: ``get_file``."""
        fs.get_file(rpath, lpath, **_callback(callback))
    def transient_errors(self) -> tuple[type[BaseException], ...]:
        """SDK exceptions for a response body that broke after its request succeeded.

        The SDK's own retries (configured in :meth:`create_filesystem`) cover failed
        requests; core retries a whole-object transfer only for these and for Python's
        ``ConnectionError``/``TimeoutError`` (see :func:`~.errors.is_transient`)."""
        return ()

    def builtin_error(self, exc: BaseException) -> BaseException:
        """The Python builtin an SDK exception stands for (``ConnectionError``,
        ``TimeoutError``...), so that core can word the message; default: ``exc``."""
        return exc

    def check_path(self, rpath: str) -> None:
        """Refuse a store path that leaves :meth:`root` (stores with symbolic links)."""

    @contextlib.contextmanager
    def open_writer(self, fs: "AbstractFileSystem", rpath: str) -> Iterator[BinaryIO]:
        """A writable binary file whose content appears at ``rpath`` only if the block
        exits cleanly; on an exception nothing new is visible at ``rpath`` (SaveStream).

        Must keep memory bounded: data is written as it arrives, never collected whole.
        Default: fsspec's ``autocommit=False`` with commit/discard, which s3fs, gcsfs
        and adlfs implement as a multipart upload completed (or aborted) at the end."""
        f = fs.open(rpath, "wb", autocommit=False, block_size=self.settings.write_block_size)
        try:
            yield f
            f.close()
            f.commit()
        except BaseException:
            self.abandon_writer(f)
            raise

    def abandon_writer(self, f: Any) -> None:
        """Throw away a file from :meth:`open_writer` whose content must not be published.
        Default: fsspec's ``discard`` (abort the multipart upload), never ``close``."""
        _discard(f)

    def open_reader(self, fs: "AbstractFileSystem", rpath: str) -> contextlib.AbstractContextManager:
        """A context manager yielding an object whose ``read(n)`` returns up to ``n``
        bytes (fewer only at the end) of the object at ``rpath`` (OpenStream).

        Must stream: read storage as the caller asks, never the whole object at once,
        and release the connection when the context exits early. Raise
        ``FileNotFoundError`` for a missing key. Default: one streamed GET where the
        filesystem offers ``open_async`` (s3fs, gcsfs, ...), else fsspec's ``open()``
        (ranged reads of ``ARGO_ARTIFACT_DRIVER_READ_BLOCK_SIZE``, or whatever the
        filesystem's own file object does)."""
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




class RenameOnCommit:
    """Mix-in for stores that show a file while it is being written (local disk, SFTP,
    WebDAV): write to a temporary sibling name, then :meth:`publish` it over the key.

    Put it before :class:`Backend` in the bases (``class B(RenameOnCommit, Backend)``).
    A failed write removes the temporary file; the key keeps its previous content."""

    root_created_by_writes = True  # file systems make the directories a write needs

    def publish(self, fs: "AbstractFileSystem", tmp: str, rpath: str) -> None:
        """Move the complete temporary file ``tmp`` over ``rpath``. Default: ``fs.mv``,
        a rename on file systems; override where the store has a better primitive."""
        fs.mv(tmp, rpath)

    def upload_file(self, fs: "AbstractFileSystem", lpath: str, rpath: str, callback: Any = None) -> None:
        with self._temporary_sibling(fs, rpath) as tmp:
            fs.put_file(lpath, tmp, **_callback(callback))

    @contextlib.contextmanager
    def open_writer(self, fs: "AbstractFileSystem", rpath: str) -> Iterator[BinaryIO]:
        with self._temporary_sibling(fs, rpath) as tmp:
            f = fs.open(tmp, "wb")
            try:
                yield f
                f.close()
            except BaseException:
                _abandon(f)  # never let a later close() upload what was written so far
                raise

    @contextlib.contextmanager
    def _temporary_sibling(self, fs: "AbstractFileSystem", rpath: str) -> Iterator[str]:
        parent, _, name = rpath.rpartition("/")
        tmp = join_key(parent, partial_name(name))
        try:
            yield tmp
            self.publish(fs, tmp, rpath)
        except BaseException:
            with contextlib.suppress(Exception):
                fs.rm_file(tmp)
            raise


def api_problems(candidate: Any) -> list[str]:
    """Why ``candidate`` (what an entry point loaded) cannot serve as a backend; empty
    when it can. Third parties may assert ``api_problems(MyBackend) == []`` in tests."""
    if not (isinstance(candidate, type) and issubclass(candidate, Backend)):
        what = candidate.__name__ if isinstance(candidate, type) else f"an instance of {type(candidate).__name__}"
        return [f"{what} is not a subclass of argo_artifact_driver.core.Backend"]
    problems = []
    missing = sorted(getattr(candidate, "__abstractmethods__", ()))
    if missing:
        problems.append(f"{candidate.__name__} does not implement {', '.join(missing)}")
    version = candidate.api_version
    if version not in SUPPORTED_API_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(SUPPORTED_API_VERSIONS))
        problems.append(
            f"{candidate.__name__} needs backend API version {version!r}; this plugin supports {supported}"
        )
    spec = candidate.option_spec
    if not isinstance(spec, Mapping) or not all(isinstance(o, Option) for o in spec.values()):
        problems.append(f"{candidate.__name__}.option_spec must map option names to Option")
    return problems


def _callback(callback: Any) -> dict[str, Any]:
    return {} if callback is None else {"callback": callback}


def _discard(f: Any) -> None:
    """Throw away an uncommitted fsspec file and keep its finaliser from committing it."""
    with contextlib.suppress(Exception):
        f.discard()
    with contextlib.suppress(Exception):
        f.closed = True  # AbstractBufferedFile.__del__ would otherwise close() it


def _abandon(f: Any) -> None:
    """Close a file opened with autocommit without publishing what was written.

    ``discard()`` where the file supports it (webdav4's upload-on-close file); a buffered
    fsspec file is marked closed (its ``close()`` would flush the partial data); any other
    file (a local one) is simply closed."""
    with contextlib.suppress(Exception):
        f.discard()
    if getattr(f, "closed", True):
        return
    from fsspec.spec import AbstractBufferedFile

    if isinstance(f, AbstractBufferedFile):
        f.closed = True
    else:
        with contextlib.suppress(Exception):
            f.close()
