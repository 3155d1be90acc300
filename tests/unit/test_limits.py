"""Input limits and local hardening, in process: bounded YAML, the key cap, the endpoint
gate, the call time bound, what fsspec storage options reach, the socket's mode and the
private CA directory. (The same limits against the running plugin: integration/test_security.py.)"""

from __future__ import annotations

import os
import stat
import threading

import pytest

from argo_artifact_driver.backends.fsspec_generic import reached
from argo_artifact_driver.core.config import MAX_DEPTH, parse_configuration
from argo_artifact_driver.core.deadline import Deadline
from argo_artifact_driver.core.errors import BadConfiguration, BadRequest, DeadlineExceeded, StorageUnavailable
from argo_artifact_driver.core.limits import EndpointGate, ServedStore
from support.memory import MemoryBackend, make_store


def test_yaml_without_anchors_aliases_or_deep_nesting():
    assert parse_configuration("scheme: mem\nroot: /x\n", "mem").options == {"root": "/x"}
    for text, says in [
        ("a: &a [1, 2]\nb: *a\n", "uses a YAML anchor or alias (line 1, column 4)"),
        ("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), f"is nested deeper than {MAX_DEPTH} levels"),
        ("x" * 70_000, "is 70000 bytes or more; the limit is 65536 bytes"),
        ("é" * 40_000, "is 80000 bytes or more; the limit is 65536 bytes"),  # bytes, not characters
    ]:
        with pytest.raises(BadConfiguration, match=says.replace("(", r"\(").replace(")", r"\)")):
            parse_configuration(text, "mem")


def test_the_gate_holds_at_most_its_share_per_endpoint_and_frees_it():
    gate = EndpointGate(2, " (test)")
    with gate.hold(["a:1"]), gate.hold(["a:1", "b:2"]):
        with pytest.raises(StorageUnavailable, match=r"^2 calls to a:1 are already in flight, the most one endpoint "
                                                     r"may hold \(test\); it is slow or not answering"):
            with gate.hold(["a:1"]):
                pass
        with gate.hold(["b:2"]):  # another endpoint still has room
            assert gate.in_flight() == {"a:1": 2, "b:2": 2}
    assert gate.in_flight() == {}


def test_a_served_store_checks_the_key_and_holds_its_endpoint_while_a_stream_is_open():
    store = make_store(MemoryBackend)
    store.fs.pipe_file(store.backend.root() + "/k", b"x" * 10)
    gate = EndpointGate(1)
    served = ServedStore(store, gate, max_key_bytes=16)
    with pytest.raises(BadRequest, match="the artifact key is 17 bytes; the limit is 16"):
        served.load("k" * 17, "/nowhere")
    chunks = served.open_stream("k")
    assert next(chunks) == b"x" * 10
    assert gate.in_flight() == {store.describe(): 1}  # a store without endpoints is held by its name
    with pytest.raises(StorageUnavailable):
        served.list_objects("")
    chunks.close()
    assert gate.in_flight() == {} and served.list_objects("") == ["k"]


def test_the_call_time_bound_says_what_passed():
    with pytest.raises(DeadlineExceeded, match="stopped reading: the call ran longer than 7200 s"):
        Deadline(0, expired="the call ran longer than 7200 s").check("reading")
    with pytest.raises(DeadlineExceeded, match="the client's deadline passed"):
        Deadline(0).check("reading")


@pytest.mark.parametrize("options, hosts, paths, protocols", [
    ({"host": "sftp.example", "port": 2222, "username": "u", "client_keys": ["/keys/id"], "known_hosts": None},
     ["sftp.example:2222"], ["/keys/id"], []),
    ({"fo": "simplecache::http://10.0.0.1/config", "target_options": {"simplecache": {"cache_storage": "/home/p/.aws"}}},
     ["http://10.0.0.1/config"], ["/home/p/.aws"], ["simplecache", "http"]),
    ({"target_protocol": "file", "path": "/var/run/secrets"}, [], ["/var/run/secrets"], ["file"]),
    ({"fo": {"token": ["file:///var/run/secrets/token", 0, 10]}}, [], ["/var/run/secrets/token"], ["file"]),
    ({"client_kwargs": {"endpoint_url": "https://minio:9000"}}, ["https://minio:9000"], [], ["https"]),
    ({"remote_protocol": "s3", "remote_options": {"anon": True}}, [], [], ["s3"]),
])
def test_what_storage_options_reach(options, hosts, paths, protocols):
    found = reached(options)
    assert (found.hosts, found.paths, found.protocols, found.refused) == (hosts, paths, protocols, [])


def test_storage_options_that_run_commands_are_refused():
    assert reached({"host": "h", "proxy_command": "sh -c id"}).refused == ["proxy_command"]
    assert reached({"tunnel": {"proxy_command": "x"}}).refused == ["tunnel.proxy_command"]


def test_the_socket_gets_its_mode_at_bind_and_is_never_chmodded(tmp_path, monkeypatch):
    """In a shared, world-writable directory a chmod by path after bind can be redirected
    through a symbolic link; the mode must come from the umask around bind."""
    from argo_artifact_driver.core.settings import Settings
    from argo_artifact_driver.core.stores import StoreCache
    from argo_artifact_driver.plugin_server.server import build_server, prepare_socket

    chmods = []
    monkeypatch.setattr(os, "chmod", lambda *a, **k: chmods.append(a))
    previous = os.umask(0o077)  # a restrictive process umask: the socket must still be 0666
    try:
        path = prepare_socket(str(tmp_path / "shared" / "socket"))
        server, _, _ = build_server(path, StoreCache(Settings()), Settings(workers=1))
        assert os.umask(0o077) == 0o077  # restored after the bind
    finally:
        os.umask(previous)
    try:
        assert stat.S_ISSOCK(os.lstat(path).st_mode) and stat.S_IMODE(os.lstat(path).st_mode) == 0o666
        assert chmods == []
    finally:
        server.stop(0)


def test_ca_files_go_to_a_private_directory_made_once(tmp_path, monkeypatch):
    from argo_artifact_driver.backends import s3

    monkeypatch.setattr(s3, "_ca_directory", [])
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    (tmp_path / "argo-artifact-driver-ca").mkdir(mode=0o777)  # what another user could plant
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(s3._private_ca_directory())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1
    directory = seen[0]
    assert os.path.dirname(directory) == str(tmp_path) and directory != str(tmp_path / "argo-artifact-driver-ca")
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700 and os.stat(directory).st_uid == os.getuid()
