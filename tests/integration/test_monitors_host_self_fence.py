"""Proof without a BMC: a host cut off from its segment whose BMC is silent (its emulator stopped) fences
itself when its self-fence lease runs out, and the survivors' recovery takes the lease as proof, evacuating
only after it (segment vmha:fencing required_or_selffence, etcd coordination).

As in ``test_monitors_host_partition``, the host's monitor runs in a network namespace whose veth the test
takes down, and its servers' domains live in a private libvirtd (test driver). Its isolation response is
``nothing``: only the lease stops them. The host's BMC is an emulator of its own (the shared cloud's BMC of
the host stays up for the other tests), started, named in this test's fencing file, then stopped
(``tests.self_fence_support``, shared with the benchmark of this path).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cloud import helpers
from tests.cloud.layout import COMPUTE_HOSTS, Layout
from tests.fencing_support import HA_KEY, Fenced, fenced
from tests.host_monitor_support import HostMonitors
from tests.monitors_support import queue, zaqar
from tests.self_fence_support import LEASE_SECONDS, Isolated, isolated, segment_metadata, silent_bmc
from vmha.contracts import parse_notification
from vmha.journal import NotificationStatus
from vmha.outcomes import Done
from vmha.self_fence import MARGIN_SECONDS

__all__ = ["fenced", "queue", "zaqar"]  # fixtures
HOST = COMPUTE_HOSTS[0]


@dataclass
class Cut:
    host: Isolated
    servers: list[Any]
    fencing: Path


@pytest.fixture
def cut_off(cloud_layout: Layout, admin_conn: Any, fenced: Fenced, tmp_path: Path, queue: str) -> Iterator[Cut]:
    [aggregate] = [found for found in admin_conn.compute.aggregates() if found.name == fenced.segment]
    admin_conn.compute.set_aggregate_metadata(aggregate, segment_metadata())
    prefix = f"vmha-selffence-{uuid.uuid4().hex[:6]}"
    monitors = HostMonitors(cloud_layout, "etcd", tmp_path, queue)
    monitors.segment = fenced.segment  # the monitors read the segment's fencing and lease from its aggregate
    with contextlib.ExitStack() as stack:
        bmc = stack.enter_context(silent_bmc(cloud_layout, HOST, tmp_path / "bmc"))
        stack.callback(lambda: helpers.delete_servers(
            admin_conn, list(admin_conn.compute.servers(all_projects=True, name=f"^{prefix}-"))))
        servers = helpers.boot_servers(admin_conn, HOST, 2, prefix, metadata={HA_KEY: "true"})
        host = stack.enter_context(isolated(
            admin_conn, monitors, HOST, COMPUTE_HOSTS[1:], servers={server.name: server.id for server in servers},
            bmc=bmc, settings={"VMHA_HA_ENABLED_METADATA_KEY": HA_KEY}))
        yield Cut(host, servers, bmc[0])


def test_a_host_with_a_silent_bmc_fences_itself_and_is_recovered_after_its_lease(
        cut_off: Cut, fenced: Fenced, zaqar: Any, cloud_layout: Layout) -> None:
    _, cut_at = cut_off.host.cut()
    monitors = cut_off.host.monitors
    report = monitors.one_report(zaqar, HOST)
    assert report["payload"]["host_status"] == "UNKNOWN"  # the BMC said nothing: Nova alone lost the host

    url = cloud_layout.etcd_url.replace("http://", "etcd3+http://")
    run, detail = fenced.recover(parse_notification(report), cut_off.fencing, coordination_url=url)
    assert run.status is NotificationStatus.FINISHED, run.outcomes
    fence = run.of("fence_host")
    assert isinstance(fence, Done) and fence.result["method"] == "self_fence", fence
    assert fence.result["lease_seconds"] == LEASE_SECONDS and "cannot reach the BMC" in fence.result["bmc_error"]
    assert time.monotonic() - cut_at >= LEASE_SECONDS + MARGIN_SECONDS

    assert cut_off.host.unstopped(detail) is None, monitors.log(HOST)[-3000:]  # stopped before any copy started
    assert "self-fence lease lost" in monitors.log(HOST)
    for server in cut_off.servers:
        assert fenced.conn.compute.get_server(server.id).compute_host != HOST
