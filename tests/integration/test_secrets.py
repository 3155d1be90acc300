"""Secret references resolved from a mounted directory and from the Kubernetes API.

The Kubernetes API is a small local HTTPS stand-in (``k8s_api.py``): there is no API
server on this machine. Every error and log record of this module is scanned for the
secret values at the end: none may appear.
"""

from __future__ import annotations

import logging

import pytest

from argo_artifact_driver.core.errors import ArtifactError, BadConfiguration, PermissionDenied, SecretUnavailable
from argo_artifact_driver.core.options import Option, secret_ref, validate_options
from argo_artifact_driver.core.secrets import KUBERNETES, MOUNTED, KubernetesSecrets, SecretRef, SecretResolver
from argo_artifact_driver.core.settings import Settings
from support.k8s_api import FakeKubernetesAPI
from support.tlsutil import make_ca

MOUNTED_VALUE = b"mounted-Secret-Value-7f3a"
API_VALUE = b"api-Secret-Value-91c2"
TOKEN = "service-account-token-5d1e"
SECRET_VALUES = [MOUNTED_VALUE.decode(), API_VALUE.decode(), TOKEN]

_seen: list[str] = []  # every error message of this module, scanned at the end


@pytest.fixture(scope="module", autouse=True)
def no_secret_in_any_error_or_log():
    handler = _Collect()
    logging.getLogger().addHandler(handler)
    yield
    logging.getLogger().removeHandler(handler)
    text = "\n".join(_seen + handler.messages)
    assert _seen, "the module should have produced errors to scan"
    for value in SECRET_VALUES:
        assert value not in text


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _error(call) -> ArtifactError:
    with pytest.raises(ArtifactError) as info:
        call()
    _seen.append(str(info.value))
    assert "Traceback" not in str(info.value)
    return info.value


@pytest.fixture
def mounted(tmp_path):
    (tmp_path / "mounted" / "creds").mkdir(parents=True)
    (tmp_path / "mounted" / "creds" / "secretkey").write_bytes(MOUNTED_VALUE + b"\n")
    return tmp_path / "mounted"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    ca = make_ca(tmp_path_factory.mktemp("k8s-ca"), "k8s")
    server = FakeKubernetesAPI(ca, TOKEN, "workflows")
    server.secrets["remote"] = {"secretkey": API_VALUE}
    account = tmp_path_factory.mktemp("serviceaccount")
    (account / "token").write_text(TOKEN)
    (account / "namespace").write_text("workflows")
    (account / "ca.crt").write_bytes(ca.ca_pem)
    server.account_dir = str(account)
    yield server
    server.stop()


def _resolver(env: dict[str, str]) -> SecretResolver:
    return SecretResolver.from_settings(Settings.from_env(env), env)


def _env(api: FakeKubernetesAPI, secrets_dir) -> dict[str, str]:
    return {
        "ARGO_ARTIFACT_DRIVER_SECRETS_DIR": str(secrets_dir),
        "ARGO_ARTIFACT_DRIVER_SERVICEACCOUNT_DIR": api.account_dir,
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(api.port),
    }


def test_mounted_directory_is_read_first(mounted, api):
    api.secrets["creds"] = {"secretkey": API_VALUE}
    resolved = _resolver(_env(api, mounted)).resolve(SecretRef("creds", "secretkey"))
    assert resolved.source == MOUNTED
    assert resolved.text() == MOUNTED_VALUE.decode()  # the editor's trailing newline is dropped
    assert MOUNTED_VALUE.decode() not in repr(resolved)
    del api.secrets["creds"]


def test_kubernetes_api_with_the_service_account(tmp_path, api):
    resolver = _resolver(_env(api, tmp_path / "nothing-mounted"))
    resolved = resolver.resolve(SecretRef("remote", "secretkey"))
    assert (resolved.source, resolved.value) == (KUBERNETES, API_VALUE)
    assert "namespace 'workflows'" in resolved.location


def test_values_are_cached_for_the_ttl_then_reread(tmp_path, api):
    now = [0.0]
    kube = KubernetesSecrets.from_settings(Settings.from_env(_env(api, tmp_path)), _env(api, tmp_path))
    resolver = SecretResolver(str(tmp_path), kube, ttl_seconds=60, clock=lambda: now[0])
    api.secrets["rotating"] = {"k": b"first"}
    before = api.gets("rotating")
    assert resolver.resolve(SecretRef("rotating", "k")).value == b"first"
    api.secrets["rotating"] = {"k": b"second"}
    now[0] = 59.0
    assert resolver.resolve(SecretRef("rotating", "k")).value == b"first"
    assert api.gets("rotating") == before + 1  # one GET for both
    now[0] = 61.0
    assert resolver.resolve(SecretRef("rotating", "k")).value == b"second"


