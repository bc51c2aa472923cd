"""The demo's host monitors: one ``vmha monitor host`` process per host of the segment, as each compute host runs.

Each is the ``vmha`` executable beside this Python, configured by ``VMHA_*`` variables alone (no settings file):
the coordination engine, the fencing file (the leader asks a departed host's BMC), the stack's notification
queue, the segment (its tooz group), the host it stands for, a state directory and a JSON log file under the
demo's scratch directory, a heartbeat every second and 3 misses. Killing a host SIGKILLs its monitor: no
goodbye to the group, as a power loss. ``stop`` ends every monitor still running (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmha.demo.hosts import DemoError

INTERVAL_SECONDS, MISSES = 1.0, 3
"""Heartbeat every second; a host leaves its segment's group after 3 missed heartbeats."""
JOINED = "joined the group"
"""What a monitor logs once it is a member of its segment's group and enrolled: from then on, its departure is
reported whichever monitor leads."""


@dataclass(frozen=True)
class MonitorSetup:
    """What every monitor of the segment shares."""

    coordination_url: str
    fencing_file: str
    queue: str
    segment: str
    cloud: str | None
    nova_stale_seconds: float


class HostMonitors:
    """``vmha monitor host`` processes, one per host, logging to ``workdir/<host>.log``."""

    def __init__(self, setup: MonitorSetup, workdir: Path) -> None:
        self.setup, self.workdir = setup, workdir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._offsets: dict[str, int] = {}

    @property
    def running(self) -> list[str]:
        """The hosts whose monitor is still running."""
        return [host for host, process in self.processes.items() if process.poll() is None]

    def start(self, hosts: list[str]) -> None:
        executable = Path(sys.executable).parent / "vmha"
        if not executable.exists():
            raise DemoError(f"no vmha executable beside {sys.executable} to run the host monitors")
        for host in hosts:
            with self.log_path(host).open("ab") as log:
                self.processes[host] = subprocess.Popen(
                    [str(executable), "monitor", "host"], cwd=self.workdir, env=self._environment(host),
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def _environment(self, host: str) -> dict[str, str]:
        setup = self.setup
        env = {**os.environ, "VMHA_COORDINATION_URL": setup.coordination_url,
               "VMHA_FENCING_FILE": setup.fencing_file, "VMHA_QUEUES_NOTIFICATIONS": setup.queue,
               "VMHA_MONITOR_HOSTNAME": host, "VMHA_MONITOR_STATE_DIR": str(self.workdir / host),
               "VMHA_MONITOR_LOG_FORMAT": "json", "VMHA_MONITOR_HOST_SEGMENT": setup.segment,
               "VMHA_MONITOR_HOST_INTERVAL_SECONDS": str(INTERVAL_SECONDS),
               "VMHA_MONITOR_HOST_MISSES": str(MISSES),
               "VMHA_MONITOR_HOST_NOVA_STALE_SECONDS": str(setup.nova_stale_seconds)}
        if setup.cloud:
            env["VMHA_MONITOR_CLOUD"] = setup.cloud
        return env

    def log_path(self, host: str) -> Path:
        return self.workdir / f"{host}.log"

    def wait_ready(self, timeout: float) -> None:
        """Until every monitor has joined its segment's group; DemoError with its log if one exited."""
        deadline = time.monotonic() + timeout
        waiting = set(self.processes)
        while waiting:
            for host in sorted(waiting):
                if self.processes[host].poll() is not None:
                    raise DemoError(f"the host monitor of {host} exited {self.processes[host].returncode}: "
                                    f"{self.tail(host)}")
                if any(record.get("message") == JOINED for record in self._records(host, 0)):
                    waiting.discard(host)
            if waiting and time.monotonic() > deadline:
                raise DemoError(f"the host monitors of {', '.join(sorted(waiting))} not in the group within "
                                f"{timeout:.0f} s: {self.tail(min(waiting))}")
            time.sleep(0.2)

    def kill(self, host: str) -> None:
        """SIGKILL the host's monitor, as a power loss would."""
        process = self.processes[host]
        process.send_signal(signal.SIGKILL)
        process.wait(30)

    def stop(self) -> None:
        """End every monitor still running: SIGTERM (each leaves the group), SIGKILL after 30 s."""
        running = [self.processes[host] for host in self.running]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)

    def new_records(self, host: str) -> list[dict[str, Any]]:
        """The log records the host's monitor wrote since the last call."""
        offset = self._offsets.get(host, 0)
        lines = self._complete_lines(host, offset)
        self._offsets[host] = offset + sum(len(line) for line in lines)
        return list(_parsed(lines))

    def tail(self, host: str, lines: int = 5) -> str:
        text = self.log_path(host).read_text(errors="replace") if self.log_path(host).exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"

    def last_words(self, host: str, count: int = 6) -> str:
        """What the host's monitor itself logged last (libraries' lines left out), on one line."""
        records = [record for record in self._records(host, 0) if str(record.get("logger", "")).startswith("vmha.")]
        return "; ".join(_said(record) for record in records[-count:]) or "(nothing)"

    def _records(self, host: str, offset: int) -> Iterator[dict[str, Any]]:
        return _parsed(self._complete_lines(host, offset))

    def _complete_lines(self, host: str, offset: int) -> list[bytes]:
        """The whole lines after ``offset`` (a line still being written waits for the next read)."""
        with self.log_path(host).open("rb") as log:
            log.seek(offset)
            lines = log.read().splitlines(keepends=True)
        return [line for line in lines if line.endswith(b"\n")]


def _parsed(lines: list[bytes]) -> Iterator[dict[str, Any]]:
    """The JSON log records among ``lines`` (a traceback or vmha's own error line is skipped)."""
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            yield record


def _said(record: dict[str, Any]) -> str:
    """A log record as "HH:MM:SS message (host ..., reason ...)"."""
    details = ", ".join(f"{key} {record[key]}" for key in ("host", "reason", "error") if key in record)
    return f"{str(record.get('time', ''))[11:19]} {record.get('message')}{f' ({details})' if details else ''}"
