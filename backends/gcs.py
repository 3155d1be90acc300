"""``scheme: gcs``: Google Cloud Storage through gcsfs.

Option names follow Argo's GCS artifact repository (``bucket``, ``serviceAccountKeySecret``).
Credentials, first match wins:

1. ``serviceAccountKeySecret``: a Kubernetes secret holding a service-account JSON key (or
   any credential file google-auth loads: ``authorized_user``, ``external_account``...);
2. Google's Application Default Credentials: ``GOOGLE_APPLICATION_CREDENTIALS``, gcloud's
   application-default file, GKE workload identity or the VM's metadata server; the
   chain Argo uses when no ``serviceAccountKeySecret`` is set.

An ``endpoint`` selects an emulator (plain ``http://``) or a private endpoint
(``https://``, credentials as above). An emulator is reached anonymously, as emulators
expect and because no token may cross an unencrypted link: a configured
``serviceAccountKeySecret`` is still read and validated there (so a broken secret shows
up before production), but never used.
"""

from __future__ import annotations

import base64
import io
import json
import os
import threading
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from ..core.backend import (
    Backend,
    BadConfiguration,
    KeyRange,
    Listed,
    Option,
    Reach,
    Requirement,
    SecretRef,
    discard_uncommitted,
    name_without_slash,
    secret_ref,
)
from ._errors import network_error
from ._http import with_streamed_read
from ._redirects import refuse_redirects_trace

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

#: What a Save reads of its file at a time into the resumable writer (which buffers a block).
READ_PIECE = 1024 * 1024
#: A Save of a file up to this size sends it in one streamed request of a resumable upload.
#: A larger file goes one WRITE_BLOCK_SIZE block per request, so that a failed request
#: resends a block, not the whole file. Each block is one more request: a 256 MiB Save in
#: 8 MiB blocks took 2.9 s on the emulator, in one request 0.5 s (the SDK, in 100 MiB
#: blocks it holds in memory, 1.0 s).
ONE_REQUEST_UPLOAD_MAX = 1024**3
#: gcsfs >= 2026 probes every bucket's type over gRPC on first use; emulators do not
#: answer and each call then hangs for a minute. Off for emulators.
HNS_SUPPORT_ENV = "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"
#: gcsfs's own scope for read-write access (its ``access="full_control"``).
FULL_CONTROL_SCOPE = "https://www.googleapis.com/auth/devstorage.full_control"
#: What a service-account key file must hold for google-auth to sign token requests.
SERVICE_ACCOUNT_FIELDS = ("client_email", "private_key", "token_uri")
ADC_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
GOOGLE_STORAGE_HOST = "storage.googleapis.com"
GOOGLE_TOKEN_HOST = "oauth2.googleapis.com"
#: Objects per page of objects.list (the JSON API's maximum).
LIST_PAGE_OBJECTS = 1000
#: The JSON API's call that copies an object inside GCS (in several calls for large ones).
REWRITE = "b/{}/o/{}/rewriteTo/b/{}/o/{}"


def _http_url(value: str) -> str | None:
    return None if value.startswith(("http://", "https://")) else "must be a URL starting with http:// or https://"


