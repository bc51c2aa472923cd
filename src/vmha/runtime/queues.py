"""The message queue seam: what the runtime asks of Zaqar, as a Protocol."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from vmha.contracts import StepMessage


@dataclass(frozen=True)
class Claimed:
    """One message claimed from ``queue``: hidden from other consumers until the claim expires."""

    queue: str
    id: str
    claim_id: str
    body: Any
    claimed_at: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when the claim was taken: the claim ends ``claim_ttl_seconds`` after it."""
    step: StepMessage | None = None
    """The step message this process made ``body`` of (a message held to run again here): run as it is, not
    parsed and checked again (only what comes from a queue is untrusted)."""


class Queues(Protocol):
    """Competing-consumer queues (Zaqar claims). Every call may raise the backend's errors."""

    def prepare(self, queue: str, *, delays: bool = False, dead_letters: str = "", max_claims: int = 0) -> None:
        """Create ``queue`` if missing (idempotent); with ``delays``, enable per-message delays on it; with
        ``dead_letters`` and ``max_claims``, make the queue move a message claimed that many times without
        being deleted to the queue ``dead_letters``."""

    def claim(self, queue: str, ttl: int, grace: int) -> Claimed | None:
        """Claim the oldest visible message of ``queue`` for ``ttl`` seconds; None when there is none."""

    def post(self, queue: str, bodies: Sequence[Any], *, ttl: int, delay: int = 0) -> None:
        """Post messages with ``bodies`` in one request, all or none, each living ``ttl`` seconds and claimable after
        ``delay`` seconds (at most 900)."""

    def delete(self, claimed: Claimed) -> bool:
        """Delete a claimed message; False when the claim was lost (expired and taken by another)."""

    def postpone(self, claimed: Claimed, seconds: int, grace: int) -> None:
        """Keep the message claimed (hidden) for ``seconds`` more, then let any consumer claim it again."""

    def release(self, claimed: Claimed) -> None:
        """Give the message back at once (its claim ends)."""
