"""Configuration checks of the GCS, Azure and generic fsspec backends (no storage needed:
these fail before any SDK is reached, with a message that names the option)."""

from __future__ import annotations

import pytest

from argo_artifact_driver.backends.azure import AzureBackend, AzureCredentials
from argo_artifact_driver.backends.fsspec_generic import FsspecBackend
from argo_artifact_driver.backends.gcs import GCSBackend
from argo_artifact_driver.core.errors import BadConfiguration
from argo_artifact_driver.core.settings import Settings


def azure(**options):
    return AzureBackend("azure", {"container": "c", **options}, Settings())


@pytest.mark.parametrize(
    "endpoint, account",
    [
        ("https://myaccount.blob.core.windows.net", "myaccount"),
        ("https://myaccount.blob.core.chinacloudapi.cn/", "myaccount"),
        ("http://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1"),
    ],
)
def test_azure_account_name_from_endpoint(endpoint, account):
    assert azure(endpoint=endpoint).account_name({}) == account


def test_azure_account_name_from_environment_for_a_bare_private_endpoint():
    backend = azure(endpoint="https://blobs.internal.example")
    assert backend.account_name({"AZURE_STORAGE_ACCOUNT_NAME": "acct"}) == "acct"
    with pytest.raises(BadConfiguration, match="AZURE_STORAGE_ACCOUNT_NAME"):
        backend.account_name({})


def test_azure_without_credentials_says_what_to_set():
    backend = azure(endpoint="https://myaccount.blob.core.windows.net")
    with pytest.raises(BadConfiguration) as info:
        backend.filesystem_for(AzureCredentials())
    assert "useSDKCreds" in str(info.value) and "AZURE_STORAGE_ACCOUNT_KEY" in str(info.value)


def test_azure_credentials_never_print_a_key():
    creds = AzureCredentials(account_key="c2VjcmV0", connection_string="AccountKey=c2VjcmV0")
    assert "c2VjcmV0" not in repr(creds) and "c2VjcmV0" not in str(creds)


def test_azure_endpoint_must_be_a_url():
    with pytest.raises(BadConfiguration, match="'endpoint'"):
        azure(endpoint="myaccount.blob.core.windows.net")


@pytest.mark.parametrize("endpoint", ["127.0.0.1:9023", "storage.googleapis.com"])
def test_gcs_endpoint_must_be_a_url(endpoint):
    with pytest.raises(BadConfiguration, match="'endpoint'"):
        GCSBackend("gcs", {"bucket": "b", "endpoint": endpoint}, Settings())


def test_gcs_http_endpoint_is_an_emulator_https_is_not():
    assert GCSBackend("gcs", {"bucket": "b", "endpoint": "http://127.0.0.1:1"}, Settings()).is_emulator
    assert not GCSBackend("gcs", {"bucket": "b", "endpoint": "https://private.example"}, Settings()).is_emulator


def test_fsspec_unknown_protocol_is_named():
    backend = FsspecBackend("fsspec", {"protocol": "nosuchproto"}, Settings())
    with pytest.raises(BadConfiguration, match="'nosuchproto' is not a protocol fsspec knows"):
        backend.create_filesystem()


def test_fsspec_refuses_local_files_in_favour_of_the_file_scheme():
    with pytest.raises(BadConfiguration, match="scheme: file"):
        FsspecBackend("fsspec", {"protocol": "file"}, Settings())


def test_fsspec_rejected_storage_option_is_a_configuration_error():
    backend = FsspecBackend("fsspec", {"protocol": "sftp", "storageOptions": {"hots": "x"}}, Settings())
    with pytest.raises(BadConfiguration, match="storageOptions"):
        backend.create_filesystem()
