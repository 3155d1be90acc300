"""``scheme: azure``: Azure Blob Storage through adlfs.

Option names follow Argo's Azure artifact repository: ``endpoint``
(``https://ACCOUNT.blob.core.windows.net``, or an emulator's
``http://127.0.0.1:10000/devstoreaccount1``), ``container``, ``accountKeySecret`` and
``useSDKCreds``.

Credentials, first match wins (``useSDKCreds`` and ``accountKeySecret`` together are
refused: they contradict each other):

1. ``useSDKCreds: true``: the Azure default credential chain (workload identity, managed
   identity, environment service principal, ...) through azure-identity;
2. ``accountKeySecret``: the account's shared key, read from a Kubernetes secret, for
   the account named by ``endpoint``;
3. neither set: ``AZURE_STORAGE_ACCOUNT_KEY``, else ``AZURE_STORAGE_CONNECTION_STRING``,
   in the plugin's environment.

Anything else is a configuration error: a store must never be reached anonymously by
accident.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Mapping
from urllib.parse import urlsplit

from ..core.backend import (
    Backend,
    BadConfiguration,
    KeyRange,
    Listed,
    Option,
    Reach,
    Requirement,
    name_without_slash,
    secret_ref,
)
from ._errors import network_error
from ._http import PartBody, with_streamed_read

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

ACCOUNT_NAME_ENV = "AZURE_STORAGE_ACCOUNT_NAME"
ACCOUNT_KEY_ENV = "AZURE_STORAGE_ACCOUNT_KEY"
CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"
#: Blobs per List Blobs page (the service's maximum).
LIST_PAGE_BLOBS = 5000


@dataclass(frozen=True)
class AzureCredentials:
    """What authenticates the plugin to the account; never logged or shown."""

    account_key: str | None = None
    connection_string: str | None = None

    def __repr__(self) -> str:  # a stray log line must not print a key
        return "AzureCredentials(<redacted>)"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> "AzureCredentials":
        return cls(environ.get(ACCOUNT_KEY_ENV) or None, environ.get(CONNECTION_STRING_ENV) or None)


def _blob_endpoint(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname:
        return None
    return "must be a URL such as https://ACCOUNT.blob.core.windows.net"


class AzureBackend(Backend):
    """Keys live in ``container`` of the storage account at ``endpoint``."""

    requires = (Requirement("adlfs", extra="azure"), Requirement("azure.identity", extra="azure"))
    option_spec = {
        "endpoint": Option(
            str, required=True, check=_blob_endpoint, reaches=Reach.HOST,
            help="the account's blob endpoint, e.g. https://ACCOUNT.blob.core.windows.net",
        ),
        "container": Option(str, required=True, help="the container holding artifacts", check=name_without_slash),
        "accountKeySecret": secret_ref("the storage account's access key (shared key)"),
        "useSDKCreds": Option(bool, default=False, help="authenticate with the Azure default credential chain"),
    }

    def validate(self) -> None:
        if self.options["useSDKCreds"] and self.options["accountKeySecret"] is not None:
            raise BadConfiguration(
                "'useSDKCreds: true' and 'accountKeySecret' contradict each other: remove accountKeySecret to "
                "use the Azure default credential chain, or useSDKCreds to use the account key"
            )

    def account_name(self, environ: Mapping[str, str] | None = None) -> str:
        """The storage account: ``ACCOUNT.blob.core.windows.net`` (and sovereign clouds),
        else the first path segment (Azurite, path-style endpoints), else the environment."""
        parts = urlsplit(self.options["endpoint"])
        host = parts.hostname or ""
        if ".blob." in host:
            return host.split(".", 1)[0]
        segment = parts.path.strip("/").split("/", 1)[0]
        if segment:
            return segment
        name = (os.environ if environ is None else environ).get(ACCOUNT_NAME_ENV)
        if not name:
            raise BadConfiguration(
                f"cannot tell the storage account from 'endpoint' {self.options['endpoint']!r}: "
                f"use https://ACCOUNT.blob.core.windows.net, or set {ACCOUNT_NAME_ENV}"
            )
        return name

    def create_filesystem(self) -> "AbstractFileSystem":
        # The base class rebuilds the filesystem (skip_instance_cache below: a new client)
        # when the secret's value changes, so a rotated key is picked up.
        return self.filesystem_for(self.credentials())

    def credentials(self) -> AzureCredentials:
        """The account key from ``accountKeySecret`` when set, else the environment's."""
        resolved = self.secret("accountKeySecret")
        if resolved is None:
            return AzureCredentials.from_environment(os.environ)
        key = resolved.text()
        try:
            ok = len(base64.b64decode(key, validate=True)) > 0
        except binascii.Error:
            ok = False
        if not ok:  # the SDK would fail later with an obscure signing error
            raise BadConfiguration(
                f"the account key in {self.options['accountKeySecret']} is not base64; store the storage "
                "account's access key (key1 or key2 in the portal) as it is shown"
            )
        return AzureCredentials(account_key=key)

    def builtin_error(self, exc: BaseException) -> BaseException:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
            ServiceResponseError,
        )

        refused = isinstance(exc, (PermissionError, ClientAuthenticationError)) or (
            isinstance(exc, HttpResponseError) and exc.status_code in (401, 403)
        )
        if not refused:
            if isinstance(exc, ResourceNotFoundError):
                return FileNotFoundError(_first_line(exc))
            if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
                return ConnectionError(_first_line(exc))
            if isinstance(exc, HttpResponseError):
                return OSError(f"Azure answered {exc.status_code}: {_first_line(exc)}")
            return network_error(exc) or exc
        # A refused key says which secret it came from (never the value), so a person
        # knows what to fix: the secret, not the container.
        ref = self.options["accountKeySecret"]
        hint = (f" (the account key comes from accountKeySecret, {ref}: check it holds a current key of "
                f"account '{self.account_name()}')" if ref is not None else "")
        return PermissionError(f"{_first_line(exc)}{hint}")

    def credential_report(self) -> list[str]:
        lines = super().credential_report()
        if self.options["useSDKCreds"]:
            lines.append("credentials: Azure default credential chain (azure-identity: environment, "
                         "workload identity, managed identity, Azure CLI)")
        elif self.options["accountKeySecret"] is not None:
            self.credentials()  # validates the key's form
            lines.append(f"credentials: account key of '{self.account_name()}' from accountKeySecret")
        else:
            found = AzureCredentials.from_environment(os.environ)
            source = (ACCOUNT_KEY_ENV if found.account_key else CONNECTION_STRING_ENV if found.connection_string
                      else "none found: requests would fail; set accountKeySecret or useSDKCreds")
            lines.append(f"credentials: plugin environment, {source}")
        return lines

    def filesystem_for(self, credentials: AzureCredentials) -> "AbstractFileSystem":
        """The filesystem authenticated as configured (``useSDKCreds``) or with ``credentials``."""
        fs = self._connect(credentials)
        # A download reads its first MAX_SINGLE_GET bytes in one request, held whole in
        # memory (32 MiB by default), then chunks of MAX_CHUNK_GET (4 MiB), one request
        # each: both READ_BLOCK_SIZE (8 MiB; Load of 256 MiB from Azurite: 4 MiB chunks
        # 3.4 s, 8 MiB 2.5 s, 16 MiB 2.2 s but 126 MB peak instead of 102 MB).
        config = fs.service_client._config
        config.max_single_get_size = config.max_chunk_get_size = self.settings.read_block_size
        return fs

    def _connect(self, credentials: AzureCredentials) -> "AbstractFileSystem":
        adlfs = self.sdk("adlfs", self.scheme)
        streaming = with_streamed_read(adlfs.AzureBlobFileSystem, _BlobStream)
        common: dict[str, Any] = {
            "blocksize": self.settings.write_block_size,
            "use_listings_cache": False,  # a long-running server must not answer from a stale listing
            "skip_instance_cache": True,
        }
        if self.options["useSDKCreds"]:
            self.sdk("azure.identity", self.scheme)
            return streaming(
                account_name=self.account_name(), account_host=self._account_host(), anon=False, **common
            )
        if credentials.account_key:
            return streaming(connection_string=self._connection_string(credentials.account_key), **common)
        if credentials.connection_string:
            return streaming(connection_string=credentials.connection_string, **common)
        raise BadConfiguration(
            f"no credentials for {self.describe()}: set 'accountKeySecret' to a secret holding the account key, "
            f"'useSDKCreds: true' to use the Azure default credential chain, or give the plugin "
            f"{ACCOUNT_KEY_ENV} or {CONNECTION_STRING_ENV}"
        )

    def _account_host(self) -> str:
        # adlfs builds https://{account_host}; keep a path-style account segment.
        parts = urlsplit(self.options["endpoint"])
        return f"{parts.netloc}{parts.path.rstrip('/')}"

    def _connection_string(self, account_key: str) -> str:
        endpoint = self.options["endpoint"].rstrip("/")
        protocol = urlsplit(endpoint).scheme
        return (
            f"DefaultEndpointsProtocol={protocol};AccountName={self.account_name()};"
            f"AccountKey={account_key};BlobEndpoint={endpoint};"
        )

    def root(self) -> str:
        return self.options["container"].strip("/")

    def describe(self) -> str:
        return f"azure container '{self.root()}' at {self.options['endpoint']}"

    # -- migrate: listing in key order, checksums, in-store copies ----------------------

    #: What the plugin writes carries a Content-MD5: Azure computes it for a Put Blob, and
    #: :class:`AzureUpload` sets it with a block list (Azure stores it, it does not compute it).
    writer_records_checksum = True

    def list_sorted(self, fs: Any, rpath: str, keys: KeyRange) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """List Blobs pages from ``startFrom`` the range's start: Azure lists in UTF-8
        byte order, and only the range is listed (the range is also applied here, for
        servers that ignore ``startFrom``)."""
        from fsspec.asyn import sync

        container, _, prefix = rpath.partition("/")
        start = keys.after.partition("/")[2] if keys.after else ""
        name_prefix = f"{prefix}/" if prefix else None
        token = None
        while True:
            blobs, token = sync(fs.loop, _list_page, fs, container, name_prefix, start or None, token)
            for blob in blobs:
                if keys.beyond(blob["name"]):
                    return
                if blob["name"] in keys:
                    yield blob["name"], blob
            if not token:
                return

    def checksums(self, info: Mapping[str, Any]) -> dict[str, str]:
        """Content-MD5: computed by Azure for a blob written in one Put Blob (and returned
        by it), set by :class:`AzureUpload` at the commit of a block list, copied with the blob."""
        settings = info.get("content_settings")  # a dict, or the SDK's ContentSettings (a dict-like object)
        md5 = info.get("content_md5") or (settings.get("content_md5") if settings is not None else None)
        return {"md5": bytes(md5).hex()} if md5 else {}

    def can_copy_from(self, source: Backend) -> bool:
        """The same account at the same endpoint with the same credentials: a copy inside
        the account is authorised by them."""
        return isinstance(source, AzureBackend) and all(
            self.options[o] == source.options[o] for o in ("endpoint", "accountKeySecret", "useSDKCreds")
        )

    def copy_from(self, fs: Any, source: Backend, src_rpath: str, rpath: str, listed: Listed) -> Mapping[str, Any]:
        """Copy Blob from the source blob's URL, waiting until Azure reports it complete
        (copies inside an account usually are at once); the blob's properties then."""
        from fsspec.asyn import sync

        sync(fs.loop, _copy_blob, fs, src_rpath, rpath)
        fs.invalidate_cache(rpath)
        return fs.info(rpath)

    def download_memory(self) -> int:
        # The downloader holds a whole READ_BLOCK_SIZE chunk while it is read out, and the
        # next one as it arrives (a directory Load of 32 MiB blobs peaked at 268 MB when
        # counted as three stream chunks).
        return 2 * self.settings.read_block_size + self.settings.stream_chunk_size

    def multipart_upload(self, fs: "AbstractFileSystem", rpath: str) -> "AzureUpload":
        # Save and SaveStream stage blocks several at once, in the plugin's memory budget
        # (adlfs's writer stages one block at a time; its put_file leaves the concurrency
        # and memory to azure-storage-blob).
        return AzureUpload(fs, rpath)


async def _list_page(fs: Any, container: str, prefix: str | None, start: str | None, token: str | None) -> tuple[list, str | None]:
    """One page of List Blobs: (blob infos, the token of the next page or None)."""
    client = fs.service_client.get_container_client(container)
    pages = client.list_blobs(name_starts_with=prefix, start_from=start, results_per_page=LIST_PAGE_BLOBS)
    pager = pages.by_page(continuation_token=token)
    blobs = [
        {"name": f"{container}/{blob.name}", "type": "file", "size": blob.size,
         "content_md5": blob.content_settings.content_md5}
        async for blob in await pager.__anext__()
    ]
    return blobs, pager.continuation_token


async def _copy_blob(fs: Any, src_rpath: str, rpath: str) -> None:
    import asyncio

    src_container, _, src_blob = src_rpath.partition("/")
    container, _, blob = rpath.partition("/")
    source_url = fs.service_client.get_blob_client(src_container, src_blob).url
    async with fs.service_client.get_blob_client(container, blob) as client:
        copy = await client.start_copy_from_url(source_url)
        status = copy.get("copy_status")
        while status == "pending":
            await asyncio.sleep(0.5)
            status = (await client.get_blob_properties()).copy.status
        if status != "success":
            raise OSError(f"Azure did not complete the copy of {src_rpath} to {rpath}: copy status {status!r}")


