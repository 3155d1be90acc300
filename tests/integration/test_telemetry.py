"""Traces and metrics, exported by the plugin process to a real OTLP/gRPC endpoint.

The receiver (``support/otlp.py``) is served in the test process from the
``opentelemetry-proto`` package's own service definitions; the plugin is started as Argo
starts it, with the standard ``OTEL_*`` variables pointing at it. The client sends the
``traceparent`` metadata Argo's otelgrpc client sends for the span it is in.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path

import pytest

from argo_artifact_driver.plugin_server.testing.plugin import PluginProcess
from argo_artifact_driver.plugin_server.testing.policy import write_policy
from support.otlp import OtlpReceiver
from support.uninstalled import site_without

SERVER_SPAN, CLIENT_SPAN = 2, 3  # opentelemetry.proto.trace.v1.Span.SpanKind
STATUS_UNSET, STATUS_ERROR = 0, 2
#: Export quickly, so the test waits little (the defaults are 5 s for spans, 60 s for metrics).
FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_METRIC_EXPORT_INTERVAL": "300"}


@pytest.fixture
def receiver():
    receiver = OtlpReceiver()
    yield receiver
    receiver.stop()


_started: list[PluginProcess] = []


@pytest.fixture(autouse=True)
def _no_plugin_left_running():
    """A test that fails before its own stop() must not leave its plugin behind."""
    yield
    while _started:
        _started.pop().stop()


def start_plugin(tmp_path: Path, env: dict[str, str], name: str = "plugin") -> PluginProcess:
    # scheme file is off by default: the test's store is in its own temporary directory
    policy = write_policy(tmp_path / f"{name}-policy.yaml", roots=[tmp_path])
    plugin = PluginProcess(tmp_path / name / "socket", tmp_path, env={**policy, **env}, name=name)
    _started.append(plugin)
    return plugin


def file_config(tmp_path: Path) -> str:
    return f"scheme: file\nroot: {tmp_path / 'store'}\n"


def traceparent() -> tuple[str, str, list[tuple[str, str]]]:
    """A client span's (trace id, span id) and the metadata otelgrpc sends for it."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, [("traceparent", f"00-{trace_id}-{span_id}-01")]


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def test_calls_join_the_clients_trace_and_the_counters_move_by_exactly_the_calls_made(receiver, tmp_path):
    plugin = start_plugin(tmp_path, {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, **FAST_EXPORT})
    trace_id, parent_id, metadata = traceparent()
    config, key = file_config(tmp_path), "wf-1/pod/secret-name.tgz"
    src = tmp_path / "out.bin"
    src.write_bytes(b"x" * 3000)
    with plugin.client(metadata=metadata) as client:
        assert client.save(config, key, src).success
        assert "was not found" in client.load(config, "wf-1/missing", tmp_path / "nothing").error
        assert client.stream_bytes(config, key) == (b"x" * 3000, "")
        assert list(client.list_objects(config, "wf-1").objects) == [key]
        assert client.list_objects("scheme: nosuchscheme\n", "k").error

    receiver.wait_for(lambda: len([s for s in receiver.spans() if s["kind"] == SERVER_SPAN]) >= 5)
    spans = receiver.spans()
    calls = {s["name"].rsplit("/", 1)[1] + ("-bad" if s["attributes"]["artifact.scheme"] == "unknown" else ""): s
             for s in spans if s["kind"] == SERVER_SPAN}
    assert sorted(calls) == ["ListObjects", "ListObjects-bad", "Load", "OpenStream", "Save"]
    for method, span in calls.items():
        # under the client's span, in the client's trace
        assert (span["trace_id"], span["parent_span_id"]) == (trace_id, parent_id), method
        assert span["resource"]["service.name"] == "argo-artifact-driver"
        assert span["attributes"]["rpc.system"] == "grpc" and span["attributes"]["rpc.service"] == "artifact.ArtifactService"
    save = calls["Save"]["attributes"]
    assert save["artifact.scheme"] == "file" and save["artifact.outcome"] == "ok" and save["artifact.bytes"] == 3000
    assert save["artifact.store"] == f"file://{tmp_path / 'store'}"
    assert save["artifact.key_hash"] == key_digest(key) and save["artifact.retries"] == 0
    # the key itself is not exported unless the operator allows it
    assert "artifact.key" not in save and key not in json.dumps(spans)
    load = calls["Load"]
    assert load["attributes"]["artifact.outcome"] == "not_found" and load["status"] == STATUS_UNSET  # the workflow's
    assert calls["ListObjects-bad"]["attributes"]["artifact.outcome"] == "unknown_scheme"
    assert calls["OpenStream"]["attributes"]["artifact.bytes"] == 3000

    # storage operations are children of their call's span
    children = [s for s in spans if s["parent_span_id"] == calls["Save"]["span_id"]]
    puts = [s for s in children if s["name"] == "storage put"]
    assert len(puts) == 1 and puts[0]["kind"] == CLIENT_SPAN and puts[0]["attributes"]["artifact.bytes"] == 3000
    assert ("transfer plan", {"transfer": "save", "objects": 1, "bytes": 3000, "concurrency": 1}) in calls["Save"]["events"]
    reads = [s for s in spans if s["parent_span_id"] == calls["OpenStream"]["span_id"] and s["name"] == "storage read"]
    assert len(reads) == 1 and reads[0]["attributes"]["artifact.bytes"] == 3000  # in the reader thread

    # each log line names its trace
    logged = {r["method"]: r for r in plugin.log_records() if r.get("msg") == "call" and r.get("scheme") == "file"}
    assert logged["Save"]["trace_id"] == trace_id

    assert plugin.stop() == 0  # the last export happens at the stop: the counters are final
    labels = ("artifact.outcome", "artifact.scheme", "rpc.method")
    expected_calls = {
        ("ok", "file", "Save"): 1, ("not_found", "file", "Load"): 1, ("ok", "file", "OpenStream"): 1,
        ("ok", "file", "ListObjects"): 1, ("unknown_scheme", "unknown", "ListObjects"): 1,
    }

    def by_labels(points: dict) -> dict:
        return {tuple(dict(k)[name] for name in labels): v for k, v in points.items()}

    assert by_labels(receiver.points("argo_artifact_driver.calls")) == expected_calls
    assert by_labels(receiver.points("argo_artifact_driver.bytes")) == {
        ("ok", "file", "Save"): 3000, ("not_found", "file", "Load"): 0, ("ok", "file", "OpenStream"): 3000,
        ("ok", "file", "ListObjects"): 0, ("unknown_scheme", "unknown", "ListObjects"): 0,
    }
    durations = by_labels(receiver.points("argo_artifact_driver.call.duration"))
    assert {labels: count for labels, (count, _) in durations.items()} == expected_calls
    assert all(seconds > 0 for _, seconds in durations.values())
    assert receiver.points("argo_artifact_driver.calls.active") == {
        (("rpc.method", method),): 0 for method in ("Save", "Load", "OpenStream", "ListObjects")
    }


