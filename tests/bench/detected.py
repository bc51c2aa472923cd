"""One host failure measured end to end (issue 8 way (b)): vmha's own host monitor detects it.

As ``tests.bench.host_failure`` (same segment, servers, gateway and clock), but nothing posts the
notification: a ``vmha monitor host`` runs on every host of the segment (``tests.host_monitor_support``:
1 s heartbeats, out after 3 misses, Nova's view stale after 8 s, etcd), posting to the gateway's queue;
the host's nova-compute and monitor are SIGKILLed together and the clock runs from that instant until
every server is ACTIVE on another host. The intake span then ends at detection + intake, and the detection
phase (``tests.bench.timeline.Phases``) at the notification recorded in the journal.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.bench import host_failure
from tests.bench.fencing import Kind
from tests.bench.host_failure import BenchError, Run
from tests.cloud import catalog, helpers
from tests.cloud.layout import Layout
from tests.host_monitor_support import DEADLINE, HostMonitors
from tests.integration.recovery_support import Recoveries
from vmha.contracts import RecoveryMethod
from vmha.demo.servers import Placement
from vmha.journal import NotificationFilter, utc_now

SUFFIX = "detected"
"""Appended to the scenario name: ``host auto 10 detected``."""


def run(layout: Layout, work: Path, method: RecoveryMethod, count: int, *, timeout: float = host_failure.TIMEOUT,
        parallel: int | None = None, kind: Kind | None = None) -> Run:
    """Fail a host holding ``count`` HA servers, detected by the host monitors; see the module docstring."""
    conn = catalog.connect(layout, "vmha-admin", helpers.COMPUTE_MICROVERSION)
    try:
        chosen = host_failure.plan(conn, method, host_failure.candidates(layout, kind))
        with host_failure.stage(conn, layout, work, chosen, parallel) as recoveries:
            (work / "monitors").mkdir()
            monitors = HostMonitors(layout, "etcd", work / "monitors", recoveries.queues["notifications"])
            try:
                for host in chosen.members:
                    monitors.start(host)
                monitors.wait_joined(list(chosen.members))
                placed = host_failure.boot(conn, chosen.failed, count)
                with host_failure.restored(conn, layout, chosen.failed, placed):
                    return _fail(conn, recoveries, monitors, method, placed, timeout=timeout, kind=kind)
            finally:
                monitors.stop(conn)
    finally:
        conn.close()
    raise AssertionError("unreachable")  # a context manager may swallow exceptions, as far as mypy knows


def _fail(conn: Any, recoveries: Recoveries, monitors: HostMonitors, method: RecoveryMethod,
          placed: list[Placement], *, timeout: float, kind: Kind | None) -> Run:
    host = placed[0].host
    t0 = utc_now()
    started = monitors.kill(host)
    monitors.killed.remove(host)  # host_failure.restored brings it back
    nid = reported(recoveries, host, t0, started + DEADLINE)
    return host_failure.outcome(conn, recoveries, method, placed, killed=(t0, started), nid=nid, timeout=timeout,
                                kind=kind, labels=(SUFFIX,))


def reported(recoveries: Recoveries, host: str, since: datetime, deadline: float) -> str:
    """The id of the host's notification once the gateway journaled it; BenchError past the deadline."""
    wanted = NotificationFilter(hostname=host, generated_since=since.replace(microsecond=0))
    while time.monotonic() < deadline:
        found = recoveries.journal.list_notifications(wanted, limit=1)
        if found:
            return found[0].id
        time.sleep(0.1)
    raise BenchError(f"the host monitors did not report {host} within {DEADLINE:.0f} s")
