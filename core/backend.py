"""The backend contract: what a storage system provides, and where it may do better.

This is the one module to read to write a backend, built in or published by a third
party. A backend turns validated options into an fsspec filesystem and the root under
which artifact keys live; the plugin's engine runs every Argo call (Load, Save,
SaveStream, OpenStream, Delete, ListObjects, IsDirectory) on that filesystem, and calls
the optional hooks below where a backend has a better way than the generic one.

A backend is one class:

* a subclass of :class:`Backend` with no abstract method left;
* ``option_spec``: the options it accepts, each an :class:`Option`;
* ``api_version``: the version of this contract it was written for (:data:`API_VERSION`);
* declared as an entry point in the group ``argo_artifact_driver.backends`` whose name is
  the scheme (``webdav = my_package.backend:WebdavBackend``).

The plugin checks all of this when the scheme is first used (:func:`api_problems`) and
reports a backend that breaks it for its own scheme only.

========================  ====================================================================
Declared (class attributes)
----------------------------------------------------------------------------------------------
``api_version``           contract version the class was written for (default: current)
``option_spec``           ``{name: Option}``: what users may write next to ``scheme``
``requires``              the packages of its SDK (:class:`Requirement`: module, extra or install)
``write_strategy``        :class:`WriteStrategy`: how a write is kept invisible until complete
``filesystem_per_thread`` True when the filesystem object cannot be shared between threads
``writer_records_checksum`` True when an upload's checksum is the writer's record (migrate)
========================  ====================================================================
Must provide
----------------------------------------------------------------------------------------------
``create_filesystem()``   the fsspec filesystem, built from ``self.options`` (SDK imported here, with ``sdk()``)
``root()``                where keys live, in the filesystem's path form; no I/O
========================  ====================================================================
May override (each has a default that keeps the guarantees stated on it)
----------------------------------------------------------------------------------------------
``validate()``            checks ``option_spec`` cannot express; no I/O
``describe()``            a short, secret-free name of the store for messages
``endpoints()``           ``host[:port]`` of every server the store sends requests to (policy)
``local_paths()``         local paths the configuration makes the plugin read (policy)
``fsspec_protocols()``    fsspec protocols the store instantiates, nested ones included (policy)
``credential_report()``   where credentials come from, for ``argo-artifacts check --resolve``
``download_file()``       one object into a local file (Load)
``download_memory()``     bytes one download holds while it runs (counted against the memory budget)
``upload_file()``         one local file into one object (Save)
``open_reader()``         a streamed reader of one object (OpenStream)
``open_writer()``         a writer whose content appears only on a clean exit (SaveStream)
``multipart_upload()``    how to send one object as parts (Save and SaveStream, several parts at once)
``abandon_writer()``      throw away a writer's content without publishing it
``publish()``             move a complete temporary file over its key (``RENAME_INTO_PLACE``)
``check_path()``          refuse a store path that leaves the root (stores with links)
``transient_errors()``    SDK errors of a response body that broke after its request succeeded
``builtin_error()``       the Python builtin an SDK exception stands for
========================  ====================================================================
May override for ``argo-artifacts migrate`` (defaults: "not available"; migrate then reads
objects to compare and verify them, and copies through its own process)
----------------------------------------------------------------------------------------------
``list_sorted()``         objects below a path in key order, streamed, only a key range
``checksums()``           what the store keeps of an object's content (md5, sha256, ...)
``object_info()``         one object as the store describes it now (what ``checksums()`` reads)
``upload_part_size()``    the part size its multipart ETags depend on (S3)
``upload_bytes()``        a small object in one request; the store's answer
``can_copy_from()``       whether objects of another configured store can be copied inside
``copy_from()``           copy one object inside the store (no byte through the plugin)
========================  ====================================================================

Compatibility: within one ``API_VERSION`` nothing here changes incompatibly; new optional
hooks may appear, always with a default that keeps existing backends working.
"""

from __future__ import annotations

import abc
import contextlib
import enum
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Iterator, Mapping, Protocol

