"""What Argo's own client sees: SaveStream failures at any size and point, large listings.

The client is :class:`support.argo_client.ArgoDriver`, Argo v4.1's ``plugin.go`` step for
step: it stops at the first SaveStream send that fails (grpc-go's ``Send`` returns EOF
once the server has ended the call) and then reports only the call's *status*, and it
keeps grpc-go's 4 MiB receive limit. Run against the plugin before issue 12, every upload
rejected while still being sent reported ``save stream failed mid-transfer: EOF``, and a
listing of 50,000 keys ``received message larger than max (5900000 vs. 4194304)``.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from argo_artifact_driver.core.units import MiB
from argo_artifact_driver.plugin_server.servicer import ARGO_CLIENT_MAX_RECEIVE_BYTES
from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess
from argo_artifact_driver.plugin_server.testing.policy import write_policy
from support.argo_client import ArgoDriver
from support.stores import FileStore, S3Store

SIZES = pytest.mark.parametrize("size", [8 * MiB, 64 * MiB], ids=["8MiB", "64MiB"])

#: The capped plugin cannot write a file larger than this (RLIMIT_FSIZE): its writes fail
#: with EFBIG mid-way through the uploads above, while the client is still sending.
FILE_SIZE_CAP = 4 * MiB
CAP_SITECUSTOMIZE = textwrap.dedent(
    f"""
    import resource
    # Python ignores SIGXFSZ, so a write past the limit fails with OSError(EFBIG).
    resource.setrlimit(resource.RLIMIT_FSIZE, ({FILE_SIZE_CAP}, {FILE_SIZE_CAP}))
    """
)


def payload(size: int) -> bytes:
    return bytes(range(256)) * (size // 256)


@pytest.fixture(scope="module")
def argo(plugin: PluginProcess) -> ArgoDriver:
    return ArgoDriver(plugin.socket_path)


@pytest.fixture(scope="module")
def capped_plugin(work_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> PluginProcess:
    site = work_dir / "fsize-cap-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(CAP_SITECUSTOMIZE)
    # scheme file is off by default: the tests' stores live in the session's temporary directory
    policy = write_policy(work_dir / "capped-policy.yaml", roots=[tmp_path_factory.getbasetemp()])
    proc = PluginProcess(work_dir / "sockets" / "capped" / "socket", work_dir, env={"PYTHONPATH": str(site), **policy},
                         name="capped-plugin")
    yield proc
    assert proc.stop() == 0


@pytest.fixture
def file_store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "store")


def leftovers(store: FileStore) -> list[str]:
    """Every file under the store's root (temporary names included)."""
    return sorted(str(p.relative_to(store.root)) for p in Path(store.root).rglob("*") if p.is_file())


@SIZES
def test_rejected_at_the_first_frame(argo, key, size):
    """A bad configuration: refused on the first message, before any chunk is read."""
    error = argo.save_stream("scheme: nope\n", key, payload(size))
    assert "code = InvalidArgument desc = unknown scheme 'nope'" in error, error
    assert "EOF" not in error
    assert argo.failed_frame is not None  # Argo's client was still sending: its Send failed


@SIZES
def test_rejected_at_a_middle_frame(capped_plugin, file_store, key, size):
    """The store fails part-way (the plugin may write at most 4 MiB): the client is
    still sending when the plugin gives up."""
    argo = ArgoDriver(capped_plugin.socket_path)
    error = argo.save_stream(file_store.config, key, payload(size))
    assert f"code = Unavailable desc = storage error for key '{key}' in file://" in error, error
    assert "File too large" in error and "EOF" not in error
    if size > 16 * MiB:  # more than the plugin buffers (write-behind, flow-control window): cut off mid-way
        assert argo.failed_frame is not None and argo.failed_frame > FILE_SIZE_CAP // (2 * MiB)
    assert leftovers(file_store) == []  # nothing published, the temporary file removed


@SIZES
def test_rejected_at_publish(argo, file_store, key, size):
    """Every byte arrives, then the publish fails: a directory artifact holds the key."""
    file_store.put(f"{key}/inside", b"a directory artifact")
    error = argo.save_stream(file_store.config, key, payload(size))
    assert "code = FailedPrecondition desc = " in error and "it is a directory" in error and key in error, error
    assert argo.failed_frame is None  # every frame was sent: the failure came with the answer
    assert leftovers(file_store) == [f"{key}/inside"]


@SIZES
def test_a_missing_bucket_is_named_at_any_size(argo, moto_endpoint, key, size):
    """A store error on S3: the first part upload finds no bucket."""
    store = S3Store(moto_endpoint, "artifacts")
    config = store.config.replace("bucket: artifacts", "bucket: no-such-bucket")
    error = argo.save_stream(config, key, payload(size))
    assert "code = NotFound desc = " in error and "no-such-bucket" in error and "does not exist" in error, error
    assert "EOF" not in error


def test_successful_upload_and_the_server_keeps_serving(argo, file_store, key):
    data = payload(8 * MiB + 7)
    assert argo.save_stream(file_store.config, key, data) == ""
    assert file_store.get(key) == data


# -- ListObjects and Argo's 4 MiB receive limit -----------------------------------------

#: Length of every listed key (plugin.key + "/" + name): ~100 bytes, as in real artifacts.
KEY_BYTES = 100
#: Encoded size of one listed key: field tag, one-byte length (KEY_BYTES < 128), the key.
ENTRY_BYTES = 2 + KEY_BYTES
#: The most keys of KEY_BYTES bytes one answer can carry to Argo's client.
MOST_KEYS = ARGO_CLIENT_MAX_RECEIVE_BYTES // ENTRY_BYTES


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> tuple[FileStore, str]:
    """A prefix holding MOST_KEYS empty objects whose full keys are KEY_BYTES long."""
    store = FileStore(tmp_path_factory.mktemp("many") / "store")
    prefix = "wf-many/pod/listing"
    directory = Path(store.root) / prefix
    directory.mkdir(parents=True)
    width = KEY_BYTES - len(prefix) - 1
    for i in range(MOST_KEYS):
        (directory / f"{i:0{width}d}").touch()
    return store, prefix


@pytest.mark.slow
def test_listing_at_and_just_over_argos_limit(argo, many):
    store, prefix = many
    started = time.monotonic()
    objects, error = argo.list_objects(store.config, prefix)
    seconds = time.monotonic() - started
    assert (len(objects), error) == (MOST_KEYS, "")  # the largest answer Argo can read: answered
    assert all(len(o) == KEY_BYTES for o in objects)
    print(f"FIGURE ListObjects of {MOST_KEYS:,} keys of {KEY_BYTES} bytes "
          f"({MOST_KEYS * ENTRY_BYTES:,} bytes encoded, limit {ARGO_CLIENT_MAX_RECEIVE_BYTES:,}): {seconds:.2f} s")

    (Path(store.root) / prefix / ("x" * (KEY_BYTES - len(prefix) - 1))).touch()  # one more
    objects, error = argo.list_objects(store.config, prefix)
    assert objects == []
    expected = (f"found {MOST_KEYS + 1:,} objects, {(MOST_KEYS + 1) * ENTRY_BYTES:,} bytes as one gRPC message; "
                f"Argo's plugin client receives at most {ARGO_CLIENT_MAX_RECEIVE_BYTES:,} bytes")
    assert expected in error and prefix in error and "list a sub-directory" in error, error
    assert "ResourceExhausted" not in error  # the plugin's own words, not grpc-go's