def test_missing_secret_key_and_namespace_are_named(tmp_path, api):
    resolver = _resolver(_env(api, tmp_path))
    error = _error(lambda: resolver.resolve(SecretRef("absent", "secretkey")))
    assert isinstance(error, SecretUnavailable)
    assert "secret 'absent' key 'secretkey'" in str(error) and "no such secret" in str(error)
    error = _error(lambda: resolver.resolve(SecretRef("remote", "nokey")))
    assert "secret 'remote' key 'nokey'" in str(error) and "has no key 'nokey'" in str(error)
    assert "secretkey" not in str(error)  # the secret's other keys are not this configuration's to learn


def test_a_refused_service_account_gets_the_rbac_hint(tmp_path, api):
    (tmp_path / "sa").mkdir()
    for name in ("namespace", "ca.crt"):
        (tmp_path / "sa" / name).write_bytes(open(f"{api.account_dir}/{name}", "rb").read())
    (tmp_path / "sa" / "token").write_text("wrong-token")
    env = {**_env(api, tmp_path), "ARGO_ARTIFACT_DRIVER_SERVICEACCOUNT_DIR": str(tmp_path / "sa")}
    error = _error(lambda: _resolver(env).resolve(SecretRef("remote", "secretkey")))
    assert isinstance(error, PermissionDenied) and "Role" in str(error) and "secret 'remote'" in str(error)


def test_an_untrusted_api_certificate_is_refused(tmp_path, api):
    (tmp_path / "sa").mkdir()
    (tmp_path / "sa" / "token").write_text(TOKEN)
    (tmp_path / "sa" / "namespace").write_text("workflows")
    (tmp_path / "sa" / "ca.crt").write_bytes(make_ca(tmp_path / "other", "other").ca_pem)
    env = {**_env(api, tmp_path), "ARGO_ARTIFACT_DRIVER_SERVICEACCOUNT_DIR": str(tmp_path / "sa")}
    error = _error(lambda: _resolver(env).resolve(SecretRef("remote", "secretkey")))
    assert "CERTIFICATE_VERIFY_FAILED" in str(error) or "certificate" in str(error).lower()


def test_outside_a_pod_the_error_says_where_to_mount(tmp_path):
    resolver = _resolver({"ARGO_ARTIFACT_DRIVER_SECRETS_DIR": str(tmp_path)})
    error = _error(lambda: resolver.resolve(SecretRef("creds", "accesskey")))
    assert f"{tmp_path}/creds/accesskey" in str(error) and "no Kubernetes API" in str(error)


@pytest.mark.parametrize("name,key", [("..", "k"), ("a/b", "k"), ("ok", "../x")])
def test_names_cannot_leave_the_secrets_directory(tmp_path, name, key):
    _error(lambda: SecretResolver(str(tmp_path)).resolve(SecretRef(name, key)))


SPEC = {
    "accessKeySecret": secret_ref("the access key"),
    "nested": Option(dict, fields={"keySecret": secret_ref("a key"), "flag": Option(bool)}),
}


@pytest.mark.parametrize("given,expected", [
    ({"accessKeySecret": "plain-value"}, "'accessKeySecret' must be a secret reference like {name: my-secret, key: accesskey}"),
    ({"accessKeySecret": {"name": "a"}}, "'accessKeySecret.key' is required"),
    ({"accessKeySecret": {"name": "a", "kye": "b"}}, "unknown option 'accessKeySecret.kye' (did you mean 'key'?)"),
    ({"nested": {"flga": True}}, "unknown option 'nested.flga' (did you mean 'flag'?)"),
    ({"nested": {"keySecret": {"name": "a", "key": 3}}}, "'nested.keySecret.key' must be a string"),
])
def test_secret_references_are_validated_at_every_level(given, expected):
    error = _error(lambda: validate_options("x", SPEC, given))
    assert isinstance(error, BadConfiguration) and expected in str(error)


def test_validated_references_become_secret_refs():
    options = validate_options("x", SPEC, {"nested": {"keySecret": {"name": "a", "key": "b"}}})
    assert options["nested"]["keySecret"] == SecretRef("a", "b")
