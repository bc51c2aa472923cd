"""What the local cloud's own processes spend while a host's servers are recovered: Nova's services, and the
whole control plane (every OpenStack service and the infrastructure under them). On a small machine the
recovery shares the CPUs with Nova, so what an HA service makes Nova and the rest do is time Nova's rebuilds
do not get; the floor (Nova alone) is measured the same way."""

from __future__ import annotations

from dataclasses import dataclass

from tests.bench.hypervisor import cpu_seconds
from tests.cloud import procs
from tests.cloud.layout import Layout

NOVA = "nova-"
"""Nova's services: API, conductor, scheduler and every nova-compute."""
OUTSIDE = ("bmc-", "libvirt-")
"""Not the control plane: the hosts' BMC emulators and hypervisors (guests are counted apart)."""


@dataclass(frozen=True)
class CloudCpu:
    """CPU seconds (user + system) each service's processes spent from the kill to the recovery's end."""

    by_service: dict[str, float]

    @property
    def nova(self) -> float:
        return sum(seconds for name, seconds in self.by_service.items() if name.startswith(NOVA))

    @property
    def control_plane(self) -> float:
        return sum(self.by_service.values())

    def top(self, count: int) -> str:
        """The ``count`` services that spent most, as ``name seconds`` pairs."""
        ranked = sorted(self.by_service.items(), key=lambda item: -item[1])[:count]
        return ", ".join(f"{name} {seconds:.1f}" for name, seconds in ranked)


class Meter:
    """Started once the host is killed: the processes running then are the ones measured."""

    def __init__(self, layout: Layout) -> None:
        self._groups = {name: procs.group_pids(layout, name) for name in procs.running_services(layout)
                        if not name.startswith(OUTSIDE)}
        self._start = self._now()

    def spent(self) -> CloudCpu:
        """What the measured processes spent since the meter started."""
        now = self._now()
        return CloudCpu({name: round(now[name] - self._start[name], 2) for name in now})

    def _now(self) -> dict[str, float]:
        return {name: cpu_seconds(pids) for name, pids in self._groups.items()}
