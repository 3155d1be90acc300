"""The Argo operations, written once on top of the fsspec filesystem of a backend.

Semantics: a key is an object, or a prefix with objects below ``key/`` (a directory
artifact). Nothing half-done is ever visible: Load writes to a temporary name beside the
target and renames it into place (:mod:`.localfs`); Save and SaveStream follow the
backend's declared :class:`~.backend.WriteStrategy` — an upload the store publishes only
once complete, or a temporary sibling renamed over the key.

Errors: storage errors (the ``OSError`` family, and what a backend's ``builtin_error``
maps to one) become :class:`~.errors.ArtifactError` messages naming the key and the store;
anything else is a bug and travels on untouched, to be logged with its traceback.
"""

from __future__ import annotations

import contextlib
import functools
import os
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterable, Iterator, Mapping, NamedTuple, Protocol

from .backend import WriteStrategy
from .deadline import NO_DEADLINE, Deadline
from .errors import ArtifactError, BadConfiguration, BadRequest, Conflict, NotFound, is_transient, translate
from .fscache import FilesystemCache
from .keys import is_partial_name, join_key, normalize_key, partial_name, relative_member, safe_local_join
from .listing import EVERYTHING, KeyRange, Listed, walk_sorted
from .localfs import load_target, save_source, staged, tree_files
from .multipart import ByteBudget, PartWriter
from .observe import NO_OBSERVER, Observer
from .transfer import RetryPolicy, read_ahead, run_bounded, with_retries, write_behind

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from .backend import Backend

_MAX_LISTED_FAILURES = 5


class Store(Protocol):
    """What the gRPC edge calls: :class:`ArtifactStore`, or a composite's store such as
    :class:`~.fallback.FallbackStore`."""

    scheme: str

    def describe(self) -> str: ...
    def endpoints(self) -> list[str]: ...
    def load(self, key: str, path: str, deadline: Deadline = NO_DEADLINE) -> int: ...
    def open_stream(self, key: str, deadline: Deadline = NO_DEADLINE) -> Iterator[bytes]: ...
    def list_objects(self, key: str) -> list[str]: ...
    def is_directory(self, key: str) -> bool: ...
    def check_root(self) -> None: ...
    def save(self, path: str, key: str, deadline: Deadline = NO_DEADLINE) -> int: ...
    def save_stream(
        self, key: str, chunks: Iterable[bytes], deadline: Deadline = NO_DEADLINE,
        before_publish: Callable[[], None] | None = None,
    ) -> int: ...
    def delete(self, key: str) -> int: ...


