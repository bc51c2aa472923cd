"""Retry delays and Zaqar message delays: pure arithmetic on an injected time."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from vmha.contracts import RetryPolicy

MAX_ZAQAR_DELAY = 900
"""Zaqar refuses message delays above this (``[transport] max_message_delay``); longer waits are chained."""

OUTAGE_PAUSE = 2.0
"""Seconds between two tries of a message or a step held up by a dependency outage."""

_MAX_EXPONENT = 64


def backoff(policy: RetryPolicy, attempt: int) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): initial * multiplier ** (attempt - 1), capped."""
    exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
    return float(min(policy.max_delay_seconds, policy.initial_delay_seconds * policy.multiplier**exponent))


def retry_delay(policy: RetryPolicy, attempt: int, requested: float) -> float:
    """The wait before the next attempt: what the step asked for, but never less than the backoff."""
    return max(requested, backoff(policy, attempt))


def hop(now: datetime, wait: float) -> tuple[float, datetime | None]:
    """The delay of one hop for a wait of ``wait`` seconds, and the due time to carry when one Zaqar delay
    is too short (the hop then waits MAX_ZAQAR_DELAY and the message waits again when it shows)."""
    seconds = max(0.0, wait)
    if seconds <= MAX_ZAQAR_DELAY:
        return seconds, None
    return float(MAX_ZAQAR_DELAY), now + timedelta(seconds=seconds)


def zaqar_delay(seconds: float) -> int:
    """Zaqar's delay for a wait of ``seconds``: whole seconds, rounded up so a message never shows early."""
    return min(MAX_ZAQAR_DELAY, math.ceil(max(0.0, seconds)))


def remaining(now: datetime, due: datetime) -> float:
    """Seconds from ``now`` until ``due`` (0 when it has passed)."""
    return max(0.0, (due - now).total_seconds())
