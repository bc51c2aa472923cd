"""What the failback tests and benchmark share: a host recovery seeded in a journal as the recovery records it
(the servers it evacuated and where to), for a failback to undo without failing a host first."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta

from vmha.contracts import FailureType
from vmha.journal import InstanceStatus, Journal, NewNotification, NotificationStatus, utc_now

STOPPED = {"event": "STOPPED", "host_status": "NORMAL", "cluster_status": "OFFLINE"}


def seed_recovery(journal: Journal, host: str, server_ids: Iterable[str], moved_to: str, source: str) -> str:
    """A finished host recovery of ``host`` that evacuated ``server_ids`` to ``moved_to``; its id."""
    recovery = str(uuid.uuid4())
    journal.record_notification(NewNotification(recovery, FailureType.COMPUTE_HOST.value, host, utc_now(), STOPPED,
                                                source), dedup_window=timedelta(0), terminal_within=timedelta(hours=1))
    for server_id in server_ids:
        journal.record_instance_progress(recovery, server_id, InstanceStatus.SUCCEEDED, source_host=host,
                                         dest_host=moved_to, message=f"on {moved_to}")
    journal.set_status(recovery, NotificationStatus.RUNNING)
    journal.set_status(recovery, NotificationStatus.FINISHED, f"{source}: recovered")
    return recovery
