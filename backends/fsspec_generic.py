"""``scheme: fsspec``: any other fsspec implementation installed in the image.

``protocol`` names the implementation (``sftp``, ``ftp``, ...), ``storageOptions`` is
passed to its constructor as is, and ``root`` is the path under which keys live.

Most protocols in this long tail (SFTP, FTP, SMB, ...) are file systems that show a file
while it is being written, so writes go to a temporary sibling that is renamed over the
key once complete. Object stores, which publish an object only when its upload
completes, write in place.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, BinaryIO, ContextManager

from ..core.backend import Backend, RenameOnCommit
from ..core.errors import BackendUnavailable, BadConfiguration
from ..core.imports import DISTRIBUTION
from ..core.options import Option

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

#: Protocols whose writes become visible only once complete (multipart or block uploads).
PUBLISH_ON_COMPLETION = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "az", "oss"})

#: Protocols whose filesystem object is one connection that threads cannot share (ftplib):
#: each thread gets its own.
ONE_CONNECTION_PER_THREAD = frozenset({"ftp"})

#: Where this package's extras provide a protocol's implementation.
EXTRAS = {"sftp": "sftp", "ssh": "sftp", "s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "abfs": "azure", "az": "azure"}


class FsspecBackend(RenameOnCommit, Backend):
    """A filesystem named by ``protocol``, keys under ``root``."""

    option_spec = {
        "protocol": Option(str, required=True, help="the fsspec protocol, e.g. sftp or ftp"),
        "storageOptions": Option(dict, default={}, help="keyword arguments for the filesystem's constructor"),
        "root": Option(str, default="", help="the path under which keys live, e.g. /srv/artifacts"),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._per_thread = threading.local()

    def validate(self) -> None:
        protocol = self.options["protocol"]
        if not protocol or "://" in protocol:
            raise BadConfiguration(f"'protocol' for scheme 'fsspec' must be a protocol name such as sftp, got {protocol!r}")
        if protocol in ("file", "local"):
            raise BadConfiguration("for local or mounted directories use 'scheme: file' (it keeps keys inside 'root')")
        bad = [str(k) for k in self.options["storageOptions"] if not isinstance(k, str)]
        if bad:
            raise BadConfiguration(f"'storageOptions' for scheme 'fsspec' must have string keys, got {', '.join(bad)}")

    @property
    def publishes_on_completion(self) -> bool:
        return self.options["protocol"] in PUBLISH_ON_COMPLETION

    @property
    def filesystem(self) -> "AbstractFileSystem":
        if self.options["protocol"] not in ONE_CONNECTION_PER_THREAD:
            return super().filesystem
        fs = getattr(self._per_thread, "fs", None)
        if fs is None:
            fs = self._per_thread.fs = self.create_filesystem()
        return fs

    def create_filesystem(self) -> "AbstractFileSystem":
        cls = filesystem_class(self.options["protocol"])
        cls = ADAPTERS.get(self.options["protocol"], lambda c: c)(cls)
        options = dict(self.options["storageOptions"])
        options.setdefault("skip_instance_cache", True)
        try:
            return cls(**options)
        except TypeError as exc:  # an option the implementation does not take
            raise BadConfiguration(f"'storageOptions' rejected by the {self.options['protocol']} filesystem: {exc}") from None

    def root(self) -> str:
        return self.options["root"].rstrip("/") or self.options["root"]

    def describe(self) -> str:
        host = self.options["storageOptions"].get("host")
        where = f"{host}:" if isinstance(host, str) else ""
        return f"{self.options['protocol']}://{where}{self.root() or '.'}"

    # Object stores write in place; file systems go through a temporary sibling.

    # Directory transfers call these from worker threads with the caller's filesystem.

    def download_file(self, fs: "AbstractFileSystem", rpath: str, lpath: str, callback: Any = None) -> None:
        super().download_file(self.filesystem, rpath, lpath, callback=callback)

    def upload_file(self, fs: "AbstractFileSystem", lpath: str, rpath: str, callback: Any = None) -> None:
        fs = self.filesystem
        if self.publishes_on_completion:
            return Backend.upload_file(self, fs, lpath, rpath, callback=callback)
        _make_parent(fs, rpath)
        return RenameOnCommit.upload_file(self, fs, lpath, rpath, callback=callback)

    def open_reader(self, fs: "AbstractFileSystem", rpath: str) -> ContextManager[Any]:
        # SFTP servers refuse to open a directory with a bare "Failure": ask first, so the
        # caller can say it is a directory artifact.
        if not self.publishes_on_completion and fs.isdir(rpath):
            raise IsADirectoryError(rpath)
        return super().open_reader(fs, rpath)

    def open_writer(self, fs: "AbstractFileSystem", rpath: str) -> ContextManager[BinaryIO]:
        if self.publishes_on_completion:
            return Backend.open_writer(self, fs, rpath)
        _make_parent(fs, rpath)
        return RenameOnCommit.open_writer(self, fs, rpath)


def _make_parent(fs: "AbstractFileSystem", rpath: str) -> None:
    # File-system protocols (SFTP, FTP) do not create parents on write, unlike object stores.
    parent = rpath.rpartition("/")[0]
    if not parent:
        return
    try:
        fs.makedirs(parent, exist_ok=True)
    except Exception:  # ftplib errors are not OSError; another writer may have made it meanwhile
        if not fs.isdir(parent):
            raise


def filesystem_class(protocol: str) -> Any:
    """The fsspec class for ``protocol``, or an error naming what to install."""
    import fsspec

    try:
        return fsspec.get_filesystem_class(protocol)
    except ValueError:
        raise BadConfiguration(
            f"'protocol' {protocol!r} is not a protocol fsspec knows; known ones include "
            f"{', '.join(sorted(fsspec.available_protocols())[:40])}"
        ) from None
    except ImportError as exc:
        extra = EXTRAS.get(protocol)
        hint = f"pip install '{DISTRIBUTION}[{extra}]'" if extra else "install the package fsspec names above"
        raise BackendUnavailable(
            f"scheme 'fsspec' with protocol '{protocol}' needs a package that is not installed ({exc}); {hint}"
        ) from None


def _ftp_adapter(cls: type) -> type:
    """fsspec's FTP filesystem lets ftplib's ``error_perm`` out of ``ls`` and ``mkdir``,
    where fsspec's contract (``find``/``walk`` on a file, ``makedirs`` racing another
    writer) expects an ``OSError``."""
    from ftplib import error_perm

    class FTPFileSystem(cls):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            # One connection per thread: a cached listing would go stale behind the others.
            kwargs.setdefault("use_listings_cache", False)
            super().__init__(*args, **kwargs)

        def ls(self, path: str, detail: bool = True, **kwargs: Any) -> Any:
            # fsspec's fallback LIST of a file names it 'path/name': ask the server what
            # the path is first (MLST, one round trip), as fsspec's ls of a file answers it.
            entry = self._mlst_file(path)
            if entry is not None:
                return [entry] if detail else [entry["name"]]
            try:
                return super().ls(path, detail=detail, **kwargs)
            except error_perm as exc:
                if "not a directory" in str(exc).lower():
                    raise NotADirectoryError(path) from exc
                raise FileNotFoundError(path) from exc

        def _mlst_file(self, path: str) -> dict | None:
            path = self._strip_protocol(path).rstrip("/") or "/"
            try:
                reply = self.ftp.sendcmd(f"MLST {path}")
            except error_perm as exc:
                if str(exc).startswith("550"):
                    raise FileNotFoundError(path) from exc
                return None  # a server without MLST: fsspec's own listing decides
            facts = dict(
                fact.split("=", 1) for line in reply.splitlines()[1:-1] for fact in line.strip().split(";") if "=" in fact
            )
            if facts.get("type", "").lower() != "file":
                return None
            return {"name": path, "type": "file", "size": int(facts.get("size", 0))}

        def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
            try:
                super().mkdir(path, create_parents=create_parents, **kwargs)
            except error_perm as exc:  # another connection may have made it meanwhile
                if not self.isdir(path):
                    raise FileExistsError(path) from exc

    return FTPFileSystem


#: Per-protocol fixes that make an implementation keep fsspec's contract.
ADAPTERS = {"ftp": _ftp_adapter}
