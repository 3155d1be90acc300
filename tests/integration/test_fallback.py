"""``scheme: fallback`` through the plugin process: a new store in front of an old one.

The old store is a bucket on a moto server; the new one is, in turn, a bucket on another
moto server, a bucket on the GCS emulator and a container on Azurite (an S3 -> GCS or
S3 -> Azure cut-over). The plugin runs as a separate process and every result is checked
in both stores out of band, through each store's own client.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from argo_artifact_driver.plugin_server.testing.conformance import TREE, read_tree, write_tree
from argo_artifact_driver.plugin_server.testing.store import StoreUnderTest
from support.stores import AzureStore, GCSStore, S3Store


def fallback_config(primary: str, fallback: str, **extra) -> str:
    return yaml.safe_dump({"scheme": "fallback", "primary": yaml.safe_load(primary), "fallback": yaml.safe_load(fallback), **extra})


@pytest.fixture
def old(moto_endpoint: str) -> StoreUnderTest:
    return S3Store(moto_endpoint, "old-artifacts")


#: The new store of a cut-over, by kind, and how the plugin names it in messages.
NEW_STORES = {
    "s3": (lambda r: S3Store(r.getfixturevalue("moto_endpoint_b"), "new-artifacts"), "s3://new-artifacts"),
    "gcs": (lambda r: GCSStore(r.getfixturevalue("gcs_server").info["endpoint"], "new-artifacts"), "gs://new-artifacts"),
    "azure": (lambda r: AzureStore(r.getfixturevalue("azurite_server").info["endpoint"], "new-artifacts"),
              "azure container 'new-artifacts'"),
}


@pytest.fixture(params=list(NEW_STORES))
def new(request) -> StoreUnderTest:
    store = NEW_STORES[request.param][0](request)
    store.described = NEW_STORES[request.param][1]
    return store


@pytest.fixture
def config(old, new) -> str:
    return fallback_config(new.config, old.config)


def test_old_keys_come_from_the_old_store_and_new_keys_go_to_the_new_one(client, config, old, new, key, tmp_path):
    old.put(f"{key}/old.txt", b"written before the cut-over")
    for rel, data in TREE.items():
        old.put(f"{key}/old-dir/{rel}", data)

    assert client.load(config, f"{key}/old.txt", tmp_path / "old.txt").success
    assert (tmp_path / "old.txt").read_bytes() == b"written before the cut-over"
    assert client.stream_bytes(config, f"{key}/old.txt") == (b"written before the cut-over", "")
    assert client.is_directory(config, f"{key}/old-dir").is_directory
    listed = client.list_objects(config, f"{key}/old-dir")
    assert (list(listed.objects), listed.error) == (sorted(f"{key}/old-dir/{rel}" for rel in TREE), "")
    assert client.load(config, f"{key}/old-dir", tmp_path / "dir").success
    assert read_tree(tmp_path / "dir") == TREE

    src = write_tree(tmp_path / "out", TREE)
    assert client.save(config, f"{key}/new-dir", src).success
    assert client.save_stream(config, f"{key}/new.txt", [b"after ", b"the cut-over"]).success
    assert new.get(f"{key}/new.txt") == b"after the cut-over"
    assert new.keys(f"{key}/new-dir") == sorted(f"{key}/new-dir/{rel}" for rel in TREE)
    assert not old.exists(f"{key}/new.txt") and old.keys(f"{key}/new-dir") == []  # writes go to the primary only
    assert client.stream_bytes(config, f"{key}/new.txt") == (b"after the cut-over", "")
    assert list(client.list_objects(config, f"{key}/new-dir").objects) == sorted(f"{key}/new-dir/{rel}" for rel in TREE)


def test_the_primary_wins_when_both_have_the_key(client, config, old, new, key, tmp_path):
    old.put(key, b"old version")
    new.put(key, b"new version")
    assert client.stream_bytes(config, key) == (b"new version", "")
    old.put(f"{key}-dir/only-old", b"o")
    new.put(f"{key}-dir/only-new", b"n")
    assert list(client.list_objects(config, f"{key}-dir").objects) == [f"{key}-dir/only-new"]


def test_a_key_in_neither_store_names_both(client, config, new, key, tmp_path):
    r = client.load(config, key, tmp_path / "x")
    assert not r.success
    assert f"key '{key}' was not found in the primary store ({new.described}" in r.error
    assert "nor in the fallback store (s3://old-artifacts" in r.error
    data, error = client.stream_bytes(config, key)
    assert data == b"" and "primary store" in error and "fallback store" in error
    assert client.is_directory(config, key).is_directory is False
    assert list(client.list_objects(config, key).objects) == []


def test_delete_removes_the_key_from_both_stores(client, config, old, new, key):
    old.put(f"{key}/a", b"1")
    new.put(f"{key}/a", b"2")
    new.put(f"{key}/b", b"3")
    r = client.delete(config, key)
    assert (r.success, r.error) == (True, "")
    assert old.keys(key) == [] and new.keys(key) == []


def test_write_both_keeps_the_old_store_complete(client, old, new, key, tmp_path):
    config = fallback_config(new.config, old.config, writeBoth=True)
    src = tmp_path / "f"
    src.write_bytes(b"saved")
    assert client.save(config, key, src).success
    assert client.save_stream(config, f"{key}.stream", [b"str", b"eamed"]).success
    for store in (old, new):
        assert store.get(key) == b"saved"
        assert store.get(f"{key}.stream") == b"streamed"


def test_an_error_of_the_primary_is_reported_not_masked(client, old, key, tmp_path):
    """A primary that fails (rather than lacking the key) must not be papered over with the
    old copy: here its root lies below a regular file, so every read is an error."""
    old.put(key, b"old")
    (tmp_path / "a-file").write_bytes(b"")
    config = fallback_config(f"scheme: file\nroot: {tmp_path / 'a-file' / 'store'}", old.config)
    r = client.load(config, key, tmp_path / "x")
    assert not r.success and r.error.startswith("primary store: ") and "a-file" in r.error
    data, error = client.stream_bytes(config, key)
    assert data == b"" and error.startswith("primary store: ")


def test_an_unreachable_primary_is_reported_not_masked(client, old, key, tmp_path):
    old.put(key, b"old")
    config = fallback_config("scheme: s3\nbucket: new\nendpoint: 127.0.0.1:9\ninsecure: true\nregion: us-east-1", old.config)
    r = client.load(config, key, tmp_path / "x")
    assert not r.success and r.error.startswith("primary store: ") and "127.0.0.1:9" in r.error
    listed = client.list_objects(config, key)
    assert list(listed.objects) == [] and listed.error.startswith("primary store: ")


def test_a_bad_part_is_named(client, key, tmp_path):
    config = fallback_config("scheme: s3\nbuckt: new", f"scheme: file\nroot: {tmp_path}")
    r = client.load(config, key, tmp_path / "x")
    assert not r.success
    assert "'primary' of scheme 'fallback': invalid configuration for scheme 's3': unknown option 'buckt'" in r.error
    r = client.load("scheme: fallback\nprimary: {scheme: file, root: /tmp}\n", key, tmp_path / "x")
    assert not r.success and "'fallback' is required" in r.error


def test_a_primary_without_its_bucket_is_reported_not_served_from_the_fallback(client, old, new, key, tmp_path):
    """A missing bucket or container lacks every key; answering every read from the old
    store would hide the misconfiguration until the old store is switched off."""
    old.put(key, b"old")
    part = yaml.safe_load(new.config)
    part["container" if "container" in part else "bucket"] = "no-such-bucket"
    config = fallback_config(yaml.safe_dump(part), old.config)
    r = client.load(config, key, tmp_path / "x")
    assert not r.success and r.error.startswith("primary store: ") and "no-such-bucket" in r.error and "does not exist" in r.error
    assert not Path(tmp_path / "x").exists()
    listed = client.list_objects(config, key)
    assert list(listed.objects) == [] and listed.error.startswith("primary store: ")
