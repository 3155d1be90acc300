"""Every mistake a user can make with ``argo-artifacts`` ends in one line and the documented
exit code (0 ok, 1 what was checked or called failed, 2 usage, 130 interrupted), never a
traceback; and ``check`` explains what was pasted. All through the installed console script."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess, console_script
from argo_artifact_driver.plugin_server.testing.policy import write_policy


def tools(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([console_script("argo-artifacts"), *args], input=stdin, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def one_line(done: subprocess.CompletedProcess, code: int, says: str) -> None:
    """The run failed with ``code`` and said exactly one line, containing ``says``."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert says in done.stderr, done.stderr


WORKFLOW = textwrap.dedent("""\
    apiVersion: argoproj.io/v1alpha1
    kind: Workflow
    metadata: {generateName: reports-}
    spec:
      entrypoint: main
      templates:
      - name: main
        container: {image: alpine}
        outputs:
          artifacts:
          - name: report
            path: /tmp/report
            plugin:
              name: argo-artifact-driver
              configuration: |
                scheme: s3
                bucket: reports
              key: report.tgz
          - name: logs
            path: /tmp/logs
            plugin:
              name: argo-artifact-driver
              configuration: |
                scheme: s3
                buckt: logs
              key: logs
    """)


# -- check ---------------------------------------------------------------------------------

def test_check_explains_a_pasted_plugin_block_and_checks_its_configuration():
    block = "plugin:\n  name: argo-artifact-driver\n  configuration: |\n    scheme: s3\n    bucket: b\n  key: k\n"
    done = tools("check", block)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == [
        "configuration of the artifact's plugin block:", "ok: scheme 's3' (argo-artifact-driver 0.1.0), store s3://b"]
    assert "unknown option" not in done.stdout + done.stderr


def test_check_explains_a_pasted_artifact_with_its_plugin_block():
    artifact = "name: out\npath: /tmp/out\nplugin:\n  configuration: |\n    scheme: s3\n    bucket: b\n  key: k\n"
    done = tools("check", artifact)
    assert done.returncode == 0 and done.stdout.startswith("configuration of the artifact's plugin block:\nok: ")


def test_check_finds_every_configuration_of_a_workflow_and_says_where(tmp_path):
    (tmp_path / "wf.yaml").write_text(WORKFLOW)
    done = tools("check", f"@{tmp_path / 'wf.yaml'}")
    assert done.returncode == 1
    assert done.stdout.splitlines()[:2] == [
        "in Workflow 'reports-' spec.templates[0].outputs.artifacts[0].plugin (artifact 'report'):",
        "ok: scheme 's3' (argo-artifact-driver 0.1.0), store s3://reports"]
    errors = done.stderr.splitlines()
    assert errors[0] == "in Workflow 'reports-' spec.templates[0].outputs.artifacts[1].plugin (artifact 'logs'):"
    assert errors[1].startswith("invalid: invalid configuration for scheme 's3': unknown option 'buckt'")
    records = [json.loads(line) for line in tools("check", "--json", WORKFLOW).stdout.splitlines()]
    assert [(r["valid"], r["where"].rsplit(" ", 1)[-1]) for r in records] == [(True, "'report')"), (False, "'logs')")]


def test_check_of_a_workflow_without_plugin_artifacts_says_where_to_look():
    done = tools("check", "kind: Workflow\nmetadata: {name: w}\nspec: {entrypoint: main, templates: []}\n")
    one_line(done, 1, "no plugin configuration in this Workflow")


def test_check_lists_the_options_once():
    done = tools("check", "scheme: s3\nbucket: b\nfoo: 1\nbar: 2\n")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("options of scheme 's3':") == 1 and "known options:" not in done.stderr
    assert done.stderr.startswith("invalid: invalid configuration for scheme 's3': unknown option 'foo'; unknown option 'bar'\n")


def test_check_names_the_part_of_a_composite_and_lists_that_parts_options():
    done = tools("check", "scheme: fallback\nprimary: {scheme: s3, buckt: a}\nfallback: {scheme: s3, bucket: b}\n")
    assert done.returncode == 1 and "'primary' of scheme 'fallback'" in done.stderr
    assert "options of scheme 's3':" in done.stderr and "options of scheme 'fallback':" not in done.stderr


def test_check_never_says_ok_before_invalid():
    """A secret that cannot be resolved is found by --resolve after the options passed:
    the verdict waits for it."""
    env = {"ARGO_ARTIFACT_DRIVER_SECRETS_DIR": "/nonexistent", "ARGO_ARTIFACT_DRIVER_SERVICEACCOUNT_DIR": "/nonexistent"}
    done = tools("check", "--resolve", "scheme: s3\nbucket: b\naccessKeySecret: {name: s, key: a}\n"
                 "secretKeySecret: {name: s, key: b}\n", env=env)
    assert done.stdout == ""
    one_line(done, 1, "invalid: secret 's' key 'a' not found")


def test_check_json_has_one_shape_for_valid_and_invalid():
    ok = json.loads(tools("check", "--json", "scheme: s3\nbucket: b\nregion: eu-west-1\n").stdout)
    bad = json.loads(tools("check", "--json", "scheme: nosuchstore\n").stdout)
    assert set(ok) == set(bad)
    assert ok["valid"] and ok["options"]["region"] == "eu-west-1" and ok["store"] == "s3://b"
    assert not bad["valid"] and "unknown scheme 'nosuchstore'" in bad["error"]


