"""A network partition between one host and the rest of its segment: the isolated host stops its HA servers
(isolation response stop_ha_vms), and the majority's leader reports it, whose recovery powers it off through
its BMC before evacuating anything.

The isolated host's monitor runs inside a network namespace the test makes (``tests.partition_support``):
its coordination (etcd), Nova, Keystone and Zaqar traffic all crosses one veth, which the test takes down.
Its libvirt is a private libvirtd (test driver) on a unix socket: not network, so the partition leaves it
reachable, as a host's own libvirtd is. Its servers' domains there carry the servers' uuids.

One stand-in: the fake host's nova-compute runs in the root namespace, outside the partition, so it would
go on reporting to Nova. A real partition cuts that control-plane link too; the test stops that nova-compute
(``helpers.kill_host``) at the moment of the cut so that Nova, like the monitors, stops hearing from the host.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import libvirt
import pytest

from tests.cloud import helpers
from tests.cloud.layout import COMPUTE_HOSTS, Layout
from tests.fencing_support import HA_KEY, Fenced, assert_fenced_then_evacuated, fenced
from tests.host_monitor_support import DEADLINE, INTERVAL, MISSES, HostMonitors
from tests.libvirtd_support import private_libvirtd
from tests.monitors_support import queue, wait_until, zaqar
from tests.partition_support import Partition, partition
from vmha.contracts import parse_notification
from vmha.fencing import power_driver

__all__ = ["fenced", "queue", "zaqar"]  # fixtures
HOST = COMPUTE_HOSTS[0]
ISOLATED = "isolated from the coordination engine and every isolation address"


@dataclass
class Split:
    """Monitors of every host, ``HOST``'s inside the partition; its servers and their libvirt domains."""

    monitors: HostMonitors
    partition: Partition
    libvirt: Any  # held open: the daemon keeps its shared test state only while a connection is open
    servers: list[Any]
    bystander: Any


def _start_domains(libvirt_conn: Any, servers: list[Any]) -> None:
    """A running persistent domain per server, named and identified as Nova's libvirt driver would."""
    for server in servers:
        libvirt_conn.defineXML(f"<domain type='test'><name>{server.name}</name><uuid>{server.id}</uuid>"
                               "<memory>65536</memory><os><type>hvm</type></os></domain>").create()


def _active(libvirt_conn: Any, server: Any) -> bool:
    return bool(libvirt_conn.lookupByUUIDString(server.id).isActive())


def _isolated_settings(layout: Layout, cut: Partition, libvirt_uri: str) -> dict[str, str]:
    return {"VMHA_MONITOR_HOST_ISOLATION_RESPONSE": "stop_ha_vms", "VMHA_MONITOR_LIBVIRT_URI": libvirt_uri,
            "VMHA_MONITOR_HOST_ISOLATION_ADDRESSES": f"{cut.root_address}:{layout.ports['keystone']}",
            "VMHA_HA_ENABLED_METADATA_KEY": HA_KEY, "VMHA_HOST_FAILURE_EVACUATE_ALL_INSTANCES": "false",
            "VMHA_MONITOR_LOG_FORMAT": "json"}


@pytest.fixture
def split(cloud_layout: Layout, admin_conn: Any, fenced: Fenced, tmp_path: Path, queue: str) -> Iterator[Split]:
    """Everything up and joined, not yet cut; afterwards monitors stopped, host restored and powered on,
    namespace, libvirtd and servers gone."""
    prefix = f"vmha-split-{uuid.uuid4().hex[:6]}"
    monitors = HostMonitors(cloud_layout, "etcd", tmp_path, queue)
    ports = [cloud_layout.ports[name] for name in ("keystone", "nova", "zaqar", "etcd")]
    with contextlib.ExitStack() as stack:
        stack.callback(power_driver(fenced.bmc(HOST)).power_on)
        stack.callback(lambda: helpers.delete_servers(
            admin_conn, list(admin_conn.compute.servers(all_projects=True, name=f"^{prefix}-"))))
        servers = helpers.boot_servers(admin_conn, HOST, 2, prefix, metadata={HA_KEY: "true"})
        [bystander] = helpers.boot_servers(admin_conn, HOST, 1, f"{prefix}-plain")  # not opted in
        daemon = stack.enter_context(private_libvirtd(tmp_path / "libvirtd"))
        libvirt_conn = libvirt.open(daemon.uri)
        stack.callback(libvirt_conn.close)
        _start_domains(libvirt_conn, [*servers, bystander])
        cut = stack.enter_context(partition(monitors.run, ports, tmp_path))
        stack.callback(monitors.stop, admin_conn)
        for other in COMPUTE_HOSTS[1:]:
            monitors.start(other)
        monitors.start(HOST, cut.wrapper, _isolated_settings(cloud_layout, cut, daemon.uri))
        monitors.wait_joined(list(COMPUTE_HOSTS))
        yield Split(monitors, cut, libvirt_conn, servers, bystander)


def _events(log: str, message: str) -> list[datetime]:
    """When the JSON log lines with ``message`` were written."""
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return [datetime.fromisoformat(line["time"]) for line in lines if line["message"] == message]


def test_the_isolated_host_stops_its_ha_servers_and_the_majority_fences_it_before_evacuating(
        split: Split, fenced: Fenced, zaqar: Any, cloud_layout: Layout) -> None:
    cut_at = datetime.now(UTC)
    split.partition.cut()
    helpers.kill_host(cloud_layout, HOST)  # its control-plane link: see the module docstring
    split.monitors.killed.append(HOST)
    assert wait_until(lambda: not any(_active(split.libvirt, server) for server in split.servers),
                      DEADLINE, 0.25), split.monitors.log(HOST)[-3000:]
    report = split.monitors.one_report(zaqar, HOST)  # also waits for a duplicate, or a second response

    log = split.monitors.log(HOST)
    [isolated_at] = _events(log, ISOLATED)  # the isolation response ran once
    lost_at = _events(log, "coordination engine unreachable")[0]
    assert cut_at <= lost_at < isolated_at and isolated_at - cut_at >= timedelta(seconds=INTERVAL * MISSES)
    assert _active(split.libvirt, split.bystander)  # not opted in: not evacuated, so left running

    assert report["source"] != f"vmha-monitor/host@{HOST}"
    assert report["payload"] == {"event": "STOPPED", "host_status": "UNKNOWN", "cluster_status": "OFFLINE"}
    run, detail = fenced.recover(parse_notification(report), cloud_layout.fencing_yaml)
    assert_fenced_then_evacuated(fenced, HOST, split.servers, run, detail)
