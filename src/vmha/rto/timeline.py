"""The phase timeline of one host recovery, and whether it met its segment's recovery time objective.

Read from the journal alone: the failure as the monitor saw it (the notification's ``generated_time``), its
admission (``created_at``), the end of fencing (the ``fence_host`` step's end, whatever proof or opt-out it
recorded), the first and the last server ACTIVE on another host (the servers' progress records; a recovery
with nothing to move is "all ACTIVE" when it finished). Every phase is counted from the failure, so the last
one is the recovery time. A recovery that left a server failed has no "all ACTIVE" and never meets an
objective.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from vmha.journal import InstanceStatus, NotificationDetail, NotificationStatus, StepStatus

FENCE_STEP = "fence_host"
PHASES = ("admitted", "fenced", "first_active", "all_active")
"""Each phase's end, counted in seconds from the failure."""


@dataclass(frozen=True)
class Timeline:
    """One host recovery, its phases in seconds from the failure (None: not reached)."""

    notification_id: str
    host: str
    segment: str
    failed_at: datetime
    phases: dict[str, float | None]
    servers: int
    """Servers the recovery moved or tried to move."""

    @property
    def recovery_seconds(self) -> float | None:
        """From the failure to the last server ACTIVE elsewhere; None when a server was not recovered."""
        return self.phases["all_active"]

    def meets(self, objective_seconds: float) -> bool:
        took = self.recovery_seconds
        return took is not None and took <= objective_seconds


@dataclass(frozen=True)
class SegmentReport:
    """The host recoveries of one segment against its objective."""

    segment: str
    objective_seconds: float | None
    recoveries: tuple[Timeline, ...]

    @property
    def met(self) -> int | None:
        """How many recoveries met the objective; None when the segment declares none."""
        if self.objective_seconds is None:
            return None
        objective = self.objective_seconds
        return sum(1 for timeline in self.recoveries if timeline.meets(objective))

    def median(self, phase: str) -> float | None:
        reached = [took for timeline in self.recoveries if (took := timeline.phases[phase]) is not None]
        return statistics.median(reached) if reached else None


def timeline(detail: NotificationDetail) -> Timeline:
    """The phase timeline of a host recovery."""
    record = detail.notification
    start = record.generated_time
    moved = [item for item in detail.instances if item.status is not InstanceStatus.IGNORED]
    active = [item.finished_at for item in moved if item.status is InstanceStatus.SUCCEEDED and item.finished_at]
    fenced = [run.finished_at for run in detail.steps if run.key.step_id == FENCE_STEP and run.finished_at
              and run.status in (StepStatus.SUCCEEDED, StepStatus.SKIPPED)]
    all_active = max(active) if moved and len(active) == len(moved) else None
    if not moved and record.status is NotificationStatus.FINISHED:
        all_active = record.updated_at  # nothing to move: recovered when the recovery ended

    def since(at: datetime | None) -> float | None:
        return None if at is None else max(0.0, (at - start).total_seconds())

    phases = {"admitted": since(record.created_at), "fenced": since(min(fenced, default=None)),
              "first_active": since(min(active, default=None)), "all_active": since(all_active)}
    return Timeline(record.id, record.hostname, record.segment or "", start, phases, len(moved))


def segment_reports(timelines: Iterable[Timeline], objectives: Mapping[str, float | None]) -> list[SegmentReport]:
    """The recoveries grouped by segment, each segment with its objective; segments by name."""
    grouped: dict[str, list[Timeline]] = {}
    for found in timelines:
        grouped.setdefault(found.segment, []).append(found)
    return [SegmentReport(name, objectives.get(name), tuple(found)) for name, found in sorted(grouped.items())]
