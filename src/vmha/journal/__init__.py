"""The journal: durable record of notifications and their recoveries (SQLAlchemy 2 + Alembic).

SQLite by default, MariaDB (mysql+pymysql) or PostgreSQL in production. `open_journal(url)` migrates the
schema to head (safe when several processes start at once) and returns a `Journal`.
"""

from vmha.journal.database import create_journal_engine, upgrade
from vmha.journal.errors import (
    IllegalTransitionError,
    JournalError,
    StaleStepClaimError,
    UnknownNotificationError,
)
from vmha.journal.journal import Journal, open_journal
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
    JsonObject,
    NewNotification,
    NotificationDetail,
    NotificationFilter,
    NotificationRecord,
    NotificationStatus,
    ProgressEvent,
    Recorded,
    RecordOutcome,
    StepBusy,
    StepClaim,
    StepDone,
    StepKey,
    StepRecord,
    StepStart,
    StepStatus,
    utc_now,
)
from vmha.journal.transitions import TERMINAL, TRANSITIONS

__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "Absence",
    "Clock",
    "ExecutionRecord",
    "ExecutionStatus",
    "FenceMethod",
    "FenceRecord",
    "Heartbeat",
    "HeldClaim",
    "IllegalTransitionError",
    "InstanceProgress",
    "InstanceStatus",
    "Journal",
    "JournalError",
    "JsonObject",
    "NewNotification",
    "NotificationDetail",
    "NotificationFilter",
    "NotificationRecord",
    "NotificationStatus",
    "ProgressEvent",
    "RecordOutcome",
    "Recorded",
    "StaleStepClaimError",
    "StepBusy",
    "StepClaim",
    "StepDone",
    "StepKey",
    "StepRecord",
    "StepStart",
    "StepStatus",
    "UnknownNotificationError",
    "create_journal_engine",
    "open_journal",
    "upgrade",
    "utc_now",
]