from .errors import (
    ArtifactError,
    BackendUnavailable,
    BadConfiguration,
    BadRequest,
    Conflict,
    NotFound,
    PermissionDenied,
    StorageUnavailable,
)
from .imports import Requirement, require
from .listing import KeyRange, Listed, walk_sorted
from .options import (
    Option,
    Reach,
    host_port,
    iter_reaching,
    iter_secret_options,
    misplaced,
    name_without_slash,
    secret_ref,
    validate_options,
)
from .secrets import Resolved, SecretRef, SecretResolver

if TYPE_CHECKING:  # fsspec is imported lazily at run time
    from types import ModuleType

    from fsspec import AbstractFileSystem

    from .settings import Settings

__all__ = [
    "API_VERSION",
    "ArtifactError",
    "Backend",
    "BackendUnavailable",
    "BadConfiguration",
    "BadRequest",
    "Conflict",
    "KeyRange",
    "Listed",
    "MultipartUpload",
    "NotFound",
    "Option",
    "PermissionDenied",
    "Reach",
    "RenameOnCommit",
    "Requirement",
    "Resolved",
    "SUPPORTED_API_VERSIONS",
    "SecretRef",
    "SecretSource",
    "StorageUnavailable",
    "WriteStrategy",
    "api_problems",
    "discard_uncommitted",
    "misplaced",
    "name_without_slash",
    "require",
    "secret_ref",
]

#: Version of this contract. A backend sets ``api_version`` to the version it was written
#: for; the plugin refuses a backend whose version it does not support.
API_VERSION = 1
#: Every contract version this plugin can load.
SUPPORTED_API_VERSIONS = frozenset({1})


class WriteStrategy(enum.Enum):
    """How a store keeps a write invisible until it is complete. The engine runs the
    strategy; a backend only declares which one its store needs."""

    #: The store publishes an object only when its upload completes (S3 multipart, GCS
    #: resumable uploads, Azure block lists): write at the key itself.
    ATOMIC_UPLOAD = "atomic upload"
    #: The store shows a file while it is written (disks, SFTP, FTP, WebDAV): write a
    #: temporary sibling ``.NAME.partial-XXXX`` (its parents created first), then
    #: :meth:`Backend.publish` it over the key; a failed write removes the temporary file.
    RENAME_INTO_PLACE = "rename into place"


class SecretSource(Protocol):
    """What resolves secret references for a backend (the plugin passes its own)."""

    def resolve(self, ref: SecretRef) -> Resolved:
        """The current value of ``ref``; raises an :class:`ArtifactError` saying why not."""


class MultipartUpload(Protocol):
    """One object sent as parts that the store puts together (S3 multipart uploads, Azure
    block lists), from :meth:`Backend.multipart_upload`.

    The plugin gathers what it writes into parts of at least :attr:`min_part_size` bytes
    (the last may be shorter), sends several at once within its memory budget, and calls
    these coroutines on the filesystem's event loop (``fs.loop``), in this order only:
    :meth:`put` alone for an object smaller than one part; otherwise :meth:`begin`, then
    :meth:`upload_part` for parts 1, 2, 3, ... (several at once, in any order of
    completion), then :meth:`complete` with every part's receipt in part order, or
    :meth:`abort` once :meth:`begin` ran and the write failed or was called off. Nothing
    may be visible at the key before :meth:`put` or :meth:`complete` returns. Errors are
    raised as the SDK raises them (``builtin_error`` maps them, as for any hook).

    ``data`` is a view of a buffer the plugin reuses for a later part once the coroutine
    has returned: send it without copying it whole where the SDK allows (a file-like body
    over the view), and keep no reference to it afterwards."""

    #: The smallest part the store accepts, but the last (S3: 5 MiB).
    min_part_size: int
    #: The most parts one object may have (S3: 10,000); larger objects get larger parts.
    max_parts: int

    async def put(self, data: bytes | memoryview) -> None:
        """Write the whole object (smaller than one part) in one request."""

    async def begin(self) -> None:
        """Start the upload (S3: CreateMultipartUpload); nothing is visible yet."""

    async def upload_part(self, number: int, data: memoryview) -> Any:
        """Send part ``number`` (from 1); return what :meth:`complete` needs of it."""

    async def complete(self, receipts: list[Any]) -> None:
        """Put the parts together and publish the object at the key."""

    async def abort(self) -> None:
        """Throw the parts away; the key keeps what it had."""


