"""Argo's S3 repository fields, against a moto server that enforces IAM credentials.

The moto server here checks every request's signature against IAM access keys it issued
(``INITIAL_NO_AUTH_ACTION_COUNT``), so a call only succeeds with the right secret. The
plugin runs as a separate process; secrets reach it as files in a mounted-style
directory or through a local HTTPS stand-in for the Kubernetes API (no API server
here). At the end, the plugin's log and every error this module saw are scanned for
the secret values: none may appear.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import botocore.session
import pytest

from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess, console_script
from argo_artifact_driver.plugin_server.testing.policy import write_policy
from argo_artifact_driver.plugin_server.testing.processes import ManagedProcess, free_port, port_open
from support.k8s_api import FakeKubernetesAPI
from support.leaks import stop_and_assert_no_secret_leaked
from support.recording_proxy import RecordingProxy
from support.tlsutil import make_ca

REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/artifact-writer"
SSE_C_KEY = b"0123456789abcdef0123456789ABCDEF"  # 32 bytes
TOKEN = "k8s-token-ae41"
_errors: list[str] = []


@pytest.fixture(scope="module")
def iam_moto(tmp_path_factory):
    """moto with authentication on after 4 set-up calls: a user with an access key, a role."""
    work = tmp_path_factory.mktemp("iam-moto")
    port = free_port()
    server = ManagedProcess("moto-iam", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                           work, env={"INITIAL_NO_AUTH_ACTION_COUNT": "4"})
    server.wait_until(lambda: port_open(port))
    url = f"http://127.0.0.1:{port}"
    iam = _client("iam", url, "bootstrap", "bootstrap")
    iam.create_user(UserName="argo")
    allow_all = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    iam.put_user_policy(UserName="argo", PolicyName="all", PolicyDocument=allow_all)
    key = iam.create_access_key(UserName="argo")["AccessKey"]
    iam.create_role(RoleName="artifact-writer", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))
    admin = _client("iam", url, key["AccessKeyId"], key["SecretAccessKey"])
    admin.put_role_policy(RoleName="artifact-writer", PolicyName="all", PolicyDocument=allow_all)
    yield {"url": url, "endpoint": f"127.0.0.1:{port}", "access": key["AccessKeyId"], "secret": key["SecretAccessKey"], "work": work}
    server.stop()


def _client(service: str, url: str, access: str, secret: str, **kw):
    return botocore.session.get_session().create_client(
        service, endpoint_url=url, region_name=REGION, aws_access_key_id=access, aws_secret_access_key=secret, **kw)


@pytest.fixture(scope="module")
def s3(iam_moto):
    """Out-of-band S3 client with the right keys."""
    client = _client("s3", iam_moto["url"], iam_moto["access"], iam_moto["secret"])
    client.create_bucket(Bucket="argo-artifacts")
    return client


@pytest.fixture(scope="module")
def secrets_dir(iam_moto):
    root = iam_moto["work"] / "secrets"
    _write(root / "my-minio-cred" / "accesskey", iam_moto["access"].encode())
    _write(root / "my-minio-cred" / "secretkey", iam_moto["secret"].encode() + b"\n")
    _write(root / "wrong-cred" / "accesskey", iam_moto["access"].encode())
    _write(root / "wrong-cred" / "secretkey", b"not-the-secret-0c9d")
    _write(root / "sse" / "customer-key", SSE_C_KEY)
    return root


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture(scope="module")
def k8s(iam_moto):
    ca = make_ca(iam_moto["work"] / "k8s-ca", "k8s")
    api = FakeKubernetesAPI(ca, TOKEN, "argo")
    api.secrets["from-api"] = {"accesskey": iam_moto["access"].encode(), "secretkey": iam_moto["secret"].encode()}
    account = iam_moto["work"] / "serviceaccount"
    _write(account / "token", TOKEN.encode())
    _write(account / "namespace", b"argo")
    _write(account / "ca.crt", ca.ca_pem)
    yield {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(api.port),
           "ARGO_ARTIFACT_DRIVER_SERVICEACCOUNT_DIR": str(account)}
    api.stop()


@pytest.fixture(scope="module")
def tls_moto(iam_moto):
    """A second moto, serving HTTPS with a certificate from a CA the test makes."""
    ca = make_ca(iam_moto["work"] / "s3-ca", "s3")
    _write(iam_moto["work"] / "secrets" / "s3-ca" / "ca.crt", ca.ca_pem)
    port = free_port()
    server = ManagedProcess("moto-tls", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port),
                                         "-c", str(ca.cert_path), "-k", str(ca.key_path)], iam_moto["work"])
    server.wait_until(lambda: port_open(port))
    yield {"endpoint": f"127.0.0.1:{port}", "ca": ca}
    server.stop()


@pytest.fixture(scope="module")
def proxy(iam_moto):
    """A recording proxy in front of the moto server (see test_customer_key_encryption)."""
    recording = RecordingProxy(int(iam_moto["endpoint"].rsplit(":", 1)[1]))
    yield recording
    recording.stop()


@pytest.fixture(scope="module")
def env(iam_moto, secrets_dir, k8s, tls_moto, proxy):
    """The plugin's environment: no AWS keys at all, so only the referenced secrets can work;
    an operator policy listing exactly this module's servers (and STS, which roleARN uses;
    the environment sends it to moto)."""
    servers = [iam_moto["endpoint"], tls_moto["endpoint"], f"127.0.0.1:{proxy.port}", "sts.amazonaws.com",
               "s3.amazonaws.com"]
    return {
        **write_policy(iam_moto["work"] / "policy.yaml", endpoints=servers),
        "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
        "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_ENDPOINT_URL_STS": iam_moto["url"],  # STS AssumeRole goes to moto too
        "ARGO_ARTIFACT_DRIVER_SECRETS_DIR": str(secrets_dir),
        "ARGO_ARTIFACT_DRIVER_SECRETS_TTL_SECONDS": "0.5",
        **k8s,
    }


@pytest.fixture(scope="module")
def creds_plugin(iam_moto, env):
    proc = PluginProcess(iam_moto["work"] / "sock" / "socket", iam_moto["work"], env=env, name="plugin-creds")
    yield proc
    stop_and_assert_no_secret_leaked(proc, _errors, (iam_moto["secret"], "not-the-secret-0c9d", TOKEN, SSE_C_KEY.decode(), "too-short-key-1e"))


@pytest.fixture(scope="module")
def client(creds_plugin):
    c = creds_plugin.client()
    yield c
    c.close()


def _argo_block(endpoint: str, cred: str = "my-minio-cred") -> str:
    # Argo's documented S3 repository block (MinIO), with `scheme: s3` added.
    return f"""scheme: s3
