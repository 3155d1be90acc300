"""What a user would use instead of the plugin: each store's vendor SDK, its usual paths.

For every store and every call, :func:`baselines` gives the ways the vendor's SDK (or, for
``file``, the standard library) does the same transfer in this process, with the SDK's
default settings, as a program without the plugin would. The benchmark times them all in
the same run and compares the plugin with the fastest; the others are printed beside it.

- S3, boto3: one streamed ``get_object`` read into a file, ``download_file`` (s3transfer's
  ranged GETs on threads), ``upload_file``, ``upload_fileobj``, ``get_object`` read 1 MiB at
  a time, ``upload_fileobj`` of a non-seekable stream;
- GCS, google-cloud-storage: ``download_to_filename``, ``upload_from_filename``, a blob's
  ``open()`` read and written in chunks;
- Azure, azure-storage-blob: ``download_blob().readinto``, ``upload_blob`` (default and 4
  connections), ``download_blob().chunks()``, ``upload_blob`` of a chunk iterator;
- file: ``shutil.copyfile``, a plain read and a plain write in chunks.

These SDKs are benchmark dependencies only (installed through moto, gcsfs and adlfs and
pinned in ``constraints.txt``); the plugin never imports them.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Callable, Iterable, Iterator

from support import servers as test_servers
from support.stores import AZURITE_ACCOUNT, AZURITE_KEY, AzureStore, FileStore, GCSStore, S3Store, StoreUnderTest

MiB = 1024 * 1024
READ_CHUNK = MiB  # a reader's chunk, the plugin's OpenStream message size

#: call -> {variant name: action}. Load: (key, local path); Save: (local path, key);
#: OpenStream: (key) -> bytes read; SaveStream: (key, chunks).
Variants = dict[str, Callable[..., object]]


class ChunkStream(io.RawIOBase):
    """A non-seekable file over an iterator of chunks: a stream whose size nobody knows
    in advance, as SaveStream receives it."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._left = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._left = memoryview(chunk)
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


def baselines(store: StoreUnderTest) -> dict[str, Variants]:
    """call -> the vendor SDK's ways of doing it on ``store``."""
    if isinstance(store, S3Store):
        return _boto3(store)
    if isinstance(store, GCSStore):
        return _google_cloud_storage(store)
    if isinstance(store, AzureStore):
        return _azure_storage_blob(store)
    if isinstance(store, FileStore):
        return _plain_files(store)
    raise ValueError(f"no SDK baseline for {store!r}")


def sdk_name(store: StoreUnderTest) -> str:
    return {S3Store: "boto3", GCSStore: "google-cloud-storage", AzureStore: "azure-storage-blob",
            FileStore: "python"}[type(store)]


def _read_all(read: Callable[[int], bytes]) -> int:
    n = 0
    while data := read(READ_CHUNK):
        n += len(data)
    return n


def _boto3(store: S3Store) -> dict[str, Variants]:
    import boto3

    endpoint = store.config.split("endpoint: ", 1)[1].split("\n", 1)[0]
    client = boto3.client(
        "s3", endpoint_url=f"http://{endpoint}", region_name="us-east-1",
        aws_access_key_id=test_servers.MOTO_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=test_servers.MOTO_ENV["AWS_SECRET_ACCESS_KEY"],
    )
    bucket = store.root

    def get_object_to_file(key: str, dest: Path) -> None:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        with open(dest, "wb") as f:
            for chunk in body.iter_chunks(READ_CHUNK):
                f.write(chunk)

    def upload_fileobj_file(src: Path, key: str) -> None:
        with open(src, "rb") as f:
            client.upload_fileobj(f, bucket, key)

    def get_object_read(key: str) -> int:
        return _read_all(client.get_object(Bucket=bucket, Key=key)["Body"].read)

    return {
        "Load": {"get_object streamed": get_object_to_file,
                 "download_file": lambda key, dest: client.download_file(bucket, key, str(dest))},
        "Save": {"upload_file": lambda src, key: client.upload_file(str(src), bucket, key),
                 "upload_fileobj": upload_fileobj_file},
        "OpenStream": {"get_object read 1 MiB": get_object_read},
        "SaveStream": {"upload_fileobj stream": lambda key, chunks: client.upload_fileobj(ChunkStream(chunks), bucket, key)},
    }


def _google_cloud_storage(store: GCSStore) -> dict[str, Variants]:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    endpoint = store.config.split("endpoint: ", 1)[1].split("\n", 1)[0]
    client = storage.Client(project="test", credentials=AnonymousCredentials(), client_options={"api_endpoint": endpoint})
    bucket = client.bucket(store.root)

    def open_read(key: str) -> int:
        with bucket.blob(key).open("rb") as f:
            return _read_all(f.read)

    def open_write(key: str, chunks: Iterable[bytes]) -> None:
        with bucket.blob(key).open("wb") as f:
            for chunk in chunks:
                f.write(chunk)

    return {
        "Load": {"download_to_filename": lambda key, dest: bucket.blob(key).download_to_filename(str(dest))},
        "Save": {"upload_from_filename": lambda src, key: bucket.blob(key).upload_from_filename(str(src))},
        "OpenStream": {"blob.open('rb') read 1 MiB": open_read},
        "SaveStream": {"blob.open('wb') write": open_write},
    }


def _azure_storage_blob(store: AzureStore) -> dict[str, Variants]:
    from azure.storage.blob import BlobServiceClient

    endpoint = store.config.split("endpoint: ", 1)[1].split("\n", 1)[0]
    service = BlobServiceClient.from_connection_string(
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};"
    )
    container = service.get_container_client(store.root)

    def readinto(key: str, dest: Path, concurrency: int = 1) -> None:
        with open(dest, "wb") as f:
            container.get_blob_client(key).download_blob(max_concurrency=concurrency).readinto(f)

    def upload(src: Path, key: str, concurrency: int = 1) -> None:
        with open(src, "rb") as f:
            container.get_blob_client(key).upload_blob(f, overwrite=True, max_concurrency=concurrency)

    def chunks_read(key: str) -> int:
        return sum(len(c) for c in container.get_blob_client(key).download_blob().chunks())

    return {
        "Load": {"download_blob().readinto": readinto,
                 "download_blob(max_concurrency=4).readinto": lambda key, dest: readinto(key, dest, 4)},
        "Save": {"upload_blob": upload, "upload_blob(max_concurrency=4)": lambda src, key: upload(src, key, 4)},
        "OpenStream": {"download_blob().chunks()": chunks_read},
        "SaveStream": {"upload_blob(iterator)": lambda key, chunks: container.get_blob_client(key).upload_blob(
            chunks, overwrite=True)},
    }


def _plain_files(store: FileStore) -> dict[str, Variants]:
    def read(key: str) -> int:
        with open(store.path(key), "rb", buffering=0) as f:
            return _read_all(f.read)

    def write(key: str, chunks: Iterable[bytes]) -> None:
        with open(store.path(key), "wb") as f:
            for chunk in chunks:
                f.write(chunk)

    return {
        "Load": {"shutil.copyfile": lambda key, dest: shutil.copyfile(store.path(key), dest)},
        "Save": {"shutil.copyfile": lambda src, key: shutil.copyfile(src, store.path(key))},
        "OpenStream": {"read 1 MiB": read},
        "SaveStream": {"write chunks": write},
    }
