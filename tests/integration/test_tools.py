"""``argo-artifacts backends`` and ``check`` in this environment, run as the console script,
and the backend API's own checks on the built-in backends."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from argo_artifact_driver.backends.file import FileBackend
from argo_artifact_driver.backends.s3 import S3Backend
from argo_artifact_driver.core import Backend, Option, api_problems
from argo_artifact_driver.plugin_server.testing.plugin import console_script
from argo_artifact_driver.plugin_server.testing.policy import write_policy

SHIPPED = Path(__file__).resolve().parents[2] / "examples" / "policies"


def _builtin_schemes() -> list[str]:
    """The schemes this distribution itself declares (grows as backends are added)."""
    from importlib import metadata

    eps = metadata.distribution("argo-artifact-driver").entry_points
    return sorted(ep.name for ep in eps if ep.group == "argo_artifact_driver.backends")


BUILTIN_SCHEMES = _builtin_schemes()


def tools(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [console_script("argo-artifacts"), *args], input=stdin, capture_output=True, text=True, timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_backends_lists_the_built_in_schemes_as_loading():
    done = tools("backends", "--json")
    assert done.returncode == 0, done.stdout
    records = {r["scheme"]: r for r in map(json.loads, done.stdout.splitlines())}
    assert {"file", "s3"} <= set(BUILTIN_SCHEMES)
    for scheme in BUILTIN_SCHEMES:
        assert records[scheme]["ok"] and records[scheme]["error"] == ""
        assert records[scheme]["packages"][0]["distribution"] == "argo-artifact-driver"


def test_backends_of_an_unknown_scheme_fails_and_says_why():
    done = tools("backends", "nosuchstore")
    assert done.returncode == 1
    assert "nosuchstore" in done.stdout and "FAILED" in done.stdout and "unknown scheme 'nosuchstore'" in done.stdout


def test_check_a_valid_configuration_touches_no_storage(tmp_path):
    # No server listens on port 9; the check must not try to reach it. A loopback
    # endpoint needs a policy that lists it (the default refuses loopback).
    write_policy(tmp_path / "policy.yaml", endpoints=["127.0.0.1:9"])
    done = tools("check", "--policy", str(tmp_path / "policy.yaml"),
                 "scheme: s3\nbucket: my-bucket\nendpoint: 127.0.0.1:9\ninsecure: true\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "ok: scheme 's3' (argo-artifact-driver 0.1.0), store s3://my-bucket at 127.0.0.1:9"
    assert "  addressingStyle: auto" in lines and "  insecure: true" in lines  # as YAML, defaults shown


def test_check_reads_a_file_or_stdin(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f"scheme: file\nroot: {tmp_path}\n")
    write_policy(tmp_path / "policy.yaml", roots=[tmp_path])
    assert tools("check", "--policy", str(tmp_path / "policy.yaml"), f"@{config}").returncode == 0
    assert tools("check", "--policy", str(tmp_path / "policy.yaml"), "@-", stdin=config.read_text()).returncode == 0


@pytest.mark.parametrize("config, says", [
    ("scheme: s3\nbucket: b\nendpoint: 169.254.169.254\n",
     "refused by policy: endpoint 169.254.169.254 is link-local (a cloud metadata address) (rule 'endpoints')"),
    ("scheme: file\nroot: /var/run/secrets\n", "(rule 'schemes')"),
    ("scheme: fallback\nprimary: {scheme: s3, bucket: a}\nfallback: {scheme: s3, bucket: b, endpoint: 'localhost:9000'}\n",
     "endpoint localhost:9000 resolves to 127.0.0.1, which is loopback (rule 'endpoints')"),
    ("scheme: fsspec\nprotocol: simplecache\nstorageOptions: {target_protocol: file}\n", "(rule 'fsspec.protocols')"),
])
def test_check_applies_the_default_policy(config, says):
    done = tools("check", config, env={"ARGO_ARTIFACT_DRIVER_POLICY": ""})
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("invalid: refused by policy: ") or "refused by policy" in done.stderr
    assert says in done.stderr and "options of scheme" not in done.stderr


def test_check_applies_the_policy_and_role_of_the_environment(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text('secrets: [{name: my-minio-cred, endpoints: ["minio.argo:9000"]}]\n')
    config = ("scheme: s3\nbucket: b\nendpoint: {endpoint}\naccessKeySecret: {{name: my-minio-cred, key: a}}\n"
              "secretKeySecret: {{name: my-minio-cred, key: s}}\n")
    env = {"ARGO_ARTIFACT_DRIVER_POLICY": str(policy), "ARGO_ARTIFACT_DRIVER_ROLE": "server"}
    assert tools("check", config.format(endpoint="minio.argo:9000"), env=env).returncode == 0
    done = tools("check", config.format(endpoint="evil.example:443"), env=env)
    assert done.stderr.strip() == (
        "invalid: refused by policy: secret 'my-minio-cred' may not be sent to evil.example:443 (rule 'secrets')")
    unlisted = tools("check", config.format(endpoint="minio.argo:9000").replace("my-minio-cred", "other"),
                     env={"ARGO_ARTIFACT_DRIVER_ROLE": "server"})
    assert "resolves no secret the policy does not list (rule 'secrets')" in unlisted.stderr


def test_policy_check_validates_a_policy_file(tmp_path):
    good = tools("policy", "check", "--role", "server", str(SHIPPED / "argo-server.yaml"))
    assert good.returncode == 0, good.stderr
    assert good.stdout.splitlines()[0] == f"ok: policy file {SHIPPED / 'argo-server.yaml'} (role server)"
    assert "  secrets: my-minio-cred -> minio.argo:9000" in good.stdout
    pod = tools("policy", "check", str(SHIPPED / "workflow-pod.yaml"))
    assert pod.returncode == 0 and "warning" not in pod.stdout, pod.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("schemes: [s3]\nendpoint: [minio:9000]\n")
    done = tools("policy", "check", str(bad))
    assert done.returncode == 1
    assert done.stderr.strip() == f"invalid: policy file {bad}: unknown key 'endpoint' (did you mean 'endpoints'?)"
    risky = tmp_path / "risky.yaml"
    risky.write_text("schemes: [file, s3]\nfsspec: {protocols: [sftp, simplecache]}\n")
    done = tools("policy", "check", str(risky))
    assert done.returncode == 0
    assert "warning: fsspec protocol 'simplecache' opens local paths, wraps another filesystem" in done.stdout
    assert "warning: scheme 'file' is allowed but file.roots is empty" in done.stdout


@pytest.mark.parametrize(
    "config, expected",
    [
        ("scheme: s3\nbuckt: b\n", ["unknown option 'buckt' (did you mean 'bucket'?)", "options of scheme 's3':",
                                     "  bucket (string, required): the bucket holding artifacts"]),
        ("scheme: file\nroot: relative\n", ["invalid configuration for scheme 'file': 'root' must be an absolute path",
                                             "  root (string, required): absolute path of the directory"]),
        ("scheme: nosuchstore\n", ["unknown scheme 'nosuchstore'", f"installed schemes: {', '.join(BUILTIN_SCHEMES)}"]),
        ("scheme: [oops", ["not valid YAML or JSON"]),
    ],
)
def test_check_an_invalid_configuration_says_what_to_fix(config, expected):
    done = tools("check", config)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("invalid: ")
    for text in expected:
        assert text in done.stderr


def test_usage_errors_exit_2():
    assert tools("check").returncode == 2
    assert tools("nosuchcommand").returncode == 2


def test_built_in_backends_implement_the_api():
    assert api_problems(FileBackend) == []
    assert api_problems(S3Backend) == []


def test_api_problems_names_each_problem():
    class Partial(Backend):
        api_version = 2
        option_spec = {"a": "not an Option"}

        def root(self) -> str:
            return ""

    assert api_problems(Partial) == [
        "Partial does not implement create_filesystem",
        "Partial needs backend API version 2; this plugin supports 1",
        "Partial.option_spec must map option names to Option",
    ]
    assert api_problems(Option()) == ["an instance of Option is not a subclass of argo_artifact_driver.core.backend.Backend"]


def test_option_describe():
    assert Option(str, required=True, help="the bucket").describe("bucket") == "bucket (string, required): the bucket"
    assert Option(bool, default=False).describe("insecure") == "insecure (boolean, default False)"
    assert Option((int, float), help="seconds").describe("t") == "t (integer or number, optional): seconds"
