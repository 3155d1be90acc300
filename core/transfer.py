"""Moving many objects at once with bounded concurrency and per-object failure reports."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")


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
