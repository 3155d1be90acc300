"""A small OTLP receiver, served in the test process from the ``opentelemetry-proto``
package's own definitions: OTLP/gRPC (the TraceService and MetricsService) and
OTLP/HTTP with protobuf bodies (``POST /v1/traces``, ``/v1/metrics``). What a collector
receives from the plugin is kept as the protobuf messages it arrived as."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue


def value(any_value: AnyValue) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def attributes(items: list[KeyValue]) -> dict[str, Any]:
    return {item.key: value(item.value) for item in items}


class OtlpReceiver(trace_service_pb2_grpc.TraceServiceServicer, metrics_service_pb2_grpc.MetricsServiceServicer):
    """Listens on 127.0.0.1 (free ports); ``endpoint`` (gRPC) or ``http_endpoint`` is what
    OTEL_EXPORTER_OTLP_ENDPOINT takes."""

    def __init__(self) -> None:
        self.trace_requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.metric_requests: list[metrics_service_pb2.ExportMetricsServiceRequest] = []
        self._lock = threading.Lock()
        self.server = grpc.server(ThreadPoolExecutor(max_workers=2, thread_name_prefix="otlp"))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self.server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), _http_handler(self))
        threading.Thread(target=self.http.serve_forever, name="otlp-http", daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def stop(self) -> None:
        self.server.stop(0)
        self.http.shutdown()
        self.http.server_close()

    # -- the two services --------------------------------------------------------------

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802 (gRPC's name)
        with self._lock:
            if isinstance(request, trace_service_pb2.ExportTraceServiceRequest):
                self.trace_requests.append(request)
                return trace_service_pb2.ExportTraceServiceResponse()
            self.metric_requests.append(request)
            return metrics_service_pb2.ExportMetricsServiceResponse()

    # -- what arrived ------------------------------------------------------------------

    def spans(self) -> list[dict[str, Any]]:
        """Every span received: its fields, its attributes and its resource's, as plain values."""
        found = []
        with self._lock:
            requests = list(self.trace_requests)
        for request in requests:
            for resource_spans in request.resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        found.append({
                            "name": span.name, "trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(), "kind": span.kind,
                            "status": span.status.code, "attributes": attributes(span.attributes),
                            "events": [(e.name, attributes(e.attributes)) for e in span.events],
                            "resource": resource, "scope": scope_spans.scope.name,
                        })
        return found

    def points(self, metric_name: str) -> dict[tuple, Any]:
        """The latest point of ``metric_name`` per attribute set (sorted (key, value) pairs):
        a sum's value, or a histogram's (count, sum). Exports are cumulative, so the latest
        point holds everything counted since the plugin started."""
        latest: dict[tuple, tuple[int, Any]] = {}
        with self._lock:
            requests = list(self.metric_requests)
        for request in requests:
            for resource_metrics in request.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        if metric.name != metric_name:
                            continue
                        kind = metric.WhichOneof("data")
                        for point in getattr(metric, kind).data_points:
                            labels = tuple(sorted(attributes(point.attributes).items()))
                            if kind == "histogram":
                                reading: Any = (point.count, point.sum)
                            else:
                                reading = point.as_int if point.WhichOneof("value") == "as_int" else point.as_double
                            if labels not in latest or point.time_unix_nano >= latest[labels][0]:
                                latest[labels] = (point.time_unix_nano, reading)
        return {labels: reading for labels, (_, reading) in latest.items()}

    def wait_for(self, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        """Wait until ``condition()`` holds (exports are periodic); fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "the receiver did not get what was expected in time"
            time.sleep(0.05)


def _http_handler(receiver: OtlpReceiver) -> type[BaseHTTPRequestHandler]:
    messages = {"/v1/traces": trace_service_pb2.ExportTraceServiceRequest,
                "/v1/metrics": metrics_service_pb2.ExportMetricsServiceRequest}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            message = messages.get(self.path)
            if message is None or self.headers.get("Content-Type") != "application/x-protobuf":
                self.send_error(404)
                return
            answer = receiver.Export(message.FromString(body), None)
            data = answer.SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    return Handler
