"""Argo's GCS ``serviceAccountKeySecret`` and Azure ``accountKeySecret``/``useSDKCreds``,
against Azurite and the GCS emulator, with the plugin as a separate process.

Secrets reach the plugin as files in a mounted-style directory
(``ARGO_ARTIFACT_DRIVER_SECRETS_DIR``); its environment holds no Azure key, so a
successful Azure call proves the referenced secret was used. The GCS emulator is
anonymous (and the plugin never sends a key over plain HTTP), so the GCS cases prove
that the key is read and validated, and that ``check --resolve`` says what is used; an
HTTPS stand-in for Google's token endpoint in front of the emulator
(:mod:`google_front`) shows the key signing the token request of a real call. At
the end the plugin's log and every error seen here are scanned for the secret values.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess, console_script
from argo_artifact_driver.plugin_server.testing.policy import write_policy
from support.google_front import ACCESS_TOKEN, GoogleFront
from support.leaks import stop_and_assert_no_secret_leaked
from support.servers import GCS_EMULATOR_ENV
from support.stores import AZURITE_KEY, AzureStore, GCSStore
from support.tlsutil import make_ca

WRONG_AZURE_KEY = base64.b64encode(b"wrong-azure-key-5e1f" * 3).decode()
NOT_BASE64_KEY = "not base64 at all! 7c2a"
SA_EMAIL = "argo-artifacts@my-project.iam.gserviceaccount.com"
_errors: list[str] = []


_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_KEY = _RSA_KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()
PUBLIC_KEY = _RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
PRIVATE_KEY_ID = uuid.uuid4().hex
SERVICE_ACCOUNT = {  # the shape of a key downloaded from Google Cloud
    "type": "service_account", "project_id": "my-project", "private_key_id": PRIVATE_KEY_ID,
    "private_key": PRIVATE_KEY, "client_email": SA_EMAIL, "client_id": "1234567890",
    "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": "https://oauth2.googleapis.com/token",
}
# A line of the key's body: what a leaked key would show.
PRIVATE_KEY_LINE = PRIVATE_KEY.splitlines()[5]
SECRET_VALUES = (AZURITE_KEY, WRONG_AZURE_KEY, NOT_BASE64_KEY, PRIVATE_KEY_LINE, PRIVATE_KEY_ID, "front-door-token-3b7e")


def _write(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data)


@pytest.fixture(scope="module")
def secrets_dir(work_dir: Path) -> Path:
    root = work_dir / "cloud-secrets"
    _write(root / "azure-cred" / "accountkey", AZURITE_KEY + "\n")
    _write(root / "azure-wrong" / "accountkey", WRONG_AZURE_KEY)
    _write(root / "azure-garbled" / "accountkey", NOT_BASE64_KEY)
    _write(root / "gcs-cred" / "serviceAccountKey", json.dumps(SERVICE_ACCOUNT, indent=2))
    _write(root / "gcs-broken" / "truncated", json.dumps(SERVICE_ACCOUNT)[:-40])
    _write(root / "gcs-broken" / "no-email", json.dumps({k: v for k, v in SERVICE_ACCOUNT.items() if k != "client_email"}))
    _write(root / "gcs-broken" / "bad-pem", json.dumps({**SERVICE_ACCOUNT, "private_key": PRIVATE_KEY.replace("A", "*")}))
    _write(root / "gcs-broken" / "list", json.dumps([PRIVATE_KEY_ID]))
    return root


@pytest.fixture(scope="module")
def front_ca(work_dir: Path):
    ca = make_ca(work_dir / "google-front-ca", "google-front")
    (work_dir / "google-front-ca" / "ca.pem").write_bytes(ca.ca_pem)
    return ca


@pytest.fixture(scope="module")
def env(secrets_dir: Path, front_ca, work_dir: Path, azurite_server, gcs_server, google_front) -> dict[str, str]:
    """The plugin's environment: no Azure key and no Google credentials of its own; it
    trusts the stand-in's CA (aiohttp through SSL_CERT_FILE, google-auth's requests
    through REQUESTS_CA_BUNDLE); an operator policy listing exactly this module's servers
    (and Google's token endpoint, where a key's token request goes by default)."""
    ca_file = str(work_dir / "google-front-ca" / "ca.pem")
    servers = [azurite_server.endpoint, gcs_server.endpoint, f"127.0.0.1:{google_front.port}",
               "storage.googleapis.com", "oauth2.googleapis.com"]
    return {
        **write_policy(work_dir / "cloud-policy.yaml", endpoints=servers),
        "SSL_CERT_FILE": ca_file, "REQUESTS_CA_BUNDLE": ca_file,
        "AZURE_STORAGE_ACCOUNT_KEY": "", "AZURE_STORAGE_CONNECTION_STRING": "",
        "GOOGLE_APPLICATION_CREDENTIALS": "", "CLOUDSDK_CONFIG": str(secrets_dir / "no-gcloud"),
        "ARGO_ARTIFACT_DRIVER_SECRETS_DIR": str(secrets_dir),
        **GCS_EMULATOR_ENV,
    }


@pytest.fixture(scope="module")
def cloud_plugin(work_dir: Path, env):
    proc = PluginProcess(work_dir / "cloud-sock" / "socket", work_dir, env=env, name="plugin-cloud-creds")
    yield proc
    stop_and_assert_no_secret_leaked(proc, _errors, SECRET_VALUES)


@pytest.fixture(scope="module")
def client(cloud_plugin):
    c = cloud_plugin.client()
    yield c
    c.close()


@pytest.fixture(scope="module")
def azure_store(azurite_server) -> AzureStore:
    return AzureStore(azurite_server.info["endpoint"], "keyed")


@pytest.fixture(scope="module")
def gcs_store(gcs_server) -> GCSStore:
    return GCSStore(gcs_server.info["endpoint"], "keyed")


def _azure(store: AzureStore, secret: str = "azure-cred", extra: str = "") -> str:
    # Argo's AzureArtifactRepository fields, with `scheme: azure` added.
    return store.config + f"accountKeySecret:\n  name: {secret}\n  key: accountkey\n" + extra


@pytest.fixture(scope="module")
def google_front(gcs_server, front_ca, secrets_dir, gcs_store):
    front = GoogleFront(front_ca, gcs_server.port, PUBLIC_KEY)
    key = {**SERVICE_ACCOUNT, "token_uri": f"https://127.0.0.1:{front.port}/token"}
    _write(secrets_dir / "gcs-front" / "serviceAccountKey", json.dumps(key))
    yield front
    front.stop()


def _gcs(store: GCSStore, key: str = "serviceAccountKey", secret: str = "gcs-cred") -> str:
    return store.config + f"serviceAccountKeySecret:\n  name: {secret}\n  key: {key}\n"


def _failed(error: str) -> str:
    assert error
    _errors.append(error)
    return error


def _roundtrip(client, config: str, tmp_path: Path) -> str:
    key = f"wf-{uuid.uuid4().hex[:8]}/out.txt"
    (tmp_path / "src").write_bytes(b"artifact bytes")
    response = client.save(config, key, tmp_path / "src")
    assert response.success, response.error
    assert client.load(config, key, tmp_path / "back").success
    assert (tmp_path / "back").read_bytes() == b"artifact bytes"
    return key


def test_azure_account_key_from_a_secret(client, azure_store, tmp_path):
    key = _roundtrip(client, _azure(azure_store), tmp_path)
    assert azure_store.get(key) == b"artifact bytes"
    # the environment has no key: without the reference there is nothing to sign with
    error = _failed(client.list_objects(azure_store.config, "k").error)
    assert "accountKeySecret" in error


def test_azure_wrong_key_is_a_permission_error_naming_the_secret(client, azure_store, tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    error = _failed(client.save(_azure(azure_store, "azure-wrong"), "k/x", tmp_path / "f").error)
    assert "permission denied" in error and "secret 'azure-wrong' key 'accountkey'" in error
    assert "devstoreaccount1" in error


def test_azure_key_that_is_not_base64_is_named(client, azure_store):
    error = _failed(client.list_objects(_azure(azure_store, "azure-garbled"), "k").error)
    assert "secret 'azure-garbled' key 'accountkey'" in error and "not base64" in error


def test_azure_key_and_sdk_credentials_contradict(client, azure_store):
    error = _failed(client.list_objects(_azure(azure_store, extra="useSDKCreds: true\n"), "k").error)
    assert "'useSDKCreds: true' and 'accountKeySecret' contradict" in error


def test_gcs_service_account_key_is_validated_and_not_sent_to_an_emulator(client, gcs_store, tmp_path):
    key = _roundtrip(client, _gcs(gcs_store), tmp_path)
    assert gcs_store.get(key) == b"artifact bytes"


def test_gcs_service_account_key_signs_the_token_request_over_https(client, gcs_store, google_front, tmp_path):
    config = (f"scheme: gcs\nbucket: keyed\nendpoint: https://127.0.0.1:{google_front.port}\n"
              "serviceAccountKeySecret: {name: gcs-front, key: serviceAccountKey}\n")
    key = _roundtrip(client, config, tmp_path)
    assert gcs_store.get(key) == b"artifact bytes"
    assert google_front.token_claims and google_front.token_claims[0]["iss"] == SA_EMAIL
    assert google_front.authorizations and set(google_front.authorizations) == {f"Bearer {ACCESS_TOKEN}"}


@pytest.mark.parametrize("key, expected", [
    ("truncated", "is not JSON (line 1, column"),
    ("no-email", "lacks 'client_email'"),
    ("bad-pem", "'private_key' is not a PEM private key"),
    ("list", "an object with a 'type' field"),
])
def test_gcs_broken_key_names_the_secret_and_what_is_wrong(client, gcs_store, key, expected):
    error = _failed(client.list_objects(_gcs(gcs_store, key, "gcs-broken"), "k").error)
    assert f"secret 'gcs-broken' key '{key}'" in error and expected in error


def test_gcs_missing_secret_is_named(client, gcs_store):
    error = _failed(client.list_objects(_gcs(gcs_store, "nope", "gcs-absent"), "k").error)
    assert "secret 'gcs-absent' key 'nope' not found" in error


def test_check_resolve_reports_sources_without_values(env, azure_store, gcs_store):
    azure = _check(_azure(azure_store), env)
    assert "accountKeySecret: secret 'azure-cred' key 'accountkey', from mounted file" in azure
    assert "credentials: account key of 'devstoreaccount1' from accountKeySecret" in azure
    azure_env = _check(azure_store.config, {**env, "AZURE_STORAGE_ACCOUNT_KEY": AZURITE_KEY})
    assert "credentials: plugin environment, AZURE_STORAGE_ACCOUNT_KEY" in azure_env
    sdk = _check(azure_store.config + "useSDKCreds: true\n", env)
    assert "credentials: Azure default credential chain" in sdk
    emulator = _check(_gcs(gcs_store), env)
    assert "serviceAccountKeySecret: secret 'gcs-cred' key 'serviceAccountKey', from mounted file" in emulator
    assert "anonymous access to the emulator" in emulator and "not sent over plain HTTP" in emulator
    remote = _check("scheme: gcs\nbucket: b\nserviceAccountKeySecret: {name: gcs-cred, key: serviceAccountKey}\n", env)
    assert f"credentials: serviceAccountKeySecret, service account {SA_EMAIL}" in remote
    adc = _check("scheme: gcs\nbucket: b\n", env)
    assert "credentials: Application Default Credentials, the metadata server" in adc
    broken = _check("scheme: gcs\nbucket: b\nserviceAccountKeySecret: {name: gcs-broken, key: bad-pem}\n", env, 1)
    assert "secret 'gcs-broken' key 'bad-pem'" in broken
    for text in (azure, azure_env, sdk, emulator, remote, adc, broken):
        for value in SECRET_VALUES:
            assert value not in text


def _check(config: str, env: dict[str, str], code: int = 0) -> str:
    result = subprocess.run([console_script("argo-artifacts"), "check", "--resolve", config],
                            capture_output=True, text=True, env={**os.environ, **env}, timeout=60)
    assert result.returncode == code, result.stdout + result.stderr
    return result.stdout + result.stderr
