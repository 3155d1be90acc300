"""The backend's own contract: discovery, option validation, atomic publication."""

from __future__ import annotations

import pytest
from argo_artifact_webdav.backend import WebdavBackend
from argo_artifact_webdav.testing import PLUGIN_ENV

from argo_artifact_driver.core.backend import API_VERSION, BadConfiguration, api_problems
from argo_artifact_driver.plugin_server.testing import configured
from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess
from argo_artifact_driver.plugin_server.testing.policy import write_policy


def make(text: str) -> WebdavBackend:
    return configured(text)


def test_installed_entry_point_serves_the_scheme():
    assert type(make("scheme: webdav\nurl: https://dav.example.com\n")) is WebdavBackend


def test_implements_the_backend_api():
    assert api_problems(WebdavBackend) == []
    assert WebdavBackend.api_version == API_VERSION


def test_configuration_is_validated_without_touching_the_server():
    backend = make("scheme: webdav\nurl: http://127.0.0.1:9/dav\nroot: /a/b/\n")  # nothing listens on port 9
    assert backend.root() == "a/b"
    assert backend.describe() == "http://127.0.0.1:9/dav/a/b"


@pytest.mark.parametrize(
    "text, message",
    [
        ("scheme: webdav\n", "'url' is required (base URL of the WebDAV server"),
        ("scheme: webdav\nurl: dav.example.com\n", "must be an http:// or https:// URL"),
        ("scheme: webdav\nurl: https://dav.example.com\nrot: x\n", "did you mean 'root'?"),
        ("scheme: webdav\nurl: https://dav.example.com\ntimeout: 0\n", "'timeout' for scheme 'webdav' must be positive"),
    ],
)
def test_bad_configurations_say_what_to_fix(text, message):
    with pytest.raises(BadConfiguration) as info:
        make(text)
    assert message in str(info.value)


def test_credentials_in_the_url_are_refused_and_never_echoed():
    with pytest.raises(BadConfiguration) as info:
        make("scheme: webdav\nurl: https://me:hunter2@dav.example.com\n")
    assert "WEBDAV_PASSWORD" in str(info.value) and "hunter2" not in str(info.value)


def test_wrong_credentials_are_reported_without_the_password(webdav_server, store, key, tmp_path, work_dir):
    """A server refusing the plugin's login is an error naming the key and the store."""
    env = {**PLUGIN_ENV, "WEBDAV_PASSWORD": "not-the-password",
           **write_policy(tmp_path / "policy.yaml", endpoints=[f"127.0.0.1:{webdav_server.port}"])}
    plugin = PluginProcess(tmp_path / "socket", work_dir, env=env, name="plugin-bad-login")
    try:
        client = plugin.client()
        src = tmp_path / "f"
        src.write_bytes(b"x")
        r = client.save(store.config, key, src)
        client.close()
    finally:
        assert plugin.stop() == 0
    assert not r.success
    assert "401" in r.error and key in r.error and webdav_server.url in r.error
    assert "not-the-password" not in r.error
    assert not store.exists(key)


def test_a_replaced_object_is_never_seen_half_written(client, store, key, tmp_path):
    """Save publishes with one MOVE over the key: no temporary sibling stays behind."""
    store.put(key, b"old" * 1000)
    src = tmp_path / "f"
    src.write_bytes(b"new" * 100_000)
    assert client.save(store.config, key, src).success
    assert store.get(key) == b"new" * 100_000
    parent = key.rsplit("/", 1)[0]
    assert store.keys(parent) == [key]
