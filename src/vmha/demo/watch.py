"""Following a recovery live: the journal's progress events and the servers' moves, as progress lines."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from vmha.demo.servers import Placement, look, recovered
from vmha.journal import TERMINAL, Journal, NotificationDetail, NotificationStatus

PHASES = {
    "intake": "detection",
    "guard_mass_failure": "fencing",
    "fence_host": "fencing",
    "disable_compute_service": "isolation",
    "take_reserved_host": "evacuation",
    "plan_evacuation": "evacuation",
    "evacuate_instance": "evacuation",
    "confirm_instance_evacuated": "evacuation",
    "finish_host_recovery": "finish",
}
"""The phase each step of the host flow belongs to, as the demo labels its lines."""

_ATTEMPT = re.compile(r"attempt \d+ (?:started$|failed: (?P<reason>.*))", re.DOTALL)


class Watch:
    """Reports what changed since the last ``poll``; knows when every server was recovered."""

    def __init__(self, journal: Journal, conn: Any, notification_id: str, servers: list[Placement],
                 report: Callable[[str], None]) -> None:
        self._journal, self._conn, self._id, self._report = journal, conn, notification_id, report
        self.before = {server.id: server for server in servers}
        self.now = dict(self.before)
        self._events = 0
        self._waits: dict[tuple[str, str], str] = {}
        """The last retry reason shown per (step, instance): a step polling Nova repeats it every second."""
        self.status: NotificationStatus | None = None
        self.recovered_at: float | None = None
        """time.monotonic() when every server was first seen recovered."""

    def poll(self) -> bool:
        """Report new events and server moves; True once the recovery ended and the servers settled."""
        detail = self._journal.get_notification(self._id)
        if detail is not None:
            self._report_events(detail)
            if detail.notification.status != self.status:
                self.status = detail.notification.status
                reason = detail.notification.status_reason
                self._report(f"[recovery]   notification {self.status.value}{': ' + reason if reason else ''}")
        self._report_moves(look(self._conn, list(self.now.values())))
        every = all(recovered(self.before[key], now) for key, now in self.now.items())
        if every and self.recovered_at is None:
            self.recovered_at = time.monotonic()
        settled = every or all(now.task is None for now in self.now.values())
        return self.status in TERMINAL and settled

    def _report_events(self, detail: NotificationDetail) -> None:
        for event in detail.events[self._events:]:
            attempt = _ATTEMPT.match(event.message)
            if attempt is not None:
                key, reason = (event.step_id, event.instance_uuid), attempt.group("reason")
                if reason is None or self._waits.get(key) == reason:
                    continue
                self._waits[key] = reason
            phase = PHASES.get(event.step_id, event.step_id)
            instance = f" {self._name(event.instance_uuid)}" if event.instance_uuid else ""
            self._report(f"[{phase}]{' ' * max(1, 11 - len(phase))}{event.step_id}{instance}: {event.message}")
        self._events = len(detail.events)

    def _report_moves(self, seen: list[Placement]) -> None:
        for now in seen:
            last = self.now[now.id]
            if (now.host, now.status, now.task) != (last.host, last.status, last.task):
                task = f" ({now.task})" if now.task else ""
                self._report(f"[nova]       {now.name}: {now.status}{task} on {now.host}")
            self.now[now.id] = now

    def _name(self, instance_uuid: str) -> str:
        server = self.before.get(instance_uuid)
        return server.name if server else instance_uuid[:8]