bucket: argo-artifacts
endpoint: {endpoint}
insecure: true
accessKeySecret:
  name: {cred}
  key: accesskey
secretKeySecret:
  name: {cred}
  key: secretkey
"""


def _roundtrip(client, config: str, tmp_path: Path, data: bytes = b"artifact bytes") -> str:
    key = f"wf-{uuid.uuid4().hex[:8]}/out.txt"
    src = tmp_path / "src.txt"
    src.write_bytes(data)
    response = client.save(config, key, src)
    assert response.success, response.error
    assert client.load(config, key, tmp_path / "back.txt").success
    assert (tmp_path / "back.txt").read_bytes() == data
    return key


def _failed(error: str) -> str:
    assert error
    _errors.append(error)
    return error


def test_argo_block_pasted_works_with_mounted_secrets(client, iam_moto, s3, tmp_path):
    key = _roundtrip(client, _argo_block(iam_moto["endpoint"]), tmp_path)
    assert s3.get_object(Bucket="argo-artifacts", Key=key)["Body"].read() == b"artifact bytes"


def test_wrong_secret_is_refused_without_showing_it(client, iam_moto, tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    error = _failed(client.save(_argo_block(iam_moto["endpoint"], "wrong-cred"), "k/x", tmp_path / "f").error)
    assert "argo-artifacts" in error


def test_secrets_from_the_kubernetes_api(client, iam_moto, s3, tmp_path):
    key = _roundtrip(client, _argo_block(iam_moto["endpoint"], "from-api"), tmp_path)
    assert s3.head_object(Bucket="argo-artifacts", Key=key)["ContentLength"] == len(b"artifact bytes")


def test_missing_secret_names_the_secret_and_key(client, iam_moto):
    error = _failed(client.list_objects(_argo_block(iam_moto["endpoint"], "no-such-cred"), "k").error)
    assert "secret 'no-such-cred' key 'accesskey'" in error and "namespace 'argo'" in error


def test_rotated_secret_is_picked_up(client, iam_moto, secrets_dir, tmp_path):
    _write(secrets_dir / "rotating" / "accesskey", iam_moto["access"].encode())
    _write(secrets_dir / "rotating" / "secretkey", b"not-the-secret-0c9d")
    config = _argo_block(iam_moto["endpoint"], "rotating")
    _failed(client.list_objects(config, "k").error)
    _write(secrets_dir / "rotating" / "secretkey", iam_moto["secret"].encode())
    time.sleep(0.6)  # the plugin's TTL is 0.5 s here; this waits for it, it times nothing
    assert not client.list_objects(config, "k").error


@pytest.mark.parametrize("encryption,expected", [
    ("{enableEncryption: true}", {"ServerSideEncryption": "AES256"}),
    ("{enableEncryption: true, kmsKeyId: alias/artifacts, kmsEncryptionContext: '{\"team\": \"data\"}'}",
     {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/artifacts"}),
])
def test_server_side_encryption_is_recorded_on_objects(client, iam_moto, s3, tmp_path, encryption, expected):
    config = _argo_block(iam_moto["endpoint"]) + f"encryptionOptions: {encryption}\n"
    key = _roundtrip(client, config, tmp_path, b"x" * 1000)
    head = s3.head_object(Bucket="argo-artifacts", Key=key)
    assert {k: head.get(k) for k in expected} == expected
    streamed = client.save_stream(config, key + ".stream", [b"y" * 100])  # multipart path too
    assert streamed.success, streamed.error
    assert s3.head_object(Bucket="argo-artifacts", Key=key + ".stream")["ServerSideEncryption"] == expected["ServerSideEncryption"]


def test_customer_key_encryption(client, proxy, tmp_path):
    """SSE-C: every write and read carries the key headers (moto ignores them, so a
    recording proxy in front of it shows what the plugin sent)."""
    config = _argo_block(f"127.0.0.1:{proxy.port}") + (
        "encryptionOptions:\n  serverSideCustomerKeySecret: {name: sse, key: customer-key}\n")
    key = _roundtrip(client, config, tmp_path, b"sealed")
    assert client.stream_bytes(config, key) == (b"sealed", "")
    md5 = base64.b64encode(hashlib.md5(SSE_C_KEY).digest()).decode()
    on_key = [(m, h) for m, path, h in proxy.requests if key in path and m in ("PUT", "GET")]
    assert {m for m, _ in on_key} == {"PUT", "GET"}
    for _, headers in on_key:
        assert headers.get("x-amz-server-side-encryption-customer-algorithm") == "AES256"
        assert headers.get("x-amz-server-side-encryption-customer-key-md5") == md5


def test_customer_key_must_be_32_bytes(client, iam_moto, secrets_dir):
    _write(secrets_dir / "sse" / "short-key", b"too-short-key-1e")
    config = _argo_block(iam_moto["endpoint"]) + (
        "encryptionOptions:\n  serverSideCustomerKeySecret: {name: sse, key: short-key}\n")
    error = _failed(client.list_objects(config, "k").error)
    assert "secret 'sse' key 'short-key'" in error and "32 bytes" in error


def test_bucket_is_created_when_asked(client, iam_moto, s3, tmp_path):
    bucket = f"created-{uuid.uuid4().hex[:8]}"
    config = _argo_block(iam_moto["endpoint"]).replace("argo-artifacts", bucket)
    _failed(client.save(config, "k", _file(tmp_path)).error)  # not created unless asked
    config += "createBucketIfNotPresent: {objectLocking: false}\nencryptionOptions: {enableEncryption: true}\n"
    assert client.save(config, "k", _file(tmp_path)).success
    assert s3.head_object(Bucket=bucket, Key="k")["ServerSideEncryption"] == "AES256"
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    # an existing bucket is fine (s3fs's mkdir would raise FileExistsError)
    assert client.save(config.replace(bucket, "argo-artifacts"), "k2", _file(tmp_path)).success


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "one"
    path.write_bytes(b"1")
    return path


def test_role_is_assumed_through_sts(client, iam_moto, s3, tmp_path):
    """moto authorises assumed-role keys by the role's policies: a role that does not exist
    gets nothing, the real one gets in, so success shows the role's keys were used (the
    static keys alone would pass either way)."""
    config = _argo_block(iam_moto["endpoint"]) + f"roleARN: {ROLE_ARN}\n"
    key = _roundtrip(client, config, tmp_path)
    assert s3.head_object(Bucket="argo-artifacts", Key=key)
    ghost = config.replace("artifact-writer", "no-such-role")
    _failed(client.list_objects(ghost, "k").error)


def test_tls_endpoint_trusted_through_ca_secret(client, tls_moto, tmp_path):
    base = (f"scheme: s3\nbucket: tls-bucket\nendpoint: {tls_moto['endpoint']}\nregion: {REGION}\n"
            "accessKeySecret: {name: my-minio-cred, key: accesskey}\nsecretKeySecret: {name: my-minio-cred, key: secretkey}\n")
    error = _failed(client.list_objects(base, "k").error)  # the system does not trust this CA
    assert "certificate" in error.lower() or "ssl" in error.lower()
    config = base + "caSecret: {name: s3-ca, key: ca.crt}\ncreateBucketIfNotPresent: true\n"
    key = _roundtrip(client, config, tmp_path)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(tls_moto["ca"].ca_pem)
    out_of_band = botocore.session.get_session().create_client(
        "s3", endpoint_url=f"https://{tls_moto['endpoint']}", region_name=REGION,
        aws_access_key_id="x", aws_secret_access_key="y", verify=str(ca_file))
    assert out_of_band.get_object(Bucket="tls-bucket", Key=key)["Body"].read() == b"artifact bytes"


def test_check_resolve_reports_sources_without_values(iam_moto, env, tmp_path):
    config = _argo_block(iam_moto["endpoint"]) + (
        "encryptionOptions:\n  serverSideCustomerKeySecret: {name: sse, key: customer-key}\n")
    mounted = _check(config, env)
    assert "accessKeySecret: secret 'my-minio-cred' key 'accesskey', from mounted file" in mounted
    assert "encryptionOptions.serverSideCustomerKeySecret: secret 'sse' key 'customer-key', from mounted file" in mounted
    assert "credentials: static keys" in mounted
    api = _check(_argo_block(iam_moto["endpoint"], "from-api"), env)
    assert "from Kubernetes API" in api and "namespace 'argo'" in api
    chain = _check("scheme: s3\nbucket: b\nuseSDKCreds: true\n", {**env, "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret-b8"})
    assert "credentials: AWS SDK chain, found via 'env'" in chain
    role = _check(_argo_block(iam_moto["endpoint"]) + f"roleARN: {ROLE_ARN}\n", env)
    assert f"assume role {ROLE_ARN} through STS" in role
    for text in (mounted, api, chain, role):
        for value in (iam_moto["secret"], SSE_C_KEY.decode(), TOKEN, "env-secret-b8"):
            assert value not in text


def _check(config: str, env: dict[str, str]) -> str:
    result = subprocess.run([console_script("argo-artifacts"), "check", "--resolve", config],
                            capture_output=True, text=True, env={**os.environ, **env}, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout
