"""Moving objects: bounded concurrency with per-object failure reports, and the one
retry loop core has (for whole-object transfers)."""

from __future__ import annotations

import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence, TypeVar

if TYPE_CHECKING:
    from .deadline import Deadline

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger("argo_artifact_driver")


def run_bounded(items: Sequence[T], action: Callable[[T], int], workers: int) -> tuple[int, list[tuple[T, BaseException]]]:
    """Run ``action`` on every item with at most ``workers`` at once.

    Returns the sum of what the actions returned (bytes moved) and the items that failed
    with their exceptions; one failure does not stop the others, so a caller can say
    exactly which objects did not make it.
    """
    if not items:
        return 0, []
    total = 0
    failures: list[tuple[T, BaseException]] = []
    if workers <= 1 or len(items) == 1:
        for item in items:
            try:
                total += action(item)
            except Exception as exc:  # reported per item below
                failures.append((item, exc))
        return total, failures
    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="transfer") as pool:
        futures = [(item, pool.submit(action, item)) for item in items]
        for item, future in futures:
            try:
                total += future.result()
            except Exception as exc:
                failures.append((item, exc))
    return total, failures


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter for whole-object transfers.

    This is the only retry layer in core, and it covers what storage SDKs do not: a
    transfer whose response body broke after the request succeeded. Request-level
    failures (5xx, throttling, resets before a response) are retried by the SDK itself,
    configured by each backend; see the README's "Retries" section.
    """

    attempts: int = 3
    base_seconds: float = 0.2
    cap_seconds: float = 5.0

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (attempt counts from 1)."""
        return random.uniform(0, min(self.cap_seconds, self.base_seconds * 2 ** (attempt - 1)))


def with_retries(
    action: Callable[[], R],
    *,
    policy: RetryPolicy,
    transient: Callable[[BaseException], bool],
    deadline: "Deadline",
    what: str,
) -> R:
    """Run ``action``; on a transient failure wait and run it again, at most
    ``policy.attempts`` times in all and never past the call's deadline."""
    attempt = 1
    while True:
        deadline.check(what)
        try:
            return action()
        except Exception as exc:
            if attempt >= policy.attempts or not transient(exc):
                raise
            pause = policy.backoff(attempt)
            remaining = deadline.remaining()
            if remaining is not None and remaining <= pause:
                raise
            log.warning(
                "retrying %s after a transient failure", what,
                extra={"fields": {"attempt": attempt, "error": f"{type(exc).__name__}: {exc}", "pause_s": round(pause, 3)}},
            )
            time.sleep(pause)
            attempt += 1
