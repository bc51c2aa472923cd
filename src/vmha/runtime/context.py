"""The StepContext the runtime hands to each step run (vmha.context.StepContext)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

from vmha.contracts import Notification, Settings, parse_notification
from vmha.journal import Journal, NotificationRecord


@dataclass(frozen=True)
class RunContext:
    """One step run's context: a fresh request id, the shared connection, the injected clock."""

    request_id: str
    notification: Notification
    settings: Settings
    journal: Journal
    cloud: Any
    now: Callable[[], datetime]
    deadline: datetime


def new_request_id() -> str:
    """An OpenStack-style request id for one step run, also sent along in the logs."""
    return f"req-{uuid4()}"


def notification_of(record: NotificationRecord) -> Notification:
    """The notification as received, rebuilt from its journal record (raises ContractError if it cannot be)."""
    return parse_notification(
        {
            "id": record.id,
            "source": record.source,
            "type": record.type,
            "hostname": record.hostname,
            "generated_time": record.generated_time.isoformat(),
            "payload": dict(record.payload),
        }
    )