class _BlobStream:
    """One blob read in order, ``read(n)`` at a time, over azure-storage-blob's downloader
    (one request per chunk of READ_BLOCK_SIZE, one chunk at a time): adlfs's ``open_async``
    for OpenStream and Load. Without it, OpenStream read fixed blocks through adlfs's
    buffered file, and Load's ``get_file`` downloaded with as many connections as adlfs's
    batch size, each chunk held in memory (336 MB peak for a 256 MiB blob)."""

    def __init__(self, fs: Any, path: str) -> None:
        self.fs = fs
        self.path = path
        self._client: Any = None
        self._chunks: Any = None
        self._left = memoryview(b"")

    async def read(self, length: int = -1) -> bytes:
        if self._chunks is None:
            from azure.core.exceptions import ResourceNotFoundError

            container, blob, version_id = self.fs.split_path(self.path)
            self._client = self.fs.service_client.get_blob_client(container, blob)
            try:
                downloader = await self._client.download_blob(version_id=version_id, max_concurrency=1)
            except ResourceNotFoundError:
                raise FileNotFoundError(self.path) from None
            self._chunks = downloader.chunks()
        while not self._left:
            try:
                self._left = memoryview(await self._chunks.__anext__())
            except StopAsyncIteration:
                return b""
        n = len(self._left) if length < 0 else min(length, len(self._left))
        out, self._left = self._left[:n], self._left[n:]
        return bytes(out)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


