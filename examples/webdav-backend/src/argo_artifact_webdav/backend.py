"""``scheme: webdav``: artifacts as files below a collection of a WebDAV server.

The whole backend: declare the options, build webdav4's fsspec filesystem from them,
say where keys live. The plugin does the rest (Load, Save, streams, listing, delete).

Writes: a WebDAV server writes a PUT body straight into the target resource (wsgidav,
Apache mod_dav, Nextcloud), so a reader could see half a file and a broken upload could
leave one. ``write_strategy = RENAME_INTO_PLACE`` makes the plugin write to a temporary
sibling (its parent collections created first) and :meth:`WebdavBackend.publish` it with
a server-side ``MOVE`` (``Overwrite: T``): readers see the old object, then the new one
(a server that implements MOVE-with-overwrite as delete-then-rename, like wsgidav, shows
no object for the instant in between), never part of one.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from argo_artifact_driver.core.backend import Backend, BadConfiguration, Option, Reach, Requirement, WriteStrategy

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

#: Credentials come from the environment of the plugin container (a Kubernetes Secret
#: mounted as env vars), never from the workflow: the configuration is not secret.
USERNAME_ENV = "WEBDAV_USERNAME"
PASSWORD_ENV = "WEBDAV_PASSWORD"

#: The SDK: imported when the scheme loads (so ``argo-artifacts backends`` shows an image
#: without it) and by :func:`webdav_filesystem`; a third party names its own install line.
WEBDAV4 = Requirement("webdav4", install="pip install 'webdav4[fsspec]'")


class WebdavBackend(Backend):
    """Keys are paths below the collection ``root`` of the server at ``url``."""

    api_version = 1
    write_strategy = WriteStrategy.RENAME_INTO_PLACE
    requires = (WEBDAV4,)
    option_spec = {
        "url": Option(str, required=True, reaches=Reach.HOST,
                      help="base URL of the WebDAV server, e.g. https://dav.example.com/dav"),
        "root": Option(str, default="", help="collection below url holding artifacts, e.g. argo/artifacts"),
        "timeout": Option((int, float), default=30, help="seconds to wait for the server on each request"),
    }

    def validate(self) -> None:
        url = urlsplit(self.options["url"])
        if url.scheme not in ("http", "https") or not url.netloc:
            raise BadConfiguration(
                f"'url' for scheme 'webdav' must be an http:// or https:// URL, got {self.options['url']!r}"
            )
        if "@" in url.netloc:  # do not echo the URL: it holds a credential
            raise BadConfiguration(
                f"'url' for scheme 'webdav' must not contain credentials; set {USERNAME_ENV} and "
                f"{PASSWORD_ENV} in the plugin's environment instead"
            )
        if self.options["timeout"] <= 0:
            raise BadConfiguration(f"'timeout' for scheme 'webdav' must be positive, got {self.options['timeout']}")

    def create_filesystem(self) -> "AbstractFileSystem":
        user, password = os.environ.get(USERNAME_ENV), os.environ.get(PASSWORD_ENV)
        auth = (user, password or "") if user else None
        return webdav_filesystem(self.options["url"], auth=auth, timeout=self.options["timeout"])

    def root(self) -> str:
        return self.options["root"].strip("/")

    def describe(self) -> str:
        return f"{self.options['url'].rstrip('/')}/{self.root()}".rstrip("/")

    def builtin_error(self, exc: BaseException) -> BaseException:
        """webdav4's and httpx's errors as the builtins the plugin words (its fsspec layer
        translates some, but not a refused login or an unreachable server)."""
        import httpx
        from webdav4 import client as dav

        if isinstance(exc, httpx.TimeoutException):
            return TimeoutError(str(exc) or "timed out")
        if isinstance(exc, httpx.TransportError):
            return ConnectionError(str(exc) or type(exc).__name__)
        if isinstance(exc, dav.ResourceNotFound):
            return FileNotFoundError(str(exc))
        if isinstance(exc, dav.ForbiddenOperation) or (isinstance(exc, dav.HTTPError) and exc.status_code in (401, 403)):
            return PermissionError(str(exc))
        if isinstance(exc, (dav.IsACollectionError, dav.IsAResourceError, dav.ResourceConflict)):
            return IsADirectoryError(str(exc))
        if isinstance(exc, dav.ClientError):
            return OSError(str(exc))
        return exc

    def publish(self, fs: "AbstractFileSystem", tmp: str, rpath: str) -> None:
        # fsspec's generic mv is COPY + DELETE (a reader could see a partial copy);
        # one MOVE is a rename on the server.
        fs.client.move(tmp, rpath, overwrite=True)


def webdav_filesystem(url: str, auth: Any = None, timeout: float = 30) -> "AbstractFileSystem":
    """webdav4's fsspec filesystem for ``url``, with keys of any characters.

    webdav4 puts a path into the URL as it is, so a key holding ``#`` or ``?`` would be
    cut at the fragment or query; :class:`_PathQuotingClient` escapes them (and ``%``)
    first, and the server unescapes: keys round-trip exactly."""
    WebdavFileSystem = WEBDAV4.load("webdav", "webdav4.fsspec").WebdavFileSystem
    client = _client_class()(url, auth=auth, timeout=timeout, chunk_size=WebdavFileSystem.blocksize)
    return WebdavFileSystem(url, client=client)


def _client_class() -> type:
    from webdav4.client import Client

    class _PathQuotingClient(Client):
        def join_url(self, path: str, add_trailing_slash: bool = False) -> Any:
            escaped = path.replace("%", "%25").replace("#", "%23").replace("?", "%3F")
            return super().join_url(escaped, add_trailing_slash=add_trailing_slash)

    return _PathQuotingClient
