"""The Argo operations, written once on top of the fsspec filesystem of a backend.

Semantics (DESIGN.md): a key is an object, or a prefix with objects below ``key/``
(a directory artifact). Nothing half-done is ever visible: Load writes to a temporary
name beside the target and renames it into place; Save and SaveStream go through the
backend's atomic upload/writer, which publishes an object only once it is complete.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Protocol

from .backend import RenameOnCommit
from .deadline import NO_DEADLINE, Deadline
from .errors import ArtifactError, BadConfiguration, BadRequest, Conflict, NotFound, PermissionDenied, is_transient, translate
from .keys import is_partial_name, join_key, normalize_key, partial_name, posix_relpath, relative_member, safe_local_join
from .transfer import RetryPolicy, read_ahead, run_bounded, with_retries, write_behind

if TYPE_CHECKING:
    from .backend import Backend

log = logging.getLogger("argo_artifact_driver")

_MAX_LISTED_FAILURES = 5


class Store(Protocol):
    """What the gRPC edge calls: :class:`ArtifactStore`, or a composite such as
    :class:`~.fallback.FallbackStore`."""

    scheme: str

    def describe(self) -> str: ...
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

    def __init__(self, backend: "Backend") -> None:
        self.backend = backend
        self.settings = backend.settings
        self.retry_policy = RetryPolicy(attempts=self.settings.transfer_attempts)
        self._sdk_transient: tuple[type[BaseException], ...] | None = None

    @property
    def scheme(self) -> str:
        return self.backend.scheme

    def describe(self) -> str:
        return self.backend.describe()

    # -- reads -----------------------------------------------------------------------

    def load(self, key: str, path: str, deadline: Deadline = NO_DEADLINE) -> int:
        """Download the object or directory at ``key`` to ``path``; return bytes written.

        Nothing appears at ``path`` unless every byte arrived before ``deadline``."""
        key = normalize_key(key)
        dest = _local_target(path)
        rpath = self._rpath(key)
        with self._translated(key):
            info = self._info(rpath)
            if info is not None and info.get("type") != "directory":
                return self._load_file(key, rpath, dest, deadline)
            members = self._members(rpath)
            if not members:
                raise NotFound(f"{self._what(key)} was not found: no object has this key and none is below it")
            return self._load_directory(key, members, dest, deadline)

    def open_stream(self, key: str, deadline: Deadline = NO_DEADLINE) -> Iterator[bytes]:
        """Yield the object's bytes in chunks of ``stream_chunk_size``, read as they go
        (a few chunks ahead of the consumer, so reading and sending overlap)."""
        return read_ahead(self._read_chunks(key, deadline), self.settings.read_ahead_chunks)

    def _read_chunks(self, key: str, deadline: Deadline) -> Iterator[bytes]:
        key = normalize_key(key)
        rpath = self._rpath(key)
        size = self.settings.stream_chunk_size
        with self._translated(key):
            try:
                with self.backend.open_reader(self.backend.filesystem, rpath) as reader:
                    while True:
                        deadline.check(f"reading {self._what(key)}")
                        data = reader.read(size)
                        if not data:
                            return
                        yield data
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
            return [join_key(key, rel) for rel, _ in self._members(self._rpath(key))]

    def is_directory(self, key: str) -> bool:
        """True when objects exist below ``key/``."""
        key = normalize_key(key, allow_empty=True)
        with self._translated(key):
            return bool(self.backend.filesystem.isdir(self._rpath(key)))

    def inventory(self, prefix: str = "") -> "Inventory":
        """Every object at ``prefix`` or below ``prefix/``, in one recursive listing (what a
        migration compares). Directory markers (empty objects named ``dir/``) and, on stores
        that write under a temporary name, writes in progress are left out; objects whose
        names no artifact key can address are listed apart, with the reason."""
        prefix = normalize_key(prefix, allow_empty=True)
        rpath = self._rpath(prefix)
        fs = self.backend.filesystem
        with self._translated(prefix):
            fs.invalidate_cache(rpath)  # a long-lived filesystem may hold an old listing
            found = fs.find(rpath, withdirs=False, detail=True)
        writes_partials = isinstance(self.backend, RenameOnCommit)
        inventory = Inventory()
        for path, info in found.items():
            rel = "" if path.rstrip("/") == rpath else relative_member(rpath, path)
            if rel is None or info.get("type") == "directory" or (writes_partials and is_partial_name(path)):
                continue
            size = int(info.get("size") or 0)
            raw = join_key(prefix, rel)
            problem = _unaddressable(raw, size)
            if problem == _MARKER:
                continue
            if problem:
                inventory.unaddressable[raw] = problem
            else:
                inventory.sizes[raw] = size
        return inventory

    def check_root(self) -> None:
        """Raise BadConfiguration when the store's root (its bucket or container) does not
        exist, so that "no such key" can be told from "no such store"; a no-op on stores
        whose writes create the root."""
        if self.backend.root_created_by_writes:
            return
        root = self._root_path()
        with self._translated(""):
            missing = bool(root) and not self.backend.filesystem.exists(root)
        if missing:
            raise BadConfiguration(f"{self.backend.describe()} does not exist: create it, or fix the configuration")

    # -- writes ----------------------------------------------------------------------

    def save(self, path: str, key: str, deadline: Deadline = NO_DEADLINE) -> int:
        """Upload a file to ``key`` or a directory to ``key/<relative path>``; return bytes."""
        key = normalize_key(key)
        src = _local_source(path)
        rpath = self._rpath(key)
        if os.path.isdir(src):
            return self._save_directory(key, src, rpath, deadline)
        with self._translated(key):
            return self._upload(src, rpath, deadline, f"saving {self._what(key)}")

    def save_stream(
        self,
        key: str,
        chunks: Iterable[bytes],
        deadline: Deadline = NO_DEADLINE,
        before_publish: Callable[[], None] | None = None,
    ) -> int:
        """Write ``chunks`` to ``key`` as they arrive; nothing is published if they stop short.

        Chunks are written behind the stream (receiving the next one overlaps with writing
        the last), in bounded memory. ``before_publish`` runs once everything is written
        but not yet visible; if it raises, nothing is published (the gRPC edge uses it to
        confirm the client really finished)."""
        key = normalize_key(key)
        rpath = self._rpath(key)
        what = f"saving {self._what(key)}"

        with self._translated(key):
            with self.backend.open_writer(self.backend.filesystem, rpath) as f:

                def write(chunk: bytes) -> None:
                    deadline.check(what)
                    f.write(chunk)

                written = write_behind(write, chunks, self.settings.write_behind_chunks)
                if before_publish is not None:
                    f.close()  # the last part is written to storage, not yet published
                    before_publish()
                deadline.check(what)  # the writer publishes on leaving this block
        return written

    def delete(self, key: str) -> int:
        """Remove the object at ``key`` and every object below ``key/``; return how many.

        A key that is already gone is a success (artifact GC may run twice)."""
        key = normalize_key(key)
        rpath = self._rpath(key)
        fs = self.backend.filesystem
        with self._translated(key):
            info = self._info(rpath)
            is_object = info is not None and info.get("type") != "directory"
            members = self._members(rpath)
            if members or (info is not None and not is_object):
                fs.rm(rpath, recursive=True)
            if is_object:
                with contextlib.suppress(FileNotFoundError):  # a recursive rm may have taken it
                    fs.rm_file(rpath)
            return len(members) + int(is_object)

    # -- helpers ---------------------------------------------------------------------

    def _root_path(self) -> str:
        """The backend's root in the filesystem's own path form (no protocol)."""
        return self.backend.filesystem._strip_protocol(self.backend.root()).rstrip("/")

    def _rpath(self, key: str) -> str:
        rpath = join_key(self._root_path(), key)
        self.backend.check_path(rpath)
        return rpath

    def _transient(self, exc: BaseException) -> bool:
        if self._sdk_transient is None:
            self._sdk_transient = self.backend.transient_errors()
        return is_transient(exc, self._sdk_transient)

    def _download(self, rpath: str, local: str, deadline: Deadline, what: str) -> int:
        """One object to one local file, retried whole if its body breaks mid-way (the one
        failure the SDKs' request retries leave to us; see README, Reliability)."""
        def attempt() -> int:
            return self._transfer(self.backend.download_file, rpath, local, local, deadline, what)

        return with_retries(attempt, policy=self.retry_policy, transient=self._transient, deadline=deadline, what=what)

    def _upload(self, local: str, rpath: str, deadline: Deadline, what: str) -> int:
        """One local file to one object; the backend publishes it only when complete. Not
        retried here: the SDK's own layer retries failed requests, and a second layer
        would multiply attempts against a failing store."""
        return self._transfer(self.backend.upload_file, local, rpath, local, deadline, what)

    def _transfer(self, move: Callable[..., None], source: str, target: str, local: str, deadline: Deadline, what: str) -> int:
        """``move(fs, source, target)``, checking the call's deadline as bytes move;
        returns the size of the ``local`` side."""
        move(self.backend.filesystem, source, target, callback=deadline.progress(what))
        return os.path.getsize(local)

    def _what(self, key: str) -> str:
        return f"key '{key}' in {self.backend.describe()}"

    @contextlib.contextmanager
    def _translated(self, key: str) -> Iterator[None]:
        try:
            yield
        except ArtifactError:
            raise
        except Exception as exc:
            raise translate(self.backend.builtin_error(exc), self._what(key)) from exc

    def _info(self, rpath: str) -> dict | None:
        try:
            return self.backend.filesystem.info(rpath)
        except FileNotFoundError:
            return None

    def _members(self, rpath: str) -> list[tuple[str, str]]:
        """(relative key, store path) of every object below ``rpath/``, sorted."""
        members = []
        for found in self.backend.filesystem.find(rpath, withdirs=False):
            rel = relative_member(rpath, found)
            if rel is None or rel.endswith("/"):  # the key itself, or a directory marker
                continue
            self.backend.check_path(found)
            members.append((rel, found))
        members.sort()
        return members

    def _load_file(self, key: str, rpath: str, dest: str, deadline: Deadline) -> int:
        what = f"loading {self._what(key)}"
        with _staged(dest, deadline, what) as tmp:
            return self._download(rpath, tmp, deadline, what)

    def _load_directory(self, key: str, members: list[tuple[str, str]], dest: str, deadline: Deadline) -> int:
        _check_no_file_directory_clash(self._what(key), [rel for rel, _ in members])
        what = f"loading {self._what(key)}"
        with _staged(dest, deadline, what, directory=True) as tmpdir:
            pairs = [(store_path, safe_local_join(tmpdir, rel)) for rel, store_path in members]
            for _, local in pairs:
                os.makedirs(os.path.dirname(local), exist_ok=True)

            def fetch(pair: tuple[str, str]) -> int:
                return self._download(pair[0], pair[1], deadline, what)

            total, failures = run_bounded(pairs, fetch, self.settings.transfer_concurrency)
            if failures:
                raise self._partial_failure("load", key, [(p[0], e) for p, e in failures], len(pairs))
            return total

    def _save_directory(self, key: str, src: str, rpath: str, deadline: Deadline) -> int:
        files = list(_tree_files(src))
        what = f"saving {self._what(key)}"

        def send(item: tuple[str, str]) -> int:
            local, rel = item
            return self._upload(local, join_key(rpath, rel), deadline, what)

        total, failures = run_bounded(files, send, self.settings.transfer_concurrency)
        if failures:
            raise self._partial_failure("save", key, [(rel, e) for (_, rel), e in failures], len(files))
        return total

    def _partial_failure(self, verb: str, key: str, failures: list, count: int) -> ArtifactError:
        failures = [(name, self.backend.builtin_error(exc)) for name, exc in failures]
        first = translate(failures[0][1], self._what(key))
        names = ", ".join(f"'{name}' ({translate(exc, 'it').message})" for name, exc in failures[:_MAX_LISTED_FAILURES])
        more = f" and {len(failures) - _MAX_LISTED_FAILURES} more" if len(failures) > _MAX_LISTED_FAILURES else ""
        error = type(first)(
            f"could not {verb} {len(failures)} of {count} files of the directory artifact "
            f"{self._what(key)}: {names}{more}"
        )
        return error


# -- local file-system helpers ----------------------------------------------------------


@dataclass
class Inventory:
    """What :meth:`ArtifactStore.inventory` found."""

    #: Size of every object, by artifact key.
    sizes: dict[str, int] = field(default_factory=dict)
    #: Objects no artifact key reaches (store name -> why), so no Load or Save can move them.
    unaddressable: dict[str, str] = field(default_factory=dict)


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


def _local_target(path: str) -> str:
    if not path:
        raise BadRequest("the local path to load into is empty")
    dest = os.path.abspath(path)
    parent = os.path.dirname(dest)
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        raise translate(exc, f"local directory '{parent}'") from exc
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionDenied(f"cannot write into local directory '{parent}'")
    return dest


def _local_source(path: str) -> str:
    if not path:
        raise BadRequest("the local path to save is empty")
    src = os.path.abspath(path)
    if not os.path.lexists(src):
        raise NotFound(f"nothing to save: local path '{path}' does not exist")
    if not (os.path.isfile(src) or os.path.isdir(src)):
        raise BadRequest(f"cannot save local path '{path}': it is not a regular file or directory")
    if not os.access(src, os.R_OK) or (os.path.isdir(src) and not os.access(src, os.X_OK)):
        raise PermissionDenied(f"cannot read local path '{path}'")
    return src


def _tree_files(top: str) -> Iterator[tuple[str, str]]:
    """(absolute path, relative key) of every file to upload from a directory tree.

    Symbolic links are uploaded only when they resolve to a regular file inside the tree:
    a link must never make a file from elsewhere on the machine leave it."""
    real_top = os.path.realpath(top)
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False, onerror=_raise):
        dirnames.sort()
        for name in sorted(filenames) + sorted(d for d in dirnames if os.path.islink(os.path.join(dirpath, d))):
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                real = os.path.realpath(full)
                if not (os.path.isfile(real) and os.path.commonpath([real_top, real]) == real_top):
                    log.warning("not saving symbolic link %s: it does not resolve to a file inside %s", full, top)
                    continue
            elif not os.path.isfile(full):
                continue  # sockets, fifos, devices
            if not os.access(full, os.R_OK):
                raise PermissionDenied(f"cannot read local file '{full}' of the directory being saved")
            yield full, posix_relpath(full, top)


def _raise(exc: OSError) -> None:
    raise exc


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


@contextlib.contextmanager
def _staged(dest: str, deadline: Deadline, what: str, directory: bool = False) -> Iterator[str]:
    """A temporary name beside ``dest`` to fill; moved over ``dest`` only if the block
    succeeds and the call is still wanted, removed otherwise: a failed Load leaves nothing."""
    tmp = _temporary_sibling(dest)
    if directory:
        os.mkdir(tmp)
    try:
        yield tmp
        deadline.check(what)  # nobody waits for it any more: publish nothing
        _move_into_place(tmp, dest)
    except BaseException:
        _remove(tmp)
        raise


def _temporary_sibling(dest: str) -> str:
    parent, name = os.path.split(dest)
    return os.path.join(parent, partial_name(name))


def _move_into_place(tmp: str, dest: str) -> None:
    if os.path.isdir(dest) and not os.path.islink(dest):
        shutil.rmtree(dest)
    os.replace(tmp, dest)


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