class ArtifactStore:
    """Load, Save, SaveStream, OpenStream, Delete, ListObjects, IsDirectory for one backend."""

    def __init__(self, backend: "Backend", observer: Observer = NO_OBSERVER, budget: ByteBudget | None = None) -> None:
        self.backend = backend
        self.settings = backend.settings
        self.observer = observer
        #: Memory for write buffers, shared by every store of the process (see StoreCache).
        self.budget = budget if budget is not None else ByteBudget(self.settings.transfer_memory)
        self.retry_policy = RetryPolicy(attempts=self.settings.transfer_attempts)
        self._filesystems = FilesystemCache(backend, observer)
        self._sdk_transient: tuple[type[BaseException], ...] | None = None

    @property
    def scheme(self) -> str:
        return self.backend.scheme

    @property
    def fs(self) -> "AbstractFileSystem":
        """The backend's filesystem (built on first use, shared between calls)."""
        return self._filesystems.get()

    @property
    def renames_into_place(self) -> bool:
        return self.backend.write_strategy is WriteStrategy.RENAME_INTO_PLACE

    def describe(self) -> str:
        return self.backend.describe()

    def endpoints(self) -> list[str]:
        """The servers this store sends requests to (see :meth:`Backend.endpoints`)."""
        return self.backend.endpoints()

    # -- reads -----------------------------------------------------------------------

    def load(self, key: str, path: str, deadline: Deadline = NO_DEADLINE) -> int:
        """Download the object or directory at ``key`` to ``path``; return bytes written.

        Nothing appears at ``path`` unless every byte arrived before ``deadline``."""
        key = normalize_key(key)
        dest = load_target(path)
        with self._translated(key):
            rpath = self._rpath(key)
            info = self._info(rpath)
            if info is not None and info.get("type") != "directory":
                self.observer.plan("load", objects=1, bytes=_size(info), concurrency=1)
                return self._load_file(key, rpath, dest, deadline, _size(info))
            members = self._members(rpath)
            if not members:
                raise NotFound(f"{self._what(key)} was not found: no object has this key and none is below it")
            self.observer.plan("load", objects=len(members), bytes=sum(m.size for m in members),
                               concurrency=min(self.settings.transfer_concurrency, len(members)))
            return self._load_directory(key, members, dest, deadline)

    def open_stream(self, key: str, deadline: Deadline = NO_DEADLINE) -> Iterator[bytes]:
        """Yield the object's bytes in chunks of ``stream_chunk_size``, read as they go
        (a few chunks ahead of the consumer, so reading and sending overlap)."""
        self.observer.plan("read", chunk_bytes=self.settings.stream_chunk_size,
                           read_ahead_chunks=self.settings.read_ahead_chunks)
        return read_ahead(self._read_chunks(key, deadline), self.settings.read_ahead_chunks)

    def _read_chunks(self, key: str, deadline: Deadline) -> Iterator[bytes]:
        key = normalize_key(key)
        size = self.settings.stream_chunk_size
        with self._translated(key):
            rpath = self._rpath(key)
            try:
                with self.observer.operation("read") as op, self.backend.open_reader(self.fs, rpath) as reader:
                    sent = 0
                    try:
                        while True:
                            deadline.check(f"reading {self._what(key)}")
                            data = reader.read(size)
                            if not data:
                                return
                            sent += len(data)
                            yield data
                    finally:
                        op.note(bytes=sent)
            except (FileNotFoundError, IsADirectoryError):
                if self._members(rpath):
                    raise Conflict(
                        f"{self._what(key)} is a directory artifact; OpenStream reads one object, "
                        f"such as a key listed by ListObjects"
                    ) from None
                raise

    def list_objects(self, key: str) -> list[str]:
        """Every object key below ``key/``, recursively, as full keys, sorted."""
        key = normalize_key(key, allow_empty=True)
        with self._translated(key):
            return [join_key(key, member.rel) for member in self._members(self._rpath(key))]

    def is_directory(self, key: str) -> bool:
        """True when objects exist below ``key/``."""
        key = normalize_key(key, allow_empty=True)
        with self._translated(key):
            rpath = self._rpath(key)
            with self.observer.operation("isdir"):
                return bool(self.fs.isdir(rpath))

    def list_sorted(self, prefix: str = "", keys: KeyRange = EVERYTHING, walk: bool = False) -> Iterator[Listed]:
        """Every object at ``prefix`` or below ``prefix/`` whose key is in ``keys``, in key
        order, streamed (what a migration merges with another store's listing): through
        the backend's ``list_sorted``, or with ``walk`` one directory at a time, each
        sorted here (for servers whose own listing is not in key order).

        Directory markers (empty objects named ``dir/``) and, on stores that write under a
        temporary name, writes in progress are left out; objects whose names no artifact
        key can address are listed with the reason, so that they are reported."""
        prefix = normalize_key(prefix, allow_empty=True)
        with self._translated(prefix):
            root = self._root_path()
            base = self._rpath(prefix)
            fs = self.fs
            fs.invalidate_cache(base)  # a long-lived filesystem may hold an old listing
            if prefix and prefix in keys:
                info = self._info(base)  # an object named exactly like the prefix sorts first
                if info is not None and info.get("type") != "directory":
                    yield self._listed(prefix, info)
            lister = walk_sorted if walk else self.backend.list_sorted
            with self.observer.operation("list") as op:
                count = 0
                for path, info in lister(fs, base, keys.within(root)):
                    count += 1
                    key = relative_member(root, path) if root else path
                    if key is None or (self.renames_into_place and is_partial_name(path)):
                        continue
                    listed = self._listed(key, info)
                    if listed.problem != _MARKER:
                        yield listed
                op.note(objects=count)

    def names_below(self, key: str) -> list[tuple[str, bool]]:
        """``(key, is a directory)`` of each entry one level below ``key/`` (below the root
        for ""), in key order, a directory's key ending with '/': what a shard plan is
        made from."""
        key = normalize_key(key, allow_empty=True)
        with self._translated(key):
            root = self._root_path()
            rpath = self._rpath(key)
            fs = self.fs
            fs.invalidate_cache(rpath)
            try:
                with self.observer.operation("list"):
                    entries = fs.ls(rpath, detail=True)
            except (FileNotFoundError, NotADirectoryError):
                return []
        names = []
        for info in entries:
            path = info["name"].rstrip("/")
            name = relative_member(root, path) if root else path
            if name is None or path == rpath:
                continue
            directory = info.get("type") == "directory"
            names.append((name + "/" if directory else name, directory))
        return sorted(names)

    def stat(self, key: str) -> Listed:
        """The object at ``key`` as the store describes it now (one request)."""
        with self._translated(key):
            rpath = self._rpath(key)
            self.fs.invalidate_cache(rpath)
            with self.observer.operation("info"):
                return self._listed(key, self.backend.object_info(self.fs, rpath))

    def read_bytes(self, key: str, size: int) -> bytes:
        """The whole object at ``key``, listed with ``size`` bytes, through the backend's
        reader (one GET on object stores; s3fs's ``cat_file`` would ask for the size
        first). Up to ``size + 1`` bytes are read, so an object that grew shows it."""
        with self._translated(key), self.observer.operation("get") as op:
            with self.backend.open_reader(self.fs, self._rpath(key)) as reader:
                data = reader.read(size + 1)
            op.note(bytes=len(data))
            return data

    def put_bytes(self, key: str, data: bytes) -> Listed:
        """Write a small object in one request where the store allows, through the write
        strategy (published whole or not at all); return it with the checksums the store
        answered with."""
        with self._translated(key), self.observer.operation("put") as op:
            op.note(bytes=len(data))
            rpath = self._rpath(key)
            if not self.renames_into_place:
                answer = self.backend.upload_bytes(self.fs, rpath, data)
            else:
                with self._temporary_sibling(rpath) as tmp:
                    answer = self.backend.upload_bytes(self.fs, tmp, data)
        return Listed(key, len(data), self.backend.checksums(answer))

    def can_copy_from(self, source: "ArtifactStore") -> bool:
        """Whether :meth:`copy_from` can copy ``source``'s objects inside the store."""
        return self.backend.can_copy_from(source.backend)

    def copy_from(self, source: "ArtifactStore", listed: Listed) -> Listed:
        """Copy ``source``'s object ``listed`` here without its bytes passing through this
        process (see :meth:`can_copy_from`); return the new object as the store describes it."""
        key = listed.key
        with self._translated(key), self.observer.operation("copy") as op:
            op.note(bytes=listed.size)
            info = self.backend.copy_from(self.fs, source.backend, source._rpath(key), self._rpath(key), listed)
            return self._listed(key, info)

    def overlaps(self, other: "ArtifactStore") -> bool:
        """Whether the two stores are the same, or one lies inside the other (a directory
        below the other's root): a migration between them would copy onto its own source."""
        if self.scheme != other.scheme:
            return False
        mine, theirs = self.describe(), other.describe()
        return mine == theirs or mine.startswith(theirs.rstrip("/") + "/") or theirs.startswith(mine.rstrip("/") + "/")

    def check_root(self, must_exist: bool = False) -> None:
        """Raise BadConfiguration when the store's root (its bucket or container) does not
        exist, so that "no such key" can be told from "no such store"; a no-op on stores
        whose writes create the root (file systems), unless ``must_exist`` (a store to
        read from)."""
        if self.renames_into_place and not must_exist:
            return
        with self._translated(""):
            root = self._root_path()
            with self.observer.operation("info"):
                missing = bool(root) and not self.fs.exists(root)
        if missing:
            raise BadConfiguration(f"{self.backend.describe()} does not exist: create it, or fix the configuration")

    # -- writes ----------------------------------------------------------------------

    def save(self, path: str, key: str, deadline: Deadline = NO_DEADLINE) -> int:
        """Upload a file to ``key`` or a directory to ``key/<relative path>``; return bytes."""
        key = normalize_key(key)
        src = save_source(path)
        with self._translated(key):
            rpath = self._rpath(key)
            if os.path.isdir(src):
                return self._save_directory(key, src, rpath, deadline)
            self.observer.plan("save", objects=1, bytes=os.path.getsize(src), concurrency=1)
            return self._upload(src, rpath, deadline, f"saving {self._what(key)}")

    def save_stream(
        self,
        key: str,
        chunks: Iterable[bytes],
        deadline: Deadline = NO_DEADLINE,
        before_publish: Callable[[], None] | None = None,
    ) -> int:
        """Write ``chunks`` to ``key`` as they arrive; nothing is published if they stop short.

        Where writing waits on the network (a store's synchronous writer), chunks are
        written behind the stream (receiving the next one overlaps with writing the last),
        in bounded memory; parts already go out on their own, and a local disk is written
        at once (:meth:`_write_behind`). ``before_publish`` runs once everything is written
        but not yet visible; if it raises, nothing is published (the gRPC edge uses it to
        confirm the client really finished)."""
        key = normalize_key(key)
        what = f"saving {self._what(key)}"
        self.observer.plan("write", block_bytes=self.settings.write_block_size,
                           write_behind_chunks=self.settings.write_behind_chunks)
        with self._translated(key):
            rpath = self._rpath(key)
            with self.observer.operation("write") as op, self._writer(rpath, deadline, what) as f:

                def write(chunk: bytes) -> None:
                    deadline.check(what)
                    f.write(chunk)

                if self._write_behind(f):
                    written = write_behind(write, chunks, self.settings.write_behind_chunks)
                else:
                    written = 0
                    for chunk in chunks:
                        write(chunk)
                        written += len(chunk)
                op.note(bytes=written)
                if before_publish is not None:
                    f.close()  # the last part is written to storage, not yet published
                    before_publish()
                deadline.check(what)  # the writer publishes on leaving this block
        return written

    def delete(self, key: str) -> int:
        """Remove the object at ``key`` and every object below ``key/``; return how many.

        A key that is already gone is a success (artifact GC may run twice)."""
        key = normalize_key(key)
        with self._translated(key):
            rpath = self._rpath(key)
            fs = self.fs
            info = self._info(rpath)
            is_object = info is not None and info.get("type") != "directory"
            members = self._members(rpath)
            with self.observer.operation("delete") as op:
                if members or (info is not None and not is_object):
                    fs.rm(rpath, recursive=True)
                if is_object:
                    with contextlib.suppress(FileNotFoundError):  # a recursive rm may have taken it
                        fs.rm_file(rpath)
                op.note(objects=len(members) + int(is_object))
            return len(members) + int(is_object)

    # -- the write strategies ----------------------------------------------------------

    @contextlib.contextmanager
    def _writer(self, rpath: str, deadline: Deadline, what: str) -> Iterator[BinaryIO]:
        """A writer for ``rpath`` of unknown length: the backend's parts, or its writer
        through its write strategy (holding two write blocks of the memory budget)."""
        upload = self._multipart(rpath)
        if upload is not None:
            with self._parts(upload, None, deadline, what) as f:
                yield f
            return
        with self._held(self._writer_memory(None), deadline, what):
            if not self.renames_into_place:
                with self.backend.open_writer(self.fs, rpath) as f:
                    yield f
                return
            with self._temporary_sibling(rpath) as tmp, self.backend.open_writer(self.fs, tmp) as f:
                yield f

    def _put(self, lpath: str, rpath: str, deadline: Deadline, what: str) -> None:
        """The backend's upload of one file to ``rpath``: as parts, or through its
        ``upload_file`` and write strategy (holding up to two write blocks of the budget)."""
        size = os.path.getsize(lpath)
        upload = self._multipart(rpath)
        if upload is not None:
            with self.observer.operation("put") as op:
                with self._parts(upload, size, deadline, what) as writer, open(lpath, "rb") as f:
                    writer.write_from(f, progress=lambda n: deadline.check(what))
                op.note(bytes=writer.written)
            return
        callback = deadline.progress(what)
        with self._held(self._writer_memory(size), deadline, what):
            if not self.renames_into_place:
                self._upload_file(lpath, rpath, callback)
                return
            with self._temporary_sibling(rpath) as tmp:
                self._upload_file(lpath, tmp, callback)

    def _upload_file(self, lpath: str, rpath: str, callback: Any) -> None:
        with self.observer.operation("put") as op:
            self.backend.upload_file(self.fs, lpath, rpath, callback=callback)
            op.note(bytes=os.path.getsize(lpath))

    def _writer_memory(self, size: int | None) -> int:
        """What a write without parts holds of the budget: two write blocks (the writer's
        buffer, and the HTTP client's copy of it as it is sent), or the object's size if
        smaller. With one block, a GCS directory Save of 32 MiB files peaked at 185 MB."""
        hold = 2 * self.settings.write_block_size
        return hold if size is None else min(size, hold)

    def _write_behind(self, writer: Any) -> bool:
        """Whether a SaveStream should write from a second thread: only where ``write()``
        waits on the network. Parts are sent by the event loop already, and a local disk
        takes a chunk faster than the hand-over between threads costs: on ``file`` the
        second thread cost 0.3 s of CPU per 256 MiB (1.09 s against 0.78 s), measured."""
        if isinstance(writer, PartWriter):
            return False
        protocol = self.fs.protocol
        return not ({"file", "local"} & set(protocol if isinstance(protocol, (tuple, list)) else (protocol,)))

    def _multipart(self, rpath: str) -> Any:
        """The backend's upload in parts for ``rpath``, or None (none, or a store that
        writes under a temporary name)."""
        if self.renames_into_place:
            return None
        return self.backend.multipart_upload(self.fs, rpath)

    @contextlib.contextmanager
    def _parts(self, upload: Any, size: int | None, deadline: Deadline, what: str) -> Iterator[PartWriter]:
        """A :class:`PartWriter` whose object is published when the block exits cleanly
        and the call is still wanted, and aborted otherwise."""
        writer = PartWriter(
            upload, _event_loop(self.fs), part_size=self.settings.write_block_size,
            concurrency=self.settings.upload_concurrency, budget=self.budget, size=size,
            check=functools.partial(deadline.check, what),
        )
        try:
            yield writer
            writer.close()
            deadline.check(what)  # nobody waits for it any more: publish nothing
            writer.commit()
        except BaseException:
            writer.abort()
            raise

    @contextlib.contextmanager
    def _held(self, n: int, deadline: Deadline, what: str) -> Iterator[None]:
        """``n`` bytes of the memory budget, held for the block."""
        held = self.budget.acquire(n, functools.partial(deadline.check, what))
        try:
            yield
        finally:
            self.budget.release(held)

    @contextlib.contextmanager
    def _temporary_sibling(self, rpath: str) -> Iterator[str]:
        """A temporary name beside ``rpath`` (parents created) to write; published over
        ``rpath`` when the block succeeds, removed when it fails."""
        fs = self.fs
        parent, _, name = rpath.rpartition("/")
        _make_directories(fs, parent)
        tmp = join_key(parent, partial_name(name))
        try:
            yield tmp
            with self.observer.operation("publish"):
                if fs.isdir(rpath):  # a rename would move the file *into* that directory
                    raise IsADirectoryError(
                        "it is a directory (a directory artifact is stored there); delete it first to store a file at this key"
                    )
                self.backend.publish(fs, tmp, rpath)
        except BaseException:
            with contextlib.suppress(Exception):
                fs.rm_file(tmp)
            raise

    # -- helpers ---------------------------------------------------------------------

    def _root_path(self) -> str:
        """The backend's root in the filesystem's own path form (no protocol)."""
        return self.fs._strip_protocol(self.backend.root()).rstrip("/")

    def _rpath(self, key: str) -> str:
        rpath = join_key(self._root_path(), key)
        self.backend.check_path(rpath)
        return rpath

    def _transient(self, exc: BaseException) -> bool:
        if self._sdk_transient is None:
            self._sdk_transient = self.backend.transient_errors()
        return is_transient(exc, self._sdk_transient)

    def _download(self, rpath: str, local: str, deadline: Deadline, what: str, size: int | None = None) -> int:
        """One object to one local file, retried whole if its body breaks mid-way (the one
        failure the SDKs' request retries leave to us; see the operations docs).

        It holds what the backend's download keeps in memory from the budget (at most the
        object's ``size``), so a directory of large objects does not run 32 of them at once
        (181 MB peak for 32 files of 32 MiB on S3 before)."""
        hold = self.backend.download_memory()
        if size is not None:
            hold = min(hold, size)

        def attempt() -> int:
            with self.observer.operation("get") as op:
                self.backend.download_file(self.fs, rpath, local, callback=deadline.progress(what))
                size = os.path.getsize(local)
                op.note(bytes=size)
            return size

        with self._held(hold, deadline, what):
            return with_retries(
                attempt, policy=self.retry_policy, transient=self._transient, deadline=deadline, what=what,
                on_retry=self.observer.retry,
            )

    def _upload(self, local: str, rpath: str, deadline: Deadline, what: str) -> int:
        """One local file to one object; published only when complete. Not retried here:
        the SDK's own layer retries failed requests, and a second layer would multiply
        attempts against a failing store."""
        self._put(local, rpath, deadline, what)
        return os.path.getsize(local)

    def _what(self, key: str) -> str:
        return f"key '{key}' in {self.backend.describe()}"

    @contextlib.contextmanager
    def _translated(self, key: str) -> Iterator[None]:
        """Storage errors become messages naming ``key``; anything else is a bug and is
        re-raised as it is (the gRPC edge logs it with its traceback)."""
        try:
            yield
        except ArtifactError:
            raise
        except Exception as exc:
            error = translate(self.backend.builtin_error(exc), self._what(key))
            if error is None:
                raise
            raise error from exc

    def _listed(self, key: str, info: Mapping[str, Any]) -> Listed:
        size = int(info.get("size") or 0)
        if info.get("type") == "link":
            return Listed(key, size, problem="a symbolic link to a directory: not followed (copy its target instead)")
        return Listed(key, size, self.backend.checksums(info), _unaddressable(key, size))

    def _info(self, rpath: str) -> dict | None:
        fs = self.fs
        with self.observer.operation("info"):
            try:
                return fs.info(rpath)
            except FileNotFoundError:
                return None

    def _members(self, rpath: str) -> list["Member"]:
        """Every object below ``rpath/``, sorted by relative key."""
        fs = self.fs
        with self.observer.operation("list") as op:
            found = _find_detailed(fs, rpath)
            op.note(objects=len(found))
        members = []
        for path, info in found.items():
            rel = relative_member(rpath, path)
            if rel is None or rel.endswith("/"):  # the key itself, or a directory marker
                continue
            self.backend.check_path(path)
            members.append(Member(rel, path, _size(info)))
        members.sort()
        return members

    def _load_file(self, key: str, rpath: str, dest: str, deadline: Deadline, size: int | None = None) -> int:
        what = f"loading {self._what(key)}"
        with staged(dest, deadline, what) as tmp:
            return self._download(rpath, tmp, deadline, what, size)

    def _load_directory(self, key: str, members: list["Member"], dest: str, deadline: Deadline) -> int:
        _check_no_file_directory_clash(self._what(key), [member.rel for member in members])
        what = f"loading {self._what(key)}"
        with staged(dest, deadline, what, directory=True) as tmpdir:
            pairs = [(member.path, safe_local_join(tmpdir, member.rel), member.size) for member in members]
            for _, local, _ in pairs:
                os.makedirs(os.path.dirname(local), exist_ok=True)

            def fetch(pair: tuple[str, str, int | None]) -> int:
                return self._download(pair[0], pair[1], deadline, what, pair[2])

            total, failures = run_bounded(pairs, fetch, self.settings.transfer_concurrency)
            if failures:
                raise self._partial_failure("load", key, [(p[0], e) for p, e in failures], len(pairs))
            return total

    def _save_directory(self, key: str, src: str, rpath: str, deadline: Deadline) -> int:
        files = list(tree_files(src))
        what = f"saving {self._what(key)}"
        self.observer.plan("save", objects=len(files), bytes=sum(os.path.getsize(local) for local, _ in files),
                           concurrency=min(self.settings.transfer_concurrency, len(files)))

        def send(item: tuple[str, str]) -> int:
            local, rel = item
            return self._upload(local, join_key(rpath, rel), deadline, what)

        total, failures = run_bounded(files, send, self.settings.transfer_concurrency)
        if failures:
            raise self._partial_failure("save", key, [(rel, e) for (_, rel), e in failures], len(files))
        return total

    def _partial_failure(self, verb: str, key: str, failures: list[tuple[str, BaseException]], count: int) -> BaseException:
        """One error for the objects of a directory artifact that did not make it, naming
        them; a failure that is not a storage error (a bug) is returned as it is."""
        errors = []
        for name, exc in failures:
            error = translate(self.backend.builtin_error(exc), "it")
            if error is None:
                return exc
            errors.append((name, error))
        names = ", ".join(f"'{name}' ({error.message})" for name, error in errors[:_MAX_LISTED_FAILURES])
        more = f" and {len(errors) - _MAX_LISTED_FAILURES} more" if len(errors) > _MAX_LISTED_FAILURES else ""
        return type(errors[0][1])(
            f"could not {verb} {len(errors)} of {count} files of the directory artifact "
            f"{self._what(key)}: {names}{more}"
        )