class GCSBackend(Backend):
    """Keys live in ``bucket``; ``endpoint`` selects an emulator or a private endpoint."""

    requires = (Requirement("gcsfs", extra="gcs"), Requirement("google.auth", extra="gcs"))
    option_spec = {
        "bucket": Option(str, required=True, help="the bucket holding artifacts", check=name_without_slash),
        "endpoint": Option(
            str, help="URL of the GCS JSON API, e.g. http://127.0.0.1:9023 for an emulator; default Google's",
            check=_http_url, reaches=Reach.HOST,
        ),
        "project": Option(str, help="the Google Cloud project (only needed to create or list buckets)"),
        "serviceAccountKeySecret": secret_ref(
            "a service-account JSON key; default: Application Default Credentials (workload identity...)"
        ),
    }

    @property
    def is_emulator(self) -> bool:
        return bool(self.options["endpoint"]) and self.options["endpoint"].startswith("http://")

    def create_filesystem(self) -> "AbstractFileSystem":
        if self.is_emulator:
            os.environ.setdefault(HNS_SUPPORT_ENV, "false")
        self.sdk("gcsfs", self.scheme)
        # The core class, not the package's default: the experimental subclass probes
        # bucket types over gRPC, which emulators cannot answer (even if gcsfs was
        # imported before the variable above was set).
        from gcsfs.core import GCSFileSystem

        key = self.key_credentials()  # validated even for an emulator, see the module docstring
        kwargs: dict[str, Any] = {
            "token": "anon" if self.is_emulator else key or "google_default",
            "block_size": self.settings.write_block_size,
            # A long-running server must not answer from a stale listing.
            "use_listings_cache": False,
            # gcsfs caches instances by constructor arguments: a rotated key (the base
            # class rebuilds the filesystem when the secret changes) must not get the old one.
            "skip_instance_cache": True,
        }
        if self.options["endpoint"]:
            kwargs["endpoint_url"] = self.options["endpoint"].rstrip("/")
        if self.options["project"]:
            kwargs["project"] = self.options["project"]
        fs = with_streamed_read(GCSFileSystem, _MediaStream)(**kwargs)
        # Never to another server than the one gcsfs talks to (see _redirects), a resumable
        # upload's Location included. Set before the first request makes the session.
        fs.session_kwargs = {**fs.session_kwargs, "trace_configs": [refuse_redirects_trace(fs._location)]}
        return fs

    def key_credentials(self) -> Any:
        """google-auth credentials from ``serviceAccountKeySecret``, or None when it is not set.

        Raises :class:`BadConfiguration` naming the secret and key for anything unusable;
        messages never quote the secret's content."""
        resolved = self.secret("serviceAccountKeySecret")
        if resolved is None:
            return None
        ref: SecretRef = self.options["serviceAccountKeySecret"]
        info = _parse_key(resolved.value, ref)
        self.sdk("gcsfs", self.scheme)  # brings google-auth
        import google.auth
        from google.auth import exceptions as gexc

        try:
            return google.auth.load_credentials_from_dict(info, scopes=[FULL_CONTROL_SCOPE])[0]
        except (gexc.GoogleAuthError, ValueError, KeyError, TypeError):
            # google-auth's messages may quote fields; say what is wrong in our own words.
            if info["type"] == "service_account":
                raise BadConfiguration(
                    f"the service-account key in {ref} cannot be loaded: its 'private_key' is not a PEM "
                    "private key; download a new JSON key for the service account"
                ) from None
            raise BadConfiguration(
                f"the credentials in {ref} (type {info['type']!r}) cannot be loaded by google-auth; "
                "expected a service-account JSON key"
            ) from None

    def credential_report(self) -> list[str]:
        lines = super().credential_report()
        key = self.key_credentials()
        if self.is_emulator:
            unused = " (serviceAccountKeySecret is valid but not sent over plain HTTP)" if key is not None else ""
            lines.append(f"credentials: none, anonymous access to the emulator at {self.options['endpoint']}{unused}")
        elif key is not None:
            who = getattr(key, "service_account_email", None)
            lines.append("credentials: serviceAccountKeySecret" + (f", service account {who}" if who else ""))
        else:
            lines.append(f"credentials: Application Default Credentials, {_adc_source()}")
        return lines

    def endpoints(self) -> list[str]:
        hosts = super().endpoints() or [GOOGLE_STORAGE_HOST]
        if self.options["serviceAccountKeySecret"] is not None and not self.is_emulator:
            hosts.append(GOOGLE_TOKEN_HOST)  # the key signs a token request sent there
        return hosts

    def builtin_error(self, exc: BaseException) -> BaseException:
        google_auth = _google_auth_exceptions()
        if google_auth is not None and isinstance(exc, google_auth.RefreshError):
            return PermissionError(f"Google refused the credentials: {exc}")
        if google_auth is not None and isinstance(exc, google_auth.TransportError):
            return ConnectionError(f"cannot reach Google's token service: {exc}")
        if google_auth is not None and isinstance(exc, google_auth.DefaultCredentialsError):
            return PermissionError(
                "no Google credentials found (Application Default Credentials): set serviceAccountKeySecret, "
                "or give the plugin's pod a workload identity"
            )
        return network_error(exc) or exc

    def root(self) -> str:
        return self.options["bucket"].strip("/")

    def describe(self) -> str:
        where = f" at {self.options['endpoint']}" if self.options["endpoint"] else ""
        return f"gs://{self.root()}{where}"

    # -- migrate: listing in key order, checksums, in-store copies ----------------------

    def list_sorted(self, fs: Any, rpath: str, keys: KeyRange) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """objects.list pages from ``startOffset`` the range's start: GCS lists in UTF-8
        byte order, and only the range is listed. (Emulators may ignore the offset and
        the page size; the range is also applied here.)"""
        bucket, _, prefix = rpath.partition("/")
        params: dict[str, Any] = {"prefix": f"{prefix}/" if prefix else None, "maxResults": LIST_PAGE_OBJECTS}
        start = keys.after.partition("/")[2] if keys.after else ""
        if start > (params["prefix"] or ""):
            params["startOffset"] = start
        while True:
            page = fs.call("GET", "b/{}/o", bucket, json_out=True, **params)
            for item in page.get("items", ()):
                path = f"{bucket}/{item['name']}"
                if keys.beyond(path):
                    return
                if path in keys:
                    yield path, {**item, "name": path, "type": "file"}
            params["pageToken"] = page.get("nextPageToken")
            if not params["pageToken"]:
                return

    def checksums(self, info: Mapping[str, Any]) -> dict[str, str]:
        """``md5Hash`` (absent on composite objects) and ``crc32c``, which GCS computes
        for every object it stores."""
        found = {}
        if info.get("md5Hash"):
            found["md5"] = base64.b64decode(info["md5Hash"]).hex()
        if info.get("crc32c"):
            found["crc32c"] = info["crc32c"]
        return found

    def can_copy_from(self, source: Backend) -> bool:
        """The same endpoint reached with the same credentials: a rewrite reads the source
        with the destination's credentials."""
        return isinstance(source, GCSBackend) and all(
            self.options[o] == source.options[o] for o in ("endpoint", "serviceAccountKeySecret")
        )

    def copy_from(self, fs: Any, source: Backend, src_rpath: str, rpath: str, listed: Listed) -> Mapping[str, Any]:
        """objects.rewrite, repeated with its token until GCS says it is done (large
        objects between locations or storage classes take several calls); the last answer
        holds the new object."""
        names = (*src_rpath.split("/", 1), *rpath.split("/", 1))
        params: dict[str, Any] = {}
        while True:
            answer = fs.call("POST", REWRITE, *names, headers={"Content-Type": "application/json"}, json_out=True, **params)
            if answer.get("done"):
                fs.invalidate_cache(rpath)
                return answer["resource"]
            params["rewriteToken"] = answer["rewriteToken"]

    def upload_file(self, fs: "AbstractFileSystem", lpath: str, rpath: str, callback: Any = None) -> None:
        # gcsfs's put_file reads and sends 50 MiB chunks of a resumable upload (230 MB peak
        # for a 256 MiB Save, and as many chunks as objects in flight for a directory): it
        # takes only files of at most one block, in one request. Larger files up to
        # ONE_REQUEST_UPLOAD_MAX are one streamed request of a resumable upload; beyond,
        # the streamed writer, one block of the resumable upload per request.
        size = os.path.getsize(lpath)
        if size <= self.settings.write_block_size:
            super().upload_file(fs, lpath, rpath, callback)
            return
        if size <= ONE_REQUEST_UPLOAD_MAX:
            from fsspec.asyn import sync

            sync(fs.loop, _upload_whole, fs, lpath, rpath, callback)
            return
        with self.open_writer(fs, rpath) as writer, open(lpath, "rb") as f:
            while data := f.read(READ_PIECE):  # the writer gathers pieces into a block
                writer.write(data)
                if callback is not None:
                    callback.relative_update(len(data))

    def abandon_writer(self, f: Any) -> None:
        # Cancelling a resumable upload is one DELETE on GCS, but gcsfs retries a failed
        # one for about half a minute (emulators answer 501): do it off the request
        # thread. Nothing is published either way; an unfinished upload expires.
        f.closed = True  # never let the finaliser close (and so publish) it
        threading.Thread(target=discard_uncommitted, args=(f,), name="gcs-discard", daemon=True).start()


