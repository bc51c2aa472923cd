"""Detection as the surviving host monitors see it: the killed host leaving the group, the leader's verdict
while it waits, and its report (with the evidence it rests on) delivered to Zaqar.

Read from the monitors' JSON logs (``vmha.monitors.host.monitor`` and the sink): "host left the group",
"host left the group but is not reported" (reason), "host reported" (id, reason) and the sink's
"notification delivered" (id, target). The notification's payload is shown from the journal (``Watch``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from vmha.demo.host_monitors import INTERVAL_SECONDS, MISSES

WINDOW = f"{INTERVAL_SECONDS * MISSES:g} s ({MISSES} x {INTERVAL_SECONDS:g} s)"


class Logs(Protocol):
    """What detection reads of ``HostMonitors``: the running monitors and their new log records."""

    @property
    def running(self) -> list[str]: ...

    def new_records(self, host: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Report:
    """The COMPUTE_HOST notification a monitor posted about the killed host."""

    notification_id: str
    by: str
    """The host whose monitor (the segment's leader) posted it."""
    evidence: str
    """The leader's verdict: why it reported (the BMC, Nova's service record)."""


class Detection:
    """Reports what the surviving monitors said about ``victim`` since the last ``poll``."""

    def __init__(self, monitors: Logs, victim: str, report: Callable[[str], None]) -> None:
        self._monitors, self._victim, self._report = monitors, victim, report
        self._left = False
        self._waits: set[str] = set()
        self._delivered: dict[str, str] = {}
        """Notification id -> target, for every delivery logged (it may be logged before "host reported")."""
        self._said_delivered = False
        self.found: Report | None = None
        for host in monitors.running:  # what the monitors said before the kill (joining) is not detection
            monitors.new_records(host)

    def poll(self) -> Report | None:
        """Report new log records about the victim; its report once a monitor posted one."""
        for host in self._monitors.running:
            for record in self._monitors.new_records(host):
                self._observe(host, record)
        if self.found and self.found.notification_id in self._delivered and not self._said_delivered:
            self._said_delivered = True
            target = self._delivered[self.found.notification_id]
            self._say(f"notification {self.found.notification_id} delivered ({target})")
        return self.found

    def _observe(self, host: str, record: dict[str, Any]) -> None:
        message = record.get("message")
        if message == "notification delivered":
            self._delivered[str(record.get("id"))] = str(record.get("target"))
        elif record.get("host") != self._victim:
            return
        elif message == "host left the group" and not self._left:
            self._left = True
            self._say(f"{self._victim} left the segment's group: no heartbeat for {WINDOW} "
                      f"(noticed by the leader, {host})")
        elif message == "host left the group but is not reported" and record.get("reason") not in self._waits:
            self._waits.add(str(record.get("reason")))
            self._say(f"leader {host} does not report it yet: {record.get('reason')}")
        elif message == "host reported" and self.found is None:
            self.found = Report(str(record.get("id")), host, str(record.get("reason")))
            self._say(f"leader {host} reports {self._victim}, evidence: {self.found.evidence}")

    def _say(self, text: str) -> None:
        self._report(f"[detection]  {text}")
