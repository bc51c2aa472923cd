"""Proof without a BMC: a host cut off from its segment whose BMC is silent (its emulator stopped) fences
itself when its self-fence lease runs out, and the survivors' recovery takes the lease as proof, evacuating
only after it (segment vmha:fencing required_or_selffence, etcd coordination).

As in ``test_monitors_host_partition``, the host's monitor runs in a network namespace whose veth the test
takes down, and its servers' domains live in a private libvirtd (test driver). Its isolation response is
``nothing``: only the lease stops them. The host's BMC is an emulator of its own (the shared cloud's BMC of
the host stays up for the other tests), started, named in this test's fencing file, then stopped.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import libvirt
import pytest
import requests
import yaml

from tests.cloud import helpers
from tests.cloud.layout import BMC_USER, COMPUTE_HOSTS, Layout
from tests.fencing_support import HA_KEY, Fenced, fenced, step_times
from tests.host_monitor_support import HostMonitors
from tests.libvirtd_support import private_libvirtd
from tests.monitors_support import queue, wait_until, zaqar
from tests.partition_support import partition
from vmha.contracts import parse_notification
from vmha.journal import NotificationStatus
from vmha.outcomes import Done
from vmha.self_fence import MARGIN_SECONDS

__all__ = ["fenced", "queue", "zaqar"]  # fixtures
HOST = COMPUTE_HOSTS[0]
LEASE = 8
EMULATOR = Path(__file__).resolve().parents[1] / "cloud" / "bmc_emulator.py"


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def own_bmc(layout: Layout, workdir: Path) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    """A BMC emulator of HOST's own and a fencing file naming it for HOST (the others keep the cloud's)."""
    redfish, password = _free_port(socket.SOCK_STREAM), uuid.uuid4().hex
    workdir.mkdir()
    (workdir / "password").write_text(password + "\n")
    with (workdir / "bmc.log").open("wb") as log:
        process = subprocess.Popen([layout.bin("python"), str(EMULATOR), HOST, str(redfish),
                                    str(_free_port(socket.SOCK_DGRAM)), BMC_USER, password, str(workdir)],
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{redfish}"
        assert wait_until(lambda: _answers(url), 60, 0.2), (workdir / "bmc.log").read_text()
        document = yaml.safe_load(layout.fencing_yaml.read_text())
        document["hosts"][HOST] = {"protocol": "redfish", "address": url, "username": BMC_USER,
                                   "password_file": str(workdir / "password")}
        fencing = workdir / "fencing.yaml"
        fencing.write_text(yaml.safe_dump(document))
        yield fencing, process
    finally:
        process.kill()
        process.wait(30)


def _answers(url: str) -> bool:
    with contextlib.suppress(requests.RequestException):
        return requests.get(f"{url}/redfish/v1", timeout=2).status_code < 500
    return False


class Stops:
    """When libvirt reported each domain stopped (lifecycle events, through libvirt's default event loop)."""

    def __init__(self) -> None:
        self.at: dict[str, datetime] = {}
        self.done = threading.Event()

    def event(self, _conn: Any, domain: Any, kind: int, _detail: int, _opaque: Any) -> None:
        if kind == libvirt.VIR_DOMAIN_EVENT_STOPPED:
            self.at.setdefault(domain.UUIDString(), datetime.now(UTC))

    def loop(self) -> None:
        while not self.done.is_set():
            libvirt.virEventRunDefaultImpl()


@dataclass
class Cut:
    monitors: HostMonitors
    cut: Any
    libvirt: Any
    servers: list[Any]
    stops: Stops
    bmc: subprocess.Popen[bytes]
    fencing: Path


@pytest.fixture
def cut_off(cloud_layout: Layout, admin_conn: Any, fenced: Fenced, tmp_path: Path, queue: str) -> Iterator[Cut]:
    [aggregate] = [found for found in admin_conn.compute.aggregates() if found.name == fenced.segment]
    admin_conn.compute.set_aggregate_metadata(aggregate, {"vmha:fencing": "required_or_selffence",
                                                               "vmha:self_fence_seconds": str(LEASE)})
    prefix = f"vmha-selffence-{uuid.uuid4().hex[:6]}"
    monitors = HostMonitors(cloud_layout, "etcd", tmp_path, queue)
    monitors.segment = fenced.segment  # the monitors read the segment's fencing and lease from its aggregate
    ports = [cloud_layout.ports[name] for name in ("keystone", "nova", "zaqar", "etcd")]
    stops = Stops()
    libvirt.virEventRegisterDefaultImpl()
    with contextlib.ExitStack() as stack:
        fencing, bmc = stack.enter_context(own_bmc(cloud_layout, tmp_path / "bmc"))
        stack.callback(lambda: helpers.delete_servers(
            admin_conn, list(admin_conn.compute.servers(all_projects=True, name=f"^{prefix}-"))))
        servers = helpers.boot_servers(admin_conn, HOST, 2, prefix, metadata={HA_KEY: "true"})
        daemon = stack.enter_context(private_libvirtd(tmp_path / "libvirtd"))
        conn = libvirt.open(daemon.uri)
        stack.callback(conn.close)
        conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, stops.event, None)
        threading.Thread(target=stops.loop, daemon=True, name="libvirt-events").start()
        stack.callback(stops.done.set)
        for server in servers:
            conn.defineXML(f"<domain type='test'><name>{server.name}</name><uuid>{server.id}</uuid>"
                           "<memory>65536</memory><os><type>hvm</type></os></domain>").create()
        cut = stack.enter_context(partition(monitors.run, ports, tmp_path))
        stack.callback(monitors.stop, admin_conn)
        own = {"VMHA_FENCING_FILE": str(fencing)}
        for other in COMPUTE_HOSTS[1:]:
            monitors.start(other, settings=own)
        watchdog = tmp_path / "watchdog"  # a plain file stands in for /dev/watchdog: nothing may reboot this machine
        watchdog.touch()
        monitors.start(HOST, cut.wrapper, {**own, "VMHA_MONITOR_LIBVIRT_URI": daemon.uri,
                                           "VMHA_HA_ENABLED_METADATA_KEY": HA_KEY,
                                           "VMHA_HOST_FAILURE_EVACUATE_ALL_INSTANCES": "false",
                                           "VMHA_MONITOR_HOST_WATCHDOG_DEVICE": str(watchdog)})
        monitors.wait_joined(list(COMPUTE_HOSTS))
        yield Cut(monitors, cut, conn, servers, stops, bmc, fencing)


