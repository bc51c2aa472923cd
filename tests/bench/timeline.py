"""Where a recovery's time went, read back from its journal record.

A span per step: from the first start of its first run to the last end of its last run (per-instance
steps cover every instance), as seconds after ``t0`` (the instant the host was killed). A hop per step run:
from the end of the step before it in the flow (the same instance's, else the latest) to the run's first
start: the time the gateway and Zaqar add between two steps (post, claim, journal), not the step's work.
The first step of a fan-out has no hop: its N branches wait for free workers, a capacity matter, not
overhead (its span shows it). Other hops still include waiting for a worker when every one is busy.
Intake is the pseudo-step ``intake``: it ends when the gateway journaled the notification's intake.
A host recovery's phases: detection (t0 to the notification recorded in the journal), fence (the span of
``fence_host``) and evacuation (the end of that span to every server ACTIVE elsewhere).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from vmha.journal import NotificationDetail

INTAKE = "intake"
FENCE = "fence_host"


@dataclass(frozen=True)
class Span:
    """One step of a recovery: seconds after t0 of its first start and last end, how many runs."""

    step: str
    start: float
    end: float
    runs: int
    attempts: int

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Phases:
    """A host recovery in three parts, seconds."""

    detection: float
    """From t0 (the kill) to the notification recorded in the journal (way (a): the post's own delivery)."""
    fence: float | None
    """``fence_host``'s span: its first start to its last end (None: it did not run)."""
    evacuation: float | None
    """From the end of ``fence_host`` to every server ACTIVE elsewhere (None: not all recovered, or no fence)."""


Key = tuple[str, str]
"""(step id, instance uuid or '')."""


def first_starts(detail: NotificationDetail) -> dict[Key, datetime]:
    """When each step run first started: its earliest progress event (later attempts restart the record)."""
    starts: dict[Key, datetime] = {}
    for event in detail.events:
        key = (event.step_id, event.instance_uuid)
        starts[key] = min(starts.get(key, event.at), event.at)
    for run in detail.steps:
        key = (run.key.step_id, run.key.instance_uuid)
        starts[key] = min(starts.get(key, run.started_at), run.started_at)
    return starts


def last_ends(detail: NotificationDetail) -> dict[Key, datetime]:
    """When each step run last ended (runs still in progress have none); intake ends at its event."""
    ends = {(run.key.step_id, run.key.instance_uuid): run.finished_at for run in detail.steps
            if run.finished_at is not None}
    for event in detail.events:
        if event.step_id == INTAKE:
            ends[(INTAKE, "")] = event.at
    return ends


def spans(detail: NotificationDetail, t0: datetime) -> list[Span]:
    """The steps that ran, in the order they started, intake first (it starts at t0)."""
    starts, ends = first_starts(detail), last_ends(detail)
    attempts: dict[str, int] = {}
    for run in detail.steps:
        attempts[run.key.step_id] = attempts.get(run.key.step_id, 0) + run.attempts
    found = []
    for step in dict.fromkeys(step for step, _ in starts):
        began = t0 if step == INTAKE else min(at for key, at in starts.items() if key[0] == step)
        finished = [at for key, at in ends.items() if key[0] == step]
        end = max(finished) if finished else began
        runs = sum(1 for key in starts if key[0] == step)
        found.append(Span(step, _after(t0, began), _after(t0, end), runs, attempts.get(step, 1)))
    return sorted(found, key=lambda span: (span.start, span.end))


def phases(detail: NotificationDetail, t0: datetime, steps: Sequence[Span], rto: float | None) -> Phases:
    """Detection, fence and evacuation of the recovery whose ``spans`` are ``steps``, ended at ``rto`` after t0."""
    fence = next((span for span in steps if span.step == FENCE), None)
    return Phases(_after(t0, detail.notification.created_at), None if fence is None else fence.seconds,
                  None if fence is None or rto is None else rto - fence.end)


def hops(detail: NotificationDetail, flow: Sequence[str]) -> list[float]:
    """Seconds from the end of each run's predecessor in ``flow`` to the run's first start."""
    order = (INTAKE, *flow)
    starts, ends = first_starts(detail), last_ends(detail)
    found = []
    for (step, instance), began in starts.items():
        if step not in order[1:]:
            continue
        previous = order[order.index(step) - 1]
        if instance and (previous, instance) not in ends:
            continue
        before = ends.get((previous, instance)) or max(
            (at for key, at in ends.items() if key[0] == previous), default=None)
        if before is not None:
            found.append(_after(before, began))
    return found


def _after(t0: datetime, moment: datetime) -> float:
    return (moment - t0).total_seconds()
