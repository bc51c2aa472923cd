"""The benchmarks' two kinds of compute host: the fake hosts (Nova's fake driver, the default: fast, what CI
measures) and the kvm profile's hosts (Nova's libvirt driver, real QEMU guests of the tiny guest image;
``python -m tests.cloud up --hypervisor kvm``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.cloud import catalog, kvm_hosts, qemu_libvirtd
from tests.cloud.layout import COMPUTE_HOSTS, KVM_HOSTS, Layout


@dataclass(frozen=True)
class Hypervisor:
    """Which hosts a benchmark takes, which image and flavor it boots there, how long one boot may take."""

    name: str
    hosts: tuple[str, ...]
    image: str
    flavor: str
    boot_seconds: float
    """Per server booted on one host, on top of a fixed two minutes."""

    def fencing_file(self, layout: Layout) -> Path:
        """vmha's fencing configuration of these hosts' BMC emulators."""
        return kvm_hosts.fencing_yaml(layout) if self is KVM else layout.fencing_yaml

    @property
    def labels(self) -> tuple[str, ...]:
        """What a scenario's name says of the hypervisor: nothing for the default."""
        return () if self is FAKE else (self.name,)


FAKE = Hypervisor("fake", COMPUTE_HOSTS, catalog.IMAGE_NAME, catalog.FLAVOR_NAME, 3.0)
KVM = Hypervisor("kvm", KVM_HOSTS, kvm_hosts.IMAGE_NAME, kvm_hosts.FLAVOR_NAME, 15.0)
HYPERVISORS = {hypervisor.name: hypervisor for hypervisor in (FAKE, KVM)}


def cpu_seconds(pids: Iterable[int]) -> float:
    """CPU seconds (user + system, from /proc) the live processes ``pids`` have spent so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime and stime: fields 14 and 15 of proc(5)
    return total / ticks


def rss_mib(pid: int) -> float:
    """The resident memory of process ``pid`` (VmRSS), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def qemu_pids(layout: Layout, conn: Any, server_ids: Iterable[str]) -> list[int]:
    """The QEMU processes running the servers (kvm hosts), on the libvirtd of the host Nova places each on."""
    found = []
    for server_id in server_ids:
        server = conn.compute.get_server(server_id)
        with contextlib.suppress(FileNotFoundError):
            found.append(qemu_libvirtd.qemu_pid(layout, server.instance_name,
                                                kvm_hosts.libvirtd_name(server.compute_host)))
    return found
