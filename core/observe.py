"""What core tells the outside about the work it does: storage operations, retries and
transfer plans.

Core reports through an :class:`Observer` it is given (by :class:`~.stores.StoreCache`);
the base class reports nothing and costs a method call. The gRPC edge passes one that
turns these reports into debug log lines, trace spans and metrics, so core never imports
a logging format or OpenTelemetry. Reports carry no key, path or secret: the edge knows
the call they belong to (core's worker threads run in the context of the call that
started them, see :mod:`.transfer`) and decides what of the call may be shown.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator


class Operation:
    """One storage operation being observed. :meth:`note` adds what was learnt as it ran
    (bytes moved, objects found)."""

    __slots__ = ()

    def note(self, **facts: Any) -> None:
        """Record facts about the operation (plain numbers or short strings)."""


_NOTHING = Operation()


class Observer:
    """Receives core's reports; every method does nothing here. Subclasses override what
    they show, and must never raise: observing cannot fail a call."""

    @contextlib.contextmanager
    def operation(self, name: str, **facts: Any) -> Iterator[Operation]:
        """Around one request (or one streamed transfer) to storage: ``name`` is what it does
        (``info``, ``list``, ``get``, ``put``, ``read``, ``write``, ``delete``, ``connect``).
        An exception leaving the block is the operation's failure and travels on."""
        yield _NOTHING

    def retry(self, attempt: int, error: BaseException, pause: float) -> None:
        """A whole-object transfer failed transiently after ``attempt`` attempts and runs
        again after ``pause`` seconds."""

    def plan(self, transfer: str, **facts: Any) -> None:
        """How a transfer is about to run (``load``, ``save``, ``read``, ``write``): object
        count and sizes, concurrency, part or chunk sizes."""


#: The observer of stores built without one (tools, tests).
NO_OBSERVER = Observer()
