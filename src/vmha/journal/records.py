"""What the journal hands out and takes in: closed status sets and frozen records.

Callers never see ORM rows; every timestamp here is timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vmha.contracts import Notification

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware. Injected so tests can use fake time."""

JsonObject = Mapping[str, Any]


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


def require_aware(moment: datetime, what: str) -> datetime:
    """Return `moment` unchanged, or raise ValueError if it has no timezone."""
    if moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {moment!r}")
    return moment


class NotificationStatus(StrEnum):
    """Lifecycle of a notification (Masakari's set); legal moves are in `vmha.journal.transitions`."""

    NEW = "new"
    RUNNING = "running"
    ERROR = "error"
    FINISHED = "finished"
    IGNORED = "ignored"
    FAILED = "failed"


class StepStatus(StrEnum):
    """State of one step run, keyed by (notification, step, instance)."""

    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    FAILED = "failed"


class ExecutionStatus(StrEnum):
    """State of one function execution through the gateway API (Qinling's names)."""

    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


class InstanceStatus(StrEnum):
    """Progress of one instance in a recovery (Masakari's vmove statuses)."""

    PENDING = "pending"
    ONGOING = "ongoing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    IGNORED = "ignored"


FINAL_INSTANCE_STATUSES = frozenset({InstanceStatus.SUCCEEDED, InstanceStatus.FAILED, InstanceStatus.IGNORED})


class FenceMethod(StrEnum):
    """How a failed host was proven dead before its servers were started elsewhere, or that it was not."""

    REDFISH = "redfish"
    """Its BMC, asked over Redfish, reported the power off."""
    IPMI = "ipmi"
    """Its BMC, asked over IPMI, reported the power off."""
    SELF_FENCE = "self_fence"
    """Its BMC was silent and it had been out of its segment's group longer than its self-fence lease."""
    OPTED_OUT = "opted_out"
    """No proof: its segment opts out of fencing (``vmha:fencing disabled``), an operator's explicit choice."""


class RecordOutcome(StrEnum):
    """What `Journal.record_notification` did with a notification."""

    CREATED = "created"
    """First time this id was seen: stored with status `new`."""
    ALREADY_KNOWN = "already_known"
    """This id was recorded before (redelivery, or another replica won the race): nothing changed."""
    DUPLICATE = "duplicate"
    """Same host + type + payload as a notification accepted inside the window: stored as `ignored`."""


@dataclass(frozen=True, slots=True)
class NewNotification:
    """A validated notification as the intake hands it to the journal."""

    id: str
    type: str
    hostname: str
    generated_time: datetime
    payload: JsonObject
    source: str
    segment: str | None = None
    recovery_method: str | None = None

    def __post_init__(self) -> None:
        require_aware(self.generated_time, "generated_time")

    @classmethod
    def of(cls, notification: Notification, segment: str | None = None,
           recovery_method: str | None = None) -> NewNotification:
        """The journal's record of a validated notification."""
        return cls(id=str(notification.id), type=notification.type.value, hostname=notification.hostname,
                   generated_time=notification.generated_time, payload=notification.payload.to_dict(),
                   source=notification.source, segment=segment, recovery_method=recovery_method)


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    """A stored notification."""

    id: str
    type: str
    hostname: str
    generated_time: datetime
    payload: JsonObject
    source: str
    status: NotificationStatus
    status_reason: str | None
    segment: str | None
    recovery_method: str | None
    created_at: datetime
    updated_at: datetime
    deadline: datetime
    """The notification must be terminal (finished, ignored, failed) by then; a sweeper fails it otherwise."""
    flow: tuple[str, ...] | None = None
    """The step ids of its recovery, fixed by intake (None until then): the only flow its steps run in."""

    def flow_refusal(self, flow: tuple[str, ...]) -> str | None:
        """Why a step message claiming to run in ``flow`` must not run, None when ``flow`` is the recorded one.

        A step message's flow is never trusted: the steps queue can be written by others than vmha (anyone
        holding credentials of the project), and what runs next is decided by the flow.
        """
        if self.flow is None:
            return f"notification {self.id} has no recorded flow (intake did not start a recovery)"
        if self.flow != flow:
            return (f"the message's flow ({', '.join(flow)}) is not the flow recorded for notification {self.id} "
                    f"({', '.join(self.flow)})")
        return None


@dataclass(frozen=True, slots=True)
class FenceRecord:
    """What proved a notification's host dead (or that its segment waived the proof), recorded once."""

    notification_id: str
    host: str
    method: FenceMethod
    evidence: JsonObject
    """What the proof rests on: the BMC's address and answer, the lease timing, or the segment opting out."""
    fenced_at: datetime

    @property
    def proves_death(self) -> bool:
        """Whether the host is known to be off (False for an opt-out: nothing was checked)."""
        return self.method is not FenceMethod.OPTED_OUT


