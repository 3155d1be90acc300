"""The operator policy (core/policy.py): loading, validation, and each rule, in process.

The backends here are stand-ins that report what a configured backend reports to the
policy (scheme, endpoints, local paths, fsspec protocols, secret references); the real
backends' reports are tested with the plugin process (tests/integration/test_security.py).
Names resolve through a resolver the test controls: no DNS.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from argo_artifact_driver.core.errors import RefusedByPolicy
from argo_artifact_driver.core.policy import ROLE_SERVER, Policy, PolicyError
from argo_artifact_driver.core.secrets import SecretRef


@dataclass
class Reported:
    scheme: str = "s3"
    endpoint_list: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    protocols: list[str] = field(default_factory=list)
    secrets: list[tuple[str, SecretRef]] = field(default_factory=list)

    def endpoints(self) -> list[str]:
        return self.endpoint_list

    def local_paths(self) -> list[str]:
        return self.paths

    def fsspec_protocols(self) -> list[str]:
        return self.protocols

    def secret_options(self) -> list[tuple[str, SecretRef]]:
        return self.secrets


def dns(**answers: str):
    """A resolver: name (dots as underscores) -> one address; anything else does not resolve."""
    table = {name.replace("_", "."): addr for name, addr in answers.items()}

    def resolve(host, port, *args, **kwargs):
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port))]

    return resolve


NO_DNS = dns()


def policy(text: str = "", role: str = "pod", resolve=NO_DNS) -> Policy:
    loaded = Policy.from_text(text, role=role, source="test policy")
    return Policy(**{**loaded.__dict__, "resolve": resolve})


def refused(p: Policy, backend: Reported) -> str:
    with pytest.raises(RefusedByPolicy) as info:
        p.check(backend)
    assert info.value.kind == "refused_by_policy"
    return info.value.message


# -- the default policy -------------------------------------------------------------


def test_default_refuses_scheme_file_and_allows_the_rest() -> None:
    assert refused(policy(), Reported("file", paths=["/var/run/secrets/kubernetes.io/serviceaccount"])) == (
        "refused by policy: scheme 'file' is off unless the operator's policy allows it (with file.roots) "
        "(rule 'schemes')"
    )
    assert policy().check(Reported("s3", ["minio.argo.svc:9000"])) == [("minio.argo.svc", False)]


@pytest.mark.parametrize("endpoint, says", [
    ("169.254.169.254", "endpoint 169.254.169.254 is link-local (a cloud metadata address) (rule 'endpoints')"),
    ("http://169.254.169.254/latest/meta-data", "endpoint 169.254.169.254:80 is link-local"),
    ("127.0.0.1:9000", "endpoint 127.0.0.1:9000 is loopback"),
    ("[::ffff:127.0.0.1]:22", "is loopback (as ::ffff:7f00:1)"),
    ("2130706433:80", "endpoint 127.0.0.1:80 is loopback"),
    ("localhost:8080", "endpoint localhost:8080 resolves to 127.0.0.1, which is loopback"),
    ("rebind.example:80", "endpoint rebind.example:80 resolves to 169.254.169.254, which is link-local"),
    ("metadata.google.internal", "endpoint metadata.google.internal is a cloud metadata service"),
    ("0.0.0.0:9000", "is unspecified"),
    ("evil.com#@127.0.0.1", "endpoint 127.0.0.1 is loopback"),  # judged where a URL parser connects
    ("evil.com\\@127.0.0.1", "endpoint 127.0.0.1 is loopback"),
    ("minio .svc", "does not name a host"),
])
def test_default_refuses_addresses_that_are_never_storage(endpoint: str, says: str) -> None:
    resolve = dns(localhost="127.0.0.1", rebind_example="169.254.169.254")
    assert says in refused(policy(resolve=resolve), Reported("s3", [endpoint]))


def test_default_allows_private_in_cluster_addresses() -> None:
    p = policy(resolve=dns(minio_argo_svc="10.96.0.12"))
    assert p.check(Reported("s3", ["minio.argo.svc:9000", "10.0.0.7:9000", "[fd00::12]:9000"])) == [
        ("minio.argo.svc", False)]


def test_default_fsspec_protocols_are_an_allow_list() -> None:
    p = policy()
    assert p.check(Reported("fsspec", ["sftp.example.com:22"], protocols=["sftp"])) is not None
    for protocol in ["file", "local", "simplecache", "filecache", "blockcache", "dir", "reference", "zip", "tar",
                     "generic", "memory", "data", "http", "https", "some-protocol-installed-later"]:
        assert f"fsspec protocol '{protocol}' is not allowed" in refused(p, Reported("fsspec", protocols=[protocol]))


# -- a policy file --------------------------------------------------------------------


def test_the_argo_client_rig_policies_work_as_written(tmp_path) -> None:
    """The shapes the argo-client rig writes: file roots only; one loopback endpoint."""
    store, broken = tmp_path / "store", tmp_path / "root-is-a-file"
    store.mkdir()
    broken.write_text("x")
    p = policy(f'schemes: [file]\nfile: {{roots: ["{store}", "{broken}"]}}\n')
    assert p.check(Reported("file", paths=[str(store)])) == []
    assert p.check(Reported("file", paths=[str(store / "sub")])) == []
    assert p.check(Reported("file", paths=[str(broken)])) == []
    assert "rule 'file.roots'" in refused(p, Reported("file", paths=[str(tmp_path)]))
    assert "rule 'file.roots'" in refused(p, Reported("file", paths=[str(store) + "-sibling"]))
    assert "rule 'schemes'" in refused(p, Reported("s3", ["s3.amazonaws.com"]))

    p = policy('schemes: [s3]\nendpoints: ["127.0.0.1:9123"]\n')
    assert p.check(Reported("s3", ["127.0.0.1:9123"])) == []
    assert "endpoint 127.0.0.1:9124 is not listed (allowed: 127.0.0.1:9123)" in refused(
        p, Reported("s3", ["127.0.0.1:9124"]))


def test_a_root_reached_through_a_symbolic_link_is_judged_where_it_leads(tmp_path) -> None:
    allowed, secret = tmp_path / "allowed", tmp_path / "secret"
    allowed.mkdir()
    secret.mkdir()
    (allowed / "link").symlink_to(secret)
    p = policy(f"schemes: [file]\nfile: {{roots: [{allowed}]}}\n")
    assert f"(which is {secret})" in refused(p, Reported("file", paths=[str(allowed / "link")]))


def test_exact_endpoints_are_trusted_and_globs_keep_the_address_rules() -> None:
    resolve = dns(minio_local="127.0.0.1", rebind_amazonaws_com="127.0.0.1", s3_amazonaws_com="52.216.0.1")
    p = policy('endpoints: ["minio.local:9000", "*.amazonaws.com"]', resolve=resolve)
    assert p.check(Reported("s3", ["minio.local:9000"])) == [("minio.local", True)]
    assert p.check(Reported("s3", ["s3.amazonaws.com"])) == [("s3.amazonaws.com", False)]
    assert "resolves to 127.0.0.1, which is loopback" in refused(p, Reported("s3", ["rebind.amazonaws.com"]))
    assert "is not listed" in refused(p, Reported("s3", ["minio.local:9001"]))


def test_secrets_in_the_server_role_must_be_listed_and_go_only_where_listed() -> None:
    ref = SecretRef("my-minio-cred", "accesskey")
    backend = Reported("s3", ["minio.argo.svc:9000"], secrets=[("accessKeySecret", ref)])
    assert "resolves no secret the policy does not list (rule 'secrets')" in refused(policy(role=ROLE_SERVER), backend)
    assert policy().check(backend)  # a workflow pod: the workflow's own service account decides

    p = policy('secrets: [{name: my-minio-cred, endpoints: ["minio.argo.svc:9000"]}]', role=ROLE_SERVER)
    assert p.check(backend)
    attacker = Reported("s3", ["attacker.example:443"], secrets=[("sessionTokenSecret", ref)])
    assert refused(p, attacker) == (
        "refused by policy: secret 'my-minio-cred' may not be sent to attacker.example:443 (rule 'secrets')")
    other = Reported("s3", ["minio.argo.svc:9000"], secrets=[("accessKeySecret", SecretRef("argo-server-sso", "x"))])
    assert "names secret 'argo-server-sso', which is not listed" in refused(p, other)


@pytest.mark.parametrize("text, says", [
    ("endpoint: [a]", "unknown key 'endpoint' (did you mean 'endpoints'?)"),
    ("file: {root: [/x]}", "unknown key 'file.root' (did you mean 'file.roots'?)"),
    ("fsspec: {protocol: [sftp]}", "unknown key 'fsspec.protocol' (did you mean 'fsspec.protocols'?)"),
    ("schemes: s3", "'schemes' must be a list of names"),
    ("file: {roots: [relative/dir]}", "'file.roots': 'relative/dir' is not an absolute path"),
    ("endpoints: ['a b']", "'endpoints': 'a b' does not name a host"),
    ("secrets: [{name: '#', endpoints: []}]", "'secrets[0].name' is not a Kubernetes secret name"),
    ("secrets: [{name: ok}]", "'secrets[0].endpoints' is required"),
    ("secrets: [{name: ok, endpoints: [], key: x}]", "unknown key 'secrets[0].key'"),
    ("a: &x 1\nb: *x", "uses a YAML anchor or alias"),
    ("[schemes]", "must be a mapping of rules"),
    ("schemes: [s3", "is not valid YAML"),
])
def test_invalid_policies_are_one_line_errors(text: str, says: str) -> None:
    with pytest.raises(PolicyError) as info:
        Policy.from_text(text, source="policy file /etc/p.yaml")
    message = str(info.value)
    assert message.startswith("policy file /etc/p.yaml") and says in message and "\n" not in message


def test_a_missing_policy_file_stops_the_plugin(tmp_path) -> None:
    with pytest.raises(PolicyError, match="cannot read it"):
        Policy.load(str(tmp_path / "nope.yaml"))
    assert Policy.load("").source == "the default policy"


def test_warnings_say_what_is_probably_a_mistake() -> None:
    p = Policy.from_text("schemes: [file, s3, webdavv]\nfsspec: {protocols: [sftp, simplecache]}\nendpoints: ['*']")
    notes = p.warnings(installed_schemes=["file", "s3", "gcs"])
    assert any("'webdavv' is not installed" in n for n in notes)
    assert any("file.roots is empty" in n for n in notes)
    assert any("'simplecache'" in n for n in notes)
    assert any("matches every host" in n for n in notes)


# -- the shipped policies, with the backends as the plugin builds them ------------------

SHIPPED = Path(__file__).resolve().parents[2] / "examples" / "policies"
MINIO_BLOCK = """scheme: s3
bucket: my-bucket
endpoint: minio.argo:9000
insecure: true
accessKeySecret: {name: my-minio-cred, key: accesskey}
secretKeySecret: {name: my-minio-cred, key: secretkey}
"""
LEGITIMATE = {
    "minio": MINIO_BLOCK,
    "aws": "scheme: s3\nbucket: my-bucket\nregion: eu-west-1\n",
    "gcs": "scheme: gcs\nbucket: my-bucket\n",
    "azure": "scheme: azure\nendpoint: https://myaccount.blob.core.windows.net\ncontainer: artifacts\nuseSDKCreds: true\n",
    "sftp": "scheme: fsspec\nprotocol: sftp\nroot: /srv/artifacts\n"
            "storageOptions: {host: sftp.example.internal, port: 22, username: argo}\n",
    "fallback": "scheme: fallback\nprimary: {scheme: gcs, bucket: new}\nfallback:\n  "
                + MINIO_BLOCK.replace("\n", "\n  ").rstrip() + "\n",
}


def shipped(name: str, role: str) -> Policy:
    loaded = Policy.load(str(SHIPPED / name), role)
    return Policy(**{**loaded.__dict__, "resolve": dns(minio_argo="10.96.12.7", sftp_example_internal="10.0.3.4")})


def build(policy: Policy, text: str):
    """The store the plugin would build for ``text`` under ``policy`` (composite parts included)."""
    from argo_artifact_driver.core.secrets import SecretResolver
    from argo_artifact_driver.core.settings import Settings
    from argo_artifact_driver.core.stores import StoreCache

    stores = StoreCache(Settings(), secrets=SecretResolver(secrets_dir="/nonexistent"), policy=policy)
    return stores.build(stores.parse(text))


@pytest.mark.parametrize("name", sorted(LEGITIMATE))
def test_legitimate_configurations_pass_the_workflow_pod_policy(name):
    build(shipped("workflow-pod.yaml", "pod"), LEGITIMATE[name])


@pytest.mark.parametrize("name", ["minio", "aws", "gcs", "azure", "fallback"])
def test_legitimate_configurations_pass_the_argo_server_policy(name):
    build(shipped("argo-server.yaml", "server"), LEGITIMATE[name])


@pytest.mark.parametrize("text, rule", [
    (MINIO_BLOCK.replace("minio.argo:9000", "attacker.example:443"), "endpoints"),
    (MINIO_BLOCK.replace("minio.argo:9000", "s3.amazonaws.com"), "secrets"),  # my-minio-cred goes to MinIO only
    (MINIO_BLOCK.replace("my-minio-cred", "argo-server-sso"), "secrets"),
    ("scheme: file\nroot: /var/run/secrets/kubernetes.io/serviceaccount\n", "schemes"),
    ("scheme: s3\nbucket: b\nendpoint: 169.254.169.254\n", "endpoints"),
    ("scheme: fsspec\nprotocol: ftp\nstorageOptions: {host: minio.argo}\n", "fsspec.protocols"),
])
def test_the_argo_server_policy_refuses(text, rule):
    with pytest.raises(RefusedByPolicy, match=f"\\(rule '{rule}'\\)$"):
        build(shipped("argo-server.yaml", "server"), text)
