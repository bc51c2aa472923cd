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

    def __init__(self, journal: Journal, conn: Any, servers: list[Placement], report: Callable[[str], None],
                 notification_id: str | None = None) -> None:
        self._journal, self._conn, self._report = journal, conn, report
        self.notification_id = notification_id
        """The notification to follow in the journal; None until a monitor reported the host."""
        self.before = {server.id: server for server in servers}
        self.now = dict(self.before)
        self._events = 0
        self.phase = "the notification in the journal"
        """What the recovery is at, as the last step event said."""
        self._waits: dict[tuple[str, str], str] = {}
        """The last retry reason shown per (step, instance): a step polling Nova repeats it every second."""
        self.status: NotificationStatus | None = None
        self.recovered_at: float | None = None
        """time.monotonic() when every server was first seen recovered."""

    def poll(self) -> bool:
        """Report new events and server moves; True once the recovery ended and the servers settled."""
        detail = self._journal.get_notification(self.notification_id) if self.notification_id else None
        if detail is not None:
            if self.status is None:
                self._report(f"[detection]  {_received(detail)}")
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
            self.phase = f"{event.step_id}: {event.message}"
            instance = f" {self._name(event.instance_uuid)}" if event.instance_uuid else ""
            self._report(f"[{phase}]{' ' * max(1, 11 - len(phase))}{event.step_id}{instance}: {event.message}")
            if event.step_id == "fence_host" and event.message == "succeeded":
                self._report(f"[fencing]    {_fenced(detail)}")
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


def _received(detail: NotificationDetail) -> str:
    """The notification as vmha's journal received it: who sent it and what it says."""
    record = detail.notification
    payload = ", ".join(f"{key} {value}" for key, value in record.payload.items())
    return f"vmha received {record.type} {record.id} from {record.source}: {payload}"


def _fenced(detail: NotificationDetail) -> str:
    """What fence_host's result says: the BMC asked and the power state it confirmed."""
    results = [step.result for step in detail.steps if step.key.step_id == "fence_host" and step.result]
    result = results[-1] if results else {}
    host, bmc, power = result.get("host"), result.get("bmc"), result.get("power")
    if not (host and bmc and power):
        return f"fence_host recorded {dict(result)}"
    how = "powered off through" if result.get("powered_off") else "was already off, as reported by"
    return f"{host} {how} its BMC ({bmc}): the BMC confirms power {power}"