class Backend(abc.ABC):
    """One storage system, configured for one ``plugin.configuration``.

    The plugin builds one instance per distinct configuration and shares it between
    concurrent requests (from several threads): keep no per-request state on ``self``.
    Building an instance must not touch storage or import the storage SDK (start-up is on
    the critical path of every workflow pod, and ``argo-artifacts check`` relies on it);
    do that in :meth:`create_filesystem`, which runs on first use.

    The filesystem is built by the plugin (calling :meth:`create_filesystem`) and passed
    to every hook; it is shared between calls and rebuilt when a secret it was built from
    changes (a rotated credential), so :meth:`create_filesystem` may read secrets freely.

    Errors: raise :class:`BadConfiguration` for bad options, and let the filesystem's own
    exceptions (``FileNotFoundError``, ``PermissionError``, ``ConnectionError``, ... : the
    ``OSError`` family) through; the plugin words them, naming the key and
    :meth:`describe`. Map an SDK's own exception types to those in :meth:`builtin_error`:
    an exception that is not a storage error is treated as a bug in the backend (logged
    with its traceback, answered as an internal error). Never put a credential in a message.
    """

    #: The contract version this class was written for (see :data:`API_VERSION`).
    api_version: ClassVar[int] = API_VERSION
    #: The options this backend accepts, by name (the keys of ``plugin.configuration``
    #: next to ``scheme``). Unknown options are rejected with the closest known name;
    #: each option's ``help`` is shown by ``argo-artifacts check``.
    option_spec: ClassVar[Mapping[str, Option]] = {}
    #: The packages the backend imports (its SDK), each with the extra or command that
    #: installs it. The plugin imports them all when it loads the scheme, so an image
    #: without them fails ``argo-artifacts backends`` and ``check`` naming what to install,
    #: not the first real call; the backend imports their modules with :meth:`sdk`.
    requires: ClassVar[tuple[Requirement, ...]] = ()
    #: How writes stay invisible until complete (may be set per instance in ``validate``).
    write_strategy: WriteStrategy = WriteStrategy.ATOMIC_UPLOAD
    #: True when one filesystem object cannot serve several threads at once (ftplib's
    #: single connection): the plugin then builds one per thread.
    filesystem_per_thread: bool = False
    #: Whether the checksum an object written by the plugin (:meth:`open_writer` or
    #: :meth:`multipart_upload`) shows is the writer's own record (Azure's Content-MD5 of a block upload) rather than one the
    #: store computed from what it received: migrate then reads such a copy back once
    #: to verify it, and compares later runs by that record.
    writer_records_checksum: ClassVar[bool] = False

    def __init__(
        self, scheme: str, options: Mapping[str, Any], settings: "Settings", secrets: SecretSource | None = None
    ) -> None:
        """Validate ``options`` against :attr:`option_spec`, then call :meth:`validate`.

        Subclasses rarely need their own ``__init__``; if they do, call this first.
        ``self.options`` then holds every declared option (defaults filled in) and
        ``self.settings`` the plugin's settings (timeouts, block sizes)."""
        self.scheme = scheme
        self.settings = settings
        self._secrets = secrets if secrets is not None else SecretResolver.from_settings(settings)
        self.options = validate_options(scheme, self.option_spec, options)
        self._secret_refs = dict(iter_secret_options(self.option_spec, self.options))
        self.validate()

    # -- what every backend provides -------------------------------------------------

    def validate(self) -> None:
        """Check what :attr:`option_spec` cannot express (relations between options);
        raise :class:`BadConfiguration` naming the option and the expected form. Runs
        without network access. Default: nothing to check."""

    @abc.abstractmethod
    def create_filesystem(self) -> "AbstractFileSystem":
        """Build the fsspec filesystem from ``self.options``.

        Called on first use, then shared by every request of this configuration (from
        several threads, unless :attr:`filesystem_per_thread`). Import the storage SDK
        here, with :meth:`sdk`, which says what to install when it is missing.
        Credentials come from secret references (:meth:`secret`), the environment or the
        SDK's own chain, never from a message."""

    @abc.abstractmethod
    def root(self) -> str:
        """The path, in the filesystem's own form, under which keys live (a bucket, a
        directory, a collection). Key ``a/b`` is stored at ``root() + "/a/b"``. Must not
        touch storage."""

    def describe(self) -> str:
        """A short, secret-free name of the store for messages, like ``s3://bucket``.
        Default: ``<scheme>://<root>``."""
        return f"{self.scheme}://{self.root().lstrip('/')}"

    def endpoints(self) -> list[str]:
        """``host`` or ``host:port`` of every server this store sends requests to (secrets
        included), for the operator's policy. Default: the values of the options declared
        with ``reaches=Reach.HOST``. Override when the store also reaches a server no
        option names (a default cloud endpoint, a token service)."""
        return [host_port(value) for _, value in iter_reaching(self.option_spec, self.options, Reach.HOST)]

    def local_paths(self) -> list[str]:
        """Local paths the configuration makes the plugin open (a root directory, a key
        file), for the operator's policy. Default: the values of the options declared with
        ``reaches=Reach.LOCAL_PATH``."""
        return [str(value) for _, value in iter_reaching(self.option_spec, self.options, Reach.LOCAL_PATH)]

    def fsspec_protocols(self) -> list[str]:
        """fsspec protocols the configuration makes the plugin instantiate, for the
        operator's policy (``fsspec.protocols``). Default: the values of the options
        declared with ``reaches=Reach.FSSPEC_PROTOCOL``."""
        return [str(value) for _, value in iter_reaching(self.option_spec, self.options, Reach.FSSPEC_PROTOCOL)]

    def credential_report(self) -> list[str]:
        """Secret-free lines saying where this backend's credentials come from, for
        ``argo-artifacts check --resolve``. Resolves every secret reference (raising if
        one is missing); backends add what their SDK would find on its own."""
        lines = []
        for name, ref in self.secret_options():
            resolved = self._secrets.resolve(ref)
            lines.append(f"{name}: {ref}, from {resolved.source} ({resolved.location})")
        return lines

    @classmethod
    def sdk(cls, module: str, scheme: str) -> "ModuleType":
        """Import ``module``, a module of one of the packages declared in :attr:`requires`,
        or raise :class:`BackendUnavailable` saying what to install for ``scheme``.
        Importing an undeclared package is a bug in the backend (``LookupError``)."""
        for requirement in cls.requires:
            if requirement.provides(module):
                return requirement.load(scheme, module)
        raise LookupError(f"{cls.__name__} imports {module!r} but does not declare it in 'requires'")

    # -- secrets -----------------------------------------------------------------------

    def secret_options(self) -> list[tuple[str, SecretRef]]:
        """(dotted option name, reference) of every secret reference in the options."""
        return list(self._secret_refs.items())

    def secret(self, option: str) -> Resolved | None:
        """The resolved value of the secret option ``option`` (dotted for nested ones),
        or None when it is not set."""
        ref = self._secret_refs.get(option)
        return self._secrets.resolve(ref) if ref is not None else None

    # -- transfer hooks, with generic fsspec defaults --------------------------------
    # Each receives the shared filesystem and full store paths (root included). They are
    # called from worker threads, several at once for a directory artifact.

    def download_file(self, fs: "AbstractFileSystem", rpath: str, lpath: str, callback: Any = None) -> None:
        """Download one object to the local file ``lpath`` (a temporary name: the plugin
        renames it into place, or removes it on failure), in bounded memory. ``callback``
        is an fsspec callback that raises when the call must stop: pass it on.

        Default: where the filesystem offers ``open_async`` (s3fs; gcs and azure here), one
        streamed GET written to the file as it arrives, in ``stream_chunk_size`` pieces:
        the fastest path on the stores measured, and flat in memory (s3fs's and gcsfs's own
        ``get_file`` fetch large objects as ranged parts held in memory, up to ten parts of
        50 MiB at once); elsewhere fsspec's ``get_file``."""
        from .streams import download_streaming

        if not download_streaming(fs, rpath, lpath, self.settings.stream_chunk_size, callback):
            fs.get_file(rpath, lpath, **_callback(callback))

    def download_memory(self) -> int:
        """The bytes one :meth:`download_file` holds in memory while it runs; the plugin
        counts them against its memory budget (``TRANSFER_MEMORY``), so a directory of large
        objects moves as many at once as the budget allows. Default: three
        ``STREAM_CHUNK_SIZE`` chunks, what a streamed GET was measured to hold (the chunk,
        the HTTP client's buffer, the socket's). Override where a download holds more."""
        return 3 * self.settings.stream_chunk_size

    def upload_file(self, fs: "AbstractFileSystem", lpath: str, rpath: str, callback: Any = None) -> None:
        """Upload one local file to ``rpath``, replacing what is there.

        With ``ATOMIC_UPLOAD`` the object must appear only once complete (a failed upload
        leaves the previous object or nothing; s3fs aborts its multipart upload); with
        ``RENAME_INTO_PLACE`` ``rpath`` is the temporary name the plugin then publishes.
        ``callback`` raises when the call must stop: pass it on, so a multipart upload is
        abandoned between parts. Default: ``put_file``."""
        fs.put_file(lpath, rpath, **_callback(callback))

    def open_reader(self, fs: "AbstractFileSystem", rpath: str) -> contextlib.AbstractContextManager:
        """A context manager yielding an object whose ``read(n)`` returns up to ``n``
        bytes (fewer only at the end) of the object at ``rpath`` (OpenStream).

        Must stream: read storage as the caller asks, never the whole object at once, and
        release the connection when the context exits early. Raise ``FileNotFoundError``
        for a missing key (``IsADirectoryError`` for a prefix). Default: one streamed GET
        where the filesystem offers ``open_async`` (s3fs, gcsfs, ...), else fsspec's
        ``open()`` (ranged reads of ``ARGO_ARTIFACT_DRIVER_READ_BLOCK_SIZE``)."""
        from .streams import open_streaming_reader

        return open_streaming_reader(fs, rpath, self.settings.read_block_size)

    @contextlib.contextmanager
    def open_writer(self, fs: "AbstractFileSystem", rpath: str, **options: Any) -> Iterator[BinaryIO]:
        """A writable binary file whose content appears at ``rpath`` only if the block
        exits cleanly; on an exception nothing new is visible at ``rpath`` (SaveStream).

        Must keep memory bounded: data is written as it arrives, never collected whole.
        With ``RENAME_INTO_PLACE`` ``rpath`` is a temporary name and the default is a plain
        write; with ``ATOMIC_UPLOAD`` the default is fsspec's ``autocommit=False`` with
        commit/discard, which s3fs, gcsfs and adlfs implement as a multipart upload
        completed (or aborted) at the end. ``options`` go to ``fs.open`` (for an override
        that passes what its filesystem takes)."""
        if self.write_strategy is WriteStrategy.RENAME_INTO_PLACE:
            f = fs.open(rpath, "wb", **options)
            try:
                yield f
                f.close()
            except BaseException:
                self.abandon_writer(f)
                raise
            return
        f = fs.open(rpath, "wb", autocommit=False, block_size=self.settings.write_block_size, **options)
        try:
            yield f
            f.close()
            f.commit()
        except BaseException:
            self.abandon_writer(f)
            raise

    def multipart_upload(self, fs: "AbstractFileSystem", rpath: str) -> MultipartUpload | None:
        """How to send the object at ``rpath`` as parts (see :class:`MultipartUpload`), for a
        store whose objects are put together from parts uploaded independently.

        When it returns an upload, the plugin serves Save and SaveStream with it (not with
        :meth:`upload_file` and :meth:`open_writer`): several parts at once
        (``ARGO_ARTIFACT_DRIVER_UPLOAD_CONCURRENCY``), parts of ``WRITE_BLOCK_SIZE``, every
        part's memory drawn from the process's budget (``TRANSFER_MEMORY``), the upload
        aborted if the call fails or is called off. ``ATOMIC_UPLOAD`` stores only. The
        coroutines run on the filesystem's event loop (``fs.loop``, where an async fsspec
        filesystem's clients live), else on fsspec's shared IO loop. Default: None, the
        store has no parts."""
        return None

    def abandon_writer(self, f: Any) -> None:
        """Throw away a file from :meth:`open_writer` whose content must not be published,
        never calling the ``close()`` that would publish it. Default:
        :func:`discard_uncommitted`."""
        discard_uncommitted(f)

    def publish(self, fs: "AbstractFileSystem", tmp: str, rpath: str) -> None:
        """Move the complete temporary file ``tmp`` over ``rpath`` (``RENAME_INTO_PLACE``
        only). Default: ``fs.mv``, a rename on file systems; override where the store has
        a better primitive (WebDAV: one ``MOVE``)."""
        fs.mv(tmp, rpath)

    def check_path(self, rpath: str) -> None:
        """Refuse (raise :class:`BadRequest`) a store path that leaves :meth:`root`, on
        stores with symbolic links. Default: nothing to check."""

    # -- migrate hooks, with defaults that mean "not available" ---------------------------

    def list_sorted(self, fs: "AbstractFileSystem", rpath: str, keys: KeyRange) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """``(path, info)`` of every object below ``rpath/`` whose path is in ``keys``, in
        key order (the order of Python strings, which is UTF-8 byte order).

        Must stream: memory must not grow with the number of objects (one page of the
        store's listing at a time); where the store can start a listing at a key (S3's
        ``StartAfter``), list only the range. ``info`` carries ``size`` and what
        :meth:`checksums` reads. Default: a walk of ``fs.ls``, one directory at a time,
        each sorted as key order needs, directories outside ``keys`` not listed."""
        return walk_sorted(fs, rpath, keys)

    def checksums(self, info: Mapping[str, Any]) -> dict[str, str]:
        """What the store keeps of an object's content, by algorithm (``md5``, ``sha256``,
        ``md5-of-parts``, ``crc32c``; see :mod:`argo_artifact_driver.core.checksums`), read
        from ``info``: an entry of :meth:`list_sorted`, of ``fs.info``, or the answer of
        :meth:`upload_bytes` or :meth:`copy_from`. Must not make a request; report only
        values the store computed from the bytes it holds (or checked against them).
        Default: none, so migrate reads objects to compare them."""
        return {}

    def object_info(self, fs: "AbstractFileSystem", rpath: str) -> Mapping[str, Any]:
        """The object at ``rpath`` as the store describes it now, one request: ``size`` and
        what :meth:`checksums` reads. Default: ``fs.info``; override where the filesystem's
        info leaves out what :meth:`checksums` needs (s3fs drops S3's encryption and
        checksum headers)."""
        return fs.info(rpath)

    def upload_part_size(self) -> int | None:
        """The size of the parts of a multipart upload the plugin makes, when
        the store's checksum of such an object depends on it (S3's multipart ETag, the
        ``md5-of-parts`` algorithm); None otherwise. Default: None."""
        return None

    def upload_bytes(self, fs: "AbstractFileSystem", rpath: str, data: bytes) -> Mapping[str, Any]:
        """Write ``data`` (at most the write block size) to ``rpath`` in one request where
        the store allows, published whole or not at all (with ``RENAME_INTO_PLACE``,
        ``rpath`` is the temporary name the plugin then publishes); return the store's
        answer for :meth:`checksums`, ``{}`` when it says nothing. Default:
        ``pipe_file``, one request on object stores."""
        return fs.pipe_file(rpath, data) or {}

    def can_copy_from(self, source: "Backend") -> bool:
        """Whether :meth:`copy_from` can copy objects of ``source`` (another configured
        backend) into this store without their bytes passing through the plugin: the same
        endpoint or account, reached with the same credentials. No I/O. Default: False."""
        return False

    def copy_from(
        self, fs: "AbstractFileSystem", source: "Backend", src_rpath: str, rpath: str, listed: Listed
    ) -> Mapping[str, Any]:
        """Copy ``source``'s object at ``src_rpath`` (as its listing described it: ``size``,
        ``checksums``) to ``rpath`` inside the store (S3 CopyObject, GCS rewrite, Azure copy
        from URL), published whole or not at all; return the new object's info for
        :meth:`checksums`. Called only when :meth:`can_copy_from` said so; ``fs`` reaches both."""
        raise NotImplementedError(f"{type(self).__name__} cannot copy objects inside its store")

    # -- error hooks -------------------------------------------------------------------

    def transient_errors(self) -> tuple[type[BaseException], ...]:
        """SDK exceptions for a response body that broke after its request succeeded.

        The SDK's own retries (configured in :meth:`create_filesystem`) cover failed
        requests; the plugin retries a whole-object download only for these and for
        Python's ``ConnectionError``/``TimeoutError``."""
        return ()

    def builtin_error(self, exc: BaseException) -> BaseException:
        """The Python builtin an SDK exception stands for (``FileNotFoundError``,
        ``PermissionError``, ``ConnectionError``, ``TimeoutError``, another ``OSError``), or
        an :class:`ArtifactError`, so that the plugin can word the message. Return ``exc``
        itself for what is not a storage error. Default: ``exc``."""
        return exc


