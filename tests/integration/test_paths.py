"""Paths are untrusted input: nothing is written outside `path`, read from outside the
saved tree, or written or read outside a `file` store's root."""

from __future__ import annotations

import os

from support.stores import S3Store


def test_load_of_object_names_that_would_escape_path_writes_nothing(client, moto_endpoint, key, tmp_path):
    """Objects created out of band with '..' and absolute-looking segments in their keys."""
    s3 = S3Store(moto_endpoint, "artifacts")
    for evil in ("../../escaped.txt", "/abs.txt", "a/../../../etc/x", "ok.txt"):
        s3.fs.call_s3("put_object", Bucket="artifacts", Key=f"{key}/{evil}", Body=b"evil")
    dest = tmp_path / "work" / "art"
    r = client.load(s3.config, key, dest)
    assert not r.success and "leave the target directory" in r.error
    assert list(tmp_path.rglob("*")) == [tmp_path / "work"]  # nothing at, beside or above path
    assert not (tmp_path / "escaped.txt").exists()


def test_save_skips_symlinks_out_of_the_saved_tree(client, store, key, tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"private key")
    src = tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    (src / "data.txt").write_bytes(b"data")
    (src / "leak").symlink_to(secret)
    (src / "sub" / "leak-dir").symlink_to(tmp_path)
    (src / "inside").symlink_to(src / "data.txt")
    r = client.save(store.config, key, src)
    assert (r.success, r.error) == (True, "")
    assert store.keys(key) == [f"{key}/data.txt", f"{key}/inside"]
    assert store.get(f"{key}/inside") == b"data"


def test_file_keys_cannot_escape_root_through_a_symlink_inside_root(client, tmp_path):
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "precious").write_bytes(b"keep")
    (root / "door").symlink_to(outside)
    (root / "file-door").symlink_to(outside / "precious")
    config = f"scheme: file\nroot: {root}\n"
    src = tmp_path / "f"
    src.write_bytes(b"overwrite")
    answers = {
        "save": client.save(config, "door/precious", src).error,
        "save-over": client.save(config, "file-door", src).error,
        "load": client.load(config, "door/precious", tmp_path / "got").error,
        "stream": client.stream_bytes(config, "file-door")[1],
        "list": client.list_objects(config, "door").error,
        "delete": client.delete(config, "door/precious").error,
        "list-root": client.list_objects(config, "").error,
    }
    for name, error in answers.items():
        assert "outside root through a symbolic link" in error, (name, error)
    assert (outside / "precious").read_bytes() == b"keep"
    assert sorted(os.listdir(outside)) == ["precious"]
    assert not (tmp_path / "got").exists()
