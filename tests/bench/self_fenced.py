"""One host failure that only the host's self-fence lease proves (README, "Proof without a BMC"), end to end.

As ``tests.bench.detected`` (host monitors on etcd, a real gateway, the same clock), on a segment saying
``vmha:fencing required_or_selffence`` with a short lease (``tests.self_fence_support.LEASE_SECONDS``) and a
gateway given the monitors' coordination_url. The failed host's BMC is an emulator of its own, silenced before
the cut; its monitor runs in a network namespace with a watchdog stand-in, its HA servers' domains in a private
libvirtd (``tests.self_fence_support``). The clock runs from the cut (the namespace's link down, the host's
nova-compute killed) until every server is ACTIVE on another host. The fence phase is the lease wait by design:
``fence_host`` finds the host out of its group, then waits the lease + ``vmha.self_fence.MARGIN_SECONDS`` before
it records the ``self_fence`` fence. A run whose host's domains were not all stopped before the first evacuation
does not count as recovered, nor one fenced another way.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from tests.bench import detected, host_failure
from tests.bench.fencing import Kind
from tests.bench.host_failure import Run
from tests.cloud import catalog, helpers
from tests.cloud.layout import Layout
from tests.host_monitor_support import DEADLINE, HostMonitors, backend_url
from tests.integration.recovery_support import Recoveries
from tests.self_fence_support import Isolated, isolated, segment_metadata, silent_bmc
from vmha.contracts import RecoveryMethod
from vmha.demo.servers import Placement


def run(layout: Layout, work: Path, method: RecoveryMethod, count: int, *, timeout: float = host_failure.TIMEOUT,
        parallel: int | None = None, kind: Kind | None = None) -> Run:
    """Fail a host holding ``count`` HA servers that only its lease proves dead; see the module docstring."""
    conn = catalog.connect(layout, "vmha-admin", helpers.COMPUTE_MICROVERSION)
    try:
        chosen = host_failure.plan(conn, method, host_failure.candidates(layout, kind))
        gateway = {"coordination_url": backend_url(layout, "etcd", "")}
        with silent_bmc(layout, chosen.failed, work / "bmc") as bmc, host_failure.staged(
                conn, layout, work, chosen, parallel, metadata=segment_metadata(),
                settings={**gateway, "fencing_file": str(bmc[0])}) as (recoveries, segment):
            (work / "monitors").mkdir()
            monitors = HostMonitors(layout, "etcd", work / "monitors", recoveries.queues["notifications"])
            monitors.segment = segment  # the gateway looks for the host's lease in its segment's group
            placed = host_failure.boot(conn, chosen.failed, count)
            others = [host for host in chosen.members if host != chosen.failed]
            with host_failure.restored(conn, layout, chosen.failed, placed), isolated(
                    conn, monitors, chosen.failed, others, servers={server.name: server.id for server in placed},
                    bmc=bmc) as host:
                return _fail(conn, host, recoveries, method, placed, timeout=timeout, kind=kind)
    finally:
        conn.close()
    raise AssertionError("unreachable")  # a context manager may swallow exceptions, as far as mypy knows


def _fail(conn: Any, host: Isolated, recoveries: Recoveries, method: RecoveryMethod, placed: list[Placement], *,
          timeout: float, kind: Kind | None) -> Run:
    """Cut the host off, time its recovery, and check its domains stopped before the first evacuation."""
    t0, started = host.cut()
    nid = detected.reported(recoveries, host.host, t0, started + DEADLINE)
    measured = host_failure.outcome(conn, recoveries, method, placed, killed=(t0, started), nid=nid, timeout=timeout,
                                    kind=kind, labels=(detected.SUFFIX,))
    why = host.unstopped(recoveries.detail(nid))
    if why is None:
        return measured
    return dataclasses.replace(measured, rto_seconds=None, verdict=f"{measured.verdict}; {why}")