class RenameOnCommit:
    """Declares ``write_strategy = RENAME_INTO_PLACE``; kept so that backends written with
    the mix-in (``class B(RenameOnCommit, Backend)``) keep working. New backends set
    :attr:`Backend.write_strategy` instead."""

    write_strategy = WriteStrategy.RENAME_INTO_PLACE


def api_problems(candidate: Any) -> list[str]:
    """Why ``candidate`` (what an entry point loaded) cannot serve as a backend; empty
    when it can. Third parties may assert ``api_problems(MyBackend) == []`` in tests."""
    if not (isinstance(candidate, type) and issubclass(candidate, Backend)):
        what = candidate.__name__ if isinstance(candidate, type) else f"an instance of {type(candidate).__name__}"
        return [f"{what} is not a subclass of argo_artifact_driver.core.backend.Backend"]
    problems = []
    missing = sorted(getattr(candidate, "__abstractmethods__", ()))
    if missing:
        problems.append(f"{candidate.__name__} does not implement {', '.join(missing)}")
    version = candidate.api_version
    if version not in SUPPORTED_API_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(SUPPORTED_API_VERSIONS))
        problems.append(f"{candidate.__name__} needs backend API version {version!r}; this plugin supports {supported}")
    spec = candidate.option_spec
    if not isinstance(spec, Mapping) or not all(isinstance(o, Option) for o in spec.values()):
        problems.append(f"{candidate.__name__}.option_spec must map option names to Option")
    requires = candidate.requires
    if not isinstance(requires, tuple) or not all(isinstance(r, Requirement) for r in requires):
        problems.append(f"{candidate.__name__}.requires must be a tuple of Requirement")
    if not isinstance(candidate.write_strategy, WriteStrategy):
        problems.append(f"{candidate.__name__}.write_strategy must be a WriteStrategy")
    return problems


def discard_uncommitted(f: Any) -> None:
    """Throw away an fsspec file opened for writing without publishing what was written:
    ``discard()`` where the file has it (an uncommitted multipart upload, webdav4's
    upload-on-close file), and the file marked closed so that no finaliser's ``close()``
    uploads it; any other file (a local one) is closed."""
    with contextlib.suppress(Exception):
        f.discard()
    if getattr(f, "closed", True):
        return
    from fsspec.spec import AbstractBufferedFile

    if isinstance(f, AbstractBufferedFile):
        f.closed = True  # AbstractBufferedFile.__del__ would otherwise close() it
    else:
        with contextlib.suppress(Exception):
            f.close()


def _callback(callback: Any) -> dict[str, Any]:
    return {} if callback is None else {"callback": callback}
