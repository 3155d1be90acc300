"""This repository's stores under test: each built-in backend configured against its test
server, with an out-of-band view through the store's own client library.

Adding a built-in backend to the suite is one class here and one line in ``STORES`` of
``tests/integration/conftest.py``.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from argo_artifact_driver.plugin_server.testing.store import StoreUnderTest


class FileStore(StoreUnderTest):
    scheme = "file"
    stamp_field = "mtime"
    object_and_prefix_may_share_a_name = False

    def __init__(self, root: Path) -> None:
        from fsspec.implementations.local import LocalFileSystem

        root.mkdir(parents=True, exist_ok=True)
        super().__init__(f"scheme: file\nroot: {root}\n", LocalFileSystem(auto_mkdir=True), str(root))


class S3Store(StoreUnderTest):
    scheme = "s3"
    stamp_field = "LastModified"
    stamp_resolution = 1.0

    def __init__(self, endpoint: str, bucket: str) -> None:
        import s3fs

        fs = s3fs.S3FileSystem(
            key="testing", secret="testing", client_kwargs={"endpoint_url": f"http://{endpoint}", "region_name": "us-east-1"},
            skip_instance_cache=True,
        )
        if not fs.exists(bucket):  # mkdir raises FileExistsError on an existing bucket
            fs.call_s3("create_bucket", Bucket=bucket)  # mkdir sends a location constraint moto refuses for us-east-1
        config = f"scheme: s3\nbucket: {bucket}\nendpoint: {endpoint}\ninsecure: true\nregion: us-east-1\n"
        super().__init__(config, fs, bucket)


class FileSystemStore(StoreUnderTest):
    """A store that is a file system (SFTP, FTP, ...): a name is a file or a directory,
    never both, and writing a file needs its parent directory."""

    object_and_prefix_may_share_a_name = False

    def put(self, key: str, data: bytes) -> None:
        try:
            self.fs.makedirs(posixpath.dirname(self.path(key)), exist_ok=True)
            super().put(key, data)
        except OSError:
            raise
        except Exception as exc:  # the client library's own error type (asyncssh's SFTPError)
            raise OSError(f"{self.scheme} refused to write {key!r}: {exc}") from exc


class GCSStore(StoreUnderTest):
    """A bucket on a GCS emulator, seen through gcsfs (anonymous, as emulators expect)."""

    scheme = "gcs"
    stamp_field = "generation"

    def payload(self, data: bytes) -> bytes:
        # gcp-storage-emulator drops a trailing b"\r" from a multipart upload (gcsfs sends
        # small objects that way): reproduced with gcsfs alone, no plugin involved, so it
        # is the emulator's defect. Real GCS keeps every byte.
        return data[:-1] + b"\n" if data.endswith(b"\r") else data

    def __init__(self, endpoint: str, bucket: str) -> None:
        from gcsfs.core import GCSFileSystem  # the class without the gRPC bucket probe

        fs = GCSFileSystem(endpoint_url=endpoint, token="anon", project="test", use_listings_cache=False,
                           skip_instance_cache=True)
        if not fs.exists(bucket):
            fs.mkdir(bucket)
        super().__init__(f"scheme: gcs\nbucket: {bucket}\nendpoint: {endpoint}\n", fs, bucket)


#: Azurite's account and its published, well-known key (not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class AzureStore(StoreUnderTest):
    """A container on Azurite, seen through adlfs. The plugin finds the account key in
    ``AZURE_STORAGE_ACCOUNT_KEY`` (see :attr:`plugin_env`)."""

    scheme = "azure"
    stamp_field = "etag"
    plugin_env = {"AZURE_STORAGE_ACCOUNT_KEY": AZURITE_KEY}

    def __init__(self, endpoint: str, container: str) -> None:
        import adlfs

        connection_string = (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={endpoint};"
        )
        fs = adlfs.AzureBlobFileSystem(connection_string=connection_string, use_listings_cache=False,
                                       skip_instance_cache=True)
        if not fs.exists(container):
            fs.mkdir(container)
        super().__init__(f"scheme: azure\nendpoint: {endpoint}\ncontainer: {container}\n", fs, container)


class SFTPStore(FileSystemStore):
    """A directory on an OpenSSH server, through ``scheme: fsspec`` with protocol sftp,
    seen through sshfs with the same key."""

    scheme = "fsspec"  # protocol sftp

    def __init__(self, port: int, username: str, client_key: Path, root: str) -> None:
        import json

        from sshfs import SSHFileSystem

        options = {"host": "127.0.0.1", "port": port, "username": username,
                   "client_keys": [str(client_key)], "known_hosts": None}
        fs = SSHFileSystem(**options, skip_instance_cache=True)
        fs.makedirs(root, exist_ok=True)
        config = f"scheme: fsspec\nprotocol: sftp\nroot: {root}\nstorageOptions: {json.dumps(options)}\n"
        super().__init__(config, fs, root)


class FTPStore(FileSystemStore):
    """A directory served by an FTP server, through ``scheme: fsspec`` with protocol ftp,
    seen on the server's own disk (the served directory)."""

    scheme = "fsspec"  # protocol ftp

    def __init__(self, port: int, username: str, password: str, served_dir: Path, subdir: str) -> None:
        from fsspec.implementations.local import LocalFileSystem

        root = served_dir / subdir
        root.mkdir(parents=True, exist_ok=True)
        config = (
            f"scheme: fsspec\nprotocol: ftp\nroot: /{subdir}\n"
            f"storageOptions: {{host: 127.0.0.1, port: {port}, username: {username}, password: {password}}}\n"
        )
        super().__init__(config, LocalFileSystem(), str(root))