@dataclass(frozen=True, slots=True)
class Absence:
    """Since when a notification's host has been seen out of its segment's group, holding one armed lease."""

    notification_id: str
    host: str
    incarnation: str
    """The incarnation of the host's armed self-fence lease (``vmha.self_fence``): another is a new absence."""
    since: datetime


@dataclass(frozen=True, slots=True)
class Recorded:
    """Result of `Journal.record_notification`."""

    outcome: RecordOutcome
    notification: NotificationRecord
    duplicate_of: str | None = None
    """For DUPLICATE: the id of the notification accepted earlier."""


@dataclass(frozen=True, slots=True)
class StepKey:
    """Identity of one step run; `instance_uuid` is '' for steps not about one instance."""

    notification_id: str
    step_id: str
    instance_uuid: str = ""


@dataclass(frozen=True, slots=True)
class HeldClaim:
    """A Zaqar claim a gateway replica holds on one message, recorded so that the other replicas can release
    it at once when the replica dies (``Journal.take_over``)."""

    queue: str
    message_id: str
    claim_id: str


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A gateway replica's heartbeat count as the journal holds it; ``beats`` is -1 for an owner that still holds
    claims or step leases but is no replica any more (taken over, or left)."""

    owner: str
    beats: int
    host: str = ""
    pid: int = 0


@dataclass(frozen=True, slots=True)
class StepRecord:
    """A stored step run."""

    key: StepKey
    status: StepStatus
    attempts: int
    result: JsonObject | None
    error: str | None
    started_at: datetime
    lease_expires_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class StepClaim:
    """`begin_step` granted this caller the run: do the work, then finish, skip or fail it."""

    key: StepKey
    attempt: int
    """Fencing token: only the holder of the latest attempt may finish, skip or fail the step."""
    lease_expires_at: datetime


@dataclass(frozen=True, slots=True)
class StepDone:
    """`begin_step` found the step already succeeded or skipped: reuse its result, repeat nothing."""

    record: StepRecord


@dataclass(frozen=True, slots=True)
class StepBusy:
    """`begin_step` found a live lease held elsewhere: try again after `lease_expires_at`."""

    record: StepRecord


StepStart = StepClaim | StepDone | StepBusy


@dataclass(frozen=True, slots=True)
class InstanceProgress:
    """Per-instance progress of a recovery (like Masakari's vmoves)."""

    notification_id: str
    instance_uuid: str
    status: InstanceStatus
    source_host: str | None
    dest_host: str | None
    message: str | None
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """One line of the operator-facing progress log of a notification."""

    notification_id: str
    step_id: str
    instance_uuid: str
    at: datetime
    message: str
    progress: float
    """Fraction done of the step, 0..1."""


@dataclass(frozen=True, slots=True)
class ProgressNote:
    """A progress line written in the same transaction as a step run's start or end (one round trip)."""

    message: str
    progress: float
    """Fraction done of the step, 0..1."""


@dataclass(frozen=True, slots=True)
class NotificationDetail:
    """A notification with everything recorded about its recovery, oldest first."""

    notification: NotificationRecord
    steps: tuple[StepRecord, ...]
    instances: tuple[InstanceProgress, ...]
    events: tuple[ProgressEvent, ...]


@dataclass(frozen=True, slots=True)
class JoinState:
    """What the end of a recovery's branches is decided on, read narrowly: a join looks once per ended branch, so
    reading the whole recovery there would cost the square of its servers."""

    notification: NotificationRecord
    fan_out_result: JsonObject | None
    """The recorded result of the step that fanned the branches out (None before it ended)."""
    done: frozenset[str]
    """The instances whose branch's last step succeeded or was skipped."""
    failed: frozenset[str]
    """The instances recorded ``failed``."""


@dataclass(frozen=True, slots=True)
class NotificationFilter:
    """Filters of `Journal.list_notifications`; empty/None fields match everything."""

    statuses: frozenset[NotificationStatus] = frozenset()
    type: str | None = None
    hostname: str | None = None
    segment: str | None = None
    generated_since: datetime | None = None

    def __post_init__(self) -> None:
        if self.generated_since is not None:
            require_aware(self.generated_since, "generated_since")


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """A function execution: its input, and once ended its output (the result, or the error)."""

    id: str
    function: str
    status: ExecutionStatus
    sync: bool
    input: JsonObject
    output: JsonObject | None
    duration_seconds: float | None
    created_at: datetime
    updated_at: datetime
