"""Property-based: malformed configurations, keys and paths always get a clear error
(non-empty, no traceback) and the server keeps serving. Examples are bounded."""

from __future__ import annotations

import grpc
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argo_artifact_driver.plugin_server import artifact_pb2 as pb
from argo_artifact_driver.plugin_server.client import artifact, plugin_error_kind

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TRIED = {"count": 0}

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text)
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(text, c, max_size=3), max_leaves=6)
option_names = st.sampled_from(["scheme", "bucket", "endpoint", "insecure", "region", "addressingStyle", "root", "buckett", "x"])
configs = st.one_of(
    text,
    st.dictionaries(option_names, values, max_size=5).map(lambda d: yaml.safe_dump(d)),
    st.fixed_dictionaries({"scheme": st.sampled_from(["s3", "file", "gcs", "nosuch", ""])}, optional={"bucket": values, "root": values}).map(yaml.safe_dump),
)
segments = st.sampled_from(["..", ".", "", "a", "b c", "\u00fc", "%2e%2e", "\\", "\x00", "~", "*", "?versionId=1"])
keys = st.one_of(text, st.lists(segments, max_size=5).map("/".join))
# Local paths that exist nowhere or are not regular files: a fuzzer must never make the
# server save (or overwrite) real files of this machine.
paths = st.one_of(
    st.sampled_from(["", "/dev/null", "/nonexistent/x/y", "relative/never/there", "/nonexistent/../nonexistent"]),
    text.map(lambda t: "/nonexistent/" + t),
)


def _check(answer: str) -> None:
    TRIED["count"] += 1
    assert answer, "an empty error for a malformed request"
    assert "Traceback" not in answer and 'File "' not in answer


@FUZZ
@given(config=configs, key=keys)
def test_malformed_configurations_and_keys(client, config, key):
    answers = [
        client.list_objects(config, key).error,
        client.delete(config, key).error,
        client.stream_bytes(config, key)[1],
    ]
    for answer in answers:
        if answer:
            _check(answer)
    assert client.capabilities().supports_save_stream


@FUZZ
@given(key=keys, path=paths)
def test_malformed_keys_and_local_paths(client, tmp_path, key, path):
    config = f"scheme: file\nroot: {tmp_path / 'store'}\n"
    load = client.stub.Load(pb.LoadArtifactRequest(input_artifact=artifact(config, key), path=path), timeout=60)
    save = client.stub.Save(pb.SaveArtifactRequest(output_artifact=artifact(config, key), path=path), timeout=60)
    for response in (load, save):
        if not response.success:
            _check(response.error)
    assert client.capabilities().supports_save_stream


@FUZZ
@given(frames=st.lists(st.sampled_from(["artifact", "chunk", "empty"]), max_size=4), key=keys)
def test_malformed_save_streams(client, tmp_path, frames, key):
    config = f"scheme: file\nroot: {tmp_path / 'store'}\n"

    def stream():
        for f in frames:
            if f == "artifact":
                yield pb.SaveStreamArtifactRequest(output_artifact=artifact(config, key))
            elif f == "chunk":
                yield pb.SaveStreamArtifactRequest(chunk=b"data")
            else:
                yield pb.SaveStreamArtifactRequest()

    try:
        response = client.stub.SaveStream(stream(), timeout=60)
    except grpc.RpcError as exc:  # a failed SaveStream ends with a status carrying the message
        assert plugin_error_kind(exc) is not None, exc
        _check(exc.details())
    else:
        assert response.success
    assert client.capabilities().supports_save_stream


def test_report_fuzz_figures(client, plugin):
    """Runs last in this module: the server is alive and logged no internal error."""
    assert client.capabilities().supports_save_stream
    internal = [r for r in plugin.log_records() if r.get("outcome") == "internal"]
    print(f"FIGURE malformed inputs answered in this worker: {TRIED['count']}")
    assert internal == [], internal[:3]
