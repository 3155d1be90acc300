"""``scheme: fsspec``: any other fsspec implementation installed in the image.

``protocol`` names the implementation (``sftp``, ``ftp``, ...), ``storageOptions`` is
passed to its constructor as is, and ``root`` is the path under which keys live.

Most protocols in this long tail (SFTP, FTP, SMB, ...) are file systems that show a file
while it is being written, so writes go to a temporary sibling that is renamed over the
key once complete. Object stores, which publish an object only when its upload
completes, write in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ContextManager, Mapping
from urllib.parse import urlsplit

from ..core.backend import Backend, BackendUnavailable, BadConfiguration, Option, Reach, WriteStrategy
from ..core.imports import DISTRIBUTION

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

#: Protocols whose writes become visible only once complete (multipart or block uploads).
PUBLISH_ON_COMPLETION = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "az", "oss"})

#: Protocols whose filesystem object is one connection that threads cannot share (ftplib):
#: each thread gets its own.
ONE_CONNECTION_PER_THREAD = frozenset({"ftp"})

#: Where this package's extras provide a protocol's implementation.
EXTRAS = {"sftp": "sftp", "ssh": "sftp", "s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "abfs": "azure", "az": "azure"}


class FsspecBackend(Backend):
    """A filesystem named by ``protocol``, keys under ``root``."""

    option_spec = {
        "protocol": Option(str, required=True, help="the fsspec protocol, e.g. sftp or ftp", reaches=Reach.FSSPEC_PROTOCOL),
        "storageOptions": Option(dict, default={}, help="keyword arguments for the filesystem's constructor"),
        "root": Option(str, default="", help="the path under which keys live, e.g. /srv/artifacts"),
    }

    def validate(self) -> None:
        protocol = self.options["protocol"]
        if not protocol or "://" in protocol:
            raise BadConfiguration(f"'protocol' for scheme 'fsspec' must be a protocol name such as sftp, got {protocol!r}")
        if protocol in ("file", "local"):
            raise BadConfiguration("for local or mounted directories use 'scheme: file' (it keeps keys inside 'root')")
        bad = [str(k) for k in self.options["storageOptions"] if not isinstance(k, str)]
        if bad:
            raise BadConfiguration(f"'storageOptions' for scheme 'fsspec' must have string keys, got {', '.join(bad)}")
        refused = reached(self.options["storageOptions"]).refused
        if refused:
            raise BadConfiguration(f"'storageOptions.{refused[0]}' {REFUSED_OPTIONS[refused[0].rpartition('.')[2]]}")
        # Declared per configuration: what the protocol's store needs.
        self.write_strategy = (
            WriteStrategy.ATOMIC_UPLOAD if protocol in PUBLISH_ON_COMPLETION else WriteStrategy.RENAME_INTO_PLACE
        )
        self.filesystem_per_thread = protocol in ONE_CONNECTION_PER_THREAD

    def create_filesystem(self) -> "AbstractFileSystem":
        cls = filesystem_class(self.options["protocol"])
        cls = ADAPTERS.get(self.options["protocol"], lambda c: c)(cls)
        options = dict(self.options["storageOptions"])
        options.setdefault("skip_instance_cache", True)
        try:
            return cls(**options)
        except ImportError as exc:  # implementations import their SDK when they are built
            raise BackendUnavailable(
                f"scheme 'fsspec' with protocol '{self.options['protocol']}' needs a package that is not "
                f"installed ({exc}); {_install_hint(self.options['protocol'])}"
            ) from None
        except TypeError as exc:  # an option the implementation does not take
            raise BadConfiguration(f"'storageOptions' rejected by the {self.options['protocol']} filesystem: {exc}") from None

    def root(self) -> str:
        return self.options["root"].rstrip("/") or self.options["root"]

    def describe(self) -> str:
        host = self.options["storageOptions"].get("host")
        where = f"{host}:" if isinstance(host, str) else ""
        return f"{self.options['protocol']}://{where}{self.root() or '.'}"

    # What the store reaches, for the operator's policy: the protocol and every protocol
    # nested in storageOptions, the servers and the local files storageOptions name.

    def fsspec_protocols(self) -> list[str]:
        return [*self.options["protocol"].split("::"), *reached(self.options["storageOptions"]).protocols]

    def endpoints(self) -> list[str]:
        return reached(self.options["storageOptions"]).hosts

    def local_paths(self) -> list[str]:
        return reached(self.options["storageOptions"]).paths

    def open_reader(self, fs: "AbstractFileSystem", rpath: str) -> ContextManager[Any]:
        # SFTP servers refuse to open a directory with a bare "Failure": ask first, so the
        # caller can say it is a directory artifact.
        if self.write_strategy is WriteStrategy.RENAME_INTO_PLACE and fs.isdir(rpath):
            raise IsADirectoryError(rpath)
        return super().open_reader(fs, rpath)

    def builtin_error(self, exc: BaseException) -> BaseException:
        return _ftp_error(exc) or _ssh_error(exc) or exc


#: storageOptions keys whose value names a server (``host`` goes with ``port``).
HOST_OPTIONS = frozenset({"host", "hostname", "server", "base_url", "endpoint_url", "url", "account_host", "tunnel"})
#: storageOptions keys whose value names a local file or directory the filesystem opens:
#: SSH keys and configuration (asyncssh), TLS material, caches, reference files.
LOCAL_PATH_OPTIONS = frozenset({
    "client_keys", "known_hosts", "config", "agent_path", "client_certs", "client_host_keys", "client_host_certs",
    "x509_trusted_cert_paths", "x509_trusted_certs", "key_filename", "ca_certs", "certfile", "keyfile", "cert",
    "cafile", "capath", "ssl_ca_certs", "cache_storage", "fo", "target_path", "path",
})
#: storageOptions keys whose value names another filesystem, for the policy's protocol list.
PROTOCOL_OPTIONS = frozenset({"target_protocol", "remote_protocol", "protocol"})
#: storageOptions keys refused whatever the policy says, and why.
REFUSED_OPTIONS = {
    "proxy_command": "runs a local command; the plugin never runs one for a configuration",
    "fs": "passes a filesystem object, which a configuration cannot hold",
}


@dataclass
class Reached:
    """What a ``storageOptions`` mapping makes a filesystem reach."""

    hosts: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    protocols: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def reached(options: Mapping[str, Any]) -> Reached:
    """Walk ``options`` (nested mappings included: ``target_options``, ``client_kwargs``):
    keys that name servers, local files or filesystems, and every URL anywhere in a value
    (its protocol and its host). Unknown keys holding plain values reach nothing."""
    found = Reached()
    _walk(options, "", found)
    return found


def _walk(options: Mapping[str, Any], prefix: str, found: Reached) -> None:
    for key, value in options.items():
        name = str(key)
        if name in REFUSED_OPTIONS:
            found.refused.append(prefix + name)
        if isinstance(value, Mapping):
            _walk(value, f"{prefix}{name}.", found)
            continue
        for text in _strings(value):
            if "://" in text or "::" in text:
                _url(text, found)
            elif name in HOST_OPTIONS:
                port = options.get("port")
                has_port = isinstance(port, int) and not isinstance(port, bool) and name in ("host", "hostname")
                found.hosts.append(f"{text}:{port}" if has_port else text)
            elif name in PROTOCOL_OPTIONS:
                found.protocols.extend(p for p in text.split("::") if p)
            elif name in LOCAL_PATH_OPTIONS:
                found.paths.append(text)


def _strings(value: Any) -> list[str]:
    """The strings in a value (a string, or a list/tuple of them, nested)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _strings(item)]
    return []