def test_a_host_with_a_silent_bmc_fences_itself_and_is_recovered_after_its_lease(
        cut_off: Cut, fenced: Fenced, zaqar: Any, cloud_layout: Layout) -> None:
    cut_off.bmc.kill()  # the BMC goes silent (its emulator stopped), then the host is cut off
    cut_off.bmc.wait(30)
    cut_at = time.monotonic()
    cut_off.cut.cut()
    helpers.kill_host(cloud_layout, HOST)  # its control-plane link (test_monitors_host_partition's docstring)
    cut_off.monitors.killed.append(HOST)
    report = cut_off.monitors.one_report(zaqar, HOST)
    assert report["payload"]["host_status"] == "UNKNOWN"  # the BMC said nothing: Nova alone lost the host

    url = cloud_layout.etcd_url.replace("http://", "etcd3+http://")
    run, detail = fenced.recover(parse_notification(report), cut_off.fencing, coordination_url=url)
    assert run.status is NotificationStatus.FINISHED, run.outcomes
    fence = run.of("fence_host")
    assert isinstance(fence, Done) and fence.result["method"] == "self_fence", fence
    assert fence.result["lease_seconds"] == LEASE and "cannot reach the BMC" in fence.result["bmc_error"]
    assert time.monotonic() - cut_at >= LEASE + MARGIN_SECONDS

    assert set(cut_off.stops.at) == {server.id for server in cut_off.servers}, cut_off.monitors.log(HOST)[-3000:]
    assert "self-fence lease lost" in cut_off.monitors.log(HOST)
    first_evacuation = min(started for started, _ in step_times(detail, "evacuate_instance"))
    assert max(cut_off.stops.at.values()) < first_evacuation  # stopped on the host before any copy started
    for server in cut_off.servers:
        assert fenced.conn.compute.get_server(server.id).compute_host != HOST
