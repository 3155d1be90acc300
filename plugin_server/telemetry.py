"""Traces and metrics, when the operator asks for them with the standard ``OTEL_*`` variables.

:class:`Telemetry` is what the rest of the edge calls; this base records nothing and is
what runs when no variable asks for traces or metrics: the OpenTelemetry SDK is then never
imported (start-up is on the critical path of every workflow pod). :func:`from_env` reads
the variables the way Argo's own components do: a signal is exported when an OTLP endpoint
is set for it (``OTEL_EXPORTER_OTLP_ENDPOINT``, or the ``_TRACES_``/``_METRICS_`` one) or
its exporter is named (``OTEL_TRACES_EXPORTER``, ``OTEL_METRICS_EXPORTER``: ``otlp``,
``console`` or ``none``); the protocol is gRPC unless ``OTEL_EXPORTER_OTLP[_SIGNAL]_PROTOCOL``
says ``http/protobuf``. Everything else (headers, certificates, time-outs, batch sizes,
the export interval, resource attributes) is read by the SDK itself.

Telemetry never stops the plugin: a variable it cannot honour, or a missing ``[otel]``
extra, is one warning line at start-up and the plugin serves without that signal. The
OTLP endpoint is the operator's own setting, not a workflow's: it is not subject to the
operator policy that judges the addresses a configuration names.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

if TYPE_CHECKING:
    from ..core.settings import Settings
    from .calls import Call

log = logging.getLogger("argo_artifact_driver")

#: The exporters a signal may name, as the OpenTelemetry specification spells them.
EXPORTERS = ("otlp", "console", "none")
#: OTLP protocols: gRPC (Argo's default) and protobuf over HTTP.
PROTOCOLS = ("grpc", "http/protobuf")
SIGNALS = ("traces", "metrics")


class Telemetry:
    """Spans and metrics of calls and of the storage operations in them. This base records
    nothing; :class:`~.otel.OpenTelemetry` records through the SDK. No method may raise."""

    #: Whether spans are recorded (log lines then carry the trace id).
    tracing = False

    def start_call(self, call: "Call", metadata: Sequence[tuple[str, Any]]) -> None:
        """A call began; ``metadata`` is its gRPC invocation metadata (``traceparent``...)."""

    def end_call(self, call: "Call") -> None:
        """A call ended: ``call`` holds its outcome, bytes, retries and duration."""

    def start_operation(self, call: "Call | None", name: str, facts: Mapping[str, Any]) -> Any:
        """A storage operation began within ``call``; returns a handle for :meth:`end_operation`."""
        return None

    def end_operation(self, handle: Any, outcome: str, facts: Mapping[str, Any]) -> None:
        """The storage operation ``handle`` ended with ``outcome`` (``ok`` or the error's type)."""

    def retried(self, call: "Call", attempt: int, error: BaseException) -> None:
        """Core runs a transfer of ``call`` again after ``attempt`` attempts."""

    def planned(self, call: "Call", transfer: str, facts: Mapping[str, Any]) -> None:
        """Core plans a transfer of ``call`` (objects, bytes, concurrency, sizes)."""

    def shutdown(self) -> None:
        """Export what is still buffered; called once, when the server stops."""


NO_TELEMETRY = Telemetry()


def key_hash(key: str) -> str:
    """A short, stable digest of an artifact key: the same key gives the same value in every
    span, so calls on one artifact can be found without the key itself being exported."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Exporters:
    """Which exporters each signal uses (empty: the signal is off)."""

    traces: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    #: OTLP protocol per signal.
    protocols: tuple[tuple[str, str], ...] = ()

    def protocol(self, signal: str) -> str:
        return dict(self.protocols).get(signal, "grpc")

    def __bool__(self) -> bool:
        return bool(self.traces or self.metrics)


def requested(environ: Mapping[str, str]) -> tuple[Exporters, list[str]]:
    """The exporters the ``OTEL_*`` variables of ``environ`` ask for, and a warning for each
    variable that cannot be honoured (that signal is then off)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return Exporters(), []
    warnings: list[str] = []
    chosen: dict[str, tuple[str, ...]] = {}
    protocols = []
    for signal in SIGNALS:
        upper = signal.upper()
        variable = f"OTEL_{upper}_EXPORTER"
        named = environ.get(variable, "").strip().lower()
        if named:
            names = tuple(n.strip() for n in named.split(",") if n.strip())
        elif environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT"):
            names = ("otlp",)
        else:
            names = ()
        unknown = [n for n in names if n not in EXPORTERS]
        if unknown:
            warnings.append(f"{variable}={named!r}: {', '.join(unknown)} is not one of {', '.join(EXPORTERS)}; "
                            f"{signal} are not exported")
            continue
        names = tuple(n for n in names if n != "none")
        if "otlp" in names:
            protocol_variable = f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL"
            protocol = (environ.get(protocol_variable) or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "grpc")
            protocol = protocol.strip().lower()
            if protocol not in PROTOCOLS:
                warnings.append(f"{protocol_variable} (or OTEL_EXPORTER_OTLP_PROTOCOL) is {protocol!r}, not one of "
                                f"{', '.join(PROTOCOLS)}; {signal} are not exported")
                continue
            protocols.append((signal, protocol))
        chosen[signal] = names
    return Exporters(chosen.get("traces", ()), chosen.get("metrics", ()), tuple(protocols)), warnings


def from_env(settings: "Settings", environ: Mapping[str, str]) -> Telemetry:
    """The telemetry ``environ`` asks for: :data:`NO_TELEMETRY` (nothing imported) unless an
    ``OTEL_*`` variable asks for traces or metrics. Problems are logged, never raised."""
    exporters, warnings = requested(environ)
    for warning in warnings:
        log.warning("telemetry: %s", warning)
    if not exporters:
        return NO_TELEMETRY
    try:
        from .otel import OpenTelemetry
    except ImportError as exc:
        log.warning(
            "telemetry: OTEL_* variables ask for %s, but the OpenTelemetry SDK is not installed (%s); install "
            "argo-artifact-driver[otel]. Serving without traces and metrics.",
            " and ".join(s for s in SIGNALS if getattr(exporters, s)), exc,
        )
        return NO_TELEMETRY
    try:
        telemetry = OpenTelemetry(exporters, trace_keys=settings.trace_keys)
    except Exception as exc:  # an SDK that rejects the environment must not stop the plugin
        log.warning("telemetry: cannot start OpenTelemetry (%s: %s); serving without traces and metrics",
                    type(exc).__name__, exc)
        return NO_TELEMETRY
    log.info("telemetry", extra={"fields": {
        "traces": ",".join(exporters.traces) or "off", "metrics": ",".join(exporters.metrics) or "off",
        **{f"{signal}_protocol": protocol for signal, protocol in exporters.protocols},
    }})
    return telemetry
