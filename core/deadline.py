"""How long a call may still run, and whether it was called off.

The gRPC edge builds one :class:`Deadline` per call from the client's deadline, whether
the client is still there, and whether the server is shutting down; core checks it
between chunks and between objects, and before anything is published, so a call that
nobody waits for any more stops moving data and publishes nothing.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from .errors import Cancelled, DeadlineExceeded


class Deadline:
    """A point in time (or none) plus a "called off" test, checked by core as data moves."""

    def __init__(
        self,
        seconds: float | None = None,
        cancelled: Callable[[], bool] | None = None,
        expired: str = "the client's deadline passed",
    ) -> None:
        self.expires = None if seconds is None else time.monotonic() + max(0.0, seconds)
        self._cancelled = cancelled
        self._expired = expired  # what passing ``seconds`` means, for the message

    def remaining(self) -> float | None:
        """Seconds left, or None when the call has no deadline."""
        return None if self.expires is None else self.expires - time.monotonic()

    def check(self, what: str) -> None:
        """Raise :class:`Cancelled` or :class:`DeadlineExceeded` when the call must stop."""
        if self._cancelled is not None and self._cancelled():
            raise Cancelled(f"stopped {what}: the call was cancelled (client gone or server shutting down)")
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            raise DeadlineExceeded(f"stopped {what}: {self._expired}")

    def progress(self, what: str) -> Any:
        """An fsspec callback for ``put_file``/``get_file`` that checks this deadline as
        bytes move (per part or body chunk on object stores), and counts them."""
        from fsspec.callbacks import Callback

        deadline = self

        class _Checked(Callback):
            def call(self, *args: Any, **kwargs: Any) -> None:
                deadline.check(what)

        return _Checked()


#: For calls made outside the gRPC edge (tools, tests): never expires, never cancelled.
NO_DEADLINE = Deadline()
