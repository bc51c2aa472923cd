"""The `Journal`: the durable record of recoveries, as a small typed API over SQL.

Every method is one short transaction, reads the injected clock once, and returns frozen records.
A transaction that loses a race to another replica (a unique key taken meanwhile, a deadlock) is run
again a few times; its second look sees the winner's row, so concurrent replicas converge on one row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from vmha.journal import absences, audit, executions, fences, notifications, progress, replicas, steps
from vmha.journal.audit import AuditDecision, AuditEntry, AuditRecord
from vmha.journal.commits import Writer
from vmha.journal.database import READ_ONLY, create_journal_engine, upgrade
from vmha.journal.records import (
    Absence,
    Clock,
    ExecutionRecord,
    ExecutionStatus,
    FenceMethod,
    FenceRecord,
    Heartbeat,
    HeldClaim,
    InstanceProgress,
    InstanceStatus,
    JoinState,
    JsonObject,
    NewNotification,
    NotificationDetail,
    NotificationFilter,
    NotificationRecord,
    NotificationStatus,
    ProgressEvent,
    ProgressNote,
    Recorded,
    StepClaim,
    StepKey,
    StepRecord,
    StepStart,
    StepStatus,
    require_aware,
    utc_now,
)

T = TypeVar("T")
MAX_PAGE = 1000


def open_journal(url: str | sa.URL, clock: Clock = utc_now, *, timeout_seconds: float | None = None) -> Journal:
    """Connect to the journal at `url` (e.g. `sqlite:///var/lib/vmha/journal.db`), migrated to head; every
    wait on the database bounded by ``timeout_seconds`` (see ``create_journal_engine``)."""
    engine = create_journal_engine(url, timeout_seconds)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return Journal(engine, clock)


class Journal:
    """Notifications, step runs, instance progress and progress events of every recovery.

    Raises UnknownNotificationError, IllegalTransitionError and StaleStepClaimError (vmha.journal.errors)
    as documented per method, ValueError for invalid arguments, sqlalchemy.exc.* for database faults.
    """

    def __init__(self, engine: sa.Engine, clock: Clock = utc_now) -> None:
        """Use `engine` (made by `create_journal_engine`: SQLite needs its locking setup) at its schema."""
        self._engine = engine
        self._reads = sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)
        self._clock = clock
        self._writer = Writer(sessionmaker(engine, expire_on_commit=False), self._now,
                              grouped=engine.dialect.name == "sqlite")

    def close(self) -> None:
        """Close the database connections."""
        self._engine.dispose()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _now(self) -> datetime:
        return require_aware(self._clock(), "clock()")

    def _write(self, work: Callable[[Session, datetime], T]) -> T:
        return self._writer.write(work)

    def _read(self, work: Callable[[Session, datetime], T]) -> T:
        with self._reads.begin() as session:
            return work(session, self._now())

    def record_notification(
        self, new: NewNotification, *, dedup_window: timedelta, terminal_within: timedelta
    ) -> Recorded:
        """Store `new` exactly once, atomically across replicas.

        CREATED: first time this id is seen (status `new`, deadline = now + terminal_within).
        ALREADY_KNOWN: the id was recorded before; the stored record is returned unchanged.
        DUPLICATE: same type, host and payload as a notification accepted less than `dedup_window` ago;
        stored as `ignored` with the reason, so the id stays known. The window runs on the journal's
        clock (arrival), not on the sender's generated_time as in Masakari: monitor clocks drift and
        spooled notifications arrive late.
        """
        return self._write(lambda session, now: notifications.record(session, now, new, dedup_window, terminal_within))

    def find_recent_duplicate(
        self, notification_type: str, hostname: str, payload: JsonObject, window: timedelta
    ) -> NotificationRecord | None:
        """The notification accepted less than `window` ago with this type, host and payload, if any."""
        return self._read(
            lambda session, now: notifications.find_duplicate(
                session,
                now,
                notification_type=notification_type,
                hostname=hostname,
                payload=payload,
                window=window,
            )
        )

    def set_status(
        self, notification_id: str, status: NotificationStatus, reason: str | None = None
    ) -> NotificationRecord:
        """Move a notification to `status` with `reason`, along `vmha.journal.transitions` only.

        Setting the status it already has changes nothing. Raises IllegalTransitionError for a move the
        state machine forbids, UnknownNotificationError for an unknown id.
        """
        return self._write(lambda session, now: notifications.set_status(session, now, notification_id, status, reason))

    def move_status(
        self, notification_id: str, status: NotificationStatus, reason: str | None = None
    ) -> NotificationRecord | None:
        """`set_status` for one actor among racing replicas: the record when this call made the move, None
        when the notification had `status` already (another replica, or an earlier run of this one, moved it)."""
        record, moved = self._write(
            lambda session, now: notifications.move_status(session, now, notification_id, status, reason)
        )
        return record if moved else None

    def get_notification(self, notification_id: str, *, with_events: bool = True) -> NotificationDetail | None:
        """A notification with its step runs, instances and progress events; None if unknown. Without
        ``with_events``, ``events`` is empty: a recovery of many servers gathers thousands of events, and
        the steps that run once per server read only the step runs and instances."""
        return self._read(lambda session, _now: progress.detail(session, notification_id, with_events))

    def get_branch(self, notification_id: str, instance_uuid: str) -> NotificationDetail | None:
        """A notification as one server's branch of its flow sees it: its recovery-wide step runs, that
        server's step runs and progress, no events; None if unknown. A step that runs once per server reads
        a fixed number of rows, not the whole recovery (at 50 servers, every run of such a step built the
        other 49 servers' rows: about a fifth of the gateway's busy time)."""
        return self._read(lambda session, _now: progress.detail(session, notification_id, False, instance_uuid))

    def get_join(self, notification_id: str, fan_out_step: str, last_step: str) -> JoinState | None:
        """What the end of the branches ``fan_out_step`` started and ``last_step`` ends is decided on (a few
        columns, see ``JoinState``); None if the notification is unknown."""
        return self._read(lambda session, _now: progress.join_state(session, notification_id, fan_out_step,
                                                                    last_step))

    def get_notification_record(self, notification_id: str) -> NotificationRecord | None:
        """The notification alone (one row, however long its recovery); None if unknown."""
        return self._read(lambda session, _now: notifications.get(session, notification_id))

    def list_notifications(
        self, filters: NotificationFilter | None = None, *, limit: int = 100, marker: str | None = None
    ) -> tuple[NotificationRecord, ...]:
        """One page, newest first; `marker` is the previous page's last id.

        Raises UnknownNotificationError for an unknown marker.
        """
        _check_limit(limit)
        return self._read(
            lambda session, _now: notifications.page(session, filters or NotificationFilter(), limit, marker)
        )

    def notifications_past_deadline(self, limit: int = 100) -> tuple[NotificationRecord, ...]:
        """Non-terminal notifications past their deadline (for a sweeper to fail), most overdue first."""
        _check_limit(limit)
        return self._read(lambda session, now: notifications.past_deadline(session, now, limit))

    def set_flow(self, notification_id: str, flow: tuple[str, ...]) -> NotificationRecord:
        """Fix the flow of a notification still ``new`` (intake's decision); later, the stored flow stays.

        Raises UnknownNotificationError for an unknown id.
        """
        return self._write(lambda session, _now: notifications.set_flow(session, notification_id, flow))

    def record_fence(
        self, notification_id: str, host: str, method: FenceMethod, evidence: JsonObject
    ) -> FenceRecord:
        """Record what proved ``host`` dead for this notification (or its segment's opt-out), once: a fence
        recorded before stays, and is returned. Raises UnknownNotificationError for an unknown id."""
        return self._write(lambda session, now: fences.record(
            session, now, notification_id, host=host, method=method, evidence=evidence))

    def get_fence(self, notification_id: str, host: str) -> FenceRecord | None:
        """The fence of ``host`` recorded for this notification, None if none was."""
        return self._read(lambda session, _now: fences.get(session, notification_id, host))

    def note_absence(self, notification_id: str, host: str, incarnation: str) -> Absence:
        """Since when ``host`` has been out of its group under this armed-lease incarnation (now, the first
        time, or when the incarnation changed). Raises UnknownNotificationError for an unknown id."""
        return self._write(lambda session, now: absences.note(
            session, now, notification_id, host=host, incarnation=incarnation))

    def clear_absence(self, notification_id: str, host: str) -> None:
        """Forget the absence of ``host``: it is back in its group, its lease's clock restarts."""
        self._write(lambda session, _now: absences.clear(session, notification_id, host))

    def begin_step(
        self, key: StepKey, lease: timedelta, owner: str | None = None, *, note: ProgressNote | None = None
    ) -> StepStart:
        """Claim a step run before acting on it (write-ahead idempotency).

        StepClaim: act, then finish_step / skip_step / fail_step with the claim (first run, a retry after
        a failure, or a takeover of an expired lease). StepDone: the step already succeeded or was
        skipped; reuse its result. StepBusy: another worker holds a live lease. Unknown notification:
        UnknownNotificationError. ``owner``: the gateway replica running it (its death ends the lease).
        ``note``: a progress line of the step, added in the same transaction when the run is claimed.
        """
        def claim(session: Session, now: datetime) -> StepStart:
            start = steps.begin(session, now, key, lease, owner)
            if note is not None and isinstance(start, StepClaim):
                _add_note(session, now, key, note)
            return start

        return self._write(claim)

    def finish_step(self, claim: StepClaim, result: JsonObject, *, note: ProgressNote | None = None) -> StepRecord:
        """Record success and the result later redeliveries get back. Lost claim: StaleStepClaimError.
        ``note``: a progress line of the step, added in the same transaction."""
        return self._end_step(claim, StepStatus.SUCCEEDED, note, result=result)

    def skip_step(self, claim: StepClaim, result: JsonObject, *, note: ProgressNote | None = None) -> StepRecord:
        """Record that the step had nothing to do (counts as done). Lost claim: StaleStepClaimError.
        ``note``: as for finish_step."""
        return self._end_step(claim, StepStatus.SKIPPED, note, result=result)

    def fail_step(self, claim: StepClaim, error: str, *, note: ProgressNote | None = None) -> StepRecord:
        """Record a failed attempt; a later begin_step may retry it. Lost claim: StaleStepClaimError.
        ``note``: as for finish_step."""
        return self._end_step(claim, StepStatus.FAILED, note, error=error)

    def _end_step(self, claim: StepClaim, status: StepStatus, note: ProgressNote | None, *,
                  result: JsonObject | None = None, error: str | None = None) -> StepRecord:
        def end(session: Session, now: datetime) -> StepRecord:
            record = steps.end(session, now, claim, status, result=result, error=error)
            if note is not None:
                _add_note(session, now, claim.key, note)
            return record

        return self._write(end)

    def join_replica(self, owner: str, *, host: str, pid: int) -> None:
        """Record the gateway replica ``owner`` (process ``pid`` on ``host``) as live."""
        self._write(lambda session, now: replicas.join(session, now, owner, host=host, pid=pid))

    def beat(self, owner: str, released: Sequence[HeldClaim] = ()) -> bool:
        """One heartbeat of ``owner``, forgetting the claims it ``released``; False once it was taken over."""
        return self._write(lambda session, now: replicas.beat(session, now, owner, released))

    def leave_replica(self, owner: str) -> None:
        """``owner`` stops: forget it and its claims (it released them itself)."""
        self._write(lambda session, _now: replicas.leave(session, owner))

    def hold_claim(self, owner: str, claim: HeldClaim) -> None:
        """Record that ``owner`` holds ``claim``."""
        self._write(lambda session, now: replicas.hold(session, now, owner, claim))

    def forget_claims(self, owner: str, claims: Sequence[HeldClaim]) -> None:
        """Forget ``owner``'s records of ``claims`` (released, or their messages deleted)."""
        self._write(lambda session, _now: replicas.forget(session, owner, claims))

    def heartbeats(self) -> tuple[Heartbeat, ...]:
        """The heartbeat of every replica, and of owners that hold claims or live step leases without one."""
        return self._read(replicas.heartbeats)

    def take_over(self, owner: str) -> tuple[HeldClaim, ...]:
        """``owner`` is dead: forget it, end its steps' leases now, return its claims to release then forget."""
        return self._write(lambda session, now: replicas.take_over(session, now, owner))

    def record_instance_progress(
        self,
        notification_id: str,
        instance_uuid: str,
        status: InstanceStatus,
        *,
        source_host: str | None = None,
        dest_host: str | None = None,
        message: str | None = None,
        note: ProgressNote | None = None,
        step_id: str = "",
    ) -> InstanceProgress:
        """Create or update one instance's progress; hosts left None keep their stored value. ``note``: a line of
        step ``step_id`` about the instance for the progress log, added in the same transaction."""

        def record(session: Session, now: datetime) -> InstanceProgress:
            recorded = progress.record_instance(session, now, notification_id=notification_id,
                                                instance_uuid=instance_uuid, status=status,
                                                hosts=(source_host, dest_host), message=message)
            if note is not None:
                _add_note(session, now, StepKey(notification_id, step_id, instance_uuid), note)
            return recorded

        return self._write(record)

    def count_instances(self, notification_id: str, status: InstanceStatus) -> int:
        """How many instances of a notification have ``status`` (one count, not the whole recovery)."""
        return self._read(lambda session, _now: progress.count_instances(session, notification_id, status))

    def add_progress_event(
        self, notification_id: str, step_id: str, message: str, fraction_done: float, instance_uuid: str = ""
    ) -> ProgressEvent:
        """Append a line to the operator-facing progress log (`fraction_done` within 0..1)."""
        return self._write(
            lambda session, now: progress.add_event(
                session,
                now,
                notification_id=notification_id,
                step_id=step_id,
                instance_uuid=instance_uuid,
                message=message,
                progress=fraction_done,
            )
        )

    def count_notifications(self) -> dict[NotificationStatus, int]:
        """How many notifications have each status (for metrics)."""
        return self._read(lambda session, _now: executions.count_notifications(session))

    def begin_execution(self, execution_id: str, function: str, event: JsonObject, sync: bool) -> ExecutionRecord:
        """Record a function execution as running, with its input."""
        return self._write(lambda session, now: executions.begin(
            session, now, execution_id=execution_id, function=function, event=event, sync=sync))

    def end_execution(
        self, execution_id: str, status: ExecutionStatus, output: JsonObject, duration_seconds: float
    ) -> ExecutionRecord:
        """Record how an execution ended (an ended one keeps its first outcome); KeyError for an unknown id."""
        return self._write(
            lambda session, now: executions.end(
                session, now, execution_id, status=status, output=output, duration_seconds=duration_seconds)
        )

    def get_execution(self, execution_id: str) -> ExecutionRecord | None:
        """A function execution; None if unknown."""
        return self._read(lambda session, _now: executions.get(session, execution_id))

    def audit(self, entry: AuditEntry) -> AuditRecord:
        """Add ``entry`` to the audit trail (``vmha.journal.audit``), at the journal clock's now."""
        return self._write(lambda session, now: audit.add(session, now, entry))

    def list_audit(self, *, since: datetime | None = None, decision: AuditDecision | None = None,
                   limit: int = 100) -> Sequence[AuditRecord]:
        """The newest ``limit`` audit rows (since ``since``, of ``decision``), newest first."""
        _check_limit(limit)
        if since is not None:
            require_aware(since, "since")
        return self._read(lambda session, _now: audit.listed(session, since=since, decision=decision, limit=limit))


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be within 1..{MAX_PAGE}, got {limit}")


def _add_note(session: Session, now: datetime, key: StepKey, note: ProgressNote) -> None:
    """The progress line of a step run or instance row written in this transaction (so its notification exists)."""
    progress.append_event(session.connection(), now, ProgressEvent(
        notification_id=key.notification_id, step_id=key.step_id, instance_uuid=key.instance_uuid, at=now,
        message=note.message, progress=note.progress))
