"""Third-party backends installed for real: discovery, broken packages, uninstalling.

Each scenario runs in a throwaway virtualenv (``tests/support/overlay.py``) that sees this
environment without the packages under test; the example WebDAV backend
(``examples/webdav-backend``) and a package of deliberately broken backends
(``tests/resources/broken-backends``) are built into wheels once and installed there
with pip. The plugin and ``argo-artifacts`` run in that virtualenv as separate
processes; nothing patches the registry: every backend is a real entry point.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess
from argo_artifact_driver.plugin_server.testing.policy import write_policy
from support.overlay import OverlayVenv, build_wheels


def _builtin_schemes() -> list[str]:
    """The schemes this distribution itself declares (grows as backends are added)."""
    from importlib import metadata

    eps = metadata.distribution("argo-artifact-driver").entry_points
    return sorted(ep.name for ep in eps if ep.group == "argo_artifact_driver.backends")


BUILTIN_SCHEMES = _builtin_schemes()

webdav_testing = pytest.importorskip(
    "argo_artifact_webdav.testing", reason="install examples/webdav-backend[test] (make test does)"
)

REPO = Path(__file__).resolve().parents[2]
WEBDAV = "argo-artifact-driver-webdav"
BROKEN = "argo-artifact-broken-backends"
SOURCES = {WEBDAV: REPO / "examples" / "webdav-backend", BROKEN: REPO / "tests" / "resources" / "broken-backends"}


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_wheels(SOURCES.values(), tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="module")
def dav(tmp_path_factory: pytest.TempPathFactory):
    server = webdav_testing.WebdavServer(tmp_path_factory.mktemp("dav"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheels: dict[str, Path]) -> OverlayVenv:
    """The example and the broken backends installed next to the built-in ones."""
    venv = OverlayVenv(tmp_path_factory.mktemp("venv") / "env", hide=SOURCES)
    venv.pip("install", "--no-deps", "--no-index", str(wheels[WEBDAV]), str(wheels[BROKEN]))
    return venv


def start_plugin(venv: OverlayVenv, where: Path, name: str, dav_server=None) -> PluginProcess:
    # The operator's policy: every scheme the venv declares (file among them), the WebDAV
    # server, and the session's temporary directory for the file stores.
    servers = [f"127.0.0.1:{dav_server.port}"] if dav_server is not None else []
    policy = write_policy(where / f"{name}-policy.yaml", endpoints=servers,
                          schemes=sorted({*BUILTIN_SCHEMES, "webdav", "buggy-hook", *EXPECTED_FAILURES}),
                          roots=[where.parent])
    return PluginProcess(where / name / "socket", where, env={**webdav_testing.PLUGIN_ENV, **policy}, name=name,
                         python=venv.python)


@pytest.fixture(scope="module")
def venv_client(venv: OverlayVenv, tmp_path_factory: pytest.TempPathFactory, dav):
    plugin = start_plugin(venv, tmp_path_factory.mktemp("plugin"), "plugin-with-broken-backends", dav)
    client = plugin.client()
    yield client
    client.close()
    assert plugin.stop() == 0, plugin.output()[-4000:]


def file_config(tmp_path: Path) -> str:
    return f"scheme: file\nroot: {tmp_path / 'file-store'}\n"


def save_and_load(client, config: str, key: str, tmp_path: Path) -> tuple[bool, str]:
    src = tmp_path / f"{key.replace('/', '_')}.src"
    src.write_bytes(b"still working")
    saved = client.save(config, key, src)
    if not saved.success:
        return False, saved.error
    dest = tmp_path / f"{key.replace('/', '_')}.dest"
    loaded = client.load(config, key, dest)
    return loaded.success and dest.read_bytes() == b"still working", loaded.error


# -- argo-artifacts backends ------------------------------------------------------------

EXPECTED_FAILURES = {
    "broken-import": [BROKEN, "0.0.1", "broken_backends.fails_to_import:ImportsAMissingSdk",
                      "failed to import", "ModuleNotFoundError", "argo_artifact_missing_sdk"],
    "not-a-backend": [BROKEN, "NotABackend is not a subclass of argo_artifact_driver.core.backend.Backend"],
    "half-done": [BROKEN, "HalfDone does not implement root"],
    "from-the-future": [BROKEN, "needs backend API version 99; this plugin supports 1"],
    "s3": ["2 installed packages claim it", f"package '{BROKEN}' 0.0.1", "package 'argo-artifact-driver'",
           "uninstall all but one"],
}


def test_backends_reports_each_scheme_with_its_package(venv):
    done = venv.tools("backends", "--json")
    assert done.returncode == 1, done.stderr  # some backends do not load
    records = {r["scheme"]: r for r in map(json.loads, done.stdout.splitlines())}
    assert sorted(records) == sorted({*BUILTIN_SCHEMES, "webdav", "buggy-hook", *EXPECTED_FAILURES})
    assert records["file"]["ok"] and records["file"]["packages"][0]["distribution"] == "argo-artifact-driver"
    webdav = records["webdav"]
    assert webdav["ok"] and webdav["error"] == ""
    assert webdav["packages"] == [
        {"distribution": WEBDAV, "version": "0.1.0", "entry_point": "argo_artifact_webdav.backend:WebdavBackend"}
    ]
    for scheme, phrases in EXPECTED_FAILURES.items():
        record = records[scheme]
        assert not record["ok"], scheme
        for phrase in phrases:
            assert phrase in record["error"], (scheme, phrase, record["error"])
    assert {p["distribution"] for p in records["s3"]["packages"]} == {"argo-artifact-driver", BROKEN}


def test_backends_table_for_people(venv):
    done = venv.tools("backends")
    assert done.returncode == 1
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[1:] if line and ":" not in line}
    assert rows["webdav"] == ["webdav", WEBDAV, "0.1.0", "ok"]
    assert rows["broken-import"] == ["broken-import", BROKEN, "0.0.1", "FAILED"]
    assert rows["s3"] == ["s3", f"{BROKEN},", "argo-artifact-driver", "0.0.1,", "0.1.0", "FAILED"]
    assert "\nbroken-import: scheme 'broken-import' is unavailable: the backend from package" in done.stdout


def test_backends_for_working_schemes_only_succeeds(venv):
    done = venv.tools("backends", "file", "webdav")
    assert done.returncode == 0, done.stdout
    assert "FAILED" not in done.stdout


def test_discovery_imports_only_the_requested_scheme(venv):
    out = venv.run_python(
        "import sys\n"
        "from argo_artifact_driver.core.registry import BackendRegistry\n"
        "registry = BackendRegistry()\n"
        "print(len(registry.schemes()), 'broken_backends' in sys.modules, 'argo_artifact_webdav' in sys.modules)\n"
        "print('webdav4' in sys.modules)\n"
        "registry.backend_class('webdav')\n"
        "print(sorted(m for m in sys.modules if m.startswith(('broken_backends', 'argo_artifact_webdav'))))\n"
        "print('webdav4' in sys.modules)\n"
    )
    listed, sdk_before, loaded, sdk_after = out.splitlines()
    assert listed == f"{len(set(BUILTIN_SCHEMES) | {'webdav', 'buggy-hook'} | set(EXPECTED_FAILURES))} False False"
    assert loaded == "['argo_artifact_webdav', 'argo_artifact_webdav.backend']"
    # The SDK it declares in 'requires' comes with the scheme (first use), never with discovery.
    assert (sdk_before, sdk_after) == ("False", "True")


# -- the plugin -------------------------------------------------------------------------


def test_the_example_scheme_works_through_the_plugin(venv_client, dav, tmp_path):
    store = webdav_testing.WebdavStore(dav.url)
    key = "third-party/report.txt"
    ok, error = save_and_load(venv_client, store.config, key, tmp_path)
    assert ok, error
    assert store.get(key) == b"still working"  # out of band, with webdav4
    assert list(venv_client.list_objects(store.config, "third-party").objects) == [key]


@pytest.mark.parametrize("scheme", sorted(EXPECTED_FAILURES))
def test_a_broken_backend_fails_only_its_own_scheme(venv_client, dav, scheme, tmp_path):
    src = tmp_path / "f"
    src.write_bytes(b"x")
    r = venv_client.save(f"scheme: {scheme}\nbucket: b\n", "k", src)
    assert not r.success
    for phrase in EXPECTED_FAILURES[scheme]:
        assert phrase in r.error
    # the same plugin process keeps serving every other scheme
    assert save_and_load(venv_client, file_config(tmp_path), f"after-{scheme}", tmp_path) == (True, "")
    store = webdav_testing.WebdavStore(dav.url)
    assert save_and_load(venv_client, store.config, f"after-{scheme}", tmp_path) == (True, "")


def test_check_reports_the_broken_package_and_passes_the_example(venv):
    done = venv.tools("check", "scheme: broken-import")
    assert done.returncode == 1 and "invalid:" in done.stderr and BROKEN in done.stderr
    done = venv.tools("check", "scheme: webdav\nurl: http://dav.example.invalid/dav\n")  # no such server: not contacted
    assert done.returncode == 0, done.stderr
    assert f"ok: scheme 'webdav' ({WEBDAV} 0.1.0), store http://dav.example.invalid/dav" in done.stdout
    done = venv.tools("check", "scheme: webdav\nurl: http://127.0.0.1:9\nrooot: a\n")
    assert done.returncode == 1
    assert "did you mean 'root'?" in done.stderr
    assert "url (string, required): base URL of the WebDAV server" in done.stderr  # the option help


# -- uninstalling -----------------------------------------------------------------------


def test_uninstalling_the_example_fails_only_its_scheme(tmp_path, wheels, dav):
    venv = OverlayVenv(tmp_path / "env", hide=SOURCES)
    venv.pip("install", "--no-deps", "--no-index", str(wheels[WEBDAV]))
    store = webdav_testing.WebdavStore(dav.url)
    plugin = start_plugin(venv, tmp_path, "plugin-before", dav)
    try:
        client = plugin.client()
        assert save_and_load(client, store.config, "before-uninstall", tmp_path) == (True, "")
        client.close()
    finally:
        assert plugin.stop() == 0

    venv.pip("uninstall", "--yes", WEBDAV)
    listed = venv.tools("backends")
    assert listed.returncode == 0 and "webdav" not in listed.stdout

    plugin = start_plugin(venv, tmp_path, "plugin-after", dav)
    try:
        client = plugin.client()
        ok, error = save_and_load(client, store.config, "after-uninstall", tmp_path)
        assert not ok
        assert "unknown scheme 'webdav'" in error and "install the package that provides the 'webdav' backend" in error
        assert f"installed schemes: {', '.join(BUILTIN_SCHEMES)}" in error
        assert save_and_load(client, file_config(tmp_path), "after-uninstall", tmp_path) == (True, "")
        client.close()
    finally:
        assert plugin.stop() == 0
    assert not store.exists("after-uninstall")


def test_a_bug_in_a_backend_hook_is_an_internal_error_with_its_traceback_logged(venv, tmp_path):
    """Not "storage unavailable": the caller gets a short internal error, the plugin's log
    the traceback that shows where the bug is."""
    plugin = start_plugin(venv, tmp_path, "plugin-buggy")
    try:
        client = plugin.client()
        config = f"scheme: buggy-hook\nroot: {tmp_path / 'store'}\n"
        src = tmp_path / "f"
        src.write_bytes(b"data")
        assert client.save(config, "k", src).success  # the hooks it uses are fine
        loaded = client.load(config, "k", tmp_path / "back")
        data, streamed = client.stream_bytes(config, "k")
        assert client.capabilities().supports_save_stream  # still serving
        client.close()
    finally:
        assert plugin.stop() == 0
    for error in (loaded.error, streamed):
        assert error.startswith("internal error in the artifact plugin during ") and "AttributeError" in error
        assert "Traceback" not in error and "sdk_client" not in error
    assert not (tmp_path / "back").exists() and data == b""
    logged = [r for r in plugin.log_records() if r.get("outcome") == "internal"]
    assert [r["method"] for r in logged] == ["Load", "OpenStream"]
    assert all(r["level"] == "ERROR" and "traceback" in r for r in logged)  # one line: the call and its bug
    tracebacks = [r["traceback"] for r in plugin.log_records() if "traceback" in r]
    assert any("download_file" in t and "sdk_client" in t for t in tracebacks)
    assert any("open_reader" in t and "'NoneType' object has no attribute 'open'" in t for t in tracebacks)
