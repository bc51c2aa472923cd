"""What a drill run is told: the host, its segment, the canaries, where the BMCs and the gateway are."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DrillOptions:
    """One drill of ``host`` in ``segment``."""

    host: str
    segment: str
    fencing_file: str
    """The hosts' BMCs (fencing.schema.json), the file the gateway fences with."""
    cloud: str | None = None
    gateway_region: str | None = None
    """Region of the gateway's ``instance-ha`` endpoint; None: the cloud's own."""
    servers: int = 2
    image: str = "vmha-tiny"
    flavor: str = "m1.tiny"
    include_existing: bool = False
    """Drill a host that also holds servers the drill did not boot (they are failed over too)."""
    recovery_timeout_seconds: float = 300.0
    return_timeout_seconds: float = 600.0
