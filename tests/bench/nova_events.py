"""Where Nova spent a recovery's time: the servers' instance actions (``evacuate``, ``start``...) and their
events (``conductor_rebuild_server``, ``compute_rebuild_instance``...), as spans after t0.

Each span runs from the earliest start to the latest finish of that event over every server, named
``nova <action>`` for the API call and ``nova <event>`` for its events; its runs count the servers.
Nova records these times in UTC without a zone and, for actions, to the second.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tests.bench.timeline import Span


def spans(conn: Any, server_ids: Iterable[str], action: str, t0: datetime) -> list[Span]:
    """The spans of every ``action`` started after ``t0`` on the servers, and of its events."""
    windows: dict[str, list[tuple[datetime, datetime]]] = {}
    for server_id in server_ids:
        for found in conn.compute.server_actions(server_id):
            began = _utc(found.start_time)
            if found.action != action or began is None or began < t0.replace(microsecond=0):
                continue
            detail = conn.compute.get_server_action(found.request_id, server_id)
            ends = []
            for event in detail.events or ():
                start, finish = _utc(event.start_time), _utc(event.finish_time)
                if start is not None and finish is not None:
                    windows.setdefault(f"nova {event.event}", []).append((start, finish))
                    ends.append(finish)
            windows.setdefault(f"nova {action}", []).append((began, max(ends, default=began)))
    found_spans = [Span(name, _after(t0, min(start for start, _ in pairs)), _after(t0, max(end for _, end in pairs)),
                        len(pairs), len(pairs)) for name, pairs in windows.items()]
    return sorted(found_spans, key=lambda span: (span.start, span.end))


def _utc(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _after(t0: datetime, moment: datetime) -> float:
    return (moment - t0).total_seconds()