class AzureUpload:
    """One blob written as staged blocks committed as a list (or one Put Blob, when smaller
    than a block), through adlfs's client. Blobs carry adlfs's ``is_directory`` metadata,
    as adlfs's own uploads do."""

    min_part_size = 1
    max_parts = 50_000  # blocks in one blob
    metadata = {"is_directory": "false"}

    def __init__(self, fs: Any, rpath: str) -> None:
        self.fs = fs
        self.path = rpath
        self.container, self.blob, _ = fs.split_path(rpath)
        # The blob's MD5, set with the block list (migrate compares it; Azure computes one
        # only for a Put Blob). Parts are hashed in upload_part before its first await:
        # their coroutines are started on the loop in the order the writer sends them.
        self._md5 = hashlib.md5()

    def _client(self) -> Any:
        return self.fs.service_client.get_blob_client(self.container, self.blob)

    async def put(self, data: bytes | memoryview) -> None:
        async with self._client() as client:
            with PartBody(data) as body:
                await client.upload_blob(body, length=len(data), overwrite=True, metadata=self.metadata,
                                         **self.fs._timeout_kwargs)
        self.fs.invalidate_cache(self.path)

    async def begin(self) -> None:
        pass  # a block list needs no start: staged blocks stay invisible until committed

    async def upload_part(self, number: int, data: memoryview) -> str:
        self._md5.update(data)
        block_id = f"{number:06d}"  # the same length for every block, as Azure requires
        async with self._client() as client:
            with PartBody(data) as body:
                await client.stage_block(block_id, body, length=len(data), **self.fs._timeout_kwargs)
        return block_id

    async def complete(self, receipts: list[str]) -> None:
        from azure.storage.blob import BlobBlock, ContentSettings

        settings = ContentSettings(content_type="application/octet-stream", content_md5=bytearray(self._md5.digest()))
        async with self._client() as client:
            await client.commit_block_list([BlobBlock(block_id=b) for b in receipts], metadata=self.metadata,
                                           content_settings=settings, **self.fs._timeout_kwargs)
        self.fs.invalidate_cache(self.path)

    async def abort(self) -> None:
        pass  # uncommitted blocks are never visible, and Azure drops them after a week


def _first_line(exc: BaseException) -> str:
    # azure-core's messages run on with the whole XML error body; the first line says it.
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