def test_a_call_without_trace_context_starts_its_own_trace_and_keys_are_exported_when_allowed(receiver, tmp_path):
    plugin = start_plugin(tmp_path, {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receiver.endpoint, "OTEL_SERVICE_NAME": "artifacts-team-a",
        "ARGO_ARTIFACT_DRIVER_TRACE_KEYS": "true", **FAST_EXPORT,
    })
    with plugin.client() as client:
        assert client.is_directory(file_config(tmp_path), "a/key").error == ""
    receiver.wait_for(lambda: any(s["kind"] == SERVER_SPAN for s in receiver.spans()))
    (span,) = [s for s in receiver.spans() if s["kind"] == SERVER_SPAN]
    assert span["parent_span_id"] == "" and len(span["trace_id"]) == 32
    assert span["attributes"]["artifact.key"] == "a/key" and span["resource"]["service.name"] == "artifacts-team-a"
    assert plugin.stop() == 0
    assert receiver.metric_requests == []  # only traces were asked for


def test_without_otel_variables_nothing_of_opentelemetry_is_imported(tmp_path):
    record = tmp_path / "imports-asked"
    env = site_without(tmp_path / "site", ("opentelemetry",), record=record)
    env = {**env, **{name: "" for name in os.environ if name.startswith("OTEL_")}}
    plugin = start_plugin(tmp_path, env)
    src = tmp_path / "f"
    src.write_bytes(b"data")
    with plugin.client() as client:
        assert client.save(file_config(tmp_path), "k", src).success
        assert client.load(file_config(tmp_path), "k", tmp_path / "back").success
    assert plugin.stop() == 0
    assert not record.exists(), record.read_text()
    assert "telemetry" not in plugin.output()


def test_a_missing_otel_extra_is_one_warning_and_the_plugin_serves(tmp_path):
    env = {**site_without(tmp_path / "site", ("opentelemetry",)), "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    plugin = start_plugin(tmp_path, env)
    with plugin.client() as client:
        assert client.list_objects(file_config(tmp_path), "k").error == ""
    assert plugin.stop() == 0
    (warning,) = [r for r in plugin.log_records() if r.get("level") == "WARN"]
    assert "install argo-artifact-driver[otel]" in warning["msg"] and "Traceback" not in plugin.output()


@pytest.mark.parametrize("env, says", [
    ({"OTEL_TRACES_EXPORTER": "zipkin", "OTEL_METRICS_EXPORTER": "none"},
     "OTEL_TRACES_EXPORTER='zipkin': zipkin is not one of otlp, console, none; traces are not exported"),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
     "is 'http/json', not one of grpc, http/protobuf; traces are not exported"),
])
def test_telemetry_settings_it_cannot_honour_are_one_warning_each_and_the_plugin_serves(tmp_path, env, says):
    plugin = start_plugin(tmp_path, env)
    with plugin.client() as client:
        assert client.list_objects(file_config(tmp_path), "k").error == ""
    assert plugin.stop() == 0
    warnings = [r["msg"] for r in plugin.log_records() if r.get("level") == "WARN"]
    assert any(says in w for w in warnings), warnings


def test_an_unreachable_collector_neither_fails_calls_nor_holds_up_the_stop(tmp_path):
    # nothing listens on port 9: every export fails, and the stop waits for it only a bounded time
    plugin = start_plugin(tmp_path, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", **FAST_EXPORT})
    src = tmp_path / "f"
    src.write_bytes(b"data")
    with plugin.client() as client:
        assert client.save(file_config(tmp_path), "k", src).success
    assert plugin.stop() == 0
    assert "Traceback" not in plugin.output()


def test_otlp_over_http_is_used_when_the_protocol_says_so(receiver, tmp_path):
    plugin = start_plugin(tmp_path, {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.http_endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        **FAST_EXPORT,
    })
    trace_id, parent_id, metadata = traceparent()
    with plugin.client(metadata=metadata) as client:
        assert client.list_objects(file_config(tmp_path), "k").error == ""
    assert plugin.stop() == 0
    (span,) = [s for s in receiver.spans() if s["kind"] == SERVER_SPAN]
    assert (span["trace_id"], span["parent_span_id"]) == (trace_id, parent_id)
    assert receiver.points("argo_artifact_driver.calls") == {
        (("artifact.outcome", "ok"), ("artifact.scheme", "file"), ("rpc.method", "ListObjects")): 1
    }
