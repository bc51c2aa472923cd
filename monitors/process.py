"""Process monitor: keeps the listed services alive and reports the ones it cannot bring back.

Each check re-reads the process list (a broken file keeps the last good list and logs why). A dead process
gets up to ``restart_retries`` attempts (pre hook, command, post hook, then ``restart_interval_seconds``
and a liveness check); the start commands are used if it was never seen alive, the restart commands
otherwise. When every attempt fails, one PROCESS notification (event STOPPED) is sent, and nothing more
until the process was seen alive again. Masakari reports even when its last attempt succeeded; here a
successful attempt never reports.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vmha.contracts import ContractError, ProcessEvent, ProcessMonitorOptions, ProcessPayload
from vmha.monitors.processes import Commands, ProcessSpec, is_alive, load_process_list, run_command
from vmha.monitors.sink import Reporter

_LOG = logging.getLogger(__name__)


@dataclass
class _Seen:
    """What the monitor remembers of one process between checks."""

    alive_once: bool = False
    reported: bool = False


class ProcessMonitor:
    """Watches the processes of ``options.process_list``."""

    def __init__(self, reporter: Reporter, options: ProcessMonitorOptions) -> None:
        self.reporter = reporter
        self.options = options
        self._specs: tuple[ProcessSpec, ...] = ()
        self._seen: dict[str, _Seen] = {}
        self._beat: Callable[[], None] = lambda: None

    @property
    def stale_after(self) -> float:
        """Longest healthy gap between two beats: one restart attempt of the slowest process, and some."""
        wait = max((spec.restart_interval_seconds for spec in self._specs), default=0.0)
        return self.options.check_interval_seconds + 3 * self.options.command_timeout_seconds + wait + 30

    def once(self) -> None:
        """One check of every process."""
        self.check(threading.Event())

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        """Check every ``check_interval_seconds`` until ``stop`` is set; ``beat`` after each check."""
        self._beat = beat
        while not stop.is_set():
            self.check(stop)
            beat()
            stop.wait(self.options.check_interval_seconds)

    def check(self, stop: threading.Event) -> None:
        self._reload()
        for spec in self._specs:
            if stop.is_set():
                return
            self._check_one(spec, stop)

    def _reload(self) -> None:
        try:
            self._specs = load_process_list(Path(self.options.process_list))
        except (ContractError, OSError) as error:
            if not self._specs:
                raise
            _LOG.error("process list unreadable, keeping the last good one", extra={"error": str(error)})

    def _check_one(self, spec: ProcessSpec, stop: threading.Event) -> None:
        seen = self._seen.setdefault(spec.name, _Seen())
        alive = is_alive(spec.match)
        if alive:
            seen.alive_once, seen.reported = True, False
            return
        if alive is None or seen.reported:
            return
        _LOG.warning("process is not running", extra={"process_name": spec.name})
        if self._revive(spec, spec.restart if seen.alive_once else spec.start, stop):
            seen.alive_once = True
            _LOG.info("process restarted", extra={"process_name": spec.name})
            return
        if stop.is_set():
            return
        self.reporter.report(ProcessPayload(ProcessEvent.STOPPED, spec.name))
        seen.reported = True

    def _revive(self, spec: ProcessSpec, commands: Commands, stop: threading.Event) -> bool:
        """Up to ``restart_retries`` attempts; True as soon as the process runs again."""
        if commands.main is None:
            return False
        for attempt in range(1, spec.restart_retries + 1):
            if stop.is_set():
                return False
            succeeded = all(run_command(argv, self.options.command_timeout_seconds) for argv in commands.sequence())
            self._beat()
            stop.wait(spec.restart_interval_seconds)
            if succeeded and is_alive(spec.match):
                return True
            _LOG.warning("restart attempt failed", extra={"process_name": spec.name, "attempt": attempt})
        return False
