"""The guest agent heartbeat detector: a pure state machine per guest, fed one ping result at a time.

    DISCOVERY --ok--> HEALTHY --miss--> FAILING(1) --miss--> ... FAILING(misses) = REPORTED (report once)
    FAILING --ok--> HEALTHY        REPORTED --ok--> HEALTHY (recovered; a later failure reports again)

A guest whose agent never answered stays in DISCOVERY and is never reported. Unlike Masakari (which
reports on the failure_threshold + 2nd miss), the report comes on exactly the ``misses``-th consecutive miss.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum


class Phase(Enum):
    """Where a guest stands."""

    DISCOVERY = "discovery"
    HEALTHY = "healthy"
    FAILING = "failing"
    REPORTED = "reported"


class Verdict(Enum):
    """What a ping result calls for."""

    NOTHING = "nothing"
    REPORT = "report"
    RECOVERED = "recovered"


@dataclass(frozen=True)
class Heartbeat:
    """One guest's phase and its count of consecutive misses."""

    phase: Phase = Phase.DISCOVERY
    misses: int = 0


def observe(heartbeat: Heartbeat, answered: bool, misses: int) -> tuple[Heartbeat, Verdict]:
    """The next state after one ping, and whether to report the guest or note its recovery."""
    if answered:
        verdict = Verdict.RECOVERED if heartbeat.phase is Phase.REPORTED else Verdict.NOTHING
        return Heartbeat(Phase.HEALTHY), verdict
    if heartbeat.phase in (Phase.DISCOVERY, Phase.REPORTED):
        return heartbeat, Verdict.NOTHING
    count = heartbeat.misses + 1
    if count >= misses:
        return Heartbeat(Phase.REPORTED, count), Verdict.REPORT
    return replace(heartbeat, phase=Phase.FAILING, misses=count), Verdict.NOTHING