class _MediaStream:
    """One object's media in one GET (with gcsfs's session, credentials and retries on
    opening), ``read(n)`` at a time: gcsfs's ``open_async`` for OpenStream and Load. Without
    it, OpenStream read ranged blocks through gcsfs's buffered file (and its read-ahead), and
    Load's ``get_file`` fetched 16 MiB ranges four at a time (150 MB peak for a 256 MiB Load)."""

    def __init__(self, fs: Any, path: str) -> None:
        self.fs = fs
        self.path = path
        self._response: Any = None

    async def read(self, length: int = -1) -> bytes:
        if self._response is None:
            from gcsfs.retry import retry_request

            self._response = await retry_request(retries=self.fs.retries)(_get_media)(self.fs, self.path)
        return await self._response.content.read(length)

    async def close(self) -> None:
        if self._response is not None:
            self._response.close()  # a body read only in part must not go back to the pool


async def _upload_whole(fs: Any, lpath: str, rpath: str, callback: Any) -> None:
    """``lpath`` to ``rpath`` as a resumable upload of one streamed request: the object
    appears only once GCS holds every byte the session was opened for, so a request cut
    short publishes nothing (a single-request media upload would commit a short body on
    the emulator). Retried from a new session, with gcsfs's session, credentials and
    retries."""
    from gcsfs.core import initiate_upload
    from gcsfs.retry import retry_request, validate_response

    bucket, name, _ = fs.split_path(rpath)
    size = os.path.getsize(lpath)

    async def send() -> None:
        location = await initiate_upload(fs, bucket, name)
        headers = fs._get_headers({"Content-Range": f"bytes 0-{size - 1}/{size}"})
        with _ReportingFile(lpath, callback) as body:
            try:
                async with fs.session.put(location, headers=headers, data=body, timeout=fs.requests_timeout) as response:
                    content = await response.read()
                    validate_response(response.status, content, rpath)
                    if response.status == 308:  # "resume incomplete": not every byte arrived
                        raise OSError(f"GCS took only part of the upload to {rpath}")
            except Exception:
                if body.stopped is not None:  # the call ended: not a failure to retry
                    raise body.stopped from None
                raise

    await retry_request(retries=fs.retries)(send)()
    fs.invalidate_cache(rpath)


