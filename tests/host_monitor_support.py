"""Host monitor processes (`vmha monitor host`) on the local cloud's fake hosts, for the tests and the benchmark.

Each run has its own segment name (so its own tooz group), Redis namespace and Zaqar queue, so it never
sees another run's members or reports. Killing a host stops its nova-compute and its monitor (SIGKILL: no
goodbye to the group); ``restore`` brings both back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.cloud import helpers
from tests.cloud.layout import Layout
from tests.monitors_support import queue_bodies, wait_until

ROOT = Path(__file__).resolve().parents[1]
INTERVAL, MISSES, NOVA_STALE = 1.0, 3, 8.0
"""Heartbeat every second, out after 3 misses; nova-compute reports every 5 s here, so 8 s without is stale."""
DEADLINE = INTERVAL * MISSES + NOVA_STALE + 10
"""A report comes after the membership expires and Nova's last report of the host has gone stale."""


def backend_url(layout: Layout, backend: str, run: str) -> str:
    """The coordination URL of ``backend`` (etcd or redis) for one run."""
    return layout.etcd_url.replace("http://", "etcd3+http://") if backend == "etcd" else \
        f"{layout.redis_url}?namespace=vmha-test-{run}"


class HostMonitors:
    """`vmha monitor host` processes, one per fake host, in one segment of their own."""

    def __init__(self, layout: Layout, backend: str, workdir: Path, queue: str) -> None:
        self.layout, self.workdir, self.queue = layout, workdir, queue
        self.run = uuid.uuid4().hex[:8]
        self.segment = f"test-{self.run}"
        self.url = backend_url(layout, backend, self.run)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.killed: list[str] = []

    def environment(self, host: str) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(ROOT), "OS_CLIENT_CONFIG_FILE": str(self.layout.clouds_yaml),
                "OS_CLOUD": "vmha-admin", "VMHA_COORDINATION_URL": self.url,
                "VMHA_FENCING_FILE": str(self.layout.fencing_yaml), "VMHA_QUEUES_NOTIFICATIONS": self.queue,
                "VMHA_MONITOR_HOSTNAME": host, "VMHA_MONITOR_STATE_DIR": str(self.workdir / host),
                "VMHA_MONITOR_LOG_FORMAT": "text", "VMHA_MONITOR_HOST_SEGMENT": self.segment,
                "VMHA_MONITOR_HOST_INTERVAL_SECONDS": str(INTERVAL), "VMHA_MONITOR_HOST_MISSES": str(MISSES),
                "VMHA_MONITOR_HOST_NOVA_STALE_SECONDS": str(NOVA_STALE)}

    def start(self, host: str, wrapper: Sequence[str] = (), settings: Mapping[str, str] | None = None) -> None:
        """Start the host's monitor, its command line prefixed by ``wrapper``, with extra VMHA_ ``settings``."""
        with (self.workdir / f"{host}.log").open("ab") as log:
            self.processes[host] = subprocess.Popen(
                [*wrapper, str(Path(sys.executable).parent / "vmha"), "monitor", "host"], cwd=ROOT,
                env={**self.environment(host), **(settings or {})}, stdout=log, stderr=subprocess.STDOUT)

    def log(self, host: str) -> str:
        return (self.workdir / f"{host}.log").read_text(errors="replace")

    def wait_joined(self, hosts: list[str], timeout: float = 60) -> None:
        """Until every monitor has joined its group and enrolled (from then on its departure is reported) and
        finished a first pass (its health file, touched after each: it has listed its HA servers)."""
        def all_joined() -> bool:
            return all("joined the group" in self.log(host) and (self.workdir / host / "host.health").exists()
                       for host in hosts)

        assert wait_until(all_joined, timeout, 0.2), {host: self.log(host)[-1500:] for host in hosts}

    def kill(self, host: str) -> float:
        """Kill the host (nova-compute and monitor, SIGKILL); returns the monotonic time it happened."""
        self.killed.append(host)
        helpers.kill_host(self.layout, host)
        self.processes[host].send_signal(signal.SIGKILL)
        self.processes[host].wait(30)
        return time.monotonic()

    def reports(self, zaqar: Any, host: str) -> list[dict[str, Any]]:
        return [body for body in queue_bodies(zaqar, self.queue) if body.get("hostname") == host]

    def one_report(self, zaqar: Any, host: str) -> dict[str, Any]:
        """The host's one report. A message posted again (a leader that stalled, a retried post) carries the
        same id, which the intake drops, so "once" means one notification id."""
        assert wait_until(lambda: bool(self.reports(zaqar, host)), DEADLINE, 0.25), \
            {name: self.log(name)[-2000:] for name in self.processes}
        time.sleep(INTERVAL * MISSES * 2)  # time enough for a duplicate to show
        reports = self.reports(zaqar, host)
        assert len({body["id"] for body in reports}) == 1, reports
        return reports[0]

    def stop(self, conn: Any) -> None:
        """Stop every monitor (SIGTERM), restore every killed host."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        for host in self.killed:
            helpers.restore_host(self.layout, conn, host)
