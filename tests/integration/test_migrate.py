"""``argo-artifacts migrate`` between real stores, run as its console script.

Every result is checked out of band through each store's own client (os, s3fs); the
tool's JSON summary says what it copied and skipped, and S3's LastModified shows that
nothing already migrated was written again.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Callable

import pytest

from argo_artifact_driver.core.units import MiB
from argo_artifact_driver.plugin_server.testing.conformance import eventually
from argo_artifact_driver.plugin_server.testing.plugin import console_script
from argo_artifact_driver.plugin_server.testing.store import StoreUnderTest
from support.stores import AzureStore, FileStore, GCSStore, S3Store


def migrate_command(src: StoreUnderTest, dst: StoreUnderTest, *args: str) -> list[str]:
    return [console_script("argo-artifacts"), "migrate", "--from", src.config, "--to", dst.config, *args]


def migrate_env(src: StoreUnderTest, dst: StoreUnderTest) -> dict[str, str]:
    """The tool's environment: what each side's plugin needs (Azurite's account key, ...)."""
    return {**os.environ, **src.plugin_env, **dst.plugin_env}


def migrate(src: StoreUnderTest, dst: StoreUnderTest, *args: str) -> tuple[int, dict | None, str]:
    """Run the tool; return its exit code, its JSON summary (if any) and its stderr."""
    proc = subprocess.run(migrate_command(src, dst, "--json", *args), capture_output=True, text=True, timeout=600,
                          env=migrate_env(src, dst))
    lines = proc.stdout.strip().splitlines()
    return proc.returncode, (json.loads(lines[-1]) if lines else None), proc.stderr


def fill(store: StoreUnderTest, objects: dict[str, bytes]) -> None:
    for key, data in objects.items():
        store.put(key, data)


def contents(store: StoreUnderTest, keys) -> dict[str, str]:
    return {key: hashlib.sha256(store.get(key)).hexdigest() for key in keys}


def digests(objects: dict[str, bytes]) -> dict[str, str]:
    return {key: hashlib.sha256(data).hexdigest() for key, data in objects.items()}


@pytest.fixture
def prefix() -> str:
    return f"mig-{uuid.uuid4().hex[:10]}"


#: (source, destination) by label: each side a real server, seen through its own client.
PAIRS: dict[str, Callable[[pytest.FixtureRequest, Path], tuple[StoreUnderTest, StoreUnderTest]]] = {
    "file->s3": lambda r, d: (FileStore(d / "src"), S3Store(r.getfixturevalue("moto_endpoint"), "migrate-dst")),
    "s3->s3": lambda r, d: (
        S3Store(r.getfixturevalue("moto_endpoint"), "migrate-src"),
        S3Store(r.getfixturevalue("moto_endpoint_b"), "migrate-dst"),
    ),
    "s3->azure": lambda r, d: (
        S3Store(r.getfixturevalue("moto_endpoint"), "migrate-src"),
        AzureStore(r.getfixturevalue("azurite_server").info["endpoint"], "migrate-dst"),
    ),
    "s3->gcs": lambda r, d: (
        S3Store(r.getfixturevalue("moto_endpoint"), "migrate-src"),
        GCSStore(r.getfixturevalue("gcs_server").info["endpoint"], "migrate-dst"),
    ),
}


@pytest.fixture(params=list(PAIRS))
def pair(request, tmp_path: Path) -> tuple[StoreUnderTest, StoreUnderTest]:
    """(source, destination) for each pair of real stores in :data:`PAIRS`."""
    return PAIRS[request.param](request, tmp_path)


@pytest.fixture
def s3_pair(moto_endpoint: str, moto_endpoint_b: str) -> tuple[StoreUnderTest, StoreUnderTest]:
    return S3Store(moto_endpoint, "migrate-src"), S3Store(moto_endpoint_b, "migrate-dst")


def tree(prefix: str) -> dict[str, bytes]:
    return {
        f"{prefix}/top.txt": b"top\n",
        f"{prefix}/empty": b"",
        f"{prefix}/a/b/c/deep.json": b'{"deep": true}\n',
        f"{prefix}/a/b/empty-too": b"",
        f"{prefix}/a/with space/\u00fcnicode \u6587\u4ef6.txt": "caf\u00e9".encode(),
        f"{prefix}/large.bin": os.urandom(64 * MiB),
    }


def test_migrates_a_tree_and_a_second_run_copies_nothing(pair, prefix):
    src, dst = pair
    objects = tree(prefix)
    fill(src, objects)
    src.put(f"{prefix}-sibling/not-below-the-prefix", b"stays behind")

    code, summary, stderr = migrate(src, dst, "--prefix", prefix, "--workers", "4")
    assert code == 0, stderr
    assert (summary["listed"], summary["copied"], summary["skipped"], summary["failed"]) == (len(objects), len(objects), 0, [])
    assert summary["copied_bytes"] == sum(len(d) for d in objects.values())
    assert dst.keys(prefix) == sorted(objects)
    assert contents(dst, objects) == digests(objects)
    assert not dst.exists(f"{prefix}-sibling/not-below-the-prefix")
    assert contents(src, objects) == digests(objects)  # the source is untouched

    code, summary, stderr = migrate(src, dst, "--prefix", prefix)
    assert code == 0, stderr
    assert (summary["copied"], summary["skipped"], summary["failed"]) == (0, len(objects), [])


def test_a_changed_object_of_the_same_size_is_copied_again(s3_pair, prefix):
    src, dst = s3_pair
    fill(src, {f"{prefix}/same": b"aaaa", f"{prefix}/other": b"bbbb"})
    dst.put(f"{prefix}/same", b"zzzz")  # same size, different bytes
    dst.put(f"{prefix}/other", b"bbbb")  # already migrated
    code, summary, stderr = migrate(src, dst, "--prefix", prefix)
    assert code == 0, stderr
    assert (summary["copied"], summary["skipped"]) == (1, 1)
    assert dst.get(f"{prefix}/same") == b"aaaa"


@pytest.mark.parametrize("pair", ["s3->s3", "s3->gcs"], indirect=True)
def test_killed_half_way_then_resumed_copies_each_object_once(pair, prefix):
    src, dst = pair
    objects = {f"{prefix}/{i // 50}/obj-{i:04d}": os.urandom(i % 7 * 100) for i in range(300)}  # some empty
    fill(src, objects)

    proc = subprocess.Popen(
        migrate_command(src, dst, "--prefix", prefix, "--workers", "2"), env=migrate_env(src, dst),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        assert eventually(lambda: len(dst.keys(prefix)) >= 60, timeout=120), "the migration did not start copying"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the first run finished before it could be killed"
    present = dst.keys(prefix)
    assert 60 <= len(present) < len(objects)
    before = {key: dst.write_stamp(key) for key in present}
    time.sleep(dst.stamp_resolution * 1.1)

    code, summary, stderr = migrate(src, dst, "--prefix", prefix, "--workers", "4")
    assert code == 0, stderr
    assert summary["failed"] == []
    assert summary["skipped"] == len(present)  # verified by checksum, not written again
    assert summary["copied"] == len(objects) - len(present)
    assert {key: dst.write_stamp(key) for key in present} == before
    assert dst.keys(prefix) == sorted(objects)
    assert contents(dst, objects) == digests(objects)


def test_names_no_key_can_address_are_reported_and_markers_left_out(s3_pair, prefix):
    """Object stores hold names an artifact key cannot express ('a//b', a non-empty 'd/'):
    they are failures naming the object, never silently left behind. An empty 'd/' is a
    console's folder marker, not an object; a name that looks like a write in progress is
    data on a store that never writes one."""
    src, dst = s3_pair
    raw = {f"{prefix}/d//double": b"x", f"{prefix}/holds-data/": b"y", f"{prefix}/folder/": b""}
    for name, data in raw.items():
        src.fs.call_s3("put_object", Bucket=src.root, Key=name, Body=data)
    fill(src, {f"{prefix}/folder/inside": b"1", f"{prefix}/.a.partial-0123456789ab": b"2"})
    code, summary, stderr = migrate(src, dst, "--prefix", prefix)
    assert code == 1
    assert summary["copied"] == 2 and dst.keys(prefix) == [f"{prefix}/.a.partial-0123456789ab", f"{prefix}/folder/inside"]
    failed = {f["key"]: f["reason"] for f in summary["failed"]}
    assert sorted(failed) == [f"{prefix}/d//double", f"{prefix}/holds-data/"]
    assert "empty, '.' or '..' segment" in failed[f"{prefix}/d//double"]
    assert "ends with '/' and it holds 1 bytes" in failed[f"{prefix}/holds-data/"]


def test_dry_run_lists_what_would_be_copied_and_copies_nothing(s3_pair, prefix):
    src, dst = s3_pair
    fill(src, {f"{prefix}/new": b"1", f"{prefix}/resized": b"22", f"{prefix}/same": b"333"})
    dst.put(f"{prefix}/resized", b"2")
    dst.put(f"{prefix}/same", b"333")
    proc = subprocess.run(migrate_command(src, dst, "--prefix", prefix, "--dry-run"), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"copy    {prefix}/new ") and "absent" in lines[0]
    assert lines[1].startswith(f"copy    {prefix}/resized ") and "destination has 1 bytes" in lines[1]
    assert lines[2].startswith(f"compare {prefix}/same ")
    assert "would copy 2" in lines[3]
    assert not dst.exists(f"{prefix}/new") and dst.get(f"{prefix}/resized") == b"2"


def test_shards_split_the_key_space_between_workers(tmp_path, moto_endpoint, prefix):
    src, dst = FileStore(tmp_path / "src"), S3Store(moto_endpoint, "migrate-dst")
    objects = {f"{prefix}/k{i}": str(i).encode() for i in range(40)}
    fill(src, objects)
    listed = []
    for i in range(3):
        code, summary, stderr = migrate(src, dst, "--prefix", prefix, "--shard", f"{i}/3")
        assert code == 0, stderr
        assert summary["copied"] == summary["listed"] > 0  # each shard has its own keys
        listed.append(summary["listed"])
    assert sum(listed) == len(objects)  # disjoint and complete
    assert dst.keys(prefix) == sorted(objects)


def test_a_failed_object_is_reported_the_rest_copied_and_the_exit_is_non_zero(tmp_path, prefix):
    src, dst = FileStore(tmp_path / "src"), FileStore(tmp_path / "dst")
    fill(src, {f"{prefix}/x/inside.txt": b"blocked", f"{prefix}/y.txt": b"fine"})
    dst.put(f"{prefix}/x", b"a file where the source has a directory")
    code, summary, stderr = migrate(src, dst, "--prefix", prefix)
    assert code == 1
    assert summary["copied"] == 1 and dst.get(f"{prefix}/y.txt") == b"fine"
    [failure] = summary["failed"]
    assert failure["key"] == f"{prefix}/x/inside.txt" and str(tmp_path / "dst") in failure["reason"]
    assert f"failed {prefix}/x/inside.txt" in stderr


@pytest.mark.parametrize(
    "to, message",
    [
        ("scheme: s3\nbuckt: b\n", "--to: invalid configuration for scheme 's3': unknown option 'buckt' (did you mean 'bucket'?)"),
        ("scheme: fallback\nprimary: {scheme: file, root: /tmp}\nfallback: {scheme: file, root: /tmp}\n",
         "--to: scheme 'fallback' is composed of other stores"),
    ],
)
def test_bad_configuration_exits_2_naming_the_flag(tmp_path, to, message):
    proc = subprocess.run(
        [console_script("argo-artifacts"), "migrate", "--from", f"scheme: file\nroot: {tmp_path}", "--to", to],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert message in proc.stderr


def test_config_from_a_file_and_a_bad_shard(tmp_path):
    (tmp_path / "src.yaml").write_text(f"scheme: file\nroot: {tmp_path}\n")
    proc = subprocess.run(
        [console_script("argo-artifacts"), "migrate", "--from", f"@{tmp_path / 'src.yaml'}", "--to", f"@{tmp_path / 'src.yaml'}",
         "--shard", "4/4"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2 and "--shard 4/4" in proc.stderr