class _ReportingFile(io.BufferedReader):
    """A local file as a request body that tells ``callback`` of every piece read: the
    store's callback raises when the call must stop, which ends the request (and so the
    upload: nothing is published). A ``BufferedReader``, so that aiohttp streams it in
    pieces with its size as Content-Length. Opened by descriptor: aiohttp would send the
    name of a named file in a Content-Disposition header."""

    def __init__(self, path: str, callback: Any) -> None:
        super().__init__(io.FileIO(os.open(path, os.O_RDONLY), "rb"))
        self._callback = callback
        #: What the callback raised. aiohttp reports it as a connection error, which
        #: gcsfs would retry for half a minute.
        self.stopped: BaseException | None = None

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if self._callback is not None and data:
            try:
                self._callback.relative_update(len(data))
            except Exception as exc:
                self.stopped = exc
                raise
        return data


async def _get_media(fs: Any, path: str) -> Any:
    """The response to one GET of ``path``'s media, its body not read yet."""
    from gcsfs.retry import validate_response

    await fs._set_session()
    response = await fs.session.get(
        fs.url(path), params=fs._get_params({}), headers=fs._get_headers(None), timeout=fs.requests_timeout,
    )
    if response.status >= 400:
        try:
            content = await response.read()
        finally:
            response.release()
        validate_response(response.status, content, path)  # raises, FileNotFoundError for a 404
    return response


def _google_auth_exceptions() -> Any:
    try:
        from google.auth import exceptions
    except ImportError:  # the [gcs] extra is not installed: nothing of it can have been raised
        return None
    return exceptions


def _parse_key(value: bytes, ref: SecretRef) -> dict[str, Any]:
    """The JSON key in the secret as a dict, checked for what google-auth needs."""
    try:
        info = json.loads(value)
    except UnicodeDecodeError:
        raise BadConfiguration(f"{ref} must hold a JSON service-account key, but it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:  # its message quotes no content, only a position
        raise BadConfiguration(
            f"{ref} must hold a JSON service-account key, but it is not JSON (line {exc.lineno}, "
            f"column {exc.colno}); store the key file exactly as Google Cloud downloads it"
        ) from None
    if not isinstance(info, dict) or not isinstance(info.get("type"), str):
        raise BadConfiguration(
            f"{ref} must hold a JSON service-account key, an object with a 'type' field "
            "(\"service_account\" for a key downloaded from Google Cloud)"
        )
    if info["type"] == "service_account":
        missing = [f for f in SERVICE_ACCOUNT_FIELDS if not isinstance(info.get(f), str) or not info[f]]
        if missing:
            raise BadConfiguration(
                f"the service-account key in {ref} lacks {', '.join(repr(f) for f in missing)}; "
                "store the whole JSON key file as Google Cloud downloads it"
            )
    return info


def _adc_source() -> str:
    """Which link of Google's default chain would answer, found without a network call."""
    path = os.environ.get(ADC_ENV)
    if path:
        return f"the file in {ADC_ENV} ({path}{'' if os.path.exists(path) else ', which does not exist'})"
    config = os.environ.get("CLOUDSDK_CONFIG") or os.path.join(os.path.expanduser("~"), ".config", "gcloud")
    well_known = os.path.join(config, "application_default_credentials.json")
    if os.path.exists(well_known):
        return f"gcloud's application-default file ({well_known})"
    return "the metadata server (GKE workload identity or the VM's service account; not probed here)"
