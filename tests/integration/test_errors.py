"""Bad input gets a message a person can act on, and the server keeps serving."""

from __future__ import annotations

import pytest

BAD_CONFIGS = [
    ("scheme: [unclosed", "not valid YAML"),
    ("- just\n- a list", "must be a mapping"),
    ("scheme: nosuchstore\nbucket: b", "unknown scheme 'nosuchstore'"),
    ("scheme: s3", "'bucket' is required"),
    ("scheme: s3\nbucket: b\nbuckett: c", "did you mean 'bucket'"),
    ("scheme: s3\nbucket: b\ninsecure: 'yes'", "'insecure' must be a boolean"),
    ("scheme: s3\nbucket: b\naddressingStyle: sideways", "addressingStyle"),
    ("scheme: file\nroot: relative/dir", "absolute path"),
    ("scheme: 42", "'scheme'"),
]


@pytest.mark.parametrize("config,expected", BAD_CONFIGS)
def test_bad_configuration_is_explained_on_every_call(client, tmp_path, config, expected):
    src = tmp_path / "f"
    src.write_bytes(b"x")
    answers = [
        client.load(config, "k", tmp_path / "dest").error,
        client.save(config, "k", src).error,
        client.delete(config, "k").error,
        client.list_objects(config, "k").error,
        client.is_directory(config, "k").error,
        client.stream_bytes(config, "k")[1],
        client.save_stream(config, "k", [b"x"]).error,
    ]
    for answer in answers:
        assert expected in answer
        assert "Traceback" not in answer
    assert not (tmp_path / "dest").exists()
    assert client.capabilities().supports_save_stream  # still serving


def test_unknown_scheme_lists_installed_ones(client):
    error = client.list_objects("scheme: nosuchstore", "k").error
    assert "file" in error and "s3" in error


def test_no_scheme_means_s3(client):
    """Configurations written for the S3 sample plugin carry no scheme."""
    error = client.list_objects("bucket: b\nbuckett: x", "k").error
    assert "scheme 's3'" in error


@pytest.mark.parametrize("key", ["", "/", "a/../b", "../escape", "a/./b"])
def test_unusable_keys_are_refused_everywhere(client, store, key, tmp_path):
    src = tmp_path / "f"
    src.write_bytes(b"x")
    error = client.save(store.config, key, src).error
    assert error and ("key" in error)
    assert client.delete(store.config, key).error
    assert client.load(store.config, key, tmp_path / "d").error


def test_missing_bucket(client, moto_endpoint, tmp_path):
    config = f"scheme: s3\nbucket: no-such-bucket\nendpoint: {moto_endpoint}\ninsecure: true"
    src = tmp_path / "f"
    src.write_bytes(b"x")
    error = client.save(config, "k", src).error
    assert "no-such-bucket" in error and "bucket" in error.lower()
    error = client.load(config, "k", tmp_path / "d").error
    assert "no-such-bucket" in error


def test_storage_down_is_reported(client, tmp_path):
    from argo_artifact_driver.plugin_server.testing.processes import free_port

    config = f"scheme: s3\nbucket: b\nendpoint: 127.0.0.1:{free_port()}\ninsecure: true"
    response = client.list_objects(config, "k")
    assert response.error and "Traceback" not in response.error
    assert client.capabilities().supports_save_stream


def test_unreadable_local_path(client, store, key, tmp_path):
    fifo = tmp_path / "fifo"
    import os

    os.mkfifo(fifo)
    error = client.save(store.config, key, fifo).error
    assert "not a regular file or directory" in error


def test_secrets_in_configuration_never_reach_errors_or_logs(client, plugin, tmp_path):
    secret = "s3cr3t-VALUE-do-not-print"
    config = f"scheme: s3\nbucket: b\nsecretKey: {secret}"
    answers = [client.list_objects(config, "k").error, client.load(config, "k", tmp_path / "d").error]
    assert all(answers) and not any(secret in a for a in answers)
    assert secret not in plugin.output()


def test_every_call_logs_one_json_line_at_the_level_of_its_outcome(client, plugin, store, key, tmp_path):
    src = tmp_path / "f"
    src.write_bytes(b"12345")
    client.save(store.config, key, src)
    client.load(store.config, key + "-missing", tmp_path / "nope")
    records = [r for r in plugin.log_records() if r.get("msg") == "call" and r.get("key", "").startswith(key)]
    save = next(r for r in records if r["method"] == "Save" and r["key"] == key)
    assert save["scheme"] == store.scheme and save["bytes"] == 5 and save["outcome"] == "ok"
    assert save["level"] == "INFO" and save["retries"] == 0 and save["store"]
    assert isinstance(save["duration_ms"], (int, float))
    failed = next(r for r in records if r["method"] == "Load")
    assert failed["outcome"] == "not_found" and "not found" in failed["error"]
    assert failed["level"] == "WARN"  # the workflow's mistake, not the store's


@pytest.mark.parametrize("config, outcome, level", [
    ("scheme: s3\nbuckt: b", "bad_configuration", "WARN"),
    ("scheme: nosuchstore", "unknown_scheme", "WARN"),
    # nothing listens on port 9: the store is unavailable, which the operator must look at
    ("scheme: s3\nbucket: b\nendpoint: 127.0.0.1:9\ninsecure: true", "storage_unavailable", "ERROR"),
])
def test_failures_are_logged_at_the_level_of_who_must_act(client, plugin, config, outcome, level):
    key = f"level-{outcome}"
    assert client.list_objects(config, key).error
    (record,) = [r for r in plugin.log_records() if r.get("msg") == "call" and r.get("key") == key]
    assert (record["outcome"], record["level"]) == (outcome, level)
    assert "traceback" not in record
