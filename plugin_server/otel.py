"""Telemetry through the OpenTelemetry SDK (the ``[otel]`` extra): imported only when an
``OTEL_*`` variable asks for traces or metrics (see :mod:`.telemetry`).

- **Spans.** One ``SERVER`` span per call, named like gRPC's own instrumentation
  (``artifact.ArtifactService/Load``), a child of the span whose context the client sent
  in its ``traceparent`` metadata (W3C trace context, what Argo's otelgrpc client sends;
  ``OTEL_PROPAGATORS`` may name others). Under it, one ``storage <operation>`` span per
  request to storage. Error status only for failures the operator must look at (the
  store, a backend, a bug); a missing key or a bad configuration is the workflow's, and
  shows as the ``artifact.outcome`` attribute.
- **Metrics**, named ``argo_artifact_driver.*``: calls, bytes and call duration by method,
  scheme and outcome; calls in flight by method (streams are the ``OpenStream`` and
  ``SaveStream`` series); retries by method and scheme. Attribute values come only from
  fixed sets (methods, installed schemes, outcome kinds), never from a workflow's text.

The providers are this module's own (nothing global is set), shut down by the server.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from opentelemetry import propagate, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from .. import __version__
from .logs import level_for
from .servicer import SERVICE_NAME
from .telemetry import Exporters, Telemetry, key_hash

if TYPE_CHECKING:
    from .calls import Call

SERVICE = "argo-artifact-driver"
INSTRUMENTATION = "argo_artifact_driver"
#: Call duration buckets, in seconds: from a small ListObjects to an hour-long transfer.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

log = logging.getLogger("argo_artifact_driver")


def _resource() -> Resource:
    """``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_SERVICE_NAME`` as the SDK reads them, with
    this plugin's name where they give none."""
    resource = Resource.create({"service.version": __version__})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE}))
    return resource


def _span_exporter(name: str, protocol: str) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    return OTLPSpanExporter()  # endpoint, headers, TLS, time-out: from the OTEL_* variables


def _metric_exporter(name: str, protocol: str) -> MetricExporter:
    if name == "console":
        return ConsoleMetricExporter()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    return OTLPMetricExporter()


class OpenTelemetry(Telemetry):
    """Spans and metrics through the SDK, exported as ``exporters`` says."""

    def __init__(self, exporters: Exporters, trace_keys: bool = False) -> None:
        self.trace_keys = trace_keys
        resource = _resource()
        self.tracer_provider: TracerProvider | None = None
        self.meter_provider: MeterProvider | None = None
        self.tracer: trace.Tracer | None = None
        if exporters.traces:
            self.tracer_provider = TracerProvider(resource=resource)
            for name in exporters.traces:  # batch sizes and delays: OTEL_BSP_*
                exporter = _span_exporter(name, exporters.protocol("traces"))
                self.tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
            self.tracer = self.tracer_provider.get_tracer(INSTRUMENTATION, __version__)
            self.tracing = True
        readers = [  # the interval: OTEL_METRIC_EXPORT_INTERVAL
            PeriodicExportingMetricReader(_metric_exporter(name, exporters.protocol("metrics")))
            for name in exporters.metrics
        ]
        self.meter_provider = MeterProvider(resource=resource, metric_readers=readers)
        meter = self.meter_provider.get_meter(INSTRUMENTATION, __version__)
        self.calls = meter.create_counter(
            "argo_artifact_driver.calls", unit="{call}", description="Calls served, by method, scheme and outcome")
        self.bytes = meter.create_counter(
            "argo_artifact_driver.bytes", unit="By",
            description="Bytes moved between the client and storage, by method, scheme and outcome")
        self.duration = meter.create_histogram(
            "argo_artifact_driver.call.duration", unit="s", description="Time from a call's start to its answer",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS)
        self.active = meter.create_up_down_counter(
            "argo_artifact_driver.calls.active", unit="{call}",
            description="Calls in flight, by method (OpenStream and SaveStream: streams in flight)")
        self.retries = meter.create_counter(
            "argo_artifact_driver.retries", unit="{retry}",
            description="Whole-object transfers run again after a transient failure, by method and scheme")

    # -- calls -----------------------------------------------------------------------

    def start_call(self, call: "Call", metadata: Sequence[tuple[str, Any]]) -> None:
        self.active.add(1, {"rpc.method": call.method})
        if self.tracer is None:
            return
        # gRPC metadata keys are lower case, as the W3C propagator looks them up
        parent = propagate.extract({key: value for key, value in metadata if isinstance(value, str)})
        call.span = self.tracer.start_span(
            f"{SERVICE_NAME}/{call.method}", context=parent, kind=SpanKind.SERVER,
            attributes={"rpc.system": "grpc", "rpc.service": SERVICE_NAME, "rpc.method": call.method},
        )
        call.trace_id = format(call.span.get_span_context().trace_id, "032x")

    def end_call(self, call: "Call") -> None:
        attributes = {"rpc.method": call.method, "artifact.scheme": call.scheme or "unknown",
                      "artifact.outcome": call.outcome}
        self.active.add(-1, {"rpc.method": call.method})
        self.calls.add(1, attributes)
        self.bytes.add(call.bytes, attributes)
        self.duration.record(call.seconds, attributes)
        span = call.span
        if span is None:
            return
        span.set_attributes({
            **attributes, "artifact.store": call.store, "artifact.bytes": call.bytes, "artifact.retries": call.retries,
            "artifact.key_hash": key_hash(call.key),
        })
        if self.trace_keys:
            span.set_attribute("artifact.key", call.key)
        if call.outcome not in ("ok", "cancelled") and level_for(call.error) >= logging.ERROR:
            span.set_status(Status(StatusCode.ERROR, call.outcome))
        span.end()

    # -- inside a call ---------------------------------------------------------------

    def start_operation(self, call: "Call | None", name: str, facts: Mapping[str, Any]) -> Any:
        if call is None or call.span is None:
            return None
        # a child of the call's span, made without becoming the thread's current span:
        # an operation may be open across a stream's yields, in a reader thread
        return self.tracer.start_span(  # type: ignore[union-attr]
            f"storage {name}", context=trace.set_span_in_context(call.span), kind=SpanKind.CLIENT,
            attributes={"artifact.storage.operation": name},
        )

    def end_operation(self, handle: Any, outcome: str, facts: Mapping[str, Any]) -> None:
        if handle is None:
            return
        handle.set_attributes({f"artifact.{name}": value for name, value in facts.items()})
        handle.set_attribute("artifact.outcome", outcome)
        if outcome not in ("ok", "stopped"):
            handle.set_status(Status(StatusCode.ERROR, outcome))
        handle.end()

    def retried(self, call: "Call", attempt: int, error: BaseException) -> None:
        self.retries.add(1, {"rpc.method": call.method, "artifact.scheme": call.scheme or "unknown"})
        if call.span is not None:
            call.span.add_event("retry", {"attempt": attempt, "error.type": type(error).__name__})

    def planned(self, call: "Call", transfer: str, facts: Mapping[str, Any]) -> None:
        if call.span is not None:
            call.span.add_event("transfer plan", {"transfer": transfer, **facts})

    def shutdown(self) -> None:
        for provider in (self.tracer_provider, self.meter_provider):
            if provider is not None:
                try:
                    provider.shutdown()
                except Exception as exc:  # a collector gone away must not fail the stop
                    log.warning("telemetry: could not export the last spans or metrics (%s)", exc)
