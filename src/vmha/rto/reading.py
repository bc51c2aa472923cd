"""The host recoveries of the journal as timelines, newest first, read page by page."""

from __future__ import annotations

from datetime import datetime

from vmha.contracts import FailureType
from vmha.journal import Journal, NotificationFilter, NotificationStatus
from vmha.rto.timeline import Timeline, timeline

MOST_RECOVERIES = 1000
"""At most this many recoveries are read for one report, newest first."""
_PAGE = 100
_ENDED = frozenset({NotificationStatus.FINISHED, NotificationStatus.FAILED})


def host_recoveries(journal: Journal, *, segment: str | None = None, since: datetime | None = None,
                    most: int = MOST_RECOVERIES) -> list[Timeline]:
    """The ended host recoveries (of ``segment``, of failures since ``since``), newest first."""
    wanted = NotificationFilter(statuses=_ENDED, type=FailureType.COMPUTE_HOST.value, segment=segment,
                                generated_since=since)
    found: list[Timeline] = []
    marker = None
    while len(found) < most:
        page = journal.list_notifications(wanted, limit=min(_PAGE, most - len(found)), marker=marker)
        for record in page:
            detail = journal.get_notification(record.id, with_events=False)
            if detail is not None:
                found.append(timeline(detail))
        if len(page) < _PAGE:
            break
        marker = page[-1].id
    return found