@pytest.mark.parametrize("argument, says", [
    ("@/nonexistent/config.yaml", "argo-artifacts check: configuration: no file '/nonexistent/config.yaml'"),
    ("@/", "argo-artifacts check: configuration: '/' is a directory, not a file"),
])
def test_check_of_a_missing_file_is_one_line(argument, says):
    one_line(tools("check", argument), 2, says)


def test_a_bad_setting_in_the_environment_is_one_line():
    done = tools("check", "scheme: s3\nbucket: b\n", env={"ARGO_ARTIFACT_DRIVER_WORKERS": "abc"})
    one_line(done, 2, "argo-artifacts check: ARGO_ARTIFACT_DRIVER_WORKERS must be a whole number, got 'abc'")


# -- call ----------------------------------------------------------------------------------

def test_call_without_a_plugin_at_the_socket_is_one_line(tmp_path):
    one_line(tools("call", str(tmp_path / "nothing"), "list", "--config", "scheme: file"), 1,
             f"argo-artifacts call: no socket at {tmp_path / 'nothing'}: is the plugin running?")
    (tmp_path / "file").write_text("")
    one_line(tools("call", str(tmp_path / "file"), "list", "--config", "scheme: file"), 1, "is not a socket")
    dead = tmp_path / "dead.sock"  # left behind by a plugin that stopped: nothing listens
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(dead))
    one_line(tools("call", str(dead), "list", "--config", "scheme: file"), 1, f"no plugin answers on {dead}")


@pytest.mark.parametrize("args, says", [
    (["Load"], "Load needs --config and --key and --path: --config is the plugin configuration"),
    (["load", "--config", "scheme: file"], "load needs --key and --path"),
    (["list"], "list needs --config"),
    (["put", "--config", "x"], "put needs --key"),
    (["list", "--config", "@/nonexistent/c.yaml"], "--config: no file '/nonexistent/c.yaml'"),
])
def test_call_says_what_is_missing(tmp_path, args, says):
    one_line(tools("call", str(tmp_path / "sock"), *args), 2, says)


def test_an_unknown_method_is_a_usage_error(tmp_path):
    done = tools("call", str(tmp_path / "sock"), "fetch")
    assert done.returncode == 2 and "invalid choice: 'fetch'" in done.stderr and "Traceback" not in done.stderr


def test_ctrl_c_during_a_call_is_one_line_and_exit_130(tmp_path):
    """A plugin that accepts the connection and never answers; the user presses Ctrl-C."""
    path = tmp_path / "silent.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        listener.listen()
        proc = subprocess.Popen([console_script("argo-artifacts"), "call", str(path), "list", "--config", "x"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        conn, _ = listener.accept()  # the tool is connected and waiting
        time.sleep(0.5)  # it is inside the call, not still starting
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        conn.close()
    assert proc.returncode == 130 and err == "argo-artifacts call: interrupted\n" and out == ""


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> PluginProcess:
    base = tmp_path_factory.mktemp("tools-plugin")
    # scheme file is off by default: the tests' stores live in the session's temporary directory
    policy = write_policy(base / "policy.yaml", roots=[tmp_path_factory.getbasetemp()])
    proc = PluginProcess(base / "socket", base, env=policy, name="tools-plugin")
    yield proc
    assert proc.stop() == 0


def test_call_prints_answers_plainly_or_as_json(plugin, tmp_path):
    sock, config = str(plugin.socket_path), f"scheme: file\nroot: {tmp_path / 'store'}\n"
    (tmp_path / "f").write_bytes(b"hello")
    saved = tools("call", sock, "Save", "--config", config, "--key", "a/f", "--path", str(tmp_path / "f"))
    assert (saved.returncode, saved.stdout) == (0, "ok\n")
    assert tools("call", sock, "list", "--config", config, "--key", "a").stdout == "a/f\n"
    assert tools("call", sock, "isdir", "--config", config, "--key", "a").stdout == "true\n"
    streamed = tools("call", sock, "get", "--config", config, "--key", "a/f")
    assert (streamed.stdout, streamed.stderr) == ("hello", "ok (5 bytes)\n")  # the object alone on stdout
    assert json.loads(tools("call", sock, "list", "--config", config, "--key", "a", "--json").stdout) == {
        "objects": ["a/f"], "error": ""}
    missing = tools("call", sock, "load", "--config", config, "--key", "nope", "--path", str(tmp_path / "x"))
    assert missing.returncode == 1 and missing.stdout.startswith("error: key 'nope' in file://")
    config_file = tmp_path / "config.yaml"
    config_file.write_text(config)
    assert tools("call", sock, "ListObjects", "--config", f"@{config_file}", "--key", "a").stdout == "a/f\n"


# -- demo and backends -----------------------------------------------------------------------

def test_demo_json_reports_each_step(tmp_path: Path):
    done = tools("demo", "--once", "--json", "--dir", str(tmp_path / "demo"))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert all(r["ok"] for r in records) and len(records) == 10
    assert records[-1]["configuration"] == str(tmp_path / "demo" / "config.yaml")
