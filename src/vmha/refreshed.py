"""A value read again at most every so many seconds: reads that cost calls to other services (Placement, Nova,
the journal) made for each scrape or redraw. A read that raises keeps nothing, so the next call reads again."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Refreshed(Generic[T]):
    """``read()``'s value, read again once ``seconds`` have passed on the monotonic clock."""

    def __init__(self, read: Callable[[], T], seconds: float) -> None:
        self._read = read
        self._seconds = seconds
        self._last: tuple[float, T] | None = None

    def __call__(self) -> T:
        now = time.monotonic()
        if self._last is None or now - self._last[0] >= self._seconds:
            self._last = (now, self._read())
        return self._last[1]
