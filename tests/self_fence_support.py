"""A host that only its self-fence lease can prove dead (README, "Proof without a BMC"), on the local cloud: for
the integration test of the BMC-less recovery and the benchmark of that path (``tests.bench.self_fenced``).

Its BMC is an emulator of its own (``silent_bmc``: the shared cloud's emulator of the host stays up for the
others), named in a fencing file of the run's own and stopped before the cut. Its monitor runs in a network
namespace (``tests.partition_support``) with a plain file standing in for its watchdog device (nothing may
reboot this machine), and its HA servers' domains live in a private libvirtd (``tests.libvirtd_support``,
test driver) whose lifecycle events say when each was stopped. ``Isolated.cut`` silences the BMC, cuts the
namespace off and kills the host's nova-compute (its control-plane link); only the lease then stops the
domains, and ``Isolated.unstopped`` says whether that happened before the first evacuation.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import libvirt
import yaml

from tests.bmc_support import OwnBmc, own_bmc
from tests.cloud import helpers
from tests.cloud.layout import BMC_USER, Layout
from tests.fencing_support import step_times
from tests.host_monitor_support import HostMonitors
from tests.libvirtd_support import private_libvirtd
from tests.partition_support import Partition, partition
from vmha.journal import NotificationDetail
from vmha.self_fence import LEASE_KEY, SELF_FENCING

LEASE_SECONDS = 8
"""A short ``vmha:self_fence_seconds``: the survivors wait it plus ``vmha.self_fence.MARGIN_SECONDS``."""
Bmc = tuple[Path, OwnBmc]
"""A fencing file naming the host's own BMC emulator, and that emulator (``silent_bmc``)."""


def segment_metadata(lease: int = LEASE_SECONDS) -> dict[str, str]:
    """The ``vmha:`` metadata of a segment that accepts a host's self-fence lease of ``lease`` seconds."""
    return {"vmha:fencing": SELF_FENCING, LEASE_KEY: str(lease)}


@contextlib.contextmanager
def silent_bmc(layout: Layout, host: str, workdir: Path) -> Iterator[Bmc]:
    """A BMC emulator of ``host``'s own and a fencing file naming it for ``host`` (the others keep the cloud's);
    the emulator is killed afterwards if the run has not silenced it already."""
    with own_bmc(layout, host, workdir) as bmc:
        document = yaml.safe_load(layout.fencing_yaml.read_text())
        document["hosts"][host] = {"protocol": "redfish", "address": bmc.redfish_url, "username": BMC_USER,
                                   "password_file": str(workdir / "password")}
        fencing = workdir / "fencing.yaml"
        fencing.write_text(yaml.safe_dump(document))
        yield fencing, bmc


@functools.cache
def _event_loop() -> None:
    """libvirt's default event loop, registered and run once per process (before the connection opens); libvirt's
    errors only raised, not also printed (each look at the starting daemon's socket printed one)."""
    libvirt.registerErrorHandler(_quiet, None)
    libvirt.virEventRegisterDefaultImpl()
    threading.Thread(target=_run_events, daemon=True, name="libvirt-events").start()


def _quiet(_opaque: Any, _error: Any) -> None:
    """libvirt's error callback: the error is raised as libvirtError all the same."""


def _run_events() -> None:
    while True:
        libvirt.virEventRunDefaultImpl()


@dataclass
class Stops:
    """When libvirt reported each domain stopped (lifecycle events), by domain uuid."""

    at: dict[str, datetime] = field(default_factory=dict)

    def event(self, _conn: Any, domain: Any, kind: int, _detail: int, _opaque: Any) -> None:
        if kind == libvirt.VIR_DOMAIN_EVENT_STOPPED:
            self.at.setdefault(domain.UUIDString(), datetime.now(UTC))


@dataclass
class Isolated:
    """The host, its monitors (every host of the segment), its partition, the domains' stops and its BMC."""

    host: str
    monitors: HostMonitors
    partition: Partition
    stops: Stops
    bmc: OwnBmc
    domains: frozenset[str]
    """The uuids of the HA servers' domains on the host."""

    def cut(self) -> tuple[datetime, float]:
        """The BMC goes silent (its emulator stopped), then the host is cut off: its namespace's link down and its
        nova-compute killed; returns the UTC and monotonic times of the cut."""
        self.bmc.stop()
        cut_at = datetime.now(UTC), time.monotonic()
        self.partition.cut()
        helpers.kill_host(self.monitors.layout, self.host)  # its control-plane link
        self.monitors.killed.append(self.host)
        return cut_at

    def unstopped(self, detail: NotificationDetail) -> str | None:
        """Why the host's domains were not all stopped before the recovery's first evacuation (None: they were)."""
        left = sorted(self.domains - set(self.stops.at))
        if left:
            return f"{len(left)} of the host's {len(self.domains)} HA domains never stopped: {', '.join(left)}"
        evacuations = [started for started, _ in step_times(detail, "evacuate_instance")]
        if not evacuations:
            return "no evacuation ran"
        last, first = max(self.stops.at[domain] for domain in self.domains), min(evacuations)
        if last >= first:
            return (f"a domain of the host stopped at {last.isoformat()}, after the first evacuation "
                    f"({first.isoformat()})")
        return None


@contextlib.contextmanager
def isolated(conn: Any, monitors: HostMonitors, host: str, others: Sequence[str], *, servers: Mapping[str, str],
             bmc: Bmc, settings: Mapping[str, str] | None = None) -> Iterator[Isolated]:
    """``host``'s monitor in a namespace (with a watchdog stand-in and ``servers``' domains, name -> uuid, in a
    private libvirtd), the ``others``' monitors outside, all on ``bmc``'s fencing file with extra VMHA_
    ``settings``, every monitor in the group; monitors stopped (killed hosts restored), partition and libvirtd
    gone afterwards. ``monitors.segment`` must be the segment the gateway recovers."""
    fencing, emulator = bmc
    stops, workdir = Stops(), monitors.workdir
    ports = [monitors.layout.ports[name] for name in ("keystone", "nova", "zaqar", "etcd")]
    _event_loop()
    with contextlib.ExitStack() as stack:
        daemon = stack.enter_context(private_libvirtd(workdir / "libvirtd"))
        domains = libvirt.open(daemon.uri)
        stack.callback(domains.close)
        domains.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, stops.event, None)
        for name, server_id in servers.items():
            domains.defineXML(f"<domain type='test'><name>{name}</name><uuid>{server_id}</uuid>"
                              "<memory>65536</memory><os><type>hvm</type></os></domain>").create()
        cut = stack.enter_context(partition(monitors.run, ports, workdir))
        stack.callback(monitors.stop, conn)
        own = {**(settings or {}), "VMHA_FENCING_FILE": str(fencing)}
        for other in others:
            monitors.start(other, settings=own)
        watchdog = workdir / "watchdog"
        watchdog.touch()
        monitors.start(host, cut.wrapper, {**own, "VMHA_MONITOR_LIBVIRT_URI": daemon.uri,
                                           "VMHA_HOST_FAILURE_EVACUATE_ALL_INSTANCES": "false",
                                           "VMHA_MONITOR_HOST_WATCHDOG_DEVICE": str(watchdog)})
        monitors.wait_joined([host, *others])
        yield Isolated(host, monitors, cut, stops, emulator, frozenset(servers.values()))
