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
from typing import TYPE_CHECKING, Any, BinaryIO, ContextManager, Mapping

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

    def __init__(self, scheme: str, options: Mapping[str, Any], settings: Any) -> None:
        super().__init__(scheme, options, settings)
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

    def download_file(self, fs: "AbstractFileSystem", rpath: str, lpath: str) -> None:
        super().download_file(self.filesystem, rpath, lpath)

    def upload_file(self, fs: "AbstractFileSystem", lpath: str, rpath: str) -> None:
        fs = self.filesystem
        if self.publishes_on_completion:
            return Backend.upload_file(self, fs, lpath, rpath)
        _make_parent(fs, rpath)
        return RenameOnCommit.upload_file(self, fs, lpath, rpath)

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
