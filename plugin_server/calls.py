"""What one RPC did, told once: its log line, its span and its metrics.

The servicer opens a :class:`Call` per RPC (:meth:`Calls.begin`), fills in what it learns
(scheme, store, key, bytes), records how it failed (:meth:`Call.fail`), and ends it
(:meth:`Calls.end`). While core works for the call, the call is current in its context
(:meth:`Call.current`), so :class:`EdgeObserver`, the observer core reports to, can tie
each storage operation, retry and transfer plan to it, in core's worker threads too.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import grpc

from ..core.errors import ArtifactError
from ..core.observe import Observer, Operation
from .logs import level_for
from .telemetry import NO_TELEMETRY, Telemetry

log = logging.getLogger("argo_artifact_driver")

#: The call being served in this context (and in core's threads working for it).
CURRENT: contextvars.ContextVar["Call | None"] = contextvars.ContextVar("argo_artifact_driver_call", default=None)


@dataclass
class Call:
    """One RPC: what it did, for its log line, its span and its metrics."""

    method: str
    scheme: str = ""
    store: str = ""
    key: str = ""
    bytes: int = 0
    retries: int = 0
    outcome: str = "ok"
    #: The message returned to the client when the call failed.
    message: str = ""
    #: The exception that failed it (a bug's traceback is logged from it).
    error: BaseException | None = None
    started: float = field(default_factory=time.monotonic)
    #: Set by the telemetry: the call's span, and its trace id for the log line.
    span: Any = None
    trace_id: str = ""

    @contextlib.contextmanager
    def current(self) -> Iterator["Call"]:
        """Make this the current call while core works for it (never around a ``yield``
        to gRPC: a streaming handler enters it only around each piece of core work)."""
        token = CURRENT.set(self)
        try:
            yield self
        finally:
            CURRENT.reset(token)

    def fail(self, exc: BaseException) -> str:
        """Record the failure ``exc``; return the message for the client. An
        :class:`ArtifactError` is a failure a person can act on, and its message says
        how; anything else is a bug, told to the client without its details."""
        self.error = exc
        if isinstance(exc, ArtifactError):
            # Its traceback is never shown, and it would keep every frame of the call alive
            # (the call holds the exception, a frame holds the call: a cycle only the garbage
            # collector breaks), with the request in them: measured, 20 refused requests of
            # 8 MiB raised the plugin's peak memory by 200 MB.
            exc.with_traceback(None)
            self.outcome, self.message = exc.kind, exc.message
        else:
            self.outcome = "internal"
            self.message = (f"internal error in the artifact plugin during {self.method} "
                            f"({type(exc).__name__}); see the plugin's log")
        return self.message

    def cancel(self, message: str = "") -> None:
        """The client went away (or the server stops at once): nothing was published."""
        self.outcome, self.message, self.error = "cancelled", message, None

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def log(self) -> None:
        fields = {
            "method": self.method, "scheme": self.scheme, "store": self.store, "key": self.key, "bytes": self.bytes,
            "duration_ms": round(self.seconds * 1000, 1), "outcome": self.outcome, "retries": self.retries,
        }
        if self.message:
            fields["error"] = self.message
        if self.trace_id:
            fields["trace_id"] = self.trace_id
        level = logging.INFO if self.outcome == "cancelled" else level_for(self.error)
        bug = self.error if self.outcome == "internal" else None
        log.log(level, "call", exc_info=bug, extra={"fields": fields})


class Calls:
    """The calls being served: each one's end is told once, and shutdown can wait for them."""

    def __init__(self, telemetry: Telemetry = NO_TELEMETRY) -> None:
        self.telemetry = telemetry
        self._count = 0
        self._idle = threading.Condition()

    def begin(self, method: str, context: grpc.ServicerContext | None = None) -> Call:
        with self._idle:
            self._count += 1
        call = Call(method)
        metadata = (context.invocation_metadata() or ()) if context is not None else ()
        self.telemetry.start_call(call, metadata)
        return call

    def end(self, call: Call) -> None:
        """Log the call, end its span, record its metrics (exactly once per call)."""
        try:
            call.log()
            self.telemetry.end_call(call)
        finally:
            with self._idle:
                self._count -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """True once no call is in flight; False if some still are after ``timeout``."""
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)


class _Noted(Operation):
    __slots__ = ("facts",)

    def __init__(self, facts: dict[str, Any]) -> None:
        self.facts = facts

    def note(self, **facts: Any) -> None:
        self.facts.update(facts)


class EdgeObserver(Observer):
    """Core's observer in the server: each report becomes a debug line, and, with
    telemetry on, a child span of the call's span, a span event or a metric."""

    def __init__(self, telemetry: Telemetry = NO_TELEMETRY) -> None:
        self.telemetry = telemetry

    @contextlib.contextmanager
    def operation(self, name: str, **facts: Any) -> Iterator[Operation]:
        call = CURRENT.get()
        noted = _Noted(dict(facts))
        debug = log.isEnabledFor(logging.DEBUG)
        if call is None and not debug:  # outside any call (a tool's store): nothing to tell
            yield noted
            return
        started = time.monotonic()
        handle = self.telemetry.start_operation(call, name, noted.facts)
        outcome = "ok"
        try:
            yield noted
        except Exception as exc:
            outcome = type(exc).__name__
            raise
        except BaseException:  # a stream closed early (GeneratorExit), an interrupt
            outcome = "stopped"
            raise
        finally:
            self.telemetry.end_operation(handle, outcome, noted.facts)
            if debug:
                log.debug("storage", extra={"fields": {
                    "method": call.method if call else "", "operation": name, **noted.facts,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1), "outcome": outcome,
                }})

    def retry(self, attempt: int, error: BaseException, pause: float) -> None:
        call = CURRENT.get()
        if call is not None:
            call.retries += 1
            self.telemetry.retried(call, attempt, error)
        log.debug("retry", extra={"fields": {
            "method": call.method if call else "", "attempt": attempt, "error": f"{type(error).__name__}: {error}",
            "pause_s": round(pause, 3),
        }})

    def plan(self, transfer: str, **facts: Any) -> None:
        call = CURRENT.get()
        if call is not None:
            self.telemetry.planned(call, transfer, facts)
        log.debug("plan", extra={"fields": {"method": call.method if call else "", "transfer": transfer, **facts}})
