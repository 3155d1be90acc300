"""``argo-artifacts migrate`` between real stores, run as its console script.

Every result is checked out of band through each store's own client (os, s3fs, gcsfs,
adlfs); the tool's JSON summary says what it copied and skipped and *how* each copy was
verified and each skip decided. A recording proxy in front of moto shows which requests
the tool made (a re-run: listings only; a server-side copy: no object read), and each
store's write stamp (LastModified, generation) shows that nothing already migrated was
written again.
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
from urllib.parse import parse_qs, urlsplit

import pytest

from argo_artifact_driver.core.keys import PARTIAL_MARKER
from argo_artifact_driver.core.units import MiB
from argo_artifact_driver.plugin_server.testing.conformance import eventually
from argo_artifact_driver.plugin_server.testing.plugin import console_script
from argo_artifact_driver.plugin_server.testing.store import StoreUnderTest
from support.recording_proxy import RecordingProxy
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
    return proc.returncode, last_json(proc.stdout), proc.stderr


def last_json(stdout: str) -> dict | None:
    lines = stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


def fill(store: StoreUnderTest, objects: dict[str, bytes]) -> None:
    for key, data in objects.items():
        store.put(key, data)


def contents(store: StoreUnderTest, keys) -> dict[str, str]:
    return {key: hashlib.sha256(store.get(key)).hexdigest() for key in keys}


def digests(objects: dict[str, bytes]) -> dict[str, str]:
    return {key: hashlib.sha256(data).hexdigest() for key, data in objects.items()}


def behind_proxy(store: S3Store, proxy: RecordingProxy) -> S3Store:
    """The same bucket, configured through ``proxy`` (the out-of-band view stays direct)."""
    endpoint = store.config.split("endpoint: ")[1].split("\n")[0]
    proxied = S3Store(endpoint, store.root)
    proxied.config = store.config.replace(f"endpoint: {endpoint}", f"endpoint: 127.0.0.1:{proxy.port}")
    return proxied


def s3_requests(proxy: RecordingProxy) -> list[tuple[str, str, dict]]:
    """(method, path, query) of each request the proxy forwarded."""
    found = []
    for method, target, _ in proxy.requests:
        parts = urlsplit(target)
        found.append((method, parts.path, parse_qs(parts.query, keep_blank_values=True)))
    return found


@pytest.fixture
def prefix() -> str:
    return f"mig-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def proxies(moto_server, moto_endpoint_b):
    """A recording proxy in front of each moto server: (proxy A, proxy B)."""
    started = [RecordingProxy(moto_server.port), RecordingProxy(int(moto_endpoint_b.rsplit(":", 1)[1]))]
    yield started
    for proxy in started:
        proxy.stop()


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

#: How each pair verifies a small copy and the large one, then how a re-run decides them:
#: what the destination computed of what it received, compared with the bytes read; a
#: store keeping no usable checksum read back; a re-run on the listings where both sides
#: keep a comparable checksum, else reading the side whose checksum the other can match.
VERIFIED = {
    "file->s3": ({"destination sha256"}, {"destination md5-of-parts"},
                 {"source read: md5"}, {"source read: md5-of-parts"}),
    "s3->s3": ({"destination sha256"}, {"destination md5-of-parts"}, {"listing: md5"}, {"source read: md5-of-parts"}),
    "s3->azure": ({"destination md5"}, {"read back (sha256)"}, {"listing: md5"}, {"listing: md5"}),
    "s3->gcs": ({"destination md5"}, {"destination md5"}, {"listing: md5"}, {"listing: md5"}),
}


@pytest.fixture(params=list(PAIRS))
def pair(request, tmp_path: Path) -> tuple[StoreUnderTest, StoreUnderTest]:
    """(source, destination) for each pair of real stores in :data:`PAIRS`."""
    return PAIRS[request.param](request, tmp_path)


@pytest.fixture
def s3_pair(moto_endpoint: str, moto_endpoint_b: str) -> tuple[StoreUnderTest, StoreUnderTest]:
    return S3Store(moto_endpoint, "migrate-src"), S3Store(moto_endpoint_b, "migrate-dst")


LARGE = "large.bin"


def tree(prefix: str) -> dict[str, bytes]:
    return {
        f"{prefix}/top.txt": b"top\n",
        f"{prefix}/empty": b"",
        f"{prefix}/a/b/c/deep.json": b'{"deep": true}\n',
        f"{prefix}/a/b/empty-too": b"",
        f"{prefix}/a-b/sorts-between": b"'-' sorts before '/'",
        f"{prefix}/a/with space/\u00fcnicode \u6587\u4ef6.txt": "caf\u00e9".encode(),
        f"{prefix}/{LARGE}": os.urandom(64 * MiB),  # streamed, in parts
    }


def test_every_pair_copies_verified_and_a_rerun_copies_nothing(request, pair, prefix):
    src, dst = pair
    objects = tree(prefix)
    fill(src, objects)
    src.put(f"{prefix}-sibling/not-below-the-prefix", b"stays behind")
    small_copy, large_copy, small_rerun, large_rerun = VERIFIED[request.node.callspec.params["pair"]]

    code, summary, stderr = migrate(src, dst, "--prefix", prefix, "--workers", "4")
    assert code == 0, stderr
    assert (summary["listed"], summary["copied"], summary["skipped"], summary["failed"]) == (len(objects), len(objects), 0, [])
    assert summary["copied_bytes"] == sum(len(d) for d in objects.values())
    assert summary["verified_by"] == {**{m: len(objects) - 1 for m in small_copy}, **{m: 1 for m in large_copy}} \
        if small_copy != large_copy else {next(iter(small_copy)): len(objects)}
    assert dst.keys(prefix) == sorted(objects)
    assert contents(dst, objects) == digests(objects)
    assert not dst.exists(f"{prefix}-sibling/not-below-the-prefix")
    assert contents(src, objects) == digests(objects)  # the source is untouched

    code, summary, stderr = migrate(src, dst, "--prefix", prefix)
    assert code == 0, stderr
    assert (summary["copied"], summary["skipped"], summary["failed"]) == (0, len(objects), [])
    expected = {m: len(objects) - 1 for m in small_rerun}
    for method in large_rerun:
        expected[method] = expected.get(method, 0) + 1
    assert summary["skipped_by"] == expected


def test_a_rerun_decides_on_the_listings_alone(s3_pair, proxies, prefix):
    """S3 to S3: both ETags are MD5s, so a run with everything present makes listing
    requests only: no object is read or written, on either side."""
    src, dst = behind_proxy(s3_pair[0], proxies[0]), behind_proxy(s3_pair[1], proxies[1])
    objects = {f"{prefix}/wf-{i % 3}/pod/out-{i}.tgz": os.urandom(100 + i) for i in range(30)}
    fill(src, objects)
    assert migrate(src, dst, "--prefix", prefix)[0] == 0
    for proxy in proxies:
        proxy.requests.clear()
    code, summary, stderr = migrate(src, dst, "--prefix", prefix)
    assert code == 0, stderr
    assert (summary["skipped"], summary["skipped_by"]) == (30, {"listing: md5": 30})
    made = s3_requests(proxies[0]) + s3_requests(proxies[1])
    object_requests = [(m, p) for m, p, q in made if "list-type" not in q and p.count("/") > 1]
    # beside the two listings, one look per side for an object named like the prefix itself
    # (a HEAD, and s3fs's one-key listing with a delimiter to see if it is a directory)
    assert sorted(object_requests) == [("HEAD", f"/migrate-dst/{prefix}"), ("HEAD", f"/migrate-src/{prefix}")]
    assert sum("list-type" in q and "delimiter" not in q for _, _, q in made) == 2


def test_a_changed_object_of_the_same_size_is_copied_again(s3_pair, prefix):
    src, dst = s3_pair
    fill(src, {f"{prefix}/same": b"aaaa", f"{prefix}/other": b"bbbb"})
    dst.put(f"{prefix}/same", b"zzzz")  # same size, different bytes: the listed MD5s differ
    dst.put(f"{prefix}/other", b"bbbb")  # already migrated
    code, summary, stderr = migrate(src, dst, "--prefix", prefix)
    assert code == 0, stderr
    assert (summary["copied"], summary["skipped"]) == (1, 1)
    assert dst.get(f"{prefix}/same") == b"aaaa"


SAME_ACCOUNT: dict[str, Callable[[pytest.FixtureRequest], tuple[StoreUnderTest, StoreUnderTest]]] = {
    "s3": lambda r: (S3Store(r.getfixturevalue("moto_endpoint"), "inside-src"),
                     S3Store(r.getfixturevalue("moto_endpoint"), "inside-dst")),
    "gcs": lambda r: (GCSStore(r.getfixturevalue("gcs_server").info["endpoint"], "inside-src"),
                      GCSStore(r.getfixturevalue("gcs_server").info["endpoint"], "inside-dst")),
    "azure": lambda r: (AzureStore(r.getfixturevalue("azurite_server").info["endpoint"], "inside-src"),
                        AzureStore(r.getfixturevalue("azurite_server").info["endpoint"], "inside-dst")),
}


@pytest.mark.parametrize("scheme", list(SAME_ACCOUNT))
def test_the_same_endpoint_or_account_copies_inside_the_store(request, scheme, prefix):
    src, dst = SAME_ACCOUNT[scheme](request)
    objects = {f"{prefix}/small-{i}": os.urandom(1000 + i) for i in range(5)}
    objects[f"{prefix}/{LARGE}"] = os.urandom(20 * MiB)
    fill(src, objects)
    code, summary, stderr = migrate(src, dst, "--prefix", prefix)
    assert code == 0, stderr
    assert "(server-side copies)" in summary["where"] and summary["copied"] == len(objects)
    assert all(method.startswith("server-side copy, source ") for method in summary["verified_by"]), summary
    assert contents(dst, objects) == digests(objects)
    code, summary, _ = migrate(src, dst, "--prefix", prefix)
    assert summary["skipped_by"] == {"listing: md5": len(objects)} if scheme != "s3" else \
        set(summary["skipped_by"]) <= {"listing: md5", "listing: md5-of-parts"}


def test_an_object_uploaded_in_parts_is_copied_in_the_same_parts(moto_endpoint, prefix):
    """S3 inside one endpoint: a source uploaded in parts is copied part by part in its own
    part sizes, so the copy's multipart ETag equals the source's, and later runs compare
    the two listings; a single-part source is one CopyObject."""
    src, dst = S3Store(moto_endpoint, "inside-src"), S3Store(moto_endpoint, "inside-dst")
    data = os.urandom(13 * MiB)
    with src.fs.open(src.path(f"{prefix}/in-parts"), "wb", block_size=5 * MiB) as f:  # parts of 5, 5, 3 MiB
        for i in range(0, len(data), MiB):
            f.write(data[i:i + MiB])
    src.put(f"{prefix}/in-one-part", data)
    code, summary, stderr = migrate(src, dst, "--prefix", prefix)
    assert code == 0, stderr
    assert summary["verified_by"] == {"server-side copy, source md5-of-parts = destination md5-of-parts": 1,
                                      "server-side copy, source md5 = destination md5": 1}
    assert dst.get(f"{prefix}/in-parts") == data and dst.get(f"{prefix}/in-one-part") == data
    assert migrate(src, dst, "--prefix", prefix)[1]["skipped_by"] == {"listing: md5-of-parts": 1, "listing: md5": 1}


def test_a_server_side_copy_reads_no_object(moto_server, proxies, prefix):
    """S3 to another bucket of the same server: CopyObject requests, no GET of an object,
    no PUT of a body; with --no-server-side the bytes go through the tool."""
    src = behind_proxy(S3Store(moto_server.info["endpoint"], "inside-src"), proxies[0])
    dst = behind_proxy(S3Store(moto_server.info["endpoint"], "inside-dst"), proxies[0])
    objects = {f"{prefix}/k{i}": os.urandom(2000) for i in range(8)}
    fill(src, objects)
    assert migrate(src, dst, "--prefix", prefix)[0] == 0
    made = proxies[0].requests
    copies = [p for m, p, h in made if m == "PUT" and "x-amz-copy-source" in h]
    reads = [p for m, p, h in made if m == "GET" and "list-type" not in p and p.count("/") > 1]
    assert len(copies) == 8 and reads == []
    proxies[0].requests.clear()
    code, summary, _ = migrate(src, dst, "--prefix", f"{prefix}/k1", "--no-server-side")
    assert code == 0 and summary["skipped_by"] == {"listing: md5": 1}  # the copy is what the source lists
    assert "(copies through this process)" in summary["where"]


def test_shards_divide_the_listing_into_disjoint_ranges(moto_endpoint, tmp_path, proxies, prefix):
    src = behind_proxy(S3Store(moto_endpoint, "shard-src"), proxies[0])
    dst = FileStore(tmp_path / "dst")
    objects = {f"{prefix}/wf-{w:02d}/pod-{p}/out.tgz": f"{w}-{p}".encode() for w in range(20) for p in range(3)}
    fill(src, objects)
    plan = subprocess.run(migrate_command(src, dst, "--prefix", prefix, "--plan", "3"), capture_output=True, text=True,
                          env=migrate_env(src, dst))
    assert plan.returncode == 0, plan.stderr
    boundaries = json.loads(plan.stdout)
    assert len(boundaries) == 2 and boundaries == sorted(boundaries)
    listed, starts = [], []
    for i in range(3):
        proxies[0].requests.clear()
        code, summary, stderr = migrate(src, dst, "--prefix", prefix, "--shard", f"{i}/3", "--boundaries", plan.stdout)
        assert code == 0, stderr
        assert summary["copied"] == summary["listed"] > 0  # each shard has its own keys, copied once
        listed.append(summary["listed"])
        lists = [q for _, _, q in s3_requests(proxies[0]) if "list-type" in q and q.get("delimiter") != ["/"]]
        starts.append({tuple(q.get("start-after", [""])) for q in lists})
    assert sum(listed) == len(objects)  # disjoint and complete
    assert max(listed) - min(listed) <= 6  # planned from the prefixes: about even
    assert starts == [{("",)}, {(boundaries[0],)}, {(boundaries[1],)}]  # each lists from its own start
    assert dst.keys(prefix) == sorted(objects)
    code, summary, _ = migrate(src, dst, "--prefix", prefix, "--shard", "1/3")  # planned by itself: the same plan
    assert summary["listed"] == listed[1] and summary["skipped"] == listed[1]


@pytest.mark.parametrize("pair", ["s3->s3", "s3->gcs"], indirect=True)
def test_killed_half_way_then_resumed_copies_each_object_once(pair, prefix):
    src, dst = pair
    objects = {f"{prefix}/{i // 50}/obj-{i:04d}": dst.payload(os.urandom(i % 7 * 100)) for i in range(400)}  # some empty
    fill(src, objects)

    proc = subprocess.Popen(
        migrate_command(src, dst, "--prefix", prefix, "--workers", "1"), env=migrate_env(src, dst),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        assert eventually(lambda: len(dst.keys(prefix)) >= 40, timeout=120), "the migration did not start copying"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the first run finished before it could be killed"
    present = dst.keys(prefix)
    assert 40 <= len(present) < len(objects)
    before = {key: dst.write_stamp(key) for key in present}
    time.sleep(dst.stamp_resolution * 1.1)

    code, summary, stderr = migrate(src, dst, "--prefix", prefix, "--workers", "4")
    assert code == 0, stderr
    assert summary["failed"] == []
    assert summary["skipped"] == len(present) and summary["skipped_by"] == {"listing: md5": len(present)}
    assert summary["copied"] == len(objects) - len(present)
    assert {key: dst.write_stamp(key) for key in present} == before
    assert dst.keys(prefix) == sorted(objects)
    assert contents(dst, objects) == digests(objects)


def _start(src: StoreUnderTest, dst: StoreUnderTest, *args: str) -> subprocess.Popen:
    return subprocess.Popen(migrate_command(src, dst, "--json", *args), env=migrate_env(src, dst),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _large_tree(prefix: str, count: int, size: int = 24 * MiB) -> dict[str, bytes]:
    return {f"{prefix}/big-{i:02d}": os.urandom(size) for i in range(count)}


def test_sigterm_finishes_objects_in_flight_prints_the_summary_and_exits_143(moto_endpoint, tmp_path, prefix):
    src, dst = S3Store(moto_endpoint, "term-src"), FileStore(tmp_path / "dst")
    objects = {**_large_tree(prefix, 6), **{f"{prefix}/small-{i:03d}": b"s" * i for i in range(200)}}
    fill(src, objects)
    proc = _start(src, dst, "--prefix", prefix, "--workers", "2", "--grace", "120")
    assert eventually(lambda: dst.keys(prefix), timeout=120), "the migration did not start copying"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=180)
    summary = last_json(out)
    assert proc.returncode == 143, err
    assert summary["stopped"] == "stopped by SIGTERM" and summary["abandoned"] == [] and summary["failed"] == []
    assert "SIGTERM: no new objects" in err
    present = dst.keys(prefix)
    assert summary["copied"] == len(present) < len(objects)  # what was started was finished, nothing more
    assert not any(PARTIAL_MARKER in p for p in (str(x) for x in (tmp_path / "dst").rglob("*")))
    assert contents(dst, present) == {k: v for k, v in digests(objects).items() if k in present}
    code, summary, stderr = migrate(src, dst, "--prefix", prefix)  # a new run continues
    assert code == 0, stderr
    assert (summary["skipped"], summary["copied"]) == (len(present), len(objects) - len(present))


@pytest.mark.parametrize("to", ["file", "s3"])
def test_a_second_signal_abandons_objects_in_flight_leaving_nothing_partial(moto_endpoint, moto_endpoint_b, tmp_path,
                                                                            prefix, to):
    src = S3Store(moto_endpoint, "abandon-src")
    dst = FileStore(tmp_path / "dst") if to == "file" else S3Store(moto_endpoint_b, "abandon-dst")
    objects = _large_tree(prefix, 6, 64 * MiB)  # each takes a while to stream: in flight at the second signal
    fill(src, objects)
    proc = _start(src, dst, "--prefix", prefix, "--workers", "3")
    if to == "file":
        def writing() -> bool:
            return any(PARTIAL_MARKER in p.name for p in (tmp_path / "dst").rglob("*"))
    else:
        def writing() -> bool:
            return bool(dst.fs.call_s3("list_multipart_uploads", Bucket=dst.root).get("Uploads"))
    assert eventually(writing, timeout=120), "no object was being written"
    proc.send_signal(signal.SIGINT)
    heard = []
    for line in iter(proc.stderr.readline, ""):  # until the tool says it heard the first
        heard.append(line)
        if "SIGINT: no new objects" in line:
            break
    proc.send_signal(signal.SIGINT)  # (two sent at once would arrive as one)
    out, err = proc.communicate(timeout=120)
    err = "".join(heard) + err
    assert proc.returncode == 130, err
    summary = last_json(out)
    assert summary["stopped"] == "stopped by SIGINT" and summary["failed"] == []
    present = set(dst.keys(prefix))
    assert summary["abandoned"] and not present & set(summary["abandoned"])  # not published...
    if to == "file":  # ...nor left under a temporary name
        assert not any(PARTIAL_MARKER in str(p) for p in (tmp_path / "dst").rglob("*"))
    else:  # ...nor as a multipart upload in progress
        assert dst.fs.call_s3("list_multipart_uploads", Bucket=dst.root).get("Uploads", []) == []
    assert contents(dst, present) == {k: v for k, v in digests(objects).items() if k in present}
    code, summary, stderr = migrate(src, dst, "--prefix", prefix)
    assert code == 0 and summary["copied"] == len(objects) - len(present), stderr


@pytest.mark.parametrize("case", ["same store", "inside the other", "no source directory", "no source bucket"])
def test_refusals_exit_2_with_one_line(moto_endpoint, tmp_path, case):
    store = FileStore(tmp_path / "store")
    src, dst, message = {
        "same store": (store, store, "--from and --to are the same store"),
        "inside the other": (store, FileStore(tmp_path / "store" / "new"), "one lies inside the other"),
        "no source directory": (FileStore(tmp_path / "store"), store, ""),
        "no source bucket": (S3Store(moto_endpoint, "exists-dst"), store, "--from: s3://no-such-bucket"),
    }[case]
    if case == "no source directory":
        src = StoreUnderTest(f"scheme: file\nroot: {tmp_path / 'missing'}\n", store.fs, str(tmp_path / "missing"))
        message = f"--from: file://{tmp_path / 'missing'} does not exist"
    if case == "no source bucket":
        src = StoreUnderTest(src.config.replace("bucket: exists-dst", "bucket: no-such-bucket"), src.fs, "no-such-bucket")
    proc = subprocess.run(migrate_command(src, dst), capture_output=True, text=True, env=migrate_env(src, dst))
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


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


def test_dry_run_says_what_the_listings_decide_and_copies_nothing(s3_pair, tmp_path, prefix):
    src, dst = s3_pair
    fill(src, {f"{prefix}/new": b"1", f"{prefix}/resized": b"22", f"{prefix}/same": b"333", f"{prefix}/changed": b"4"})
    dst.put(f"{prefix}/resized", b"2")
    dst.put(f"{prefix}/same", b"333")
    dst.put(f"{prefix}/changed", b"5")
    proc = subprocess.run(migrate_command(src, dst, "--prefix", prefix, "--dry-run"), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"copy    {prefix}/changed ") and "same size, different md5" in lines[0]
    assert lines[1].startswith(f"copy    {prefix}/new ") and "absent" in lines[1]
    assert lines[2].startswith(f"copy    {prefix}/resized ") and "destination has 1 bytes" in lines[2]
    assert lines[3].startswith(f"skip    {prefix}/same ") and "listing: md5" in lines[3]
    assert "would copy 3" in lines[4] and "1 already identical" in lines[4]
    assert not dst.exists(f"{prefix}/new") and dst.get(f"{prefix}/resized") == b"2"
    file_dst = FileStore(tmp_path / "dst")  # a store that keeps no checksum: compared by reading
    file_dst.put(f"{prefix}/same", b"333")
    proc = subprocess.run(migrate_command(src, file_dst, "--prefix", prefix, "--dry-run", "--json"),
                          capture_output=True, text=True)
    plans = {row["key"]: row["plan"] for row in map(json.loads, proc.stdout.splitlines()[:-1])}
    assert plans[f"{prefix}/same"] == "compare" and plans[f"{prefix}/new"] == "copy"


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


def test_config_from_a_file_and_a_bad_shard_or_plan(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src.yaml").write_text(f"scheme: file\nroot: {tmp_path / 'src'}\n")
    base = [console_script("argo-artifacts"), "migrate", "--from", f"@{tmp_path / 'src.yaml'}", "--to",
            f"scheme: file\nroot: {tmp_path / 'elsewhere'}\n"]
    for args, message in [(["--shard", "4/4"], "--shard 4/4"),
                          (["--shard", "1/3", "--boundaries", '["a"]'], "--boundaries holds 1 keys"),
                          (["--boundaries", '["a"]'], "--boundaries needs --shard I/N")]:
        proc = subprocess.run([*base, *args], capture_output=True, text=True)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr


def test_the_sharded_example_runs_as_its_steps_are_written(moto_endpoint, tmp_path, prefix):
    """``examples/migrate-sharded.yaml`` without Argo: each step's command line with the
    workflow's parameters filled in, run in order; the plan step's stdout becomes every
    shard's ``boundaries``, as Argo passes a step's ``outputs.result``. Plus what Argo
    needs of the manifests: the service account and the executor's permissions, and a
    retry policy that retries a failing container."""
    import yaml

    manifests = list(yaml.safe_load_all((Path(__file__).parents[2] / "examples" / "migrate-sharded.yaml").read_text()))
    by_kind = {m["kind"]: m for m in manifests}
    spec = by_kind["WorkflowTemplate"]["spec"]
    assert by_kind["ServiceAccount"]["metadata"]["name"] == spec["serviceAccountName"]
    assert {"resources": ["workflowtaskresults"], "verbs": ["create", "patch"]}.items() <= \
        by_kind["Role"]["rules"][0].items()
    templates = {t["name"]: t for t in spec["templates"]}
    for name in ("plan", "copy-shard"):
        retry = templates[name]["retryStrategy"]
        assert isinstance(retry["limit"], str) and retry["retryPolicy"] in ("OnFailure", "Always")

    src, dst = S3Store(moto_endpoint, "example-src"), FileStore(tmp_path / "dst")
    objects = {f"{prefix}/wf-{w}/pod-{p}/main.log": f"{w}.{p}".encode() for w in range(9) for p in range(2)}
    fill(src, objects)
    parameters = {p["name"]: p["value"] for p in spec["arguments"]["parameters"]}
    parameters.update({"shards": "3", "prefix": prefix, "workers": "2", "from": src.config, "to": dst.config})

    def command(template: str, inputs: dict[str, str]) -> list[str]:
        container = templates[template]["container"]
        values = {**{f"workflow.parameters.{k}": v for k, v in parameters.items()},
                  **{f"inputs.parameters.{k}": v for k, v in inputs.items()}}
        argv = [console_script(container["command"][0]), *container["command"][1:]]
        for arg in container["args"]:
            for name, value in values.items():
                arg = arg.replace("{{" + name + "}}", value)
            argv.append(arg)
        return argv

    plan = subprocess.run(command("plan", {}), capture_output=True, text=True, env=migrate_env(src, dst))
    assert plan.returncode == 0, plan.stderr
    for shard in range(int(parameters["shards"])):
        step = subprocess.run(command("copy-shard", {"shard": str(shard), "boundaries": plan.stdout.strip()}),
                              capture_output=True, text=True, env=migrate_env(src, dst))
        assert step.returncode == 0, step.stderr
    assert dst.keys(prefix) == sorted(objects)