def _find_detailed(fs: "AbstractFileSystem", rpath: str) -> dict[str, dict]:
    """``fs.find(rpath, detail=True)``: every object at or below ``rpath``, path -> info.

    adlfs answers a path that is itself an object with a list of names, whatever ``detail``
    says; those entries get the info of a size-less object."""
    found = fs.find(rpath, withdirs=False, detail=True)
    if isinstance(found, dict):
        return found
    return {entry if isinstance(entry, str) else entry["name"]: entry if isinstance(entry, dict) else {}
            for entry in found}


def _event_loop(fs: "AbstractFileSystem") -> Any:
    """Where an upload's coroutines run: an async filesystem's own loop (its clients are
    bound to it), else fsspec's shared IO loop."""
    loop = getattr(fs, "loop", None)
    if loop is None:
        from fsspec.asyn import get_loop

        loop = get_loop()
    return loop


def _make_directories(fs: "AbstractFileSystem", path: str) -> None:
    """Create ``path`` and its parents on a file system that needs them before a write
    (SFTP, FTP, WebDAV), tolerating another writer that creates them at the same time."""
    if not path:
        return
    try:
        fs.makedirs(path, exist_ok=True)
    except Exception:  # some implementations raise their own errors for a racing mkdir
        if not fs.isdir(path):
            raise


class Member(NamedTuple):
    """One object below a prefix: its key relative to the prefix, its store path, its size."""

    rel: str
    path: str
    size: int


def _size(info: dict) -> int:
    return int(info.get("size") or 0)


_MARKER = "directory marker"


def _unaddressable(name: str, size: int) -> str:
    """Why the object ``name`` (relative to the root) cannot be reached through an artifact
    key; "" when it can, :data:`_MARKER` for an empty ``dir/`` object (a console's folder)."""
    if name.endswith("/"):
        return _MARKER if size == 0 else f"its name ends with '/' and it holds {size} bytes: artifact keys cannot end with '/'"
    try:
        if normalize_key(name) == name:
            return ""
    except BadRequest:
        pass
    return "its name has an empty, '.' or '..' segment, which artifact keys cannot express"


def _check_no_file_directory_clash(what: str, rels: list[str]) -> None:
    names = set(rels)
    for rel in rels:
        parts = rel.split("/")
        for i in range(1, len(parts)):
            ancestor = "/".join(parts[:i])
            if ancestor in names:
                raise Conflict(
                    f"{what} cannot be loaded as a directory: '{ancestor}' is both an object "
                    f"and a prefix of '{rel}'"
                )
