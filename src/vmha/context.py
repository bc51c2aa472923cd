"""What a recovery step is given besides its message: the step context (Lambda's ``context``).

The runtime builds one per step run (``RunContext``; so do ``openstack vmha function invoke`` and the
gateway's invoke API). Steps use only what is here; they never read global configuration, open their own
OpenStack connections or sleep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import uuid4

from vmha.contracts import Notification, Settings, parse_notification
from vmha.journal import Journal, NotificationRecord

# Nova compute microversion for every recovery call: below 2.95 an evacuated ACTIVE server comes back
# ACTIVE (2.95+ leaves it stopped); 2.53 identifies services by UUID (PUT /os-services/{id}).
COMPUTE_MICROVERSION = "2.53"


class StepContext(Protocol):
    """Per-run context. ``cloud`` is an openstacksdk Connection pinned to COMPUTE_MICROVERSION and shared
    by the whole process (one keep-alive session, never one login per call)."""

    @property
    def request_id(self) -> str: ...

    @property
    def notification(self) -> Notification: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def journal(self) -> Journal: ...

    @property
    def cloud(self) -> Any: ...

    @property
    def now(self) -> Callable[[], datetime]: ...

    @property
    def deadline(self) -> datetime: ...


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
