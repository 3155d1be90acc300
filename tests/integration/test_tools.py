"""``argo-artifacts backends`` and ``check`` in this environment, run as the console script,
and the backend API's own checks on the built-in backends."""

from __future__ import annotations

import json
import subprocess

import pytest

from argo_artifact_driver.backends.file import FileBackend
from argo_artifact_driver.backends.s3 import S3Backend
from argo_artifact_driver.core import Backend, Option, api_problems
from argo_artifact_driver.plugin_server.testing.plugin import console_script


def _builtin_schemes() -> list[str]:
    """The schemes this distribution itself declares (grows as backends are added)."""
    from importlib import metadata

    eps = metadata.distribution("argo-artifact-driver").entry_points
    return sorted(ep.name for ep in eps if ep.group == "argo_artifact_driver.backends")


BUILTIN_SCHEMES = _builtin_schemes()


def tools(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [console_script("argo-artifacts"), *args], input=stdin, capture_output=True, text=True, timeout=60
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


def test_check_a_valid_configuration_touches_no_storage():
    # No server listens on port 9; the check must not try to reach it.
    done = tools("check", "scheme: s3\nbucket: my-bucket\nendpoint: 127.0.0.1:9\ninsecure: true\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "ok: scheme 's3' (argo-artifact-driver 0.1.0), store s3://my-bucket at 127.0.0.1:9"
    assert "  addressingStyle: auto" in lines and "  insecure: true" in lines  # as YAML, defaults shown


def test_check_reads_a_file_or_stdin(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f"scheme: file\nroot: {tmp_path}\n")
    assert tools("check", f"@{config}").returncode == 0
    assert tools("check", "@-", stdin=config.read_text()).returncode == 0


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