def _url(text: str, found: Reached) -> None:
    """``proto://host/path`` (or a chain ``a::b::proto://...``): every protocol, and the host."""
    for part in text.split("::"):
        if "://" not in part:
            if part:
                found.protocols.append(part)
            continue
        parts = urlsplit(part)
        found.protocols.append(parts.scheme.lower())
        if parts.netloc:
            found.hosts.append(part)
        elif parts.path:
            found.paths.append(parts.path)  # file:///etc/x


def _ftp_error(exc: BaseException) -> BaseException | None:
    """ftplib's reply errors (not OSErrors) as the builtins their reply codes mean."""
    import ftplib

    if not isinstance(exc, ftplib.Error):
        return None
    text = str(exc).strip()
    if isinstance(exc, ftplib.error_temp):  # 4xx: try again later
        return ConnectionError(f"FTP server: {text}")
    if text.startswith("550"):
        return FileNotFoundError(f"FTP server: {text}")
    if text.startswith(("530", "532", "553")):
        return PermissionError(f"FTP server: {text}")
    return OSError(f"FTP server: {text}")


def _ssh_error(exc: BaseException) -> BaseException | None:
    """asyncssh's connection-level errors (sshfs maps SFTP status codes itself)."""
    try:
        import asyncssh
    except ImportError:  # the [sftp] extra is not installed: nothing of it can have been raised
        return None
    if isinstance(exc, asyncssh.PermissionDenied):
        return PermissionError(f"SSH server refused the login: {exc.reason}")
    if isinstance(exc, (asyncssh.ConnectionLost, asyncssh.DisconnectError)):
        return ConnectionError(f"SSH connection: {exc.reason}")
    if isinstance(exc, asyncssh.SFTPError):
        return OSError(f"SFTP server: {exc.reason}")
    return None


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
        raise BackendUnavailable(
            f"scheme 'fsspec' with protocol '{protocol}' needs a package that is not installed ({exc}); "
            f"{_install_hint(protocol)}"
        ) from None


def _install_hint(protocol: str) -> str:
    extra = EXTRAS.get(protocol)
    return f"pip install '{DISTRIBUTION}[{extra}]'" if extra else "install the package named above"


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
                if self.isdir(path):
                    return
                if self.exists(path):  # a file where a directory is wanted
                    raise FileExistsError(path) from exc
                raise  # refused for another reason (permissions...): say that one

    return FTPFileSystem


#: Per-protocol fixes that make an implementation keep fsspec's contract.
ADAPTERS = {"ftp": _ftp_adapter}
